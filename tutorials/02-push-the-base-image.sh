#!/usr/bin/env bash
# 02 — Build the base image and push it; read the registry's log of every
# request the push made.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker

title "02 · build and push lab/base"
explain "An image is a stack of layers (tar archives of files) plus a config (JSON: environment, command, the list of layer hashes) plus a manifest (JSON: which config, which layers, their sizes and digests). Pushing uploads each blob — layers and config — then the manifest that names them."
pause

step "The Dockerfile"
run cat "$LAB_ROOT/images/base/Dockerfile"
explain "FROM busybox gives the first layer. COPY, COPY and RUN each add one: four layers in all."
pause

step "Build it, named for the lab registry"
build_image base
run docker tag "$REGISTRY/lab/base:1.0" "$REGISTRY/lab/base:latest"
show_line "docker history $REGISTRY/lab/base:1.0"
docker history --format '{{.Size}}\t{{.CreatedBy}}' "$REGISTRY/lab/base:1.0" | cut -c1-110 | sed 's/^/     /'
explain "The name says where the image lives: $REGISTRY/lab/base means repository lab/base on the registry at $REGISTRY. Rows with a size other than 0B are layers; the others only change the config."
pause

step "Push it"
mark="$(log_mark)"
runi docker push "$REGISTRY/lab/base:1.0"
explain "Docker sends each layer it does not find in the registry ('Pushed'), then the manifest. Pushed again, the same image sends nothing but the manifest: 'Layer already exists'."
pause

step "What the registry saw"
explain "The log of that push, request by request. For each blob: HEAD /v2/lab/base/blobs/<digest> → 404 (not here yet), POST …/blobs/uploads/ → 202 (an upload session, its URL in Location), PATCH <location> → 202 (the bytes), PUT <location>?digest=… → 201 (commit: the registry checks the hash). Last: PUT …/manifests/1.0 → 201."
show_log_since "$mark" ' → '
explain "Between those access lines the log has the registry's learner events (REGISTRY_LOG_LEVEL=debug), lines with » and an event= field. Counted:"
event_counts "$mark"
note "Read them all: docker compose logs registry | grep 'event='   — upload_started, chunk_received and blob_committed once per blob, then manifest_pushed with layers=4."
pause

step "Push the second tag"
mark2="$(log_mark)"
runi docker push "$REGISTRY/lab/base:latest"
show_log_since "$mark2" 'event='
explain "Same image, same digests: every blob is found by HEAD (event=blob_exists) and only the manifest is sent again, under a new tag. A tag is only a name pointing at a manifest digest."
pause

step "Ask the registry what it stored"
http HEAD "/v2/lab/base/manifests/1.0" -H "Accept: $ACCEPT_MANIFESTS"
head_status="$HTTP_STATUS"
digest="$(hdr Docker-Content-Digest)"
layers="$(manifest lab/base 1.0 | jq '.layers | length')"
latest_digest="$(manifest lab/base latest >/dev/null && hdr Docker-Content-Digest)"
local_digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REGISTRY/lab/base:1.0" | grep -F "$REGISTRY/lab/base@" | head -n1 | cut -d@ -f2)"
explain "Docker-Content-Digest is the sha256 of the manifest's bytes: the image's identity in the registry. docker remembers it as the image's RepoDigest: $local_digest"

step "Checks"
check_eq "lab/base:1.0 is in the registry" "$head_status" 200
check_eq "its manifest lists 4 layers (busybox + 3 of its own)" "$layers" 4
check_eq "docker's RepoDigest is the registry's digest" "$local_digest" "$digest"
check_eq "lab/base:latest points at the same manifest" "$latest_digest" "$digest"
if [[ -n "$(registry_container)" ]]; then
	check "the log shows event=manifest_pushed" grep -q 'event=manifest_pushed' <(log_since "$mark")
	check "the second push found every blob (event=blob_exists)" grep -q 'event=blob_exists' <(log_since "$mark2")
	uploads="$(log_since "$mark2" | grep -c 'event=upload_started' || true)"
	check_eq "the second push uploaded nothing (no event=upload_started)" "$uploads" 0
fi
finish
