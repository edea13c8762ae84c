#!/usr/bin/env bash
# Authentication end to end with real clients: the registry binary runs
#   1. with bearer tokens from its own issuer (/auth/token, the Docker token
#      protocol) over plain HTTP on 127.0.0.1, and
#   2. with Basic authentication over HTTPS, its certificate signed by a CA
#      made for the run,
# and crane, regctl, skopeo, oras, podman and (when its engine answers)
# docker log in,
# push, pull, and are refused where the access rules say so: alice may push
# to lab/* and pull everything, bob may only pull.
#
#   bash scripts/auth-e2e.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$LAB_ROOT"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"
need_tools crane regctl oras skopeo jq curl openssl

WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerlab-auth-e2e.XXXXXX")"
export HOME="$WORK/home" DOCKER_CONFIG="$WORK/docker" REGCTL_CONFIG="$WORK/regctl.json" REGISTRY_AUTH_FILE="$WORK/containers-auth.json"
mkdir -p "$HOME" "$DOCKER_CONFIG"
REG_PID=""
DOCKER_IMAGES=()

cleanup() {
	stop_registry
	((${#DOCKER_IMAGES[@]} == 0)) || docker rmi -f "${DOCKER_IMAGES[@]}" >/dev/null 2>&1 || true
	if ((LAB_RC != 0 || LAB_FAILED != 0)); then
		say "registry log (last 30 lines):"
		tail -n 30 "$WORK/registry.log" 2>/dev/null | cut -c1-220 | sed 's/^/  | /'
	fi
	rm -rf "$WORK"
}
on_exit cleanup

stop_registry() {
	[[ -n "$REG_PID" ]] || return 0
	kill -TERM "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
	REG_PID=""
}

# The checks are lib.sh's: check ID WHAT CMD... (it must succeed),
# check_fails ID WHAT REGEX CMD... (it must be refused, saying why in words
# matching REGEX), check_eq ID WHAT GOT WANT.
DENIED="unauthorized|denied|401|403"

# start_auth_registry SCHEME ENV...: runs the registry on a free port with
# the given settings; sets ADDR.
start_auth_registry() {
	local scheme="$1" port
	shift
	port="$(free_port)" || die "no free port"
	ADDR="127.0.0.1:$port"
	start_registry "$scheme://$ADDR/healthz" "$WORK/registry.log" "$WORK/root-$port" \
		env "$@" REGISTRY_ADDR="$ADDR" REGISTRY_LOG_LEVEL=debug "$WORK/registry" || die "the registry did not start"
}

# image NAME: a one-layer image for docker, imported from a tarball.
image() {
	docker import "$WORK/layer.tar" "$1" >/dev/null
	DOCKER_IMAGES+=("$1")
}

say "building the registry"
go build -o "$WORK/registry" ./registry
{
	echo alice-pw | "$WORK/registry" htpasswd alice
	echo bob-pw | "$WORK/registry" htpasswd bob
} >"$WORK/htpasswd"
RULES='alice=push:lab/*,pull:*;bob=pull:*'
echo "layerlab auth e2e" >"$WORK/hello.txt"
tar -C "$WORK" -cf "$WORK/layer.tar" hello.txt
HAVE_DOCKER=0
docker info >/dev/null 2>&1 && HAVE_DOCKER=1

# ------------------------------------------------------------ bearer tokens
say "bearer tokens from the registry's own issuer (http)"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/token.key" 2>/dev/null
start_auth_registry http REGISTRY_AUTH_HTPASSWD="$WORK/htpasswd" REGISTRY_AUTH_RULES="$RULES" \
	REGISTRY_AUTH_TOKEN_SIGNING_KEY="$WORK/token.key"
REG="$ADDR"

challenge="$(curl -s -o /dev/null -D - "http://$REG/v2/lab/app/tags/list" | tr -d '\r' | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p')"
want="Bearer realm=\"http://$REG/auth/token\",service=\"layerlab\",scope=\"repository:lab/app:pull\""
check_eq tok-challenge "401 carries the Bearer challenge with the scope" "$challenge" "$want"
token="$(curl -s -u alice:alice-pw "http://$REG/auth/token?service=layerlab&scope=repository:lab/app:pull,push" | jq -r .token)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://$REG/v2/lab/app/tags/list")"
check tok-curl-token-from-auth-token-opens-lab-app "curl: token from /auth/token opens lab/app (404: no such repository yet)" test "$code" = 404
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://$REG/v2/other/tags/list")"
check tok-curl-the-same-token-does-not-open-anothe "curl: the same token does not open another repository" test "$code" = 401
code="$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "http://$REG/auth/token?service=layerlab&scope=repository:lab/app:pull")"
check tok-a-wrong-password-gets-no-token "a wrong password gets no token" test "$code" = 401

check_fails tok-crane-login-with-a-wrong-password-then-p "crane: login with a wrong password, then push" "$DENIED" \
	bash -c "crane auth login '$REG' -u alice -p wrong && crane append --insecure -f '$WORK/layer.tar' -t '$REG/lab/crane:1'"
check tok-crane-alice-logs-in-and-pushes-lab-crane "crane: alice logs in and pushes lab/crane:1" \
	bash -c "crane auth login '$REG' -u alice -p alice-pw && crane append --insecure -f '$WORK/layer.tar' -t '$REG/lab/crane:1'"
check_fails tok-crane-alice-pushes-other-crane-1 "crane: alice pushes other/crane:1" "$DENIED" crane copy --insecure "$REG/lab/crane:1" "$REG/other/crane:1"
check tok-crane-alice-lists-the-catalog "crane: alice lists the catalog" crane catalog --insecure "$REG"
crane auth logout "$REG" >/dev/null 2>&1
check tok-regctl-bob-logs-in-and-lists-lab-crane-s "regctl: bob logs in and lists lab/crane's tags" \
	bash -c "regctl registry set '$REG' --tls disabled && echo bob-pw | regctl registry login '$REG' -u bob --pass-stdin && regctl tag ls '$REG/lab/crane' | grep -qx 1"
check_fails tok-regctl-bob-copies-into-lab-bob "regctl: bob copies into lab/bob" "$DENIED" regctl image copy "$REG/lab/crane:1" "$REG/lab/bob:1"
check tok-skopeo-alice-copies-lab-crane-1-to-lab-s "skopeo: alice copies lab/crane:1 to lab/skopeo:1" skopeo copy --src-tls-verify=false --dest-tls-verify=false \
	--src-creds alice:alice-pw --dest-creds alice:alice-pw "docker://$REG/lab/crane:1" "docker://$REG/lab/skopeo:1"
check_fails tok-skopeo-anonymous-inspect "skopeo: anonymous inspect" "$DENIED" skopeo inspect --tls-verify=false --no-creds "docker://$REG/lab/crane:1"
check tok-oras-alice-logs-in-and-pushes-an-artifac "oras: alice logs in and pushes an artifact to lab/oras:1" bash -c "cd '$WORK' &&
	oras login --plain-http '$REG' -u alice -p alice-pw && oras push --plain-http '$REG/lab/oras:1' hello.txt"
check_fails tok-oras-bob-pushes-to-lab-oras-bob-1 "oras: bob pushes to lab/oras-bob:1" "$DENIED" bash -c "cd '$WORK' &&
	oras login --plain-http '$REG' -u bob -p bob-pw && oras push --plain-http '$REG/lab/oras-bob:1' hello.txt"
oras logout "$REG" >/dev/null 2>&1
if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
	PODMAN=(podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --storage-driver vfs)
	"${PODMAN[@]}" import "$WORK/layer.tar" "$REG/lab/podman:1" >/dev/null 2>&1
	check tok-podman-login-as-alice-push-rmi-pull "podman: login as alice, push, rmi, pull" bash -c "echo alice-pw | ${PODMAN[*]} login --tls-verify=false '$REG' -u alice --password-stdin &&
		${PODMAN[*]} push --tls-verify=false '$REG/lab/podman:1' && ${PODMAN[*]} rmi '$REG/lab/podman:1' &&
		${PODMAN[*]} pull --tls-verify=false '$REG/lab/podman:1' && ${PODMAN[*]} logout '$REG'"
	check_fails tok-podman-pull-without-login "podman: pull without login" "$DENIED" "${PODMAN[@]}" pull --tls-verify=false "$REG/lab/crane:1"
else
	say "SKIP podman: not installed or does not run here"
fi
if ((HAVE_DOCKER)); then
	image "$REG/lab/docker:1"
	check_fails tok-docker-login-with-a-wrong-password "docker: login with a wrong password" "$DENIED" bash -c "echo wrong | docker login '$REG' -u alice --password-stdin"
	check tok-docker-login-as-alice-push-rmi-pull "docker: login as alice, push, rmi, pull" bash -c "echo alice-pw | docker login '$REG' -u alice --password-stdin &&
		docker push '$REG/lab/docker:1' && docker rmi '$REG/lab/docker:1' && docker pull '$REG/lab/docker:1'"
	docker tag "$REG/lab/docker:1" "$REG/other/docker:1"
	DOCKER_IMAGES+=("$REG/other/docker:1")
	check_fails tok-docker-alice-pushes-other-docker-1 "docker: alice pushes other/docker:1" "$DENIED" docker push "$REG/other/docker:1"
	docker logout "$REG" >/dev/null
	docker rmi "$REG/lab/docker:1" >/dev/null
	check_fails tok-docker-pull-after-logout "docker: pull after logout" "$DENIED" docker pull "$REG/lab/docker:1"
else
	say "SKIP docker: no engine answers"
fi
check tok-the-log-shows-the-tokens-issued "the log shows the tokens issued" grep -q 'event=token_issued' "$WORK/registry.log"
# no_secret_in_log: neither password nor the token reached the log.
no_secret_in_log() { ! grep -e alice-pw -e bob-pw -e "$token" "$WORK/registry.log"; }
check tok-no-secret "no password or token in the log" no_secret_in_log
stop_registry

# ------------------------------------------------------------ Basic over TLS
say "Basic authentication over HTTPS with a CA made for this run"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=layerlab e2e CA" \
	-keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 \
	-extfile "$WORK/san.ext" -out "$WORK/server.crt" 2>/dev/null
start_auth_registry https REGISTRY_AUTH_HTPASSWD="$WORK/htpasswd" REGISTRY_AUTH_RULES="$RULES" \
	REGISTRY_TLS_CERT="$WORK/server.crt" REGISTRY_TLS_KEY="$WORK/server.key"
REG="$ADDR"
mkdir -p "$WORK/certs.d"
cp "$WORK/ca.crt" "$WORK/certs.d/ca.crt"

check_fails tls-curl-https-without-trusting-the-ca "curl: HTTPS without trusting the CA" "certificate" curl -sS "https://$REG/v2/"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")"
check tls-curl-plain-http-to-the-https-port-gets-4 "curl: plain HTTP to the HTTPS port gets 400" test "$code" = 400
hdr="$(curl -s --cacert "$WORK/ca.crt" -D - -o "$WORK/body" "https://$REG/v2/" | tr -d '\r' | grep -i '^www-authenticate:' || true)"
# basic_challenge: the 401 names the Basic realm, its body says UNAUTHORIZED.
basic_challenge() {
	[[ "$hdr" == *'Basic realm="layerlab"'* ]] || {
		echo "challenge: '$hdr'"
		return 1
	}
	jq -e '.errors[0].code == "UNAUTHORIZED"' "$WORK/body"
}
check tls-challenge "curl --cacert: 401 with the Basic challenge and UNAUTHORIZED" basic_challenge
check tls-curl-cacert-alice-gets-200-on-v2-http-2 "curl --cacert: alice gets 200 on /v2/ (HTTP/2)" bash -c "curl -sf --http2 --cacert '$WORK/ca.crt' -u alice:alice-pw -o /dev/null -w '%{http_version}' 'https://$REG/v2/' | grep -qx 2"
check tls-crane-alice-pushes-over-https-trusting-t "crane: alice pushes over HTTPS, trusting the CA" \
	env SSL_CERT_FILE="$WORK/ca.crt" bash -c "crane auth login '$REG' -u alice -p alice-pw && crane append -f '$WORK/layer.tar' -t '$REG/lab/tls:1'"
check_fails tls-crane-without-the-ca-the-certificate-is "crane: without the CA the certificate is refused" "x509|certificate" crane digest "$REG/lab/tls:1"
check tls-skopeo-bob-inspects-trusting-the-ca-cert "skopeo: bob inspects, trusting the CA (--cert-dir)" \
	skopeo inspect --cert-dir "$WORK/certs.d" --creds bob:bob-pw "docker://$REG/lab/tls:1"
check_fails tls-skopeo-bob-copies-into-lab "skopeo: bob copies into lab/" "$DENIED" skopeo copy --src-cert-dir "$WORK/certs.d" --dest-cert-dir "$WORK/certs.d" \
	--src-creds bob:bob-pw --dest-creds bob:bob-pw "docker://$REG/lab/tls:1" "docker://$REG/lab/bob:1"
check tls-regctl-alice-copies-lab-tls-1-to-lab-tls "regctl: alice copies lab/tls:1 to lab/tls:2" bash -c "regctl registry set '$REG' --tls enabled --cacert \"\$(cat '$WORK/ca.crt')\" &&
	echo alice-pw | regctl registry login '$REG' -u alice --pass-stdin && regctl image copy '$REG/lab/tls:1' '$REG/lab/tls:2'"
if ((HAVE_DOCKER)); then
	# docker treats 127.0.0.0/8 as an insecure registry: it speaks HTTPS
	# without checking the certificate. Other hosts need the CA in
	# /etc/docker/certs.d/HOST:PORT/ca.crt.
	image "$REG/lab/docker-tls:1"
	check tls-docker-login-over-https-push-rmi-pull "docker: login over HTTPS, push, rmi, pull" bash -c "echo alice-pw | docker login '$REG' -u alice --password-stdin &&
		docker push '$REG/lab/docker-tls:1' && docker rmi '$REG/lab/docker-tls:1' && docker pull '$REG/lab/docker-tls:1'"
	docker logout "$REG" >/dev/null
else
	say "SKIP docker: no engine answers"
fi
stop_registry

finish
