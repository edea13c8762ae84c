# shellcheck shell=bash
# Shared by the lab's tutorials and scripts. Source it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
#
# Settings (environment):
#   REGISTRY            the lab registry, host:port (default 127.0.0.1:${LAB_PORT:-5000})
#   LAB_NONINTERACTIVE  set: never wait for Enter (also the case off a terminal)
#   NO_COLOR            set: plain output
#
# What a tutorial prints as a command is exactly what it runs: run and
# run_once print the command line, then run it as printed in a fresh shell
# (no variable of the tutorial's, from the repository root), and show its
# output as it came. Files the commands use are kept in lab-work/NN/ (NN:
# the tutorial's number), ignored by git. Each command and its output is
# recorded in lab-work/NN/transcript/, and each check's outcome in
# lab-work/results/NN.tsv: scripts/replay.sh runs the recorded commands
# again and compares, scripts/e2e.sh reads the checks by their ids.

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY="${REGISTRY:-127.0.0.1:${LAB_PORT:-5000}}"
REGISTRY_URL="${REGISTRY_URL:-http://$REGISTRY}"
# The compose project of the plain lab (.env names it; COMPOSE_PROJECT_NAME
# overrides it, as compose itself does).
LAB_PROJECT="${COMPOSE_PROJECT_NAME:-layerlab}"
# The image lab/base starts from (images/base/Dockerfile's default), also
# the image whose shell reads the registry's storage (tutorial 10).
LAB_BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
# The classic builder resolves FROM lines against local images first, which
# is what the lab's derived images rely on.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

# Every Accept value a client sends when it wants whatever the tag points at.
ACCEPT_MANIFESTS="application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
	C_BOLD=$'\e[1m' C_DIM=$'\e[2m' C_CMD=$'\e[36m' C_OK=$'\e[32m' C_BAD=$'\e[31m' C_OFF=$'\e[0m'
else
	C_BOLD='' C_DIM='' C_CMD='' C_OK='' C_BAD='' C_OFF=''
fi

LAB_SELF="$(basename "$0" .sh)"
LAB_STEP=0
LAB_FAILED=0
LAB_CHECKS=0
LAB_TMP="$(mktemp -d)"
LAB_EXIT_HOOKS=()
# on_exit CMD: run CMD (a string) when the script exits, before the
# scratch directory is removed.
on_exit() { LAB_EXIT_HOOKS+=("$1"); }
# LAB_RC: the exit status, for the hooks.
lab_exit() {
	LAB_RC=$?
	local h
	for h in "${LAB_EXIT_HOOKS[@]}"; do eval "$h" || true; done
	rm -rf "$LAB_TMP"
	exit "$LAB_RC"
}
trap lab_exit EXIT

# say TEXT: a line of progress from a script. die TEXT: an error, then exit 1.
say() { printf '%s[%s]%s %s\n' "$C_BOLD" "$LAB_SELF" "$C_OFF" "$*"; }
die() {
	printf '%s[%s] error:%s %s\n' "$C_BAD" "$LAB_SELF" "$C_OFF" "$*" >&2
	exit 1
}

# compose: `docker compose` where the plugin exists, else docker-compose v1.
if [[ -z "${LAB_COMPOSE:-}" ]]; then
	if docker compose version >/dev/null 2>&1; then
		LAB_COMPOSE="docker compose"
	elif command -v docker-compose >/dev/null 2>&1; then
		LAB_COMPOSE="docker-compose"
	else
		LAB_COMPOSE="docker compose"
	fi
fi
# The compose command line a learner types for the plain lab.
COMPOSE_CMD="$LAB_COMPOSE"
[[ "$LAB_PROJECT" == layerlab ]] || COMPOSE_CMD+=" -p $LAB_PROJECT"

# compose ARGS...: compose on the lab's compose.yaml (and more -f files),
# in the project COMPOSE_P (default: the plain lab's).
compose() {
	command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 ||
		die "neither 'docker compose' nor 'docker-compose' is installed"
	# shellcheck disable=SC2086 # LAB_COMPOSE is one or two words
	$LAB_COMPOSE -p "${COMPOSE_P:-$LAB_PROJECT}" -f "$LAB_ROOT/compose.yaml" "$@"
}

# ---------------------------------------------------------------- tutorials

