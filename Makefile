# Max Booster. `make help` lists the targets.
#
# The two commands: `make run` starts the server on the embedded SQLite
# default; `make test` runs every suite, pointing the integration suites at
# the PostgreSQL, Redis and Node it can find (override any MB_TEST_* by
# setting it yourself).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

MODULE  := github.com/maxbooster/maxbooster
BIN     := $(CURDIR)/bin
PKGS    ?= ./...
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Pinned linters, installed with `go install` into ./bin on first use.
GOLANGCI_LINT_VERSION := v2.15.0
STATICCHECK_VERSION   := v0.8.2
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
STATICCHECK   := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
# S3-compatible server for the S3 blob store tests (MB_TEST_S3), Apache-2.0.
VERSITYGW_VERSION := v1.8.0
VERSITYGW         := $(BIN)/versitygw-$(VERSITYGW_VERSION)
# stripe-mock, Stripe's official mock API server, for the payments tests.
STRIPE_MOCK_VERSION := v0.203.0
STRIPE_MOCK         := $(BIN)/stripe-mock-$(STRIPE_MOCK_VERSION)

# Services for the integration suites: used when reachable on loopback.
TEST_PG_DSN     ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
TEST_REDIS_ADDR ?= 127.0.0.1:6379
port_open = $(shell (exec 3<>/dev/tcp/$(1)/$(2)) 2>/dev/null && echo yes)
# npm present: make build/run rebuild the web studio first (see webclient below).
HAVE_NPM := $(shell command -v npm >/dev/null 2>&1 && echo yes)

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
# Ogg Opus and Vorbis decoding use cgo libraries (make audio-deps). Where they
# are not installed, build without cgo: everything else works, and those two
# codecs answer "unsupported codec".
AUDIO_CGO := $(shell pkg-config --exists opus opusfile vorbisfile 2>/dev/null && echo yes)

build: $(if $(HAVE_NPM),webclient) ## build bin/maxbooster (without Ogg Opus/Vorbis when their libraries are missing; rebuilds the web studio first when npm is present)
	@if [ "$(AUDIO_CGO)" != yes ]; then echo "note: libopus/libopusfile/libvorbisfile not found (make audio-deps): building without Ogg Opus and Vorbis decoding"; fi
	$(if $(filter yes,$(AUDIO_CGO)),,CGO_ENABLED=0) $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/maxbooster ./cmd/maxbooster

.PHONY: run
run: build ## build and run the server with SQLite in ./data (no PostgreSQL, no Redis needed)
	$(BIN)/maxbooster serve

.PHONY: test
# Pure number crunching with no goroutines and no shared state: the race
# detector can find nothing there and slows their signal-length tests about
# ten-fold, so `make test` runs these without -race (everything else with it).
NORACE_PKGS := ./audio/loudness ./audio/analysis ./audio/dsp ./audio/report

