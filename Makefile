# layerlab — a container registry you can see through.
# `make help` lists the targets.

GO       ?= go
BIN      := bin/registry
ADDR     ?= 127.0.0.1:5000
ROOT     ?= ./data
export GOFLAGS ?= -buildvcs=false

.DEFAULT_GOAL := help

.PHONY: help build test test-s3 lint fuzz run bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z0-9_-]+:.*?## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/registry
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./registry

test: ## run the test suite (race detector on)
	$(GO) test -race -count=1 ./...

test-s3: ## run the storage driver suite on SeaweedFS and versitygw (built and started by scripts/)
	bash scripts/s3-test.sh

FUZZTIME ?= 60s
FUZZ_TARGETS := FuzzValidateName FuzzParseReference FuzzParseDigest FuzzParseContentRange FuzzParseManifest

fuzz: ## run each fuzz target for FUZZTIME (default 60s); new crashers land in registry/api/testdata/fuzz
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test ./registry/api -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint: ## gofmt, go vet, shellcheck, shfmt, and no script or doc naming a missing path
	@test -z "$$(gofmt -l registry scripts)" || { gofmt -l registry scripts; exit 1; }
	$(GO) vet ./...
	@if command -v shellcheck >/dev/null; then shellcheck $$(git ls-files '*.sh') .ci/run; else echo "shellcheck missing: bash scripts/tools.sh installs it"; exit 1; fi
	@if command -v shfmt >/dev/null; then shfmt -d $$(git ls-files '*.sh'); else echo "shfmt missing: bash scripts/tools.sh installs it"; exit 1; fi
	@bash scripts/check-paths.sh

run: build ## serve on ADDR (default 127.0.0.1:5000) with storage in ROOT (default ./data), learner events on
	./$(BIN) serve --addr $(ADDR) --root $(ROOT) --verbose

clean: ## remove build output and the local ./data store
	rm -rf bin data

-include scripts/lab.mk
-include scripts/bench.mk
