#!/usr/bin/env bash
# 03 — Build two images FROM lab/base and push them: the base's layers are
# not uploaded again. Why, and how the registry tells.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials/02-push-the-base-image.sh first"

title "03 · push images derived from lab/base"
explain "lab/app and lab/tools start FROM $REGISTRY/lab/base:1.0 and add layers of their own. A layer is identified by the sha256 of its bytes, so the base's layers have the same digests in all three images — and a registry stores, and a client sends, each digest once."
pause

step "Two Dockerfiles on the same base"
run cat "$LAB_ROOT/images/app/Dockerfile"
run cat "$LAB_ROOT/images/tools/Dockerfile"
pause

step "Build them"
build_image app
build_image tools
pause

push_derived() {
	local name="$1" out="$LAB_TMP/push-$1.txt"
	step "Push lab/$name"
	local m
	m="$(log_mark)"
	capture "$out" docker push "$REGISTRY/lab/$name:1.0"
	explain "'Mounted from lab/…': docker remembers which repositories of this registry it pushed these layers to (lab/base, or a sibling pushed earlier), so it asks the registry to link them into lab/$name — POST /v2/lab/$name/blobs/uploads/?mount=<digest>&from=lab/base → 201 Created — instead of sending them. 'Layer already exists': a HEAD found the blob already linked to lab/$name. Either way, no bytes travel. 'Pushed': the image's own layers."
	show_log_since "$m" 'mount=|event=blob_(mounted|exists)'
	note "In the log: event=blob_mounted (\"blob mounted from … — no bytes sent\") or event=blob_exists for each base layer; upload_started / chunk_received only for lab/$name's own layers."
	eval "mark_$name=\$m"
	pause
}
push_derived app
push_derived tools

step "The manifests side by side"
manifest lab/base 1.0 | jq -r '.layers[].digest' >"$LAB_TMP/base.layers"
manifest lab/app 1.0 | jq -r '.layers[].digest' >"$LAB_TMP/app.layers"
manifest lab/tools 1.0 | jq -r '.layers[].digest' >"$LAB_TMP/tools.layers"
paste "$LAB_TMP/base.layers" "$LAB_TMP/app.layers" "$LAB_TMP/tools.layers" |
	awk -F'\t' 'BEGIN { printf "     %-3s %-16s %-16s %-16s\n", "#", "lab/base", "lab/app", "lab/tools" }
		{ printf "     %-3d %-16s %-16s %-16s\n", NR, substr($1, 8, 12), substr($2, 8, 12), substr($3, 8, 12) }'
explain "The first four rows are the same digests: the base's layers. tutorials/06 measures what that saves."

step "Checks"
nbase="$(wc -l <"$LAB_TMP/base.layers")"
check_eq "lab/app has the base's layers first" "$(head -n "$nbase" "$LAB_TMP/app.layers")" "$(cat "$LAB_TMP/base.layers")"
check_eq "lab/tools has the base's layers first" "$(head -n "$nbase" "$LAB_TMP/tools.layers")" "$(cat "$LAB_TMP/base.layers")"
check "lab/app adds layers of its own" test "$(wc -l <"$LAB_TMP/app.layers")" -gt "$nbase"
check "lab/tools adds layers of its own" test "$(wc -l <"$LAB_TMP/tools.layers")" -gt "$nbase"
for name in app tools; do
	reused="$(grep -cE 'Mounted from|Layer already exists' "$LAB_TMP/push-$name.txt" || true)"
	check "docker sent none of the $nbase base layers for lab/$name (mounted or already there: $reused)" test "$reused" -ge "$nbase"
done
if [[ -n "$(registry_container)" ]]; then
	# shellcheck disable=SC2154 # set by push_derived
	for name in app tools; do
		mark_var="mark_$name"
		log_since "${!mark_var}" | grep -E 'event=blob_(mounted|exists)' | grep -F "repository=lab/$name" >"$LAB_TMP/reuse-$name.log" || true
		missing=0
		while read -r d; do grep -qF "$d" "$LAB_TMP/reuse-$name.log" || missing=$((missing + 1)); done <"$LAB_TMP/base.layers"
		check_eq "the log reports every base layer of lab/$name as mounted or existing" "$missing" 0
	done
fi
finish