test: ## run every suite (with -race but for NORACE_PKGS); sets MB_TEST_* for the services it finds
	@env_args=(); \
	if [ -z "$${MB_TEST_POSTGRES_DSN:-}" ] && [ "$(call port_open,127.0.0.1,5432)" = yes ]; then \
		env_args+=("MB_TEST_POSTGRES_DSN=$(TEST_PG_DSN)"); fi; \
	if [ -z "$${MB_TEST_REDIS_ADDR:-}" ] && [ "$(call port_open,127.0.0.1,6379)" = yes ]; then \
		env_args+=("MB_TEST_REDIS_ADDR=$(TEST_REDIS_ADDR)"); fi; \
	if [ -z "$${MB_TEST_YJS:-}" ] && command -v node >/dev/null; then \
		$(MAKE) --no-print-directory yjs-deps; env_args+=("MB_TEST_YJS=1"); fi; \
	if [ -z "$${MB_TEST_S3:-}" ] && $(MAKE) --no-print-directory s3-server; then \
		env_args+=("MB_TEST_S3=$(VERSITYGW)"); fi; \
	if [ -z "$${MB_TEST_CHROMIUM:-}" ] && [ -x /usr/bin/chromium ] && command -v node >/dev/null; then \
		$(MAKE) --no-print-directory rtc-browser-deps; env_args+=("MB_TEST_CHROMIUM=/usr/bin/chromium"); fi; \
	if [ -z "$${MB_TEST_STRIPE_MOCK:-}" ] && $(MAKE) --no-print-directory stripe-mock; then \
		env_args+=("MB_TEST_STRIPE_MOCK=$(STRIPE_MOCK)"); fi; \
	echo "test env: $$(env "$${env_args[@]}" | grep -E '^(MB_TEST_|CI=)' | sort | tr '\n' ' ')"; \
	all=$$($(GO) list $(PKGS)); norace=$$($(GO) list $(NORACE_PKGS)); \
	race=$$(comm -23 <(sort <<<"$$all") <(sort <<<"$$norace")); \
	plain=$$(comm -12 <(sort <<<"$$all") <(sort <<<"$$norace")); \
	env "$${env_args[@]}" $(GO) test -race -count=1 -timeout 20m $$race; \
	if [ -n "$$plain" ]; then env "$${env_args[@]}" $(GO) test -count=1 -timeout 20m $$plain; fi
	@if [ -n "$${MB_TEST_WEBCLIENT:-}" ] || command -v node >/dev/null || [ "$${CI:-}" = true ]; then \
		$(MAKE) --no-print-directory test-webclient; fi

.PHONY: bench
bench: ## run benchmarks (no tests), then the crdt B4 table beside yjs when Node is present
	@env_args=(); \
	if [ -z "$${MB_TEST_REDIS_ADDR:-}" ] && [ "$(call port_open,127.0.0.1,6379)" = yes ]; then \
		env_args+=("MB_TEST_REDIS_ADDR=$(TEST_REDIS_ADDR)"); fi; \
	env "$${env_args[@]}" $(GO) test -run='^$$' -bench=. -benchmem $(PKGS)
	@if command -v node >/dev/null; then $(MAKE) --no-print-directory bench-crdt; fi
	@if command -v node >/dev/null; then $(MAKE) --no-print-directory bench-collab; fi
	$(MAKE) --no-print-directory bench-audio
	$(MAKE) --no-print-directory bench-rtc

.PHONY: bench-crdt
bench-crdt: yjs-deps ## crdt vs yjs side by side: the B4 editing trace (B4_BENCHTIME=3x); rich text, a 10,000-node XML tree, snapshots (RICH_BENCHTIME=1x)
	$(YJS_DIR)/b4table.sh

# --- web studio (webclient/) -------------------------------------------------
# The Vite build in webclient/dist is committed and embedded into the binary,
# so `go build` works without Node. With npm present, `make build`/`make run`
# rebuild it when a source or the lockfile changed (npm ci only when
# package-lock.json is newer than node_modules).
WEBCLIENT_SRC := $(shell find webclient/src webclient/public webclient/scripts -type f 2>/dev/null) \
	webclient/index.html webclient/package.json webclient/package-lock.json \
	webclient/vite.config.ts webclient/tsconfig.json
CHROMIUM      ?= /usr/bin/chromium

webclient/node_modules/.package-lock.json: webclient/package-lock.json
	cd webclient && npm ci --no-audit --no-fund --loglevel=error

webclient/dist/index.html: $(WEBCLIENT_SRC) webclient/node_modules/.package-lock.json
	cd webclient && npm run build --silent
	@touch $@

.PHONY: webclient
webclient: webclient/dist/index.html ## build the browser studio into webclient/dist when its sources changed (embedded by make build)

