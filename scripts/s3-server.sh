#!/usr/bin/env bash
# Starts a local S3 server for the storage driver's tests, on 127.0.0.1,
# with a fresh data directory and one bucket, and prints the environment
# the tests read:
#
#   eval "$(bash scripts/s3-server.sh start weed)"        # SeaweedFS
#   eval "$(bash scripts/s3-server.sh start versitygw)"   # versitygw
#   go test ./registry/storage/driver/s3/
#   bash scripts/s3-server.sh stop weed
#
# The fault tests stop the server mid-push and start it again on the same
# data (what an outage of the service looks like to the registry):
#
#   bash scripts/s3-server.sh pause weed     # SIGTERM, data kept
#   bash scripts/s3-server.sh resume weed    # the same server, same data
#
# The binaries come from scripts/s3-tools.sh (built into the cache on first
# use). Ports: S3_PORT (weed 18333, versitygw 18334); weed also uses
# S3_PORT-1000, -999 and -998 (master, volume, filer) and those + 10000 (gRPC).
# WEED_VOLUME_MAX: how many 64 MB volumes weed may create (default 100; the
# benchmarks, which write tens of GB, ask for more).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACCESS_KEY="${S3_ACCESS_KEY:-layerlab}"
SECRET_KEY="${S3_SECRET_KEY:-layerlab-secret-key}"
BUCKET="${S3_BUCKET:-layerlab}"

log() { printf '[s3-server] %s\n' "$*" >&2; }

usage() {
	echo "usage: $0 start|stop|pause|resume weed|versitygw" >&2
	exit 2
}

[[ $# -eq 2 ]] || usage
cmd="$1" server="$2"
case "$server" in
weed) port="${S3_PORT:-18333}" ;;
versitygw) port="${S3_PORT:-18334}" ;;
*) usage ;;
esac
state="${TMPDIR:-/tmp}/layerlab-s3-$server-$port"

# halt: ends the server's process (SIGTERM, then SIGKILL after 5s).
halt() {
	if [[ -f "$state/pid" ]]; then
		local pid
		pid="$(cat "$state/pid")"
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$state/pid"
	fi
}

stop() {
	halt
	rm -rf "$state"
}

# wait_http URL: until something answers HTTP there (any status).
wait_http() {
	for _ in $(seq 600); do
		if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" != 000 ]]; then
			return 0
		fi
		if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
			log "$server exited; its log:"
			tail -n 40 "$state/log" >&2
			return 1
		fi
		sleep 0.1
	done
	log "$server does not answer on $1 after 60s; its log:"
	tail -n 40 "$state/log" >&2
	return 1
}

start_weed() {
	local bin="$1" master=$((port - 1000)) volume=$((port - 999)) filer=$((port - 998))
	cat >"$state/s3.json" <<-EOF
		{"identities": [{"name": "layerlab",
		  "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
		  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
	EOF
	"$bin" server -dir="$state/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
		-master.port="$master" -volume.port="$volume" -filer.port="$filer" \
		-master.volumeSizeLimitMB=64 -volume.max="${WEED_VOLUME_MAX:-100}" \
		-s3 -s3.port="$port" -s3.config="$state/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 >>"$state/log" 2>&1 &
	echo $! >"$state/pid"
	wait_http "http://127.0.0.1:$port/"
	# The bucket, through weed's own shell (no S3 client needed); the S3
	# gateway may take a moment to see the filer. A resumed server has it.
	for _ in $(seq 100); do
		if { [[ -n "${RESUME:-}" ]] || echo "s3.bucket.create -name $BUCKET" | "$bin" shell -master="127.0.0.1:$master" >>"$state/log" 2>&1; } &&
			[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/$BUCKET")" =~ ^[234] ]]; then
			return 0
		fi
		sleep 0.2
	done
	log "could not create bucket $BUCKET; weed's log:"
	tail -n 40 "$state/log" >&2
	return 1
}

start_versitygw() {
	local bin="$1"
	mkdir -p "$state/data/$BUCKET"
	"$bin" --access "$ACCESS_KEY" --secret "$SECRET_KEY" --port "127.0.0.1:$port" \
		posix "$state/data" >>"$state/log" 2>&1 &
	echo $! >"$state/pid"
	wait_http "http://127.0.0.1:$port/"
}

case "$cmd" in
start)
	stop
	bin="$(bash "$ROOT/scripts/s3-tools.sh" "$server")"
	mkdir -p "$state/data"
	log "starting $server on 127.0.0.1:$port (data in $state/data)"
	"start_$server" "$bin" || {
		stop
		exit 1
	}
	log "$server ready: bucket $BUCKET at http://127.0.0.1:$port"
	cat <<-EOF
		export LAYERLAB_S3_ENDPOINT=http://127.0.0.1:$port
		export LAYERLAB_S3_BUCKET=$BUCKET
		export LAYERLAB_S3_ACCESS_KEY=$ACCESS_KEY
		export LAYERLAB_S3_SECRET_KEY=$SECRET_KEY
		export LAYERLAB_S3_REGION=us-east-1
		export LAYERLAB_S3_SERVER=$server
	EOF
	;;
stop) stop ;;
pause)
	[[ -f "$state/pid" ]] || {
		log "$server is not running on port $port"
		exit 1
	}
	halt
	log "$server stopped (data kept in $state/data)"
	;;
resume)
	[[ -d "$state/data" && ! -f "$state/pid" ]] || {
		log "no stopped $server on port $port to resume"
		exit 1
	}
	bin="$(bash "$ROOT/scripts/s3-tools.sh" "$server")"
	RESUME=1 "start_$server" "$bin" || {
		stop
		exit 1
	}
	log "$server running again on 127.0.0.1:$port"
	;;
*) usage ;;
esac
