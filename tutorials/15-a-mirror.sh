#!/usr/bin/env bash
# 15 — A mirror: a pull-through cache in front of another registry. The
# lab's registry plays "Docker Hub" (the lab has no internet); a second
# registry, the mirror, serves hub/NAME from it. Push an image upstream,
# pull it through the mirror (the miss: fetched, streamed and stored), pull
# it again (the hit), see that the cache is ordinary content, that hub/ is
# read-only, then stop the upstream and pull once more: the mirror serves
# what it cached and says so in its log.
#
# Runs against the mirror variant: compose.yaml + compose.mirror.yaml under
# a project of its own (LAB_MIRROR_PROJECT, default layerlab-mirror), the
# upstream on 127.0.0.1:${LAB_HUB_PORT:-5001}, the mirror on
# 127.0.0.1:${LAB_MIRROR_PORT:-5002}. It starts the variant when it does
# not answer, and leaves it running (the upstream started again). Stop it:
#
#   LAB_PORT=5001 docker compose (or docker-compose) -p layerlab-mirror -f compose.yaml -f compose.mirror.yaml down -v
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_tools docker curl jq tar
cd "$LAB_ROOT"

HUB_PORT="${LAB_HUB_PORT:-5001}"
MIRROR_PORT="${LAB_MIRROR_PORT:-5002}"
PROJECT="${LAB_MIRROR_PROJECT:-layerlab-mirror}"
HUB="127.0.0.1:$HUB_PORT"
MIR="127.0.0.1:$MIRROR_PORT"
UP_CMD="LAB_PORT=$HUB_PORT LAB_MIRROR_PORT=$MIRROR_PORT $LAB_COMPOSE -p $PROJECT -f compose.yaml -f compose.mirror.yaml"

mc() { LAB_PORT="$HUB_PORT" LAB_MIRROR_PORT="$MIRROR_PORT" COMPOSE_P="$PROJECT" compose -f "$LAB_ROOT/compose.mirror.yaml" "$@"; }
answers() { [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$1/v2/" || true)" == 200 ]]; }
mirror_id() { mc ps -q mirror 2>/dev/null | head -n1; }
# mirror_log MARK ERE: the mirror's log lines since MARK matching ERE, with
# the command that reads them.
mirror_log() {
	run "docker logs --since $1 --until $(log_mark) $(container_name "$(mirror_id)") 2>&1 | grep -E '$2'"
}
# Whatever happens, the upstream runs again at the end.
on_exit "LAB_PORT=$HUB_PORT LAB_MIRROR_PORT=$MIRROR_PORT COMPOSE_P=$PROJECT compose -f '$LAB_ROOT/compose.mirror.yaml' start registry >/dev/null 2>&1"

title "15 · a mirror: pull through, keep working when the upstream is down"
explain <<'TEXT'
Every `docker pull alpine` goes to Docker Hub: slow from far away, counted against a rate limit,
and impossible when Docker Hub (or the network) is down. Teams put a mirror in between: a registry
that fetches an image from the upstream the first time someone pulls it, keeps it, and serves it
from then on — even when the upstream is gone. This registry does it for repositories under a
prefix: with --mirror hub/=https://registry-1.docker.io, hub/library/alpine here is library/alpine
there. Beside them, ordinary repositories work as before.
TEXT
pause

step "Start the mirror variant"
run "grep -E '^ +(REGISTRY_[A-Z_]+:|- \"127)' compose.mirror.yaml"
explain <<TEXT
Two registries from one image: the lab's 'registry' service plays Docker Hub on $HUB; the
'mirror' service, on $MIR, maps hub/ to it by its service name, http://registry:5000. A tag it
cached is checked upstream again after 10 s (REGISTRY_MIRROR_TTL; days would be usual).
TEXT
if answers "$HUB" && answers "$MIR"; then
	explain "Both already answer: nothing to start."
else
	# The registry image of the plain lab serves here too, once it knows
	# --mirror (an image built before the mirror existed is rebuilt).
	build=""
	docker run --rm --network none "layerlab/registry:${LAYERLAB_VERSION:-dev}" serve --help 2>&1 | grep -q -- "-mirror-ttl" || build=" --build"
	run_once "$UP_CMD up -d$build"
	deadline=$((SECONDS + 120))
	until answers "$HUB" && answers "$MIR"; do
		((SECONDS < deadline)) || die "the mirror variant did not come up"
		sleep 1
	done
fi
check both-registries-answer "the upstream ($HUB) and the mirror ($MIR) answer" bash -c "curl -fsS -o /dev/null http://$HUB/v2/ && curl -fsS -o /dev/null http://$MIR/v2/"
pause

step "An image on \"Docker Hub\""
explain <<'TEXT'
A small image of our own, made from one file (so that no other image on this machine shares its
layer): imported into docker, pushed to the upstream, then removed locally — docker must fetch
its layer again, through the mirror.
TEXT
mkdir -p "$W/rootfs"
printf 'hello from the upstream, %s\n' "$(date -u +%FT%TZ) $RANDOM$RANDOM" >"$W/rootfs/hello.txt"
run_once "tar -C $W/rootfs -c . | docker import - $HUB/lab/hello:1.0"
run_once "docker push $HUB/lab/hello:1.0"
pushed="$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$HUB/v2/lab/hello/manifests/1.0" | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }' || true)"
check pushed-upstream "lab/hello:1.0 is on the upstream ($pushed)" is_digest "$pushed"
run_once "docker rmi $HUB/lab/hello:1.0"
pause

