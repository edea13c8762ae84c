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
explain "So far the registry only received. Now the other direction: we forget the lab images locally and fetch them again. A pull is the push in reverse: GET the manifest, then GET each blob the machine does not have yet."
pause

step "The lab images on this machine"
show_line "docker image ls '$REGISTRY/lab/*'"
docker image ls "$REGISTRY/lab/*" | sed 's/^/     /'

step "Remove them"
mapfile -t local_tags < <(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F "$REGISTRY/lab/" | grep -v ':<none>$' || true)
if ((${#local_tags[@]} > 0)); then
	show_cmd docker rmi "${local_tags[@]}"
	docker rmi "${local_tags[@]}" | grep -c . | sed 's/^/     /; s/$/ layers and tags removed/'
fi
gone=yes
for r in base app tools; do
	docker image inspect "$REGISTRY/lab/$r:1.0" >/dev/null 2>&1 && gone=no
done
explain "Untagged and deleted: nothing of lab/base, lab/app or lab/tools is left in docker's image store."
pause

step "Pull lab/app"
mark="$(log_mark)"
capture "$LAB_TMP/pull-app.txt" docker pull "$REGISTRY/lab/app:1.0"
explain "Each layer of lab/app is downloaded ('Pull complete'), the base's included: this machine has none of them now."
show_log_since "$mark" 'event=(manifest|blob)_pulled'
note "In the log: event=manifest_pulled, then event=blob_pulled for the config and each layer — GET /v2/lab/app/blobs/<digest> → 200 with 'out' the blob's size."
pause

step "Pull lab/tools, the sibling"
capture "$LAB_TMP/pull-tools.txt" docker pull "$REGISTRY/lab/tools:1.0"
explain "'Already exists': the base's layers arrived with lab/app, and docker knows them by digest. Only the layers of lab/tools itself travel. Sharing works on the pulling side too."
pause

step "Pull lab/base"
capture "$LAB_TMP/pull-base.txt" docker pull "$REGISTRY/lab/base:1.0"
explain "Every layer is already here: docker fetched the manifest and config only, and tagged the image."
pause

step "Run them"
runi docker run --rm "$REGISTRY/lab/tools:1.0" lab-info
capture "$LAB_TMP/sum.txt" docker run --rm "$REGISTRY/lab/tools:1.0" sum-numbers
pause

step "Checks"
check_eq "the local images were removed first" "$gone" yes
for r in base app tools; do
	want="$(manifest "lab/$r" 1.0 >/dev/null && hdr Docker-Content-Digest)"
	got="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REGISTRY/lab/$r:1.0" 2>/dev/null | grep -F "$REGISTRY/lab/$r@" | head -n1 | cut -d@ -f2)"
	check_eq "lab/$r:1.0 is back, with the registry's digest" "$got" "$want"
done
check "lab/app's layers were downloaded (Pull complete)" grep -q 'Pull complete' "$LAB_TMP/pull-app.txt"
shared="$(grep -c 'Already exists' "$LAB_TMP/pull-tools.txt" || true)"
check "lab/tools reused the 4 base layers already pulled ($shared 'Already exists')" test "$shared" -ge 4
check "lab/base needed no layer download" bash -c "! grep -q 'Pull complete' '$LAB_TMP/pull-base.txt'"
check_eq "the pulled lab/tools runs: sum of 1..20000" "$(tr -d '[:space:]' <"$LAB_TMP/sum.txt")" 200010000
if [[ -n "$(registry_container)" ]]; then
	check "the log shows event=manifest_pulled" grep -q 'event=manifest_pulled' <(log_since "$mark")
	check "the log shows event=blob_pulled" grep -q 'event=blob_pulled' <(log_since "$mark")
fi
finish
