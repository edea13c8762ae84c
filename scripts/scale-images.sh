#!/usr/bin/env bash
# Builds the scale lab's two images from binaries in the user's cache,
# without pulling anything:
#
#   layerlab/seaweedfs   weed (scripts/s3-tools.sh)  images/seaweedfs/Dockerfile
#   layerlab/caddy       caddy (scripts/lb-tools.sh)  images/caddy/Dockerfile
#
# Each build context is a scratch directory holding the image's directory
# and the binary, so that the repository's .dockerignore (an allowlist for
# the registry image) stays as it is. The base image is BASE_IMAGE (default
# debian:bookworm-slim; `bash scripts/lab-up.sh --base-images` makes a local
# stand-in when Docker Hub is out of reach). An image already built from the
# same binary and files is kept (the classic builder's cache).
#
#   bash scripts/scale-images.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"
need_tools docker

# image NAME CACHED TOOL VERSION-ARG: build layerlab/NAME from the image's directory
# with the CACHED binary (TOOL-<version>) copied in as TOOL.
image() {
	local name="$1" bin="$2" tool="$3" arg="$4" ctx="$LAB_TMP/$1"
	mkdir -p "$ctx"
	cp -a "images/$name/." "$ctx/"
	cp "$bin" "$ctx/$tool"
	local version="${bin##*/"$tool"-}"
	say "building layerlab/$name:${LAYERLAB_VERSION:-dev} ($(basename "$bin"), base $LAB_BASE_IMAGE)"
	docker build -q --build-arg "BASE_IMAGE=$LAB_BASE_IMAGE" --build-arg "$arg=$version" \
		-t "layerlab/$name:${LAYERLAB_VERSION:-dev}" "$ctx" >/dev/null
}

weed="$(bash scripts/s3-tools.sh weed)"
caddy="$(bash scripts/lb-tools.sh)"
image seaweedfs "$weed" weed WEED_VERSION
image caddy "$caddy" caddy CADDY_VERSION
