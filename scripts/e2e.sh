#!/usr/bin/env bash
# The lab, end to end, on the real Docker engine: from a clean clone with no
# pullable images it starts the lab the way the README says (make up: the
# base images are made locally when they cannot be pulled), runs every
# tutorial in order non-interactively — tutorials 11, 12 and 15 start the
# secure, token and mirror variants themselves — and after each one replays the
# commands it printed (scripts/replay.sh). Then it reads the tutorials'
# checks from their results files (lab-work/results/NN.tsv, by id), checks
# the registry's log, and logs in, pushes, pulls and is refused on the
# secure and token variants. Whatever happens it stops every variant and
# deletes what they stored (make down), logs docker out, and removes the
# lab's images and the certificates it made.
#
#   bash scripts/e2e.sh          (or: make e2e)
#
# It uses the lab's own compose projects (layerlab, layerlab-secure,
# layerlab-token), so it refuses to start while something answers on
# ${LAB_PORT:-5000}, ${LAB_TLS_PORT:-5443} or ${LAB_TOKEN_PORT:-5444}:
# stop a lab you started first (make down).
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"
export LAB_NONINTERACTIVE=1
LAB_TLS_PORT="${LAB_TLS_PORT:-5443}"
LAB_TOKEN_PORT="${LAB_TOKEN_PORT:-5444}"
SECURE="127.0.0.1:$LAB_TLS_PORT"
TOKEN_HOST="127.0.0.1:$LAB_TOKEN_PORT"
CERTS="$LAB_ROOT/certs"
need_tools docker curl jq tar gzip openssl
mkdir -p lab-work/results lab-work/e2e
LAB_RESULTS=lab-work/results/e2e.tsv
: >"$LAB_RESULTS"

