#!/usr/bin/env bash
# 08 — Push an image with curl alone: mount the base's layers, upload a new
# layer in chunks, upload a config, put a manifest. Then pull and run it with
# docker.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker tar gzip split
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials/02-push-the-base-image.sh first"

REPO=lab/handmade
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_CONFIG=application/vnd.oci.image.config.v1+json
OCI_LAYER=application/vnd.oci.image.layer.v1.tar+gzip

title "08 · push an image by hand"
explain <<TEXT
No docker push this time: every request of a push, typed with curl. We build $REPO:1.0 on top of
lab/base — its layers mounted, not sent — plus one layer made with tar, uploaded in three chunks.
The files are kept in $W.
TEXT
pause

# absolute URL: a Location may be a path.
absolute() {
	if [[ "$1" == http* ]]; then printf '%s\n' "$1"; else printf '%s%s\n' "$REGISTRY_URL" "$1"; fi
}
# with_digest URL DIGEST: URL with the digest query parameter added.
with_digest() {
	if [[ "$1" == *\?* ]]; then printf '%s&digest=%s\n' "$1" "$2"; else printf '%s?digest=%s\n' "$1" "$2"; fi
}

step "Make a layer: a tar archive, gzipped"
root="$W/rootfs"
rm -rf "$root"
mkdir -p "$root/srv/lab" "$root/usr/local/bin"
printf 'Hello from a layer typed by hand.\nIt was uploaded with curl in chunks, then pulled by docker.\n' >"$root/srv/lab/hello.txt"
echo "handmade 1.0" >"$root/srv/lab/handmade-version"
seq 1 3000 | sed 's/^/line /' >"$root/srv/lab/lines.txt"
printf '#!/bin/sh\nlab-info\necho\ncat /srv/lab/hello.txt\n' >"$root/usr/local/bin/hello"
chmod 0755 "$root/usr/local/bin/hello"
explain "The files of the layer are in $root. Archive them with fixed times and owners, so that the archive — and its digests — are the same on every run:"
run "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C $root -c srv usr > $W/layer.tar"
run "gzip -n -c $W/layer.tar > $W/layer.tar.gz"
run "tar -tvf $W/layer.tar"
run "sha256sum $W/layer.tar.gz $W/layer.tar"
layer_digest="$(sha256_of "$W/layer.tar.gz")"
layer_size="$(wc -c <"$W/layer.tar.gz" | tr -d ' ')"
diff_id="$(sha256_of "$W/layer.tar")"
CHUNK="${CHUNK:-$(((layer_size + 2) / 3))}"
explain <<TEXT
The digest of the gzip — what travels and what the manifest names — is $layer_digest
($layer_size bytes). The digest of the tar — what the config names, the diff_id — is $diff_id.
TEXT
pause

step "Mount the base's layers: POST …/blobs/uploads/?mount=<digest>&from=lab/base"
base_manifest="$W/base.json"
manifest lab/base 1.0 >"$base_manifest"
base_config="$W/base-config.json"
api GET "/v2/lab/base/blobs/$(jq -r .config.digest "$base_manifest")" >"$base_config"
mount_ok=0
while read -r d; do
	http POST "/v2/$REPO/blobs/uploads/?mount=$d&from=lab/base"
	[[ "$HTTP_STATUS" == 201 ]] && mount_ok=$((mount_ok + 1))
done < <(jq -r '.layers[].digest' "$base_manifest")
nbase="$(jq '.layers | length' "$base_manifest")"
check_eq all-mounted "all $nbase base layers were mounted (201)" "$mount_ok" "$nbase"
explain <<TEXT
201 Created: the registry linked the existing blob into $REPO — no bytes sent. (Had lab/base not
held the blob, it would have answered 202 with an upload session instead, and its log would say
why: event=mount_fell_back.)
TEXT
pause

step "Upload the new layer in chunks: POST, PATCH…, PUT"
upload_mark="$(log_mark)"
http POST "/v2/$REPO/blobs/uploads/"
check_eq upload-started "the upload session started (202)" "$HTTP_STATUS" 202
location="$(absolute "$(hdr Location)")"
explain "202 Accepted and a Location: the upload session. Every next request goes to the Location the last response gave. The layer, cut in three:"
rm -f "$W"/chunk.*
run "split -b $CHUNK -d -a 3 $W/layer.tar.gz $W/chunk."
run "wc -c $W/chunk.*"
offset=0 patch_ok=0 chunks=0 last_range=""
for chunk in "$W"/chunk.*; do
	size="$(wc -c <"$chunk" | tr -d ' ')"
	end=$((offset + size - 1))
	http PATCH "$location" -H "Content-Type: application/octet-stream" -H "Content-Range: $offset-$end" --data-binary "@$chunk"
	chunks=$((chunks + 1))
	[[ "$HTTP_STATUS" == 202 ]] && patch_ok=$((patch_ok + 1))
	last_range="$(hdr Range)"
	location="$(absolute "$(hdr Location)")"
	offset=$((end + 1))
