# Ferry's build, demo and test entry points. `make demo` and `make test` are the README's
# two commands; `.ci/run` calls `make test`.

SHELL := /bin/bash
GO ?= go
CACHE ?= $(or $(FERRY_CACHE_DIR),$(HOME)/.cache/ferry)
TOOLS := $(CACHE)/tools
GOLANGCI_LINT_VERSION := v2.15.0
CONTROLLER_GEN_VERSION := v0.23.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X ferry.dev/ferry/internal/buildinfo.Version=$(VERSION)

.PHONY: all build demo test unit fuzz integration e2e lint generate components tools clean bench-engine bench-canary bench-argo-canary bench-imagewatch bench-board bench-first-paint

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ferry ./cmd/ferry

## demo: bring up the local cluster, build and deploy the hello example, print its URL.
demo: build
	bin/ferry dev demo --repo .

## test: lint, unit, fuzz, integration and end-to-end tests, in that order.
test: lint unit fuzz integration e2e

unit:
	$(GO) test -count=1 ./...

# Each fuzz target runs for a bounded time; a crash fails the build and is kept in
# testdata/fuzz for the unit tests to replay.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/appfile/

# The integration tests run a real kube-apiserver and etcd from the cache (built once),
# and the dashboard's a headless chromium (a Debian package, installed when missing).
integration: build
	bin/ferry dev build
	bin/ferry dev packages
	$(GO) test -count=1 -tags integration ./internal/...

# The end-to-end tests bring the dev cluster up, use it, and take it down again; there is
# one dev cluster per machine, so their packages run one after the other (-p 1).
e2e: build
	$(GO) test -count=1 -p 1 -tags e2e -timeout 45m -v ./test/e2e/...

## bench-engine: the delivery engine's figures on the dev cluster with simulated nodes
## (latency, 1,000 three-stage apps, memory and idle CPU, time over a bare rollout).
## It needs a fresh cluster: it brings one up and takes it down again afterwards.
bench-engine: build
	bin/ferry dev down
	bin/ferry dev up --kwok-nodes 6
	bin/ferry bench engine; status=$$?; bin/ferry dev down; exit $$status

## bench-canary: canary releases of five simulated pods timed from Release to verified,
## against the 2 s of pauses they hold, and the same rounds of pods on bare ReplicaSets
## as this cluster's floor (a fresh cluster, taken down afterwards).
bench-canary: build
	bin/ferry dev down
	bin/ferry dev up --kwok-nodes 1
	bin/ferry bench canary; status=$$?; bin/ferry dev down; exit $$status

## bench-argo-canary: Argo Rollouts v1.8.3's own canary of the same shape (no traffic
## routing) timed from the Rollout's update to fully promoted, to compare with
## bench-canary; its controller is built from its Go module once into the cache (a
## fresh cluster, taken down afterwards).
bench-argo-canary: build
	bin/ferry dev down
	bin/ferry dev up --kwok-nodes 1
	bin/ferry bench argo-canary; status=$$?; bin/ferry dev down; exit $$status

## bench-imagewatch: 1,000 ImageWatches over 10 repositories of a real registry, through
## the controller and an API server: manifest requests per poll interval, counted in the
## registry's access log (10 is one per repository).
bench-imagewatch: build
	bin/ferry dev build
	$(GO) test -count=1 -tags integration -run '^$$' -bench ThousandWatches -benchtime 1x ./internal/controller/imagewatch/

## bench-board: the release board of 1,000 applications x 3 stages (a Release and three
## Promotions each) from ferry server's API on a real API server: median and p99 time of
## a whole board (both pages) over 50 fetches, its JSON size, the cache's heap.
bench-board: build
	bin/ferry dev build
	$(GO) test -count=1 -tags integration -run '^$$' -bench Board -benchtime 1x ./internal/server/

## bench-first-paint: the dashboard's board of 1,000 applications x 3 stages in a headless
## chromium from ferry server on loopback: first paint, first rows drawn, all rows loaded,
## the longest task, the last row after a jump to the bottom, scroll frames.
bench-first-paint: build
	bin/ferry dev build
	bin/ferry dev packages
	$(GO) test -count=1 -tags integration -run '^$$' -bench FirstPaint -benchtime 1x ./internal/dashboard/

lint: tools
	$(TOOLS)/golangci-lint run --build-tags integration,e2e ./...

generate: tools
	$(TOOLS)/controller-gen object paths=./api/... crd rbac:roleName=ferry-controller paths=./... output:crd:dir=config/crd output:rbac:dir=config/rbac

tools: $(TOOLS)/golangci-lint $(TOOLS)/controller-gen

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(TOOLS)/controller-gen:
	GOBIN=$(TOOLS) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

clean:
	rm -rf bin artifacts
