# ordersaga: developer commands. `make run` starts everything; `make test`
# runs every test (PostgreSQL is started first when it is installed here).

GO                  ?= go
STATICCHECK_VERSION ?= v0.8.2
TEST_TIMEOUT        ?= 14m
BENCH_DURATION      ?= 5s
BENCH_FLAGS         ?=
COMPARE_FLAGS       ?=
PG_HOST             ?= 127.0.0.1
PG_PORT             ?= 5432

.PHONY: run build test bench compare postgres lint fmt clean

## run: start the all-in-one local stack (Ctrl-C stops it)
run:
	$(GO) run ./deploy/cmd/ordersaga run

## build: build the binary into bin/
build:
	$(GO) build -o bin/ordersaga ./deploy/cmd/ordersaga

## test: run every test, after making sure PostgreSQL answers
test: postgres
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## bench: both variants side by side and the Temporal and Kafka ceilings; a
## table on the terminal, JSON and SVG in bench-results/ (BENCH_DURATION per
## point; more flags in BENCH_FLAGS, e.g. BENCH_FLAGS='-postgres postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable')
bench: postgres
	$(GO) run ./deploy/cmd/ordersaga bench -duration $(BENCH_DURATION) $(BENCH_FLAGS)

## compare: both variants side by side on this machine (outcomes, speed,
## cost, failure, change) in one report: compare-results/report.md, .html,
## .json (about 10 minutes; COMPARE_FLAGS=-quick for under 2, more flags in
## COMPARE_FLAGS, e.g. -postgres postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
compare: postgres
	$(GO) run ./deploy/cmd/ordersaga compare $(COMPARE_FLAGS)

## postgres: start the local PostgreSQL cluster unless it answers already
postgres:
	@if pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null; then exit 0; fi; \
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start || true; \
		for i in $$(seq 1 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && exit 0; sleep 1; done; \
	fi; \
	echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT): its tests are skipped (they fail when CI is set)"

## lint: gofmt, go vet and staticcheck (skipped when it cannot be installed)
lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -version >/dev/null 2>&1; then \
		echo "staticcheck ./..."; \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...; \
	else \
		echo "staticcheck $(STATICCHECK_VERSION) could not be installed from the module proxy: skipped"; \
	fi

## fmt: format every Go file
fmt:
	gofmt -w .

## clean: remove the binary (the local run keeps its data in ./data)
clean:
	rm -rf bin
