.PHONY: help run test lint bench fuzz

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

run: ## serve on the embedded default (SQLite under ./data, Brevo simulator)
	go run ./cmd/synclayer serve

test: ## run every test (the command CI runs)
	go test -race -count=1 -timeout 30m ./...

lint: ## vet and format check
	go vet ./...
	test -z "$$(gofmt -l .)"

bench: ## print ingest throughput, latency and memory figures
	go run ./bench

fuzz: ## run each webhook parser's fuzzer for FUZZTIME (default 30s)
	for p in ./source/shopify ./source/woocommerce ./source/custom; do go test -run=^$$ -fuzz=FuzzParse -fuzztime=$${FUZZTIME:-30s} $$p; done
