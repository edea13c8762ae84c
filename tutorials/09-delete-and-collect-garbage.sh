#!/usr/bin/env bash
# 09 — Delete a tag, then a manifest; collect the garbage; watch the disk
# usage with /api/du.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials/02-push-the-base-image.sh first"
[[ -n "$(registry_container)" ]] || die "this tutorial runs 'registry gc' in the lab's container: start it with docker compose up -d"

REPO=lab/scratch

# gc ARGS...: registry gc inside the running registry container.
gc() {
	show_cmd docker compose exec registry registry gc "$@"
	compose exec -T registry registry gc "$@" | sed 's/^/     /'
}
# gc_json FILE ARGS...: the same with --json, the report kept in FILE.
gc_json() {
	local file="$1"
	shift
	show_cmd docker compose exec registry registry gc "$@" --json
	compose exec -T registry registry gc "$@" --json >"$file"
}
du_field() { api GET /api/du | jq -r "$1"; }

title "09 · delete, collect garbage, watch the disk"
explain "Deleting in a registry happens in two stages. DELETE requests remove names — a tag, or a manifest from a repository — and are instant. The bytes stay until garbage collection finds blobs no manifest references any more, and deletes them. We try it on a throwaway image, $REPO:1.0: lab/base plus one layer of random bytes that no other image has."
pause

step "Build and push $REPO:1.0"
ctx="$LAB_TMP/scratch"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
ARG REGISTRY
FROM ${REGISTRY}/lab/base:1.0
RUN head -c 1500000 /dev/urandom > /srv/lab/noise.bin
DOCKERFILE
run cat "$ctx/Dockerfile"
show_cmd docker build --no-cache --build-arg "REGISTRY=$REGISTRY" -t "$REGISTRY/$REPO:1.0" "$ctx"
docker build -q --no-cache --build-arg "REGISTRY=$REGISTRY" -t "$REGISTRY/$REPO:1.0" "$ctx" 2>/dev/null | sed 's/^/     image id /'
runi docker push "$REGISTRY/$REPO:1.0" >/dev/null
manifest "$REPO" 1.0 >"$LAB_TMP/scratch.json"
digest="$(hdr Docker-Content-Digest)"
noise_digest="$(jq -r '.layers[-1].digest' "$LAB_TMP/scratch.json")"
noise_size="$(jq -r '.layers[-1].size' "$LAB_TMP/scratch.json")"
explain "Pushed as $digest. Its own layer: ${noise_digest:0:19}…, $(human "$noise_size") (random bytes do not compress)."
pause

step "Disk usage before"
http GET /api/du
before="$(jq .physical_bytes "$HTTP_BODY")"
explain "physical_bytes = $before ($(human "$before")): every blob file, counted once."
pause

step "Delete the tag"
http DELETE "/v2/$REPO/manifests/1.0"
del_tag_status="$HTTP_STATUS"
http_quiet GET "/v2/$REPO/manifests/$digest" -H "Accept: $ACCEPT_MANIFESTS"
by_digest_after_tag="$HTTP_STATUS"
explain "202 Accepted: the tag 1.0 is gone, but the manifest is still there, reachable by digest (GET …/manifests/${digest:0:19}… → $by_digest_after_tag). An untagged manifest is still an image; whoever pinned it by digest can still pull it."
gc --dry-run --grace 0s
explain "So garbage collection keeps it — and its layers: nothing would be freed for $REPO. ('registry gc --delete-untagged' would also delete manifests no tag reaches.)"
pause

step "Delete the manifest"
http DELETE "/v2/$REPO/manifests/$digest"
del_manifest_status="$HTTP_STATUS"
http_quiet GET "/v2/$REPO/manifests/$digest" -H "Accept: $ACCEPT_MANIFESTS"
by_digest_after_delete="$HTTP_STATUS"
explain "Now the manifest is gone from $REPO (GET by digest → $by_digest_after_delete). Its layer blobs are still on disk: nothing refers to the random layer any more, and the base's layers are still used by the other images."
show_line "curl -s $REGISTRY_URL/api/du | jq '{physical_bytes, referenced_bytes, unreferenced_bytes}'"
api GET /api/du | jq '{physical_bytes, referenced_bytes, unreferenced_bytes}' | pretty
explain "unreferenced_bytes: what garbage collection can free."
pause

