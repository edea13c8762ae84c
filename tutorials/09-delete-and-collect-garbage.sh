#!/usr/bin/env bash
# 09 — Delete a tag, then a manifest; collect the garbage; watch the disk
# usage with /api/du.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials/02-push-the-base-image.sh first"
[[ -n "$(registry_container)" ]] || die "this tutorial runs 'registry gc' in the lab's container: start it with make up"

REPO=lab/scratch

GC="$COMPOSE_CMD exec -T registry registry gc"

title "09 · delete, collect garbage, watch the disk"
explain <<TEXT
Deleting in a registry happens in two stages. DELETE requests remove names — a tag, or a
manifest from a repository — and are instant. The bytes stay until garbage collection finds blobs
no manifest references any more, and deletes them. We try it on a throwaway image, $REPO:1.0:
lab/base plus one layer of random bytes that no other image has.
TEXT
pause

step "Build and push $REPO:1.0"
mkdir -p "$W/scratch"
cat >"$W/scratch/Dockerfile" <<'DOCKERFILE'
ARG REGISTRY
FROM ${REGISTRY}/lab/base:1.0
RUN head -c 1500000 /dev/urandom > /srv/lab/noise.bin
DOCKERFILE
run "cat $W/scratch/Dockerfile"
run_once "DOCKER_BUILDKIT=0 docker build -q --no-cache --build-arg REGISTRY=$REGISTRY -t $REGISTRY/$REPO:1.0 $W/scratch"
run_once "docker push $REGISTRY/$REPO:1.0"
manifest "$REPO" 1.0 >"$W/scratch.json"
digest="$(hdr Docker-Content-Digest)"
noise_digest="$(jq -r '.layers[-1].digest' "$W/scratch.json")"
noise_size="$(jq -r '.layers[-1].size' "$W/scratch.json")"
explain "Pushed as $digest. Its own layer: ${noise_digest:0:19}…, $(human "$noise_size") (random bytes do not compress)."
pause

step "Disk usage before"
run_once "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes}'"
before="$(api GET /api/du | jq .physical_bytes)"
explain "physical_bytes = $before ($(human "$before")): every blob file, counted once."
pause

step "Delete the tag"
mark="$(log_mark)"
http DELETE "/v2/$REPO/manifests/1.0"
check_eq tag-deleted "deleting the tag answered 202" "$HTTP_STATUS" 202
http_once HEAD "/v2/$REPO/manifests/$digest" -H "Accept: $ACCEPT_MANIFESTS"
check_eq kept-by-digest "the manifest stayed reachable by digest" "$HTTP_STATUS" 200
explain <<'TEXT'
202 Accepted: the tag 1.0 is gone, but the manifest is still there, reachable by digest (200
above). An untagged manifest is still an image; whoever pinned it by digest can still pull it.
So garbage collection keeps it — and its layers: nothing would be freed for it:
TEXT
run_once "$GC --dry-run --grace 0s"
explain "('registry gc --delete-untagged' would also delete manifests no tag reaches.)"
pause

step "Delete the manifest"
http DELETE "/v2/$REPO/manifests/$digest"
check_eq manifest-deleted "deleting the manifest answered 202" "$HTTP_STATUS" 202
http_once HEAD "/v2/$REPO/manifests/$digest" -H "Accept: $ACCEPT_MANIFESTS"
check_eq gone-by-digest "then the manifest is gone (404)" "$HTTP_STATUS" 404
explain <<TEXT
Now the manifest is gone from $REPO. Its layer blobs are still on disk: nothing refers to the
random layer any more, and the base's layers are still used by the other images.
TEXT
run_once "curl -s $REGISTRY_URL/api/du | jq '{physical_bytes, referenced_bytes, unreferenced_bytes}'"
explain "unreferenced_bytes: what garbage collection can free."
pause

step "Collect the garbage"
explain <<'TEXT'
'registry gc' marks every blob reachable from a manifest of any repository and deletes the rest.
It is safe while the registry serves: by default it keeps blobs touched in the last 15 minutes
(--grace), so an upload in progress is never collected. Here we set --grace 0s to see the effect
at once. First the dry run:
TEXT
run_once "$GC --dry-run --grace 0s --json | jq '{would_free: .freed_bytes, blobs: [.deleted_blobs[]?.digest]}'"
explain "The config and the random layer of $REPO (its manifest went with the DELETE). Now for real:"
run_once "$GC --grace 0s --json > $W/gc.json"
run "jq '{freed_bytes, deleted_blobs: [.deleted_blobs[]?.digest]}' $W/gc.json"
freed="$(jq '.freed_bytes' "$W/gc.json")"
deleted_noise="$(jq --arg d "$noise_digest" '[(.deleted_blobs // [])[] | select(.digest == $d)] | length' "$W/gc.json")"
check_eq gc-noise "gc deleted the random layer" "$deleted_noise" 1
check gc-freed "gc freed at least that layer's bytes ($(human "$freed"))" test "$freed" -ge "$noise_size"
pause

step "Disk usage after"
run_once "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes, unreferenced_bytes, shared_blobs, dedup_saved_bytes}'"
api GET /api/du >"$W/du-after.json"
after="$(jq .physical_bytes "$W/du-after.json")"
check physical-fell "physical bytes fell by at least that much" test $((before - after)) -ge "$noise_size"
check_eq nothing-unreferenced "nothing unreferenced is left" "$(jq '.unreferenced_bytes // 0' "$W/du-after.json")" 0
explain <<TEXT
physical_bytes went from $(human "$before") to $(human "$after"): $(human $((before - after))) freed — the
random layer and the config of $REPO. The base's layers stay: lab/base, lab/app, lab/tools still
reference them.
TEXT
http_quiet HEAD "/v2/$REPO/blobs/$noise_digest"
check_eq noise-gone "the random layer is gone (HEAD → 404)" "$HTTP_STATUS" 404
http_quiet HEAD "/v2/lab/app/manifests/1.0" -H "Accept: $ACCEPT_MANIFESTS"
check_eq app-untouched "lab/app is untouched" "$HTTP_STATUS" 200
http_quiet HEAD "/v2/lab/base/blobs/$(manifest lab/base 1.0 | jq -r '.layers[0].digest')"
check_eq base-layers-kept "the base's layers are still served" "$HTTP_STATUS" 200
note "In the log: event=tag_deleted, event=manifest_deleted. '$COMPOSE_CMD exec registry registry du' prints the same report as /api/du."
check tag-deleted-event "the log shows event=tag_deleted" grep -q 'event=tag_deleted' <(log_since "$mark")
check manifest-deleted-event "the log shows event=manifest_deleted" grep -q 'event=manifest_deleted' <(log_since "$mark")
docker rmi "$REGISTRY/$REPO:1.0" >/dev/null 2>&1 || true
finish
