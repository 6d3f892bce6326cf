#!/usr/bin/env bash
# Backpressure against real `parley gateway` processes on loopback (issue 15): us has
# `backlog_limit = 3` and ru is down, so us's queue for ru fills. At the bound a ROUTINE
# submission gets 503 with Retry-After and a JSON reason (`parley send`: exit 1, one line) and
# nothing is stored; FLASH, IMMEDIATE and PRIORITY are still accepted; `status` (text, --json)
# and /metrics show the bound and the refusals. Once ru is up the queue drains and ROUTINE is
# accepted again, and every accepted message is delivered.
# Usage: backpressure_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" backpressure "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
check "parley init writes the default bound" grep -q '^backlog_limit = 10000$' "$US/parley.toml"
sed -i 's/^backlog_limit = 10000$/backlog_limit = 3/' "$US/parley.toml"
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"

send() { "$PARLEY" send --home "$US" --as saceur --line saceur-cgs "$@"; }
ACCEPTED=()
for i in 1 2 3; do
  id=$(send --text "routine $i") && ACCEPTED+=("$id")
done
check "three ROUTINE accepted up to the bound" test ${#ACCEPTED[@]} -eq 3

# At the bound: the API's answer, then the CLI's.
TOKEN=$(cat "$US/operator.token")
status=$(curl -s -D "$DIR/headers" -o "$DIR/body" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $TOKEN" -H "X-Parley-As: saceur" -H 'Content-Type: application/json' \
  -d '{"line": "saceur-cgs", "precedence": "ROUTINE", "text": "one too many"}' \
  "http://127.0.0.1:$US_API/api/v1/messages")
check "ROUTINE at the bound: 503" test "$status" = 503
check "... with Retry-After" grep -qi '^Retry-After: 5' "$DIR/headers"
check "... and a JSON reason naming the queue and the bound" \
  jq -e '.error | test("3 messages are queued for ru-genstaff, the bound is 3")' "$DIR/body"
send --text "still too many" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "parley send at the bound: exit 1, one line on stderr" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 && ! -s '$DIR/out' ]] && grep -q 'the bound is 3' '$DIR/err'"
outbox_count() { "$PARLEY" outbox --home "$US" --as saceur --json | jq length; }
check "nothing refused was stored" test "$(outbox_count)" -eq 3

for p in FLASH IMMEDIATE PRIORITY; do
  id=$(send --precedence "$p" --text "$p past the bound") && ACCEPTED+=("$id")
done
check "FLASH, IMMEDIATE and PRIORITY accepted past the bound" test ${#ACCEPTED[@]} -eq 6

check "status --json: the bound and two refusals for ru" \
  bash -c "'$PARLEY' status --home '$US' --json | jq -e '.backlog_limit == 3 and (.peers[] | select(.party == \"ru-genstaff\") | .refused_backlog == 2 and .queued == 6)'"
check "status: the bound and the refusals in words" \
  bash -c "'$PARLEY' status --home '$US' >'$DIR/status' && grep -q 'backlog limit 3' '$DIR/status' && grep -q 'backlog: 2 ROUTINE submissions refused' '$DIR/status'"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$US_API/metrics" >"$DIR/metrics"
check "/metrics: parley_backlog_limit 3" grep -q '^parley_backlog_limit 3$' "$DIR/metrics"
check "/metrics: refusals counted for ru" \
  grep -q '^parley_submissions_refused_backlog_total{peer="ru-genstaff"} 2$' "$DIR/metrics"

# ru comes up: the queue drains, ROUTINE is accepted again, everything accepted arrives.
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
drained() { "$PARLEY" status --home "$US" --json | jq -e '.queued == 0' >/dev/null; }
check "the queue drains" poll 30 drained
id=$(send --text "routine after the drain") && ACCEPTED+=("$id")
check "ROUTINE accepted again once the queue drained" test ${#ACCEPTED[@]} -eq 7
all_arrived() {
  "$PARLEY" inbox --home "$RU" --as cgs --json >"$DIR/inbox" || return 1
  for id in "${ACCEPTED[@]}"; do jq -e --arg id "$id" 'map(.id) | index($id) != null' "$DIR/inbox" >/dev/null || return 1; done
}
check "every accepted message reached ru" poll 30 all_arrived
check "ru holds exactly the accepted messages" \
  bash -c "[[ \$(jq '[.[] | select(.type == \"text\")] | length' '$DIR/inbox') -eq 7 ]]"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
