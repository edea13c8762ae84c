#!/usr/bin/env bash
# make up: builds and starts the lab's registry in the background and waits
# until it is healthy. The base images come from Docker Hub when it answers;
# when a pull fails, local stand-ins are made (scripts/make-base-images.sh).
# A start that fails leaves nothing behind (down -v).
#
#   bash scripts/lab-up.sh                 (or: make up)
#   bash scripts/lab-up.sh --base-images   only the base images (other variants)
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAB_ROOT"
need_tools docker curl

GO_IMAGE="${GO_IMAGE:-golang:1.26-bookworm}"
missing=()
for image in "$GO_IMAGE" "$LAB_BASE_IMAGE"; do
	docker image inspect "$image" >/dev/null 2>&1 || docker pull -q "$image" >/dev/null 2>&1 || missing+=("$image")
done
if ((${#missing[@]} > 0)); then
	say "cannot pull ${missing[*]}: making local stand-ins (scripts/make-base-images.sh)"
	GO_IMAGE="$GO_IMAGE" BASE_IMAGE="$LAB_BASE_IMAGE" bash scripts/make-base-images.sh >"$LAB_TMP/base-images.log" 2>&1 ||
		{
			cat "$LAB_TMP/base-images.log" >&2
			die "the stand-ins could not be made"
		}
fi
[[ "${1:-}" != --base-images ]] || exit 0

failed() {
	compose logs --no-color --tail 30 registry >&2 2>/dev/null || true
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	die "$1 — nothing was left running (make down)"
}
say "$LAB_COMPOSE up --build -d"
compose up --build -d || failed "the lab did not start"
bash scripts/wait-healthy.sh 120 || failed "the registry did not become healthy"
say "the lab is up: $REGISTRY_URL (make logs follows its log; make tutorials runs the tutorials; make down stops it)"
