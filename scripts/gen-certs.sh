#!/usr/bin/env bash
# Creates what the lab's secure variants (compose.secure.yaml, and
# compose.token.yaml on top of it) need, in certs/ at the repository root
# (ignored by git, outside the image's build context):
#
#   certs/ca.crt            a local certificate authority: give it to clients
#   certs/ca.key            its private key (only this script uses it)
#   certs/server.crt        the registry's certificate, signed by that CA, for
#                           DNS:localhost, DNS:registry (the compose service),
#                           IP:127.0.0.1 and the names in CERT_EXTRA_SANS
#   certs/server.key        its private key
#   certs/htpasswd          the lab's users, bcrypt: alice (may push to lab/*,
#                           pull everything) and bob (may only pull)
#   certs/alice.password    their passwords, random, made on the first run
#   certs/bob.password
#   certs/token.key         the private key the registry signs bearer tokens
#                           with (compose.token.yaml): EC P-256
#
#   bash scripts/gen-certs.sh                 # create what is missing or no longer valid
#   CERT_EXTRA_SANS=myhost,192.168.1.20 bash scripts/gen-certs.sh
#                                             # also valid for these names (DNS:x, IP:x, or bare)
#   bash scripts/gen-certs.sh --new-ca        # a new CA (and server certificate): clients
#                                             # must be given the new ca.crt
#   CERTS_DIR=/elsewhere bash scripts/gen-certs.sh   # write there instead of certs/
#
# Idempotent: a CA that is still valid is kept, and so is a server
# certificate that the CA signed, that is valid for 30 more days and names
# every wanted address; passwords, htpasswd and the token key are kept once
# made. Files are rewritten in place, so a registry that has them
# bind-mounted sees the new certificate (it reloads it without a restart; a
# new htpasswd or token key needs one). For a new token key, remove
# certs/token.key and run this again: tokens signed with the old key are
# then refused.
#
# The htpasswd lines come from the registry's own `registry htpasswd` command:
# from the image layerlab/registry when it is there, else a binary built with
# Go into a temporary directory, else the image built with Docker.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CERTS="${CERTS_DIR:-$ROOT/certs}"
IMAGE="layerlab/registry:${LAYERLAB_VERSION:-dev}"
CA_DAYS=3650
SERVER_DAYS=365
RENEW_BEFORE=$((30 * 86400))
NEW_CA=0

# shellcheck source=scripts/lib.sh disable=SC1091
. "$ROOT/scripts/lib.sh"

for arg in "$@"; do
	case "$arg" in
	--new-ca) NEW_CA=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument $arg (see --help)" ;;
	esac
done
command -v openssl >/dev/null || die "openssl is needed"

work="$LAB_TMP/work"
mkdir -p "$work"
umask 022
mkdir -p "$CERTS"
chmod 0755 "$CERTS"

# A file docker created: bind-mounting a missing file makes a directory.
for f in ca.crt ca.key server.crt server.key htpasswd token.key; do
	if [[ -d "$CERTS/$f" ]]; then
		die "certs/$f is a directory: docker made it because the secure lab was started before this script. Stop it (… -f compose.secure.yaml down), remove that directory (it may need sudo), run this script again."
	fi
done

# put SRC DEST MODE: DEST gets SRC's bytes, written in place (same inode, so
# a bind mount of DEST sees them), then MODE.
put() {
	cat "$1" >"$2"
	chmod "$3" "$2"
}

# same_key CERT KEY: the certificate's public key is the key's.
same_key() {
	[[ "$(openssl x509 -noout -pubkey -in "$1" 2>/dev/null)" == "$(openssl pkey -pubout -in "$2" 2>/dev/null)" ]]
}

# wanted_sans: one subjectAltName entry a line, as openssl's config wants
# them (DNS:name, IP:address).
wanted_sans() {
	local extra item
	printf '%s\n' DNS:localhost DNS:registry IP:127.0.0.1
	extra="${CERT_EXTRA_SANS:-}"
	for item in ${extra//,/ }; do
		case "$item" in
		DNS:* | IP:*) printf '%s\n' "$item" ;;
		*:* | [0-9]*.*[0-9]) printf 'IP:%s\n' "$item" ;; # IPv6, or IPv4 (digits and dots)
		*) printf 'DNS:%s\n' "$item" ;;
		esac
	done | awk '!seen[$0]++'
}

