#!/usr/bin/env bash
# The lab, end to end, on the real Docker engine: from a clean clone with no
# pullable images it creates the base images it needs, builds and starts the
# registry with compose, and beside it the secure variant (certificates from
# scripts/gen-certs.sh, compose.yaml + compose.secure.yaml), runs every
# tutorial in order non-interactively, checks the key outcomes and the
# registry's log, logs in, pushes, pulls and is refused on the secure one, and
# removes everything again (docker compose down -v, docker logout, and the
# certificates if it made them) whatever happens.
#
#   bash scripts/e2e.sh          (or: make e2e)
#
# Uses its own compose projects (layerlab-e2e, layerlab-e2e-secure) so it
# never touches a lab you started yourself — but it needs ports
# ${LAB_PORT:-5000} and ${LAB_TLS_PORT:-5443} free.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LAB_NONINTERACTIVE=1
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-layerlab-e2e}"
# The secure variant, for tutorial 11 and the checks at the end.
export LAB_TLS_PORT="${LAB_TLS_PORT:-5443}"
export LAB_SECURE_PROJECT="${LAB_SECURE_PROJECT:-layerlab-e2e-secure}"
SECURE="127.0.0.1:$LAB_TLS_PORT"
CERTS="$LAB_ROOT/certs"
need_tools docker curl jq tar gzip openssl

secure_compose() {
	LAB_PORT="$LAB_TLS_PORT" compose -p "$LAB_SECURE_PROJECT" -f "$LAB_ROOT/compose.secure.yaml" "$@"
}
secure_container() {
	secure_compose ps -q registry 2>/dev/null | head -n1
}

# What certs/ held before this run: the cleanup removes only what it adds.
certs_existed=no
certs_before=""
if [[ -d "$CERTS" ]]; then
	certs_existed=yes
	certs_before="$(ls -A "$CERTS")"
