#!/usr/bin/env bash
# 11 — The lab over HTTPS with a login: what goes wrong when a client speaks
# HTTPS to a plain-HTTP registry; then the secure variant (TLS from a CA of
# our own, Basic authentication, access rules) with curl, and docker login,
# push, pull, logout.
#
# Needs the plain lab, like every tutorial, and the secure variant beside it:
# compose.yaml + compose.secure.yaml under a project of its own
# (LAB_SECURE_PROJECT, default layerlab-secure), on 127.0.0.1:${LAB_TLS_PORT:-5443}.
# When that does not answer yet, this tutorial creates certs/
# (scripts/gen-certs.sh) and starts it — and leaves it running. Stop it with:
#
#   LAB_PORT=5443 docker compose (or docker-compose) -p layerlab-secure -f compose.yaml -f compose.secure.yaml down -v
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker openssl base64
cd "$LAB_ROOT" # the commands shown name certs/… relative to the repository

LAB_TLS_PORT="${LAB_TLS_PORT:-5443}"
LAB_SECURE_PROJECT="${LAB_SECURE_PROJECT:-layerlab-secure}"
VARIANT_PORT="$LAB_TLS_PORT" VARIANT_PROJECT="$LAB_SECURE_PROJECT"
VARIANT_FILES=(compose.secure.yaml)
# shellcheck source=scripts/variant.sh disable=SC1091
. "$LAB_ROOT/scripts/variant.sh"
SECURE="$VARIANT_ADDR"
SECURE_URL="$VARIANT_URL"
DOCKER_CONFIG_FILE="${DOCKER_CONFIG:-$HOME/.docker}/config.json"

# Whatever happens, docker does not stay logged in to the secure lab.
on_exit "docker logout '$SECURE' >/dev/null 2>&1"

