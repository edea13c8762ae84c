#!/usr/bin/env bash
# 07 — Delete the lab images from this machine and pull them back from the
# lab registry.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
for r in base app tools; do
	manifest "lab/$r" 1.0 >/dev/null 2>&1 || die "lab/$r:1.0 is not in the registry yet: run tutorials 02 and 03 first"
done

title "07 · delete the local images, pull them back"
explain <<'TEXT'
So far the registry only received. Now the other direction: we forget the lab images locally and
fetch them again. A pull is the push in reverse: GET the manifest, then GET each blob the
machine does not have yet.
TEXT
pause

# counts FILE: "<complete> <existing>" layer lines of a docker pull's output.
counts() { printf '%s %s\n' "$(grep -c ': Pull complete' "$1" || true)" "$(grep -c ': Already exists' "$1" || true)"; }

step "The lab images on this machine"
run_once "docker image ls '$REGISTRY/lab/*'"

step "Remove them"
mapfile -t local_tags < <(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)
if ((${#local_tags[@]} > 0)); then
	run_once "docker rmi $(quote "${local_tags[@]}")"
fi
gone=yes
for r in base app tools; do
	docker image inspect "$REGISTRY/lab/$r:1.0" >/dev/null 2>&1 && gone=no
done
check_eq local-removed "the local images were removed first" "$gone" yes
explain <<'TEXT'
Untagged and deleted: nothing of lab/base, lab/app or lab/tools is left in docker's image store
— except layers another local image still uses.
TEXT
pause

step "Pull lab/app"
mark="$(log_mark)"
run_once "docker pull $REGISTRY/lab/app:1.0"
cp "$OUT" "$W/pull-app.txt"
read -r complete existing < <(counts "$W/pull-app.txt")
if ((existing == 0)); then
	explain "Every layer of lab/app was downloaded ('Pull complete': $complete), the base's included: this machine had none of them."
else
	explain <<TEXT
$complete layer(s) downloaded ('Pull complete') and $existing 'Already exists': docker still had
those layers — the first is the Debian layer of $LAB_BASE_IMAGE, the image lab/base was built
from, which docker rmi left in place. docker compares layers by content, whatever image brought
them.
TEXT
fi
check app-downloaded "lab/app's own layers were downloaded (Pull complete: $complete)" test "$complete" -ge 3
explain <<'TEXT'
The short IDs docker pull prints are the first 12 hex digits of the manifest's layer digests —
the compressed blobs it downloads — not the diff_ids docker push printed (tutorial 03):
TEXT
run "curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' $REGISTRY_URL/v2/lab/app/manifests/1.0 | jq -r '.layers[].digest[7:19]'"
unmatched="$(grep -oE '^[0-9a-f]{12}: (Pull complete|Already exists)' "$W/pull-app.txt" | cut -c1-12 | sort -u | comm -23 - <(sort -u "$OUT") | wc -l)"
check_eq pull-ids-are-digests "each ID docker pull printed starts a layer digest of the manifest" "$unmatched" 0
show_log_since "$mark" 'event=(manifest|blob)_pulled'
note "In the log: event=manifest_pulled, then event=blob_pulled for the config and each layer downloaded — GET /v2/lab/app/blobs/<digest> → 200 with 'out' the blob's size."
check manifest-pulled-event "the log shows event=manifest_pulled" grep -q 'event=manifest_pulled' <(log_since "$mark")
check blob-pulled-event "the log shows event=blob_pulled" grep -q 'event=blob_pulled' <(log_since "$mark")
pause

step "Pull lab/tools, the sibling"
run_once "docker pull $REGISTRY/lab/tools:1.0"
read -r complete existing < <(counts "$OUT")
explain <<TEXT
$existing 'Already exists' — the base's layers, which arrived with lab/app (or were here
already) — and $complete 'Pull complete': only the layers of lab/tools itself travel. Sharing
works on the pulling side too.
TEXT
check tools-reused-base "lab/tools reused the 4 base layers ($existing 'Already exists')" test "$existing" -ge 4
pause

step "Pull lab/base"
run_once "docker pull $REGISTRY/lab/base:1.0"
read -r complete existing < <(counts "$OUT")
explain "Every layer is already here ($existing 'Already exists'): docker fetched the manifest and config only, and tagged the image."
check_eq base-nothing-downloaded "lab/base needed no layer download" "$complete" 0
for r in base app tools; do
	want="$(manifest "lab/$r" 1.0 >/dev/null && hdr Docker-Content-Digest)"
	got="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REGISTRY/lab/$r:1.0" 2>/dev/null | grep -F "$REGISTRY/lab/$r@" | head -n1 | cut -d@ -f2)"
	check_eq "back-$r" "lab/$r:1.0 is back, with the registry's digest" "$got" "$want"
done
pause

step "Run them"
run "docker run --rm $REGISTRY/lab/tools:1.0 lab-info"
run "docker run --rm $REGISTRY/lab/tools:1.0 sum-numbers"
check_eq tools-runs "the pulled lab/tools runs: sum of 1..20000" "$(tr -d '[:space:]' <"$OUT")" 200010000
finish