step "Pull through the mirror: a miss"
mark="$(log_mark)"
run_once "docker pull $MIR/hub/lab/hello:1.0"
check first-pull "docker pulled $MIR/hub/lab/hello:1.0" test "$RC" = 0
pulled="$(grep -oE 'sha256:[0-9a-f]{64}' "$OUT" | tail -n1 || true)"
check_eq same-digest "the digest docker got is the upstream's" "$pulled" "$pushed"
mirror_log "$mark" 'cache miss|fetched from upstream|streaming'
explain <<'TEXT'
The mirror had nothing: "cache miss: fetching hub/lab/hello:1.0 from upstream" — it asked the
upstream for the manifest (go-containerregistry's client does the login dance real registries
want) and stored it. Then the layer: docker got its bytes as they arrived from the upstream,
while the mirror hashed them and wrote them into its own store through an ordinary upload
session; the blob became visible there only once its digest matched. Had ten clients asked at
once, the upstream would still have sent it once.
TEXT
check miss-logged "the mirror logged the miss" bash -c "docker logs --since $mark $(mirror_id) 2>&1 | grep -q 'cache miss: fetching hub/lab/hello:1.0 from upstream'"
pause

step "Pull again: a hit"
run_once "docker rmi $MIR/hub/lab/hello:1.0"
mark="$(log_mark)"
run_once "docker pull $MIR/hub/lab/hello:1.0"
mirror_log "$mark" 'served from cache|cache miss'
check hit-logged "the second pull was served from the cache" bash -c "docker logs --since $mark $(mirror_id) 2>&1 | grep -q 'served from cache'"
check no-second-miss "… without a miss" bash -c "! docker logs --since $mark $(mirror_id) 2>&1 | grep -q 'cache miss'"
explain <<'TEXT'
Within the TTL the tag is not even checked upstream; after it, one HEAD request compares the
digest, and only a tag that moved is fetched again. A manifest by digest never changes: it is
served from the cache forever.
TEXT
pause

step "The cache is ordinary content"
run "curl -s http://$MIR/v2/hub/lab/hello/tags/list | jq -c ."
run_once "curl -s http://$MIR/api/du | jq -c '.repositories[] | {name, manifests, tags}'"
explain <<'TEXT'
The mirror stored hub/lab/hello like any pushed repository: a tag, a revision, layer links.
du, the query API, SQL and garbage collection see it (--mirror-max-age evicts what nobody
pulled for a while; gc then frees the bytes).
TEXT
check tag-cached "the mirror lists the cached tag" bash -c "curl -s http://$MIR/v2/hub/lab/hello/tags/list | jq -e '.tags == [\"1.0\"]'"
pause

step "hub/ is read-only"
run_once "docker tag $MIR/hub/lab/hello:1.0 $MIR/hub/lab/hello:mine"
run_once "docker push $MIR/hub/lab/hello:mine"
cp "$OUT" "$W/push.out"
check push-denied "docker push into hub/ was denied" grep -qi 'denied' "$W/push.out"
run_once "docker rmi $MIR/hub/lab/hello:mine"
explain <<'TEXT'
403 DENIED: "hub/lab/hello is a read-only mirror of http://registry:5000/lab/hello: push to the
upstream instead". The upstream alone decides what hub/ holds. Any other repository of the mirror
takes pushes as usual.
TEXT
pause

step "Stop the upstream, pull again"
run_once "$UP_CMD stop registry"
explain "The upstream is down. Wait past the 10 s TTL, so that the mirror wants to check the tag:"
sleep 11
run_once "docker rmi $MIR/hub/lab/hello:1.0"
mark="$(log_mark)"
run_once "docker pull $MIR/hub/lab/hello:1.0"
check pull-upstream-down "the image still pulls with the upstream down" test "$RC" = 0
mirror_log "$mark" 'upstream down|stale'
check stale-logged "the mirror said it served a stale tag" bash -c "docker logs --since $mark $(mirror_id) 2>&1 | grep -q 'upstream down: serving the cached digest from'"
run_once "curl -s http://$MIR/v2/hub/lab/never-cached/manifests/1.0 | jq -c ."
check uncached-503 "what was never cached answers 503 UNAVAILABLE" bash -c "curl -s -o /dev/null -w '%{http_code}' http://$MIR/v2/hub/lab/never-cached/manifests/1.0 | grep -qx 503"
explain <<'TEXT'
"upstream down: serving the cached digest from … s ago": the tag could not be checked, so the
mirror served what it had, and said so (a warning line too, for whoever watches the logs). Only
what it never cached is out of reach.
TEXT
run_once "$UP_CMD start registry"
note "Look for: event=mirror_miss, mirror_hit, mirror_stale in the mirror's log ($UP_CMD logs mirror)."

pause
finish
