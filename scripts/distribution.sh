#!/usr/bin/env bash
# Builds the CNCF distribution registry (v3), the mirror's third upstream
# implementation in its tests, into a cache outside the clone (once per
# version), and prints its path on stdout (progress goes to stderr):
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/layerlab/bin/distribution-<version>
#
#   bash scripts/distribution.sh
#
# It comes from the Go module proxy (go install), never from an image
# registry; the module is not a dependency of layerlab's own go.mod.
set -euo pipefail

DISTRIBUTION_VERSION="${DISTRIBUTION_VERSION:-v3.1.2}"
BIN="${XDG_CACHE_HOME:-$HOME/.cache}/layerlab/bin"
OUT="$BIN/distribution-$DISTRIBUTION_VERSION"
log() { printf '[distribution] %s\n' "$*" >&2; }

if [[ -x "$OUT" ]]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi
mkdir -p "$BIN"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
log "building github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION (a minute or two the first time)"
(cd "$TMP" && GOBIN="$TMP" GOFLAGS=-mod=mod GOWORK=off go install "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION")
mv "$TMP/registry" "$OUT"
log "built: $OUT"
echo "$OUT"
