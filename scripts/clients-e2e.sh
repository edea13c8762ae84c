#!/usr/bin/env bash
# End-to-end check of the registry with real clients: crane, regctl, oras,
# skopeo, podman and (when its engine answers) the docker CLI.
#
#   bash scripts/clients-e2e.sh
#   E2E_STORAGE=s3 bash scripts/clients-e2e.sh     # the store in a bucket:
#       eval "$(bash scripts/s3-server.sh start weed)" first (scripts/s3-test.sh does)
#
# It builds bin/registry when missing, starts it on a free 127.0.0.1 port
# with a temporary root, runs every step and prints one PASS/FAIL/SKIP line
# per step. Exits non-zero when any step fails.
#
# Environment:
#   REGISTRY_BIN   registry binary to run as "BIN serve --addr A" with
#                  REGISTRY_ROOT=R (default: bin/registry, built when missing)
#   E2E_STORAGE    filesystem (default) or s3: the registry keeps its store
#                  under a fresh prefix of the bucket LAYERLAB_S3_* name
#   REGISTRY_CMD   shell command that starts some other registry instead; it
#                  gets E2E_ADDR (127.0.0.1:PORT), E2E_PORT and E2E_ROOT
#   E2E_VERBOSE=1  clients log their HTTP exchanges into the step logs
#   E2E_KEEP=1     keep the work directory (logs, layouts) after the run
#   E2E_NO_INSTALL=1  never run scripts/tools.sh for missing clients
#   E2E_TIMEOUT    seconds any one client command may take (default 120)
set -euo pipefail
shopt -s inherit_errexit
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$LAB_ROOT"
cd "$ROOT"

TOOLS_BIN="$ROOT/.tools/bin"
export PATH="$TOOLS_BIN:$PATH"
E2E_TIMEOUT="${E2E_TIMEOUT:-120}"
E2E_VERBOSE="${E2E_VERBOSE:-0}"
E2E_KEEP="${E2E_KEEP:-0}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerlab-e2e.XXXXXX")"
STATE="$WORK/state"
LOGS="$WORK/logs"
mkdir -p "$STATE" "$LOGS"
REG_LOG="$WORK/registry.log"
: >"$REG_LOG"

REG_PID=""
REG_PGROUP=0
FAILED=()
N_SKIP=0
STEP_NO=0

