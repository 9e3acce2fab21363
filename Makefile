# contrail-vif build, test and demo targets. Tests that touch network
# namespaces and the local cluster need root.

GO        ?= go
BIN       := bin
BINARIES  := contrail-vif contrail-vif-controller contrail-sim
GOFLAGS_BUILD := -trimpath

.PHONY: all build test unit-test e2e demo demo-down lint fuzz clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

# Unit tests and the tests that create network namespaces and links (root).
test:
	$(GO) test -race -count=1 ./pkg/... ./cmd/... ./hack/...

# The end-to-end suite on a local cluster: etcd, kube-apiserver, containerd,
# kubelet and Multus started as processes, with contrail-sim and the
# controller. Everything is torn down at the end, also on failure. Each
# entry of E2E_RUNS is MULTUS_MODE/CVIF_COMPONENTS: one run with Multus
# thin and the components as host processes, one with Multus thick
# (multus-daemon and multus-shim) and the components deployed as pods from
# deployments/. `make e2e E2E_RUNS=thick/processes` runs one of them.
E2E_RUNS ?= thin/processes thick/pods
e2e: build
	@for run in $(E2E_RUNS); do \
		echo "== e2e: Multus $${run%/*}, components as $${run#*/}"; \
		MULTUS_MODE=$${run%/*} CVIF_COMPONENTS=$${run#*/} e2e/run.sh test || exit 1; \
	done

# The fault run on the same setup: at least 60 pods created and deleted in
# waves while the controller, the vRouter agent, the config API and
# containerd fail in turn, then checks for leaks and duplicates and writes
# _output/faults/summary.json (docs/testing.md).
.PHONY: e2e-faults
e2e-faults: build
	e2e/run.sh faults

# The same setup with the example pods, left running with a summary.
demo: build
	e2e/run.sh demo

demo-down:
	e2e/run.sh down

# Benchmarks (root): CNI ADD/DEL latency against the reference bridge
# plugin, pod readiness on the local cluster, controller throughput and
# memory at 5,000 pods. Raw samples and summary.json go to bench/results/;
# docs/benchmarks.md records the figures. Brings the local cluster up and
# down, holding /tmp/cvif-cluster.lock while it measures.
.PHONY: bench
bench: build
	bench/run.sh

# Every fuzz target for a bounded budget each: FUZZTIME seconds (default
# 10) or a number of inputs such as 2000x.
FUZZTIME ?= 10
fuzz:
	hack/fuzz.sh $(FUZZTIME)

# Container images without a container engine: OCI image-layout archives
# in $(IMAGES_DIR), from the static binaries on an empty base with
# /etc/passwd (nonroot 65532) and the build machine's CA certificates
# (Debian's ca-certificates). Fixed timestamps make the digests depend on
# the binaries and the CA bundle only. Load them with
# `ctr -n k8s.io images import` or `kind load image-archive`, or push them
# with `skopeo copy oci-archive:...` (docs/operations.md).
# GOARCH=arm64 make images builds images for arm64: the binaries follow
# GOARCH, and the image builder itself is built for this machine.
IMAGES_DIR   ?= _output/images
IMAGE_PREFIX ?= localhost/contrail-vif
IMAGE_TAG    ?= dev
IMAGE_ARCH   := $(shell $(GO) env GOARCH)
IMAGEBUILD   := _output/tools/imagebuild -arch $(IMAGE_ARCH)

.PHONY: images kind-e2e
images: build
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/contrail-vif-install
	env -u GOOS -u GOARCH $(GO) build -o _output/tools/imagebuild ./hack/imagebuild
	$(IMAGEBUILD) -name $(IMAGE_PREFIX)/controller:$(IMAGE_TAG) \
		-file $(BIN)/contrail-vif-controller:/contrail-vif-controller \
		-entrypoint /contrail-vif-controller -out $(IMAGES_DIR)/contrail-vif-controller.tar
	$(IMAGEBUILD) -name $(IMAGE_PREFIX)/install:$(IMAGE_TAG) -user 0:0 \
		-file $(BIN)/contrail-vif-install:/contrail-vif-install -file $(BIN)/contrail-vif:/contrail-vif \
		-entrypoint /contrail-vif-install -out $(IMAGES_DIR)/contrail-vif-install.tar
	$(IMAGEBUILD) -name $(IMAGE_PREFIX)/contrail-sim:$(IMAGE_TAG) -user 0:0 \
		-file $(BIN)/contrail-sim:/contrail-sim \
		-entrypoint /contrail-sim -out $(IMAGES_DIR)/contrail-sim.tar

# The deployment on kind (needs Docker and network access to the Go module
# proxy, GitHub and the image registries): three nodes, Multus thick
# v4.3.0, deployments/overlays/local-sim, a pod on a simulated VN, and the
# manifest checks of the e2e suite. Deletes the kind cluster at the end.
kind-e2e: images
	e2e/kind/run.sh

lint:
	@out=$$(gofmt -l cmd pkg e2e hack); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	shellcheck -x e2e/*.sh e2e/cluster/*.sh e2e/kind/*.sh hack/*.sh .ci/run

clean:
	rm -rf $(BIN)
