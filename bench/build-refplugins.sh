#!/usr/bin/env bash
# Builds the reference CNI plugins that bench/cni compares contrail-vif
# with: bridge and host-local from github.com/containernetworking/plugins at
# a pinned version, with the Go toolchain on PATH, into
# $OUT/plugins-$PLUGINS_VERSION (cached by version).
#
# The build uses a module of its own under $OUT/build, so the product's
# go.mod never gains a requirement for the benchmark.
set -euo pipefail

PLUGINS_VERSION=${PLUGINS_VERSION:-v1.10.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/_output/bench-bin}
PLUGINS=(bridge host-local)
PLUGIN_PACKAGES=(plugins/main/bridge plugins/ipam/host-local)

dest=$OUT/plugins-$PLUGINS_VERSION
stamp=$dest/.go-version
if [ -x "$dest/bridge" ] && [ -x "$dest/host-local" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$(go env GOVERSION)" ]; then
	exit 0
fi

mod=$OUT/build/plugins-$PLUGINS_VERSION
mkdir -p "$mod" "$dest"
cat >"$mod/go.mod" <<MOD
module local/cni-plugins-build

go 1.24

require github.com/containernetworking/plugins $PLUGINS_VERSION
MOD
{
	printf 'package main\n\nimport (\n'
	for pkg in "${PLUGIN_PACKAGES[@]}"; do
		printf '\t_ "github.com/containernetworking/plugins/%s"\n' "$pkg"
	done
	printf ')\n\nfunc main() {}\n'
} >"$mod/tools.go"
(cd "$mod" && GOWORK=off go mod tidy >/dev/null)

for i in "${!PLUGINS[@]}"; do
	echo "building ${PLUGINS[$i]} $PLUGINS_VERSION"
	# The flags `make build` uses for contrail-vif, so both sides are built alike.
	(cd "$mod" && GOWORK=off CGO_ENABLED=0 go build -trimpath \
		-ldflags "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$PLUGINS_VERSION" \
		-o "$dest/${PLUGINS[$i]}" "github.com/containernetworking/plugins/${PLUGIN_PACKAGES[$i]}")
done
go env GOVERSION >"$stamp"