fi
certs_touched=no
remove_new_certs() {
	[[ "$certs_touched" == yes && -d "$CERTS" ]] || return 0
	if [[ "$certs_existed" == no ]]; then
		rm -rf "$CERTS"
		return 0
	fi
	local f
	for f in "$CERTS"/* "$CERTS"/.[!.]*; do
		[[ -e "$f" ]] || continue
		grep -qxF "$(basename "$f")" <<<"$certs_before" || rm -rf "$f"
	done
}

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
		if [[ -n "$(secure_container)" ]]; then
			printf '\n[e2e] secure registry log (last 20 lines):\n' >&2
			secure_compose logs --no-color --tail 20 registry 2>/dev/null | cut -c1-200 >&2 || true
		fi
	fi
	say "docker compose down -v (both projects), docker logout $SECURE"
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	secure_compose down -v --remove-orphans >/dev/null 2>&1 || true
	docker logout "$SECURE" >/dev/null 2>&1 || true
	local images
	images="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F -e "$REGISTRY/lab/" -e "$SECURE/lab/" | grep -v ':<none>$' || true)"
	[[ -z "$images" ]] || xargs docker rmi <<<"$images" >/dev/null 2>&1 || true
	remove_new_certs
	rm -rf "$LAB_TMP"
	if ((rc == 0)); then say "PASS"; else printf '%s[e2e] FAILED (exit %d)%s\n' "$C_BAD" "$rc" "$C_OFF" >&2; fi
	exit "$rc"
}
trap cleanup EXIT
# Interrupted: fail, never "PASS"; the cleanup runs once the step in
# progress has ended.
trap 'exit 130' INT
trap 'exit 143' TERM

if curl -s -o /dev/null --max-time 2 "$REGISTRY_URL/v2/"; then
	fail "something already answers at $REGISTRY_URL: stop it (make down) or run with LAB_PORT=<free port>"
fi
if (: <"/dev/tcp/127.0.0.1/$LAB_TLS_PORT") 2>/dev/null; then
	fail "something already listens on $SECURE: stop it or run with LAB_TLS_PORT=<free port>"
fi

say "base images (local stand-ins when they cannot be pulled)"
bash "$LAB_ROOT/scripts/make-base-images.sh"

say "docker compose up --build -d"
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose build registry
compose up -d
bash "$LAB_ROOT/scripts/wait-healthy.sh" 120
start_mark="$(log_mark)"

say "the secure variant: certificates, then compose.yaml + compose.secure.yaml as $LAB_SECURE_PROJECT on $SECURE"
certs_touched=yes
bash "$LAB_ROOT/scripts/gen-certs.sh"
secure_compose up -d
# Healthy (its healthcheck speaks TLS) and answering /v2/ with 401 over
# verified TLS.
deadline=$((SECONDS + 120))
until [[ "$(docker inspect --format '{{.State.Health.Status}}' "$(secure_container)" 2>/dev/null)" == healthy ]] &&
	[[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://$SECURE/v2/")" == 401 ]]; do
	((SECONDS < deadline)) || fail "the secure variant did not become healthy on $SECURE"
	sleep 1
done
printf 'secure registry is healthy and asks for credentials at https://%s\n' "$SECURE"

# Local copies of the lab images from an earlier run would make docker skip
# uploads it still believes done; start from none.
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)"
[[ -z "$leftovers" ]] || xargs docker rmi <<<"$leftovers" >/dev/null
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$SECURE/lab/" | grep -v ':<none>$' || true)"
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

say "the secure variant (compose.secure.yaml): TLS, login, access rules"
t11="$LAB_TMP/11-auth-and-tls.sh.log"
expect "11: curl https:// to the plain-HTTP lab failed with a TLS error" grep -q '✔ … with a TLS error' "$t11"
expect "11: docker login, push, pull back, bob denied, logout" \
	bash -c "grep -q '✔ … with the digest of the push' '$t11' && grep -q '✔ … and docker said .denied.' '$t11' && grep -q '✔ docker logout removed' '$t11'"
sid="$(secure_container)"
expect "its port is published on 127.0.0.1:$LAB_TLS_PORT only (not on ${LAB_PORT:-5000})" \
	bash -c "test \"\$(docker port '$sid')\" = '5000/tcp -> 127.0.0.1:$LAB_TLS_PORT'"
expect "registry healthcheck passes over TLS (container healthy)" \
	test "$(docker inspect --format '{{.State.Health.Status}}' "$sid")" = healthy
expect "registry healthcheck passes inside the container" secure_compose exec -T registry registry healthcheck
sec_status="$(curl -sS -o "$LAB_TMP/sec.body" -D "$LAB_TMP/sec.headers" -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://$SECURE/v2/" || true)"
expect "no credentials: 401" test "$sec_status" = 401
expect "… WWW-Authenticate: Basic realm=\"layerlab\"" grep -qi '^www-authenticate: Basic realm="layerlab"' "$LAB_TMP/sec.headers"
expect "… UNAUTHORIZED" test "$(jq -r '.errors[0].code' "$LAB_TMP/sec.body")" = UNAUTHORIZED
expect "the certificate is valid for localhost too (verified by curl)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://localhost:$LAB_TLS_PORT/v2/")" = 401
expect "the server key is readable by the registry's user (0644) and the CA key is not (0600)" \
	test "$(stat -c %a "$CERTS/server.key") $(stat -c %a "$CERTS/ca.key")" = "644 600"
expect "docker login with a wrong password is refused" \
	bash -c "! echo not-the-password | docker login -u alice --password-stdin '$SECURE'"
expect "docker login as alice succeeds" docker login -u alice --password-stdin "$SECURE" <"$CERTS/alice.password"
docker tag "$REGISTRY/lab/app:1.0" "$SECURE/lab/e2e:1.0" || true
expect "alice pushes $SECURE/lab/e2e:1.0" docker push "$SECURE/lab/e2e:1.0"
pushed="$(docker image inspect --format '{{join .RepoDigests " "}}' "$SECURE/lab/e2e:1.0" | tr ' ' '\n' | grep -F "$SECURE/lab/e2e@" || true)"
docker rmi "$SECURE/lab/e2e:1.0" >/dev/null 2>&1 || true
expect "… and pulls it back by digest" docker pull "${pushed:-$SECURE/lab/e2e@sha256:missing}"
docker logout "$SECURE" >/dev/null 2>&1 || true
expect "docker login as bob succeeds" docker login -u bob --password-stdin "$SECURE" <"$CERTS/bob.password"
expect "bob pulls $SECURE/lab/e2e:1.0" docker pull "$SECURE/lab/e2e:1.0"
docker tag "$SECURE/lab/e2e:1.0" "$SECURE/lab/e2e-bob:1.0" || true
docker push "$SECURE/lab/e2e-bob:1.0" >"$LAB_TMP/bob-push.txt" 2>&1 && bob_pushed=yes || bob_pushed=no
expect "bob's push is denied" bash -c "test $bob_pushed = no && grep -q denied '$LAB_TMP/bob-push.txt'"
expect "… and bob's curl push answers 403 DENIED" \
	bash -c "curl -s --cacert '$CERTS/ca.crt' -u \"bob:\$(cat '$CERTS/bob.password')\" -X POST 'https://$SECURE/v2/lab/e2e-bob/blobs/uploads/' | jq -e '.errors[0].code == \"DENIED\"'"
docker logout "$SECURE" >/dev/null 2>&1 || true
secure_compose logs --no-color registry >"$LAB_TMP/secure.log" 2>&1
expect "the registry logged bob's refusal with his name" bash -c "grep -E '→ 403' '$LAB_TMP/secure.log' | grep -q 'user=bob'"
expect "… and alice's push with hers" bash -c "grep -E 'PUT /v2/lab/e2e/manifests/1.0 → 201' '$LAB_TMP/secure.log' | grep -q 'user=alice'"
expect "no password in the log" bash -c "! grep -qF -e \"\$(cat '$CERTS/alice.password')\" -e \"\$(cat '$CERTS/bob.password')\" '$LAB_TMP/secure.log'"

printf '\n'
printf '  %s\n' "${results[@]}"
((failed == 0)) || fail "$failed key outcome(s) missing"
