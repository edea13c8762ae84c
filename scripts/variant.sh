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
# UP_CMD (the compose command line as a learner types it).

VARIANT_ADDR="127.0.0.1:$VARIANT_PORT"
VARIANT_URL="https://$VARIANT_ADDR"
CA=certs/ca.crt
UP_CMD="LAB_PORT=$VARIANT_PORT docker compose -p $VARIANT_PROJECT -f compose.yaml$(printf ' -f %s' "${VARIANT_FILES[@]}")"

variant_compose() {
	local files=() f
	for f in "${VARIANT_FILES[@]}"; do files+=(-f "$LAB_ROOT/$f"); done
	LAB_PORT="$VARIANT_PORT" compose -p "$VARIANT_PROJECT" "${files[@]}" "$@"
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
	runi bash scripts/gen-certs.sh
	show_line "$UP_CMD up -d"
	variant_compose up -d 2>&1 | sed 's/^/     /'
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
# printed like the http helper prints. AUTH is "" (nothing), a user name
# (Basic; the command shows the password as the variable a learner sets,
# ALICE_PASSWORD=$(cat certs/alice.password)), or @NAME for the bearer
# token held in the shell variable NAME (shown as that variable: the token
# itself is long). A token in a JSON answer is printed shortened.
vhttp() {
	local who="$1" method="$2" path="$3"
	shift 3
	local cmdline="curl --cacert $CA" auth=()
	[[ "$method" == GET ]] || cmdline+=" -X $method"
	if [[ "$who" == @* ]]; then
		local var="${who#@}"
		cmdline+=" -H \"Authorization: Bearer \$$var\""
		auth=(-H "Authorization: Bearer ${!var}")
	elif [[ -n "$who" ]]; then
		cmdline+=" -u \"$who:\$${who^^}_PASSWORD\""
		auth=(-u "$who:$(password "$who")")
	fi
	local shown_url="$VARIANT_URL$path"
	[[ "$path" != *'?'* ]] || shown_url="'$shown_url'"
	show_line "$cmdline${*:+ $*} $shown_url"
	http_quiet "$method" "$VARIANT_URL$path" --cacert "$CA" "${auth[@]}" "$@"
	printf '   %s> %s %s%s\n' "$C_REQ" "$method" "$path" "$C_OFF"
	printf '   %s< %s%s\n' "$C_REQ" "$(head -n1 "$HTTP_HEADERS" | tr -d '\r')" "$C_OFF"
	tr -d '\r' <"$HTTP_HEADERS" | tail -n +2 | grep -iE "$HTTP_SHOWN" | sed "s/^/   ${C_REQ}< ${C_OFF}/" || true
	[[ -s "$HTTP_BODY" ]] || return 0
	if jq -e 'type == "object" and has("token")' "$HTTP_BODY" >/dev/null 2>&1; then
		jq '.token |= .[0:32] + "…" | .access_token |= .[0:32] + "…"' "$HTTP_BODY" | pretty
	else
		pretty "$HTTP_BODY"
	fi
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

# show_variant_log MARK ERE [MAX]: the lines of that log that match ERE (at
# most MAX), without the fields a learner does not need here (address, user
# agent, request and response headers, the error message — the same on
# every refusal — and a digest the path already shows).
show_variant_log() {
	variant_log "$1"
	local max="${3:-$LAB_MAX_LINES}" n
	show_line "$UP_CMD logs registry"
	grep -E "$2" "$LAB_TMP/variant.log" |
		sed -E 's/  (remote_addr|user_agent|(req|resp)\.[a-z-]+|error_message)=("([^"\\]|\\.)*"|[^ ]*)//g
			s/(@|\/)(sha256:[0-9a-f]+)( .*)  digest=\2/\1\2\3/' \
			>"$LAB_TMP/variant-shown.log" || true
	head -n "$max" "$LAB_TMP/variant-shown.log" | cut -c1-300 | sed "s/^/   ${C_DIM}|${C_OFF} /"
	n="$(wc -l <"$LAB_TMP/variant-shown.log")"
	((n <= max)) || note "… $((n - max)) more lines like these"
}

# log_has ERE [ERE2]: a line of the last variant_log matches ERE (and ERE2).
log_has() {
	grep -E "$1" "$LAB_TMP/variant.log" | grep -E "${2:-.}" >/dev/null
}

# variant_login USER FILE [all]: docker login to the variant as USER, the
# password read from certs/USER.password (never on the command line); the
# output in FILE, shown (with docker's warning about stored credentials
# only given "all"), the exit status in TRY_RC.
variant_login() {
	show_line "docker login -u $1 --password-stdin $VARIANT_ADDR < certs/$1.password"
	TRY_RC=0
	docker login -u "$1" --password-stdin "$VARIANT_ADDR" <"certs/$1.password" >"$2" 2>&1 || TRY_RC=$?
	if [[ "${3:-}" == all ]]; then sed 's/^/     /' "$2"; else shown_output "$2"; fi
}

# last_digest FILE: the last digest docker printed (push or pull), or "".
last_digest() {
	grep -oE 'sha256:[0-9a-f]{64}' "$1" | tail -n1 || true
}

# shown_output FILE: a command's output, without docker's warnings about
# stored credentials.
shown_output() {
	grep -vE '^WARNING!|config.json|credential-store|credential helper|^$' "$1" | sed 's/^/     /' || true
}

# try FILE CMD ARGS...: like capture, for a command that may fail; its exit
# status is left in TRY_RC. docker's warnings about stored credentials are
# left out of what is shown.
TRY_RC=0
try() {
	local file="$1"
	shift
	show_cmd "$@"
	TRY_RC=0
	"$@" >"$file" 2>&1 || TRY_RC=$?
	shown_output "$file"
}
