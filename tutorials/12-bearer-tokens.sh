#!/usr/bin/env bash
# 12 — Bearer tokens (the Docker token protocol): the registry stops taking
# passwords on /v2/ and asks for a token instead. The 401 and its Bearer
# challenge; docker login and push through it, and the registry's log of
# each token; then the same by hand with curl: a token from /auth/token,
# what the JWT holds (decoded with base64url and jq), why it cannot be
# changed, insufficient_scope, bob's pull-only token, docker pull, logout;
# and how a team points the registry at its own auth server.
#
# Runs against the token variant: compose.yaml + compose.secure.yaml +
# compose.token.yaml under a project of its own (LAB_TOKEN_PROJECT, default
# layerlab-token), on 127.0.0.1:${LAB_TOKEN_PORT:-5444}. The plain lab is not
# needed (lab/base is built when docker has no copy of it). When the token
# variant does not answer yet, this tutorial creates certs/
# (scripts/gen-certs.sh, which also makes the signing key certs/token.key)
# and starts it — and leaves it running. Stop it with:
#
#   LAB_PORT=5444 docker compose (or docker-compose) -p layerlab-token -f compose.yaml -f compose.secure.yaml -f compose.token.yaml down -v
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_tools docker curl jq openssl base64 od
cd "$LAB_ROOT" # the commands name certs/… relative to the repository

LAB_TOKEN_PORT="${LAB_TOKEN_PORT:-5444}"
LAB_TOKEN_PROJECT="${LAB_TOKEN_PROJECT:-layerlab-token}"
VARIANT_PORT="$LAB_TOKEN_PORT" VARIANT_PROJECT="$LAB_TOKEN_PROJECT"
VARIANT_FILES=(compose.secure.yaml compose.token.yaml)
# shellcheck source=scripts/variant.sh disable=SC1091
. "$LAB_ROOT/scripts/variant.sh"
TOK="$VARIANT_ADDR"
TOK_URL="$VARIANT_URL"
SERVICE=layerlab

# Whatever happens, docker does not stay logged in to the token variant.
on_exit "docker logout '$TOK' >/dev/null 2>&1"