# san_text: subjectAltName entries as openssl prints them, one a line.
san_text() {
	grep -A1 'Subject Alternative Name' | tail -n1 | tr ',' '\n' | sed 's/^ *//; s/ *$//' | sort
}

# has_sans CERT KEY: the certificate names every wanted address. The wanted
# list goes through a throwaway request so that openssl writes both the same
# way (an IPv6 address, say).
has_sans() {
	printf '[req]\ndistinguished_name = dn\nprompt = no\nreq_extensions = ext\n[dn]\nCN = probe\n[ext]\nsubjectAltName = %s\n' \
		"$(wanted_sans | paste -sd, -)" >"$work/probe.cnf"
	openssl req -new -config "$work/probe.cnf" -key "$2" -out "$work/probe.csr" 2>/dev/null || return 1
	openssl req -noout -text -in "$work/probe.csr" | san_text >"$work/want.sans"
	openssl x509 -noout -text -in "$1" | san_text >"$work/have.sans"
	[[ -s "$work/want.sans" ]] && [[ -z "$(comm -23 "$work/want.sans" "$work/have.sans")" ]]
}

# ---------------------------------------------------------------- the CA

ca_valid() {
	[[ -s "$CERTS/ca.crt" && -s "$CERTS/ca.key" ]] &&
		openssl x509 -noout -checkend "$RENEW_BEFORE" -in "$CERTS/ca.crt" >/dev/null 2>&1 &&
		same_key "$CERTS/ca.crt" "$CERTS/ca.key"
}

new_server=0
if [[ "$NEW_CA" == 1 ]] || ! ca_valid; then
	say "creating a local CA: certs/ca.crt, certs/ca.key (valid $CA_DAYS days)"
	cat >"$work/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = layerlab
CN = layerlab lab CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
	openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
	openssl req -new -x509 -config "$work/ca.cnf" -key "$work/ca.key" -sha256 -days "$CA_DAYS" \
		-set_serial "0x$(openssl rand -hex 16)" -out "$work/ca.crt"
	# The CA's key signs certificates and is never mounted anywhere: owner only.
	put "$work/ca.key" "$CERTS/ca.key" 0600
	put "$work/ca.crt" "$CERTS/ca.crt" 0644
	new_server=1
else
	say "keeping the CA in certs/ca.crt (valid until $(openssl x509 -noout -enddate -in "$CERTS/ca.crt" | cut -d= -f2))"
fi

# ---------------------------------------------------------------- the server certificate

server_valid() {
	[[ -s "$CERTS/server.crt" && -s "$CERTS/server.key" ]] &&
		openssl verify -CAfile "$CERTS/ca.crt" "$CERTS/server.crt" >/dev/null 2>&1 &&
		openssl x509 -noout -checkend "$RENEW_BEFORE" -in "$CERTS/server.crt" >/dev/null 2>&1 &&
		same_key "$CERTS/server.crt" "$CERTS/server.key" &&
		has_sans "$CERTS/server.crt" "$CERTS/server.key"
}

if ((new_server)) || ! server_valid; then
	sans="$(wanted_sans | paste -sd, -)"
	say "creating the registry's certificate: certs/server.crt, certs/server.key (valid $SERVER_DAYS days)"
	say "  for $sans"
	cat >"$work/server.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
O = layerlab
CN = localhost
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $sans
EOF
	openssl ecparam -name prime256v1 -genkey -noout -out "$work/server.key"
	openssl req -new -config "$work/server.cnf" -key "$work/server.key" -out "$work/server.csr"
	openssl x509 -req -in "$work/server.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -sha256 \
		-days "$SERVER_DAYS" -set_serial "0x$(openssl rand -hex 16)" \
		-extfile "$work/server.cnf" -extensions server -out "$work/server.crt" 2>/dev/null
	openssl verify -CAfile "$CERTS/ca.crt" "$work/server.crt" >/dev/null
	# Readable by everyone (0644), on purpose: the registry container runs as
	# uid 65532 and reads this file through a bind mount, where it keeps the
	# host's owner and mode — 0600 would lock the registry out. This is the
	# lab's throwaway key, for 127.0.0.1; a real one is made readable by the
	# registry's user alone (chown 65532, 0400) or handed over as a secret.
	# The key goes first: the registry reloads when the certificate changes.
	put "$work/server.key" "$CERTS/server.key" 0644
	put "$work/server.crt" "$CERTS/server.crt" 0644
else
	say "keeping certs/server.crt (signed by the CA, valid until $(openssl x509 -noout -enddate -in "$CERTS/server.crt" | cut -d= -f2))"