done
check chunked "the layer went in more than one chunk ($chunks)" test "$chunks" -gt 1
check_eq chunks-accepted "every chunk was accepted (202)" "$patch_ok" "$chunks"
check_eq last-range "the last Range covers the whole layer" "$last_range" "0-$((layer_size - 1))"
explain <<'TEXT'
Each PATCH says which bytes it carries (Content-Range: first-last) and gets back 'Range:
0-<last byte received>', so a client knows where to resume after a failure. A chunk that does
not start where the upload stands is refused with 416.
TEXT
http PUT "$(with_digest "$location" "$layer_digest")"
check_eq upload-committed "the upload was committed (201)" "$HTTP_STATUS" 201
explain <<'TEXT'
PUT with ?digest= closes the session: the registry compares the hash of everything it received
with the digest and only then makes the blob visible (201, its URL in Location).
TEXT
show_log_since "$upload_mark" 'event='
http_quiet HEAD "/v2/$REPO/blobs/$layer_digest"
check_eq layer-there "the layer is there, with its size" "$HTTP_STATUS $(hdr Content-Length)" "200 $layer_size"
pause

step "Upload the config in one request: POST …/blobs/uploads/?digest="
jq --arg d "$diff_id" '{architecture, os,
	config: {Env: (.config.Env // ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]), Cmd: ["hello"],
	         Labels: {"org.opencontainers.image.title": "lab/handmade"}},
	rootfs: {type: "layers", diff_ids: (.rootfs.diff_ids + [$d])}}' "$base_config" >"$W/config.json"
explain "The config: the base's, with the new layer's diff_id added and a command of its own. This tutorial wrote it to $W/config.json:"
run "jq . $W/config.json"
config_digest="$(sha256_of "$W/config.json")"
config_size="$(wc -c <"$W/config.json" | tr -d ' ')"
http POST "/v2/$REPO/blobs/uploads/?digest=$config_digest" -H "Content-Type: application/octet-stream" --data-binary "@$W/config.json"
check_eq config-uploaded "the config was uploaded in one request (201)" "$HTTP_STATUS" 201
explain "Small blobs can go in a single request (a 'monolithic' upload): the bytes in the POST, the digest in the URL."
pause

step "Put the manifest"
jq -n --slurpfile base "$base_manifest" --arg cd "$config_digest" --argjson cs "$config_size" \
	--arg ld "$layer_digest" --argjson ls "$layer_size" --arg mt "$OCI_MANIFEST" --arg ct "$OCI_CONFIG" --arg lt "$OCI_LAYER" \
	'{schemaVersion: 2, mediaType: $mt,
	  config: {mediaType: $ct, digest: $cd, size: $cs},
	  layers: ([$base[0].layers[] | {mediaType: $lt, digest, size}] + [{mediaType: $lt, digest: $ld, size: $ls}]),
	  annotations: {"org.opencontainers.image.description": "pushed with curl, tutorial 08"}}' >"$W/manifest.json"
explain "The manifest, in $W/manifest.json: the config's descriptor, the base's layers, then the new one."
run "jq . $W/manifest.json"
http PUT "/v2/$REPO/manifests/1.0" -H "Content-Type: $OCI_MANIFEST" --data-binary "@$W/manifest.json"
manifest_digest="$(hdr Docker-Content-Digest)"
check_eq manifest-accepted "the manifest was accepted (201)" "$HTTP_STATUS" 201
check_eq manifest-digest "its digest is the sha256 of the bytes sent" "$manifest_digest" "$(sha256_of "$W/manifest.json")"
explain <<TEXT
The registry checked that the config and every layer exist in $REPO, stored the bytes as sent and
pointed the tag 1.0 at their digest. The base layers now carry OCI media types: the type is only
a label in the descriptor; the blob is the same gzip, the same digest.
TEXT
pause

step "Pull it with docker, run it"
docker rmi "$REGISTRY/$REPO:1.0" >/dev/null 2>&1 || true
run_once "docker pull $REGISTRY/$REPO:1.0"
check pulled "docker pulled it" grep -q "$manifest_digest" "$OUT"
run "docker run --rm $REGISTRY/$REPO:1.0"
check it-runs "it runs: the hand-made layer's file is there" grep -q 'typed by hand' "$OUT"
check on-base "… on top of the base's files" grep -q 'base-version: base 1.0' "$OUT"
explain "docker does not care who pushed: the manifest, config and layers follow the spec, so it is an image like any other."
finish
