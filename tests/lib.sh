# Shared by the shell tests that run real `parley gateway` processes on loopback: sourced
# as `source "$(dirname "$0")/lib.sh" NAME PATH_TO_PARLEY`. Sets PARLEY (absolute), DIR (a
# fresh directory, removed at exit unless a check failed), PIDS (processes to stop at exit)
# and the counters, and defines ok, bad, check, free_port, federate and poll.
# shellcheck shell=bash

_lib_name=${1:?lib.sh: a test name}
PARLEY=${2:?usage: $_lib_name PATH_TO_PARLEY}
PARLEY=$(cd "$(dirname "$PARLEY")" && pwd)/$(basename "$PARLEY")
DIR=$(mktemp -d "/tmp/parley-$_lib_name-XXXXXX")
PIDS=()
passed=0
failed=0

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ $failed -eq 0 ]]; then rm -rf "$DIR"; else echo "kept $DIR for inspection"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() {  # check DESCRIPTION COMMAND...: passes if the command succeeds
  local what=$1; shift
  if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi
}

# A loopback port free now, picked at random below the kernel's ephemeral range (a port bind(0)
# hands out may be taken by an outgoing connection's source port before the gateway binds it).
free_port() {
  python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(max(1024, low - 10000), low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
' 2>/dev/null || echo $((20000 + RANDOM % 10000))
}

# Pins two parties' bundles in each other's home (peer add both ways, each a check); the
# bundles stay in DIR/us.json and DIR/ru.json. federate US_HOME RU_HOME
federate() {
  "$PARLEY" bundle --home "$1" >"$DIR/us.json" || bad "bundle of $1"
  "$PARLEY" bundle --home "$2" >"$DIR/ru.json" || bad "bundle of $2"
  check "peer add us<-ru" "$PARLEY" peer add --home "$1" "$DIR/ru.json"
  check "peer add ru<-us" "$PARLEY" peer add --home "$2" "$DIR/us.json"
}

# Polls a command until it succeeds, at most $1 seconds (a deadline, not a sleep).
poll() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  "$@" >/dev/null 2>&1
}
