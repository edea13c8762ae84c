#!/usr/bin/env bash
# The scale lab end to end (compose.scale.yaml): three registry replicas on
# a SeaweedFS cluster behind Caddy, collecting garbage every minute each,
# with real clients and real faults:
#
#   1. crane, skopeo and docker push and pull through the balancer;
#   2. a chunked upload (POST, PATCHes, PUT) whose requests reach all three
#      replicas (their access logs say so), digest verified;
#   3. a replica killed (SIGKILL) during a loop of pushes: clients that
#      retry succeed, and every acknowledged image pulls whole;
#   4. a SeaweedFS volume server stopped: every image still pulls, every
#      digest verified;
#   5. a tag moved through one replica is read back from the other two at
#      once (their own ports);
#   6. garbage collection scheduled on all three (--gc-interval 1m) runs
#      one collection at a time, sweeps garbage, and loses nothing of
#      concurrent pushes.
#
# It starts the lab itself (make up-scale, JSON logs) and stops it at the
# end (down -v), whatever happened.
#
#   bash scripts/scale-e2e.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/scale-lib.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-lib.sh"
cd "$LAB_ROOT"
export PATH="$LAB_ROOT/.tools/bin:$PATH"
need_tools docker crane skopeo jq curl

if scale_answers; then
	die "the scale lab already answers at $SCALE_URL: this test starts and deletes its own — stop that one first (make down)"
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerlab-scale-e2e.XXXXXX")"
export DOCKER_CONFIG="$WORK/docker"
mkdir -p "$DOCKER_CONFIG"
REG="$SCALE_ADDR"
ACKED="$WORK/acked" # REF DIGEST, one line per push a client saw succeed
: >"$ACKED"
DOCKER_IMAGES=()