cleanup() {
	local rc="$LAB_RC"
	if [[ -n "$REG_PID" ]] && kill -0 "$REG_PID" 2>/dev/null; then
		if [[ "$REG_PGROUP" == 1 ]]; then
			kill -TERM -- "-$REG_PID" 2>/dev/null || true
		else
			kill -TERM "$REG_PID" 2>/dev/null || true
		fi
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$REG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	fi
	if [[ -s "$STATE/docker-images" ]] && command -v docker >/dev/null 2>&1; then
		local img
		while IFS= read -r img; do
			docker rmi -f "$img" >/dev/null 2>&1 || true
		done <"$STATE/docker-images"
	fi
	if [[ "$E2E_KEEP" == 1 || $rc -ne 0 ]]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
on_exit cleanup
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# save/load pass values between steps (each step runs in a subshell).
save() { printf '%s' "$2" >"$STATE/$1"; }
load() {
	if [[ ! -s "$STATE/$1" ]]; then
		echo "missing '$1' (an earlier step did not produce it)" >&2
		return 1
	fi
	cat "$STATE/$1"
}

# A step asserts with lib.sh's checks (check, check_eq, check_fails, and
# the conditions is_digest, has_line, lacks_line); it fails when one of its
# checks failed, or a command in it did.

with_timeout() { timeout --kill-after=10 "$E2E_TIMEOUT" "$@"; }

crane() {
	local v=()
	[[ "$E2E_VERBOSE" == 1 ]] && v=(-v)
	with_timeout "$TOOLS_BIN/crane" "${v[@]}" --insecure "$@"
}
regctl() {
	local v=()
	[[ "$E2E_VERBOSE" == 1 ]] && v=(-v debug)
	with_timeout "$TOOLS_BIN/regctl" "${v[@]}" "$@"
}
skopeo() {
	local v=()
	[[ "$E2E_VERBOSE" == 1 ]] && v=(--debug)
	with_timeout "$SKOPEO_BIN" "${v[@]}" --insecure-policy "$@"
}
docker() { with_timeout "$DOCKER_BIN" "$@"; }
oras() { with_timeout "$TOOLS_BIN/oras" "$@"; }
# podman keeps its images in the work directory, apart from the machine's.
podman() {
	with_timeout "$PODMAN_BIN" --root "$WORK/podman/root" --runroot "$WORK/podman/run" --storage-driver vfs "$@"
}

# client_step NAME FUNCTION: runs FUNCTION with errexit in a subshell, logs its
# output, and records the step as one check (ID: the function's name), or
# as skipped (exit 77).
client_step() {
	local name="$1" fn="$2" rc=0 log reg_before
	STEP_NO=$((STEP_NO + 1))
	log="$LOGS/$(printf '%02d' "$STEP_NO")-$fn.log"
	reg_before="$(wc -l <"$REG_LOG")"
	# shellcheck disable=SC2030 # the step's own count, in its subshell
	(
		set -euo pipefail
		LAB_FAILED=0
		"$fn"
		((LAB_FAILED == 0))
	) >"$log" 2>&1 &
	wait "$!" || rc=$?
	if [[ $rc -eq 0 ]]; then
		check_outcome "$fn" "$name" ok
	elif [[ $rc -eq 77 ]]; then
		N_SKIP=$((N_SKIP + 1))
		say "SKIP $name: $(tail -n 1 "$log")"
	else
		FAILED+=("$name")
		check_outcome "$fn" "$name (exit $rc)" fail
		printf '      | %s\n' "--- client output (last 25 lines of $log)"
		tail -n 25 "$log" | sed 's/^/      | /'
		if [[ "$(wc -l <"$REG_LOG")" -gt "$reg_before" ]]; then
			printf '      | %s\n' "--- registry log during the step (last 15 lines)"
			tail -n +"$((reg_before + 1))" "$REG_LOG" | tail -n 15 | cut -c1-400 | sed 's/^/      | /'
		fi
	fi
}

skip() {
	echo "$*"
	exit 77
}

# ---------------------------------------------------------------- setup

need_tools=0
[[ -x "$TOOLS_BIN/crane" && -x "$TOOLS_BIN/regctl" ]] || need_tools=1
command -v skopeo >/dev/null 2>&1 || need_tools=1
command -v jq >/dev/null 2>&1 || need_tools=1
if [[ $need_tools == 1 && "${E2E_NO_INSTALL:-0}" != 1 ]]; then
	say "installing client tools (scripts/tools.sh)"
	bash "$ROOT/scripts/tools.sh"
fi
for t in "$TOOLS_BIN/crane" "$TOOLS_BIN/regctl" jq curl sha256sum timeout; do
	command -v "$t" >/dev/null 2>&1 || {
		die "setup: $t not found (run: bash scripts/tools.sh)"
	}
done

if [[ -z "${REGISTRY_CMD:-}" && -z "${REGISTRY_BIN:-}" ]]; then
	REGISTRY_BIN="$ROOT/bin/registry"
	if [[ ! -x "$REGISTRY_BIN" ]]; then
		say "building bin/registry"
		go build -o bin/registry ./registry || die "setup: go build -o bin/registry ./registry"
	fi
fi

# start_here PORT: the registry (or REGISTRY_CMD) on 127.0.0.1:PORT.
start_here() {
	local port="$1"
	export E2E_PORT="$port" E2E_ADDR="127.0.0.1:$port" E2E_ROOT="$WORK/root-$port"
	mkdir -p "$E2E_ROOT"
	if [[ -n "${REGISTRY_CMD:-}" ]]; then
		if command -v setsid >/dev/null 2>&1; then
			REG_PGROUP=1
			start_registry "http://$E2E_ADDR/v2/" "$REG_LOG" "" setsid bash -c "$REGISTRY_CMD"
		else
			start_registry "http://$E2E_ADDR/v2/" "$REG_LOG" "" bash -c "$REGISTRY_CMD"
		fi
	else
		start_registry "http://$E2E_ADDR/v2/" "$REG_LOG" "$E2E_ROOT" "$REGISTRY_BIN" serve --addr "$E2E_ADDR"
	fi
}

started=0
for attempt in 1 2 3; do
	port="$(free_port)" || break
	if start_here "$port"; then
		started=1
		break
	fi
	say "registry did not come up on 127.0.0.1:$port (attempt $attempt)"
	if [[ -n "$REG_PID" ]]; then
		kill -TERM "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
		REG_PID=""
	fi
done
if [[ $started != 1 ]]; then
	tail -n 30 "$REG_LOG" | sed 's/^/      | /'
	die "setup: registry never answered 200 on GET /v2/"
fi

REG="$E2E_ADDR"
SKOPEO_BIN="$(command -v skopeo || true)"
DOCKER_BIN="$(command -v docker || true)"
PODMAN_BIN="$(command -v podman || true)"
export REGCTL_CONFIG="$WORK/regctl.json"
say "registry: ${REGISTRY_CMD:-$REGISTRY_BIN} on http://$REG (pid $REG_PID, storage ${E2E_STORAGE:-filesystem})"
say "work dir: $WORK"

# Local inputs: two random layers and a tiny static program for docker.
make_layer() { # dir tarball
	mkdir -p "$1/etc/layerlab"
	head -c 4096 /dev/urandom | base64 >"$1/etc/layerlab/random.txt"
	date -u +%FT%TZ >"$1/etc/layerlab/created"
	tar -C "$1" -cf "$2" .
}
make_layer "$WORK/l1" "$WORK/layer1.tar"
make_layer "$WORK/l2" "$WORK/layer2.tar"
make_layer "$WORK/l3" "$WORK/layer3.tar"
TOKEN="$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
save token "$TOKEN"

# ---------------------------------------------------------------- steps

t_base() {
	local code
	code="$(curl -s -o "$WORK/base.body" -D "$WORK/base.headers" -w '%{http_code}' "http://$REG/v2/")"
	cat "$WORK/base.headers"
	check_eq get-v2-status "GET /v2/ status" "$code" 200
	grep -qi '^docker-distribution-api-version: *registry/2.0' "$WORK/base.headers" ||
		echo "note: no Docker-Distribution-API-Version header"
}

# -- crane

t_crane_push_tarball() {
	crane append -f "$WORK/layer1.tar" -t "e2e.invalid/local/crane:1" -o "$WORK/img1.tar"
	local want got
	want="$(crane digest --tarball "$WORK/img1.tar")"
	check tarball-digest "tarball digest" is_digest "$want"
	got="$(crane push "$WORK/img1.tar" "$REG/e2e/crane:1")"
	echo "pushed: $got"
	check_eq crane-push-result "crane push result" "$got" "$REG/e2e/crane@$want"
	save crane1 "$want"
}

t_crane_append_remote() {
	local got
	got="$(crane append -b "$REG/e2e/crane:1" -f "$WORK/layer2.tar" -t "$REG/e2e/crane:2")"
	echo "pushed: $got"
	[[ "$got" == "$REG/e2e/crane@sha256:"* ]] || die "unexpected crane append output '$got'"
	save crane2 "${got##*@}"
	got="$(crane append --oci-empty-base -f "$WORK/layer3.tar" -t "$REG/e2e/crane:oci")"
	echo "pushed: $got"
	save craneoci "${got##*@}"
	# the second image is the first plus one layer: its first layer is shared
	local l1 l2
	l1="$(crane manifest "$REG/e2e/crane:1" | jq -r '.layers[0].digest')"
	l2="$(crane manifest "$REG/e2e/crane:2" | jq -r '.layers[0].digest')"
	check_eq shared-base-layer "shared base layer" "$l2" "$l1"
	check_eq layers-in-2 "layers in :2" "$(crane manifest "$REG/e2e/crane:2" | jq '.layers | length')" 2
	check_eq oci-manifest-mediatype "OCI manifest mediaType" \
		"$(crane manifest "$REG/e2e/crane:oci" | jq -r '.mediaType')" "application/vnd.oci.image.manifest.v1+json"
}

t_crane_digest() {
	local d1
	d1="$(load crane1)"
	check_eq crane-digest-1 "crane digest :1" "$(crane digest "$REG/e2e/crane:1")" "$d1"
	check_eq crane-digest-by-digest "crane digest by digest" "$(crane digest "$REG/e2e/crane@$d1")" "$d1"
	check_eq crane-digest-2 "crane digest :2" "$(crane digest "$REG/e2e/crane:2")" "$(load crane2)"
	check_eq crane-digest-oci "crane digest :oci" "$(crane digest "$REG/e2e/crane:oci")" "$(load craneoci)"
}

t_crane_manifest() {
	local d1
	d1="$(load crane1)"
	crane manifest "$REG/e2e/crane:1" >"$WORK/m1.json"
	cat "$WORK/m1.json"
	echo
	check_eq sha256-of-manifest-body "sha256 of manifest body" "$(sha256_of "$WORK/m1.json")" "$d1"
	check_eq manifest-mediatype "manifest mediaType" \
		"$(jq -r '.mediaType' "$WORK/m1.json")" "application/vnd.docker.distribution.manifest.v2+json"
	crane manifest "$REG/e2e/crane@$d1" >"$WORK/m1-by-digest.json"
	cmp "$WORK/m1.json" "$WORK/m1-by-digest.json"
	# config blob matches its descriptor
	crane config "$REG/e2e/crane:1" >"$WORK/c1.json"
	check_eq config-digest "config digest" "$(sha256_of "$WORK/c1.json")" "$(jq -r '.config.digest' "$WORK/m1.json")"
}

t_crane_blob() {
	local ldigest lsize
	ldigest="$(jq -r '.layers[0].digest' "$WORK/m1.json")"
	lsize="$(jq -r '.layers[0].size' "$WORK/m1.json")"
	crane blob "$REG/e2e/crane@$ldigest" >"$WORK/blob1"
	check_eq blob-content-digest "blob content digest" "$(sha256_of "$WORK/blob1")" "$ldigest"
	check_eq blob-size "blob size" "$(stat -c %s "$WORK/blob1")" "$lsize"
	# the layer is the gzip of the tar that went in
	gzip -dc "$WORK/blob1" | tar -tf - >"$WORK/blob1.list"
	grep -q 'etc/layerlab/random.txt' "$WORK/blob1.list" || die "layer does not hold random.txt"
	check_fails unknown-blob "unknown blob" '' crane blob "$REG/e2e/crane@sha256:$(printf '%064d' 0)"
}

t_crane_validate() {
	crane validate --remote "$REG/e2e/crane:1"
	crane validate --remote "$REG/e2e/crane:2"
	crane validate --remote "$REG/e2e/crane:oci"
}

t_crane_ls() {
	crane ls "$REG/e2e/crane" | sort >"$WORK/tags"
	cat "$WORK/tags"
	check crane-ls "crane ls" has_line "$WORK/tags" 1
	check crane-ls "crane ls" has_line "$WORK/tags" 2
	check crane-ls "crane ls" has_line "$WORK/tags" oci
	check_fails tags-of-unknown-repo "tags of unknown repo" '' crane ls "$REG/e2e/does-not-exist"
}

t_crane_copy_mount() {
	local d1
	d1="$(load crane1)"
	with_timeout "$TOOLS_BIN/crane" -v --insecure copy "$REG/e2e/crane:1" "$REG/e2e/crane-copy:1" 2>"$WORK/copy.trace"
	grep -E '^[0-9/: ]*(-->|<--) ' "$WORK/copy.trace" || true
	check_eq digest-after-copy "digest after copy" "$(crane digest "$REG/e2e/crane-copy:1")" "$d1"
	grep -qE -- '--> POST .*/v2/e2e/crane-copy/blobs/uploads/\?.*mount=' "$WORK/copy.trace" ||
		die "crane did not try a cross-repo mount"
	grep -qE -- '<-- 201 .*/v2/e2e/crane-copy/blobs/uploads/\?.*mount=' "$WORK/copy.trace" ||
		die "cross-repo mount was not honoured (no 201 Created for POST ...?mount=&from=)"
	crane validate --remote "$REG/e2e/crane-copy:1"
}

t_crane_index() {
	local got d
	got="$(crane index append -m "$REG/e2e/crane:1" -m "$REG/e2e/crane:oci" -t "$REG/e2e/crane:index")"
	echo "pushed: $got"
	d="${got##*@}"
	check index-digest "index digest" is_digest "$d"
	save craneindex "$d"
	crane manifest "$REG/e2e/crane:index" >"$WORK/index.json"
	cat "$WORK/index.json"
	echo
	check_eq sha256-of-index-body "sha256 of index body" "$(sha256_of "$WORK/index.json")" "$d"
	check_eq index-mediatype "index mediaType" "$(jq -r '.mediaType' "$WORK/index.json")" "application/vnd.oci.image.index.v1+json"
	check_eq index-child-0 "index child 0" "$(jq -r '.manifests[0].digest' "$WORK/index.json")" "$(load crane1)"
	check_eq index-child-1 "index child 1" "$(jq -r '.manifests[1].digest' "$WORK/index.json")" "$(load craneoci)"
}

t_crane_tag() {
	crane tag "$REG/e2e/crane:1" latest
	check_eq digest-of-latest "digest of :latest" "$(crane digest "$REG/e2e/crane:latest")" "$(load crane1)"
	crane ls "$REG/e2e/crane" >"$WORK/tags"
	check crane-ls-after-tag "crane ls after tag" has_line "$WORK/tags" latest
	# moving a tag
	crane tag "$REG/e2e/crane:2" latest
	check_eq digest-of-moved-latest "digest of moved :latest" "$(crane digest "$REG/e2e/crane:latest")" "$(load crane2)"
}

t_crane_catalog() {
	crane catalog "$REG" | sort >"$WORK/catalog"
	cat "$WORK/catalog"
	check crane-catalog "crane catalog" has_line "$WORK/catalog" e2e/crane
	check crane-catalog "crane catalog" has_line "$WORK/catalog" e2e/crane-copy
}

t_crane_delete() {
	local d1
	d1="$(load crane1)"
	crane delete "$REG/e2e/crane-copy@$d1"
	check_fails manifest-after-delete "manifest after delete" '' crane manifest "$REG/e2e/crane-copy@$d1"
	check_fails tag-of-deleted-manifest "tag of deleted manifest" '' crane digest "$REG/e2e/crane-copy:1"
	# the source repository is untouched
	check_eq source-digest-after-delete-in-copy "source digest after delete in copy" "$(crane digest "$REG/e2e/crane:1")" "$d1"
	check_fails delete-of-unknown-manifest "delete of unknown manifest" '' crane delete "$REG/e2e/crane-copy@sha256:$(printf '%064d' 1)"
}

# -- regctl

t_regctl_setup() {
	regctl registry set --tls disabled "$REG"
	regctl registry config "$REG" || true
}

t_regctl_copy() {
	local d1
	d1="$(load crane1)"
	regctl image copy "$REG/e2e/crane:1" "$REG/e2e/regctl:1"
	check_eq regctl-image-digest "regctl image digest" "$(regctl image digest "$REG/e2e/regctl:1")" "$d1"
	regctl image copy "$REG/e2e/crane:index" "$REG/e2e/regctl:index"
	check_eq regctl-index-digest "regctl index digest" "$(regctl image digest "$REG/e2e/regctl:index")" "$(load craneindex)"
	regctl image copy "$REG/e2e/regctl:1" "$REG/e2e/regctl:to-delete"
}

t_regctl_tag_ls() {
	regctl tag ls "$REG/e2e/regctl" | sort >"$WORK/rtags"
	cat "$WORK/rtags"
	check regctl-tag-ls "regctl tag ls" has_line "$WORK/rtags" 1
	check regctl-tag-ls "regctl tag ls" has_line "$WORK/rtags" index
	check regctl-tag-ls "regctl tag ls" has_line "$WORK/rtags" to-delete
	# pagination (?n=1&last=...): one tag per page, in lexical order
	regctl tag ls --limit 1 "$REG/e2e/regctl" >"$WORK/rtags1"
	echo "page 1 with --limit 1: $(tr '\n' ' ' <"$WORK/rtags1")"
	check_eq first-page-of-one-tag "first page of one tag" "$(cat "$WORK/rtags1")" 1
	regctl tag ls --limit 1 --last 1 "$REG/e2e/regctl" >"$WORK/rtags2"
	echo "page 2 with --limit 1 --last 1: $(tr '\n' ' ' <"$WORK/rtags2")"
	check_eq second-page-of-one-tag "second page of one tag" "$(cat "$WORK/rtags2")" index
}

t_regctl_manifest() {
	local d1
	d1="$(load crane1)"
	regctl manifest get --format raw-body "$REG/e2e/regctl:1" >"$WORK/rm1.json"
	check_eq sha256-of-regctl-manifest-body "sha256 of regctl manifest body" "$(sha256_of "$WORK/rm1.json")" "$d1"
	cmp "$WORK/rm1.json" "$WORK/m1.json"
	regctl manifest head "$REG/e2e/regctl:1" >"$WORK/rhead"
	cat "$WORK/rhead"
	regctl manifest get --format raw-body "$REG/e2e/regctl:index" >"$WORK/rindex.json"
	cmp "$WORK/rindex.json" "$WORK/index.json"
	regctl blob get "$REG/e2e/regctl" "$(jq -r '.config.digest' "$WORK/m1.json")" >"$WORK/rc1.json"
	cmp "$WORK/rc1.json" "$WORK/c1.json"
}

t_regctl_blob() {
	local want got
	head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$WORK/blob-5m"
	want="$(sha256_of "$WORK/blob-5m")"
	# digest unknown up front: regctl streams the upload in chunks
	got="$(regctl blob put "$REG/e2e/blobs" <"$WORK/blob-5m")"
	check_eq digest-from-regctl-blob-put-streamed "digest from regctl blob put (streamed)" "$got" "$want"
	regctl blob head "$REG/e2e/blobs" "$want"
	regctl blob get "$REG/e2e/blobs" "$want" >"$WORK/blob-5m.out"
	cmp "$WORK/blob-5m" "$WORK/blob-5m.out"
	# digest known up front
	printf 'layerlab %s\n' "$(load token)" >"$WORK/blob-small"
	want="$(sha256_of "$WORK/blob-small")"
	got="$(regctl blob put --digest "$want" "$REG/e2e/blobs" <"$WORK/blob-small")"
	check_eq digest-from-regctl-blob-put-digest "digest from regctl blob put --digest" "$got" "$want"
	want="$(sha256_of "$WORK/blob-5m")"
	check_fails blob-put-with-a-wrong-digest "blob put with a wrong digest" '' \
		regctl blob put --digest "sha256:$(printf '%064d' 2)" "$REG/e2e/blobs" <"$WORK/blob-small"
	regctl blob copy "$REG/e2e/blobs" "$REG/e2e/blobs-copy" "$want"
	regctl blob get "$REG/e2e/blobs-copy" "$want" >"$WORK/blob-5m.copy"
	cmp "$WORK/blob-5m" "$WORK/blob-5m.copy"
	regctl blob delete "$REG/e2e/blobs-copy" "$want"
	check_fails blob-after-delete "blob after delete" '' regctl blob head "$REG/e2e/blobs-copy" "$want"
	regctl blob head "$REG/e2e/blobs" "$want"
	rm -f "$WORK"/blob-5m*
}

t_regctl_artifact() {
	local d1 out ad
	d1="$(load crane1)"
	printf '{"sbom":"layerlab-e2e","token":"%s"}\n' "$(load token)" >"$WORK/sbom.json"
	out="$(regctl artifact put --artifact-type application/vnd.layerlab.e2e.sbom+json \
		--file "$WORK/sbom.json" --file-media-type application/vnd.layerlab.e2e.sbom.layer+json \
		--annotation org.layerlab.e2e=referrer \
		--subject "$REG/e2e/regctl@$d1" --format '{{.Manifest.GetDescriptor.Digest}}' 2>&1)" ||
		die "regctl artifact put: $out"
	echo "artifact: $out"
	ad="$(tail -n 1 <<<"$out")"
	check artifact-digest "artifact digest" is_digest "$ad"
	save artifact "$ad"
	regctl manifest get --format raw-body "$REG/e2e/regctl@$ad" >"$WORK/artifact.json"
	cat "$WORK/artifact.json"
	echo
	check_eq artifact-subject "artifact subject" "$(jq -r '.subject.digest' "$WORK/artifact.json")" "$d1"
	regctl artifact get "$REG/e2e/regctl@$ad" >"$WORK/sbom.out"
	cmp "$WORK/sbom.json" "$WORK/sbom.out"
}

t_regctl_referrers() {
	local d1 ad code
	d1="$(load crane1)"
	ad="$(load artifact)"
	regctl artifact list --format '{{json .}}' "$REG/e2e/regctl@$d1" >"$WORK/referrers.json"
	cat "$WORK/referrers.json"
	echo
	check_eq artifact-among-referrers "artifact among referrers" \
		"$(jq -r '[.descriptors[] | select(.digest == "'"$ad"'")] | length' "$WORK/referrers.json")" 1
	check_eq referrer-artifacttype "referrer artifactType" \
		"$(jq -r '.descriptors[0].artifactType' "$WORK/referrers.json")" application/vnd.layerlab.e2e.sbom+json
	regctl artifact list --filter-artifact-type application/vnd.layerlab.e2e.sbom+json \
		--format '{{json .}}' "$REG/e2e/regctl@$d1" >"$WORK/referrers-f.json"
	check_eq filtered-referrers "filtered referrers" "$(jq -r '.descriptors | length' "$WORK/referrers-f.json")" 1
	regctl artifact tree "$REG/e2e/regctl@$d1"
	# which mechanism the registry offers: the referrers API or the tag schema
	code="$(curl -s -o "$WORK/referrers-api.json" -w '%{http_code}' "http://$REG/v2/e2e/regctl/referrers/$d1")"
	if [[ "$code" == 200 ]]; then
		echo "registry serves the referrers API:"
		cat "$WORK/referrers-api.json"
		echo
		check_eq artifact-in-get-v2-name-referrers-digest "artifact in GET /v2/<name>/referrers/<digest>" \
			"$(jq -r '[.manifests[] | select(.digest == "'"$ad"'")] | length' "$WORK/referrers-api.json")" 1
	else
		echo "no referrers API (HTTP $code): clients use the sha256-<hex> tag schema"
	fi
}

t_regctl_tag_delete() {
	regctl tag delete "$REG/e2e/regctl:to-delete"
	regctl tag ls "$REG/e2e/regctl" >"$WORK/rtags"
	cat "$WORK/rtags"
	check tag-after-regctl-tag-delete "tag after regctl tag delete" lacks_line "$WORK/rtags" to-delete
	check other-tag-after-regctl-tag-delete "other tag after regctl tag delete" has_line "$WORK/rtags" 1
	check_eq 1-after-deleting-another-tag ":1 after deleting another tag" "$(regctl image digest "$REG/e2e/regctl:1")" "$(load crane1)"
	check_fails deleted-tag "deleted tag" '' regctl manifest head "$REG/e2e/regctl:to-delete"
}

t_regctl_image_delete() {
	local d1 ad
	d1="$(load crane1)"
	ad="$(load artifact)"
	regctl image delete --referrers "$REG/e2e/regctl@$ad"
	check_fails deleted-artifact "deleted artifact" '' regctl manifest head "$REG/e2e/regctl@$ad"
	regctl artifact list --format '{{json .}}' "$REG/e2e/regctl@$d1" >"$WORK/referrers2.json"
	check_eq referrers-after-artifact-delete "referrers after artifact delete" "$(jq -r '.descriptors | length' "$WORK/referrers2.json")" 0
	regctl image delete "$REG/e2e/regctl@$d1"
	check_fails deleted-image "deleted image" '' regctl manifest head "$REG/e2e/regctl@$d1"
	check_fails tag-of-deleted-image "tag of deleted image" '' regctl manifest head "$REG/e2e/regctl:1"
	# the same content elsewhere is untouched
	check_eq e2e-crane-1-after-delete-in-e2e-regctl "e2e/crane:1 after delete in e2e/regctl" "$(regctl image digest "$REG/e2e/crane:1")" "$d1"
}

# -- skopeo

need_skopeo() {
	[[ -n "$SKOPEO_BIN" ]] || die "skopeo not installed (bash scripts/tools.sh)"
}

t_skopeo_inspect() {
	need_skopeo
	local d1
	d1="$(load crane1)"
	skopeo inspect --tls-verify=false "docker://$REG/e2e/crane:1" >"$WORK/sinspect.json"
	cat "$WORK/sinspect.json"
	check_eq skopeo-inspect-digest "skopeo inspect Digest" "$(jq -r '.Digest' "$WORK/sinspect.json")" "$d1"
	check_eq skopeo-inspect-layers "skopeo inspect Layers" "$(jq -r '.Layers | length' "$WORK/sinspect.json")" 1
	skopeo inspect --tls-verify=false --raw "docker://$REG/e2e/crane:1" >"$WORK/sraw.json"
	cmp "$WORK/sraw.json" "$WORK/m1.json"
	skopeo inspect --tls-verify=false --config "docker://$REG/e2e/crane:1" >/dev/null
	skopeo inspect --tls-verify=false --raw "docker://$REG/e2e/crane:index" >"$WORK/sindex.json"
	check_eq skopeo-raw-index-digest "skopeo raw index digest" "$(sha256_of "$WORK/sindex.json")" "$(load craneindex)"
}

t_skopeo_copy_docker() {
	need_skopeo
	local d1
	d1="$(load crane1)"
	skopeo copy --src-tls-verify=false --dest-tls-verify=false --preserve-digests \
		"docker://$REG/e2e/crane:1" "docker://$REG/e2e/skopeo:1"
	check_eq digest-after-skopeo-copy-crane "digest after skopeo copy (crane)" "$(crane digest "$REG/e2e/skopeo:1")" "$d1"
	check_eq digest-after-skopeo-copy-regctl "digest after skopeo copy (regctl)" "$(regctl image digest "$REG/e2e/skopeo:1")" "$d1"
	check_eq digest-after-skopeo-copy-skopeo "digest after skopeo copy (skopeo)" \
		"$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/e2e/skopeo:1")" "$d1"
	# skopeo may re-encode an index that mixes Docker and OCI children, so
	# compare the children rather than the index digest.
	skopeo copy --src-tls-verify=false --dest-tls-verify=false --all \
		"docker://$REG/e2e/crane:index" "docker://$REG/e2e/skopeo:index"
	crane manifest "$REG/e2e/skopeo:index" >"$WORK/sindex-copy.json"
	cat "$WORK/sindex-copy.json"
	echo
	check_eq children-of-the-index-copied-by-skopeo-a "children of the index copied by skopeo --all" \
		"$(jq -c '[.manifests[].digest]' "$WORK/sindex-copy.json")" "$(jq -c '[.manifests[].digest]' "$WORK/index.json")"
	crane validate --remote "$REG/e2e/skopeo:index"
}

