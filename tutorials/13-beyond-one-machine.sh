#!/usr/bin/env bash
# 13 — Beyond one machine: three registry replicas on a distributed object
# store (a SeaweedFS cluster), behind a load balancer (Caddy). Watch one
# push spread over the replicas, kill a replica in the middle of a push and
# finish it, stop a volume server and still pull, and find the registry's
# tree in the bucket with s3cmd.
#
# Needs the scale lab (compose.scale.yaml, project layerlab-scale, the
# balancer on 127.0.0.1:${LAB_SCALE_PORT:-5080}). When it does not answer,
# this tutorial starts it (make up-scale) — and leaves it running. Stop it
# with make down.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# shellcheck source=scripts/scale-lib.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-lib.sh"
# shellcheck source=scripts/scale-chunked.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-chunked.sh"
need_tools docker curl jq s3cmd tar sha256sum
LB="$SCALE_ADDR"
S3CMD="s3cmd --host=${SCALE_S3_URL#http://} --host-bucket=${SCALE_S3_URL#http://} --no-ssl --access_key=layerlab --secret_key=layerlab-secret-key"

title "13 · beyond one machine"
explain <<'TEXT'
One registry process on one disk is a single point of failure: if the machine dies, the registry
is gone, and one machine serves only so many clients. Registries at scale run several identical,
stateless processes — replicas — behind a load balancer, all keeping their data in one shared,
replicated object store. The scale lab builds exactly that on this machine:

  client ─▶ lb (Caddy, 127.0.0.1:5080) ─▶ r1 | r2 | r3   (registry serve --storage s3)
                                                │
                          s3 (weed s3, the S3 API) ─▶ filer (names → chunks)
                                                │
                          volume1, volume2 (the bytes, each stored on both: replication 001)
                          master (which volume lives on which volume server)

Each box is a container on a private network; only the balancer, each replica's own port (for
this tutorial) and the S3 gateway are published, on 127.0.0.1.
TEXT
pause

step "Start the scale lab"
if scale_answers; then
	explain "It already answers at $SCALE_URL: nothing to start."
else
	explain "It does not answer yet: build its images (weed and Caddy come from binaries in ~/.cache) and start it."
	run_once "make up-scale"
	((RC == 0)) || die "the scale lab did not start"
fi
run_once "$SCALE_CMD ps"
check scale-up "three replicas healthy, the balancer answers" scale_wait 60
pause

step "Who answers? Ask the balancer three times"
run_once "for i in 1 2 3; do curl -sS -o /dev/null -D - $SCALE_URL/v2/ | grep -i '^x-layerlab-replica'; done"
check_eq scale-round-robin "three requests, three replicas" "$(tr -d '\r' <"$OUT" | awk '{print $2}' | sort -u | xargs)" "r1 r2 r3"
explain <<'TEXT'
Round robin: each request goes to the next healthy replica. Caddy adds X-Layerlab-Replica to
every response, and each replica writes its name (--instance) on each access-log line.
TEXT
pause

step "One push, three replicas"
explain "An image of one random layer, imported into docker and pushed through the balancer:"
run_once "head -c 3000000 /dev/urandom > $W/data && tar -C $W -cf $W/layer.tar data && docker import $W/layer.tar $LB/lab/scale:1 >/dev/null"
mark="$(log_mark)"
names="$(for r in r1 r2 r3; do printf '%s ' "$(container_name "$(scale_container "$r")")"; done)"
run_once "docker push -q $LB/lab/scale:1"
push_rc="$RC"
pushed="$(grep -oE 'sha256:[0-9a-f]{64}' "$OUT" | tail -n1 || true)"
[[ -n "$pushed" ]] || pushed="$(docker image inspect --format '{{join .RepoDigests " "}}' "$LB/lab/scale:1" | grep -oE 'sha256:[0-9a-f]{64}' | head -n1 || true)"
sleep 0.3
run "for c in ${names% }; do docker logs --since $mark --until $(log_mark) \$c 2>&1; done | grep -E '(POST|PATCH|PUT) /v2/lab/scale/' | grep -oE '^[0-9:.]+|(POST|PATCH|PUT) [^ ]+ → [0-9]+|instance=r[0-9]' | paste -d' ' - - - | cut -c1-140"
served="$(grep -oE 'instance=r[123]' "$OUT" | sort -u | cut -d= -f2 | xargs || true)"
check_eq scale-push "docker push through the balancer succeeded" "$push_rc" 0
check scale-push-spread "the push's requests were served by more than one replica ($served)" test "$(wc -w <<<"$served")" -ge 2
explain <<'TEXT'
The layer's POST (open an upload), PATCH (its bytes) and PUT (commit, digest verified) went to
different replicas, one after another — yet the push is whole. An upload session is not held
in a process: its bytes go to the bucket as they arrive (multipart), and its state (the size so
far, the running hash) is an object too. Whichever replica gets the next request reads it there
and carries on.
TEXT
pause

