# contrail-vif build, test and demo targets. Tests that touch network
# namespaces and the local cluster need root.

GO        ?= go
BIN       := bin
BINARIES  := contrail-vif contrail-vif-controller contrail-sim
GOFLAGS_BUILD := -trimpath

.PHONY: all build test unit-test e2e demo demo-down lint clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

# Unit tests and the tests that create network namespaces and links (root).
test:
	$(GO) test -race -count=1 ./pkg/... ./cmd/...

# The end-to-end suite on a local cluster: etcd, kube-apiserver, containerd,
# kubelet and Multus started as processes, with contrail-sim and the
# controller. Everything is torn down at the end, also on failure.
e2e: build
	e2e/run.sh test

# The same setup with the example pods, left running with a summary.
demo: build
	e2e/run.sh demo

demo-down:
	e2e/run.sh down

lint:
	@out=$$(gofmt -l cmd pkg e2e); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	shellcheck -x e2e/*.sh e2e/cluster/*.sh .ci/run

clean:
	rm -rf $(BIN)
