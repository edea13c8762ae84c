#!/usr/bin/env bash
# Installs the real registry clients used by scripts/clients-e2e.sh into
# .tools/bin (crane, regctl, oras) and, via apt, skopeo, podman, shellcheck,
# shfmt, jq, curl, sqlite3 (opens `registry sql --export` files), s3cmd (looks
# into the scale lab's bucket, tutorial 13) and chromium
# (the explorer's browser tests, registry/server/explorer_browser_test.go).
# Idempotent: already-installed tools are left alone.
#
#   bash scripts/tools.sh            # install what is missing, print versions
#   FORCE=1 bash scripts/tools.sh    # reinstall the Go tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS_BIN="$ROOT/.tools/bin"
mkdir -p "$TOOLS_BIN"

# crane follows the go-containerregistry version pinned in go.mod.
CRANE_VERSION="${CRANE_VERSION:-$(awk '$1 == "github.com/google/go-containerregistry" {print $2; exit}' go.mod)}"
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
REGCTL_VERSION="${REGCTL_VERSION:-latest}"
ORAS_VERSION="${ORAS_VERSION:-v1.3.6}"
FORCE="${FORCE:-0}"

# shellcheck source=scripts/lib.sh disable=SC1091
. "$ROOT/scripts/lib.sh"

# go_tool NAME PKG VERSION [INSTALLED_VERSION_CMD...]: reinstalls when the
# binary is missing or, given a command printing its version, when that
# differs from VERSION.
go_tool() {
	local name="$1" pkg="$2" version="$3"
	shift 3
	if [[ "$FORCE" != 1 && -x "$TOOLS_BIN/$name" ]]; then
		if [[ $# -eq 0 || "$("$@" 2>/dev/null || true)" == "$version" ]]; then
			say "$name already installed"
			return 0
		fi
		say "$name is not $version: reinstalling"
	fi
	say "installing $pkg@$version"
	GOBIN="$TOOLS_BIN" GOFLAGS="" GOWORK=off go install "$pkg@$version"
}

as_root() {
	[[ "$(id -u)" == 0 ]]
}

apt_updated=0
apt_tool() {
	local cmd="$1" pkg="$2"
	if command -v "$cmd" >/dev/null 2>&1; then
		say "$cmd already installed"
		return 0
	fi
	if ! as_root; then
		say "$cmd missing; install it with: sudo apt-get update && sudo apt-get install -y $pkg"
		return 0
	fi
	if [[ "$apt_updated" == 0 ]]; then
		say "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	say "apt-get install -y $pkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

go_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" "$TOOLS_BIN/crane" version
go_tool regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION"
go_tool oras oras.land/oras/cmd/oras "$ORAS_VERSION"
apt_tool skopeo skopeo
apt_tool podman podman
apt_tool shellcheck shellcheck
apt_tool jq jq
apt_tool curl curl
apt_tool shfmt shfmt
apt_tool sqlite3 sqlite3
apt_tool s3cmd s3cmd
apt_tool chromium chromium

say "versions:"
printf '  crane:      %s\n' "$("$TOOLS_BIN/crane" version 2>&1 || echo unknown)"
printf '  regctl:     %s\n' "$("$TOOLS_BIN/regctl" version --format '{{.VCSTag}}{{if not .VCSTag}}{{.VCSRef}}{{end}}' 2>/dev/null || "$TOOLS_BIN/regctl" version 2>&1 | head -n 1 || echo unknown)"
printf '  oras:       %s\n' "$("$TOOLS_BIN/oras" version 2>/dev/null | awk '/^Version:/ {print $2}' || echo unknown)"
for t in skopeo podman; do
	if command -v "$t" >/dev/null 2>&1; then
		printf '  %-11s %s\n' "$t:" "$("$t" --version 2>&1)"
	else
		printf '  %-11s not installed\n' "$t:"
	fi
done
if command -v shellcheck >/dev/null 2>&1; then
	printf '  shellcheck: %s\n' "$(shellcheck --version 2>&1 | awk '/^version:/ {print $2}')"
else
	printf '  shellcheck: not installed\n'
fi
if command -v docker >/dev/null 2>&1; then
	printf '  docker:     %s\n' "$(docker version --format '{{.Client.Version}} (server {{.Server.Version}})' 2>/dev/null || echo 'client only')"
fi
