# Benchmarks: ours against the reference registry and this machine's ceilings.

.PHONY: bench bench-smoke

bench: ## benchmark against the reference registry (several minutes; results in bin/bench-results.json)
	$(GO) run ./scripts/bench -rounds 3

bench-smoke: ## a short benchmark run, to check the tool works
	$(GO) run ./scripts/bench -quick