secure_compose() {
	LAB_PORT="$LAB_TLS_PORT" COMPOSE_P="$LAB_PROJECT-secure" compose -f "$LAB_ROOT/compose.secure.yaml" "$@"
}
secure_container() {
	secure_compose ps -q registry 2>/dev/null | head -n1
}
token_compose() {
	LAB_PORT="$LAB_TOKEN_PORT" COMPOSE_P="$LAB_PROJECT-token" compose -f "$LAB_ROOT/compose.secure.yaml" -f "$LAB_ROOT/compose.token.yaml" "$@"
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
remove_new_certs() {
	[[ -d "$CERTS" ]] || return 0
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

# result NN ID: the check ID of tutorial NN passed (lab-work/results/NN.tsv).
result() {
	awk -F'\t' -v id="$2" '$1 == id && $2 == "ok" { found = 1 } END { exit !found }' "lab-work/results/$1.tsv"
}

cleanup() {
	local rc="$LAB_RC"
	if ((rc != 0)); then
		printf '\n[e2e] registry log (last 40 lines):\n' >&2
		compose logs --no-color --tail 40 registry 2>/dev/null >&2 || true
		if [[ -n "$(secure_container)" ]]; then
			printf '\n[e2e] secure registry log (last 20 lines):\n' >&2
			secure_compose logs --no-color --tail 20 registry 2>/dev/null >&2 || true
		fi
		if [[ -n "$(token_container)" ]]; then
			printf '\n[e2e] token registry log (last 20 lines):\n' >&2
			token_compose logs --no-color --tail 20 registry 2>/dev/null >&2 || true
		fi
	fi
	say "make down (every variant), docker logout $SECURE $TOKEN_HOST, the lab's images"
	bash "$LAB_ROOT/scripts/lab-down.sh" >/dev/null 2>&1 || true
	docker logout "$SECURE" >/dev/null 2>&1 || true
	docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
	local images
	images="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^127\.0\.0\.1:[0-9]+/lab/' | grep -v ':<none>$' || true)"
	[[ -z "$images" ]] || xargs docker rmi <<<"$images" >/dev/null 2>&1 || true
	remove_new_certs
	if ((rc == 0)); then say "PASS"; else printf '%s[e2e] FAILED (exit %d)%s\n' "$C_BAD" "$rc" "$C_OFF" >&2; fi
}
on_exit cleanup
# Interrupted: fail, never "PASS"; the cleanup runs once the step in
# progress has ended.
trap 'exit 130' INT
trap 'exit 143' TERM

if curl -s -o /dev/null --max-time 2 "$REGISTRY_URL/v2/"; then
	die "something already answers at $REGISTRY_URL: stop it (make down) or run with LAB_PORT=<free port>"
fi
for port in "$LAB_TLS_PORT" "$LAB_TOKEN_PORT" "${LAB_HUB_PORT:-5001}" "${LAB_MIRROR_PORT:-5002}"; do
	if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "something already listens on 127.0.0.1:$port: stop it (make down)"
	fi
done

say "make up"
bash scripts/lab-down.sh >/dev/null 2>&1 || true
bash scripts/lab-up.sh
start_mark="$(log_mark)"

# Local copies of the lab images from an earlier run would make docker skip
# uploads it still believes done; start from none.
leftovers="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^127\.0\.0\.1:[0-9]+/lab/' | grep -v ':<none>$' || true)"
[[ -z "$leftovers" ]] || xargs docker rmi <<<"$leftovers" >/dev/null

for t in tutorials/[0-9][0-9]-*.sh; do
	name="$(basename "$t" .sh)"
	n="${name%%-*}"
	say "tutorial $name"
	if bash "$t" >"lab-work/e2e/$name.log" 2>&1; then
		tail -n 1 "lab-work/e2e/$name.log"
	else
		cat "lab-work/e2e/$name.log"
		die "tutorial $name failed"
	fi
	bash scripts/replay.sh "$n" || die "tutorial $name printed commands that do not run as shown"
done

say "key outcomes, read from the tutorials' results"
check e2e-03-mounted-app "03: docker sent none of the base layers for lab/app" result 03 base-reused-app
check e2e-03-mounted-tools "03: … nor for lab/tools" result 03 base-reused-tools
check e2e-03-log "03: the registry reported them (blob_mounted or blob_exists)" result 03 log-reused-app
check e2e-03-ids "03: docker push's IDs are the config's diff_ids" result 03 push-ids-are-diff-ids
check e2e-06-shared "06: the comparison lists the shared digests" result 06 base-app-share
cmp_json="$(bash scripts/compare-layers.sh --json lab/base:1.0 lab/app:1.0)"
check e2e-compare-4 "compare-layers.sh: lab/base and lab/app share 4 layers" test "$(jq .shared.layers <<<"$cmp_json")" = 4
check e2e-07-back "07: pulling after docker rmi brought the images back" result 07 back-app
check e2e-07-ids "07: docker pull's IDs are the manifest's digests" result 07 pull-ids-are-digests
check e2e-08-runs "08: the curl-only push was pulled and run by docker" result 08 it-runs
check e2e-09-gc "09: garbage collection freed the deleted image's bytes" result 09 physical-fell
check e2e-10-once "10: one blob file linked by two repositories" result 10 stored-once
check e2e-11-tls "11: curl https:// to the plain-HTTP lab failed with a TLS error" result 11 with-a-tls-error
for id in with-the-digest-of-the-push and-docker-said-denied docker-logout-removed-the-credentials; do
	check "e2e-11-$id" "11: $id" result 11 "$id"
done
for id in scope-repository-lab-base-pull access-pull-and-push-on-lab-base openssl-verifies-the-signature-with-the invalid-token naming-the-scope-needed a-token-granting-pull-only through-a-token-granting-pull-token-issu its-anonymous-token-granted-nothing-toke; do
	check "e2e-12-$id" "12: $id" result 12 "$id"
done
check e2e-14-ui "14: the registry serves the explorer with a strict CSP" result 14 ui-csp
check e2e-14-compare "14: the explorer's API shows lab/base's layers shared with lab/app" result 14 compare-shared
check e2e-14-pull-after "14: … and a pull of lab/app after lab/base sends only lab/app's own layers" result 14 pull-after
check e2e-14-family "14: the family tree puts lab/app under lab/base" result 14 family-parent
for id in live-PATCH live-mounted live-exists; do
	check "e2e-14-$id" "14: the live stream showed a push: $id" result 14 "$id"
done
for id in same-digest miss-logged hit-logged push-denied pull-upstream-down stale-logged; do
	check "e2e-15-$id" "15: $id" result 15 "$id"
done

log="$LAB_TMP/registry.log"
log_since "$start_mark" >"$log"
say "learner events in the registry log ($COMPOSE_CMD logs registry)"
for ev in upload_started chunk_received blob_committed blob_checked blob_exists blob_mounted manifest_pushed manifest_pulled blob_pulled tag_deleted manifest_deleted; do
	n="$(grep -c "event=$ev" "$log" || true)"
	check "e2e-event-$ev" "event=$ev ($n)" test "$n" -gt 0
done
check e2e-access-line "one access line per request (method, path → status)" grep -qE 'PUT /v2/lab/base/manifests/1.0 → 201' "$log"
# The access lines' lengths in characters (UTF-8 continuation bytes not
# counted): "N median MAX".
read -r n_lines median longest < <(grep -E ' [A-Z]+ /[^ ]* → [0-9]{3} ' "$log" | awk '{ gsub(/[\200-\277]/, ""); print length($0) }' | sort -n |
	awk '{ a[NR] = $1 } END { print NR, a[int((NR + 1) / 2)], a[NR] }')
say "access lines: $n_lines, median $median characters, longest $longest"
check e2e-no-probes "no health probe in the debug log (quiet unless they fail)" bash -c "! grep -q 'GET /readyz' '$log'"
compose logs --no-color registry >"$LAB_TMP/compose.log" 2>&1
check e2e-compose-logs "$COMPOSE_CMD logs registry shows the same events" grep -q 'event=manifest_pushed' "$LAB_TMP/compose.log"

say "the image"
id="$(registry_container)"
check e2e-uid "the registry runs as uid 65532" test "$(docker inspect --format '{{.Config.User}}' "$id")" = "65532:65532"
check e2e-port "its port is published on 127.0.0.1 only" bash -c "docker port '$id' 5000 | grep -qx '127.0.0.1:${LAB_PORT:-5000}'"
check e2e-healthcheck "registry healthcheck passes inside the container" compose exec -T registry registry healthcheck
base_size="$(docker image inspect --format '{{.Size}}' "$LAB_BASE_IMAGE")"
check e2e-base-size "the base image carries a real userland: $LAB_BASE_IMAGE is $(human "$base_size")" test "$base_size" -gt 20000000

say "the secure variant (compose.secure.yaml): TLS, login, access rules"
sid="$(secure_container)"
check e2e-its-port-is-published-on-127-0-0-1-o "its port is published on 127.0.0.1:$LAB_TLS_PORT only (not on ${LAB_PORT:-5000})" \
	bash -c "test \"\$(docker port '$sid')\" = '5000/tcp -> 127.0.0.1:$LAB_TLS_PORT'"
check e2e-registry-healthcheck-passes-over-tls "registry healthcheck passes over TLS (container healthy)" \
	test "$(docker inspect --format '{{.State.Health.Status}}' "$sid")" = healthy
check e2e-registry-healthcheck-passes-inside-t "registry healthcheck passes inside the container" secure_compose exec -T registry registry healthcheck
sec_status="$(curl -sS -o "$LAB_TMP/sec.body" -D "$LAB_TMP/sec.headers" -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://$SECURE/v2/" || true)"
check e2e-no-credentials-401 "no credentials: 401" test "$sec_status" = 401
check e2e-www-authenticate-basic-realm-layerla "… WWW-Authenticate: Basic realm=\"layerlab\"" grep -qi '^www-authenticate: Basic realm="layerlab"' "$LAB_TMP/sec.headers"
check e2e-unauthorized "… UNAUTHORIZED" test "$(jq -r '.errors[0].code' "$LAB_TMP/sec.body")" = UNAUTHORIZED
check e2e-the-certificate-is-valid-for-localho "the certificate is valid for localhost too (verified by curl)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://localhost:$LAB_TLS_PORT/v2/")" = 401
check e2e-the-server-key-is-readable-by-the-re "the server key is readable by the registry's user (0644) and the CA key is not (0600)" \
	test "$(stat -c %a "$CERTS/server.key") $(stat -c %a "$CERTS/ca.key")" = "644 600"
