# shellcheck shell=bash
# Shared helpers for the lab's tutorials and scripts. Source it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
#
# Settings (environment):
#   REGISTRY            the lab registry, host:port (default 127.0.0.1:${LAB_PORT:-5000})
#   LAB_NONINTERACTIVE  set: never wait for Enter (also the case off a terminal)
#   LAB_MAX_LINES       how many lines of a JSON body to print (default 40)
#   NO_COLOR            set: plain output

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY="${REGISTRY:-127.0.0.1:${LAB_PORT:-5000}}"
REGISTRY_URL="${REGISTRY_URL:-http://$REGISTRY}"
LAB_MAX_LINES="${LAB_MAX_LINES:-40}"
# The classic builder resolves FROM lines against local images first, which
# is what the lab's derived images rely on; BuildKit users can set it to 1.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

# Every Accept value a client sends when it wants whatever the tag points at.
ACCEPT_MANIFESTS="application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
	C_BOLD=$'\e[1m' C_DIM=$'\e[2m' C_CMD=$'\e[36m' C_OK=$'\e[32m' C_BAD=$'\e[31m' C_REQ=$'\e[33m' C_OFF=$'\e[0m'
else
	C_BOLD='' C_DIM='' C_CMD='' C_OK='' C_BAD='' C_REQ='' C_OFF=''
fi

LAB_STEP=0
LAB_FAILED=0
LAB_CHECKS=0
LAB_TMP="$(mktemp -d)"
# Each sourcing script gets its own scratch directory, removed on exit.
trap 'rm -rf "$LAB_TMP"' EXIT

# ---------------------------------------------------------------- output

# title TEXT: the tutorial's heading.
title() {
	printf '\n%s══ %s ══%s\n' "$C_BOLD" "$*" "$C_OFF"
}

# step TEXT: a numbered step.
step() {
	LAB_STEP=$((LAB_STEP + 1))
	printf '\n%s── %d. %s%s\n' "$C_BOLD" "$LAB_STEP" "$*" "$C_OFF"
}

# explain TEXT...: a paragraph of explanation, wrapped.
explain() {
	printf '%s\n' "$*" | fold -s -w 96 | sed 's/ *$//; s/^/   /'
}

# note TEXT...: a dimmed aside (what to look for in the logs, ...).
note() {
	printf '%s\n' "$*" | fold -s -w 94 | sed "s/ *\$//; s/^/   ${C_DIM}» /; s/\$/${C_OFF}/"
}

# show_line TEXT: prints TEXT as a command line (for pipelines).
show_line() {
	printf '%s$ %s%s\n' "$C_CMD" "$*" "$C_OFF"
}