.PHONY: test-webclient
test-webclient: ## web studio: Vitest unit tests, then end-to-end in headless Chromium against a real server (CI=true fails when Node or Chromium is missing)
	@if ! command -v npm >/dev/null; then \
		if [ "$${CI:-}" = true ]; then echo "test-webclient: npm is missing (CI=true)"; exit 1; fi; \
		echo "test-webclient: skipped, npm is not installed"; exit 0; fi
	@$(MAKE) --no-print-directory webclient
	cd webclient && npx vitest run
	@$(MAKE) --no-print-directory build
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$${CI:-}" = true ]; then echo "test-webclient: $(CHROMIUM) is missing (apt-get install chromium)"; exit 1; fi; \
		echo "test-webclient: end-to-end skipped, $(CHROMIUM) is missing (apt-get install chromium)"; exit 0; fi; \
	cd webclient && MB_BIN=$(BIN)/maxbooster MB_CHROMIUM=$(CHROMIUM) node --test --test-concurrency=1 --test-timeout=240000 e2e/

# --- audio -------------------------------------------------------------------
# The audio packages use cgo: Ogg Opus through libopusfile/libopus
# (gopkg.in/hraban/opus.v2) and Ogg Vorbis through libvorbisfile. Their tests
# make fixtures with Debian's reference encoders, and bench-audio compares
# our loudness meter with libebur128 and ffmpeg. On Debian:
#   apt-get install pkg-config libopus-dev libopusfile-dev libvorbis-dev \
#     flac lame vorbis-tools opus-tools ffmpeg libebur128-dev
AUDIO_DEBS := pkg-config libopus-dev libopusfile-dev libvorbis-dev flac lame vorbis-tools opus-tools ffmpeg libebur128-dev

.PHONY: audio-deps
audio-deps: ## install the Debian packages the audio packages and their tests need
	apt-get install -y --no-install-recommends $(AUDIO_DEBS)

.PHONY: bench-audio
bench-audio: ## loudness speed and values beside libebur128 and ffmpeg's ebur128, same run
	$(GO) run ./audio/internal/loudbench -seconds 60,300

# --- yjs conformance (crdt) --------------------------------------------------
YJS_DIR := crdt/testdata/yjs
# Real y-websocket and Hocuspocus providers that drive the collab hub in its tests.
COLLAB_CLIENT_DIR := collab/testdata/client

