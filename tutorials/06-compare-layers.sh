#!/usr/bin/env bash
# 06 — Compare the base and derived images layer by layer: the digests they
# share, the sizes, the bytes saved on the wire and on disk.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
for r in base app tools; do
	manifest "lab/$r" 1.0 >/dev/null 2>&1 || die "lab/$r:1.0 is not in the registry yet: run tutorials 02 and 03 first"
done

title "06 · compare images layer by layer"
explain <<'TEXT'
scripts/compare-layers.sh reads two manifests over the HTTP API (as in tutorial 05) and lines up
their layer descriptors. '=' marks a digest both images list: that blob is sent once and stored
once. It works on any two images in any registry you can reach.
TEXT
pause

step "lab/base and lab/app: parent and child"
run "bash scripts/compare-layers.sh lab/base:1.0 lab/app:1.0"
explain <<'TEXT'
Every layer of the base is in the child, at the bottom of its stack — the Debian layer, tens of
MB, first. Once the base is in the registry (or on a machine), the child costs only its own
layers: a few hundred bytes here.
TEXT
pause

step "lab/app and lab/tools: two siblings"
run "bash scripts/compare-layers.sh lab/app:1.0 lab/tools:1.0"
explain <<'TEXT'
The siblings share exactly their parent's layers. This is why teams build on a common base
image: a host that runs ten services on one base downloads that base once.
TEXT
pause

step "The same numbers as JSON, for scripts"
run "bash scripts/compare-layers.sh --json lab/base:1.0 lab/app:1.0 | jq '{shared: .shared.bytes, wire}'"
bash scripts/compare-layers.sh --json lab/base:1.0 lab/app:1.0 >"$W/cmp.json"
base_layers="$(manifest lab/base 1.0 | jq -c '[.layers[].digest]')"
base_bytes="$(manifest lab/base 1.0 | jq '[.layers[].size] | add')"
check_eq base-app-share "lab/base and lab/app share the base's 4 layers" "$(jq -c .shared.digests "$W/cmp.json")" "$base_layers"
check_eq shared-bytes "shared bytes = the base's layer bytes ($(human "$base_bytes"))" "$(jq .shared.bytes "$W/cmp.json")" "$base_bytes"
bash scripts/compare-layers.sh --json lab/app:1.0 lab/tools:1.0 >"$W/cmp2.json"
check_eq siblings-share-base "the siblings share exactly the base's layers" "$(jq -c .shared.digests "$W/cmp2.json")" "$base_layers"
check siblings-own-layers "the siblings have layers of their own" test "$(jq '.only_a | length' "$W/cmp2.json")" -gt 0 -a "$(jq '.only_b | length' "$W/cmp2.json")" -gt 0
pause

step "What the registry itself counts: GET /api/du"
http GET /api/du -o "$W/du.json"
run "jq . $W/du.json"
explain <<'TEXT'
physical_bytes is what the blob files take on disk; logical_bytes per repository is what its
images reference; shared_blobs are blobs linked by more than one repository; dedup_saved_bytes is
what storing those once saves. The same report on the command line:
TEXT
if [[ -n "$(registry_container)" ]]; then
	run "$COMPOSE_CMD exec -T registry registry du"
fi
check du-shared-blobs "/api/du counts the base's layers as shared blobs" test "$(jq '.shared_blobs // 0' "$W/du.json")" -ge 4
check du-dedup "/api/du: deduplication saves at least the base's bytes ($(human "$(jq '.dedup_saved_bytes // 0' "$W/du.json")"))" test "$(jq '.dedup_saved_bytes // 0' "$W/du.json")" -ge "$base_bytes"
finish
