#!/usr/bin/env bash
# The lab, end to end, on the real Docker engine: from a clean clone with no
# pullable images it creates the base images it needs, builds and starts the
# registry with compose, runs every tutorial in order non-interactively,
# checks the key outcomes and the registry's log, and removes everything
# again (docker compose down -v) whatever happens.
#
#   bash scripts/e2e.sh          (or: make e2e)
#
# Uses its own compose project (layerlab-e2e) so it never touches a lab you
# started yourself — but it needs port ${LAB_PORT:-5000} free.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LAB_NONINTERACTIVE=1
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-layerlab-e2e}"
need_tools docker curl jq tar gzip

say() { printf '\n%s[e2e] %s%s\n' "$C_BOLD" "$*" "$C_OFF"; }
fail() {
	printf '%s[e2e] FAIL: %s%s\n' "$C_BAD" "$*" "$C_OFF" >&2
	exit 1
}

cleanup() {
	local rc=$?
	if ((rc != 0)); then
		printf '\n[e2e] registry log (last 40 lines, cut at 200 characters):\n' >&2
		compose logs --no-color --tail 40 registry 2>/dev/null | cut -c1-200 >&2 || true
	fi
	say "docker compose down -v"
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	local images
	images="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)"
	[[ -z "$images" ]] || xargs docker rmi <<<"$images" >/dev/null 2>&1 || true
	rm -rf "$LAB_TMP"
	if ((rc == 0)); then say "PASS"; else printf '%s[e2e] FAILED (exit %d)%s\n' "$C_BAD" "$rc" "$C_OFF" >&2; fi
	exit "$rc"
}
trap cleanup EXIT

if curl -s -o /dev/null --max-time 2 "$REGISTRY_URL/v2/"; then
	fail "something already answers at $REGISTRY_URL: stop it (make down) or run with LAB_PORT=<free port>"
fi

say "base images (local stand-ins when they cannot be pulled)"
bash "$LAB_ROOT/scripts/make-base-images.sh"

say "docker compose up --build -d"
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose build registry
compose up -d
bash "$LAB_ROOT/scripts/wait-healthy.sh" 120
start_mark="$(log_mark)"

# Local copies of the lab images from an earlier run would make docker skip
# uploads it still believes done; start from none.
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)"
[[ -z "$leftovers" ]] || xargs docker rmi <<<"$leftovers" >/dev/null

results=()
for t in "$LAB_ROOT"/tutorials/[0-9][0-9]-*.sh; do
	name="$(basename "$t")"
	say "tutorial $name"
	if bash "$t" >"$LAB_TMP/$name.log" 2>&1; then
		tail -n 1 "$LAB_TMP/$name.log"
		results+=("ok    $name")
	else
		cat "$LAB_TMP/$name.log"
		fail "tutorial $name failed"
	fi
done

say "key outcomes"
failed=0
expect() {
	local what="$1"
	shift
	if "$@" >/dev/null 2>&1; then
		printf '  %s✔ %s%s\n' "$C_OK" "$what" "$C_OFF"
	else
		printf '  %s✘ %s%s\n' "$C_BAD" "$what" "$C_OFF"
		failed=$((failed + 1))
	fi
}
log="$LAB_TMP/registry.log"
log_since "$start_mark" >"$log"
t03="$LAB_TMP/03-push-a-derived-image.sh.log"
expect "03: base layers were mounted or found on the derived pushes" grep -qE 'Mounted from lab/|Layer already exists' "$t03"
expect "03: the registry reported them (event=blob_mounted or blob_exists for lab/app)" \
	bash -c "grep -E 'event=blob_(mounted|exists)' '$log' | grep -q 'repository=lab/app'"
expect "06: the comparison lists the shared digests" grep -q '✔ lab/base and lab/app share the base' "$LAB_TMP/06-compare-layers.sh.log"
cmp_json="$(bash "$LAB_ROOT/scripts/compare-layers.sh" --json lab/base:1.0 lab/app:1.0)"
expect "compare-layers.sh: lab/base and lab/app share 4 layers" test "$(jq .shared.layers <<<"$cmp_json")" = 4
expect "07: pulling after docker rmi brought the images back" grep -q '✔ lab/app:1.0 is back' "$LAB_TMP/07-pull-it-back.sh.log"
expect "08: the curl-only push was pulled and run by docker" grep -q '✔ it runs: the hand-made layer' "$LAB_TMP/08-push-by-hand.sh.log"
expect "09: garbage collection freed the deleted image's bytes" grep -q '✔ physical bytes fell by at least' "$LAB_TMP/09-delete-and-collect-garbage.sh.log"
expect "10: one blob file linked by two repositories" grep -q '✔ … and stored once' "$LAB_TMP/10-the-registry-database.sh.log"

say "learner events in the registry log (docker compose logs registry)"
for ev in upload_started chunk_received blob_committed blob_exists blob_mounted manifest_pushed manifest_pulled blob_pulled tag_deleted manifest_deleted; do
	n="$(grep -c "event=$ev" "$log" || true)"
	expect "event=$ev ($n)" test "$n" -gt 0
done
expect "one access line per request (method, path → status)" grep -qE 'PUT /v2/lab/base/manifests/1.0 → 201' "$log"
compose logs --no-color registry >"$LAB_TMP/compose.log" 2>&1
expect "docker compose logs registry shows the same events" grep -q 'event=manifest_pushed' "$LAB_TMP/compose.log"

say "the image"
id="$(registry_container)"
expect "the registry runs as uid 65532" test "$(docker inspect --format '{{.Config.User}}' "$id")" = "65532:65532"
expect "its port is published on 127.0.0.1 only" bash -c "docker port '$id' 5000 | grep -qx '127.0.0.1:${LAB_PORT:-5000}'"
expect "registry healthcheck passes inside the container" compose exec -T registry registry healthcheck

printf '\n'
printf '  %s\n' "${results[@]}"
((failed == 0)) || fail "$failed key outcome(s) missing"
