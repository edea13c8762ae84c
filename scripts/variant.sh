# shellcheck shell=bash disable=SC2034 # sets variables the tutorials read
# The lab's HTTPS variants, for the tutorials that use them (11, 12): the
# lab's compose.yaml with override files, under a compose project and a
# port of their own, with certs/ made by scripts/gen-certs.sh. Sourced after
# lib.sh, with these set:
#
#   VARIANT_PORT      its port on 127.0.0.1
#   VARIANT_PROJECT   its compose project
#   VARIANT_FILES     its override files, an array (compose.secure.yaml …)
#
# It sets VARIANT_ADDR (127.0.0.1:PORT), VARIANT_URL (https://…), CA and
# UP_CMD (the compose command line as a learner types it, with whichever of
# docker compose and docker-compose this machine has).

VARIANT_ADDR="127.0.0.1:$VARIANT_PORT"
VARIANT_URL="https://$VARIANT_ADDR"
CA=certs/ca.crt
UP_CMD="LAB_PORT=$VARIANT_PORT $LAB_COMPOSE -p $VARIANT_PROJECT -f compose.yaml$(printf ' -f %s' "${VARIANT_FILES[@]}")"

variant_compose() {
	local files=() f
	for f in "${VARIANT_FILES[@]}"; do files+=(-f "$LAB_ROOT/$f"); done
	LAB_PORT="$VARIANT_PORT" COMPOSE_P="$VARIANT_PROJECT" compose "${files[@]}" "$@"
}

variant_container() {
	variant_compose ps -q registry 2>/dev/null | head -n1
}

# password USER: a lab user's password, made by gen-certs.sh.
password() {
	cat "certs/$1.password"
}

# start_variant ANSWERS WHAT: unless the function ANSWERS says the variant
# is up, create WHAT with gen-certs.sh, start it and wait until it is
# healthy. STARTED says whether it was started here.
STARTED=no
start_variant() {
	local answers="$1" what="$2" deadline
	if "$answers"; then
		explain "It already answers at $VARIANT_URL (project $VARIANT_PROJECT): nothing to start."
		STARTED=no
		return 0
	fi
	explain "It does not answer yet: create $what, then start it."
	run_once "bash scripts/gen-certs.sh"
	run_once "$UP_CMD up -d"
	deadline=$((SECONDS + 90))
	until "$answers" && [[ "$(docker inspect --format '{{.State.Health.Status}}' "$(variant_container)" 2>/dev/null)" == healthy ]]; do
		((SECONDS < deadline)) || {
			variant_compose logs --tail 30 registry >&2 || true
			die "the variant $VARIANT_PROJECT did not become healthy"
		}
		sleep 1
	done
	STARTED=yes
}

# vhttp AUTH METHOD PATH [CURL-ARGS...]: one exchange with the variant,
# printed and run like the http helper does it (curl -sS -i, or -D - with
# -o FILE). AUTH is "" (nothing), a user name (Basic: the command reads the
# password from certs/USER.password), or @FILE for the bearer token kept in
# that file. Token requests and requests that carry a token are not
# replayed (a token expires; each request gets a new one).
vhttp() {
	local who="$1" method="$2" path="$3"
	shift 3
	local cmd="curl -sS" saved="" a prev="" mode=run
	for a in "$@"; do
		[[ "$prev" != -o ]] || saved="$a"
		prev="$a"
	done
	if [[ -n "$saved" ]]; then cmd+=" -D -"; else cmd+=" -i"; fi
	cmd+=" --cacert $CA"
	[[ "$method" == GET ]] || {
		cmd+=" -X $method"
		mode=run_once
	}
	if [[ "$who" == @* ]]; then
		cmd+=" -H \"Authorization: Bearer \$(cat ${who#@})\""
		mode=run_once
	elif [[ -n "$who" ]]; then
		cmd+=" -u \"$who:\$(cat certs/$who.password)\""
	fi
	[[ "$path" != /auth/token* ]] || mode=run_once
	(($# == 0)) || cmd+=" $(quote "$@")"
	local url="$VARIANT_URL$path"
	[[ "$url" != *'?'* ]] || url="'$url'"
	"$mode" "$cmd $url"
	split_response "$OUT" "$saved"
}

# variant_log MARK: the variant's log since MARK, in $LAB_TMP/variant.log.
variant_log() {
	local id
	: >"$LAB_TMP/variant.log"
	id="$(variant_container)"
	[[ -n "$id" ]] || return 0
	sleep 0.2 # the registry writes its log in batches (at most 50 ms late)
	docker logs --since "$1" "$id" >"$LAB_TMP/variant.log" 2>&1 || true
}

# show_variant_log MARK ERE: the lines of the variant's log since MARK that
# match ERE, with the command that reads them.
show_variant_log() {
	variant_log "$1"
	run "docker logs --since $1 --until $(log_mark) $(container_name "$(variant_container)") 2>&1 | grep -E '$2'"
}

# log_has ERE [ERE2]: a line of the last variant_log matches ERE (and ERE2).
log_has() {
	grep -E "$1" "$LAB_TMP/variant.log" | grep -E "${2:-.}" >/dev/null
}

# variant_login USER FILE: docker login to the variant as USER, the
# password read from certs/USER.password (never on the command line); the
# output also in FILE, the exit status in TRY_RC.
variant_login() {
	run_once "docker login -u $1 --password-stdin $VARIANT_ADDR < certs/$1.password"
	cp "$OUT" "$2"
	TRY_RC="$RC"
}

# last_digest FILE: the last digest docker printed (push or pull), or "".
last_digest() {
	grep -oE 'sha256:[0-9a-f]{64}' "$1" | tail -n1 || true
}

# try FILE WORDS...: run_once of the command WORDS make, its output also in
# FILE, its exit status in TRY_RC.
TRY_RC=0
try() {
	local file="$1"
	shift
	run_once "$(quote "$@")"
	cp "$OUT" "$file"
	TRY_RC="$RC"
}
