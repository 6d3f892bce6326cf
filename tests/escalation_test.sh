#!/usr/bin/env bash
# Issue 12's escalation chain on two real `parley gateway` processes on loopback: a line with
# `--deadline FLASH=3s` and a FLASH re-alert cadence of 2 s (parley.toml [escalation]). Nobody
# at ru-genstaff acknowledges the FLASH: past its deadline both sides' `parley status --json`
# show it overdue with its escalation (ru: the addressee cgs, then the alternates deputy and
# chief in order, then watch-1, the roster's duty officer for cgs's role; us: the sender
# saceur), and so do the text status, /metrics and the logs. The alternate deputy acknowledges
# and the escalation is gone on both sides; us's outbox shows it acknowledged.
# Usage: escalation_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" escalation "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
for home in "$US" "$RU"; do
  # FLASH escalations take a step every 2 s instead of every minute.
  sed -i 's/^flash = "1m"$/flash = "2s"/' "$home/parley.toml"
  check "$(basename "$home")'s parley.toml sets the FLASH cadence" grep -qx 'flash = "2s"' "$home/parley.toml"
done
"$PARLEY" bundle --home "$US" >"$DIR/us.json"
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"
check "peer add us<-ru" "$PARLEY" peer add --home "$US" "$DIR/ru.json"
check "peer add ru<-us" "$PARLEY" peer add --home "$RU" "$DIR/us.json"
"$PARLEY" principal add --home "$US" saceur --role commander >/dev/null
"$PARLEY" principal add --home "$RU" cgs --role commander >/dev/null
"$PARLEY" principal add --home "$RU" deputy --role staff >/dev/null
"$PARLEY" principal add --home "$RU" chief --role staff >/dev/null
"$PARLEY" principal add --home "$RU" watch-1 --role commander >/dev/null
check "line add us (deadline FLASH=3s)" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs \
  --remote-alternate deputy --remote-alternate chief --deadline FLASH=3s
check "line add ru (alternates deputy, chief; deadline FLASH=3s)" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs \
  --remote us-eucom/saceur --alternate deputy --alternate chief --deadline FLASH=3s
check "roster: watch-1 on duty for the role commander" "$PARLEY" roster set --home "$RU" commander --principal watch-1 \
  --from "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%MZ)" --to "$(date -u -d '+1 day' +%Y-%m-%dT%H:%MZ)"

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "launch detected, confirm")
check "FLASH send answers with an id" bash -c "[[ '$ID' =~ ^[0-9a-f-]{36}\$ ]]"
inbox_has() { "$PARLEY" inbox --home "$RU" --as cgs --json | jq -e --arg id "$ID" 'map(select(.id == $id)) | length == 1'; }
check "the FLASH reaches ru" poll 10 inbox_has

# escalation HOME SIDE JQ_TEST: the message's escalation on that side passes JQ_TEST.
escalation() {
  "$PARLEY" status --home "$1" --json |
    jq -e --arg id "$ID" --arg side "$2" "[.escalations[] | select(.message_id == \$id and .side == \$side)] | length == 1 and (.[0] | $3)"
}
check "ru: the receiver's escalation alerts the addressee at the deadline" \
  poll 10 escalation "$RU" receiver '.overdue and .line == "saceur-cgs" and .precedence == "FLASH" and .alerted[0].principal == "cgs"'
check "ru: then the alternates in order, then the duty officer" \
  poll 20 escalation "$RU" receiver '[.alerted[].principal] == ["cgs", "deputy", "chief", "watch-1"] and (.next_alert | type == "string")'
check "ru: then everyone again" poll 10 escalation "$RU" receiver '.alerted[0].alerts >= 2'
check "us: the sender's escalation tells saceur" \
  poll 10 escalation "$US" sender '.overdue and .deadline != null and [.alerted[].principal] == ["saceur"] and .peer == "ru-genstaff"'
check "us: the outbox shows it overdue" bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | .state == \"overdue\"'"
check "ru: the text status shows how long overdue and who was alerted" \
  bash -c "'$PARLEY' status --home '$RU' | grep -q 'OVERDUE by' && '$PARLEY' status --home '$RU' | grep -q 'alerted watch-1 at'"
check "ru: a principal on the line sees it in its own status" \
  bash -c "'$PARLEY' status --home '$RU' --as deputy --json | jq -e --arg id '$ID' '.escalations | map(select(.message_id == \$id)) | length == 1'"
metric() {  # metric HOME NAME: the value of NAME (one peer) on HOME's /metrics
  curl -s -H "Authorization: Bearer $(cat "$1/operator.token")" "http://127.0.0.1:$([[ $1 == "$US" ]] && echo "$US_API" || echo "$RU_API")/metrics" |
    awk -v n="$2" 'index($0, n "{") == 1 { print $2 }'
}
metric_at_least() { local v; v=$(metric "$1" "$2"); [[ -n $v && $v -ge $3 ]]; }
metric_is() { [[ "$(metric "$1" "$2")" == "$3" ]]; }
check "ru /metrics counts the alerts" metric_at_least "$RU" parley_escalation_alerts_total 4
check "ru /metrics counts the running escalation" metric_is "$RU" parley_escalations 1
check "ru logged the escalation" grep -q "escalation: FLASH message $ID.*alerting watch-1" "$DIR/ru.log"
check "us logged the escalation" grep -q "escalation: FLASH message $ID.*alerting saceur" "$DIR/us.log"

# The alternate deputy acknowledges: the escalation ends on both sides.
check "deputy acknowledges" "$PARLEY" ack --home "$RU" --as deputy "$ID"
gone() { "$PARLEY" status --home "$1" --json | jq -e --arg id "$ID" '.escalations | map(select(.message_id == $id)) | length == 0'; }
check "ru: the escalation is gone" poll 10 gone "$RU"
check "us: the escalation is gone" poll 10 gone "$US"
check "us: the outbox shows it acknowledged by deputy" bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | .state == \"acknowledged\" and .acknowledged_by == \"ru-genstaff/deputy\"'"
check "ru /metrics: no escalation runs" poll 10 metric_is "$RU" parley_escalations 0
check "us /metrics: no escalation runs" poll 10 metric_is "$US" parley_escalations 0

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