check e2e-docker-login-with-a-wrong-password-i "docker login with a wrong password is refused" \
	bash -c "! echo not-the-password | docker login -u alice --password-stdin '$SECURE'"
check e2e-docker-login-as-alice-succeeds "docker login as alice succeeds" docker login -u alice --password-stdin "$SECURE" <"$CERTS/alice.password"
docker tag "$REGISTRY/lab/app:1.0" "$SECURE/lab/e2e:1.0" || true
check e2e-alice-pushes-lab-e2e-1-0 "alice pushes $SECURE/lab/e2e:1.0" docker push "$SECURE/lab/e2e:1.0"
pushed="$(docker image inspect --format '{{join .RepoDigests " "}}' "$SECURE/lab/e2e:1.0" | tr ' ' '\n' | grep -F "$SECURE/lab/e2e@" || true)"
docker rmi "$SECURE/lab/e2e:1.0" >/dev/null 2>&1 || true
check e2e-and-pulls-it-back-by-digest "… and pulls it back by digest" docker pull "${pushed:-$SECURE/lab/e2e@sha256:missing}"
docker logout "$SECURE" >/dev/null 2>&1 || true
check e2e-docker-login-as-bob-succeeds "docker login as bob succeeds" docker login -u bob --password-stdin "$SECURE" <"$CERTS/bob.password"
check e2e-bob-pulls-lab-e2e-1-0 "bob pulls $SECURE/lab/e2e:1.0" docker pull "$SECURE/lab/e2e:1.0"
docker tag "$SECURE/lab/e2e:1.0" "$SECURE/lab/e2e-bob:1.0" || true
docker push "$SECURE/lab/e2e-bob:1.0" >"$LAB_TMP/bob-push.txt" 2>&1 && bob_pushed=yes || bob_pushed=no
check e2e-bob-s-push-is-denied "bob's push is denied" bash -c "test $bob_pushed = no && grep -q denied '$LAB_TMP/bob-push.txt'"
check e2e-and-bob-s-curl-push-answers-403-deni "… and bob's curl push answers 403 DENIED" \
	bash -c "curl -s --cacert '$CERTS/ca.crt' -u \"bob:\$(cat '$CERTS/bob.password')\" -X POST 'https://$SECURE/v2/lab/e2e-bob/blobs/uploads/' | jq -e '.errors[0].code == \"DENIED\"'"