step "Kill a replica in the middle of a push"
explain <<'TEXT'
This time by hand, with curl, one request at a time: open an upload, send the first of four
chunks, then kill (SIGKILL, no goodbye) the replica that took that chunk — and send the rest.
TEXT
mkdir -p "$W/chunks"
head -c $((4 << 20)) /dev/urandom >"$W/chunks/blob"
split -b $((1 << 20)) -d -a 3 "$W/chunks/blob" "$W/chunks/chunk."
want="$(sha256_of "$W/chunks/blob")"
run_once "curl -sS -o /dev/null -D - -X POST $SCALE_URL/v2/lab/chunked/blobs/uploads/ | grep -iE '^(HTTP|location|x-layerlab-replica)'"
loc="$(tr -d '\r' <"$OUT" | awk 'tolower($1) == "location:" {print $2}')"
[[ -n "$loc" ]] || die "the registry opened no upload session (no Location): $(head -n1 "$OUT")"
run_once "curl -sS -o /dev/null -D - -X PATCH -H 'Content-Type: application/octet-stream' -H 'Content-Range: 0-1048575' --data-binary @$W/chunks/chunk.000 '$SCALE_URL$loc' | grep -iE '^(location|range|x-layerlab-replica)'"
loc="$(tr -d '\r' <"$OUT" | awk 'tolower($1) == "location:" {print $2}')"
victim="$(tr -d '\r' <"$OUT" | awk 'tolower($1) == "x-layerlab-replica:" {print $2}')"
[[ -n "$victim" ]] || victim=r2
run_once "docker kill $(container_name "$(scale_container "$victim")")"
for i in 1 2 3; do
	for _ in 1 2; do
		run_once "curl -sS -o /dev/null -D - -X PATCH -H 'Content-Type: application/octet-stream' -H 'Content-Range: $((i << 20))-$((((i + 1) << 20) - 1))' --data-binary @$W/chunks/chunk.00$i '$SCALE_URL$loc' | grep -iE '^(HTTP|location|range|x-layerlab-replica)'"
		! grep -q ' 202' "$OUT" || break
		explain "Not accepted (the balancer had just lost $victim): the session is intact, send the chunk again."
	done
	loc="$(tr -d '\r' <"$OUT" | awk 'tolower($1) == "location:" {print $2}')"
done
sep='?'
[[ "$loc" != *'?'* ]] || sep='&'
run_once "curl -sS -o /dev/null -D - -X PUT '$SCALE_URL$loc${sep}digest=$want' | grep -iE '^(HTTP|docker-content-digest|x-layerlab-replica)'"
check scale-kill-commit "the upload, begun on $victim, committed after $victim was killed" grep -q ' 201' "$OUT"
run "curl -sS $SCALE_URL/v2/lab/chunked/blobs/$want | sha256sum"
check_eq scale-kill-digest "what the registry serves has the digest sent" "sha256:$(cut -d' ' -f1 "$OUT")" "$want"
explain <<TEXT
$victim died with the upload half done; the balancer noticed (a failed connection, then its
health checks on /readyz) and sent the next chunks to the others, which found the session in the
bucket. Nothing a client needs was in $victim's memory. Start it again:
TEXT
run_once "$SCALE_CMD start $victim"
check scale-kill-back "$victim is healthy again, back behind the balancer" scale_wait 90
pause

step "Stop a volume server, pull everything"
explain <<'TEXT'
SeaweedFS keeps every chunk on two volume servers (-defaultReplication=001: one more copy on
another server of the same rack). Stop one of them and pull both images back, every byte
checked against its digest:
TEXT
run_once "$SCALE_CMD stop volume1"
run_once "docker rmi -f $LB/lab/scale:1 >/dev/null; docker pull -q $LB/lab/scale:1"
pull_rc="$RC"
run_once "curl -sS $SCALE_URL/v2/lab/chunked/blobs/$want | sha256sum"
check_eq scale-volume-pull "docker pull with volume1 stopped" "$pull_rc" 0
check_eq scale-volume-blob "the chunked blob with volume1 stopped" "sha256:$(cut -d' ' -f1 "$OUT")" "$want"
run_once "$SCALE_CMD start volume1"
explain <<'TEXT'
Reads go on; writes would fail until volume1 is back (every chunk must land on two servers),
which is SeaweedFS's choice for this replication setting: safety over availability.
TEXT
pause

step "The bucket, with an S3 client: the same tree as on disk"
run "$S3CMD ls s3://layerlab/repositories/lab/scale/_manifests/tags/"
run "$S3CMD get --quiet s3://layerlab/repositories/lab/scale/_manifests/tags/1 - ; echo"
tag="$(grep -oE 'sha256:[0-9a-f]{64}' "$OUT" | head -n1 || true)"
check_eq scale-bucket-tag "the tag object holds the digest docker pushed" "$tag" "$pushed"
hex="${tag#sha256:}"
run "$S3CMD ls s3://layerlab/blobs/sha256/${hex:0:2}/"
explain <<'TEXT'
The keys are the paths of tutorial 10's tree: blobs/sha256/ab/<hex> for every blob once,
repositories/<name>/_manifests/tags/<tag> holding a digest, _layers and revisions links. The
store is the same; only the driver under it changed (registry/storage/driver/s3).
TEXT
pause

step "What is shared, what each replica keeps, and why there is still no database server"
explain <<'TEXT'
Shared, in the bucket: every blob, manifest, tag, link, referrer, upload session, and the
store's generation (a small object every write replaces: the explorer's index rebuilds when it
moves). Kept in each replica: a cache of manifest bytes by digest (a digest names its content
forever: never stale), locks that order its own requests, running totals for the metrics
(counted again when the generation shows another replica wrote), the explorer's index. Nothing
a client relies on lives only in one process, so any replica can die at any moment.

Why no database server: every question the registry answers is a key lookup or a listing of a
prefix — "what does this tag point at", "which manifests does this repository have" — and an
object store answers those itself, with atomic replacement of whole objects. A tag move is one
PUT; two replicas moving one tag at once end with one of the two values. What a database
would add (transactions across keys) the layout does not need.
TEXT
finish
