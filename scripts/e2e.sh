#!/usr/bin/env bash
# The lab, end to end, on the real Docker engine: from a clean clone with no
# pullable images it creates the base images it needs, builds and starts the
# registry with compose, and beside it the secure variant (certificates from
# scripts/gen-certs.sh, compose.yaml + compose.secure.yaml) and the token
# variant (+ compose.token.yaml: bearer tokens from the registry's own
# issuer), runs every tutorial in order non-interactively, checks the key
# outcomes and the registry's log, logs in, pushes, pulls and is refused on
# the secure and token ones, and removes everything again (docker compose
# down -v, docker logout, and the certificates if it made them) whatever
# happens.
#
#   bash scripts/e2e.sh          (or: make e2e)
#
# Uses its own compose projects (layerlab-e2e, layerlab-e2e-secure,
# layerlab-e2e-token) so it never touches a lab you started yourself — but
# it needs ports ${LAB_PORT:-5000}, ${LAB_TLS_PORT:-5443} and
# ${LAB_TOKEN_PORT:-5444} free.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LAB_NONINTERACTIVE=1
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-layerlab-e2e}"
# The secure variant, for tutorial 11 and the checks at the end.
export LAB_TLS_PORT="${LAB_TLS_PORT:-5443}"
export LAB_SECURE_PROJECT="${LAB_SECURE_PROJECT:-layerlab-e2e-secure}"
SECURE="127.0.0.1:$LAB_TLS_PORT"
# The token variant, for tutorial 12 and its checks.
export LAB_TOKEN_PORT="${LAB_TOKEN_PORT:-5444}"
export LAB_TOKEN_PROJECT="${LAB_TOKEN_PROJECT:-layerlab-e2e-token}"
TOKEN_HOST="127.0.0.1:$LAB_TOKEN_PORT"
CERTS="$LAB_ROOT/certs"
need_tools docker curl jq tar gzip openssl

secure_compose() {
	LAB_PORT="$LAB_TLS_PORT" compose -p "$LAB_SECURE_PROJECT" -f "$LAB_ROOT/compose.secure.yaml" "$@"
}
secure_container() {
	secure_compose ps -q registry 2>/dev/null | head -n1
}
token_compose() {
	LAB_PORT="$LAB_TOKEN_PORT" compose -p "$LAB_TOKEN_PROJECT" -f "$LAB_ROOT/compose.secure.yaml" -f "$LAB_ROOT/compose.token.yaml" "$@"
}
token_container() {
	token_compose ps -q registry 2>/dev/null | head -n1
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
		if [[ -n "$(token_container)" ]]; then
			printf '\n[e2e] token registry log (last 20 lines):\n' >&2
			token_compose logs --no-color --tail 20 registry 2>/dev/null | cut -c1-200 >&2 || true
		fi
	fi
	say "docker compose down -v (the three projects), docker logout $SECURE $TOKEN_HOST"
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	secure_compose down -v --remove-orphans >/dev/null 2>&1 || true
	token_compose down -v --remove-orphans >/dev/null 2>&1 || true
	docker logout "$SECURE" >/dev/null 2>&1 || true
	docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
	local images
	images="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F -e "$REGISTRY/lab/" -e "$SECURE/lab/" -e "$TOKEN_HOST/lab/" | grep -v ':<none>$' || true)"
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
if (: <"/dev/tcp/127.0.0.1/$LAB_TOKEN_PORT") 2>/dev/null; then
	fail "something already listens on $TOKEN_HOST: stop it or run with LAB_TOKEN_PORT=<free port>"
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

say "the token variant: + compose.token.yaml as $LAB_TOKEN_PROJECT on $TOKEN_HOST"
token_key_sum="$(sha256sum "$CERTS/token.key" | cut -d' ' -f1)"
token_compose up -d
# Healthy, and asking for a bearer token over verified TLS.
deadline=$((SECONDS + 120))
until [[ "$(docker inspect --format '{{.State.Health.Status}}' "$(token_container)" 2>/dev/null)" == healthy ]] &&
	curl -s -o /dev/null -D - --cacert "$CERTS/ca.crt" "https://$TOKEN_HOST/v2/" | grep -qi '^www-authenticate: Bearer '; do
	((SECONDS < deadline)) || fail "the token variant did not become healthy on $TOKEN_HOST"
	sleep 1
done
printf 'token registry is healthy and asks for a bearer token at https://%s\n' "$TOKEN_HOST"

# Local copies of the lab images from an earlier run would make docker skip
# uploads it still believes done; start from none.
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)"
[[ -z "$leftovers" ]] || xargs docker rmi <<<"$leftovers" >/dev/null
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$SECURE/lab/" | grep -v ':<none>$' || true)"
[[ -z "$leftovers" ]] || xargs docker rmi <<<"$leftovers" >/dev/null
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$TOKEN_HOST/lab/" | grep -v ':<none>$' || true)"
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

