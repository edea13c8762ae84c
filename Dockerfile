# layerlab registry image.
#
#   docker build -t layerlab/registry .
#   docker run -p 127.0.0.1:5000:5000 -v registry-data:/var/lib/registry layerlab/registry
#
# Two stages: a Go toolchain compiles a static binary; the final image holds
# that binary and an empty storage directory, nothing else (no shell: the
# `registry` binary is the only command, e.g. `registry gc`, `registry du`).
# The base images are build arguments so that a machine without access to
# Docker Hub can use local stand-ins (scripts/make-base-images.sh).

ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
# Marks the build stage's image, which the classic builder keeps: make clean-lab
# removes it.
LABEL org.layerlab.part=build-stage
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Dependencies first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY registry/ registry/
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/registry ./registry \
 && /out/registry version \
 && mkdir -p /out/storage

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="layerlab registry" \
      org.opencontainers.image.description="An OCI container registry you can see through: a content-addressable filesystem store and a log that explains every request" \
      org.opencontainers.image.source="https://github.com/layerlab/layerlab" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/registry /usr/local/bin/registry
# The storage directory belongs to the unprivileged user the registry runs as;
# a new named volume mounted here starts with this ownership.
COPY --from=build --chown=65532:65532 /out/storage /var/lib/registry
ENV PATH=/usr/local/bin \
    REGISTRY_ADDR=:5000 \
    REGISTRY_ROOT=/var/lib/registry
USER 65532:65532
VOLUME /var/lib/registry
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["registry", "healthcheck"]
ENTRYPOINT ["registry"]
CMD ["serve"]
