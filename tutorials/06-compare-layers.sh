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
COMPARE="$LAB_ROOT/scripts/compare-layers.sh"

title "06 · compare images layer by layer"
explain "scripts/compare-layers.sh reads two manifests over the HTTP API (as in tutorial 05) and lines up their layer descriptors. '=' marks a digest both images list: that blob is sent once and stored once. It works on any two images in any registry you can reach."
pause

step "lab/base and lab/app: parent and child"
show_cmd scripts/compare-layers.sh lab/base:1.0 lab/app:1.0
bash "$COMPARE" lab/base:1.0 lab/app:1.0 | sed 's/^/     /'
explain "Every layer of the base is in the child, at the bottom of its stack. Once the base is in the registry (or on a machine), the child costs only its own layers."
pause

step "lab/app and lab/tools: two siblings"
show_cmd scripts/compare-layers.sh lab/app:1.0 lab/tools:1.0
bash "$COMPARE" lab/app:1.0 lab/tools:1.0 | sed 's/^/     /'
explain "The siblings share exactly their parent's layers. This is why teams build on a common base image: a host that runs ten services on one base downloads that base once."
pause

step "The same numbers as JSON, for scripts"
show_line "scripts/compare-layers.sh --json lab/base:1.0 lab/app:1.0 | jq '{shared, wire}'"
bash "$COMPARE" --json lab/base:1.0 lab/app:1.0 >"$LAB_TMP/cmp.json"
jq '{shared: (.shared | .digests |= map(.[:19] + "…")), wire}' "$LAB_TMP/cmp.json" | pretty
pause

step "What the registry itself counts: GET /api/du"
http GET /api/du
cp "$HTTP_BODY" "$LAB_TMP/du.json"
explain "physical_bytes is what the blob files take on disk; logical_bytes per repository is what its images reference; shared_blobs are blobs linked by more than one repository; dedup_saved_bytes is what storing those once saves. The same report on the command line: docker compose exec registry registry du"
if [[ -n "$(registry_container)" ]]; then
	show_cmd docker compose exec registry registry du
	compose exec -T registry registry du 2>&1 | sed 's/^/     /' || true
fi

step "Checks"
base_layers="$(manifest lab/base 1.0 | jq -c '[.layers[].digest]')"
base_bytes="$(manifest lab/base 1.0 | jq '[.layers[].size] | add')"
check_eq "lab/base and lab/app share the base's 4 layers" "$(jq -c .shared.digests "$LAB_TMP/cmp.json")" "$base_layers"
check_eq "shared bytes = the base's layer bytes" "$(jq .shared.bytes "$LAB_TMP/cmp.json")" "$base_bytes"
bash "$COMPARE" --json lab/app:1.0 lab/tools:1.0 >"$LAB_TMP/cmp2.json"
check_eq "the siblings share exactly the base's layers" "$(jq -c .shared.digests "$LAB_TMP/cmp2.json")" "$base_layers"
check "the siblings have layers of their own" test "$(jq '.only_a | length' "$LAB_TMP/cmp2.json")" -gt 0 -a "$(jq '.only_b | length' "$LAB_TMP/cmp2.json")" -gt 0
check "/api/du counts the base's layers as shared blobs" test "$(jq '.shared_blobs // 0' "$LAB_TMP/du.json")" -ge 4
check "/api/du: deduplication saves at least the base's bytes" test "$(jq '.dedup_saved_bytes // 0' "$LAB_TMP/du.json")" -ge "$base_bytes"
finish
