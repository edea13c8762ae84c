# shellcheck shell=bash disable=SC2034 # sets variables the scripts read
# The scale lab (compose.scale.yaml): three registry replicas on a SeaweedFS
# cluster behind Caddy. Sourced after lib.sh by scripts/scale-up.sh, the
# scale end-to-end test, its benchmark and tutorial 13.
#
#   SCALE_PROJECT   its compose project (layerlab-scale)
#   SCALE_URL       the balancer, http://127.0.0.1:5080 (LAB_SCALE_PORT)
#   SCALE_REPLICAS  r1 r2 r3; replica_url NAME: the replica's own port

SCALE_PROJECT="${LAB_PROJECT}-scale"
SCALE_ADDR="127.0.0.1:${LAB_SCALE_PORT:-5080}"
SCALE_URL="http://$SCALE_ADDR"
SCALE_S3_URL="http://127.0.0.1:${LAB_SCALE_S3_PORT:-5089}"
SCALE_REPLICAS=(r1 r2 r3)
# The compose command line as a learner types it.
SCALE_CMD="$LAB_COMPOSE -p $SCALE_PROJECT -f compose.scale.yaml"

# scale_compose ARGS...: compose on compose.scale.yaml, in its project.
scale_compose() {
	# shellcheck disable=SC2086 # LAB_COMPOSE is one or two words
	$LAB_COMPOSE -p "$SCALE_PROJECT" -f "$LAB_ROOT/compose.scale.yaml" "$@"
}

# replica_addr NAME: 127.0.0.1:PORT of a replica's own published port.
replica_addr() {
	local port
	case "$1" in
	r1) port="${LAB_SCALE_R1_PORT:-5081}" ;;
	r2) port="${LAB_SCALE_R2_PORT:-5082}" ;;
	r3) port="${LAB_SCALE_R3_PORT:-5083}" ;;
	*) die "no replica $1" ;;
	esac
	echo "127.0.0.1:$port"
}

# scale_container SERVICE: the id of the service's container ("" if none).
scale_container() {
	scale_compose ps -q "$1" 2>/dev/null | head -n1
}

# scale_health SERVICE: the container's health (or state when it has no
# health check), "" when there is no container.
scale_health() {
	local id
	id="$(scale_container "$1")"
	[[ -n "$id" ]] || return 0
	docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || true
}

# scale_answers: the balancer answers /v2/ with 200.
scale_answers() {
	[[ "$(curl -s -o /dev/null -w '%{http_code}' "$SCALE_URL/v2/" 2>/dev/null || true)" == 200 ]]
}

# scale_wait TIMEOUT [SERVICE...]: until the services (default: the three
# replicas) are healthy and the balancer answers; 1 on timeout.
scale_wait() {
	local deadline=$((SECONDS + $1)) s ok
	shift
	(($# > 0)) || set -- "${SCALE_REPLICAS[@]}"
	while ((SECONDS < deadline)); do
		ok=yes
		for s in "$@"; do
			[[ "$(scale_health "$s")" == healthy ]] || ok=no
		done
		if [[ "$ok" == yes ]] && scale_answers; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# scale_log SERVICE SINCE: the service's log since SINCE (docker logs
# --since), with docker's timestamps.
scale_log() {
	local id
	id="$(scale_container "$1")"
	[[ -n "$id" ]] || return 0
	docker logs --timestamps --since "$2" "$id" 2>&1 || true
}