# token_answers: the registry answers /v2/ over verified TLS with 401 and a
# Bearer challenge.
token_answers() {
	[[ -r "$CA" ]] &&
		curl -s -o /dev/null -D - --max-time 5 --cacert "$CA" "$TOK_URL/v2/" 2>/dev/null | tr -d '\r' |
		grep -qi '^www-authenticate: Bearer '
}
# decode_cmd N FILE: the command line that decodes part N (0 header, 1
# payload) of the JWT in FILE: base64url (- and _ for + and /, no =
# padding) is decoded by jq's @base64d once the alphabet is swapped.
decode_cmd() {
	printf "jq -R 'split(\".\")[%s] | gsub(\"-\"; \"+\") | gsub(\"_\"; \"/\") | @base64d | fromjson' %s" "$1" "$2"
}
b64url_decode() {
	local s
	s="$(tr '_-' '/+')"
	while ((${#s} % 4)); do s+='='; done
	base64 -d <<<"$s"
}
# jwt_part TOKEN N: part N (1 header, 2 payload) of a JWT, decoded.
jwt_part() {
	cut -d. -f"$2" <<<"$1" | b64url_decode
}

# get_token USER SCOPE: a token for USER ("" for nobody) and SCOPE from
# /auth/token, quietly ("" when refused).
get_token() {
	local auth=()
	[[ -z "$1" ]] || auth=(-u "$1:$(password "$1")")
	http_quiet GET "$TOK_URL/auth/token?service=$SERVICE&scope=$2" --cacert "$CA" "${auth[@]}"
	[[ "$HTTP_STATUS" == 200 ]] || return 0
	jq -r '.token // empty' "$HTTP_BODY"
}
# fresh USER SCOPE: a new token in $W/token (and TOKEN) when the one there
# expires within 20 s (tokens last 5 minutes; pauses on a terminal can be
# longer).
fresh() {
	local exp
	exp="$(jwt_part "$TOKEN" 2 | jq -r '.exp' 2>/dev/null || echo 0)"
	if (($(date +%s) + 20 >= ${exp:-0})); then
		TOKEN="$(get_token "$1" "$2")"
		printf '%s\n' "$TOKEN" >"$W/token"
		note "(the token in $W/token had expired — tokens last 5 minutes — so this tutorial asked for a new one, the same way)"
	fi
}

# mark: where the next log excerpt starts, once the lines of what came
# before are written (the registry writes its log in batches, at most 50 ms
# late).
mark() {
	sleep 0.2
	log_mark
}
# challenge_param NAME: a parameter of the last response's Bearer challenge.
challenge_param() {
	hdr WWW-Authenticate | grep -oE "$1=\"[^\"]*\"" | head -n1 | cut -d'"' -f2
}

title "12 · bearer tokens: the Docker token protocol"
explain <<'TEXT'
In tutorial 11 every request carried alice's password. Docker Hub, GitHub's and GitLab's
registries, Harbor and most others work another way: the client logs in at a token server, which
hands it a short-lived token saying exactly what it may do, signed; the registry checks the
signature and reads the token. It never sees a password and needs no user database — only the
token server's public key. In this lab variant the registry issues the tokens itself, at
/auth/token, so that both sides of the exchange happen on one machine, in one log.
TEXT
pause

step "Start the token variant"
explain <<'TEXT'
compose.token.yaml stacks on compose.secure.yaml: the same TLS, users and rules, plus one
setting and one file — the private key the registry signs tokens with, made by
scripts/gen-certs.sh and mounted read-only:
TEXT
run "grep -E '^ +(REGISTRY_[A-Z_]+:|- \./certs/)' compose.token.yaml"
explain <<TEXT
Like the secure variant it publishes no port of its own (compose appends 'ports' lists); it runs
under its own project with LAB_PORT=$LAB_TOKEN_PORT, beside the plain lab (5000) and the secure
variant (5443), with its own container and storage.
TEXT
start_variant token_answers "the certificates, users and signing key"
key_mode="$(stat -c %a certs/token.key 2>/dev/null || stat -f %Lp certs/token.key)"
run "head -n1 certs/token.key"
explain <<TEXT
An EC P-256 private key. Whoever holds it can mint tokens that grant anything, so it never
leaves the registry; clients never see it. (Mode $key_mode: readable by the container's user
through the bind mount — the lab's throwaway key, like server.key.)
TEXT
check the-token-variant-answers-at-with-a-bear "the token variant answers at $TOK_URL with a Bearer challenge" token_answers
check_eq certs-token-key-is-readable-by-the-regis "certs/token.key is readable by the registry's user (0644)" "$key_mode" 644
pause

step "No token: 401 and a Bearer challenge"
vhttp "" GET /v2/lab/base/tags/list
anon_status="$HTTP_STATUS"
anon_challenge="$(hdr WWW-Authenticate)"
realm="$(challenge_param realm)"
service="$(challenge_param service)"
scope="$(challenge_param scope)"
explain <<TEXT
The same 401 as in tutorial 11, with another challenge. Bearer: answer with a token, not a
password. Its parameters tell the client where to get one and for what:

  realm="$realm" — the token server's URL. Here it is this registry's own /auth/token, built from
the address you used; with an auth server of its own, a team puts that server's URL here (the
last step).

  service="$service" — this registry's name at the token server. A token server may serve many
registries: the client passes this on, and the token comes back addressed to this service alone.

  scope="$scope" — what this request needs: type 'repository', name 'lab/base', actions 'pull'.
Starting an upload needs repository:lab/base:pull,push, a delete …:delete, the catalog
registry:catalog:*. GET /v2/ — the first thing docker login asks — carries no scope: it only
asks who you are.

The passwords gen-certs.sh made are in certs/alice.password and certs/bob.password; the commands
read them from there.
TEXT
vhttp alice GET /v2/
basic_status="$HTTP_STATUS"
basic_error="$(challenge_param error)"
explain <<'TEXT'
alice's password sent straight to /v2/: refused, error="invalid_request". This registry takes
tokens only; passwords go to the realm, nowhere else.
TEXT
check_eq no-token-401 "no token: 401" "$anon_status" 401
check with-www-authenticate-bearer-realm-servi "… with WWW-Authenticate: Bearer realm=…,service=…,scope=…" grep -q '^Bearer realm=' <<<"$anon_challenge"
check_eq realm-this-registry-s-auth-token "… realm: this registry's /auth/token" "$realm" "$TOK_URL/auth/token"
check_eq service "… service: $SERVICE" "$service" "$SERVICE"
check_eq scope-repository-lab-base-pull "… scope: repository:lab/base:pull" "$scope" repository:lab/base:pull
check_eq a-password-on-v2-401 "a password on /v2/: 401" "$basic_status" 401
check_eq invalid-request "… invalid_request" "$basic_error" invalid_request
pause

step "docker login and push: the token flow, done by docker"
explain <<'TEXT'
docker reads those challenges on its own. Log in as alice and push lab/base — then read in the
registry's log what docker asked for.
TEXT
mark="$(mark)"
variant_login alice "$LAB_TMP/login.txt"
login_rc="$TRY_RC"
show_variant_log "$mark" 'GET /v2/ →|/auth/token|token_issued'
login_logged=no
log_has 'GET /auth/token → 200' 'user=alice' && login_logged=yes
explain <<'TEXT'
docker asked GET /v2/, got 401 and the challenge, asked the realm for a token with alice's
password (GET /auth/token, Basic credentials), and repeated GET /v2/ with the token: 200, 'Login
Succeeded'. That token grants nothing (granted=""): GET /v2/ needs no scope. The token_issued
event and the GET /auth/token line share a request id. What docker saved in its config.json is
the password: this issuer hands out no refresh token, so docker asks for a new token, with the
password, for each pull or push.
TEXT
src="$REGISTRY/lab/base:1.0"
if docker image inspect "$src" >/dev/null 2>&1; then
	run_once "docker tag $src $TOK/lab/base:1.0"
else
	REGISTRY="$TOK" build_image base
fi
mark="$(mark)"
push_rc=0
try "$LAB_TMP/push.txt" docker push "$TOK/lab/base:1.0"
push_rc="$TRY_RC"
push_digest="$(last_digest "$LAB_TMP/push.txt")"
show_variant_log "$mark" 'GET /v2/ →|/auth/token|token_issued|PUT /v2/lab/base/manifests/'
push_granted=no
log_has 'event=token_issued' 'granted=.*repository:lab/base:(push,pull|pull,push)' && push_granted=yes
explain <<'TEXT'
The push began like the login: GET /v2/ and a 401, which names the realm. docker knows what a
push needs, so it asked the realm straight away for repository:lab/base with push and pull, and
sent every request of the push with that token — the manifest's PUT shows user=alice, read from
the token. The rest of this tutorial does by hand what docker just did.
TEXT
check_eq docker-login-as-alice-succeeded "docker login as alice succeeded" "$login_rc" 0
check_eq after-a-get-auth-token-as-alice-in-the-l "… after a GET /auth/token as alice (in the log)" "$login_logged" yes
check_eq alice-pushed-lab-base-1-0 "alice pushed $TOK/lab/base:1.0" "$push_rc" 0
check and-the-push-reported-a-digest "… and the push reported a digest" test -n "$push_digest"
check_eq with-a-token-granting-push-and-pull-on-l "… with a token granting push and pull on lab/base (token_issued)" "$push_granted" yes
pause

step "Ask the token server, as alice"
vhttp alice GET "/auth/token?service=$SERVICE&scope=repository:lab/base:pull,push" -o "$W/token.json"
token_status="$HTTP_STATUS"
explain <<TEXT
The body, kept in $W/token.json, holds the token twice — a JWT of some 600 characters; here each
is cut to its first 32:
TEXT
run "jq '.token |= .[0:32] + \"…\" | .access_token |= .[0:32] + \"…\"' $W/token.json"
token_expires_in="$(jq -r '.expires_in // empty' "$HTTP_BODY" 2>/dev/null || true)"
TOKEN="$(jq -r '.token // empty' "$HTTP_BODY" 2>/dev/null || true)"
explain <<TEXT
GET with Basic credentials and two query parameters: service (from the challenge) and scope
(what we want: pull and push on lab/base). The answer is JSON: 'token' (and the same as
'access_token', the name OAuth2 clients read), 'expires_in' in seconds — $token_expires_in, five
minutes — and 'issued_at'. A client keeps the token and sends it until it expires, then asks
again.
TEXT
explain "Keep the token in a file, for the next commands:"
run "jq -r .token $W/token.json > $W/token"
explain <<'TEXT'
The same request as an OAuth2 password grant — a POST with a form — is what containerd and the
tools built on it try first:
TEXT
run_once "curl -sS --cacert $CA -d grant_type=password -d username=alice --data-urlencode \"password=\$(cat certs/alice.password)\" -d service=$SERVICE -d scope=repository:lab/base:pull $TOK_URL/auth/token | jq '{access_token: (.access_token[0:32] + \"…\"), expires_in}'"
post_status=200
post_has_token=no
grep -q '"access_token": "ey' "$OUT" && post_has_token=yes
check_eq alice-s-token-request-200 "alice's token request: 200" "$token_status" 200
check a-token "… a token" test -n "$TOKEN"
check_eq for-300-seconds "… for 300 seconds" "$token_expires_in" 300
check_eq the-oauth2-password-grant-post-200 "the OAuth2 password grant (POST): 200" "$post_status" 200
check_eq with-an-access-token "… with an access_token" "$post_has_token" yes
pause

step "What is in a token: decode it"
explain <<'TEXT'
The token is a JWT (JSON Web Token): three base64url parts separated by dots — header, payload,
signature.
TEXT
run "tr . '\\n' < $W/token"
explain <<'TEXT'
base64url is base64 with '-' and '_' in place of '+' and '/', and without the '=' padding. jq
decodes it once the two characters are swapped back:
TEXT
run "$(decode_cmd 0 "$W/token")"
cp "$OUT" "$LAB_TMP/jwt-header.json"
jwt_alg="$(jq -r '.alg // empty' "$LAB_TMP/jwt-header.json" 2>/dev/null || true)"
jwt_kid="$(jq -r '.kid // empty' "$LAB_TMP/jwt-header.json" 2>/dev/null || true)"
explain "The header says how the token is signed:"
explain <<TEXT
  alg "$jwt_alg" — ECDSA on the P-256 curve with SHA-256: the algorithm of certs/token.key. The
registry accepts only asymmetric ones (RS, PS, ES, EdDSA): a token signed with a shared secret
(HS256) or with 'none' is refused before anything else.

  kid "$jwt_kid" — which key signed it: the key's RFC 7638 thumbprint, a hash of the public key. A
registry that trusts several keys — during a key rotation — picks the right one by kid.
TEXT
explain "  typ \"JWT\" — what this is."
run "$(decode_cmd 1 "$W/token")"
cp "$OUT" "$LAB_TMP/jwt-payload.json"
claim() { jq -r "$1 // empty" "$LAB_TMP/jwt-payload.json" 2>/dev/null || true; }
jwt_iss="$(claim .iss)" jwt_sub="$(claim .sub)" jwt_aud="$(claim '.aud | if type == "array" then join(",") else . end')"
jwt_exp="$(claim .exp)" jwt_iat="$(claim .iat)"
jwt_access="$(claim '.access | tojson')"
explain "The payload holds the claims:"
explain <<TEXT
  iss "$jwt_iss" — the issuer, who made the token. The registry accepts only its trusted issuer
(REGISTRY_AUTH_TOKEN_ISSUER).

  sub "$jwt_sub" — the subject, who the token is for; the registry's log names the user from it
(user=$jwt_sub).

  aud "$jwt_aud" — the audience: the service from the challenge. The registry accepts only tokens
addressed to its own service (REGISTRY_AUTH_TOKEN_SERVICE), so a token the same auth server made
for another registry is worth nothing here.

  exp $jwt_exp ($(jq -rn --argjson t "${jwt_exp:-0}" '$t | todate')) — the expiry; iat $jwt_iat
($(jq -rn --argjson t "${jwt_iat:-0}" '$t | todate')) — issued at: exp - iat =
$((${jwt_exp:-0} - ${jwt_iat:-0})) s. After exp the registry refuses it (allowing one minute of
clock difference between the two servers). nbf (not before) and jti (a unique id) complete the
standard claims.

  access $jwt_access — the Docker token protocol's own claim: what the token grants, as a list of
type, name and actions. The registry lets a request through when one entry covers every action
it needs. alice asked for pull and push on lab/base and may have both (REGISTRY_AUTH_RULES:
alice=push:lab/*,pull:*).

Anyone who holds a token can read it: it is signed, not encrypted. And anyone who holds it can
use it until it expires — hence 'bearer': keep tokens as secret as passwords; their short life
limits the harm.
TEXT
check_eq the-header-alg-es256 "the header: alg ES256" "$jwt_alg" ES256
check a-kid "… a kid" test -n "$jwt_kid"
check_eq the-payload-iss-layerlab "the payload: iss layerlab" "$jwt_iss" layerlab
check_eq sub-alice "… sub alice" "$jwt_sub" alice
check_eq aud-layerlab "… aud layerlab" "$jwt_aud" layerlab
check_eq exp-300-s-after-iat "… exp 300 s after iat" "$((${jwt_exp:-0} - ${jwt_iat:-0}))" 300
check_eq access-pull-and-push-on-lab-base "… access: pull and push on lab/base" "$jwt_access" '[{"actions":["pull","push"],"name":"lab/base","type":"repository"}]'
pause

step "The signature: why nobody can change a token"
fresh alice repository:lab/base:pull,push
explain <<'TEXT'
The third part is an ECDSA signature over 'header.payload'. The registry checks it with the
public half of the signing key; openssl can do the same. JWS writes the signature as the two
numbers r and s side by side (64 bytes), openssl wants them in DER: asn1parse repacks them.
TEXT
run "openssl pkey -in certs/token.key -pubout -out $W/token.pub"
run "jq -Rr 'split(\".\")[2] | gsub(\"-\"; \"+\") | gsub(\"_\"; \"/\") | . + (\"=\" * ((4 - length % 4) % 4))' $W/token | base64 -d | od -An -v -tx1 | tr -d ' \\n' > $W/sig.hex"
run "printf 'asn1=SEQUENCE:sig\\n[sig]\\nr=INTEGER:0x%s\\ns=INTEGER:0x%s\\n' \$(cut -c1-64 $W/sig.hex) \$(cut -c65-128 $W/sig.hex) > $W/sig.cnf"
run "openssl asn1parse -genconf $W/sig.cnf -out $W/sig.der -noout"
run "cut -d. -f1,2 $W/token | tr -d '\\n' | openssl dgst -sha256 -verify $W/token.pub -signature $W/sig.der"
verify_good="$(cat "$OUT")"
explain <<'TEXT'
Now forge one: decode the payload, make it grant pull on lab/app instead, encode it again, keep
the header and the old signature.
TEXT
run "echo \$(cut -d. -f1 $W/token).\$($(decode_cmd 1 "$W/token") -c | jq -c '.access[0].name = \"lab/app\"' | base64 -w0 | tr -d '=' | tr '/+' '_-').\$(cut -d. -f3 $W/token) > $W/forged"
run "cut -d. -f1,2 $W/forged | tr -d '\\n' | openssl dgst -sha256 -verify $W/token.pub -signature $W/sig.der"
verify_forged="$(cat "$OUT")"
vhttp "@$W/forged" GET /v2/lab/app/tags/list
forged_status="$HTTP_STATUS"
forged_error="$(challenge_param error)"
explain <<'TEXT'
Change the payload, however little, and the signature no longer matches: 401 with
error="invalid_token", the reason in the body and in the log. Only the holder of the private key
can make tokens this registry accepts.
TEXT
check_eq openssl-verifies-the-signature-with-the "openssl verifies the signature with the public key" "$verify_good" "Verified OK"
check_eq and-not-the-forged-token-s "… and not the forged token's" "$verify_forged" "Verification failure"
check_eq the-forged-token-401 "the forged token: 401" "$forged_status" 401
check_eq invalid-token "… invalid_token" "$forged_error" invalid_token
pause

step "The token at work"
fresh alice repository:lab/base:pull,push
vhttp "@$W/token" GET /v2/lab/base/tags/list
use_status="$HTTP_STATUS"
use_tags="$(jq -r '.tags // [] | join(",")' "$HTTP_BODY" 2>/dev/null || true)"
explain <<'TEXT'
Authorization: Bearer and the token: 200, the tag docker pushed. The registry read no password
and looked up no user — it checked the signature, iss, aud, exp, and that 'access' covers
repository:lab/base:pull.
TEXT
check_eq the-token-on-lab-base-200 "the token on lab/base: 200" "$use_status" 200
check lists-the-pushed-tag-1-0 "… lists the pushed tag 1.0" grep -qw 1.0 <<<"$use_tags"
pause

step "Another repository: 401 insufficient_scope"
vhttp "@$W/token" GET /v2/lab/app/tags/list
other_status="$HTTP_STATUS"
other_challenge="$(hdr WWW-Authenticate)"
other_error="$(challenge_param error)"
other_scope="$(challenge_param scope)"
explain <<TEXT
A valid token, for lab/base only: 401 again, now with error="insufficient_scope" and the scope
this request needs ($other_scope). The token is fine; it just does not cover this. A client
reacts by asking the realm again, for the scope in the challenge — usually together with what it
already had, in one request (the scope parameter may be repeated):
TEXT
run_once "curl -s --cacert $CA -u \"alice:\$(cat certs/alice.password)\" '$TOK_URL/auth/token?service=$SERVICE&scope=repository:lab/base:pull,push&scope=repository:lab/app:pull' | jq -r .token > $W/token2"
run "$(decode_cmd 1 "$W/token2") | jq -c .access"
vhttp "@$W/token2" GET /v2/lab/app/tags/list
retry_status="$HTTP_STATUS"
if [[ "$retry_status" == 404 ]]; then
	explain <<'TEXT'
The new token got through: 404 NAME_UNKNOWN is the registry talking about the repository —
nobody pushed lab/app to this registry — no longer about you.
TEXT
else
	explain <<TEXT
The new token got through: $retry_status, the registry talks about the repository, no longer
about you.
TEXT
fi
explain <<'TEXT'
docker does exactly this: when a push mounts layers from lab/base into lab/app, it asks for
'repository:lab/app:push,pull repository:lab/base:pull' at once.
TEXT
check_eq the-token-on-lab-app-401 "the token on lab/app: 401" "$other_status" 401
check_eq insufficient-scope "… insufficient_scope" "$other_error" insufficient_scope
check_eq naming-the-scope-needed "… naming the scope needed" "$other_scope" repository:lab/app:pull
check in-the-challenge "… in the challenge" grep -q 'error="insufficient_scope"' <<<"$other_challenge"
check a-token-for-both-scopes-gets-past-the-ch "a token for both scopes gets past the check on lab/app" test "$retry_status" != 401
pause

step "bob asks for push: he gets pull only"
vhttp bob GET "/auth/token?service=$SERVICE&scope=repository:lab/base:pull,push" -o "$W/bob-token.json"
bob_token_status="$HTTP_STATUS"
run "jq -r .token $W/bob-token.json > $W/bob-token"
run "$(decode_cmd 1 "$W/bob-token") | jq -c .access"
bob_access="$(cat "$OUT")"
explain <<'TEXT'
The token server does not refuse: it grants the part of the scope the rules allow (bob=pull:*)
and leaves out the rest. 200, and a token for pull alone.
TEXT
vhttp "@$W/bob-token" POST /v2/lab/base/blobs/uploads/
bob_push_status="$HTTP_STATUS"
bob_push_error="$(challenge_param error)"
explain <<'TEXT'
His push starts with this POST, which needs pull and push: 401 insufficient_scope. Asking again
will not help — the token server would grant pull only once more — so a client gives up here;
docker says 'denied'. With Basic authentication (tutorial 11) bob's POST got 403 DENIED; with
tokens the registry cannot know whether a better token exists, so it answers 401 and lets the
token server decide.
TEXT
check_eq bob-s-request-for-pull-push-200 "bob's request for pull,push: 200" "$bob_token_status" 200
check_eq a-token-granting-pull-only "… a token granting pull only" "$bob_access" '[{"actions":["pull"],"name":"lab/base","type":"repository"}]'
check_eq bob-starting-a-push-with-it-401 "bob starting a push with it: 401" "$bob_push_status" 401
check_eq insufficient-scope-2 "… insufficient_scope" "$bob_push_error" insufficient_scope
pause

step "docker pull, and bob with docker"
docker logout "$TOK" >/dev/null 2>&1 || true
variant_login bob "$LAB_TMP/bob-login.txt"
bob_login_rc="$TRY_RC"
run_once "docker rmi $TOK/lab/base:1.0"
mark="$(mark)"
pull_rc=0
try "$LAB_TMP/pull.txt" docker pull "$TOK/lab/base:1.0"
pull_rc="$TRY_RC"
pull_digest="$(last_digest "$LAB_TMP/pull.txt")"
show_variant_log "$mark" 'token_issued|GET /v2/lab/base/manifests/'
bob_pull_granted=no
log_has 'token issued to bob' 'granted=repository:lab/base:pull' && bob_pull_granted=yes
explain <<'TEXT'
One token, granted=repository:lab/base:pull, for the whole pull, and the digest of alice's push.
user=bob on the manifest's GET comes from the token's sub.
TEXT
run_once "docker tag $TOK/lab/base:1.0 $TOK/lab/bob:1.0"
mark="$(mark)"
try "$LAB_TMP/bob-push.txt" docker push "$TOK/lab/bob:1.0"
bob_docker_push_rc="$TRY_RC"
show_variant_log "$mark" 'token_issued|→ 401' 6
bob_push_logged=no
log_has 'POST /v2/lab/bob/blobs/uploads/ → 401' 'does not grant' && bob_push_logged=yes
explain <<'TEXT'
The push: docker asked for push and pull on lab/bob, and pull on lab/base to mount the layers
from there; the token server granted the pulls only. Every upload's POST got 401
insufficient_scope — the reason is in the log — docker asked again a few times, got the same,
and said 'denied'.
TEXT
check_eq docker-login-as-bob-succeeded "docker login as bob succeeded" "$bob_login_rc" 0
check_eq bob-pulled-lab-base-1-0 "bob pulled $TOK/lab/base:1.0" "$pull_rc" 0
check_eq with-the-digest-of-the-push "… with the digest of the push" "$pull_digest" "$push_digest"
check_eq through-a-token-granting-pull-token-issu "… through a token granting pull (token_issued)" "$bob_pull_granted" yes
check bob-s-docker-push-was-refused "bob's docker push was refused" test "$bob_docker_push_rc" -ne 0
check and-docker-said-denied "… and docker said 'denied'" grep -qi denied "$LAB_TMP/bob-push.txt"
check_eq the-registry-logged-the-401-with-the-rea "… the registry logged the 401 with the reason" "$bob_push_logged" yes
pause

step "docker logout: an anonymous token grants nothing"
try "$LAB_TMP/logout.txt" docker logout "$TOK"
mark="$(mark)"
try "$LAB_TMP/anon-pull.txt" docker pull "$TOK/lab/base:1.0"
anon_pull_rc="$TRY_RC"
show_variant_log "$mark" 'token_issued|→ 401'
anon_variant_logged=no
log_has 'token issued to an anonymous client' 'granted=""' && anon_variant_logged=yes
explain <<'TEXT'
Without credentials docker still asks the realm — anonymously — and gets a token that grants
nothing (granted=""): this registry allows no anonymous pull
(REGISTRY_AUTH_ANONYMOUS_PULL=false; with it on, anonymous tokens would carry pull). With that
token the manifest request gets 401, and docker reports 'pull access denied … may require docker
login'.
TEXT
if [[ "$STARTED" == yes ]]; then
	note "This tutorial started the token variant and leaves it running. Stop it and delete what it stored with: $UP_CMD down -v"
fi
check docker-logout-removed-the-credentials "docker logout removed the credentials" bash -c "! jq -e --arg h '$TOK' '.auths[\$h]' '${DOCKER_CONFIG:-$HOME/.docker}/config.json'"
check without-login-docker-pull-is-refused "without login, docker pull is refused" test "$anon_pull_rc" -ne 0
check_eq its-anonymous-token-granted-nothing-toke "… its anonymous token granted nothing (token_issued)" "$anon_variant_logged" yes
pause

step "Your own auth server instead"
explain <<'TEXT'
A team with an auth server — docker_auth, GitLab, Harbor, or a service of its own backed by LDAP
or single sign-on — lets that server issue the tokens and the registry only check them. Four
settings, and no signing key, htpasswd or rules on the registry (the auth server decides who
gets what):
TEXT
show <<EOF
services:
  registry:
    environment:
      REGISTRY_AUTH_TOKEN_REALM: https://auth.example.com/token        # sent in the challenge: where clients log in
      REGISTRY_AUTH_TOKEN_SERVICE: registry.example.com                # the aud tokens must carry
      REGISTRY_AUTH_TOKEN_ISSUER: auth.example.com                     # the iss tokens must carry
      REGISTRY_AUTH_TOKEN_KEYS: https://auth.example.com/jwks.json     # or a PEM file: /certs/auth.pem
EOF
explain <<TEXT
  REGISTRY_AUTH_TOKEN_REALM — the challenge names it instead of /auth/token. Clients (the docker
engine on every machine that pulls) must reach it by a name its certificate holds. crane refuses
a realm on a private IP address other than the registry's own: use a host name.

  REGISTRY_AUTH_TOKEN_SERVICE and _ISSUER — what the auth server writes in aud and iss; both
default to 'layerlab', the values you decoded above.

  REGISTRY_AUTH_TOKEN_KEYS — the public keys that sign tokens, never a private one: a PEM file of
certificates and public keys, a JWKS file, or a JWKS URL. A token's kid is matched against JWKS
key ids, RFC 7638 thumbprints and the libtrust key ids docker's auth servers use; an x5c chain
in the header must end in one of the PEM certificates. A kid the registry does not know makes it
read the file or URL again (at most every 30 s), so the auth server can rotate keys.

The public half of this lab's key is such a PEM; a second registry given it in
REGISTRY_AUTH_TOKEN_KEYS (and REGISTRY_AUTH_TOKEN_REALM=$TOK_URL/auth/token) would accept this
registry's tokens:
TEXT
run "openssl pkey -in certs/token.key -pubout"
image="$(docker inspect --format '{{.Config.Image}}' "$(variant_container)" 2>/dev/null || echo "layerlab/registry:${LAYERLAB_VERSION:-dev}")"
run "docker run --rm --network none $image serve --help 2>&1 | grep -A1 -- -auth-token"
note "The two servers' clocks must agree within a minute (exp, nbf). Keep the lifetime short (minutes): a token cannot be revoked, it can only expire."
pause
finish
