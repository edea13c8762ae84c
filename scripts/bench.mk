# Benchmarks: ours against the reference registry and this machine's ceilings.

.PHONY: bench bench-smoke bench-index

# BENCH_FLAGS adds flags to `make bench`: peers, -compare, -only, for example
#   make bench BENCH_FLAGS="-peer 'olareg=/path/to/olareg serve --addr 127.0.0.1 --port {port} --dir {dir}'"
BENCH_FLAGS ?=

bench: ## benchmark against the reference registry and any -peer in BENCH_FLAGS (several minutes; results in bin/bench-results.json), then the index
	$(GO) run ./scripts/bench -rounds 3 $(BENCH_FLAGS)
	$(GO) run ./scripts/benchindex

bench-smoke: ## a short benchmark run, to check the tool works
	$(GO) run ./scripts/bench -quick
	$(GO) run ./scripts/benchindex -images 50 -bases 5 -repos 5 -queries 10

bench-index: ## the index at 1,000 images: build, family and blob queries (API and SQL), sql --export; time and peak RSS
	$(GO) run ./scripts/benchindex
