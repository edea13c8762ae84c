#!/usr/bin/env bash
# Builds the lab's load balancer, Caddy, from the module in scripts/lb/
# (Caddy's standard modules at the version its go.mod pins) into a cache
# outside the clone, and prints its path; a build made before is reused:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/layerlab/bin/caddy-<version>
#
#   bash scripts/lb-tools.sh      # build when missing, print the path
#                                 # (on stdout; progress goes to stderr)
#
# scripts/lb/ is a module of its own: the registry's module (go vet ./...,
# go test ./...) never sees Caddy. The first build downloads ~150 MB of
# modules and takes a few minutes on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/layerlab"
BIN="$CACHE/bin"
mkdir -p "$BIN"

log() { printf '[lb-tools] %s\n' "$*" >&2; }

version="$(awk '$1 == "require" && $2 == "github.com/caddyserver/caddy/v2" {print $3; exit}' "$ROOT/scripts/lb/go.mod")"
[[ -n "$version" ]] || {
	log "scripts/lb/go.mod does not name Caddy's version"
	exit 1
}
out="$BIN/caddy-$version"
if [[ -x "$out" ]]; then
	log "caddy $version cached: $out"
	echo "$out"
	exit 0
fi
log "building caddy $version (a few minutes the first time)"
start=$SECONDS
(
	cd "$ROOT/scripts/lb"
	GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
)
mv "$out.tmp" "$out"
log "caddy built in $((SECONDS - start))s: $out"
echo "$out"
