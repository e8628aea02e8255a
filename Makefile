# railnet — `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
PKGS  := ./...
REGISTRY ?= ghcr.io/railnet
TAG      ?= dev
# BENCH_COUNT is how many times bench-extender runs the real-scheduler bench in
# one invocation (its rounds side by side, so a swing of the shared machine shows).
BENCH_COUNT ?= 2
# railnet-scheduler (kube-scheduler + railnet's plugin) is its own Go module: it
# requires k8s.io/kubernetes, whose staging replaces the main module must not
# carry. -trimpath shares the build cache with test/ground's build of it.
SCHED_MOD := extender/cmd/railnet-scheduler
SCHED_GO  := cd $(SCHED_MOD) && GOWORK=off GOFLAGS=-trimpath $(GO)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: node-packages ## The main job, as root: control plane, webhook, extender and 2 real 8-rail nodes (kubelet + containerd); an annotated job placed and networked, then a rail failure.
	$(GO) run ./test/demo

.PHONY: node-packages
node-packages: ## Install the Debian packages real nodes need (containerd, runc, busybox-static), if missing.
	@./test/scripts/install-node-packages.sh

.PHONY: build
build: ## Build every binary into bin/ (railnet-webhook, railnet-extender, railnet-scheduler, railnet-agent, railnet-ipam, railnet-coordinator, cluster).
	$(GO) build -o bin/railnet-webhook ./webhook
	$(GO) build -o bin/railnet-extender ./extender
	$(SCHED_GO) build -o $(CURDIR)/bin/railnet-scheduler .
	$(GO) build -o bin/ ./nodeagent/cmd/... ./test/cluster

.PHONY: images
images: ## Build the container images (needs a container engine; this machine has none: test/images checks what it can).
	docker build -f webhook/Dockerfile -t $(REGISTRY)/railnet-webhook:$(TAG) .
	docker build -f extender/Dockerfile -t $(REGISTRY)/railnet-extender:$(TAG) .
	docker build -f $(SCHED_MOD)/Dockerfile -t $(REGISTRY)/railnet-scheduler:$(TAG) .
	docker build -f nodeagent/Dockerfile -t $(REGISTRY)/railnet-agent:$(TAG) .

