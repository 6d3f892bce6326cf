#!/usr/bin/env bash
# Cancelling a queued message against real `parley gateway` processes on loopback (issue 16):
# with the peer down, the first message is carried by the transaction in flight (it may be
# with the peer already: cancel refused, exit 1, HTTP 409) and the second waits in the queue
# (cancelled by a unique id prefix; only its sender or a principal of its line may). The
# cancelled message stays cancelled across a restart and never reaches the peer once it is
# up, while the other is delivered. Usage errors exit 2.
# Usage: cancel_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" cancel "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
# One transaction in flight to the peer at a time, so that the second message waits in the
# queue behind the first (with a window of 4 it would leave at once in a transaction of its own).
sed -i '/^\[federation\]$/a window = 1' "$US/parley.toml"
grep -q '^window = 1$' "$US/parley.toml" || bad "window not set in $US/parley.toml"
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$US" dsaceur >/dev/null
"$PARLEY" principal add --home "$US" clerk >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs --alternate dsaceur
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur --remote-alternate dsaceur

start_us() {
  "$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" &
  US_PID=$!
  PIDS+=("$US_PID")
  check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
}
start_us

# ru is down: the FLASH leaves in a transaction that gets no answer (resent unchanged, it
# stays in flight); the ROUTINE after it waits in the queue, carried by none.
CARRIED=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "Hold all launches")
WAITING=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "Disregard the previous message")
check "both sent" bash -c "[[ '$CARRIED' =~ ^[0-9a-f-]{36}\$ && '$WAITING' =~ ^[0-9a-f-]{36}\$ ]]"

# --- usage errors: exit 2 ---
"$PARLEY" cancel --home "$US" --as saceur >/dev/null 2>"$DIR/err"
rc=$?
check "cancel without an id: exit 2" test $rc -eq 2
"$PARLEY" cancel --home "$US" --as saceur not-an-id >/dev/null 2>"$DIR/err"
rc=$?
check "cancel with a malformed id: exit 2, one line" bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]]"

# --- refusals: exit 1, one line, nothing changes ---
"$PARLEY" cancel --home "$US" --as saceur "$CARRIED" >/dev/null 2>"$DIR/err"
rc=$?
check "cancel of the message in flight: exit 1, one line saying it has left" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'has left' '$DIR/err'"
status=$(curl -s -o "$DIR/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$US/operator.token")" \
  -H "X-Parley-As: saceur" "http://127.0.0.1:$US_API/api/v1/messages/$CARRIED/cancel")
check "POST .../cancel of the message in flight: 409 with a JSON reason" \
  bash -c "[[ '$status' == 409 ]] && jq -e '.error | test(\"has left\")' '$DIR/body'"
"$PARLEY" cancel --home "$US" --as clerk "${WAITING:0:23}" >/dev/null 2>"$DIR/err"
rc=$?
check "cancel by a principal not on the line: exit 1" test $rc -eq 1
state_of() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state'; }
check "the waiting message is still queued" test "$(state_of "$WAITING")" = queued
check "the carried message is still queued" test "$(state_of "$CARRIED")" = queued

# --- the waiting message is cancelled, by its line's alternate, by a prefix ---
"$PARLEY" cancel --home "$US" --as dsaceur "${WAITING:0:23}" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "cancel of the waiting message by a prefix: exit 0, it names the message" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^cancelled $WAITING ' '$DIR/out'"
check "outbox --json: cancelled, by whom and when" \
  bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$WAITING' '.[] | select(.id == \$id) | .state == \"cancelled\" and .cancelled_by == \"us-eucom/dsaceur\" and (.cancelled_at | type == \"string\") and .time_left_ms == null'"
check "outbox --state cancelled lists it alone" \
  bash -c "'$PARLEY' outbox --home '$US' --as saceur --state cancelled --json | jq -e --arg id '$WAITING' 'map(.id) == [\$id]'"
check "show: its timeline ends cancelled" \
  bash -c "'$PARLEY' show --home '$US' --as saceur '$WAITING' --json | jq -e '.timeline[-1].event == \"cancelled\" and (.timeline[-1].detail | test(\"us-eucom/dsaceur\"))'"
"$PARLEY" cancel --home "$US" --as saceur "$WAITING" >/dev/null 2>"$DIR/err"
rc=$?
check "cancel again: exit 1, it says so" bash -c "[[ $rc -eq 1 ]] && grep -q 'cancelled already' '$DIR/err'"
check "the gateway's log records the cancellation" \
  bash -c "grep -q 'message-cancelled: ROUTINE text message $WAITING on line saceur-cgs (seq 2) cancelled by us-eucom/dsaceur' '$DIR/us.log'"

# --- a restart keeps it cancelled; ru comes up: the carried one arrives, never the other ---
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
start_us
check "still cancelled after the restart" test "$(state_of "$WAITING")" = cancelled
"$PARLEY" cancel --home "$US" --as saceur "$CARRIED" >/dev/null 2>"$DIR/err"
rc=$?
check "the message carried before the restart is still refused: exit 1" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'has left' '$DIR/err'"
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
delivered() { test "$(state_of "$CARRIED")" = delivered; }
check "the carried message is delivered" poll 30 delivered
# One more message after it: it is delivered too (so anything queued before it has left).
LAST=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "Talks at 09:00")
last_delivered() { test "$(state_of "$LAST")" = delivered; }
check "a later message is delivered" poll 20 last_delivered
check "ru holds the carried message and the later one, not the cancelled one" \
  bash -c "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e --arg c '$CARRIED' --arg w '$WAITING' --arg l '$LAST' '(map(.id) | index(\$c) != null and index(\$l) != null and index(\$w) == null)'"
check "the cancelled message is still cancelled" test "$(state_of "$WAITING")" = cancelled

# --- ru reads in Russian: the notification's enum value and time, and the CLI's labels ---
INCIDENT=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --type notify.incident \
  --body '{"kind": "air-intercept", "time": "2026-05-01T12:30:00Z", "area": "Baltic Sea", "description": "Su-27 and RC-135", "casualties": 0}')
incident_delivered() { test "$(state_of "$INCIDENT")" = delivered; }
check "the incident is delivered" poll 20 incident_delivered
check "ru's rendering: the kind in Russian, the time in Russian with UTC" \
  bash -c "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e --arg id '$INCIDENT' '.[] | select(.id == \$id) | .rendered | test(\"инцидент вида перехват в воздухе в 1 мая 2026 г., 12:30 UTC в районе Baltic Sea\")'"
check "us's rendering keeps them as written" \
  bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$INCIDENT' '.[] | select(.id == \$id) | .rendered | test(\"air-intercept incident at 2026-05-01T12:30:00Z\")'"
check "ru's inbox labels its messages in Russian" \
  bash -c "'$PARLEY' inbox --home '$RU' --as cgs | grep -q '^  от us-eucom/saceur  тип notify.incident  срок подтверждения '"
check "us's outbox labels them in English, the cancelled one with who cancelled it" \
  bash -c "'$PARLEY' outbox --home '$US' --as saceur >'$DIR/outbox' && grep -q '^  to ru-genstaff/cgs  type text  ack deadline ' '$DIR/outbox' && grep -q '^  cancelled by us-eucom/dsaceur at .*: never sent$' '$DIR/outbox'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
