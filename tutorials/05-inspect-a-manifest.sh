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
explain <<'TEXT'
Everything in a registry is a blob addressed by its digest, except manifests, which can also be
reached by tag. A manifest points at one config blob and at layer blobs; an index points at
manifests, one per platform. The Accept header tells the registry which kinds of manifest the
client understands.
TEXT
pause

step "HEAD the manifest: what kind is it, and what is its digest?"
http HEAD /v2/lab/app/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
head_digest="$(hdr Docker-Content-Digest)"
check_eq docker-manifest "lab/app's manifest is a Docker v2 manifest" "$(hdr Content-Type)" "$DOCKER_MANIFEST"
explain <<'TEXT'
Content-Type is the media type the manifest was pushed with: docker push sends a Docker 'image
manifest v2, schema 2'. Docker-Content-Digest is the sha256 of its bytes.
TEXT
pause

step "GET the manifest"
explain "This time curl keeps the body in a file of lab-work/05 (-o) and prints the headers (-D -):"
http GET /v2/lab/app/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS" -o "$W/manifest.json"
run "jq . $W/manifest.json"
explain <<'TEXT'
config: the descriptor (media type, size, digest) of the image's config blob. layers: one
descriptor per layer, base first. A descriptor is all a client needs to fetch and verify a blob.
TEXT
run "sha256sum $W/manifest.json"
check_eq manifest-digest "sha256 of the manifest bytes is its digest" "$(sha256_of "$W/manifest.json")" "$head_digest"
explain <<'TEXT'
The digest of the bytes we received is the Docker-Content-Digest: content addressing. Pulling by
digest (lab/app@sha256:…) is how you get exactly these bytes, whatever happens to the tag.
TEXT
pause

step "GET the config blob"
config_digest="$(jq -r .config.digest "$W/manifest.json")"
http GET "/v2/lab/app/blobs/$config_digest" -o "$W/config.json"
run "jq '{architecture, os, config, rootfs}' $W/config.json"
check_eq config-digest "the config blob's bytes hash to its digest" "$(sha256_of "$W/config.json")" "$config_digest"
explain <<'TEXT'
The config is JSON too: platform (architecture, os), the run settings (Cmd, Env, ExposedPorts,
Labels), the history of the build (left out above), and rootfs.diff_ids — the digests of the
layers *uncompressed*. The manifest lists the compressed layers (what travels); the config lists
what they unpack to.
TEXT
pause

step "One layer: HEAD, a Range request, then the whole tar.gz"
layer_digest="$(jq -r '.layers[-1].digest' "$W/manifest.json")"
layer_size="$(jq -r '.layers[-1].size' "$W/manifest.json")"
http HEAD "/v2/lab/app/blobs/$layer_digest"
check_eq layer-size "HEAD of a layer gives its size" "$(hdr Content-Length)" "$layer_size"
http GET "/v2/lab/app/blobs/$layer_digest" -H "Range: bytes=0-1" -o "$W/first-bytes"
check_eq range-206 "a Range request answers 206" "$HTTP_STATUS" 206
run "od -An -tx1 $W/first-bytes"
magic="$(od -An -tx1 "$W/first-bytes" | tr -d ' \n')"
check_eq gzip-magic "a layer starts with the gzip signature" "$magic" 1f8b
explain <<'TEXT'
206 Partial Content with a Content-Range header: blobs support Range requests, so an interrupted
pull resumes. The two bytes are 1f 8b: the gzip signature.
TEXT
http GET "/v2/lab/app/blobs/$layer_digest" -o "$W/layer.tar.gz"
run "tar -tzvf $W/layer.tar.gz"
run "sha256sum $W/layer.tar.gz"
run "gunzip -c $W/layer.tar.gz | sha256sum"
run "jq -r '.rootfs.diff_ids[-1]' $W/config.json"
diff_id="$(gunzip -c "$W/layer.tar.gz" | sha256sum | cut -d' ' -f1)"
check_eq layer-digest "the downloaded layer hashes to its digest" "$(sha256_of "$W/layer.tar.gz")" "$layer_digest"
check_eq layer-diff-id "uncompressed, it hashes to the config's diff_id" "sha256:$diff_id" "$(jq -r '.rootfs.diff_ids[-1]' "$W/config.json")"
explain <<'TEXT'
A layer is a tar archive of the files one build step changed. The sha256 of the download is the
digest we asked for; the sha256 after gunzip is the config's last diff_id.
TEXT
pause

