#!/usr/bin/env bash
# 05 — Inspect an image with curl alone: its manifest, its config, one of
# its layers; an index; Docker and OCI media types.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
manifest lab/app 1.0 >/dev/null 2>&1 || die "lab/app:1.0 is not in the registry yet: run tutorials 02 and 03 first"

DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json

title "05 · inspect a manifest, its config and a layer"
explain "Everything in a registry is a blob addressed by its digest, except manifests, which can also be reached by tag. A manifest points at one config blob and at layer blobs; an index points at manifests, one per platform. The Accept header tells the registry which kinds of manifest the client understands."
pause

step "HEAD the manifest: what kind is it, and what is its digest?"
http HEAD /v2/lab/app/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
head_type="$(hdr Content-Type)"
head_digest="$(hdr Docker-Content-Digest)"
explain "Content-Type is the media type the manifest was pushed with: docker push sends a Docker 'image manifest v2, schema 2'. Docker-Content-Digest is the sha256 of its bytes."
pause

step "GET the manifest"
http GET /v2/lab/app/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
cp "$HTTP_BODY" "$LAB_TMP/manifest.json"
body_digest="$(sha256_of "$LAB_TMP/manifest.json")"
explain "config: the descriptor (media type, size, digest) of the image's config blob. layers: one descriptor per layer, base first. A descriptor is all a client needs to fetch and verify a blob."
show_line "curl -s -H \"Accept: \$ACCEPT_MANIFESTS\" $REGISTRY_URL/v2/lab/app/manifests/1.0 | sha256sum"
printf '     %s\n' "$body_digest"
explain "The digest of the bytes we received is the Docker-Content-Digest: content addressing. Pulling by digest (lab/app@sha256:…) is how you get exactly these bytes, whatever happens to the tag."
pause

step "GET the config blob"
config_digest="$(jq -r .config.digest "$LAB_TMP/manifest.json")"
http GET "/v2/lab/app/blobs/$config_digest"
cp "$HTTP_BODY" "$LAB_TMP/config.json"
explain "The config is JSON too: platform (architecture, os), the run settings (Cmd, Env, ExposedPorts, Labels), the history of the build, and rootfs.diff_ids — the digests of the layers *uncompressed*. The manifest lists the compressed layers (what travels); the config lists what they unpack to."
pause

step "One layer: HEAD, a Range request, then the whole tar.gz"
layer_digest="$(jq -r '.layers[-1].digest' "$LAB_TMP/manifest.json")"
layer_size="$(jq -r '.layers[-1].size' "$LAB_TMP/manifest.json")"
http HEAD "/v2/lab/app/blobs/$layer_digest"
layer_len="$(hdr Content-Length)"
http GET "/v2/lab/app/blobs/$layer_digest" -H "Range: bytes=0-1"
range_status="$HTTP_STATUS"
magic="$(od -An -tx1 "$HTTP_BODY" | tr -d ' \n')"
explain "206 Partial Content with a Content-Range header: blobs support Range requests, so an interrupted pull resumes. The two bytes are $magic — 1f8b is the gzip signature."
show_line "curl -sL $REGISTRY_URL/v2/lab/app/blobs/${layer_digest:0:19}… | tar -tzv"
curl -sSL -o "$LAB_TMP/layer.tar.gz" "$REGISTRY_URL/v2/lab/app/blobs/$layer_digest"
tar -tzvf "$LAB_TMP/layer.tar.gz" | sed 's/^/     /'
layer_got="$(sha256_of "$LAB_TMP/layer.tar.gz")"
diff_id="$(gunzip -c "$LAB_TMP/layer.tar.gz" | sha256sum | cut -d' ' -f1)"
want_diff_id="$(jq -r '.rootfs.diff_ids[-1]' "$LAB_TMP/config.json")"
explain "A layer is a tar archive of the files one build step changed. sha256 of the download: $layer_got (the digest we asked for). sha256 after gunzip: sha256:$diff_id — the config's last diff_id."
pause

