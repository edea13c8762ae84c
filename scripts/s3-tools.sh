#!/usr/bin/env bash
# Builds the two S3 servers the storage driver's tests run against, SeaweedFS
# (`weed`) and versitygw, into a cache outside the clone, so a fresh clone on a
# machine that built them once reuses them, and builds them when absent:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/layerlab/bin/weed-<version>
#   ${XDG_CACHE_HOME:-$HOME/.cache}/layerlab/bin/versitygw-<version>
#
#   bash scripts/s3-tools.sh          # build what is missing, print the paths
#                                     # (on stdout; progress goes to stderr)
#   bash scripts/s3-tools.sh weed     # only SeaweedFS (or: versitygw)
#
# SeaweedFS's module carries `replace` directives, so `go install …/weed@v`
# is refused. It is built instead from a throwaway module generated in the
# cache that requires it at the pinned version and copies its replace lines
# (once per version: 5 to 15 minutes on 2 cores, and ~230 MB of modules).
# The pin is a SeaweedFS commit whose `weed version` says 4.53 (its tags are
# not semver, so the module proxy knows commits by pseudo-versions).
set -euo pipefail

WEED_VERSION="${WEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/layerlab"
BIN="$CACHE/bin"
mkdir -p "$BIN"

log() { printf '[s3-tools] %s\n' "$*" >&2; }

# cached NAME VERSION: prints the cached binary's path and succeeds if it
# is there.
cached() {
	local out="$BIN/$1-$2"
	[[ -x "$out" ]] || return 1
	log "$1 $2 cached: $out"
	echo "$out"
}

# build_weed: the generated module lives in $CACHE/weed-build/<version>.
build_weed() {
	cached weed "$WEED_VERSION" && return 0
	local out="$BIN/weed-$WEED_VERSION"
	local dir="$CACHE/weed-build/$WEED_VERSION"
	rm -rf "$dir"
	mkdir -p "$dir"
	log "building weed $WEED_VERSION (slow: several minutes the first time)"
	local start=$SECONDS
	(
		cd "$dir"
		export GOFLAGS="-mod=mod" GOWORK=off
		cat >go.mod <<-EOF
			module layerlab.local/weed

			go 1.26
		EOF
		# The upstream go.mod, for its replace directives.
		local upstream
		upstream="$(go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
			sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
		[[ -f "$upstream" ]] || {
			log "cannot read seaweedfs's go.mod"
			exit 1
		}
		awk '/^replace[[:space:]]*\($/ {block=1} block {print} block && /^\)/ {block=0; next}
			!block && /^replace[[:space:]]/ && $0 !~ /=>[[:space:]]*[.\/]/ {print}' "$upstream" >>go.mod
		go get "github.com/seaweedfs/seaweedfs/weed@$WEED_VERSION" >&2
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" github.com/seaweedfs/seaweedfs/weed
	)
	mv "$out.tmp" "$out"
	log "weed built in $((SECONDS - start))s: $out"
	echo "$out"
}

build_versitygw() {
	cached versitygw "$VERSITYGW_VERSION" && return 0
	local out="$BIN/versitygw-$VERSITYGW_VERSION"
	log "installing versitygw $VERSITYGW_VERSION"
	local start=$SECONDS tmp
	tmp="$(mktemp -d "$CACHE/gobin.XXXXXX")"
	GOBIN="$tmp" GOFLAGS="" GOWORK=off CGO_ENABLED=0 \
		go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
	mv "$tmp/versitygw" "$out"
	rmdir "$tmp"
	log "versitygw built in $((SECONDS - start))s: $out"
	echo "$out"
}

case "${1:-all}" in
weed) build_weed ;;
versitygw) build_versitygw ;;
all)
	build_weed
	build_versitygw
	;;
*)
	echo "usage: $0 [all|weed|versitygw]" >&2
	exit 2
	;;
esac