docker logout "$SECURE" >/dev/null 2>&1 || true
secure_compose logs --no-color registry >"$LAB_TMP/secure.log" 2>&1
check e2e-the-registry-logged-bob-s-refusal-wi "the registry logged bob's refusal with his name" bash -c "grep -E '→ 403' '$LAB_TMP/secure.log' | grep -q 'user=bob'"
check e2e-and-alice-s-push-with-hers "… and alice's push with hers" bash -c "grep -E 'PUT /v2/lab/e2e/manifests/1.0 → 201' '$LAB_TMP/secure.log' | grep -q 'user=alice'"
check e2e-no-password-in-the-log "no password in the log" bash -c "! grep -qF -e \"\$(cat '$CERTS/alice.password')\" -e \"\$(cat '$CERTS/bob.password')\" '$LAB_TMP/secure.log'"

say "the token variant (compose.token.yaml): bearer tokens from /auth/token"
tid="$(token_container)"
check e2e-its-port-is-published-on-127-0-0-1-o-2 "its port is published on 127.0.0.1:$LAB_TOKEN_PORT only" \
	bash -c "test \"\$(docker port '$tid')\" = '5000/tcp -> 127.0.0.1:$LAB_TOKEN_PORT'"
check e2e-registry-healthcheck-passes-over-tls-2 "registry healthcheck passes over TLS (container healthy)" \
	test "$(docker inspect --format '{{.State.Health.Status}}' "$tid")" = healthy
