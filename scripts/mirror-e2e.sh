#!/usr/bin/env bash
# End-to-end check of the pull-through cache with real upstreams and real
# clients. Three upstreams on 127.0.0.1: a layerlab registry with Basic
# authentication, one with bearer tokens (the Docker token flow, tokens
# issued by itself), and the CNCF distribution registry (v3, built by
# scripts/distribution.sh). A layerlab mirror maps basic/, token/ and dist/
# to them. Each upstream is seeded with an image; crane, regctl, skopeo and
# (when an engine answers) docker pull it through the mirror and must get
# the upstream's digest. Then: the mirror log shows the miss and the hits,
# a push into a mirrored prefix is DENIED, and with an upstream stopped the
# cached image still pulls, its stale tag logged. Last, the Go tests of the
# mirror against distribution run with the binary.
#
#   bash scripts/mirror-e2e.sh         (E2E_KEEP=1 keeps the work directory)
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"
export PATH="$LAB_ROOT/.tools/bin:$PATH"
[[ -x .tools/bin/crane && -x .tools/bin/regctl ]] || bash scripts/tools.sh
for t in crane regctl skopeo jq curl openssl; do
	command -v "$t" >/dev/null || die "$t not found (bash scripts/tools.sh, apt-get install skopeo jq openssl)"
done
go build -o bin/registry ./registry
DIST="$(bash scripts/distribution.sh)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerlab-mirror.XXXXXX")"
export DOCKER_CONFIG="$WORK/docker" REGCTL_CONFIG="$WORK/regctl.json"
PIDS=()
FAILS=0
DOCKER_IMAGES=()
cleanup() {
	local p i
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for i in "${DOCKER_IMAGES[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
	if [[ "${E2E_KEEP:-0}" == 1 || $LAB_RC -ne 0 || $FAILS -ne 0 ]]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
on_exit cleanup

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
}

# start NAME ADDR CMD...: runs CMD in the background, logging to
# WORK/NAME.log, until GET /v2/ on ADDR answers (200 or 401); its pid is
# left in LAST_PID.
start() {
	local name="$1" addr="$2" i code
	shift 2
	"$@" >"$WORK/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	for ((i = 0; i < 100; i++)); do
		code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$addr/v2/" || true)"
		[[ "$code" == 200 || "$code" == 401 ]] && return 0
		sleep 0.2
	done
	tail -n 20 "$WORK/$name.log"
	die "$name did not come up on $addr"
}

pass() { printf '%sPASS%s %s\n' "$C_OK" "$C_OFF" "$*"; }
fail() {
	printf '%sFAIL%s %s\n' "$C_BAD" "$C_OFF" "$*"
	FAILS=$((FAILS + 1))
}
expect_eq() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }

# -- the upstreams
printf 'mirror-pw\n' | bin/registry htpasswd mirror >"$WORK/htpasswd"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/token.key" 2>/dev/null
BASIC="127.0.0.1:$(free_port)"
start basic "$BASIC" bin/registry serve --addr "$BASIC" --root "$WORK/basic" --auth-htpasswd "$WORK/htpasswd"
PID_BASIC=$LAST_PID
TOKEN="127.0.0.1:$(free_port)"
start token "$TOKEN" bin/registry serve --addr "$TOKEN" --root "$WORK/token" --auth-htpasswd "$WORK/htpasswd" \
	--auth-token-signing-key "$WORK/token.key"
DISTADDR="127.0.0.1:$(free_port)"
printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' \
	"$WORK/dist" "$DISTADDR" >"$WORK/dist.yml"
start dist "$DISTADDR" "$DIST" serve "$WORK/dist.yml"

# -- the mirror
printf 'basic/=mirror:mirror-pw\ntoken/=mirror:mirror-pw\n' >"$WORK/credentials"
MIRROR="127.0.0.1:$(free_port)"
start mirror "$MIRROR" bin/registry serve --addr "$MIRROR" --root "$WORK/mirror" --log-level debug --log-format json \
	--mirror "basic/=http://$BASIC" --mirror "token/=http://$TOKEN" --mirror "dist/=http://$DISTADDR" \
	--mirror-credentials "$WORK/credentials" --mirror-ttl 1s

