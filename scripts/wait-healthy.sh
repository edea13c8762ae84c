#!/usr/bin/env bash
# Waits until the lab's registry container reports healthy (its HEALTHCHECK,
# `registry healthcheck`, passes) and its API answers on $REGISTRY.
#
#   scripts/wait-healthy.sh [TIMEOUT_SECONDS]     (default 90)
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout="${1:-90}"
deadline=$((SECONDS + timeout))
status=""
while ((SECONDS < deadline)); do
	id="$(registry_container)"
	if [[ -n "$id" ]]; then
		status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || true)"
		if [[ "$status" == healthy ]] && curl -fsS -o /dev/null "$REGISTRY_URL/v2/" 2>/dev/null; then
			printf 'registry is healthy and answers at %s\n' "$REGISTRY_URL"
			exit 0
		fi
		if [[ "$status" == exited || "$status" == dead ]]; then
			break
		fi
	fi
	sleep 1
done
printf 'registry not healthy after %ss (status: %s); its log:\n' "$timeout" "${status:-no container}" >&2
compose logs --tail 40 registry >&2 || true
exit 1