step "An index: one name for several platforms"
explain "docker push sent a single-platform manifest. Multi-platform images use an index (OCI) or manifest list (Docker) that points at one manifest per platform. We write one by hand for lab/base — with one entry, linux/$(jq -r .architecture "$LAB_TMP/config.json") — and push it under the tag 1.0-index."
base_digest="$(manifest lab/base 1.0 >"$LAB_TMP/base.json" && hdr Docker-Content-Digest)"
base_config="$(api GET "/v2/lab/base/blobs/$(jq -r .config.digest "$LAB_TMP/base.json")")"
jq -n --arg mt "$(jq -r .mediaType "$LAB_TMP/base.json")" --arg d "$base_digest" \
	--argjson size "$(wc -c <"$LAB_TMP/base.json")" \
	--arg arch "$(jq -r .architecture <<<"$base_config")" --arg os "$(jq -r .os <<<"$base_config")" \
	'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	  manifests: [{mediaType: $mt, digest: $d, size: $size, platform: {architecture: $arch, os: $os}}]}' >"$LAB_TMP/index.json"
http PUT /v2/lab/base/manifests/1.0-index -H "Content-Type: $OCI_INDEX" --data-binary "@$LAB_TMP/index.json"
index_put="$HTTP_STATUS"
http GET /v2/lab/base/manifests/1.0-index -H "Accept: $ACCEPT_MANIFESTS"
index_type="$(hdr Content-Type)"
explain "A client asking for 1.0-index gets the index, picks the entry for its platform and fetches that manifest by digest. docker pull does exactly that:"
runi docker pull -q "$REGISTRY/lab/base:1.0-index"
pulled_id="$(docker image inspect --format '{{.Id}}' "$REGISTRY/lab/base:1.0-index" 2>/dev/null || true)"
base_id="$(docker image inspect --format '{{.Id}}' "$REGISTRY/lab/base:1.0" 2>/dev/null || true)"
explain "Same image ID as lab/base:1.0 ($base_id): the index only added a way to reach it."
pause

step "Docker and OCI media types"
cat <<'TABLE' | sed 's/^/     /'
what             Docker (docker push)                                        OCI (the open standard)
index            application/vnd.docker.distribution.manifest.list.v2+json   application/vnd.oci.image.index.v1+json
manifest         application/vnd.docker.distribution.manifest.v2+json        application/vnd.oci.image.manifest.v1+json
config           application/vnd.docker.container.image.v1+json              application/vnd.oci.image.config.v1+json
layer (gzip)     application/vnd.docker.image.rootfs.diff.tar.gzip           application/vnd.oci.image.layer.v1.tar+gzip
TABLE
explain "The two families have the same structure; the OCI one grew out of Docker's. Registries store both as they were pushed, byte for byte — changing one byte would change the digest. A client lists in Accept what it can read; ask for the OCI manifest type alone and see what this registry answers for a Docker manifest:"
http HEAD /v2/lab/app/manifests/1.0 -H "Accept: $OCI_MANIFEST"
if [[ "$HTTP_STATUS" == 200 ]]; then
	explain "It answers with the manifest as stored — Content-Type says what it really is — and leaves it to the client to decide whether it can read it. A registry never converts a manifest: converting would change its digest."
else
	explain "It answers $HTTP_STATUS: it has no manifest of a kind this client accepts. A registry never converts a manifest: converting would change its digest."
fi

step "Checks"
check_eq "lab/app's manifest is a Docker v2 manifest" "$head_type" "$DOCKER_MANIFEST"
check_eq "sha256 of the manifest bytes is its digest" "$body_digest" "$head_digest"
check_eq "the config blob's bytes hash to its digest" "$(sha256_of "$LAB_TMP/config.json")" "$config_digest"
check_eq "HEAD of a layer gives its size" "$layer_len" "$layer_size"
check_eq "a Range request answers 206" "$range_status" 206
check_eq "a layer starts with the gzip signature" "$magic" 1f8b
check_eq "the downloaded layer hashes to its digest" "$layer_got" "$layer_digest"
check_eq "uncompressed, it hashes to the config's diff_id" "sha256:$diff_id" "$want_diff_id"
check_eq "the hand-made index was accepted (201)" "$index_put" 201
check_eq "the index is served as an OCI index" "$index_type" "$OCI_INDEX"
check_eq "docker pull through the index gives lab/base:1.0" "$pulled_id" "$base_id"
finish