check e2e-the-signing-key-is-readable-by-the-r "the signing key is readable by the registry's user (0644)" test "$(stat -c %a "$CERTS/token.key")" = 644
token_key_sum="$(sha256sum "$CERTS/token.key" | cut -d' ' -f1)"
bash "$LAB_ROOT/scripts/gen-certs.sh" >/dev/null
check e2e-gen-certs-sh-run-again-keeps-the-sig "gen-certs.sh run again keeps the signing key" test "$(sha256sum "$CERTS/token.key" | cut -d' ' -f1)" = "$token_key_sum"
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
check e2e-no-token-401 "no token: 401" test "$(tcurl "https://$TOKEN_HOST/v2/lab/e2e/tags/list")" = 401
check e2e-www-authenticate-bearer-realm-https "… WWW-Authenticate: Bearer realm=\"https://$TOKEN_HOST/auth/token\",service=\"layerlab\",scope=\"repository:lab/e2e:pull\"" \
	grep -qiF "www-authenticate: Bearer realm=\"https://$TOKEN_HOST/auth/token\",service=\"layerlab\",scope=\"repository:lab/e2e:pull\"" "$LAB_TMP/tok.headers"
check e2e-a-password-on-v2-401-tokens-only "a password on /v2/: 401 (tokens only)" test "$(tcurl -u "alice:$(cat "$CERTS/alice.password")" "https://$TOKEN_HOST/v2/")" = 401
check e2e-a-wrong-password-at-auth-token-401 "a wrong password at /auth/token: 401" test "$(tcurl -u alice:not-the-password "https://$TOKEN_HOST/auth/token?service=layerlab")" = 401
check e2e-a-token-for-another-service-400 "a token for another service: 400" \
	test "$(tcurl -u "alice:$(cat "$CERTS/alice.password")" "https://$TOKEN_HOST/auth/token?service=elsewhere")" = 400
alice_token="$(token_for alice repository:lab/e2e:pull,push)"
check e2e-alice-s-token-grants-pull-and-push-o "alice's token grants pull and push on lab/e2e, for her, for 5 minutes" \
	jq -e '.sub == "alice" and .iss == "layerlab" and .aud == "layerlab" and .exp - .iat == 300 and
		.access == [{"type": "repository", "name": "lab/e2e", "actions": ["pull", "push"]}]' <<<"$(claims "$alice_token")"
check e2e-it-opens-an-upload-on-lab-e2e-202 "… it opens an upload on lab/e2e (202)" \
	test "$(tcurl -X POST -H "Authorization: Bearer $alice_token" "https://$TOKEN_HOST/v2/lab/e2e/blobs/uploads/")" = 202
check e2e-not-on-lab-other-401-insufficient-sc "… not on lab/other: 401 insufficient_scope" bash -c "test \"\$(curl -s -o /dev/null -D '$LAB_TMP/other.headers' -w '%{http_code}' --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $alice_token' 'https://$TOKEN_HOST/v2/lab/other/tags/list')\" = 401 &&
	grep -qi 'error=\"insufficient_scope\"' '$LAB_TMP/other.headers'"
forged="$(cut -d. -f1 <<<"$alice_token").$(claims "$alice_token" | jq -c '.access[0].name = "lab/other"' | base64 | tr -d '\n=' | tr '/+' '_-').$(cut -d. -f3 <<<"$alice_token")"
check e2e-a-forged-token-payload-changed-old-s "a forged token (payload changed, old signature): 401 invalid_token" bash -c "test \"\$(curl -s -o /dev/null -D '$LAB_TMP/forged.headers' -w '%{http_code}' --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $forged' 'https://$TOKEN_HOST/v2/lab/other/tags/list')\" = 401 &&
	grep -qi 'error=\"invalid_token\"' '$LAB_TMP/forged.headers'"
bob_token="$(token_for bob repository:lab/e2e:pull,push)"
check e2e-bob-asking-for-pull-push-gets-pull-o "bob asking for pull,push gets pull only" \
	jq -e '.sub == "bob" and .access == [{"type": "repository", "name": "lab/e2e", "actions": ["pull"]}]' <<<"$(claims "$bob_token")"
check e2e-and-his-upload-is-refused-401 "… and his upload is refused: 401" \
	test "$(tcurl -X POST -H "Authorization: Bearer $bob_token" "https://$TOKEN_HOST/v2/lab/e2e/blobs/uploads/")" = 401
