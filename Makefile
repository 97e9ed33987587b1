# Parcours — the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
GO    ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN   := bin/parcours

.PHONY: run test test-in-db fuzz fuzz-in-db lint build db-stop clean

## build: compile bin/parcours
build:
	$(GO) build -o $(BIN) ./cmd/parcours

## run: local PostgreSQL under .data/pg, migrations, demo data, the server on :8080
run: build
	@eval "$$(scripts/pg.sh start)"; \
	set -e; \
	$(BIN) migrate up; \
	$(BIN) seed demo; \
	echo; \
	echo "Parcours on http://localhost:8080 (PostgreSQL: $$DATABASE_URL)"; \
	echo "In another shell, from this folder:"; \
	echo '  curl -H "Authorization: Bearer $$(./bin/parcours token --role admin)" localhost:8080/api/v1/territories'; \
	echo; \
	exec $(BIN) serve

## test: Chromium for the browser test, a throwaway PostgreSQL, go vet, then the whole suite
## with the race detector; test artifacts (the dashboard screenshot) land in .artifacts/
test: browser
	scripts/pg.sh test $(MAKE) --no-print-directory test-in-db

# test-in-db runs the suite against the DATABASE_URL that scripts/pg.sh test provides, then
# each fuzz target for a few seconds.
test-in-db:
	$(GO) vet ./...
	rm -rf .artifacts && mkdir -p .artifacts
	$(GO) test -race -count=1 -artifacts -outputdir $(CURDIR)/.artifacts ./...
	$(MAKE) --no-print-directory fuzz-in-db FUZZTIME=$(TEST_FUZZTIME)

# TEST_FUZZTIME is how much make test fuzzes each target (a count of executions: a time limit
# can expire while the cached corpus is still being replayed, which go test reports as a
# failure); FUZZTIME how long make fuzz does.
TEST_FUZZTIME ?= 2000x
FUZZTIME      ?= 1m

## fuzz: each fuzz target for FUZZTIME (default 1m) against a throwaway PostgreSQL; a failing
## input lands in the package's testdata/fuzz and becomes a seed `go test` runs
fuzz:
	scripts/pg.sh test $(MAKE) --no-print-directory fuzz-in-db FUZZTIME=$(FUZZTIME)

# fuzz-in-db runs every fuzz target, one at a time (go test -fuzz takes one), for FUZZTIME.
fuzz-in-db:
	$(GO) test -run '^$$' -fuzz '^FuzzCreateBeneficiaryBody$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzWriteBodies$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzBindJSON$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzFluxImport$$' -fuzztime $(FUZZTIME) ./services/imports/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./services/auth/

# browser installs Debian's Chromium when the machine has none (the dashboard test drives it).
.PHONY: browser
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser test"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## bench: Parcours against PostgreSQL's own speed in a throwaway cluster: the 100 000-row flux
## import benchmark, then cmd/parcoursbench (write, read, reports, import, export RSS vs pgbench, psql);
## one `bench <name>: ours=… baseline=… ratio=… target=… met|missed` line per figure
.PHONY: bench bench-in-db
bench: build
	scripts/pg.sh test $(MAKE) --no-print-directory bench-in-db

# bench-in-db runs the benchmarks against the DATABASE_URL that scripts/pg.sh test provides.
bench-in-db:
	@dir=$$(mktemp -d) && chmod 755 $$dir && trap 'rm -rf $$dir' EXIT && \
	PARCOURS_BENCH_FLUX_FILE=$$dir/flux.csv $(GO) test -run '^$$' -bench . -benchtime 1x ./services/imports/ | tee $$dir/import.txt && \
	chmod 644 $$dir/flux.csv && \
	$(GO) run ./cmd/parcoursbench -bin $(BIN) -import-output $$dir/import.txt -import-file $$dir/flux.csv

## loadtest: LOAD_DURATION (default 3m) of mixed traffic at LOAD_RATE req/s (default 50) against
## the real server on a loopback port, in a throwaway cluster (cmd/parcoursload, vegeta); fails
## on any 5xx, any unanswered request, or a database that does not hold exactly the writes
## acknowledged with a 2xx
.PHONY: loadtest loadtest-in-db
LOAD_DURATION ?= 3m
LOAD_RATE     ?= 50
loadtest: build
	scripts/pg.sh test $(MAKE) --no-print-directory loadtest-in-db

# loadtest-in-db runs the load test against the DATABASE_URL that scripts/pg.sh test provides.
loadtest-in-db:
	$(GO) run ./cmd/parcoursload -bin $(BIN) -duration $(LOAD_DURATION) -rate $(LOAD_RATE)

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## db-stop: stop the local PostgreSQL started by make run
db-stop:
	scripts/pg.sh stop

## clean: remove the binary (keeps .data: the local database and signing keys)
clean:
	rm -rf bin
