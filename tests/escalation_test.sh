#!/usr/bin/env bash
# Issue 12's escalation chain on two real `parley gateway` processes on loopback: a line with
# `--deadline FLASH=3s` and a FLASH re-alert cadence of 2 s (parley.toml [escalation]). Nobody
# at ru-genstaff acknowledges the FLASH: past its deadline both sides' `parley status --json`
# show it overdue with its escalation (ru: the addressee cgs, then the alternates deputy and
# chief in order, then watch-1, the roster's duty officer for cgs's role; us: the sender
# saceur), and so do the text status, /metrics and the logs. The alternate deputy acknowledges
# and the escalation is gone on both sides; us's outbox shows it acknowledged. Silence is
# evidence: each side's log holds one signed evidence.unacknowledged entry for the FLASH,
# countersigned, in both exports, which verify. The four stages: the alternate deputy reads
# the FLASH first (shown), acknowledges it, and cgs answers it (a reply naming it): us's
# `outbox --json` then shows stored, shown, acknowledged and answered, each with its time.
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
federate "$US" "$RU"
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
# stage HOME NAME JQ_TEST: the FLASH's stage NAME in HOME's outbox (as saceur) passes JQ_TEST.
stage() {
  "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$ID" ".[] | select(.id == \$id) | .stages.$1 | $2"
}
check "us: the outbox shows no stage but stored, before anyone at ru read it" \
  poll 10 bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | .stages | (.stored | type == \"string\") and .shown == null and .acknowledged == null and .answered == null'"
# The alternate deputy is the first on the line to read it: its stage shown.
inbox_has() { "$PARLEY" inbox --home "$RU" --as deputy --json | jq -e --arg id "$ID" 'map(select(.id == $id)) | length == 1'; }
check "the FLASH reaches ru (deputy reads its inbox)" poll 10 inbox_has
check "us: the outbox shows it shown" poll 10 stage shown 'type == "string"'
SHOWN=$("$PARLEY" outbox --home "$US" --as saceur --json | jq -r --arg id "$ID" '.[] | select(.id == $id) | .stages.shown')
"$PARLEY" inbox --home "$RU" --as cgs --json >/dev/null  # a second read shows nothing new

# escalation HOME SIDE JQ_TEST: the message's escalation on that side passes JQ_TEST.
escalation() {
  "$PARLEY" status --home "$1" --json |
    jq -e --arg id "$ID" --arg side "$2" "[.escalations[] | select(.message_id == \$id and .side == \$side)] | length == 1 and (.[0] | $3)"
}
check "ru: the receiver's escalation alerts the addressee at the deadline" \
  poll 10 escalation "$RU" receiver '.overdue and .line == "saceur-cgs" and .precedence == "FLASH" and .alerted[0].principal == "cgs"'
check "ru: the escalation names the next to alert, the alternate deputy" \
  escalation "$RU" receiver '[.alerted[].principal] != ["cgs"] or .next == ["deputy"]'
check "ru: then the alternates in order, then the duty officer" \
  poll 20 escalation "$RU" receiver '[.alerted[].principal] == ["cgs", "deputy", "chief", "watch-1"] and (.next_alert | type == "string") and .next == ["cgs", "deputy", "chief", "watch-1"]'
check "ru: then everyone again" poll 10 escalation "$RU" receiver '.alerted[0].alerts >= 2'
check "us: the sender's escalation tells saceur" \
  poll 10 escalation "$US" sender '.overdue and .deadline != null and [.alerted[].principal] == ["saceur"] and .peer == "ru-genstaff"'
check "us: the outbox shows it overdue" bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | .state == \"overdue\"'"
check "ru: the text status shows how long overdue, who was alerted and who is next" \
  bash -c "'$PARLEY' status --home '$RU' | grep -q 'OVERDUE by' && '$PARLEY' status --home '$RU' | grep -q 'alerted watch-1 at' && '$PARLEY' status --home '$RU' | grep -q 'next alert .*: cgs, deputy, chief, watch-1'"
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

# The four stages: cgs answers the FLASH; us's outbox then shows every stage with its time.
check "us: the outbox shows it acknowledged (stage)" stage acknowledged 'type == "string"'
check "us: a second read did not move the stage shown" stage shown "(. == \"$SHOWN\")"
check "cgs answers the FLASH" "$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --reply-to "$ID" --text "confirmed: exercise"
check "us: the outbox shows all four stages, in order" \
  poll 10 bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | .stages | [.stored, .shown, .acknowledged, .answered] | all(type == \"string\") and .[0] <= .[2] and .[1] <= .[3]'"
check "ru: its evidence and stage entries are in nobody's outbox or inbox" \
  bash -c "'$PARLEY' outbox --home '$RU' --as cgs --json | jq -e 'map(select(.type | test(\"^(evidence|stage)[.]\"))) | length == 0'"

# Silence as evidence: each side's export holds one evidence.unacknowledged entry of its own
# for the FLASH and one of the peer's, countersigned; both exports verify.
evidence_entries() {  # evidence_entries EXPORT OWNER: the owner's evidence entries naming the FLASH
  jq -r '.envelope.payload | @base64d | fromjson | select(.type == "evidence.unacknowledged") | .reply_to' "$1/logs/$2.jsonl" | grep -c "^$ID\$"
}
check "us: transcript export" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "ru: transcript export" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
for t in t-us t-ru; do
  check "$t: one evidence entry by us-eucom" test "$(evidence_entries "$DIR/$t" us-eucom)" = 1
  check "$t: one evidence entry by ru-genstaff" test "$(evidence_entries "$DIR/$t" ru-genstaff)" = 1
  check "$t: parley verify accepts it" "$PARLEY" verify "$DIR/$t"
done
check "us: the peer's receipt covers us's evidence entry" \
  bash -c "jq -e -s 'map(select(.receipt != null)) | last | .sth.payload | @base64d | fromjson | .size >= 2' '$DIR/t-us/heads/us-eucom.jsonl'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