cleanup() {
	if ((LAB_RC != 0 || LAB_FAILED != 0)); then
		scale_compose ps 2>/dev/null || true
		for s in r1 r2 r3 lb; do
			say "$s's log (last 10 lines):"
			scale_compose logs --no-color --tail 10 "$s" 2>/dev/null | cut -c1-240 | sed 's/^/  | /' || true
		done
	fi
	((${#DOCKER_IMAGES[@]} == 0)) || docker rmi -f "${DOCKER_IMAGES[@]}" >/dev/null 2>&1 || true
	scale_compose down -v --remove-orphans >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
on_exit cleanup

# layer FILE SIZE: a tarball holding SIZE random bytes.
layer() {
	mkdir -p "$WORK/l"
	head -c "$2" /dev/urandom >"$WORK/l/data"
	tar -C "$WORK/l" -cf "$1" data
}

# push REF: a one-layer image of fresh random bytes pushed with crane,
# retried up to 5 times (a replica may be gone mid-push); on success the
# reference and its digest go to ACKED.
push() {
	local ref="$1" tar="$WORK/push-$RANDOM$RANDOM.tar" i d
	layer "$tar" $((200000 + RANDOM * 8))
	for i in 1 2 3 4 5; do
		if d="$(crane append --insecure -f "$tar" -t "$REG/$ref" 2>>"$WORK/push.log")"; then
			echo "$ref ${d##*@}" >>"$ACKED"
			rm -f "$tar"
			return 0
		fi
		echo "push $ref: attempt $i failed" >>"$WORK/push.log"
		sleep 1
	done
	rm -f "$tar"
	return 1
}

# intact [ADDR]: every acknowledged image, pulled (through the balancer,
# or ADDR) with every blob's digest and size verified, is still what its
# push acknowledged; says which are not.
intact() {
	local addr="${1:-$REG}" ref d bad=0 got
	while read -r ref d; do
		got="$(crane digest --insecure "$addr/$ref" 2>&1)" || true
		if [[ "$got" != "$d" ]]; then
			echo "$ref: digest '$got', acknowledged $d"
			bad=1
			continue
		fi
		crane validate --insecure --remote "$addr/$ref@$d" >/dev/null 2>&1 || {
			echo "$ref@$d does not validate: $(crane validate --insecure --remote "$addr/$ref@$d" 2>&1 | tail -n1)"
			bad=1
		}
	done < <(awk '{last[$1] = $2} END {for (r in last) print r, last[r]}' "$ACKED")
	return "$bad"
}

# intact_each: intact from each replica's own port.
intact_each() {
	local r
	for r in "${SCALE_REPLICAS[@]}"; do
		intact "$(replica_addr "$r")" || return 1
	done
}

say "starting the scale lab: garbage collection every minute on each replica, 30 s grace"
T0="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
LAB_SCALE_GC_INTERVAL=1m LAB_SCALE_GC_GRACE=30s REGISTRY_LOG_FORMAT=json REGISTRY_LOG_LEVEL=info bash scripts/scale-up.sh

# Garbage for the collectors: an image whose manifest is deleted at once.
push e2e/garbage:1
gd="$(awk '$1 == "e2e/garbage:1" {print $2}' "$ACKED")"
sed -i '/^e2e\/garbage:1 /d' "$ACKED"
check scale-garbage "an image pushed, then its manifest deleted (garbage for the collectors)" \
	curl -fsS -o /dev/null -X DELETE "$SCALE_URL/v2/e2e/garbage/manifests/$gd"

say "1. crane, skopeo and docker through the balancer"
check scale-crane-push "crane: push e2e/crane:1 through the balancer" push e2e/crane:1
check scale-crane-pull "crane: pull it back, every digest verified" intact
check scale-skopeo-copy "skopeo: copy e2e/crane:1 to e2e/skopeo:1 through the balancer" \
	skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/e2e/crane:1" "docker://$REG/e2e/skopeo:1"
check scale-skopeo-pull "skopeo: pull e2e/skopeo:1 into an OCI layout" \
	skopeo copy -q --src-tls-verify=false "docker://$REG/e2e/skopeo:1" "oci:$WORK/oci:skopeo"
check_eq scale-skopeo-digest "skopeo: e2e/skopeo:1 has e2e/crane:1's digest" \
	"$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/e2e/skopeo:1" 2>&1)" \
	"$(crane digest --insecure "$REG/e2e/crane:1" 2>&1)"
layer "$WORK/docker.tar" 300000
docker import "$WORK/docker.tar" "$REG/e2e/docker:1" >/dev/null
DOCKER_IMAGES+=("$REG/e2e/docker:1")
check scale-docker "docker: push, rmi, pull e2e/docker:1 through the balancer" bash -c "
	docker push -q '$REG/e2e/docker:1' >/dev/null && docker rmi '$REG/e2e/docker:1' >/dev/null &&
	docker pull -q '$REG/e2e/docker:1' >/dev/null"
echo "e2e/docker:1 $(crane digest --insecure "$REG/e2e/docker:1")" >>"$ACKED"

say "2. one chunked upload, its requests spread over the replicas"
# shellcheck source=scripts/scale-chunked.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-chunked.sh"
chunked_push e2e/chunked "$WORK/chunked" 4
check scale-chunked-digest "the chunked blob is stored under its digest, verified" test "$CHUNKED_GOT" = "$CHUNKED_WANT"
check_eq scale-chunked-replicas "the upload's requests, by the replicas' access logs, reached $CHUNKED_SEEN" "$CHUNKED_SEEN" "r1 r2 r3"
check_eq scale-chunked-header "and by the balancer's X-Layerlab-Replica header, $CHUNKED_HEADERS" "$CHUNKED_HEADERS" "r1 r2 r3"

say "3. a replica killed (SIGKILL) during a loop of pushes"
: >"$WORK/loop-failed"
(for i in $(seq 1 12); do push "e2e/loop:$i" || echo "e2e/loop:$i" >>"$WORK/loop-failed"; done) &
loop=$!
sleep 3
check scale-kill "docker kill r2 (SIGKILL) in the middle of the pushes" docker kill --signal KILL "$(scale_container r2)"
wait "$loop" || true
say "push attempts that failed and were retried: $(grep -c 'failed$' "$WORK/push.log" || true)"
check_eq scale-kill-pushes "pushes that failed after 5 tries each" "$(wc -l <"$WORK/loop-failed")" 0
check scale-kill-intact "every acknowledged image pulls whole through the balancer" intact
scale_compose start r2 >/dev/null 2>&1
check scale-kill-back "r2 started again, healthy, back behind the balancer" scale_wait 90

say "4. a SeaweedFS volume server stopped"
scale_compose stop volume1 >/dev/null 2>&1
check scale-volume-intact "volume1 stopped: every image still pulls, every digest verified" intact
scale_compose start volume1 >/dev/null 2>&1
check scale-volume-back "volume1 started again" scale_wait 90 volume1 r1 r2 r3

say "5. a tag moved through one replica, read back from the other two at once"
for by in r1 r2 r3; do
	REG="$(replica_addr "$by")" push e2e/moved:latest
	want="$(tail -n1 "$ACKED" | cut -d' ' -f2)"
	seen="" expect=""
	for other in r1 r2 r3; do
		[[ "$other" != "$by" ]] || continue
		got="$(crane digest --insecure "$(replica_addr "$other")/e2e/moved:latest" 2>&1 || true)"
		seen+="$other=$([[ "$got" == "$want" ]] && echo new || echo "old:$got") "
		expect+="$other=new "
	done
	check_eq "scale-moved-$by" "e2e/moved:latest moved through $by, then read from the other two" "${seen% }" "${expect% }"
done

# shellcheck source=scripts/scale-gc.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-gc.sh"
say "6. garbage collection on all three, under concurrent pushes"
gc_under_pushes "$T0"
check scale-gc-ran "collections ran during the pushes ($GC_RUNS)" test "$GC_DURING" -gt 0
check scale-gc-swept "a collection swept the deleted image's blobs" test "$GC_SWEPT" -gt 0
check scale-gc-one-at-a-time "no two collections overlapped ($GC_OVERLAPS)" test -z "$GC_OVERLAPS"
check_eq scale-gc-pushes "pushes that failed during the collections" "$GC_PUSH_FAILED" 0
check scale-gc-intact "every acknowledged image pulls whole after the collections" intact
check scale-gc-intact-replicas "and from each replica directly" intact_each
finish
