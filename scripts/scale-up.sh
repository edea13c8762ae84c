#!/usr/bin/env bash
# make up-scale: builds and starts the scale lab (compose.scale.yaml) in the
# background — a SeaweedFS cluster, three registry replicas, Caddy in front
# on 127.0.0.1:5080 — and waits until every replica is healthy and the
# balancer answers. The base images come as `make up` gets them
# (scripts/lab-up.sh --base-images), weed's and Caddy's images from the
# user's cache (scripts/scale-images.sh). A start that fails leaves nothing
# behind (down -v).
#
#   bash scripts/scale-up.sh     (or: make up-scale)
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/scale-lib.sh disable=SC1091
. "$LAB_ROOT/scripts/scale-lib.sh"
cd "$LAB_ROOT"
need_tools docker curl

bash scripts/lab-up.sh --base-images
bash scripts/scale-images.sh

failed() {
	scale_compose ps >&2 2>/dev/null || true
	scale_compose logs --no-color --tail 20 >&2 2>/dev/null || true
	scale_compose down -v --remove-orphans >/dev/null 2>&1 || true
	die "$1 — nothing was left running (make down)"
}
say "$SCALE_CMD up --build -d"
scale_compose up --build -d || failed "the scale lab did not start"
scale_wait 180 || failed "the replicas did not become healthy behind the balancer"
say "the scale lab is up: $SCALE_URL (the balancer); replicas r1 r2 r3 on $(replica_addr r1), $(replica_addr r2), $(replica_addr r3)"
say "logs: $SCALE_CMD logs -f r1 r2 r3 lb — make down stops it"
