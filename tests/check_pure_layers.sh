#!/usr/bin/env bash
# The pure layers (STYLE.md "Layout = architecture": base .. meetings) do no I/O: no
# sockets, threads, files, sleeps or clock reads. Fails listing every offending line.
# Tests beside the code (*_test.cc) may read test data files and are not checked.
# Usage: check_pure_layers.sh [REPO_ROOT]   (default: the directory above this script)
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

layers=()
for d in base crypto wire ledger catalog core meetings; do
  [[ -d "src/parley/$d" ]] && layers+=("src/parley/$d")
done
if [[ ${#layers[@]} -eq 0 ]]; then
  echo "check_pure_layers: no pure layer found under $(pwd)/src/parley" >&2
  exit 1
fi

pattern='asio|beast|<thread>|<fstream>|::now\(\)|sleep|<sys/socket\.h>|fopen|sqlite3\.h|libpq|getenv'
# Lines that are only a // comment are prose ("no sleeps"), not code.
hits=$(grep -rnE --include='*.h' --include='*.cc' "$pattern" "${layers[@]}" \
  | grep -v '_test\.cc:' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)

if [[ -n "$hits" ]]; then
  echo "check_pure_layers: I/O, threads or clock reads in a pure layer (STYLE.md):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "check_pure_layers: ${layers[*]} are pure"
