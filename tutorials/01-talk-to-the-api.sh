#!/usr/bin/env bash
# 01 — Talk to the registry's HTTP API: the /v2/ endpoint, its headers, and
# what an error looks like.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry

title "01 · talk to the API"
explain "A registry is a web server. Every client — docker, podman, crane, skopeo — speaks the same HTTP API, the OCI Distribution Specification, under the path /v2/. Here we use curl to see it raw: the command, the request line (>), the response status and the headers that matter (<), then the body."
pause

step "Is this a registry? GET /v2/"
mark="$(log_mark)"
http GET /v2/
v2_status="$HTTP_STATUS"
v2_api="$(hdr Docker-Distribution-Api-Version)"
v2_id="$(hdr X-Request-Id)"
explain "200 means: a registry that asks for no login (401 would mean 'authenticate first', with a WWW-Authenticate header saying where). Clients send this request before anything else. Docker-Distribution-Api-Version: registry/2.0 is how older clients recognize a registry."
note "In the log: one access line per request, 'GET /v2/ → 200', with the request id in [brackets]. The same id is the X-Request-Id response header: with it you find the log line of any response."
show_log_since "$mark" 'GET /v2/ '
pause

step "Ask for something that does not exist"
explain "Manifests are asked for with an Accept header listing the kinds the client understands; we keep that list in a variable for the next tutorials:"
show_line "ACCEPT_MANIFESTS='$ACCEPT_MANIFESTS'"
http GET /v2/lab/nothing-here/manifests/latest -H "Accept: $ACCEPT_MANIFESTS"
missing_status="$HTTP_STATUS"
missing_code="$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)"
explain "Errors are JSON: a list of {code, message, detail}. Programs look at the code, which the spec fixes (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, DIGEST_INVALID, ...); people read the detail."
pause

step "A malformed digest"
http GET /v2/lab/base/blobs/sha256:not-a-digest
bad_digest_status="$HTTP_STATUS"
bad_digest_code="$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)"
explain "A digest is algorithm:hex — sha256: followed by 64 hex characters, the hash of the content. Anything else is refused before the registry looks at its storage."
pause

step "A repository name the spec does not allow"
http GET /v2/Lab/UPPER/tags/list
bad_name_status="$HTTP_STATUS"
explain "Repository names are lowercase components ([a-z0-9]+ joined by . _ __ or -) separated by slashes: lab/base is fine, Lab/UPPER is not."
pause

step "HEAD: the same question without the body"
http HEAD /v2/lab/nothing-here/manifests/latest -H "Accept: $ACCEPT_MANIFESTS"
head_status="$HTTP_STATUS"
explain "Clients use HEAD to ask 'do you have this?' cheaply: the same status and headers as GET, no body."
pause

step "The operator's endpoints: liveness, readiness, metrics"
http GET /healthz
healthz_status="$HTTP_STATUS"
http GET /readyz
readyz_status="$HTTP_STATUS"
show_line "curl -s $REGISTRY_URL/metrics | grep -E '^registry_(blobs|bytes|repositories)'"
curl -s "$REGISTRY_URL/metrics" | grep -E '^registry_(blobs|bytes|repositories)' | head -n 12 | sed 's/^/     /' || true
explain "These are not part of the OCI API. /healthz says the process runs; /readyz that it can serve (its storage is usable — the container's healthcheck, 'registry healthcheck', asks it); /metrics is for Prometheus."
note "Find request $v2_id in the log: docker compose logs registry | grep $v2_id"

step "Checks"
check_eq "GET /v2/ answers 200" "$v2_status" 200
check_eq "the API version header says registry/2.0" "$v2_api" "registry/2.0"
check "every response carries a request id" test -n "$v2_id"
check_eq "an unknown repository answers 404" "$missing_status" 404
check "the error body carries an OCI code (NAME_UNKNOWN or MANIFEST_UNKNOWN)" test "$missing_code" = NAME_UNKNOWN -o "$missing_code" = MANIFEST_UNKNOWN
check_eq "a malformed digest answers 400" "$bad_digest_status" 400
check_eq "its code is DIGEST_INVALID" "$bad_digest_code" DIGEST_INVALID
check "an invalid repository name is refused (400 or 404)" test "$bad_name_status" = 400 -o "$bad_name_status" = 404
check_eq "HEAD answers like GET" "$head_status" "$missing_status"
check_eq "/healthz answers 200" "$healthz_status" 200
check_eq "/readyz answers 200" "$readyz_status" 200
finish