fi

# ---------------------------------------------------------------- the token signing key

token_key_valid() {
	[[ -s "$CERTS/token.key" ]] && openssl pkey -noout -in "$CERTS/token.key" >/dev/null 2>&1
}

if token_key_valid; then
	say "keeping certs/token.key (the key bearer tokens are signed with)"
else
	say "creating the key the registry signs bearer tokens with: certs/token.key (EC P-256)"
	openssl ecparam -name prime256v1 -genkey -noout -out "$work/token.key"
	# 0644 for the same reason as server.key: the registry (uid 65532) reads
	# it through a bind mount. Whoever holds this key can mint tokens that
	# grant anything on the registries that trust it: fine for the lab's
	# throwaway key on 127.0.0.1; a real one is readable by the registry's
	# user alone (chown 65532, 0400) or handed over as a secret.
	put "$work/token.key" "$CERTS/token.key" 0644
fi

# ---------------------------------------------------------------- users

# The registry's htpasswd command, found once: HASHER holds the command line.
HASHER=()
hasher_works() {
	local out
	out="$(printf 'probe\n' | "$@" htpasswd probe 2>/dev/null)" && [[ "$out" == "probe:\$2"* ]]
}
find_hasher() {
	((${#HASHER[@]} == 0)) || return 0
	if command -v docker >/dev/null && docker image inspect "$IMAGE" >/dev/null 2>&1 &&
		hasher_works docker run --rm -i --network none "$IMAGE"; then
		say "hashing passwords with the image $IMAGE (registry htpasswd)"
		HASHER=(docker run --rm -i --network none "$IMAGE")
		return 0
	fi
	if command -v go >/dev/null; then
		say "building the registry with Go to hash passwords (registry htpasswd)"
		(cd "$ROOT" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$work/registry" ./registry)
		HASHER=("$work/registry")
		hasher_works "${HASHER[@]}" || die "$work/registry htpasswd does not work"
		return 0
	fi
	if command -v docker >/dev/null; then
		say "building the image $IMAGE to hash passwords (registry htpasswd)"
		DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build -q -t "$IMAGE" \
			--build-arg "GO_IMAGE=${GO_IMAGE:-golang:1.26-bookworm}" "$ROOT" >/dev/null ||
			die "could not build $IMAGE (no access to Docker Hub? run: bash scripts/make-base-images.sh)"
		HASHER=(docker run --rm -i --network none "$IMAGE")
		hasher_works "${HASHER[@]}" || die "$IMAGE has no working 'registry htpasswd' command"
		return 0
	fi
	die "the registry's htpasswd command is needed: install Go or Docker"
}

users=(alice bob)
new_users=0
for u in "${users[@]}"; do
	if [[ ! -s "$CERTS/$u.password" ]]; then
		# 20 random characters; only this machine's user may read them.
		openssl rand -base64 30 | tr -dc 'A-Za-z0-9' | cut -c1-20 >"$work/$u.password"
		[[ "$(wc -c <"$work/$u.password")" -ge 17 ]] || die "could not make a random password"
		put "$work/$u.password" "$CERTS/$u.password" 0600
		new_users=1
	fi
done
if ((new_users)) || [[ ! -s "$CERTS/htpasswd" ]]; then
	find_hasher
	: >"$work/htpasswd"
	for u in "${users[@]}"; do
		"${HASHER[@]}" htpasswd "$u" <"$CERTS/$u.password" >>"$work/htpasswd"
	done
	[[ "$(grep -c '^[a-z]*:[$]2[aby][$]' "$work/htpasswd")" == "${#users[@]}" ]] || die "unexpected htpasswd output"
	# Bcrypt hashes, read by the registry (uid 65532) through a bind mount: 0644.
	put "$work/htpasswd" "$CERTS/htpasswd" 0644
	say "wrote certs/htpasswd for ${users[*]}; passwords in certs/alice.password, certs/bob.password"
	say "  (a running registry reads htpasswd at start: restart it to use new passwords)"
else
	say "keeping certs/htpasswd and the passwords in certs/*.password"
fi

say "done. Clients trust the registry through certs/ca.crt:"
say "  curl --cacert certs/ca.crt https://127.0.0.1:5443/v2/   (the secure lab; the token lab is on 5444)"
say "  docker, for a name outside 127.0.0.0/8: /etc/docker/certs.d/HOST:PORT/ca.crt"