.PHONY: yjs-deps
yjs-deps: ## install the pinned yjs, lib0 and y-protocols (npm ci) for the crdt conformance tests
	cd $(YJS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	cd $(COLLAB_CLIENT_DIR) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: rtc-browser-deps
rtc-browser-deps: ## install playwright-core (npm ci) for rtc's headless Chromium test (uses Debian's /usr/bin/chromium)
	cd rtc/testdata/browser && npm ci --no-audit --no-fund --loglevel=error

.PHONY: bench-rtc
bench-rtc: ## rtc: SFU forwarded packets per CPU-second (own load generator), time to first audio, CPU per preview listener
	@if [ "$(AUDIO_CGO)" != yes ]; then echo "bench-rtc needs libopus (make audio-deps)"; exit 1; fi
	$(GO) build -o $(BIN)/rtcbench ./rtc/internal/rtcbench
	$(BIN)/rtcbench

.PHONY: bench-collab
bench-collab: ## collab hub vs @y/websocket-server 0.1.1 and @hocuspocus/server: fan-out latency, deliveries/CPU-s, memory per idle connection; medians of COLLAB_ROUNDS=3 interleaved runs
	cd collab/testdata/bench && npm ci --no-audit --no-fund --loglevel=error
	$(GO) build -o $(BIN)/collabbench ./collab/internal/collabbench
	@if command -v taskset >/dev/null && [ "$$(nproc)" -ge 2 ]; then \
		taskset -c 1-$$(( $$(nproc) - 1 )) $(BIN)/collabbench -server-cpu 0 -rounds $(or $(COLLAB_ROUNDS),3); \
	else $(BIN)/collabbench -server-cpu '' -rounds $(or $(COLLAB_ROUNDS),3); fi

.PHONY: conformance
conformance: yjs-deps ## crdt against real yjs: fixtures + live differential tests (SEEDS=3000, UNDO_SEEDS=1000)
	MB_TEST_YJS=1 MB_TEST_YJS_SEEDS=$${SEEDS:-3000} MB_TEST_YJS_UNDO_SEEDS=$${UNDO_SEEDS:-1000} $(GO) test -count=1 -timeout 30m ./crdt/... -run 'Yjs|Golden'

# Every fuzz target as package:Target. `go test` (make test, CI) runs their seed corpora.
FUZZ_TARGETS := ./crdt:FuzzDecodeUpdate ./crdt:FuzzDecodeUpdateV2 ./crdt:FuzzApplyUpdate \
	./crdt:FuzzMergeUpdates ./crdt:FuzzDecodeSnapshot ./crdt:FuzzDecodeRelativePosition \
	./collab:FuzzParseMessage ./audio:FuzzReadTags ./audio:FuzzNewReader ./store:FuzzRebind \
	./rtc:FuzzReadOggOpus

.PHONY: fuzz
fuzz: ## run every fuzz target for a while (FUZZTIME=30s per target)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; f=$${t##*:}; \
		echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f\$$" -fuzztime $${FUZZTIME:-30s}; done

.PHONY: fixtures
fixtures: yjs-deps ## re-record the yjs fixtures and lib0 vectors with Node (then review the diff)
	$(GO) test -count=1 ./crdt -run 'TestYjsFixtures|TestYjsUndoCapture' -update
	$(GO) test -count=1 ./crdt/lib0 -run TestGoldenVectors -update

.PHONY: fmt
fmt: ## gofmt -s the tree (only files you own, please, when others are editing)
	gofmt -s -w $$($(GO) list -f '{{.Dir}}' $(PKGS))

.PHONY: fmt-check
fmt-check: ## fail if any Go file is not gofmt -s clean
	@out=$$(gofmt -s -l $$($(GO) list -f '{{.Dir}}' $(PKGS))); \
	if [ -n "$$out" ]; then echo "not gofmt -s clean:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: staticcheck
staticcheck: $(STATICCHECK) ## staticcheck (pinned), config in staticcheck.conf
	$(STATICCHECK) $(PKGS)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## golangci-lint (pinned), config in .golangci.yml
	$(GOLANGCI_LINT) run $(PKGS)

.PHONY: lint
lint: $(GOLANGCI_LINT) $(STATICCHECK) ## gofmt, go vet, staticcheck, golangci-lint (all run; fails if any fails); PKGS=./x/... to narrow
	@failed=(); \
	for t in fmt-check vet staticcheck golangci-lint; do \
		$(MAKE) --no-print-directory $$t PKGS='$(PKGS)' || failed+=($$t); \
	done; \
	if [ $${#failed[@]} -gt 0 ]; then echo "lint failed: $${failed[*]}"; exit 1; fi

.PHONY: tools
tools: $(GOLANGCI_LINT) $(STATICCHECK) ## install the pinned linters into ./bin

$(GOLANGCI_LINT):
	@mkdir -p $(BIN)/.install
	GOBIN=$(BIN)/.install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/.install/golangci-lint $@

.PHONY: s3-server
s3-server: $(VERSITYGW) ## install versitygw (S3-compatible server on a directory) into ./bin for the S3 tests

$(VERSITYGW):
	@mkdir -p $(BIN)/.install
	GOBIN=$(BIN)/.install $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	mv $(BIN)/.install/versitygw $@

.PHONY: stripe-mock
stripe-mock: $(STRIPE_MOCK) ## install stripe-mock (pinned) into ./bin; the payments tests start it on 127.0.0.1 themselves

$(STRIPE_MOCK):
	@mkdir -p $(BIN)/.install-stripe-mock
	GOBIN=$(BIN)/.install-stripe-mock $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	mv $(BIN)/.install-stripe-mock/stripe-mock $@

$(STATICCHECK):
	@mkdir -p $(BIN)/.install
	GOBIN=$(BIN)/.install $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.install/staticcheck $@

.PHONY: tidy-check
tidy-check: ## fail if go.mod/go.sum are not tidy (CI only; never run `go mod tidy` while others edit)
	$(GO) mod tidy -diff

.PHONY: clean
clean: ## remove bin/
	rm -rf $(BIN)
