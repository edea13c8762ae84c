#!/usr/bin/env bash
# Compares two images stored in a registry, layer by layer, over the HTTP API
# alone: which layer digests they share, their sizes, and the bytes sharing
# saves on the wire (a push or pull of the second image skips the shared
# layers) and on disk (the registry stores each blob once).
#
#   scripts/compare-layers.sh lab/base:1.0 lab/app:1.0
#   scripts/compare-layers.sh 127.0.0.1:5000/lab/app:1.0 127.0.0.1:5000/lab/tools@sha256:…
#   scripts/compare-layers.sh --json lab/app:1.0 lab/tools:1.0
#
# An image without a registry host is looked up in $REGISTRY (default
# 127.0.0.1:5000). For an index, the entry for PLATFORM (default linux/amd64,
# else the first) is compared.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

json=0
if [[ "${1:-}" == --json ]]; then
	json=1
	shift
fi
if [[ $# -ne 2 ]]; then
	sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
need_tools curl jq
PLATFORM="${PLATFORM:-linux/amd64}"

# resolve IMAGE FILE: writes {"image","url","repo","ref","digest","layers":[{digest,size,mediaType}]}.
resolve() {
	local image="$1" base="$REGISTRY_URL" first="${1%%/*}"
	if [[ "$image" == */* && ("$first" == *.* || "$first" == *:* || "$first" == localhost) ]]; then
		base="http://$first"
		image="${image#*/}"
	fi
	local repo ref
	if [[ "$image" == *@* ]]; then
		repo="${image%@*}" ref="${image#*@}"
	elif [[ "${image##*/}" == *:* ]]; then
		repo="${image%:*}" ref="${image##*:}"
	else
		repo="$image" ref=latest
	fi
	local mf="$LAB_TMP/m.json" digest
	http_quiet GET "$base/v2/$repo/manifests/$ref" -H "Accept: $ACCEPT_MANIFESTS"
	[[ "$HTTP_STATUS" == 200 ]] || die "$1: manifest not found at $base (status $HTTP_STATUS)"
	cp "$HTTP_BODY" "$mf"
	digest="$(hdr Docker-Content-Digest)"
	if jq -e '.manifests' "$mf" >/dev/null; then
		local os="${PLATFORM%%/*}" arch="${PLATFORM#*/}" child
		child="$(jq -r --arg os "$os" --arg arch "$arch" \
			'([.manifests[] | select(.platform.os == $os and .platform.architecture == $arch)] + .manifests)[0].digest' "$mf")"
		http_quiet GET "$base/v2/$repo/manifests/$child" -H "Accept: $ACCEPT_MANIFESTS"
		[[ "$HTTP_STATUS" == 200 ]] || die "$1: index entry $child not found"
		cp "$HTTP_BODY" "$mf"
		digest="$child"
	fi
	jq --arg image "$1" --arg url "$base" --arg repo "$repo" --arg ref "$ref" --arg digest "$digest" \
		'{image: $image, url: $url, repo: $repo, ref: $ref, digest: $digest,
		  layers: [.layers[] | {digest, size, mediaType}]}' "$mf" >"$2"
}

resolve "$1" "$LAB_TMP/a.json"
resolve "$2" "$LAB_TMP/b.json"

report="$(jq -n --slurpfile a "$LAB_TMP/a.json" --slurpfile b "$LAB_TMP/b.json" '
	$a[0] as $a | $b[0] as $b
	| ($a.layers | map(.digest)) as $ad | ($b.layers | map(.digest)) as $bd
	| [$a.layers[] | select(.digest as $d | $bd | index($d))] as $shared
	| ($a.layers | map(.size) | add // 0) as $asize
	| ($b.layers | map(.size) | add // 0) as $bsize
	| ($shared | map(.size) | add // 0) as $ssize
	| {a: {image: $a.image, digest: $a.digest, layers: ($a.layers | length), bytes: $asize},
	   b: {image: $b.image, digest: $b.digest, layers: ($b.layers | length), bytes: $bsize},
	   shared: {layers: ($shared | length), bytes: $ssize, digests: ($shared | map(.digest))},
	   only_a: [$a.layers[] | select(.digest as $d | $bd | index($d) | not)],
	   only_b: [$b.layers[] | select(.digest as $d | $ad | index($d) | not)],
	   wire: {without_sharing: ($asize + $bsize), with_sharing: ($asize + $bsize - $ssize), saved: $ssize},
	   disk: {without_sharing: ($asize + $bsize), with_sharing: ($asize + $bsize - $ssize), saved: $ssize},
	   saved_percent_of_b: (if $bsize > 0 then ($ssize * 1000 / $bsize | floor) / 10 else 0 end)}')"

if ((json)); then
	printf '%s\n' "$report"
	exit 0
fi

a="$(jq -r .a.image <<<"$report")" b="$(jq -r .b.image <<<"$report")"
printf '%-4s %-19s %12s  %-5s %-5s\n' "" "layer digest" "size" "A" "B"
jq -r --slurpfile a "$LAB_TMP/a.json" --slurpfile b "$LAB_TMP/b.json" -n '
	($a[0].layers | map(.digest)) as $ad | ($b[0].layers | map(.digest)) as $bd
	| ($a[0].layers + [$b[0].layers[] | select(.digest as $d | $ad | index($d) | not)])[]
	| [(if (.digest as $d | $ad | index($d)) and (.digest as $d | $bd | index($d)) then "=" else " " end),
	   .digest[7:26], (.size | tostring),
	   (if (.digest as $d | $ad | index($d)) then "A" else "-" end),
	   (if (.digest as $d | $bd | index($d)) then "B" else "-" end)] | @tsv' |
	while IFS=$'\t' read -r mark d size ina inb; do
		printf '%-4s %-19s %12s  %-5s %-5s\n' "$mark" "$d" "$(human "$size")" "$ina" "$inb"
	done
printf '\n'
printf 'A = %s: %s layers, %s (%s)\n' "$a" "$(jq -r .a.layers <<<"$report")" "$(human "$(jq -r .a.bytes <<<"$report")")" "$(jq -r '.a.digest[:19]' <<<"$report")…"
printf 'B = %s: %s layers, %s (%s)\n' "$b" "$(jq -r .b.layers <<<"$report")" "$(human "$(jq -r .b.bytes <<<"$report")")" "$(jq -r '.b.digest[:19]' <<<"$report")…"
printf 'shared (=): %s layers, %s — %s%% of B\n' "$(jq -r .shared.layers <<<"$report")" "$(human "$(jq -r .shared.bytes <<<"$report")")" "$(jq -r .saved_percent_of_b <<<"$report")"
printf 'on the wire: pushing or pulling B after A sends %s instead of %s\n' \
	"$(human "$(jq -r '.b.bytes - .shared.bytes' <<<"$report")")" "$(human "$(jq -r .b.bytes <<<"$report")")"
printf 'on disk: the registry stores %s for both, not %s (saved %s)\n' \
	"$(human "$(jq -r .disk.with_sharing <<<"$report")")" "$(human "$(jq -r .disk.without_sharing <<<"$report")")" "$(human "$(jq -r .disk.saved <<<"$report")")"