say "the token variant (compose.token.yaml): bearer tokens from /auth/token"
t12="$LAB_TMP/12-bearer-tokens.sh.log"
expect "12: the challenge named realm, service and scope" grep -q '✔ … scope: repository:lab/base:pull' "$t12"
expect "12: the decoded token granted pull and push on lab/base, and its signature verified" \
	bash -c "grep -q '✔ … access: pull and push on lab/base' '$t12' && grep -q '✔ openssl verifies the signature' '$t12'"
expect "12: a forged token was refused, another repository got insufficient_scope" \
	bash -c "grep -q '✔ … invalid_token' '$t12' && grep -q '✔ … naming the scope needed' '$t12'"
expect "12: bob got a pull-only token; docker push, pull and refusals went through tokens" \
	bash -c "grep -q '✔ … a token granting pull only' '$t12' && grep -q '✔ … through a token granting pull' '$t12' && grep -q '✔ … its anonymous token granted nothing' '$t12'"
tid="$(token_container)"
expect "its port is published on 127.0.0.1:$LAB_TOKEN_PORT only" \
	bash -c "test \"\$(docker port '$tid')\" = '5000/tcp -> 127.0.0.1:$LAB_TOKEN_PORT'"
expect "registry healthcheck passes over TLS (container healthy)" \
	test "$(docker inspect --format '{{.State.Health.Status}}' "$tid")" = healthy