t_skopeo_oci_layout() {
	need_skopeo
	local layout="$WORK/oci-layout" d
	skopeo copy --src-tls-verify=false "docker://$REG/e2e/crane:2" "oci:$layout:two"
	jq . "$layout/index.json"
	d="$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "two") | .digest' \
		"$layout/index.json")"
	check digest-in-oci-layout "digest in oci layout" is_digest "$d"
	check_eq layout-manifest-mediatype "layout manifest mediaType" \
		"$(jq -r '.mediaType' "$layout/blobs/sha256/${d#sha256:}")" application/vnd.oci.image.manifest.v1+json
	skopeo copy --dest-tls-verify=false "oci:$layout:two" "docker://$REG/e2e/skopeo-oci:1"
	check_eq digest-of-pushed-oci-layout-crane "digest of pushed OCI layout (crane)" "$(crane digest "$REG/e2e/skopeo-oci:1")" "$d"
	check_eq digest-of-pushed-oci-layout-skopeo "digest of pushed OCI layout (skopeo)" \
		"$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/e2e/skopeo-oci:1")" "$d"
	crane validate --remote "$REG/e2e/skopeo-oci:1"
	save skopeooci "$d"
	# and the same layout pushes the same way with crane
	check_eq crane-push-of-the-oci-layout "crane push of the OCI layout" \
		"$(crane push "$layout" "$REG/e2e/crane-from-layout:1")" "$REG/e2e/crane-from-layout@$d"
}