step "Collect the garbage"
explain "'registry gc' marks every blob reachable from a manifest of any repository and deletes the rest. It is safe while the registry serves: by default it keeps blobs touched in the last 15 minutes (--grace), so an upload in progress is never collected. Here we set --grace 0s to see the effect at once. First the dry run:"
gc_json "$LAB_TMP/dry.json" --dry-run --grace 0s
pretty "$LAB_TMP/dry.json"
explain "The manifest, the config and the random layer of $REPO. Now for real:"
gc_json "$LAB_TMP/gc.json" --grace 0s
jq '{freed_bytes, deleted_blobs: ((.deleted_blobs // []) | length), deleted_manifests: ((.deleted_manifests // []) | length)}' "$LAB_TMP/gc.json" | pretty
freed="$(jq '.freed_bytes' "$LAB_TMP/gc.json")"
deleted_noise="$(jq --arg d "$noise_digest" '[(.deleted_blobs // [])[] | select(.digest == $d)] | length' "$LAB_TMP/gc.json")"
pause

step "Disk usage after"
show_line "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes, unreferenced_bytes, shared_blobs, dedup_saved_bytes}'"
api GET /api/du >"$LAB_TMP/du-after.json"
jq '{blobs, physical_bytes, unreferenced_bytes, shared_blobs, dedup_saved_bytes}' "$LAB_TMP/du-after.json" | pretty
after="$(jq .physical_bytes "$LAB_TMP/du-after.json")"
unreferenced_after="$(jq '.unreferenced_bytes // 0' "$LAB_TMP/du-after.json")"
explain "physical_bytes went from $(human "$before") to $(human "$after"): $(human $((before - after))) freed — the random layer, and the config and manifest of $REPO. The base's layers stay: lab/base, lab/app, lab/tools still reference them."
http_quiet HEAD "/v2/$REPO/blobs/$noise_digest"
noise_after="$HTTP_STATUS"
http_quiet HEAD "/v2/lab/app/manifests/1.0" -H "Accept: $ACCEPT_MANIFESTS"
app_after="$HTTP_STATUS"
base_layer="$(manifest lab/base 1.0 | jq -r '.layers[0].digest')"
http_quiet HEAD "/v2/lab/base/blobs/$base_layer"
base_layer_after="$HTTP_STATUS"
note "In the log: event=tag_deleted, event=manifest_deleted. 'docker compose exec registry registry du' prints the same report as /api/du."
docker rmi "$REGISTRY/$REPO:1.0" >/dev/null 2>&1 || true

step "Checks"
check_eq "deleting the tag answered 202" "$del_tag_status" 202
check_eq "the manifest stayed reachable by digest" "$by_digest_after_tag" 200
check_eq "deleting the manifest answered 202" "$del_manifest_status" 202
check_eq "then GET by digest answers 404" "$by_digest_after_delete" 404
check_eq "gc deleted the random layer" "$deleted_noise" 1
check "gc freed at least that layer's bytes ($(human "$freed"))" test "$freed" -ge "$noise_size"
check "physical bytes fell by at least that much" test $((before - after)) -ge "$noise_size"
check_eq "nothing unreferenced is left" "$unreferenced_after" 0
check_eq "the random layer is gone (HEAD → 404)" "$noise_after" 404
check_eq "lab/app is untouched" "$app_after" 200
check_eq "the base's layers are still served" "$base_layer_after" 200
check "the log shows event=tag_deleted" grep -q 'event=tag_deleted' <(log_since "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)")
check "the log shows event=manifest_deleted" grep -q 'event=manifest_deleted' <(log_since "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)")
finish
