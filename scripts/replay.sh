#!/usr/bin/env bash
# The printed-command test: every command a tutorial printed is run again,
# as a learner pastes it — in a fresh shell, from the repository root — and
# its output compared with what the tutorial showed. Run it after the
# tutorials (make tutorials and make e2e do), while the lab is still up:
#
#   bash scripts/replay.sh [NN...]     (default: every tutorial run so far)
#
# Each tutorial records its commands in lab-work/NN/transcript/: the command
# line (.cmd), what it printed (.out) and a mode (.mode). "replay" commands
# change nothing the tutorial relies on afterwards, and must print the same
# again; "once" commands (a push, a DELETE, a login) are only checked to
# parse: running them again would change the state the output describes.
#
# Outputs that legitimately vary are normalised on both sides, and only
# these: the value of the Date and X-Request-Id response headers (a new
# request gets a new time and id).
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

normalise() {
	sed -E 's/^(Date: ).*/\1<date>/I; s/^(X-Request-Id: ).*/\1<request id>/I' "$1"
}

dirs=()
if (($# > 0)); then
	for n in "$@"; do dirs+=("$LAB_ROOT/lab-work/$n/transcript"); done
else
	for d in "$LAB_ROOT"/lab-work/[0-9][0-9]/transcript; do [[ -d "$d" ]] && dirs+=("$d"); done
fi
((${#dirs[@]} > 0)) || die "no transcript in lab-work/: run a tutorial first"

replayed=0 parsed=0 failed=0
for dir in "${dirs[@]}"; do
	[[ -d "$dir" ]] || die "no transcript in $dir: run that tutorial first"
	n="$(basename "$(dirname "$dir")")"
	for cmdf in "$dir"/*.cmd; do
		[[ -e "$cmdf" ]] || continue
		base="${cmdf%.cmd}"
		cmd="$(cat "$cmdf")"
		if ! bash -n -c "$cmd" 2>"$LAB_TMP/syntax"; then
			printf '%s✘ %s/%s does not parse: %s%s\n' "$C_BAD" "$n" "$(basename "$base")" "$cmd" "$C_OFF"
			sed 's/^/    /' "$LAB_TMP/syntax"
			failed=$((failed + 1))
			continue
		fi
		if [[ "$(cat "$base.mode")" != replay ]]; then
			parsed=$((parsed + 1))
			continue
		fi
		fresh_shell "$cmd" >"$LAB_TMP/again" 2>&1 </dev/null || true
		if diff <(normalise "$base.out") <(normalise "$LAB_TMP/again") >"$LAB_TMP/diff"; then
			replayed=$((replayed + 1))
		else
			printf '%s✘ %s/%s printed something else when run again:%s\n    $ %s\n' "$C_BAD" "$n" "$(basename "$base")" "$C_OFF" "$cmd"
			head -n 20 "$LAB_TMP/diff" | sed 's/^/    /'
			failed=$((failed + 1))
		fi
	done
done
if ((failed > 0)); then
	die "$failed printed command(s) did not run as shown ($replayed replayed the same, $parsed one-off commands parse)"
fi
say "every printed command runs as shown: $replayed replayed with the same output, $parsed one-off commands parse"