t_skopeo_list_tags() {
	need_skopeo
	skopeo list-tags --tls-verify=false "docker://$REG/e2e/skopeo" >"$WORK/stags.json"
	cat "$WORK/stags.json"
	check_eq list-tags-repository "list-tags Repository" "$(jq -r '.Repository' "$WORK/stags.json")" "$REG/e2e/skopeo"
	jq -r '.Tags[]' "$WORK/stags.json" >"$WORK/stags"
	check skopeo-list-tags "skopeo list-tags" has_line "$WORK/stags" 1
	check skopeo-list-tags "skopeo list-tags" has_line "$WORK/stags" index
}

t_skopeo_delete() {
	need_skopeo
	local d
	d="$(load skopeooci)"
	skopeo delete --tls-verify=false "docker://$REG/e2e/skopeo-oci:1"
	check_fails inspect-after-skopeo-delete "inspect after skopeo delete" '' skopeo inspect --tls-verify=false --raw "docker://$REG/e2e/skopeo-oci@$d"
	check_fails crane-digest-after-skopeo-delete "crane digest after skopeo delete" '' crane digest "$REG/e2e/skopeo-oci:1"
}

# -- large layer: streamed (crane), chunked (regctl import), skopeo

t_large_layer() {
	local d got
	mkdir -p "$WORK/big/data"
	head -c $((24 * 1024 * 1024)) /dev/urandom >"$WORK/big/data/random.bin"
	tar -C "$WORK/big" -cf "$WORK/big.tar" data
	got="$(crane append -f "$WORK/big.tar" -t "$REG/e2e/big:1")"
	echo "pushed: $got"
	d="${got##*@}"
	check digest-of-large-image "digest of large image" is_digest "$d"
	crane validate --remote "$REG/e2e/big:1"
	# export to a tarball and import into a fresh repository (regctl asks
	# for a mount by digest without "from", then uploads what was not mounted)
	regctl image export "$REG/e2e/big:1" "$WORK/big-export.tar"
	regctl image import "$REG/e2e/big-import:1" "$WORK/big-export.tar"
	check_eq digest-after-regctl-export-import "digest after regctl export/import" "$(crane digest "$REG/e2e/big-import:1")" "$d"
	crane validate --remote "$REG/e2e/big-import:1"
	if [[ -n "$SKOPEO_BIN" ]]; then
		skopeo copy --src-tls-verify=false --dest-tls-verify=false --preserve-digests \
			"docker://$REG/e2e/big:1" "docker://$REG/e2e/big-skopeo:1"
		check_eq digest-after-skopeo-copy-of-large-image "digest after skopeo copy of large image" "$(crane digest "$REG/e2e/big-skopeo:1")" "$d"
		crane validate --remote "$REG/e2e/big-skopeo:1"
	fi
	rm -rf "$WORK/big" "$WORK/big.tar" "$WORK/big-export.tar"
}

