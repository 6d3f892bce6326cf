#!/usr/bin/env bash
# Live reconfiguration against real `parley gateway` processes on loopback (issue 17): a peer
# pinned while the gateway runs (`parley peer add`, which asks it to reload) gets its sessions
# and paths at once, and messages flow both ways without a restart; SIGHUP applies
# parley.toml's live keys (the backlog limit, the log level) and names those that need a
# restart (`restart_needed`, a warning line); an invalid parley.toml is refused with
# file:line:reason and the running configuration is kept; the gateway never restarted.
# Usage: live_reload_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" live-reload "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
"$PARLEY" bundle --home "$US" >"$DIR/us.json"
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"
check "ru pins us (ru not running)" "$PARLEY" peer add --home "$RU" "$DIR/us.json"
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

# us starts knowing no peer at all.
"$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" &
US_PID=$!
PIDS+=("$US_PID")
check "us gateway ready, no peer" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
"$PARLEY" gateway --home "$RU" 2>>"$DIR/ru.log" &
PIDS+=($!)
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
check "us runs no peer yet" bash -c "'$PARLEY' status --home '$US' --json | jq -e '.peers == []'"

# --- a peer pinned while running ---
"$PARLEY" peer add --home "$US" "$DIR/ru.json" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "peer add while running: exit 0, the running gateway reloaded it" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^pinned peer ru-genstaff' '$DIR/out' && grep -q 'the running gateway reloaded it' '$DIR/out'"
check "line add us (reloaded at once)" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "us's status shows ru with its path" \
  bash -c "'$PARLEY' status --home '$US' --json | jq -e '.peers | length == 1 and .[0].party == \"ru-genstaff\" and (.[0].paths | length == 1)'"
check "the audit line names the new peer" grep -q 'audit: peer ru-genstaff pinned while running' "$DIR/us.log"
TO_RU=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "Confirm the new line")
TO_US=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --text "Line confirmed")
state_of() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -r --arg id "$3" '.[] | select(.id == $id) | .state'; }
us_delivered() { test "$(state_of "$US" saceur "$TO_RU")" = delivered; }
ru_delivered() { test "$(state_of "$RU" cgs "$TO_US")" = delivered; }
check "us -> ru delivered without a restart" poll 30 us_delivered
check "ru -> us delivered without a restart" poll 30 ru_delivered
check "us's inbox holds ru's message" \
  bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e --arg id '$TO_US' 'map(.id) | index(\$id) != null'"

# --- parley.toml: live keys apply, others are named ---
TOKEN=$(cat "$US/operator.token")
reload() { curl -s -o "$DIR/reload" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$US_API/api/v1/admin/reload"; }
sed -i 's/^backlog_limit = 10000$/backlog_limit = 7/; s/^heartbeat = "200ms"$/heartbeat = "300ms"/' "$US/parley.toml"
sed -i 's/^level = "info"$/level = "debug"/' "$US/parley.toml"
kill -HUP "$US_PID"
limit_is_7() { "$PARLEY" status --home "$US" --json | jq -e '.backlog_limit == 7' >/dev/null; }
check "SIGHUP: the backlog limit applies at once" poll 10 limit_is_7
check "SIGHUP: the heartbeat change is named as needing a restart" \
  poll 10 grep -q 'reload: federation.heartbeat changed in parley.toml: it takes effect at the next start' "$DIR/us.log"
status=$(reload)
check "POST /admin/reload: 200, one peer, restart_needed names the heartbeat" \
  bash -c "[[ '$status' == 200 ]] && jq -e '.peers == 1 and .restart_needed == [\"federation.heartbeat\"]' '$DIR/reload'"

# --- an invalid parley.toml is refused; the running one is kept ---
cp "$US/parley.toml" "$DIR/good.toml"
sed -i 's/^backlog_limit = 7$/backlog_limit = -5/' "$US/parley.toml"
status=$(reload)
check "an invalid parley.toml: 400 with file:line:reason" \
  bash -c "[[ '$status' == 400 ]] && jq -e '.error | test(\"parley.toml:[0-9]+: federation.backlog_limit must be an integer\")' '$DIR/reload'"
# (The CLI reads parley.toml too and refuses it now: ask the API itself.)
check "the running configuration is kept" bash -c "curl -sf -H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:$US_API/api/v1/status' | jq -e '.backlog_limit == 7'"
LATER=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H "X-Parley-As: saceur" -H 'Content-Type: application/json' \
  -d '{"line": "saceur-cgs", "precedence": "ROUTINE", "text": "Still here"}' "http://127.0.0.1:$US_API/api/v1/messages" | jq -r .id)
cp "$DIR/good.toml" "$US/parley.toml"
later_delivered() { test "$(state_of "$US" saceur "$LATER")" = delivered; }
check "messages still flow after the refused reload" poll 30 later_delivered
check "the gateway never restarted" kill -0 "$US_PID"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
