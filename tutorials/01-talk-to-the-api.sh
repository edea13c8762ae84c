#!/usr/bin/env bash
# 01 — Talk to the registry's HTTP API: the /v2/ endpoint, its headers, and
# what an error looks like.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry

title "01 · talk to the API"
explain <<'TEXT'
A registry is a web server. Every client — docker, podman, crane, skopeo — speaks the same HTTP
API, the OCI Distribution Specification, under the path /v2/. Here we use curl to see it raw:
each command is printed as you would type it (from the repository's directory), then what curl
printed — with -i, the status line and the response headers first, then the body.
TEXT
pause

step "Is this a registry? GET /v2/"
mark="$(log_mark)"
http GET /v2/
v2_id="$(hdr X-Request-Id)"
check v2-200 "GET /v2/ answers 200" test "$HTTP_STATUS" = 200
check_eq v2-api-version "the API version header says registry/2.0" "$(hdr Docker-Distribution-Api-Version)" "registry/2.0"
check v2-request-id "every response carries a request id" test -n "$v2_id"
explain <<'TEXT'
200 means: a registry that asks for no login (401 would mean 'authenticate first', with a
WWW-Authenticate header saying where). Clients send this request before anything else.
Docker-Distribution-Api-Version: registry/2.0 is how older clients recognize a registry.
X-Request-Id names this request in the registry's log.
TEXT
note "In the log: one access line per request, 'GET /v2/ → 200', with the request id in [brackets] — the X-Request-Id above."
show_log_since "$mark" 'GET /v2/ '
pause

step "Ask for something that does not exist"
explain <<'TEXT'
Manifests are asked for with an Accept header listing the kinds the client understands (tutorial
05 says more about them):
TEXT
http GET /v2/lab/nothing-here/manifests/latest -H "Accept: $ACCEPT_MANIFESTS"
missing_status="$HTTP_STATUS"
missing_code="$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)"
check_eq unknown-404 "an unknown repository answers 404" "$missing_status" 404
check unknown-code "the error body carries an OCI code (NAME_UNKNOWN or MANIFEST_UNKNOWN)" test "$missing_code" = NAME_UNKNOWN -o "$missing_code" = MANIFEST_UNKNOWN
explain <<TEXT
Errors are JSON: a list of {code, message, detail}. Programs look at the code, which the spec
fixes (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, DIGEST_INVALID, ...); people read the
detail. Here: $missing_code.
TEXT
pause

step "A malformed digest"
http GET /v2/lab/base/blobs/sha256:not-a-digest
check_eq bad-digest-400 "a malformed digest answers 400" "$HTTP_STATUS" 400
check_eq bad-digest-code "its code is DIGEST_INVALID" "$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)" DIGEST_INVALID
explain <<'TEXT'
A digest is algorithm:hex — sha256: followed by 64 hex characters, the hash of the content.
Anything else is refused before the registry looks at its storage.
TEXT
pause

step "A repository name the spec does not allow"
http GET /v2/Lab/UPPER/tags/list
check bad-name "an invalid repository name is refused (400 or 404)" test "$HTTP_STATUS" = 400 -o "$HTTP_STATUS" = 404
explain <<'TEXT'
Repository names are lowercase components ([a-z0-9]+ joined by . _ __ or -) separated by
slashes: lab/base is fine, Lab/UPPER is not.
TEXT
pause

step "HEAD: the same question without the body"
http HEAD /v2/lab/nothing-here/manifests/latest -H "Accept: $ACCEPT_MANIFESTS"
check_eq head-like-get "HEAD answers like GET" "$HTTP_STATUS" "$missing_status"
explain "Clients use HEAD to ask 'do you have this?' cheaply: the same status and headers as GET, no body."
pause

step "The operator's endpoints: liveness, readiness, metrics"
http GET /healthz
check_eq healthz "/healthz answers 200" "$HTTP_STATUS" 200
http GET /readyz
check_eq readyz "/readyz answers 200" "$HTTP_STATUS" 200
run_once "curl -s $REGISTRY_URL/metrics | grep -E '^registry_(blobs|bytes|repositories)'"
explain <<'TEXT'
These are not part of the OCI API. /healthz says the process runs; /readyz that it can serve (its
storage is usable — the container's healthcheck, 'registry healthcheck', asks it every 10 s; the
log stays quiet about those probes unless one fails, or REGISTRY_LOG_LEVEL=trace asks for them);
/metrics is for Prometheus. Its counters move with every request, so what you see differs from
the above.
TEXT
note "Find any request in the log by its id: $COMPOSE_CMD logs registry | grep $v2_id"
finish
