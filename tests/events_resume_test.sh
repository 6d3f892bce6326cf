#!/usr/bin/env bash
# The event stream resumes (docs/operations.md "Events and resuming them"), on two real
# `parley gateway` processes on loopback: cgs listens to ru-genstaff's GET /api/v1/events with
# curl and gets saceur's first message with an id; the client goes away; two messages are sent
# meanwhile, the second while ru-genstaff's gateway is down (SIGTERM, started again: the ids
# must survive the restart); the client reconnects with Last-Event-ID and is sent both, once
# each, then a fourth message live, once; every event has an id, each greater than the one
# before; a malformed Last-Event-ID is refused with a JSON reason.
# Usage: events_resume_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" events "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
CGS=$("$PARLEY" principal add --home "$RU" cgs)
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

start_ru() {
  "$PARLEY" gateway --home "$RU" 2>>"$DIR/ru.log" &
  RU_PID=$!
  PIDS+=("$RU_PID")
  check "ru gateway ready ($1)" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
}
"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
start_ru "first start"

# listen FILE [LAST_EVENT_ID]: cgs's event stream into FILE, in the background (at most 120 s).
listen() {
  local extra=()
  [[ -n ${2:-} ]] && extra=(-H "Last-Event-ID: $2")
  curl -sN --max-time 120 -H "Authorization: Bearer $CGS" "${extra[@]}" \
    "http://127.0.0.1:$RU_API/api/v1/events" >"$1" 2>/dev/null &
  LISTENER=$!
  PIDS+=("$LISTENER")
}
# The complete events of an SSE capture as a JSON array of {id, event, data}.
events_of() {
  python3 - "$1" <<'EOF'
import json, sys
events, current = [], {}
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
for line in text.split("\n")[:-1]:  # the last piece is not a whole line yet
    if line == "":
        if current:
            events.append(current)
        current = {}
        continue
    if line.startswith(":"):
        continue
    field, _, value = line.partition(":")
    value = value[1:] if value.startswith(" ") else value
    current[field] = current[field] + "\n" + value if field == "data" and field in current else value
print(json.dumps([{"id": e.get("id"), "event": e.get("event"),
                   "data": json.loads(e["data"]) if "data" in e else None} for e in events]))
EOF
}
# count FILE MESSAGE_ID: how many `message` events of FILE are about MESSAGE_ID.
count() { events_of "$1" | jq --arg id "$2" '[.[] | select(.event == "message" and .data.message_id == $id)] | length'; }
has_once() { [[ $(count "$1" "$2") == 1 ]]; }
send() { "$PARLEY" send --home "$US" --as saceur --line saceur-cgs "$@"; }
delivered() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$1" 'map(select(.id == $id and .state == "delivered")) | length == 1'; }

listen "$DIR/events1"
check "the stream opens with a stream event" poll 10 bash -c "grep -q '^event: stream' '$DIR/events1'"
M1=$(send --text "one")
check "the first message arrives as an event" poll 20 has_once "$DIR/events1" "$M1"
SEEN=$(events_of "$DIR/events1" | jq -r --arg id "$M1" '.[] | select(.event == "message" and .data.message_id == $id) | .id')
check "it has a numeric id ($SEEN)" bash -c "[[ '$SEEN' =~ ^[0-9]+\$ ]]"

kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null
M2=$(send --text "two")
check "the second message is delivered while nobody listens" poll 20 delivered "$M2"
kill -TERM "$RU_PID"; wait "$RU_PID" 2>/dev/null
M3=$(send --precedence FLASH --text "three, sent while ru-genstaff is down")
start_ru "after a restart"
check "the third message is delivered after the restart" poll 30 delivered "$M3"

listen "$DIR/events2" "$SEEN"
check "the reconnected stream gets the second message" poll 20 has_once "$DIR/events2" "$M2"
check "and the third" poll 20 has_once "$DIR/events2" "$M3"
M4=$(send --text "four, live")
check "then the fourth, live" poll 20 has_once "$DIR/events2" "$M4"
events_of "$DIR/events2" >"$DIR/events2.json"
check "the first message is not sent again" bash -c "[[ \$(jq '[.[] | select(.data.message_id == \"$M1\")] | length' '$DIR/events2.json') == 0 ]]"
check "each replayed or live message event once, in order" \
  jq -e --arg a "$M2" --arg b "$M3" --arg c "$M4" '[.[] | select(.event == "message") | .data.message_id] == [$a, $b, $c]' "$DIR/events2.json"
check "the stream event comes after the replay and before the live event" \
  jq -e '[.[] | select(.event == "message" or .event == "stream") | .event] == ["message", "message", "stream", "message"]' "$DIR/events2.json"
check "every event has an id, each greater than the one before (the stream event: the newest)" \
  python3 -c '
import json, sys
last = 0
for e in json.load(open(sys.argv[1])):
    n = int(e["id"])
    assert n > last or (e["event"] == "stream" and n == last), (e, last)
    last = n
' "$DIR/events2.json"
check "ids went on after the restart (the third message's, stored after it, above the second's)" \
  jq -e --arg b "$M2" --arg c "$M3" '(map(select(.data.message_id == $c))[0].id | tonumber) > (map(select(.data.message_id == $b))[0].id | tonumber)' "$DIR/events2.json"

check "a malformed Last-Event-ID is refused with a JSON reason" bash -c "curl -s -w '%{http_code}' -H 'Authorization: Bearer $CGS' -H 'Last-Event-ID: 12abc' http://127.0.0.1:$RU_API/api/v1/events | grep -q 'Last-Event-ID.*}400\$'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
