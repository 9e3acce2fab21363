#!/usr/bin/env bash
# Runs every Go fuzz target under pkg/ and cmd/ for a bounded time each.
#
# Usage: hack/fuzz.sh [SECONDS|COUNTx]
#   SECONDS  fuzzing time per target, 10 when not given;
#   COUNTx   a number of inputs per target instead, such as 2000x. CI uses
#            this form: go test can stop a time-bounded run with "context
#            deadline exceeded" when the machine is slow to gather the
#            corpus's baseline coverage.
#
# The script finds the targets by their "func FuzzXxx(f *testing.F)" lines,
# runs each with "go test -fuzz", and keeps going after a failure so that one
# run reports every failing target. It exits 1 when any target failed. Go
# writes the input that failed to testdata/fuzz/<FuzzName>/ of the package;
# "go test -run=<FuzzName>/<file> ./<package>" replays it. No target needs
# root or the network.
set -euo pipefail

budget="${1:-10}"
if [[ "$budget" =~ ^[1-9][0-9]*$ ]]; then
  budget="${budget}s"
elif ! [[ "$budget" =~ ^[1-9][0-9]*x$ ]]; then
  echo "usage: $0 [SECONDS|COUNTx]: expected a positive whole number of seconds or of inputs such as 2000x, got '$budget'" >&2
  exit 2
fi

cd "$(dirname "$0")/.."

mapfile -t files < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' pkg cmd | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no fuzz targets found under pkg/ and cmd/" >&2
  exit 1
fi

failed=()
count=0
for file in "${files[@]}"; do
  dir="./$(dirname "$file")"
  while read -r name; do
    count=$((count + 1))
    echo "=== $dir $name ($budget)"
    if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$budget" "$dir"; then
      failed+=("$dir $name")
    fi
  done < <(grep -oE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/')
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "--- ${#failed[@]} of $count fuzz targets failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "--- all $count fuzz targets passed ($budget each)"
