# Benchmarks: ours against the reference registry and this machine's ceilings.

.PHONY: bench bench-smoke bench-index bench-replicas

bench: ## benchmark against the reference registry (several minutes; results in bin/bench-results.json), then the index, then the scale lab
	$(GO) run ./scripts/bench -rounds 3
	$(GO) run ./scripts/benchindex
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-replicas; else echo "no Docker engine answers: the scale lab is not measured"; fi

bench-replicas: ## the scale lab: 1 vs 3 replicas behind the balancer, and the balancer's hop (bin/bench-replicas.json)
	$(GO) run ./scripts/bench -only replicas -rounds 3

bench-smoke: ## a short benchmark run, to check the tool works
	$(GO) run ./scripts/bench -quick
	$(GO) run ./scripts/benchindex -images 50 -bases 5 -repos 5 -queries 10

bench-index: ## the index at 1,000 images: build, family and blob queries (API and SQL), sql --export; time and peak RSS
	$(GO) run ./scripts/benchindex
