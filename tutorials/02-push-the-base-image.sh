#!/usr/bin/env bash
# 02 — Build the base image and push it; read the registry's log of every
# request the push made.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker

# count WORD FILE: how many lines of FILE contain WORD.
count() { grep -c -- "$1" "$2" || true; }
# event N EVENT: how many EVENT lines the event count in the file $OUT shows.
event() { awk -v e="event=$1" '$2 == e { print $1; found = 1 } END { if (!found) print 0 }' "$OUT"; }

title "02 · build and push lab/base"
explain <<'TEXT'
An image is a stack of layers (tar archives of files) plus a config (JSON: environment, command,
the list of layer hashes) plus a manifest (JSON: which config, which layers, their sizes and
digests). Pushing uploads each blob — layers and config — then the manifest that names them.
TEXT
pause

step "The Dockerfile"
run "cat images/base/Dockerfile"
explain <<TEXT
FROM $LAB_BASE_IMAGE gives the first layer: a Debian 12 userland, tens of MB — the layer every
image built on lab/base will share. COPY, COPY and RUN each add one: four layers in all.
TEXT
pause

step "Build it, named for the lab registry"
build_image base
run_once "docker tag $REGISTRY/lab/base:1.0 $REGISTRY/lab/base:latest"
run "docker history --format '{{.Size}}\t{{.CreatedBy}}' $REGISTRY/lab/base:1.0"
explain <<TEXT
The name says where the image lives: $REGISTRY/lab/base means repository lab/base on the
registry at $REGISTRY. Rows with a size other than 0B are layers; the others only change the
config.
TEXT
pause

step "Push it"
mark="$(log_mark)"
run_once "docker push $REGISTRY/lab/base:1.0"
cp "$OUT" "$W/push.txt"
pushed="$(count ': Pushed' "$W/push.txt")" existed="$(count ': Layer already exists' "$W/push.txt")"
check_eq push-ok "docker push succeeded" "$RC" 0
if ((existed == 0)); then
	explain <<TEXT
Docker sent all $pushed layers ('Pushed'): the registry had none of them. Then the config and,
last, the manifest ('digest: … size: …').
TEXT
else
	explain <<TEXT
$pushed layer(s) 'Pushed' and $existed 'Layer already exists': this registry already held those
(an earlier run of this tutorial pushed them), so docker did not send them again. The manifest
went anyway ('digest: … size: …').
TEXT
fi
pause

step "What the registry saw"
if ((pushed > 0)); then
	explain <<'TEXT'
The log of that push, request by request. For each layer docker sent: POST
/v2/lab/base/blobs/uploads/ → 202 (an upload session, its URL in Location), PATCH <location> →
202 (the bytes), PUT <location>?digest=… → 201 (the commit: the registry checks the hash), then
a HEAD of the blob → 200 (docker makes sure it is there). Docker asks HEAD first only for blobs
it may have pushed before — here the config: 404, then the same upload. Last: PUT
…/manifests/1.0 → 201.
TEXT
else
	explain <<'TEXT'
The log of that push, request by request: a HEAD per blob → 200 (the registry has it: docker
skips it), then PUT …/manifests/1.0 → 201.
TEXT
fi
show_log_since "$mark" ' → '
explain <<'TEXT'
Between those access lines the log has the registry's learner events (the lab runs with
REGISTRY_LOG_LEVEL=debug): lines with » and an event= field. Counted:
TEXT
run "$(log_cmd "$mark") | grep -oE 'event=[a-z_]+' | sort | uniq -c | sort -rn"
started="$(event upload_started)" committed="$(event blob_committed)" missing="$(event blob_missing)"
checked="$(event blob_checked)" exists="$(event blob_exists)" chunks="$(event chunk_received)"
fellback="$(event mount_fell_back)" cancelled="$(event upload_cancelled)"
explain <<TEXT
blob_committed $committed: one per blob docker sent ($pushed layer(s) 'Pushed', and the config
when the registry did not have it), each in an upload session — upload_started $started.
chunk_received $chunks: docker sends each blob in one PATCH, however big. blob_checked $checked:
after each commit docker asks again (HEAD), and the registry recognises the blob this client has
just pushed. blob_missing $missing: HEADs that found nothing. blob_exists $exists: blobs already
here, which docker skipped. manifest_pushed: the manifest, with its 4 layers.
TEXT
if ((fellback > 0)); then
	explain <<TEXT
mount_fell_back $fellback: before uploading, docker asked to mount layers from other repositories
of this registry — it remembers, in its own records, having pushed these layers to
$REGISTRY before (an earlier lab, since removed). This registry does not hold them, so each
attempt got an upload session instead, and its log says why. docker cancelled $cancelled of those
sessions (upload_cancelled) and sent the layer through the last one it got: hence
$committed commits for $started plain upload sessions.
TEXT
fi
check_eq commits-per-session "every upload session docker kept ended in one blob_committed" "$committed" "$((started + fellback - cancelled))"
check manifest-pushed-event "the log shows event=manifest_pushed" grep -q 'event=manifest_pushed' <(log_since "$mark")
pause

step "Push the second tag"
mark2="$(log_mark)"
run_once "docker push $REGISTRY/lab/base:latest"
second_pushed="$(count ': Pushed' "$OUT")"
show_log_since "$mark2" 'event='
uploads="$(log_since "$mark2" | grep -c 'event=upload_started' || true)"
found="$(log_since "$mark2" | grep -c 'event=blob_exists' || true)"
explain <<TEXT
Same image, same digests: docker's HEAD found every blob ($found times event=blob_exists: the 4
layers and the config), it sent nothing ('Layer already exists') but the manifest, under a new
tag. A tag is only a name pointing at a manifest digest.
TEXT
check_eq second-push-nothing-sent "the second push sent no layer ('Pushed' $second_pushed times)" "$second_pushed" 0
check_eq second-push-no-upload "… and opened no upload session (event=upload_started)" "$uploads" 0
check second-push-all-found "… and found every blob (event=blob_exists: $found)" test "$found" -ge 4
pause

step "Ask the registry what it stored"
http HEAD /v2/lab/base/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
digest="$(hdr Docker-Content-Digest)"
check_eq base-in-registry "lab/base:1.0 is in the registry" "$HTTP_STATUS" 200
check_eq base-4-layers "its manifest lists 4 layers (Debian + 3 of its own)" "$(manifest lab/base 1.0 | jq '.layers | length')" 4
check_eq latest-same "lab/base:latest points at the same manifest" "$(manifest lab/base latest >/dev/null && hdr Docker-Content-Digest)" "$digest"
run "docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' $REGISTRY/lab/base:1.0"
local_digest="$(grep -F "$REGISTRY/lab/base@" "$OUT" | head -n1 | cut -d@ -f2)"
check_eq repo-digest "docker's RepoDigest is the registry's digest" "$local_digest" "$digest"
explain <<'TEXT'
Docker-Content-Digest is the sha256 of the manifest's bytes: the image's identity in the
registry. docker remembers it as the image's RepoDigest — the same digest, as the last line of
the push said.
TEXT
finish