# -- docker

t_docker() {
	[[ -n "$DOCKER_BIN" ]] || skip "docker CLI not installed"
	docker info >/dev/null 2>&1 || skip "docker info fails: no engine"
	local token img rootfs pushed d1 out
	token="$(load token)"
	img="$REG/e2e/docker:1"
	rootfs="$WORK/rootfs"
	mkdir -p "$WORK/hello" "$rootfs"
	cat >"$WORK/hello/main.go" <<-'GO'
		package main

		import (
			"fmt"
			"os"
			"strings"
		)

		func main() { fmt.Println("layerlab-e2e:" + strings.Join(os.Args[1:], " ")) }
	GO
	printf 'module layerlab.invalid/hello\n\ngo 1.21\n' >"$WORK/hello/go.mod"
	(cd "$WORK/hello" && CGO_ENABLED=0 GOFLAGS='' GOWORK=off with_timeout go build -trimpath -ldflags='-s -w' -o "$rootfs/hello" .)
	tar -C "$rootfs" -cf "$WORK/rootfs.tar" .
	echo "$img" >>"$STATE/docker-images"
	docker import -c 'ENTRYPOINT ["/hello"]' "$WORK/rootfs.tar" "$img"
	out="$(docker push "$img" 2>&1)" || die "docker push: $out"
	echo "$out"
	pushed="$(grep -oE 'digest: sha256:[0-9a-f]{64}' <<<"$out" | head -n 1 | cut -d' ' -f2)"
	check digest-printed-by-docker-push "digest printed by docker push" is_digest "$pushed"
	d1="$(crane digest "$img")"
	check_eq crane-digest-of-docker-pushed-image "crane digest of docker-pushed image" "$d1" "$pushed"
	if [[ -n "$SKOPEO_BIN" ]]; then
		check_eq skopeo-digest-of-docker-pushed-image "skopeo digest of docker-pushed image" \
			"$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$img")" "$pushed"
	fi
	check_eq regctl-digest-of-docker-pushed-image "regctl digest of docker-pushed image" "$(regctl image digest "$img")" "$pushed"
	docker rmi "$img"
	check_fails image-gone-after-rmi "image gone after rmi" '' docker image inspect "$img"
	docker pull "$img"
	docker image inspect --format '{{json .RepoDigests}}' "$img" | tee "$WORK/repodigests"
	grep -qF "$REG/e2e/docker@$pushed" "$WORK/repodigests" || die "RepoDigests lacks $REG/e2e/docker@$pushed"
	echo "$REG/e2e/docker@$pushed" >>"$STATE/docker-images"
	docker pull "$REG/e2e/docker@$pushed"
	out="$(docker run --rm --network none "$img" "$token")"
	echo "container said: $out"
	check_eq container-output "container output" "$out" "layerlab-e2e:$token"
	# and an image pushed by another client pulls into docker
	echo "$REG/e2e/crane:2" >>"$STATE/docker-images"
	docker pull "$REG/e2e/crane:2"
}

