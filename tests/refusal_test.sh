#!/usr/bin/env bash
# One refused message never blocks the rest (docs/protocol.md "Refusals"), on two real
# `parley gateway` processes on loopback: a line configured on us-eucom only is accepted by
# `line add` and `send`; ru-genstaff refuses that message alone; a FLASH sent right behind it
# on a line both sides have is delivered within seconds; the bad message ends `refused` with
# ru's reason in us's outbox; both sides count it; and each side's transcript export still
# verifies offline.
# Usage: refusal_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" refusal "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us saceur-cgs" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru saceur-cgs" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur
# The defect's trigger: a line on one side only. `line add` cannot know the peer lacks it.
check "line add us us-only (ru has no such line)" "$PARLEY" line add --home "$US" us-only --local saceur --remote ru-genstaff/cgs

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

BAD_ID=$("$PARLEY" send --home "$US" --as saceur --line us-only --text "on a line ru does not have")
check "send on the one-sided line answers with an id" bash -c "[[ '$BAD_ID' =~ ^[0-9a-f-]{36}\$ ]]"
FLASH_ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "FLASH right behind it")
check "FLASH send answers with an id" bash -c "[[ '$FLASH_ID' =~ ^[0-9a-f-]{36}\$ ]]"

inbox_has() { "$PARLEY" inbox --home "$1" --as "$2" --json | jq -e --arg id "$3" 'map(select(.id == $id)) | length == 1'; }
state_is() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -e --arg id "$3" --arg s "$4" 'map(select(.id == $id and .state == $s)) | length == 1'; }

start=$SECONDS
if poll 10 inbox_has "$RU" cgs "$FLASH_ID"; then
  ok "the FLASH on the good line reached ru within 10 s ($((SECONDS - start)) s)"
else
  bad "the FLASH on the good line is not in ru's inbox after 10 s: $("$PARLEY" outbox --home "$US" --as saceur --json | jq -c '[.[] | {id, line, state}]')"
fi
check "the FLASH is delivered (receipted) in us's outbox" poll 10 state_is "$US" saceur "$FLASH_ID" delivered
check "the bad message is refused in us's outbox" poll 10 state_is "$US" saceur "$BAD_ID" refused
check "its refusal is ru's reason (unknown line)" bash -c "'$PARLEY' outbox --home '$US' --as saceur --json | jq -e --arg id '$BAD_ID' '.[] | select(.id == \$id) | .refusal | test(\"unknown line .us-only.\")'"
check "the human outbox shows the reason" bash -c "'$PARLEY' outbox --home '$US' --as saceur | grep -q \"refused by the peer: .*unknown line 'us-only'\""
check "the refused message carries ru's signed receipt (the evidence)" bash -c "curl -sf -H \"Authorization: Bearer \$(cat '$US/operator.token')\" -H 'X-Parley-As: saceur' http://127.0.0.1:$US_API/api/v1/messages/$BAD_ID | jq -e '.state == \"refused\" and (.receipt.payload | length > 0) and (.proof.index >= 0)'"
check "nothing is left queued at us" poll 10 bash -c "'$PARLEY' status --home '$US' --json | jq -e '.queued == 0'"
check "us status counts the refusal and raises no alert" bash -c "'$PARLEY' status --home '$US' --json | jq -e '.refused == 1 and .peers[0].refusals.messages_refused == 1 and .peers[0].refusals.alert == false and (.peers[0].refusals.last | test(\"unknown line\"))'"
check "ru status counts the message it refused" bash -c "'$PARLEY' status --home '$RU' --json | jq -e '.peers[0].refusals.inbound_refused == 1 and .peers[0].gaps == []'"
check "us /metrics counts it" bash -c "curl -s -H 'Authorization: Bearer $(cat "$US/operator.token")' http://127.0.0.1:$US_API/metrics | grep -q '^parley_messages_refused_total{peer=\"ru-genstaff\"} 1\$'"
check "ru /metrics counts it" bash -c "curl -s -H 'Authorization: Bearer $(cat "$RU/operator.token")' http://127.0.0.1:$RU_API/metrics | grep -q '^parley_inbound_refused_total{peer=\"us-eucom\"} 1\$'"
check "the refused message is not in ru's inbox" bash -c "! '$PARLEY' inbox --home '$RU' --as cgs --json | jq -e --arg id '$BAD_ID' 'map(select(.id == \$id)) | length > 0'"
check "us logged message-refused" grep -q "message-refused" "$DIR/us.log"
check "ru logged inbound-refused" grep -q "inbound-refused" "$DIR/ru.log"
AFTER_ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "and after it")
check "later traffic keeps flowing" poll 10 state_is "$US" saceur "$AFTER_ID" delivered

# The joint transcript still verifies on both sides: the refused envelope is an entry of
# us's log, countersigned by ru, and in ru's export with its proof.
check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "parley verify of us's export: exit 0" "$PARLEY" verify "$DIR/t-us"
check "parley verify of ru's export: exit 0" "$PARLEY" verify "$DIR/t-ru"
check "ru's export holds the refused entry of us's log" bash -c "grep -c . '$DIR/t-ru/logs/us-eucom.jsonl' | grep -qx 3"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
