# The lab's targets; the top-level Makefile includes this file.
# Compose: `docker compose` when the plugin exists, else docker-compose v1.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

.PHONY: up down logs tutorials e2e base-images

up: ## start the lab (build, run in the foreground with its log; Ctrl-C stops)
	$(COMPOSE) up --build

down: ## stop the lab and delete its stored images (down -v)
	$(COMPOSE) down -v

logs: ## follow the registry's log
	$(COMPOSE) logs -f registry

tutorials: ## run every tutorial in order (the lab must be up: make up, or docker compose up -d)
	@set -e; for t in tutorials/[0-9][0-9]-*.sh; do bash "$$t"; done

e2e: ## the lab end to end on Docker: base images, compose up, all tutorials, checks, down -v
	bash scripts/e2e.sh

base-images: ## create local stand-ins for busybox and golang (no pull needed)
	bash scripts/make-base-images.sh