check e2e-docker-login-as-alice-succeeds-2 "docker login as alice succeeds" docker login -u alice --password-stdin "$TOKEN_HOST" <"$CERTS/alice.password"
docker tag "$REGISTRY/lab/app:1.0" "$TOKEN_HOST/lab/e2e:1.0" || true
check e2e-alice-pushes-lab-e2e-1-0-2 "alice pushes $TOKEN_HOST/lab/e2e:1.0" docker push "$TOKEN_HOST/lab/e2e:1.0"
pushed="$(docker image inspect --format '{{join .RepoDigests " "}}' "$TOKEN_HOST/lab/e2e:1.0" | tr ' ' '\n' | grep -F "$TOKEN_HOST/lab/e2e@" || true)"
docker rmi "$TOKEN_HOST/lab/e2e:1.0" >/dev/null 2>&1 || true
check e2e-and-pulls-it-back-by-digest-2 "… and pulls it back by digest" docker pull "${pushed:-$TOKEN_HOST/lab/e2e@sha256:missing}"
check e2e-her-token-lists-the-tag "her token lists the tag" bash -c "curl -s --cacert '$CERTS/ca.crt' -H 'Authorization: Bearer $(token_for alice repository:lab/e2e:pull)' 'https://$TOKEN_HOST/v2/lab/e2e/tags/list' | jq -e '.tags == [\"1.0\"]'"
docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
check e2e-docker-login-as-bob-succeeds-2 "docker login as bob succeeds" docker login -u bob --password-stdin "$TOKEN_HOST" <"$CERTS/bob.password"
check e2e-bob-pulls-lab-e2e-1-0-2 "bob pulls $TOKEN_HOST/lab/e2e:1.0" docker pull "$TOKEN_HOST/lab/e2e:1.0"
docker tag "$TOKEN_HOST/lab/e2e:1.0" "$TOKEN_HOST/lab/e2e-bob:1.0" || true
docker push "$TOKEN_HOST/lab/e2e-bob:1.0" >"$LAB_TMP/tok-bob-push.txt" 2>&1 && bob_pushed=yes || bob_pushed=no
check e2e-bob-s-push-is-denied-2 "bob's push is denied" bash -c "test $bob_pushed = no && grep -q denied '$LAB_TMP/tok-bob-push.txt'"
docker logout "$TOKEN_HOST" >/dev/null 2>&1 || true
check e2e-without-login-docker-pull-is-refused "without login, docker pull is refused" bash -c "! docker pull '$TOKEN_HOST/lab/e2e:1.0'"
token_compose logs --no-color registry >"$LAB_TMP/token.log" 2>&1
check e2e-the-log-shows-get-auth-token-for-ali "the log shows GET /auth/token for alice, and a token_issued event granting her push" \
	bash -c "grep -E 'GET /auth/token → 200' '$LAB_TMP/token.log' | grep -q 'user=alice' &&
		grep -E 'event=token_issued' '$LAB_TMP/token.log' | grep -q 'granted=repository:lab/e2e:push,pull'"
check e2e-bob-s-tokens-granting-pulls-only-and "… bob's tokens granting pulls only, and his refused upload" \
	bash -c "grep 'token issued to bob' '$LAB_TMP/token.log' | grep -q 'granted=.*repository:lab/e2e-bob:pull' &&
		! grep 'token issued to bob' '$LAB_TMP/token.log' | grep -q 'granted=.*push' &&
		grep -E 'POST /v2/lab/e2e-bob/blobs/uploads/ → 401' '$LAB_TMP/token.log' | grep -q 'does not grant'"
check e2e-alice-s-push-with-her-name-from-the "… alice's push with her name (from the token)" bash -c "grep -E 'PUT /v2/lab/e2e/manifests/1.0 → 201' '$LAB_TMP/token.log' | grep -q 'user=alice'"
check e2e-no-password-and-no-token-in-the-log "no password and no token in the log" bash -c "! grep -qF -e \"\$(cat '$CERTS/alice.password')\" -e \"\$(cat '$CERTS/bob.password')\" -e 'eyJ' '$LAB_TMP/token.log'"

((LAB_FAILED == 0)) || die "$LAB_FAILED of $LAB_CHECKS checks failed"
say "all $LAB_CHECKS checks passed"
