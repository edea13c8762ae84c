# Benchmarks: ours against the reference registry and this machine's ceilings.

.PHONY: bench bench-smoke bench-index bench-scale bench-s3 bench-replicas

# BENCH_FLAGS adds flags to `make bench`: peers, -compare, -only, for example
#   make bench BENCH_FLAGS="-peer 'olareg=/path/to/olareg serve --addr 127.0.0.1 --port {port} --dir {dir}'"
BENCH_FLAGS ?=

bench: ## benchmark against the reference registry and any -peer in BENCH_FLAGS (several minutes; results in bin/bench-results.json), then on S3, then the index, then the scale lab
	$(GO) run ./scripts/bench -rounds 3 $(BENCH_FLAGS)
	$(GO) run ./scripts/bench -rounds 3 -only s3
	$(GO) run ./scripts/benchindex
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-replicas; else echo "no Docker engine answers: the scale lab is not measured"; fi

bench-replicas: ## the scale lab: 1 vs 3 replicas behind the balancer, and the balancer's hop (bin/bench-replicas.json)
	$(GO) run ./scripts/bench -only replicas -rounds 3

bench-s3: ## both registries on a local SeaweedFS, and the endpoint's own PUT/GET (results in bin/bench-s3-results.json)
	$(GO) run ./scripts/bench -rounds 3 -only s3

bench-smoke: ## a short benchmark run, to check the tool works
	$(GO) run ./scripts/bench -quick
	$(GO) run ./scripts/bench -quick -only s3
	$(GO) run ./scripts/benchindex -images 50 -bases 5 -repos 5 -queries 10
	$(GO) run ./scripts/bench -only scale -scale-sizes 100,300 -quick -out bin/bench-scale-smoke.json

bench-index: ## the index at 1,000 images: build, family and blob queries (API and SQL), sql --export; time and peak RSS
	$(GO) run ./scripts/benchindex

bench-scale: ## the scale benchmark: 10,000 and 100,000 repositories (catalog, /api/du, du, gc, GETs under load, peak RSS; ~15 min, ~3 GB of disk; BENCH_FLAGS=-scale-keep=DIR reuses the filled stores)
	$(GO) run ./scripts/bench -only scale $(BENCH_FLAGS)
