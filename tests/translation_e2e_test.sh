#!/usr/bin/env bash
# Translations in the loop over two real `parley gateway` processes on loopback (issue 13):
# ru-genstaff's translator, who is no principal of the line, reads a us FLASH in its party's
# inbox and translates it; ru's translator is in ru's bundle (v2), so us accepts the
# translation; both sides show it under the original ("translation (LANG) by ADDR", and a
# `translations` array in --json and the API); it asks for no acknowledgment; what a
# translator may not send is refused with one line; both exported transcripts verify and hold
# the translation as a signed entry of ru's log.
# Usage: translation_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" translation "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)

"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --lang en >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" principal add --home "$US" saceur --name "SACEUR" >/dev/null
"$PARLEY" principal add --home "$RU" cgs --name "Chief of the General Staff" >/dev/null
"$PARLEY" principal add --home "$RU" cook >/dev/null
TR_TOKEN=$("$PARLEY" principal add --home "$RU" interpreter --name "Duty interpreter" --role translator)
"$PARLEY" bundle --home "$US" >"$DIR/us.json"
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"
check "ru's bundle is v2 and lists its translator" jq -e '.v == 2 and .translators == ["interpreter"]' "$DIR/ru.json"
check "us's bundle, without translators, stays v1" jq -e '.v == 1 and (has("translators") | not)' "$DIR/us.json"
"$PARLEY" peer add --home "$US" "$DIR/ru.json" >/dev/null
"$PARLEY" peer add --home "$RU" "$DIR/us.json" >/dev/null
"$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs >/dev/null
"$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur >/dev/null

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

# --- us sends a FLASH; ru's translator reads it without being on the line ---
FLASH=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH \
  --text "Unscheduled launch from the test range at 21:00Z; no threat.")
check "the FLASH is sent" bash -c "[[ '$FLASH' =~ ^[0-9a-f-]{36}\$ ]]"
in_inbox() { "$PARLEY" inbox --home "$RU" --as "$1" --json | jq -e --arg id "$FLASH" 'any(.id == $id)'; }
check "ru's translator reads the FLASH in its party's inbox" poll 15 in_inbox interpreter
check "ru's cgs reads it too" in_inbox cgs
check "a principal who is neither on the line nor a translator does not" bash -c "! '$PARLEY' inbox --home '$RU' --as cook --json | jq -e 'length > 0'"

# --- what a translator may not send, refused by its own gateway with one line ---
# refused WHAT REASON COMMAND...: exit 1, one line on stderr with REASON, nothing on stdout.
refused() {
  local what=$1 reason=$2; shift 2
  "$@" >"$DIR/out" 2>"$DIR/err"
  local rc=$?
  if [[ $rc -eq 1 && $(wc -l <"$DIR/err") -eq 1 && ! -s "$DIR/out" ]] && grep -qF "$reason" "$DIR/err"; then
    ok "$what refused: $(cat "$DIR/err")"
  else
    bad "$what: wanted exit 1 and one line with '$reason'; got $rc '$(cat "$DIR/err")'"
  fi
}
tr_send() { "$PARLEY" send --home "$RU" --as interpreter --line saceur-cgs "$@"; }
refused "a translator's plain text" "is a translator" tr_send --text "hello"
refused "a translation without reply_to" "reply_to" tr_send --type translation --body '{"language":"ru"}' --text "x"
# A reply_to that names no message the translator can see is a usage error (exit 2), refused
# by the API before the core sees it.
tr_send --type translation --body '{"language":"ru"}' --text "x" --reply-to 01890000-0000-7000-8000-000000000000 >"$DIR/out" 2>"$DIR/err"
rc=$?
check "a translation of a message no line has: exit 2, one line naming reply_to" \
  bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 && ! -s '$DIR/out' ]] && grep -q 'reply_to: no message on your lines' '$DIR/err'"
refused "a translator acknowledging the FLASH" "may not acknowledge" \
  "$PARLEY" ack --home "$RU" --as interpreter "$FLASH"
refused "a translation by a principal who is no translator" "may not send on line" \
  "$PARLEY" send --home "$RU" --as cook --line saceur-cgs --type translation --body '{"language":"ru"}' --text "x" --reply-to "$FLASH"

