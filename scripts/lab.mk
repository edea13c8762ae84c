# The lab's targets; the top-level Makefile includes this file. They work
# with `docker compose` (v2) and `docker-compose` (v1) alike: scripts/lib.sh
# picks whichever this machine has.

.PHONY: up up-scale down clean-lab logs tutorials replay e2e e2e-scale base-images

up: ## build and start the lab in the background, wait until healthy (makes base images when Docker Hub is out of reach)
	@bash scripts/lab-up.sh

up-scale: ## start the scale lab: 3 replicas on a SeaweedFS cluster behind Caddy on 127.0.0.1:5080 (compose.scale.yaml)
	@bash scripts/scale-up.sh

down: ## stop every variant of the lab (plain, secure, token, scale) and delete what they stored
	@bash scripts/lab-down.sh

clean-lab: ## make down, then remove every image, certificate and file the lab made, saying what
	@bash scripts/lab-down.sh --clean

logs: ## follow the registry's log
	@bash -c '. scripts/lib.sh && compose logs -f registry'

tutorials: ## run every tutorial in order, each followed by a replay of the commands it printed (the lab must be up: make up)
	@set -e; for t in tutorials/[0-9][0-9]-*.sh; do bash "$$t"; n="$${t#tutorials/}"; bash scripts/replay.sh "$${n%%-*}"; done

replay: ## run again the commands the tutorials printed, compare with what they showed (right after a tutorial: replay.sh NN)
	@bash scripts/replay.sh

e2e: ## the lab end to end on Docker: base images, up, all tutorials, replay, checks, down
	bash scripts/e2e.sh

e2e-scale: ## the scale lab end to end: clients through the balancer, a replica killed, a volume server stopped, GC on all three
	bash scripts/scale-e2e.sh

base-images: ## create local stand-ins for debian:bookworm-slim and golang (no pull needed)
	bash scripts/make-base-images.sh
