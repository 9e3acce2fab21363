#!/usr/bin/env bash
# Builds the Kubernetes and Multus binaries the local cluster runs, from the Go
# module proxy, and caches them under $OUT keyed by version.
#
# `go install k8s.io/kubernetes/cmd/...@vX` does not work because that module's
# go.mod replaces every k8s.io staging module with a local path. A build-only
# module that requires k8s.io/kubernetes and points each staging module at the
# published v0.X release builds the commands with a plain `go build`. Multus
# needs a build-only module too: the proxy does not list its versions, so
# `go install ...@v4.3.0` fails its deprecation check.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
MULTUS_VERSION=${MULTUS_VERSION:-v4.3.0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/_output/cluster-bin}
KUBE_BINS=${KUBE_BINS:-kube-apiserver kubelet kubectl kube-controller-manager kube-scheduler}

staging_version() {
	# v1.37.2 -> v0.37.2
	echo "v0.${1#v1.}"
}

build_kube() {
	local dest=$OUT/kubernetes-$KUBE_VERSION missing=()
	for bin in $KUBE_BINS; do
		[ -x "$dest/$bin" ] || missing+=("$bin")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	local mod=$OUT/build/kubernetes-$KUBE_VERSION
	mkdir -p "$mod" "$dest"
	local gomod
	gomod=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	{
		echo "module local/kube-build"
		echo
		grep -E '^go ' "$gomod"
		echo
		echo "require k8s.io/kubernetes $KUBE_VERSION"
		echo
		echo "replace ("
		sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$(staging_version "$KUBE_VERSION")"'#p' "$gomod"
		echo ")"
	} >"$mod/go.mod"
	printf 'package main\n\nimport (\n' >"$mod/tools.go"
	for bin in "${missing[@]}"; do
		printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$bin" >>"$mod/tools.go"
	done
	printf ')\n\nfunc main() {}\n' >>"$mod/tools.go"
	(cd "$mod" && go mod tidy >/dev/null)
	# Without these, the binaries report v0.0.0-master, as node status and
	# `kubectl version` show. Kubernetes' own build sets the same variables.
	local minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	local pkg ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	for bin in "${missing[@]}"; do
		echo "building $bin $KUBE_VERSION"
		(cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dest/$bin" "k8s.io/kubernetes/cmd/$bin")
	done
}

build_multus() {
	local dest=$OUT/multus-$MULTUS_VERSION
	if [ -x "$dest/multus" ] && [ -x "$dest/multus-daemon" ] && [ -x "$dest/multus-shim" ]; then
		return 0
	fi
	local mod=$OUT/build/multus-$MULTUS_VERSION
	mkdir -p "$mod" "$dest"
	cat >"$mod/go.mod" <<MOD
module local/multus-build

go 1.24

require gopkg.in/k8snetworkplumbingwg/multus-cni.v4 $MULTUS_VERSION
MOD
	cat >"$mod/tools.go" <<'GO'
package main

import (
	_ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus"
	_ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus-daemon"
	_ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus-shim"
)

func main() {}
GO
	(cd "$mod" && go mod tidy >/dev/null)
	for bin in multus multus-daemon multus-shim; do
		echo "building $bin $MULTUS_VERSION"
		(cd "$mod" && CGO_ENABLED=0 go build -trimpath -o "$dest/$bin" "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/$bin")
	done
}

build_multus
build_kube
echo "binaries in $OUT"
