# shellcheck shell=bash disable=SC2034 # sets variables its callers read
# One chunked upload through the scale lab's balancer, by hand with curl:
# POST, N PATCHes of 1 MiB with Content-Range, then the PUT with the
# digest. Each request carries an X-Request-Id of its own, so that the
# replicas' access logs tell which one served it. Sourced after
# scale-lib.sh by the scale end-to-end test and tutorial 13's checks.
#
#   chunked_push REPO DIR N
#
# sets CHUNKED_WANT (the blob's digest), CHUNKED_GOT (the digest of what
# the registry serves back under it), CHUNKED_HEADERS (the replicas the
# balancer's X-Layerlab-Replica header named, sorted) and CHUNKED_SEEN
# (the replicas whose access log holds one of the requests, sorted).

# chunked_location HEADERS: the Location of a response, made absolute.
chunked_location() {
	local loc
	loc="$(tr -d '\r' <"$1" | awk 'tolower($1) == "location:" {print $2}')"
	[[ "$loc" == http* ]] || loc="$SCALE_URL$loc"
	echo "$loc"
}

chunked_push() {
	local repo="$1" dir="$2" n="$3" size=$((1 << 20)) i loc prefix since sep
	mkdir -p "$dir"
	head -c $((n * size)) /dev/urandom >"$dir/blob"
	CHUNKED_WANT="sha256:$(sha256sum "$dir/blob" | cut -d' ' -f1)"
	split -b "$size" -d -a 3 "$dir/blob" "$dir/chunk."
	prefix="chunked-$RANDOM$RANDOM"
	since="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
	: >"$dir/replicas"
	curl -sS -D "$dir/h" -o /dev/null -X POST -H "X-Request-Id: $prefix-post" "$SCALE_URL/v2/$repo/blobs/uploads/"
	loc="$(chunked_location "$dir/h")"
	chunked_replica "$dir"
	for ((i = 0; i < n; i++)); do
		curl -sS -D "$dir/h" -o /dev/null -X PATCH -H "X-Request-Id: $prefix-patch$i" \
			-H "Content-Type: application/octet-stream" -H "Content-Range: $((i * size))-$(((i + 1) * size - 1))" \
			--data-binary "@$(printf '%s/chunk.%03d' "$dir" "$i")" "$loc"
		loc="$(chunked_location "$dir/h")"
		chunked_replica "$dir"
	done
	sep='?'
	[[ "$loc" != *'?'* ]] || sep='&'
	curl -sS -D "$dir/h" -o /dev/null -X PUT -H "X-Request-Id: $prefix-put" -H "Content-Length: 0" "$loc${sep}digest=$CHUNKED_WANT"
	chunked_replica "$dir"
	CHUNKED_GOT="sha256:$(curl -sS "$SCALE_URL/v2/$repo/blobs/$CHUNKED_WANT" | sha256sum | cut -d' ' -f1)"
	CHUNKED_HEADERS="$(sort -u "$dir/replicas" | xargs)"
	sleep 0.5 # a registry writes its log in batches
	CHUNKED_SEEN="$(for r in "${SCALE_REPLICAS[@]}"; do
		if scale_log "$r" "$since" | grep -q -- "$prefix-"; then echo "$r"; fi
	done | xargs)"
}

# chunked_replica DIR: notes the replica the last response names.
chunked_replica() {
	tr -d '\r' <"$1/h" | awk 'tolower($1) == "x-layerlab-replica:" {print $2}' >>"$1/replicas"
}
