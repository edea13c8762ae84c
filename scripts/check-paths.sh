#!/usr/bin/env bash
# Lint: every repository path the README, the Makefile, the compose files
# and the scripts and tutorials mention exists — no dangling docs/… or
# scripts/… references. Paths under directories the lab creates at run time
# (certs/, lab-work/, data/, bin/, .tools/) are not checked.
#
#   bash scripts/check-paths.sh      (make lint runs it)
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"

mapfile -t sources < <(git ls-files README.md Makefile Dockerfile 'compose*.yaml' 'scripts/*.sh' 'scripts/*.mk' 'tutorials/*.sh' .ci/run)
missing=0
while IFS=: read -r file ref; do
	ref="${ref%%[.,:;)]}"
	ref="${ref%/}"
	[[ -e "$ref" ]] && continue
	# Not paths: the API version header's value, a unit of the benchmark table.
	[[ "$ref" != registry/2.0 && "$ref" != images/s ]] || continue
	printf '%s: %s does not exist\n' "$file" "$ref" >&2
	missing=$((missing + 1))
done < <(grep -oE '(^|[^A-Za-z0-9_./-])(docs|scripts|tutorials|images|registry|\.ci)/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*' "${sources[@]}" |
	sed -E 's/:[^A-Za-z0-9_.]*/:/' | grep -vE ':[^:]*[*<>{}$]' | sort -u)
((missing == 0)) || die "$missing path(s) mentioned but missing"
say "every path the scripts, tutorials and README mention exists"