# -- oras: an artifact, a referrer attached to it, and both read back

t_oras() {
	[[ -x "$TOOLS_BIN/oras" ]] || skip "oras not installed (bash scripts/tools.sh)"
	local a="$REG/e2e/oras:1" d sig
	mkdir -p "$WORK/oras/out"
	printf '{"e2e":"%s"}\n' "$(load token)" >"$WORK/oras/art.json"
	(cd "$WORK/oras" && oras push --plain-http "$a" --artifact-type application/vnd.layerlab.e2e art.json:application/json)
	d="$(oras manifest fetch --plain-http --descriptor "$a" | jq -r .digest)"
	check oras-manifest-digest "oras manifest digest" is_digest "$d"
	check_eq crane-digest-of-the-oras-artifact "crane digest of the oras artifact" "$(crane digest "$a")" "$d"
	check_eq artifacttype "artifactType" "$(crane manifest "$a" | jq -r .artifactType)" application/vnd.layerlab.e2e
	(cd "$WORK/oras" && oras attach --plain-http "$a" --artifact-type application/vnd.layerlab.e2e.sig art.json)
	sig="$(oras discover --plain-http --format json "$a" | jq -r '.referrers[] | select(.artifactType == "application/vnd.layerlab.e2e.sig") | .digest')"
	check the-referrer-oras-discover-lists "the referrer oras discover lists" is_digest "$sig"
	check_eq the-referrer-s-subject "the referrer's subject" "$(crane manifest "$REG/e2e/oras@$sig" | jq -r .subject.digest)" "$d"
	oras pull --plain-http "$a" -o "$WORK/oras/out"
	cmp "$WORK/oras/art.json" "$WORK/oras/out/art.json"
}