# --- the translation, through the API as a translator's client would send it ---
TEXT="Внеплановый пуск с испытательного полигона в 21:00Z; угрозы нет."
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TR_TOKEN" \
  --data "$(jq -cn --arg id "$FLASH" --arg text "$TEXT" '{line: "saceur-cgs", precedence: "FLASH", type: "translation", body: {language: "ru"}, text: $text, reply_to: $id}')" \
  "http://127.0.0.1:$RU_API/api/v1/messages")
TR=$(jq -r .id "$DIR/resp")
check "the translator's translation is accepted (201)" bash -c "[[ $code == 201 && '$TR' =~ ^[0-9a-f-]{36}\$ ]]"

# --- both sides read it beside the original ---
beside() {  # beside HOME AS BOX: BOX shows the FLASH with the translation under it, once
  "$PARLEY" "$3" --home "$1" --as "$2" --json | jq -e --arg id "$FLASH" --arg tr "$TR" --arg text "$TEXT" \
    '(map(select(.id == $id)) | length == 1 and (.[0].translations == [{id: $tr, from: "ru-genstaff/interpreter", language: "ru", text: $text, created: .[0].translations[0].created}])) and (any(.id == $tr) | not)'
}
check "us reads the translation beside its FLASH (outbox --json)" poll 15 beside "$US" saceur outbox
check "ru's cgs reads it beside the FLASH (inbox --json)" poll 15 beside "$RU" cgs inbox
check "us's text outbox marks it under the original" bash -c "'$PARLEY' outbox --home '$US' --as saceur | grep -A1 -F 'Unscheduled launch' | grep -qF 'translation (ru) by ru-genstaff/interpreter: $TEXT'"
check "ru's text inbox marks it under the original, in Russian (ru's language)" bash -c "'$PARLEY' inbox --home '$RU' --as cgs | grep -qF 'перевод (ru) автор ru-genstaff/interpreter: $TEXT'"
get_flash() {  # GET /api/v1/messages/{id} as us's saceur, with the operator's credential
  curl -sf -H "Authorization: Bearer $(cat "$US/operator.token")" -H 'X-Parley-As: saceur' \
    "http://127.0.0.1:$US_API/api/v1/messages/$FLASH"
}
flash_has_it() { get_flash | jq -e --arg tr "$TR" '.translations[0].id == $tr and .translations[0].language == "ru"'; }
check "GET /api/v1/messages/{id} gives the translations array" flash_has_it

# --- it asks for no acknowledgment: the FLASH alone awaits one ---
awaiting() {  # awaiting HOME: the ids awaiting an acknowledgment, sorted
  "$PARLEY" status --home "$1" --json | jq -r '[.escalations[]?.message_id] | sort | join(" ")'
}
check "us awaits an ack of the FLASH only" test -n "$FLASH" -a "$(awaiting "$US")" == "$FLASH"
check "ru awaits its ack of the FLASH only" test -n "$FLASH" -a "$(awaiting "$RU")" == "$FLASH"
check "ru's cgs acknowledges the FLASH" "$PARLEY" ack --home "$RU" --as cgs "$FLASH"
acked() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$FLASH" 'any(.id == $id and .state == "acknowledged")'; }
check "us sees the FLASH acknowledged" poll 15 acked

# --- the transcripts: both hold the translation, signed by ru, and verify offline ---
receipted() { "$PARLEY" outbox --home "$RU" --as interpreter --json | jq -e --arg tr "$TR" 'any(.id == $tr and .state == "delivered")'; }
check "ru's translation is receipted by us" poll 15 receipted
check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "parley verify of us's export" "$PARLEY" verify "$DIR/t-us"
check "parley verify of ru's export" "$PARLEY" verify "$DIR/t-ru"
translation_in() {  # the translation's payload in ru's log of an export
  [[ -n "$TR" ]] || return 1
  jq -r '.envelope.payload' "$1/logs/ru-genstaff.jsonl" | while read -r p; do base64 -d <<<"$p"; echo; done |
    jq -s -e --arg tr "$TR" --arg flash "$FLASH" 'any(.[]; .id == $tr and .type == "translation" and .reply_to == $flash and .from == "ru-genstaff/interpreter")'
}
check "us's export holds ru's signed translation of the FLASH" translation_in "$DIR/t-us"
check "ru's export holds it too" translation_in "$DIR/t-ru"

echo "translation e2e: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
