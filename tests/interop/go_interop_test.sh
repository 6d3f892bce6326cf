#!/usr/bin/env bash
# The Go interop test: parley's checkpoints, keys and proofs (written by
# parley-interop-fixture) checked by golang.org/x/mod/sumdb/{note,tlog}, built offline from
# Debian's golang-golang-x-mod-dev with Debian's golang-go (scripts/bootstrap installs both).
#
# Usage: go_interop_test.sh FIXTURE_BINARY INTEROP_SOURCE_DIR WORK_DIR check|tamper
#   check   the checker passes on the fixture
#   tamper  the checker fails on every copy of the fixture with one byte flipped (so the
#           check above is not one that cannot fail)
# Exits 77 (CTest: skipped) only if go or the Go sources are absent.
set -euo pipefail

fixture=$1
source_dir=$2
work=$3
mode=$4

gopath=/usr/share/gocode
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: go is not installed (scripts/bootstrap installs golang-go golang-golang-x-mod-dev)"
  exit 77
fi
if [[ ! -d "$gopath/src/golang.org/x/mod/sumdb/note" ]]; then
  echo "SKIP: $gopath has no golang.org/x/mod (install golang-golang-x-mod-dev)"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work/fixture"
# Offline, from the Debian sources only: GOPATH mode, no module proxy, the cache in the build
# directory.
export GO111MODULE=off GOPATH="$gopath" GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="$work/gocache"
go build -o "$work/checkpoint_check" "$source_dir/checkpoint_check.go"
"$fixture" "$work/fixture"

if [[ "$mode" == check ]]; then
  "$work/checkpoint_check" "$work/fixture"
  exit
fi

# FILE LINE COLUMN: the character there (a base64 or hex digit) is replaced by another one.
flip() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, line, column = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(path, encoding="utf-8").read().split("\n")
text = lines[line]
c = text[column]
lines[line] = text[:column] + ("B" if c != "B" else "C") + text[column + 1:]
open(path, "w", encoding="utf-8").write("\n".join(lines))
PY
}

failed=0
# What is flipped: the root line, the log's signature, the witness's cosignature, an entry,
# an inclusion-proof hash, a consistency-proof hash, the old size of a request, the key ID.
for target in "checkpoint 2 3" "checkpoint 4 -5" "checkpoint 5 -5" "entries 10 7" \
              "inclusion-22 1 4" "add-checkpoint-13 1 4" "add-checkpoint-16 0 5" \
              "log.vkey 0 38"; do
  read -r file line column <<<"$target"
  copy="$work/tampered"
  rm -rf "$copy" && cp -r "$work/fixture" "$copy"
  if [[ "$file" == add-checkpoint-16 ]]; then
    sed -i '1s/^old 16$/old 17/' "$copy/$file"  # a proof for 16 claimed for 17
  else
    flip "$copy/$file" "$line" "$column"
  fi
  if "$work/checkpoint_check" "$copy" >"$work/out.txt" 2>&1; then
    echo "NOT DETECTED: a flipped byte in $file (line $line, column $column)"
    failed=1
  else
    echo "detected: $file (line $line): $(grep -m1 FAIL "$work/out.txt" || true)"
  fi
done
exit "$failed"