# A tutorial (a script in tutorials/) works from the repository root, so
# that the commands it prints run as printed from there.
if [[ "$(basename "$(dirname "$0")")" == tutorials ]]; then
	cd "$LAB_ROOT" || exit 1
	LAB_NUM="${LAB_SELF%%-*}"
	W="lab-work/$LAB_NUM" # the tutorial's files, relative to the root
	LAB_TRANSCRIPT="$W/transcript"
	LAB_RESULTS="lab-work/results/$LAB_NUM.tsv"
	rm -rf "$LAB_TRANSCRIPT"
	mkdir -p "$W" "$LAB_TRANSCRIPT" lab-work/results
	: >"$LAB_RESULTS"
fi
LAB_CMD_N=0

# ---------------------------------------------------------------- output

title() {
	printf '\n%s══ %s ══%s\n' "$C_BOLD" "$*" "$C_OFF"
}

# step TEXT: a numbered step.
step() {
	LAB_STEP=$((LAB_STEP + 1))
	printf '\n%s── %d. %s%s\n' "$C_BOLD" "$LAB_STEP" "$*" "$C_OFF"
}

# explain [TEXT...]: a paragraph, wrapped; without arguments it reads the
# text from stdin (a heredoc). Blank lines separate paragraphs.
explain() {
	local text
	if (($# > 0)); then text="$*"; else text="$(cat)"; fi
	printf '%s\n' "$text" | awk 'BEGIN { RS = ""; ORS = "\n" } { gsub(/\n/, " "); print }' |
		fold -s -w 96 | sed 's/ *$//; s/^/   /'
}

# note TEXT...: a dimmed aside (what to look for in the logs, ...).
note() {
	printf '%s\n' "$*" | fold -s -w 94 | sed "s/ *\$//; s/^/   ${C_DIM}» /; s/\$/${C_OFF}/"
}

# show TEXT: a file's or command's text, indented, as it is.
show() {
	sed 's/^/     /'
}

# quote WORDS...: the words as one shell command line, quoted only where
# needed.
quote() {
	local out="" w
	for w in "$@"; do
		if [[ "$w" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+="$w "
		elif [[ "$w" != *"'"* ]]; then
			out+="'$w' "
		else
			out+="$(printf '%q' "$w") "
		fi
	done
	printf '%s' "${out% }"
}

# fresh_shell CMDLINE: runs CMDLINE in a new bash with none of the
# tutorial's variables, from the repository root — as a learner's paste.
fresh_shell() {
	(cd "$LAB_ROOT" && env -i HOME="$HOME" PATH="$PATH" LANG="${LANG:-C.UTF-8}" TERM=dumb \
		${DOCKER_CONFIG:+DOCKER_CONFIG="$DOCKER_CONFIG"} bash --noprofile --norc -c "$1")
}

# run CMDLINE: prints CMDLINE, runs it as printed in a fresh shell, shows
# its output (stdout and stderr) as it came, and records both for
# scripts/replay.sh, which runs it again and expects the same output: for
# commands that change nothing the rest of the tutorial depends on.
# Leaves the output in the file $OUT and the exit status in RC; never fails.
# run_once CMDLINE: the same for a command that changes something (a push,
# a DELETE) or whose output is of the moment: replay checks only that it
# still parses.
OUT="" RC=0
run() { lab_exec replay "$1"; }
run_once() { lab_exec once "$1"; }
lab_exec() {
	local mode="$1" cmd="$2" base
	LAB_CMD_N=$((LAB_CMD_N + 1))
	base="${LAB_TRANSCRIPT:-$LAB_TMP}/$(printf '%03d' "$LAB_CMD_N")"
	printf '%s\n' "$cmd" >"$base.cmd"
	printf '%s\n' "$mode" >"$base.mode"
	printf '%s$ %s%s\n' "$C_CMD" "$cmd" "$C_OFF" | sed '2,$s/^/  /'
	RC=0
	fresh_shell "$cmd" >"$base.out" 2>&1 </dev/null || RC=$?
	OUT="$base.out"
	show <"$OUT"
	# A body without a final newline (curl -i of a JSON error) ends its line here.
	[[ ! -s "$OUT" || "$(tail -c1 "$OUT" | od -An -c | tr -d ' ')" == '\n' ]] || printf '\n'
	((RC == 0)) || printf '     %s(exit status %d)%s\n' "$C_DIM" "$RC" "$C_OFF"
}

# pause: waits for Enter on a terminal, unless LAB_NONINTERACTIVE is set.
pause() {
	if [[ -t 0 && -t 1 && -z "${LAB_NONINTERACTIVE:-}" ]]; then
		read -r -p "   ${C_DIM}(Enter to continue)${C_OFF}" _ || true
	fi
}

human() {
	awk -v b="${1:-0}" 'BEGIN { split("B KiB MiB GiB", u); i = 1; while (b >= 1024 && i < 4) { b /= 1024; i++ }
		if (i == 1) printf "%d %s\n", b, u[i]; else printf "%.1f %s\n", b, u[i] }'
}

# ---------------------------------------------------------------- HTTP

HTTP_STATUS=""
HTTP_HEADERS="$LAB_TMP/headers"
HTTP_BODY="$LAB_TMP/body"

# http METHOD PATH [CURL-ARGS...]: one exchange with the registry, with
# curl as a learner types it — `curl -sS -i` (-I for HEAD), or `-D -` when
# the arguments save the body with -o FILE — printed and run by run (GET
# and HEAD) or run_once (the others). Leaves HTTP_STATUS, and the headers
# and body in the files $HTTP_HEADERS, $HTTP_BODY. PATH may be a full URL.
http() {
	local method="$1" path="$2"
	shift 2
	local url="$path"
	[[ "$url" == http* ]] || url="$REGISTRY_URL$path"
	local words=(curl -sS) saved="" a prev=""
	for a in "$@"; do
		[[ "$prev" != -o ]] || saved="$a"
		prev="$a"
	done
	if [[ -n "$saved" ]]; then words+=(-D -); elif [[ "$method" == HEAD ]]; then words+=(-I); else words+=(-i); fi
	[[ "$method" == GET || "$method" == HEAD ]] || words+=(-X "$method")
	words+=("$@" "$url")
	if [[ "$method" == GET || "$method" == HEAD ]] && [[ -z "${LAB_HTTP_ONCE:-}" ]]; then
		run "$(quote "${words[@]}")"
	else
		run_once "$(quote "${words[@]}")"
	fi
	split_response "$OUT" "$saved"
}

# http_once METHOD PATH [CURL-ARGS...]: http, for a GET or HEAD whose answer
# the tutorial changes afterwards (not replayed).
http_once() { LAB_HTTP_ONCE=1 http "$@"; }

# split_response FILE [BODYFILE]: curl -i output → HTTP_STATUS, headers,
# body (interim 1xx answers skipped).
split_response() {
	tr -d '\r' <"$1" | awk -v h="$HTTP_HEADERS" -v b="$HTTP_BODY" '
		BEGIN { inhead = 1; printf "" > h; printf "" > b }
		inhead && /^HTTP\/[0-9.]+ 1[0-9][0-9]/ { skip = 1; next }
		inhead && skip && /^$/ { skip = 0; next }
		skip { next }
		inhead && /^$/ { inhead = 0; next }
		inhead { print > h; next }
		{ print > b }'
	[[ -z "${2:-}" ]] || cp "$2" "$HTTP_BODY"
	HTTP_STATUS="$(head -n1 "$HTTP_HEADERS" | awk '{ print $2 }')"
}

# http_quiet METHOD URL|PATH [CURL-ARGS...]: an exchange the tutorial needs
# for its checks, printing nothing.
http_quiet() {
	local method="$1" url="$2"
	shift 2
	[[ "$url" == http* ]] || url="$REGISTRY_URL$url"
	local m=(-X "$method")
	[[ "$method" == HEAD ]] && m=(-I)
	HTTP_STATUS="$(curl -sS "${m[@]}" -D "$HTTP_HEADERS" -o "$HTTP_BODY" -w '%{http_code}' "$@" "$url")" ||
		die "curl could not reach $url: is the lab running? (make up)"
	[[ "$method" != HEAD ]] || : >"$HTTP_BODY"
}

# hdr NAME: a header of the last response ("" when absent).
hdr() {
	tr -d '\r' <"$HTTP_HEADERS" | awk -v n="$1" '
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == tolower(n)) { v = substr($0, i + 1); sub(/^ +/, "", v); print v; exit } }'
}

# api METHOD PATH [CURL-ARGS...]: the body of a quiet exchange on stdout;
# fails unless the status is 2xx.
api() {
	http_quiet "$@"
	[[ "$HTTP_STATUS" == 2* ]] || {
		printf 'api %s %s: status %s\n' "$1" "$2" "$HTTP_STATUS" >&2
		return 1
	}
	cat "$HTTP_BODY"
}

# manifest REPO REF: the manifest JSON (whatever kind the tag points at).
manifest() {
	api GET "/v2/$1/manifests/$2" -H "Accept: $ACCEPT_MANIFESTS"
}

# sha256_of FILE: the digest of a file's bytes, "sha256:<hex>".
sha256_of() {
	printf 'sha256:%s\n' "$(sha256sum "$1" | cut -d' ' -f1)"
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t is needed: install it first (README, The lab, Prerequisites)"
	done
}

# need_registry: stops with a hint unless the lab registry answers.
need_registry() {
	need_tools curl jq
	curl -fsS -o /dev/null "$REGISTRY_URL/v2/" 2>/dev/null ||
		die "no registry answers at $REGISTRY_URL — start the lab first: make up"
}

# ---------------------------------------------------------------- compose and logs

# registry_container: the id of the lab's registry container ("" when the
# registry does not run under compose).
registry_container() {
	compose ps -q registry 2>/dev/null | head -n1
}

# container_name ID: a container's name, as docker commands take it.
container_name() {
	docker inspect --format '{{.Name}}' "$1" | tr -d /
}

# log_mark: a timestamp to read the registry log from, once the lines of
# what came before are written (the registry writes its log in batches, at
# most 50 ms late).
log_mark() {
	sleep 0.2
	date -u +%Y-%m-%dT%H:%M:%S.%NZ
}

# log_since MARK: the registry's log lines written since MARK.
log_since() {
	local id
	id="$(registry_container)"
	[[ -n "$id" ]] || return 0
	sleep 0.2
	docker logs --since "$1" "$id" 2>&1
}

# log_cmd MARK: the docker logs command line for the registry's log from
# MARK to now (--until: the same lines whenever it is run again).
log_cmd() {
	local id
	id="$(registry_container)"
	[[ -n "$id" ]] || die "the registry does not run under compose here"
	printf 'docker logs --since %s --until %s %s 2>&1' "$1" "$(log_mark)" "$(container_name "$id")"
}

# show_log_since MARK [ERE]: the registry's log since MARK (the lines
# matching ERE), with the command that reads it.
show_log_since() {
	if [[ -z "$(registry_container)" ]]; then
		note "(the registry does not run under compose here: read its own log output instead)"
		return 0
	fi
	if [[ -n "${2:-}" ]]; then run "$(log_cmd "$1") | grep -E '$2'"; else run "$(log_cmd "$1")"; fi
}

# storage_cmd SCRIPT: the command line that runs a shell script in a
# throwaway container of the base image, in the registry's storage mounted
# read-only (the registry image has no shell).
storage_cmd() {
	local id
	id="$(registry_container)"
	[[ -n "$id" ]] || die "the registry does not run under compose: explore its --root directory directly"
	printf "docker run --rm --volumes-from %s:ro -w /var/lib/registry %s sh -c '%s'" "$(container_name "$id")" "$LAB_BASE_IMAGE" "$1"
}

# ---------------------------------------------------------------- lab images

# build_image NAME: builds images/<NAME> as $REGISTRY/lab/NAME:1.0.
build_image() {
	run_once "DOCKER_BUILDKIT=0 docker build -q --build-arg REGISTRY=$REGISTRY --build-arg BASE_IMAGE=$LAB_BASE_IMAGE -t $REGISTRY/lab/$1:1.0 images/$1"
	((RC == 0)) || die "docker build failed"
}

# ---------------------------------------------------------------- checks

# check ID DESCRIPTION CMD...: runs CMD; prints and records the outcome
# under ID in lab-work/results/NN.tsv (scripts/e2e.sh reads it). When CMD
# fails, the last lines of its output follow the ✘ line.
check() {
	local id="$1" what="$2" out
	shift 2
	if out="$("$@" 2>&1)"; then
		check_outcome "$id" "$what" ok
	else
		check_outcome "$id" "$what" fail
		printf '%s\n' "$out" | tail -n 8 | sed 's/^/      | /'
	fi
}

# check_fails ID DESCRIPTION REGEX CMD...: CMD must fail (a refusal), its
# output saying why in words matching REGEX (grep -E, any case; "": any
# failure).
check_fails() {
	local id="$1" what="$2" why="$3" out
	shift 3
	if out="$("$@" 2>&1)"; then
		check_outcome "$id" "$what (it was allowed)" fail
	elif [[ -z "$why" ]] || grep -Eqi -- "$why" <<<"$out"; then
		check_outcome "$id" "$what" ok
	else
		check_outcome "$id" "$what (refused, but not with /$why/)" fail
		printf '%s\n' "$out" | tail -n 8 | sed 's/^/      | /'
	fi
}

# check_outcome ID DESCRIPTION ok|fail: prints and records an outcome.
check_outcome() {
	LAB_CHECKS=$((LAB_CHECKS + 1))
	if [[ "$3" == ok ]]; then
		printf '   %s✔ %s%s\n' "$C_OK" "$2" "$C_OFF"
	else
		printf '   %s✘ %s%s\n' "$C_BAD" "$2" "$C_OFF"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
	[[ -z "${LAB_RESULTS:-}" ]] || printf '%s\t%s\t%s\n' "$1" "$3" "$2" >>"$LAB_RESULTS"
}

# check_eq ID DESCRIPTION GOT WANT
check_eq() {
	if [[ "$3" == "$4" ]]; then
		check "$1" "$2" true
	else
		check "$1" "$2 (got '$3', want '$4')" false
	fi
}

# Conditions for check: is_digest VALUE (a sha256 digest), has_line FILE
# LINE and lacks_line FILE LINE (a whole line, as is); each says why when
# it does not hold.
is_digest() {
	[[ "$1" =~ ^sha256:[0-9a-f]{64}$ ]] || {
		echo "'$1' is not a sha256 digest"
		return 1
	}
}
has_line() {
	grep -qxF -- "$2" "$1" || {
		echo "'$2' not among: $(tr '\n' ' ' <"$1")"
		return 1
	}
}
lacks_line() {
	! grep -xF -- "$2" "$1"
}

# finish: the tutorial's verdict; exits non-zero when a check failed.
finish() {
	printf '\n'
	if ((LAB_FAILED > 0)); then
		printf '%s✘ %s: %d of %d checks failed%s\n' "$C_BAD" "$(basename "$0")" "$LAB_FAILED" "$LAB_CHECKS" "$C_OFF"
		exit 1
	fi
	printf '%s✔ %s: all %d checks passed%s\n' "$C_OK" "$(basename "$0")" "$LAB_CHECKS" "$C_OFF"
}

# ---------------------------------------------------------- test registries
# For the suites that start a registry of their own (clients-e2e.sh,
# auth-e2e.sh).

# free_port: a port nothing listens on at 127.0.0.1.
free_port() {
	local i p
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# start_registry URL LOG ROOT CMD...: runs CMD (a registry, settings in
# REGISTRY_* variables) in the background, its output appended to LOG,
# with its store at ROOT — a directory, or with E2E_STORAGE=s3 a fresh
# prefix of the bucket that LAYERLAB_S3_* name (scripts/s3-server.sh
# prints them); ROOT empty: CMD says where —, and waits until URL answers
# 200. Sets REG_PID; fails if the registry exits or does not answer within
# 30s.
start_registry() {
	local url="$1" log="$2" root="$3" i store=()
	shift 3
	if [[ -n "$root" ]]; then
		case "${E2E_STORAGE:-filesystem}" in
		filesystem) store=(REGISTRY_ROOT="$root") ;;
		s3)
			[[ -n "${LAYERLAB_S3_ENDPOINT:-}" ]] || die "E2E_STORAGE=s3 needs LAYERLAB_S3_* (eval \"\$(bash scripts/s3-server.sh start weed)\")"
			store=(REGISTRY_STORAGE=s3 REGISTRY_S3_ENDPOINT="$LAYERLAB_S3_ENDPOINT" REGISTRY_S3_BUCKET="$LAYERLAB_S3_BUCKET"
				REGISTRY_S3_REGION="${LAYERLAB_S3_REGION:-us-east-1}" REGISTRY_S3_PATH_STYLE=true
				REGISTRY_S3_PREFIX="e2e-$(basename "$root")-$RANDOM/"
				AWS_ACCESS_KEY_ID="$LAYERLAB_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$LAYERLAB_S3_SECRET_KEY")
			;;
		*) die "E2E_STORAGE=$E2E_STORAGE: want filesystem or s3" ;;
		esac
	fi
	env "${store[@]}" "$@" >>"$log" 2>&1 &
	REG_PID=$!
	for ((i = 0; i < 150; i++)); do
		if ! kill -0 "$REG_PID" 2>/dev/null; then
			wait "$REG_PID" 2>/dev/null || true
			REG_PID=""
			return 1
		fi
		[[ "$(curl -sk -o /dev/null -m 2 -w '%{http_code}' "$url" || true)" == 200 ]] && return 0
		sleep 0.2
	done
	return 1
}