# show_cmd WORDS...: prints a command the way a learner would type it.
show_cmd() {
	local out="" w
	for w in "$@"; do
		if [[ "$w" == "Accept: $ACCEPT_MANIFESTS" ]]; then
			# shellcheck disable=SC2016 # printed for the learner to type
			out+='"Accept: $ACCEPT_MANIFESTS" '
		elif [[ "$w" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+="$w "
		elif [[ "$w" != *"'"* ]]; then
			out+="'$w' "
		else
			out+="$(printf '%q' "$w") "
		fi
	done
	printf '%s$ %s%s\n' "$C_CMD" "${out% }" "$C_OFF"
}

# run CMD ARGS...: shows the command, then runs it.
run() {
	show_cmd "$@"
	"$@"
}

# runi CMD ARGS...: shows the command, runs it with its output indented.
runi() {
	show_cmd "$@"
	"$@" 2>&1 | sed 's/^/     /'
}

# capture FILE CMD ARGS...: like runi, and keeps the output in FILE.
capture() {
	local file="$1"
	shift
	show_cmd "$@"
	"$@" 2>&1 | tee "$file" | sed 's/^/     /'
}

# pause: waits for Enter on a terminal, unless LAB_NONINTERACTIVE is set.
pause() {
	if [[ -t 0 && -t 1 && -z "${LAB_NONINTERACTIVE:-}" ]]; then
		read -r -p "   ${C_DIM}(Enter to continue)${C_OFF}" _ || true
	fi
}

die() {
	printf '%serror:%s %s\n' "$C_BAD" "$C_OFF" "$*" >&2
	exit 1
}

# pretty [FILE]: JSON pretty-printed and cut at LAB_MAX_LINES lines.
pretty() {
	local file="${1:-}" out
	if [[ -z "$file" ]]; then
		file="$LAB_TMP/pretty.in"
		cat >"$file"
	fi
	if ! out="$(jq -C . <"$file" 2>/dev/null)"; then
		head -c 2000 "$file"
		echo
		return 0
	fi
	[[ -n "$C_BOLD" ]] || out="$(jq . <"$file")"
	local n
	n="$(printf '%s\n' "$out" | wc -l)"
	printf '%s\n' "$out" | head -n "$LAB_MAX_LINES" | sed 's/^/     /'
	if ((n > LAB_MAX_LINES)); then
		printf '     %s… (%d more lines)%s\n' "$C_DIM" $((n - LAB_MAX_LINES)) "$C_OFF"
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
# Response headers worth a learner's attention; others are not printed.
HTTP_SHOWN='^(content-type|content-length|content-range|docker-content-digest|docker-distribution-api-version|location|range|link|oci-[a-z-]+|docker-upload-uuid|www-authenticate|accept-ranges|x-request-id):'

# http METHOD PATH [CURL-ARGS...]: one exchange with the registry, printed as
# the command, the request line and the response (status, the headers that
# matter, the body: JSON pretty, anything else summarized). Leaves
# HTTP_STATUS, and the headers and body in the files $HTTP_HEADERS, $HTTP_BODY.
# PATH may be a full URL (a Location header, a Link).
http() {
	local method="$1" path="$2"
	shift 2
	local url="$path"
	[[ "$url" == http* ]] || url="$REGISTRY_URL$path"
	local shown=(curl)
	case "$method" in
	GET) ;;
	HEAD) shown+=(-I) ;;
	*) shown+=(-X "$method") ;;
	esac
	local a
	for a in "$@"; do
		if [[ "$a" == @/* ]]; then shown+=("@${a##*/}"); else shown+=("$a"); fi
	done
	shown+=("$url")
	show_cmd "${shown[@]}"
	http_quiet "$method" "$url" "$@"
	printf '   %s> %s %s%s\n' "$C_REQ" "$method" "${url#"$REGISTRY_URL"}" "$C_OFF"
	printf '   %s< %s%s\n' "$C_REQ" "$(head -n1 "$HTTP_HEADERS" | tr -d '\r')" "$C_OFF"
	tr -d '\r' <"$HTTP_HEADERS" | tail -n +2 | grep -iE "$HTTP_SHOWN" | sed "s/^/   ${C_REQ}< ${C_OFF}/" || true
	local size ctype
	size="$(wc -c <"$HTTP_BODY")"
	ctype="$(hdr content-type)"
	if ((size == 0)); then
		:
	elif [[ "$ctype" == *json* ]] || jq -e . "$HTTP_BODY" >/dev/null 2>&1; then
		pretty "$HTTP_BODY"
	elif [[ "$ctype" == text/* ]]; then
		head -n "$LAB_MAX_LINES" "$HTTP_BODY" | sed 's/^/     /'
	else
		printf '     %s(%s of %s)%s\n' "$C_DIM" "$(human "$size")" "${ctype:-bytes}" "$C_OFF"
	fi
}

# http_quiet METHOD URL|PATH [CURL-ARGS...]: the same exchange, printing
# nothing.
http_quiet() {
	local method="$1" url="$2"
	shift 2
	[[ "$url" == http* ]] || url="$REGISTRY_URL$url"
	local m=(-X "$method")
	[[ "$method" == HEAD ]] && m=(-I)
	HTTP_STATUS="$(curl -sS "${m[@]}" -D "$HTTP_HEADERS" -o "$HTTP_BODY" -w '%{http_code}' "$@" "$url")" ||
		die "curl could not reach $url: is the lab running? (docker compose up -d)"
	# curl -I writes the headers to the body as well.
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
	[[ "$HTTP_STATUS" == 2* ]] || { printf 'api %s %s: status %s\n' "$1" "$2" "$HTTP_STATUS" >&2; return 1; }
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
		command -v "$t" >/dev/null || die "$t is needed: install it first (see docs/lab.md)"
	done
}

# need_registry: stops with a hint unless the lab registry answers.
need_registry() {
	need_tools curl jq
	curl -fsS -o /dev/null "$REGISTRY_URL/v2/" 2>/dev/null ||
		die "no registry answers at $REGISTRY_URL — start the lab first: docker compose up --build -d (or make up)"
}

# ---------------------------------------------------------------- compose and logs

# compose ARGS...: `docker compose`, or docker-compose v1 where the plugin is
# missing, always on the lab's compose.yaml.
compose() {
	if [[ -z "${LAB_COMPOSE:-}" ]]; then
		if docker compose version >/dev/null 2>&1; then
			LAB_COMPOSE="docker compose"
		elif command -v docker-compose >/dev/null; then
			LAB_COMPOSE="docker-compose"
		else
			die "neither 'docker compose' nor 'docker-compose' is installed"
		fi
	fi
	# shellcheck disable=SC2086 # LAB_COMPOSE is one or two words
	$LAB_COMPOSE -f "$LAB_ROOT/compose.yaml" "$@"
}

# registry_container: the id of the lab's registry container ("" when the
# registry does not run under compose).
registry_container() {
	compose ps -q registry 2>/dev/null | head -n1
}

# log_mark: a timestamp to read the registry log from (log_since).
log_mark() {
	date -u +%Y-%m-%dT%H:%M:%S.%NZ
}

# log_since MARK: the registry's log lines written since MARK.
log_since() {
	local id
	id="$(registry_container)"
	[[ -n "$id" ]] || return 0
	docker logs --since "$1" "$id" 2>&1
}

# show_log_since MARK [ERE]: prints those lines (only those matching ERE).
show_log_since() {
	local lines
	lines="$(log_since "$1" | grep -vE 'GET /(readyz|healthz) ' || true)"
	if [[ -z "$(registry_container)" ]]; then
		note "(the registry does not run under compose here: read its own log output instead)"
		return 0
	fi
	[[ -z "${2:-}" ]] || lines="$(printf '%s\n' "$lines" | grep -E "$2" || true)"
	show_cmd docker compose logs registry
	if [[ -z "$lines" ]]; then
		note "(no matching log lines)"
		return 0
	fi
	local n
	n="$(printf '%s\n' "$lines" | wc -l)"
	printf '%s\n' "$lines" | head -n "$LAB_MAX_LINES" | cut -c1-220 | sed "s/^/   ${C_DIM}|${C_OFF} /"
	((n <= LAB_MAX_LINES)) || note "… $((n - LAB_MAX_LINES)) more lines"
}

# event_counts MARK: how many learner events of each kind since MARK.
event_counts() {
	log_since "$1" | grep -oE 'event=[a-z_]+' | sort | uniq -c | sort -rn | sed 's/^ */     /'
}

# storage_shell ARGS...: a throwaway busybox container that mounts the registry's
# storage read-only at /var/lib/registry (the registry image has no shell).
LAB_BUSYBOX="${BASE_IMAGE:-busybox:1.36}"
storage_shell() {
	local id
	id="$(registry_container)"
	[[ -n "$id" ]] || die "the registry does not run under compose: explore its --root directory directly"
	docker run --rm --volumes-from "$id:ro" "$LAB_BUSYBOX" "$@"
}

# ---------------------------------------------------------------- lab images

# build_image NAME: builds images/NAME as $REGISTRY/lab/NAME:1.0.
build_image() {
	local name="$1"
	local args=(--build-arg "REGISTRY=$REGISTRY" --build-arg "BASE_IMAGE=$LAB_BUSYBOX"
		-t "$REGISTRY/lab/$name:1.0" "$LAB_ROOT/images/$name")
	show_cmd docker build "${args[@]}"
	# The classic builder's deprecation notice is noise here; real errors
	# are printed.
	if ! docker build -q "${args[@]}" 2>"$LAB_TMP/build.err" | sed 's/^/     image id /'; then
		cat "$LAB_TMP/build.err" >&2
		return 1
	fi
	grep -vE '^(DEPRECATED|  +BuildKit|  +environment-variable|$)' "$LAB_TMP/build.err" >&2 || true
}

# ---------------------------------------------------------------- checks

# check DESCRIPTION CMD...: runs CMD; records and prints the outcome.
check() {
	local what="$1"
	shift
	LAB_CHECKS=$((LAB_CHECKS + 1))
	if "$@" >/dev/null 2>&1; then
		printf '   %s✔ %s%s\n' "$C_OK" "$what" "$C_OFF"
	else
		printf '   %s✘ %s%s\n' "$C_BAD" "$what" "$C_OFF"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [[ "$2" == "$3" ]]; then
		check "$1" true
	else
		check "$1 (got '$2', want '$3')" false
	fi
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
