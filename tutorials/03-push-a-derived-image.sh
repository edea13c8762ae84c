#!/usr/bin/env bash
# 03 — Build two images FROM lab/base and push them: the base's layers are
# not uploaded again. Why, how the registry tells, and how the IDs docker
# push prints match the registry's digests.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials/02-push-the-base-image.sh first"
DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json

title "03 · push images derived from lab/base"
explain <<TEXT
lab/app and lab/tools start FROM $REGISTRY/lab/base:1.0 and add layers of their own. A layer is
identified by the sha256 of its bytes, so the base's layers have the same digests in all three
images — and a registry stores, and a client sends, each digest once.
TEXT
pause

step "Two Dockerfiles on the same base"
run "cat images/app/Dockerfile"
run "cat images/tools/Dockerfile"
pause

step "Build them"
build_image app
build_image tools
pause

manifest lab/base 1.0 | jq -r '.layers[].digest' >"$W/base.layers"
nbase="$(wc -l <"$W/base.layers")"

# push_derived NAME: pushes lab/NAME and tells what happened to each layer.
push_derived() {
	local name="$1" m mounted existed pushed
	step "Push lab/$name"
	m="$(log_mark)"
	run_once "docker push $REGISTRY/lab/$name:1.0"
	cp "$OUT" "$W/push-$name.txt"
	mounted="$(grep -c ': Mounted from' "$OUT" || true)"
	existed="$(grep -c ': Layer already exists' "$OUT" || true)"
	pushed="$(grep -c ': Pushed' "$OUT" || true)"
	explain <<TEXT
$mounted 'Mounted from lab/…', $existed 'Layer already exists', $pushed 'Pushed'.

'Mounted from': docker remembers which repositories of this registry it pushed these layers to
(lab/base, or a sibling pushed earlier), so it asks the registry to link them into lab/$name —
POST /v2/lab/$name/blobs/uploads/?mount=<digest>&from=lab/base → 201 Created — instead of
sending them. 'Layer already exists': a HEAD found the blob already in lab/$name (pushed there
before, by an earlier run). Either way, no bytes travel. 'Pushed': the image's own layers.
TEXT
	show_log_since "$m" 'mount=|event=(blob_mounted|blob_exists|mount_fell_back|upload_cancelled)'
	log_since "$m" | grep -E 'event=blob_(mounted|exists)' | grep -F "repository=lab/$name" >"$W/reuse-$name.log" || true
	local missing=0 d
	# The log writes a digest as its first 8 and last 4 hex digits.
	while read -r d; do grep -qF "${d:0:15}…${d: -4}" "$W/reuse-$name.log" || missing=$((missing + 1)); done <"$W/base.layers"
	check "base-reused-$name" "docker sent none of the $nbase base layers for lab/$name (mounted or already there: $((mounted + existed)))" test $((mounted + existed)) -ge "$nbase"
	check_eq "log-reused-$name" "the log reports every base layer of lab/$name as mounted or existing" "$missing" 0
	if log_since "$m" | grep -q 'event=mount_fell_back'; then
		note "A mount_fell_back line: docker asked to mount a blob from a repository that does not hold it (or that it may not read); the registry answered with an upload session instead and said why. docker then cancels that session (DELETE …/uploads/<id> → 204, event=upload_cancelled) and sends the layer."
	fi
	pause
}
push_derived app
push_derived tools

step "The manifests side by side"
manifest lab/app 1.0 | jq -r '.layers[].digest' >"$W/app.layers"
manifest lab/tools 1.0 | jq -r '.layers[].digest' >"$W/tools.layers"
run "paste <(curl -s -H 'Accept: $DOCKER_MANIFEST' $REGISTRY_URL/v2/lab/base/manifests/1.0 | jq -r '.layers[].digest[7:19]') <(curl -s -H 'Accept: $DOCKER_MANIFEST' $REGISTRY_URL/v2/lab/app/manifests/1.0 | jq -r '.layers[].digest[7:19]') <(curl -s -H 'Accept: $DOCKER_MANIFEST' $REGISTRY_URL/v2/lab/tools/manifests/1.0 | jq -r '.layers[].digest[7:19]')"
explain <<TEXT
Three columns: the layer digests of lab/base, lab/app and lab/tools (the first 12 hex digits of
each). The first $nbase rows are the same digests: the base's layers. tutorial 06 measures what
that saves.
TEXT
check_eq app-starts-with-base "lab/app has the base's layers first" "$(head -n "$nbase" "$W/app.layers")" "$(cat "$W/base.layers")"
check_eq tools-starts-with-base "lab/tools has the base's layers first" "$(head -n "$nbase" "$W/tools.layers")" "$(cat "$W/base.layers")"
check app-own-layers "lab/app adds layers of its own" test "$(wc -l <"$W/app.layers")" -gt "$nbase"
check tools-own-layers "lab/tools adds layers of its own" test "$(wc -l <"$W/tools.layers")" -gt "$nbase"
pause

step "The IDs docker push prints"
explain <<'TEXT'
The short IDs in docker push's output ('abc123def456: Pushed') are none of these digests. They
are the first 12 hex digits of each layer's diff_id: the sha256 of the layer *uncompressed*,
which the image's config lists in rootfs.diff_ids. The manifest names the layers compressed (what
travels and what the registry stores), so the two hashes differ. Line them up — the config's
diff_ids beside the manifest's digests, in the same order:
TEXT
app_config="$(manifest lab/app 1.0 | jq -r .config.digest)"
run "paste <(curl -s $REGISTRY_URL/v2/lab/app/blobs/$app_config | jq -r '.rootfs.diff_ids[][7:19]') <(curl -s -H 'Accept: $DOCKER_MANIFEST' $REGISTRY_URL/v2/lab/app/manifests/1.0 | jq -r '.layers[].digest[7:19]')"
api GET "/v2/lab/app/blobs/$app_config" | jq -r '.rootfs.diff_ids[][7:19]' >"$W/app.diff_ids"
grep -oE '^[0-9a-f]{12}: (Pushed|Mounted from [a-z/]+|Layer already exists)' "$W/push-app.txt" | cut -c1-12 | sort -u >"$W/push-app.ids"
unmatched="$(comm -23 "$W/push-app.ids" <(sort -u "$W/app.diff_ids") | wc -l)"
explain <<TEXT
Every ID docker printed for lab/app ($(tr '\n' ' ' <"$W/push-app.ids")) is in the left column:
a diff_id. docker pull prints the other kind — the manifest's digests, the right column — as
tutorial 07 shows. The registry only ever sees the compressed blobs: its log and its storage
name the right column.
TEXT
check_eq push-ids-are-diff-ids "each ID docker push printed is the start of a diff_id in the config" "$unmatched" 0
finish
