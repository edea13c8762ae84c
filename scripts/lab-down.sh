#!/usr/bin/env bash
# make down: stops every variant of the lab — plain (compose.yaml), secure
# (+ compose.secure.yaml), token (+ compose.token.yaml), mirror
# (+ compose.mirror.yaml) and scale (compose.scale.yaml, on its own) — and
# deletes what they stored (down -v). With --clean (make clean-lab) it also removes
# every image the lab built (the lab's images, the registry image and its
# build stage, the base stand-ins), the certificates in certs/, the files
# the tutorials kept in lab-work/ and docker's logins to the lab; and says
# what it removed.
#
#   bash scripts/lab-down.sh [--clean]
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"
clean=no
[[ "${1:-}" != --clean ]] || clean=yes

# down PROJECT FILES...: compose down -v for one variant (compose.yaml and
# the override FILES), when it has a container or a volume.
down() {
	local project="$1" files=() shown="" f
	shift
	for f in "$@"; do
		files+=(-f "$f")
		shown+=" -f $f"
	done
	if [[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ]]; then
		return 0
	fi
	say "stopping $project: $LAB_COMPOSE -p $project -f compose.yaml$shown down -v"
	COMPOSE_P="$project" compose "${files[@]}" down -v --remove-orphans 2>&1 | sed 's/^/  /'
}
down "$LAB_PROJECT"
down "$LAB_PROJECT-secure" compose.secure.yaml
down "$LAB_PROJECT-token" compose.secure.yaml compose.token.yaml
down "$LAB_PROJECT-mirror" compose.mirror.yaml
# shellcheck source=scripts/scale-lib.sh disable=SC1091
. scripts/scale-lib.sh
if [[ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$SCALE_PROJECT")$(docker volume ls -q --filter "label=com.docker.compose.project=$SCALE_PROJECT")" ]]; then
	say "stopping $SCALE_PROJECT: $SCALE_CMD down -v"
	scale_compose down -v --remove-orphans 2>&1 | sed 's/^/  /'
fi
[[ "$clean" == yes ]] || exit 0

# remove WHAT IMAGE...: docker rmi, saying what went.
remove() {
	local what="$1"
	shift
	(($# > 0)) || return 0
	say "removing $what: $*"
	docker rmi -f "$@" >/dev/null
}
mapfile -t lab < <(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^(127\.0\.0\.1|localhost):[0-9]+/lab/' | grep -v ':<none>$' || true)
remove "the lab's images" "${lab[@]}"
mapfile -t reg < <(docker image ls --format '{{.Repository}}:{{.Tag}}' 'layerlab/registry' | grep -v ':<none>$' || true)
remove "the registry image" "${reg[@]}"
mapfile -t scale < <(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^layerlab/(seaweedfs|caddy):' | grep -v ':<none>$' || true)
remove "the scale lab's images" "${scale[@]}"
mapfile -t stage < <(docker image ls -q --filter label=org.layerlab.part=build-stage | sort -u)
remove "the registry's build stage" "${stage[@]}"
mapfile -t old < <(docker image ls -q --filter dangling=true --filter 'label=org.opencontainers.image.title=layerlab registry' | sort -u)
remove "registry images of earlier builds" "${old[@]}"
mapfile -t standins < <(docker image ls --filter label=org.layerlab.standin --format '{{.Repository}}:{{.Tag}}' | grep -v ':<none>$' || true)
remove "the base image stand-ins" "${standins[@]}"
mapfile -t dangling < <(docker image ls -q --filter dangling=true --filter label=org.layerlab.standin)
remove "untagged stand-ins" "${dangling[@]}"
for host in "127.0.0.1:${LAB_TLS_PORT:-5443}" "127.0.0.1:${LAB_TOKEN_PORT:-5444}"; do
	if [[ -r "${DOCKER_CONFIG:-$HOME/.docker}/config.json" ]] && jq -e --arg h "$host" '.auths[$h]' "${DOCKER_CONFIG:-$HOME/.docker}/config.json" >/dev/null 2>&1; then
		say "docker logout $host"
		docker logout "$host" >/dev/null
	fi
done
for dir in certs lab-work; do
	if [[ -e "$dir" ]]; then
		say "removing $dir/"
		rm -rf "$dir"
	fi
done
say "clean: no container, volume, network or image of the lab is left"
