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
# hands out may be taken by an outgoing connection's source port before the gateway binds it),
# and that no other test on this machine picked in the last 15 minutes: each pick is reserved by
# an atomic mkdir under /tmp/parley-test-ports, since a test takes seconds (init, federate)
# before its gateway binds the port, and ctest runs two tests at once.
free_port() {
  python3 -c '
import os, random, socket, time
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
held = "/tmp/parley-test-ports"
os.makedirs(held, exist_ok=True)
for _ in range(400):
    port = random.randrange(max(1024, low - 10000), low)
    mark = os.path.join(held, str(port))
    try:
        if time.time() - os.stat(mark).st_mtime < 900:
            continue
        os.rmdir(mark)
    except FileNotFoundError:
        pass
    except OSError:
        continue
    try:
        os.mkdir(mark)
    except OSError:
        continue
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

# The pair most tests use: homes US (us-eucom, principal saceur) and RU (ru-genstaff,
# principal cgs) in DIR, ports US_FED US_API RU_FED RU_API, pinned both ways, line saceur-cgs.
# Exits the test if a home cannot be made.
us_ru_pair() {
  US=$DIR/us RU=$DIR/ru
  US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
  "$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
  "$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
  federate "$US" "$RU"
  "$PARLEY" principal add --home "$US" saceur >/dev/null
  "$PARLEY" principal add --home "$RU" cgs >/dev/null
  check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
  check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur
}

# Starts the gateway of `us` or `ru` of us_ru_pair (stderr appended to DIR/us.log or
# DIR/ru.log, its pid in US_PID or RU_PID) and checks that it is ready. start_gateway us|ru
start_gateway() {
  local home=$DIR/$1 api
  [[ $1 == us ]] && api=$US_API || api=$RU_API
  "$PARLEY" gateway --home "$home" 2>>"$DIR/$1.log" &
  local pid=$!
  PIDS+=("$pid")
  if [[ $1 == us ]]; then US_PID=$pid; else RU_PID=$pid; fi
  check "$1 gateway ready" poll 20 curl -sf "http://127.0.0.1:$api/readyz"
}
# Stops it (SIGTERM) and waits until it exited. stop_gateway us|ru
stop_gateway() {
  local pid
  [[ $1 == us ]] && pid=$US_PID || pid=$RU_PID
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
}

# The state of message ID in PRINCIPAL's outbox at HOME. out_state HOME PRINCIPAL ID
out_state() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -r --arg id "$3" '.[] | select(.id == $id) | .state'; }
delivered() { [[ "$(out_state "$@")" == delivered ]]; }