.PHONY: generate
generate: ## Regenerate deepcopy code and CRD manifests from api/.
	$(GO) tool controller-gen object paths=./api/...
	rm -f api/crds/*.yaml
	$(GO) tool controller-gen crd:allowDangerousTypes=false paths=./api/... output:crd:artifacts:config=api/crds
	mkdir -p charts/railnet/crds && rm -f charts/railnet/crds/*.yaml && cp api/crds/*.yaml charts/railnet/crds/

.PHONY: verify
verify: ## Fail when generated files are stale or go.mod/go.sum are untidy.
	@./test/scripts/verify.sh

.PHONY: lint
# vet -race compiles railnet's dependencies as the unit tests do, so a cold run
# compiles them once for both (binaries are built -trimpath without cgo, as the
# Dockerfiles do: see test/ground.Build).
lint: ## go vet and gofmt (both modules).
	$(GO) vet -race $(PKGS)
	$(SCHED_GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test
test: verify lint test-unit test-e2e ## Everything: verify, lint, unit tests and end-to-end tests on the real control plane.
	@./test/scripts/check-leftovers.sh

.PHONY: test-unit
test-unit: ## Unit tests: no control plane (network-namespace tests need root).
	$(GO) test -race -count=1 $$($(GO) list $(PKGS) | grep -v /test/e2e)
	$(SCHED_GO) test -count=1 ./...

.PHONY: test-e2e
test-e2e: node-packages ## End-to-end tests against a real etcd + kube-apiserver + scheduler + controller-manager, and real nodes (kubelet + containerd).
	$(GO) test -race -count=1 -timeout 40m ./test/e2e/...

.PHONY: test-install
test-install: node-packages ## helm install the chart onto two real nodes, run an annotated Deployment on it, helm uninstall (also part of test-e2e).
	$(GO) test -race -count=1 -timeout 30m -v ./test/e2e/install/

.PHONY: cluster-up
cluster-up: ## Start a local control plane in the background; prints the KUBECONFIG to export.
	$(GO) run ./test/cluster up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up.
	$(GO) run ./test/cluster down

.PHONY: cluster-status
cluster-status: ## Show whether the local control plane is running.
	$(GO) run ./test/cluster status

.PHONY: bench-agent
bench-agent: ## Node agent: full discovery of the 8-rail fixture (time, allocations, ratio to a tree-read baseline). Needs root.
	$(GO) test -run '^$$' -bench DiscoverRail8 -benchtime 2s -count 1 ./nodeagent/discovery

.PHONY: bench-extender
bench-extender: ## Extender: filter+prioritize in process (1,000/5,000 nodes, p50/p99, CPU, allocs, ratio to a pass-through extender, memory with the nodes cached, goals; the top of a CPU profile of the 5,000-node cycle); real scheduler pods/s with it, with railnet-scheduler (the plugin) and plain, at 100% and at the default percentage of nodes scored; that bench runs BENCH_COUNT times (default 2).
	$(GO) test -run '^$$' -bench 'FilterPrioritize|PluginCycle' -benchtime 30x -count 1 ./extender/bench
	@mkdir -p bin && rm -f bin/extender-5000nodes.pprof
	$(GO) test -run '^$$' -bench 'ExtenderCycle/nodes=5000' -benchtime 400x -count 1 ./extender/bench -args -cycleprofile $(CURDIR)/bin/extender-%dnodes.pprof
	@echo "where the extender's time goes at 5,000 nodes (filter+prioritize cycles, JSON included):"
	@$(GO) tool pprof -top -cum -nodecount 35 bin/extender-5000nodes.pprof 2>/dev/null | sed -n '/flat%/,$$p'
	$(GO) test -run '^$$' -bench SchedulerThroughput -benchtime 1x -count $(BENCH_COUNT) -timeout $$((30 * $(BENCH_COUNT)))m ./test/e2e/extender

.PHONY: bench-webhook
bench-webhook: ## Webhook: in-process reviews/s for an 8-rail pod vs an unannotated one, the goals and whether they are met (if not, the top of a CPU profile of the 8-rail review); peak heap of 16 concurrent 7 MB reviews; one review's HTTP/TLS cost by protocol and connection reuse; apiserver pod-create p50/p99 with no webhook, a webhook doing nothing, one replaying railnet's patch (the floor of any mutating webhook) and railnet's, in turn; webhook RSS under load; ratios printed.
	@mkdir -p bin && rm -f bin/webhook-8rail.pprof
	$(GO) test -run '^$$' -bench 'BenchmarkMutatePodRatio|BenchmarkLargeReviews' -benchtime 1x -count 1 ./webhook/admission -args -goalprofile $(CURDIR)/bin/webhook-8rail.pprof
	@if [ -f bin/webhook-8rail.pprof ]; then echo "where an 8-rail review's time goes (a goal is not met):"; \
		$(GO) tool pprof -top -cum -nodecount 35 bin/webhook-8rail.pprof 2>/dev/null | sed -n '/flat%/,$$p'; fi
	$(GO) test -run '^$$' -bench BenchmarkServeProtocols -benchtime 1x -count 1 ./webhook/server
	$(GO) test -run '^$$' -bench BenchmarkWebhook -benchtime 1x -count 1 -timeout 20m ./test/e2e/webhook

.PHONY: bench-ipam
bench-ipam: ## IPAM: CNI ADD allocations/s of railnet-ipam vs whereabouts v0.9.2 (same apiserver, pool, concurrency); 8-rail pod ADD vs macvlan+host-local; CPU per process of railnet-ipam and railnet-coordinator beside an empty Go binary's; ratios printed. Needs root.
	$(GO) test -run '^$$' -bench BenchmarkExec -benchtime 300x -v ./nodeagent/cmd/railnet-coordinator
	$(GO) test -run '^$$' -bench 'BenchmarkCNIAllocate|BenchmarkCNIAddEightRails' -benchtime 10x -timeout 40m -v ./test/e2e/ipam/
