#!/usr/bin/env bash
# Issue 19: the watch officer's console in a real browser against real gateways.
# Sets up us-eucom (saceur, and watch-1 with the role watch) and ru-genstaff (cgs, its
# alternate deputy) on the line saceur-cgs, which nato-shape observes (a witness of both
# parties' logs; docs/protocol.md "Witnesses"), with an IMMEDIATE deadline of 3 s so that an
# escalation runs within the test. Starts the three gateways and runs web/tests/console.test.mjs:
# Playwright (npm playwright-core) driving Debian's /usr/bin/chromium headless. What it checks
# is listed at the top of that file.
# Screenshots of every view in both languages go to PARLEY_CONSOLE_SHOTS (relative to the
# repository, e.g. PARLEY_CONSOLE_SHOTS=docs/console to refresh the README's), else to the
# test's temporary directory, so that a run by CI leaves the tree as it was.
# Usage: console_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" console "$@"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEB=$ROOT/web
SHOTS=$DIR/shots
if [[ -n ${PARLEY_CONSOLE_SHOTS:-} ]]; then
  mkdir -p "$ROOT/$PARLEY_CONSOLE_SHOTS" && SHOTS=$(cd "$ROOT/$PARLEY_CONSOLE_SHOTS" && pwd)
fi
mkdir -p "$SHOTS"

US=$DIR/us RU=$DIR/ru NATO=$DIR/nato
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
NATO_FED=$(free_port) NATO_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --lang en >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" init --home "$NATO" --party nato-shape --federation 127.0.0.1:"$NATO_FED" --api 127.0.0.1:"$NATO_API" --lang en >/dev/null || { bad "init nato"; exit 1; }
federate "$US" "$RU"
# The observer is a pinned peer of both parties, and they of it.
"$PARLEY" bundle --home "$NATO" >"$DIR/nato.json" || bad "bundle of nato"
check "peer add us<-nato" "$PARLEY" peer add --home "$US" "$DIR/nato.json"
check "peer add ru<-nato" "$PARLEY" peer add --home "$RU" "$DIR/nato.json"
check "peer add nato<-us" "$PARLEY" peer add --home "$NATO" "$DIR/us.json"
check "peer add nato<-ru" "$PARLEY" peer add --home "$NATO" "$DIR/ru.json"
US_TOKEN=$("$PARLEY" principal add --home "$US" saceur --name "Supreme Allied Commander Europe" --role commander)
WATCH_TOKEN=$("$PARLEY" principal add --home "$US" watch-1 --name "Watch officer" --role watch)
RU_TOKEN=$("$PARLEY" principal add --home "$RU" cgs --name "Chief of the General Staff" --role commander)
"$PARLEY" principal add --home "$RU" deputy --name "Deputy Chief" --role commander >/dev/null || bad "principal add deputy"
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs --observer nato-shape --deadline IMMEDIATE=3s
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --alternate deputy --remote us-eucom/saceur --observer nato-shape --deadline IMMEDIATE=3s

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
RU_PID=$!
PIDS+=("$RU_PID")
"$PARLEY" gateway --home "$NATO" 2>"$DIR/nato.log" &
PIDS+=($!)
check "us gateway ready" poll 30 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 30 curl -sf "http://127.0.0.1:$RU_API/readyz"
check "nato gateway ready" poll 30 curl -sf "http://127.0.0.1:$NATO_API/readyz"

# The browser test prints one "ok: ..." or "FAILED: ..." line per check and exits non-zero
# if any failed; every wait in it has a deadline, and the whole of it 150 s.
if US_URL="http://127.0.0.1:$US_API" RU_URL="http://127.0.0.1:$RU_API" \
  US_TOKEN="$US_TOKEN" RU_TOKEN="$RU_TOKEN" WATCH_TOKEN="$WATCH_TOKEN" CHROMIUM=/usr/bin/chromium \
  AXE="$WEB/node_modules/axe-core/axe.min.js" SHOTS="$SHOTS" BUNDLES="$DIR" \
  PARLEY="$PARLEY" RU_HOME="$RU" RU_PID="$RU_PID" RU_LOG="$DIR/ru-restarted.log" \
  timeout 150 node "$WEB/tests/console.test.mjs"; then
  ok "console in chromium"
else
  bad "console in chromium (gateway logs in $DIR)"
fi

echo "passed $passed, failed $failed"
[[ $failed -eq 0 ]]
