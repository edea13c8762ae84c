# shellcheck shell=bash disable=SC2034 # sets variables its caller reads
# Garbage collection across the scale lab's replicas, read from their JSON
# logs: each collection ends with a line
#
#   {"time":"…","level":"info","msg":"garbage collection done","duration_ms":N,"deleted_blobs":N,…}
#
# so it ran from time - duration_ms to time. Sourced by scale-e2e.sh.
#
#   gc_under_pushes SINCE
#
# pushes images in a loop (bounded) for at least 65 s — every replica's
# 1-minute schedule falls inside — and until a collection ended during the
# loop, at most 150 s; then sets GC_DURING (collections that ran within
# the loop), GC_SWEPT (blobs the collections since SINCE deleted),
# GC_RUNS ("r1: N, r2: N, r3: N" since SINCE), GC_OVERLAPS (pairs of
# collections since SINCE that ran at the same time, "" when none) and
# GC_PUSH_FAILED (pushes that failed after their retries).

# gc_runs SINCE: one JSON object a line, {r, start, stop, deleted} in
# milliseconds since the epoch, for every collection since SINCE.
gc_runs() {
	local r
	for r in "${SCALE_REPLICAS[@]}"; do
		scale_log "$r" "$1" | cut -d' ' -f2- | jq -c --arg r "$r" '
			select(.msg? == "garbage collection done")
			| ((.time[0:19] + "Z" | fromdateiso8601) * 1000 + (.time[20:23] | tonumber)) as $stop
			| {r: $r, start: ($stop - .duration_ms), stop: $stop, deleted: .deleted_blobs}' 2>/dev/null || true
	done
}

gc_under_pushes() {
	local since="$1" start i loop
	start="$(($(date +%s%3N)))"
	rm -f "$WORK/gc-stop" "$WORK/gc-failed"
	(for i in $(seq 1 80); do
		[[ ! -e "$WORK/gc-stop" ]] || break
		push "e2e/gc:$i" || echo "e2e/gc:$i" >>"$WORK/gc-failed"
	done) &
	loop=$!
	for ((i = 0; i < 150; i++)); do
		if ((i >= 65)) && gc_runs "$since" | jq -e --argjson t "$start" 'select(.start >= $t)' >/dev/null; then
			break
		fi
		sleep 1
	done
	touch "$WORK/gc-stop"
	wait "$loop" || true
	gc_runs "$since" >"$WORK/gc-runs"
	GC_DURING="$(jq -s --argjson t "$start" '[.[] | select(.start >= $t)] | length' "$WORK/gc-runs")"
	GC_SWEPT="$(jq -s '[.[].deleted] | add // 0' "$WORK/gc-runs")"
	GC_RUNS="$(jq -rs '[group_by(.r)[] | "\(.[0].r): \(length)"] | join(", ")' "$WORK/gc-runs")"
	GC_OVERLAPS="$(jq -rs 'sort_by(.start) | reduce .[] as $g ({stop: 0, r: "", out: []};
		(if $g.start < .stop then .out += ["\(.r) and \($g.r) at \($g.start / 1000 | floor | todate)"] else . end)
		| if $g.stop > .stop then .stop = $g.stop | .r = $g.r else . end) | .out | join("; ")' "$WORK/gc-runs")"
	GC_PUSH_FAILED=0
	[[ ! -f "$WORK/gc-failed" ]] || GC_PUSH_FAILED="$(wc -l <"$WORK/gc-failed")"
}