# secure_answers: the secure registry answers /v2/ with 401 over verified TLS.
secure_answers() {
	[[ -r "$CA" && "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CA" "$SECURE_URL/v2/" 2>/dev/null)" == 401 ]]
}
title "11 · the lab over HTTPS, with a login"
explain <<'TEXT'
The lab so far: plain HTTP, no login, on 127.0.0.1 only — fine on your own machine, nowhere
else. Anywhere else a registry needs TLS (so that nobody can read or change what travels,
passwords included) and authentication (so that not everybody can push). First the mistake
everyone makes once, then the lab's secure variant: a certificate from a CA of our own, two
users with different rights, curl and docker against it.
TEXT
pause

step "The mistake: HTTPS to a registry that speaks plain HTTP"
try "$LAB_TMP/mistake.txt" curl -sS --max-time 5 "https://$REGISTRY/v2/"
mistake_rc="$TRY_RC"
explain <<TEXT
curl exit code $mistake_rc. curl opened a TLS connection and sent its greeting (a ClientHello);
the lab registry read that as a broken HTTP request and answered in plain HTTP ('HTTP/1.1 400
Bad Request'), bytes that are not a TLS record: 'wrong version number' is how OpenSSL says it.
TEXT
explain "Docker hits the same wall from the other side and says:"
explain "    http: server gave HTTP response to HTTPS client"
explain <<TEXT
Docker accepts plain HTTP only from registries on 127.0.0.0/8 and those you declared insecure;
with any other it insists on HTTPS — which is why the lab works on 127.0.0.1:${LAB_PORT:-5000}
and breaks as soon as you use the machine's name or IP. Two fixes:

  1. give the registry TLS, with a certificate from a CA docker trusts: copy the CA's certificate
to /etc/docker/certs.d/HOST:PORT/ca.crt on every machine that pulls (read at each connection, no
restart) — what the rest of this tutorial does;

  2. or declare it insecure, in /etc/docker/daemon.json: { "insecure-registries": ["myhost:5000"]
}, then restart the engine. Docker then accepts plain HTTP (and certificates it cannot verify)
from it: no encryption, passwords in clear on the wire. For a lab, not more.
TEXT
check curl-https-to-the-plain-http-lab-fails-e "curl https:// to the plain-HTTP lab fails (exit $mistake_rc)" test "$mistake_rc" -ne 0
check with-a-tls-error "… with a TLS error" grep -qiE 'wrong version number|ssl|tls' "$LAB_TMP/mistake.txt"
pause

step "Start the secure variant"
explain <<TEXT
compose.secure.yaml is an override of compose.yaml: same image, with TLS on (certificate and key
mounted read-only from certs/), users from an htpasswd file, access rules, and no anonymous
pulls. It publishes no port of its own — compose appends 'ports' lists, so it would publish the
plain lab's port as well — it runs under its own project with LAB_PORT=$LAB_TLS_PORT, next to
the plain lab.
TEXT
run "grep -E '^ +(REGISTRY_[A-Z_]+:|- \./certs/)' compose.secure.yaml"
start_variant secure_answers "the certificates and users"
note "Its healthcheck, 'registry healthcheck', sees REGISTRY_TLS_CERT and asks /readyz over HTTPS on the loopback, without checking the certificate: it only asks whether its own process is ready."
check the-secure-registry-answers-at "the secure registry answers at $SECURE_URL" secure_answers
pause

step "The certificate, and who vouches for it"
run "openssl x509 -in certs/server.crt -noout -subject -issuer -enddate"
run "openssl x509 -in certs/server.crt -noout -text | grep -A1 'Subject Alternative Name'"
run "openssl verify -CAfile $CA certs/server.crt"
verify_ok=no
((RC != 0)) || verify_ok=yes
explain <<'TEXT'
A client accepts the certificate when a CA it trusts signed it and it names the address the
client dialled: localhost, registry (the compose service, for containers on the lab's network),
127.0.0.1 — more with CERT_EXTRA_SANS=myhost,192.168.1.20 bash scripts/gen-certs.sh.
TEXT
try "$LAB_TMP/untrusted.txt" curl -sS --max-time 5 "$SECURE_URL/v2/"
untrusted_rc="$TRY_RC"
explain <<TEXT
Without the CA, curl refuses (exit code $untrusted_rc): its system store has never heard of our
lab CA. --cacert $CA is the fix for curl; /etc/docker/certs.d/ is docker's.
TEXT
try "$LAB_TMP/plain.txt" curl -sS --max-time 5 "http://$SECURE/v2/"
plain_body="$(cat "$LAB_TMP/plain.txt")"
explain <<'TEXT'
And the mistake in the other direction: plain HTTP to the TLS port. Go's server recognises it
and answers 400 in plain HTTP.
TEXT
check_eq its-certificate-is-signed-by-certs-ca-cr "its certificate is signed by certs/ca.crt" "$verify_ok" yes
check_eq curl-without-the-ca-refuses-the-certific "curl without the CA refuses the certificate (exit 60)" "$untrusted_rc" 60
check plain-http-to-the-tls-port-gets-a-plain "plain HTTP to the TLS port gets a plain answer" grep -q 'HTTP request to an HTTPS server' <<<"$plain_body"
pause

step "No credentials: 401 and a Basic challenge"
mark="$(log_mark)"
vhttp "" GET /v2/
anon_status="$HTTP_STATUS"
anon_challenge="$(hdr WWW-Authenticate)"
anon_code="$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)"
explain <<'TEXT'
401 Unauthorized means 'who are you?'. WWW-Authenticate says how to answer: Basic, in the realm
"layerlab". docker, crane and skopeo read that header, send the credentials they hold for this
host, and repeat the request; curl sends them when given -u. The body is the usual OCI error:
UNAUTHORIZED. Anonymous pulls are off too, so every read asks the same.
TEXT
check_eq no-credentials-401 "no credentials: 401" "$anon_status" 401
check with-the-challenge-www-authenticate-basi "… with the challenge WWW-Authenticate: Basic realm=\"layerlab\"" grep -q '^Basic realm="layerlab"' <<<"$anon_challenge"
check_eq and-the-error-code-unauthorized "… and the error code UNAUTHORIZED" "$anon_code" UNAUTHORIZED
pause

step "As alice: 200"
explain <<'TEXT'
The passwords gen-certs.sh made are in certs/alice.password and certs/bob.password; the commands
read them from there.
TEXT
vhttp alice GET /v2/
alice_status="$HTTP_STATUS"
explain <<'TEXT'
Basic authentication is the user name and password, base64-encoded, in an Authorization header
on every request ('Authorization: Basic' and this). base64 is an encoding, not encryption:
TEXT
run "printf 'alice:%s' \"\$(cat certs/alice.password)\" | base64"
explain <<'TEXT'
Anyone who can read the traffic can decode that. TLS is what keeps it secret — never Basic auth
over plain HTTP beyond 127.0.0.1.
TEXT
vhttp "" GET /v2/ -u alice:not-the-password
wrong_status="$HTTP_STATUS"
explain <<'TEXT'
A wrong password: 401 again. The registry compares in constant time, logs the attempt with the
user name and address only, and after 10 failures in a minute from one address answers 429.
TEXT
check_eq alice-with-her-password-200 "alice with her password: 200" "$alice_status" 200
check_eq a-wrong-password-401 "a wrong password: 401" "$wrong_status" 401
pause

step "bob may pull, not push: 403 DENIED"
vhttp bob POST /v2/lab/bob/blobs/uploads/
bob_status="$HTTP_STATUS"
bob_code="$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)"
explain <<'TEXT'
403 Forbidden is not 401: the registry knows who bob is, and bob may not do this. The rules come
from REGISTRY_AUTH_RULES: 'alice=push:lab/*,pull:*;bob=pull:*' — alice pushes to lab/… and pulls
everything, bob only pulls.
TEXT
show_variant_log "$mark" '→ 40[13]'
note "Each access line names the user (user=bob); a refusal carries its reason in error_detail. Passwords and Authorization headers are never written."
check_eq bob-starting-a-push-403 "bob starting a push: 403" "$bob_status" 403
check_eq denied "… DENIED" "$bob_code" DENIED
pause

step "docker and 127.0.0.1: HTTPS without verification"
explain <<TEXT
Docker treats 127.0.0.0/8 as an insecure registry: it tries HTTPS first, without verifying the
certificate, and falls back to plain HTTP when TLS fails. So docker login to $SECURE works with
no setup — encrypted, but docker does not check who answers. Under any other name docker
verifies, and you give it the CA (not needed for this tutorial):
TEXT
show <<TEXT
sudo mkdir -p /etc/docker/certs.d/myhost:$LAB_TLS_PORT
sudo cp certs/ca.crt /etc/docker/certs.d/myhost:$LAB_TLS_PORT/ca.crt
TEXT
explain <<'TEXT'
with 'myhost' in the certificate (CERT_EXTRA_SANS=myhost) and the port published beyond
127.0.0.1. On Docker Desktop, add the CA to the system's trust store (macOS keychain, Windows
certificate store) and restart Docker Desktop.
TEXT
pause

step "docker login, as alice"
variant_login alice "$LAB_TMP/login.txt"
login_rc="$TRY_RC"
explain <<'TEXT'
--password-stdin keeps the password out of the shell history and out of 'ps'. docker checked it
against /v2/ (401, then 200 with the credentials) and saved it:
TEXT
run_once "jq '.auths | keys' $DOCKER_CONFIG_FILE"
explain <<'TEXT'
Without a credential helper (credsStore in that file: osxkeychain, pass, secretservice,
desktop), that is the password, base64-encoded, in a file — docker's WARNING above says so.
TEXT
check_eq docker-login-as-alice-succeeded "docker login as alice succeeded" "$login_rc" 0
check login-succeeded "… 'Login Succeeded'" grep -q 'Login Succeeded' "$LAB_TMP/login.txt"
pause

step "Push a lab image to the secure registry"
src="$REGISTRY/lab/base:1.0"
if docker image inspect "$src" >/dev/null 2>&1; then
	run_once "docker tag $src $SECURE/lab/base:1.0"
	explain "The registry is part of an image's name: the same image, a second name."
else
	REGISTRY="$SECURE" build_image base
fi
mark="$(log_mark)"
push_rc=0
try "$LAB_TMP/push.txt" docker push "$SECURE/lab/base:1.0"
push_rc="$TRY_RC"
push_digest="$(last_digest "$LAB_TMP/push.txt")"
pushed="$(grep -c ': Pushed' "$LAB_TMP/push.txt" || true)"
if ((pushed > 0)); then
	explain <<TEXT
$pushed layer(s) went up ('Pushed'): this registry has its own storage, separate from the plain
lab's. Each request of the push carried alice's credentials.
TEXT
else
	explain <<'TEXT'
'Layer already exists' for every layer: an earlier run of this tutorial pushed them to this
registry (its own storage, separate from the plain lab's). Each request of the push carried
alice's credentials.
TEXT
fi
show_variant_log "$mark" 'PUT /v2/lab/base/manifests/'
check_eq alice-pushed-lab-base-1-0 "alice pushed $SECURE/lab/base:1.0" "$push_rc" 0
check and-the-push-reported-a-digest "… and the push reported a digest" test -n "$push_digest"
pause

step "Pull it back"
run_once "docker rmi $SECURE/lab/base:1.0"
pull_rc=0
try "$LAB_TMP/pull.txt" docker pull "$SECURE/lab/base:1.0"
pull_rc="$TRY_RC"
pull_digest="$(last_digest "$LAB_TMP/pull.txt")"
complete="$(grep -c ': Pull complete' "$LAB_TMP/pull.txt" || true)" existing="$(grep -c ': Already exists' "$LAB_TMP/pull.txt" || true)"
if ((complete + existing == 0)); then
	explain <<'TEXT'
The manifest came back with the digest the push reported, and no line per layer: docker still
holds every layer of this image (the same image is on this machine under its 127.0.0.1:5000
name), so it fetched only the manifest — with alice's credentials — checked the digest and
tagged the image.
TEXT
else
	explain <<TEXT
The manifest came back with the digest the push reported; $complete layer(s) were downloaded
('Pull complete') and $existing were already here ('Already exists'), each request with alice's
credentials.
TEXT
fi
check_eq the-image-was-pulled-back "the image was pulled back" "$pull_rc" 0
check_eq with-the-digest-of-the-push "… with the digest of the push" "$pull_digest" "$push_digest"
pause

step "bob with docker: pull yes, push no"
docker logout "$SECURE" >/dev/null 2>&1 || true
variant_login bob "$LAB_TMP/bob-login.txt"
bob_login_rc="$TRY_RC"
bob_pull_rc=0
try "$LAB_TMP/bob-pull.txt" docker pull "$SECURE/lab/base:1.0"
bob_pull_rc="$TRY_RC"
run_once "docker tag $SECURE/lab/base:1.0 $SECURE/lab/bob:1.0"
try "$LAB_TMP/bob-push.txt" docker push "$SECURE/lab/bob:1.0"
bob_push_rc="$TRY_RC"
explain <<'TEXT'
docker shows the registry's refusal: 'denied: requested access to the resource is denied' — the
403 DENIED of the curl step, as docker words it.
TEXT
check_eq bob-logged-in "bob logged in" "$bob_login_rc" 0
check_eq bob-pulled "bob pulled" "$bob_pull_rc" 0
check bob-s-push-was-denied "bob's push was denied" test "$bob_push_rc" -ne 0
check and-docker-said-denied "… and docker said 'denied'" grep -qi 'denied' "$LAB_TMP/bob-push.txt"
pause

step "A wrong password: docker login refuses"
run_once "echo not-the-password | docker login -u alice --password-stdin $SECURE"
wrong_login_rc="$RC"
cp "$OUT" "$LAB_TMP/wrong-login.txt"
explain <<'TEXT'
docker login checks the credentials before saving anything: 401 Unauthorized, nothing stored.
TEXT
check docker-login-with-a-wrong-password-was-r "docker login with a wrong password was refused" test "$wrong_login_rc" -ne 0
check 401-unauthorized "… 401 Unauthorized" grep -qiE '401|unauthorized' "$LAB_TMP/wrong-login.txt"
pause

step "docker logout: and no anonymous pull"
try "$LAB_TMP/logout.txt" docker logout "$SECURE"
mark="$(log_mark)"
try "$LAB_TMP/anon-pull.txt" docker pull "$SECURE/lab/base:1.0"
anon_pull_rc="$TRY_RC"
explain <<TEXT
Logged out, docker has no credentials for $SECURE to answer the challenge with, and this
registry lets nobody pull anonymously (REGISTRY_AUTH_ANONYMOUS_PULL=false). docker's first
request, GET /v2/, got 401, and it had nothing to answer with. Its message hides that: for a
registry it counts as insecure (127.0.0.0/8), docker takes a failure over HTTPS as a reason to
try plain HTTP, and reports that last answer, Go's 400 'Client sent an HTTP request to an HTTPS
server'. The registry's log tells what happened:
TEXT
show_variant_log "$mark" 'GET /v2/ → 401|HTTP request to an HTTPS'
anon_pull_logged=no
log_has 'GET /v2/ → 401' && anon_pull_logged=yes
if [[ "$STARTED" == yes ]]; then
	note "This tutorial started the secure variant and leaves it running. Stop it and delete what it stored with: $UP_CMD down -v"
fi
check docker-logout-removed-the-credentials "docker logout removed the credentials" bash -c "! jq -e --arg h '$SECURE' '.auths[\$h]' '$DOCKER_CONFIG_FILE'"
check without-login-docker-pull-is-refused-no "without login, docker pull is refused (no anonymous pull)" test "$anon_pull_rc" -ne 0
check_eq the-registry-answered-its-get-v2-with-40 "… the registry answered its GET /v2/ with 401" "$anon_pull_logged" yes
finish