# -- podman: import, push, pull back, and pull what another client pushed

t_podman() {
	[[ -n "$PODMAN_BIN" ]] || skip "podman not installed (bash scripts/tools.sh)"
	podman info >/dev/null 2>&1 || skip "podman does not run here: $(podman info 2>&1 | tail -n 1)"
	local img="$REG/e2e/podman:1" pushed
	podman import "$WORK/layer1.tar" "$img"
	podman push --tls-verify=false --digestfile "$WORK/podman.digest" "$img"
	pushed="$(cat "$WORK/podman.digest")"
	check digest-written-by-podman-push "digest written by podman push" is_digest "$pushed"
	check_eq crane-digest-of-the-podman-pushed-image "crane digest of the podman-pushed image" "$(crane digest "$img")" "$pushed"
	podman rmi "$img"
	check_fails image-gone-after-rmi "image gone after rmi" '' podman image exists "$img"
	podman pull --tls-verify=false "$img"
	check_eq digest-of-the-image-podman-pulled "digest of the image podman pulled" "$(podman image inspect --format '{{.Digest}}' "$img")" "$pushed"
	podman pull --tls-verify=false "$REG/e2e/crane:2"
}

client_step "GET /v2/ answers 200" t_base
client_step "crane push (tarball made by crane append -o)" t_crane_push_tarball
client_step "crane append onto a remote base, OCI empty base" t_crane_append_remote
client_step "crane digest" t_crane_digest
client_step "crane manifest + config (digests of bodies)" t_crane_manifest
client_step "crane blob (layer content and size)" t_crane_blob
client_step "crane validate --remote" t_crane_validate
client_step "crane ls" t_crane_ls
client_step "crane copy to another repo (cross-repo mount)" t_crane_copy_mount
client_step "crane index append (OCI index)" t_crane_index
client_step "crane tag" t_crane_tag
client_step "crane catalog" t_crane_catalog
client_step "crane delete" t_crane_delete
client_step "regctl registry set --tls disabled" t_regctl_setup
client_step "regctl image copy + image digest" t_regctl_copy
client_step "regctl tag ls" t_regctl_tag_ls
client_step "regctl manifest get/head + blob get" t_regctl_manifest
client_step "regctl blob put (streamed, by digest)/get/copy/delete" t_regctl_blob
client_step "regctl artifact put --subject (referrer)" t_regctl_artifact
client_step "regctl artifact list/tree (referrers)" t_regctl_referrers
client_step "regctl tag delete" t_regctl_tag_delete
client_step "regctl image delete (artifact, then image)" t_regctl_image_delete
client_step "skopeo inspect (digest equals crane's)" t_skopeo_inspect
client_step "skopeo copy docker:// -> docker://" t_skopeo_copy_docker
client_step "skopeo copy docker:// -> oci: -> docker://" t_skopeo_oci_layout
client_step "skopeo list-tags" t_skopeo_list_tags
client_step "skopeo delete" t_skopeo_delete
client_step "large layer (24 MiB): crane push, regctl export/import, skopeo copy" t_large_layer
client_step "oras push/attach/discover/pull (artifact and referrer)" t_oras
client_step "podman import/push/rmi/pull" t_podman
client_step "docker import/push/rmi/pull/run" t_docker

# shellcheck disable=SC2031 # the steps' subshells counted their own checks
say "summary: $((LAB_CHECKS - LAB_FAILED)) passed, $LAB_FAILED failed, $N_SKIP skipped"
# shellcheck disable=SC2031
if ((LAB_FAILED > 0)); then
	say "failed steps:"
	printf '  - %s\n' "${FAILED[@]}"
	say "registry log: $REG_LOG"
fi
finish