expect "the signing key is readable by the registry's user (0644)" test "$(stat -c %a "$CERTS/token.key")" = 644
bash "$LAB_ROOT/scripts/gen-certs.sh" >/dev/null
expect "gen-certs.sh run again keeps the signing key" test "$(sha256sum "$CERTS/token.key" | cut -d' ' -f1)" = "$token_key_sum"
# tcurl ARGS...: curl to the token variant, trusting the lab's CA; the
# status on stdout, headers and body in $LAB_TMP/tok.headers, tok.body.
tcurl() {
	curl -sS -o "$LAB_TMP/tok.body" -D "$LAB_TMP/tok.headers" -w '%{http_code}' --cacert "$CERTS/ca.crt" "$@" || true
}
# token_for USER SCOPE: a token from /auth/token ("" when refused).
token_for() {
	tcurl -u "$1:$(cat "$CERTS/$1.password")" "https://$TOKEN_HOST/auth/token?service=layerlab&scope=$2" >/dev/null
	jq -r '.token // empty' "$LAB_TMP/tok.body" 2>/dev/null || true
}
# claims TOKEN: the JWT's payload.
claims() {
	local s
	s="$(cut -d. -f2 <<<"$1" | tr '_-' '/+')"
	while ((${#s} % 4)); do s+='='; done
	base64 -d <<<"$s"
}
expect "no token: 401" test "$(tcurl "https://$TOKEN_HOST/v2/lab/e2e/tags/list")" = 401
expect "… WWW-Authenticate: Bearer realm=\"https://$TOKEN_HOST/auth/token\",service=\"layerlab\",scope=\"repository:lab/e2e:pull\"" \
	grep -qiF "www-authenticate: Bearer realm=\"https://$TOKEN_HOST/auth/token\",service=\"layerlab\",scope=\"repository:lab/e2e:pull\"" "$LAB_TMP/tok.headers"
expect "a password on /v2/: 401 (tokens only)" test "$(tcurl -u "alice:$(cat "$CERTS/alice.password")" "https://$TOKEN_HOST/v2/")" = 401
expect "a wrong password at /auth/token: 401" test "$(tcurl -u alice:not-the-password "https://$TOKEN_HOST/auth/token?service=layerlab")" = 401
expect "a token for another service: 400" \
	test "$(tcurl -u "alice:$(cat "$CERTS/alice.password")" "https://$TOKEN_HOST/auth/token?service=elsewhere")" = 400
alice_token="$(token_for alice repository:lab/e2e:pull,push)"
expect "alice's token grants pull and push on lab/e2e, for her, for 5 minutes" \
	jq -e '.sub == "alice" and .iss == "layerlab" and .aud == "layerlab" and .exp - .iat == 300 and
		.access == [{"type": "repository", "name": "lab/e2e", "actions": ["pull", "push"]}]' <<<"$(claims "$alice_token")"
expect "… it opens an upload on lab/e2e (202)" \
	test "$(tcurl -X POST -H "Authorization: Bearer $alice_token" "https://$TOKEN_HOST/v2/lab/e2e/blobs/uploads/")" = 202
expect "… not on lab/other: 401 insufficient_scope" bash -c "test \"\$(curl -s -o /dev/null -D '$LAB_TMP/other.headers' -w '%{http_code}' --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $alice_token' 'https://$TOKEN_HOST/v2/lab/other/tags/list')\" = 401 &&
	grep -qi 'error=\"insufficient_scope\"' '$LAB_TMP/other.headers'"
forged="$(cut -d. -f1 <<<"$alice_token").$(claims "$alice_token" | jq -c '.access[0].name = "lab/other"' | base64 | tr -d '\n=' | tr '/+' '_-').$(cut -d. -f3 <<<"$alice_token")"
expect "a forged token (payload changed, old signature): 401 invalid_token" bash -c "test \"\$(curl -s -o /dev/null -D '$LAB_TMP/forged.headers' -w '%{http_code}' --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $forged' 'https://$TOKEN_HOST/v2/lab/other/tags/list')\" = 401 &&
	grep -qi 'error=\"invalid_token\"' '$LAB_TMP/forged.headers'"
bob_token="$(token_for bob repository:lab/e2e:pull,push)"
expect "bob asking for pull,push gets pull only" \
	jq -e '.sub == "bob" and .access == [{"type": "repository", "name": "lab/e2e", "actions": ["pull"]}]' <<<"$(claims "$bob_token")"
expect "… and his upload is refused: 401" \
	test "$(tcurl -X POST -H "Authorization: Bearer $bob_token" "https://$TOKEN_HOST/v2/lab/e2e/blobs/uploads/")" = 401
expect "docker login as alice succeeds" docker login -u alice --password-stdin "$TOKEN_HOST" <"$CERTS/alice.password"
docker tag "$REGISTRY/lab/app:1.0" "$TOKEN_HOST/lab/e2e:1.0" || true
expect "alice pushes $TOKEN_HOST/lab/e2e:1.0" docker push "$TOKEN_HOST/lab/e2e:1.0"
pushed="$(docker image inspect --format '{{join .RepoDigests " "}}' "$TOKEN_HOST/lab/e2e:1.0" | tr ' ' '\n' | grep -F "$TOKEN_HOST/lab/e2e@" || true)"
docker rmi "$TOKEN_HOST/lab/e2e:1.0" >/dev/null 2>&1 || true
expect "… and pulls it back by digest" docker pull "${pushed:-$TOKEN_HOST/lab/e2e@sha256:missing}"
expect "her token lists the tag" bash -c "curl -s --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $(token_for alice repository:lab/e2e:pull)' 'https://$TOKEN_HOST/v2/lab/e2e/tags/list' | jq -e '.tags == [\"1.0\"]'"
docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
expect "docker login as bob succeeds" docker login -u bob --password-stdin "$TOKEN_HOST" <"$CERTS/bob.password"
expect "bob pulls $TOKEN_HOST/lab/e2e:1.0" docker pull "$TOKEN_HOST/lab/e2e:1.0"
docker tag "$TOKEN_HOST/lab/e2e:1.0" "$TOKEN_HOST/lab/e2e-bob:1.0" || true
docker push "$TOKEN_HOST/lab/e2e-bob:1.0" >"$LAB_TMP/tok-bob-push.txt" 2>&1 && bob_pushed=yes || bob_pushed=no
expect "bob's push is denied" bash -c "test $bob_pushed = no && grep -q denied '$LAB_TMP/tok-bob-push.txt'"
docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
expect "without login, docker pull is refused" bash -c "! docker pull '$TOKEN_HOST/lab/e2e:1.0'"
token_compose logs --no-color registry >"$LAB_TMP/token.log" 2>&1
expect "the log shows GET /auth/token for alice, and a token_issued event granting her push" \
	bash -c "grep -E 'GET /auth/token → 200' '$LAB_TMP/token.log' | grep -q 'user=alice' &&
		grep -E 'event=token_issued' '$LAB_TMP/token.log' | grep -q 'granted=repository:lab/e2e:push,pull'"
expect "… bob's tokens granting pulls only, and his refused upload" \
	bash -c "grep 'token issued to bob' '$LAB_TMP/token.log' | grep -q 'granted=.*repository:lab/e2e-bob:pull' &&
		! grep 'token issued to bob' '$LAB_TMP/token.log' | grep -q 'granted=.*push' &&
		grep -E 'POST /v2/lab/e2e-bob/blobs/uploads/ → 401' '$LAB_TMP/token.log' | grep -q 'does not grant'"
expect "… alice's push with her name (from the token)" bash -c "grep -E 'PUT /v2/lab/e2e/manifests/1.0 → 201' '$LAB_TMP/token.log' | grep -q 'user=alice'"
expect "no password and no token in the log" bash -c "! grep -qF -e \"\$(cat '$CERTS/alice.password')\" -e \"\$(cat '$CERTS/bob.password')\" -e 'eyJ' '$LAB_TMP/token.log'"

printf '\n'
printf '  %s\n' "${results[@]}"
((failed == 0)) || fail "$failed key outcome(s) missing"
