#!/usr/bin/env bash
# Issue 19: the watch officer's console in a real browser against two real gateways.
# Sets up us-eucom (saceur) and ru-genstaff (cgs) on the line saceur-cgs, starts both
# gateways, and runs web/tests/console.test.mjs: Playwright (npm playwright-core) driving
# Debian's /usr/bin/chromium headless. What it checks is listed at the top of that file.
# Usage: console_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" console "$@"
WEB=$(cd "$(dirname "$0")/../web" && pwd)

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --lang en >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
US_TOKEN=$("$PARLEY" principal add --home "$US" saceur --name "Supreme Allied Commander Europe" --role commander)
RU_TOKEN=$("$PARLEY" principal add --home "$RU" cgs --name "Chief of the General Staff" --role commander)
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
RU_PID=$!
PIDS+=("$RU_PID")
check "us gateway ready" poll 30 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 30 curl -sf "http://127.0.0.1:$RU_API/readyz"

# The browser test prints one "ok: ..." or "FAILED: ..." line per check and exits non-zero
# if any failed; every wait in it has a deadline, and the whole of it 120 s.
if US_URL="http://127.0.0.1:$US_API" RU_URL="http://127.0.0.1:$RU_API" \
  US_TOKEN="$US_TOKEN" RU_TOKEN="$RU_TOKEN" CHROMIUM=/usr/bin/chromium \
  PARLEY="$PARLEY" RU_HOME="$RU" RU_PID="$RU_PID" RU_LOG="$DIR/ru-restarted.log" \
  timeout 120 node "$WEB/tests/console.test.mjs"; then
  ok "console in chromium"
else
  bad "console in chromium (gateway logs in $DIR)"
fi

echo "passed $passed, failed $failed"
[[ $failed -eq 0 ]]