step "An index: one name for several platforms"
base_digest="$(manifest lab/base 1.0 >"$W/base.json" && hdr Docker-Content-Digest)"
base_config="$(api GET "/v2/lab/base/blobs/$(jq -r .config.digest "$W/base.json")")"
arch="$(jq -r .architecture <<<"$base_config")" os="$(jq -r .os <<<"$base_config")"
explain <<TEXT
docker push sent a single-platform manifest. Multi-platform images use an index (OCI) or manifest
list (Docker) that points at one manifest per platform. This tutorial wrote one for lab/base into
$W/index.json — with one entry, $os/$arch, lab/base:1.0's manifest — and pushes it under the tag
1.0-index.
TEXT
jq -n --arg mt "$(jq -r .mediaType "$W/base.json")" --arg d "$base_digest" \
	--argjson size "$(wc -c <"$W/base.json")" --arg arch "$arch" --arg os "$os" \
	'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	  manifests: [{mediaType: $mt, digest: $d, size: $size, platform: {architecture: $arch, os: $os}}]}' >"$W/index.json"
run "cat $W/index.json"
http PUT /v2/lab/base/manifests/1.0-index -H "Content-Type: $OCI_INDEX" --data-binary "@$W/index.json"
check_eq index-put "the hand-made index was accepted (201)" "$HTTP_STATUS" 201
http HEAD /v2/lab/base/manifests/1.0-index -H "Accept: $ACCEPT_MANIFESTS"
check_eq index-type "the index is served as an OCI index" "$(hdr Content-Type)" "$OCI_INDEX"
explain "A client asking for 1.0-index gets the index, picks the entry for its platform and fetches that manifest by digest. docker pull does exactly that:"
run_once "docker pull -q $REGISTRY/lab/base:1.0-index"
run "docker image inspect --format '{{.Id}}' $REGISTRY/lab/base:1.0-index $REGISTRY/lab/base:1.0"
check_eq index-pull "docker pull through the index gives lab/base:1.0" "$(sed -n 1p "$OUT")" "$(sed -n 2p "$OUT")"
explain "The same image ID twice: the index only added a way to reach lab/base:1.0."
pause

step "Docker and OCI media types"
show <<'TABLE'
what             Docker (docker push)                                        OCI (the open standard)
index            application/vnd.docker.distribution.manifest.list.v2+json   application/vnd.oci.image.index.v1+json
manifest         application/vnd.docker.distribution.manifest.v2+json        application/vnd.oci.image.manifest.v1+json
config           application/vnd.docker.container.image.v1+json              application/vnd.oci.image.config.v1+json
layer (gzip)     application/vnd.docker.image.rootfs.diff.tar.gzip           application/vnd.oci.image.layer.v1.tar+gzip
TABLE
explain <<'TEXT'
The two families have the same structure; the OCI one grew out of Docker's. Registries store both
as they were pushed, byte for byte — changing one byte would change the digest. A client lists
in Accept what it can read; ask for the OCI manifest type alone and see what this registry
answers for a Docker manifest:
TEXT
http HEAD /v2/lab/app/manifests/1.0 -H "Accept: $OCI_MANIFEST"
if [[ "$HTTP_STATUS" == 200 ]]; then
	explain <<'TEXT'
It answers with the manifest as stored — Content-Type says what it really is — and leaves it to
the client to decide whether it can read it. A registry never converts a manifest: converting
would change its digest.
TEXT
else
	explain "It answers $HTTP_STATUS: it has no manifest of a kind this client accepts. A registry never converts a manifest: converting would change its digest."
fi
finish