# -- seed each upstream with an image of two layers
mkdir -p "$WORK/layer"
head -c 3000000 /dev/urandom >"$WORK/layer/big"
date >"$WORK/layer/small"
tar -C "$WORK/layer" -cf "$WORK/layer.tar" .
crane auth login "$BASIC" -u mirror -p mirror-pw >/dev/null 2>&1
crane auth login "$TOKEN" -u mirror -p mirror-pw >/dev/null 2>&1
declare -A WANT
for up in basic:"$BASIC" token:"$TOKEN" dist:"$DISTADDR"; do
	prefix="${up%%:*}" addr="${up#*:}"
	crane append --insecure -f "$WORK/layer.tar" -t "$addr/lab/base:0" >/dev/null
	crane mutate --insecure --set-platform linux/amd64 -t "$addr/lab/base:1.0" "$addr/lab/base:0" >/dev/null
	WANT[$prefix]="$(crane digest --insecure "$addr/lab/base:1.0")"
done
rm -rf "$DOCKER_CONFIG" # the clients pull from the mirror anonymously

regctl registry set --tls disabled "$MIRROR" >/dev/null
docker_ok=0
docker info >/dev/null 2>&1 && docker_ok=1
for prefix in basic token dist; do
	img="$MIRROR/$prefix/lab/base:1.0" want="${WANT[$prefix]}"
	expect_eq "$prefix: crane digest through the mirror" "$(crane digest --insecure "$img")" "$want"
	if crane pull --insecure --format oci "$img" "$WORK/crane-$prefix" >/dev/null; then pass "$prefix: crane pull"; else fail "$prefix: crane pull"; fi
	if regctl image copy "$img" "ocidir://$WORK/regctl-$prefix:1.0" >/dev/null; then
		expect_eq "$prefix: regctl copy, digest" "$(regctl image digest "ocidir://$WORK/regctl-$prefix:1.0")" "$want"
	else
		fail "$prefix: regctl image copy"
	fi
	if skopeo copy -q --src-tls-verify=false "docker://$img" "oci:$WORK/skopeo-$prefix:1.0"; then
		pass "$prefix: skopeo copy"
	else
		fail "$prefix: skopeo copy"
	fi
	if [[ $docker_ok == 1 ]]; then
		DOCKER_IMAGES+=("$img")
		if docker pull -q "$img" >/dev/null; then
			got="$(docker image inspect --format '{{join .RepoDigests " "}}' "$img")"
			expect_eq "$prefix: docker pull, repo digest" "${got##*@}" "$want"
		else
			fail "$prefix: docker pull"
		fi
	else
		say "SKIP $prefix: docker pull (no engine answers)"
	fi
done

# -- the log: a miss first, hits after
events="$(jq -r 'select(.event != null and .repository == "basic/lab/base") | .event' "$WORK/mirror.log")"
expect_eq "first event of basic/lab/base is a miss" "$(head -n 1 <<<"$events")" mirror_miss
if grep -qx mirror_hit <<<"$events"; then pass "later pulls were served from the cache"; else fail "no cache hit logged"; fi

# -- read-only prefix
if out="$(crane copy --insecure "$MIRROR/basic/lab/base:1.0" "$MIRROR/basic/lab/base:mine" 2>&1)"; then
	fail "a push into a mirrored prefix was accepted"
else
	if grep -q DENIED <<<"$out"; then pass "a push into a mirrored prefix is DENIED"; else fail "push refused without DENIED: $out"; fi
fi

# -- upstream down: the cached image still pulls, the stale tag is logged
kill "$PID_BASIC"
wait "$PID_BASIC" 2>/dev/null || true
sleep 1.2 # past the 1s TTL: the tag is due for its check
expect_eq "basic down: crane digest from the cache" "$(crane digest --insecure "$MIRROR/basic/lab/base:1.0")" "${WANT[basic]}"
if crane pull --insecure --format oci "$MIRROR/basic/lab/base:1.0" "$WORK/crane-down" >/dev/null; then pass "basic down: crane pull"; else fail "basic down: crane pull"; fi
# (the log is written out in batches: give it a moment)
for ((i = 0; i < 30; i++)); do
	grep -qF '"msg":"upstream down: serving a stale tag from the cache"' "$WORK/mirror.log" && break
	sleep 0.1
done
if grep -qF '"msg":"upstream down: serving a stale tag from the cache"' "$WORK/mirror.log"; then
	pass "the stale tag is logged"
else
	fail "no stale-tag warning in the log"
fi

# -- the Go tests against distribution
if LAYERLAB_DISTRIBUTION="$DIST" LAYERLAB_DISTRIBUTION_REQUIRED=1 go test -count=1 -run TestDistributionUpstream ./registry/mirror/; then
	pass "go test: distribution as upstream"
else
	fail "go test: distribution as upstream"
fi

[[ $FAILS == 0 ]] || die "$FAILS mirror check(s) failed"
say "all mirror checks passed"
