#!/usr/bin/env bash
# A broadcast (issue 14, "many parties") between three real gateways: us-eucom has a line to
# ru-genstaff (saceur-cgs) and one to nato-shape (saceur-shape); saceur sends one message on
# both at once (`parley send --line saceur-cgs --line saceur-shape`).
# - The CLI prints the broadcast id, then each message's id and line: two messages, two ids.
# - Each peer receives its own message; each is receipted on its own (its receipt in GET
#   /api/v1/messages/{id}) and acknowledged on its own.
# - The aggregated status (`parley broadcast show`, GET /api/v1/broadcasts/{id}) follows:
#   "delivered to 2 of 2, acknowledged by 1" after ru's ack, then 2 of 2 after nato's, with
#   each line's state.
# - All or nothing: a broadcast naming an unknown line, or a line saceur is not on, is refused
#   naming that line, and nothing is queued on the good line either; a broadcast on one line,
#   with a reply_to, or an unknown broadcast id are refused (400, 400, 404).
# Usage: broadcast_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" broadcast "$@"

US=$DIR/us RU=$DIR/ru NATO=$DIR/nato
declare -A FED API PARTY
PARTY=([us]=us-eucom [ru]=ru-genstaff [nato]=nato-shape)
for p in us ru nato; do
  FED[$p]=$(free_port)
  API[$p]=$(free_port)
  "$PARLEY" init --home "$DIR/$p" --party "${PARTY[$p]}" --federation 127.0.0.1:"${FED[$p]}" \
    --api 127.0.0.1:"${API[$p]}" >/dev/null || { bad "init $p"; exit 1; }
  "$PARLEY" bundle --home "$DIR/$p" >"$DIR/$p.json"
done
check "us pins ru and nato" bash -c "'$PARLEY' peer add --home '$US' '$DIR/ru.json' && '$PARLEY' peer add --home '$US' '$DIR/nato.json'"
check "ru pins us" "$PARLEY" peer add --home "$RU" "$DIR/us.json"
check "nato pins us" "$PARLEY" peer add --home "$NATO" "$DIR/us.json"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$US" j3 >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
"$PARLEY" principal add --home "$NATO" ops >/dev/null
check "line add us saceur-cgs" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add us saceur-shape" "$PARLEY" line add --home "$US" saceur-shape --local saceur --remote nato-shape/ops
check "line add us j3-cgs (not saceur's)" "$PARLEY" line add --home "$US" j3-cgs --local j3 --remote ru-genstaff/cgs
check "line add ru saceur-cgs" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur
check "line add ru j3-cgs" "$PARLEY" line add --home "$RU" j3-cgs --local cgs --remote us-eucom/j3
check "line add nato saceur-shape" "$PARLEY" line add --home "$NATO" saceur-shape --local ops --remote us-eucom/saceur

for p in us ru nato; do
  "$PARLEY" gateway --home "$DIR/$p" 2>"$DIR/$p.log" &
  PIDS+=("$!")
done
for p in us ru nato; do
  check "$p gateway ready" poll 30 curl -sf "http://127.0.0.1:${API[$p]}/readyz"
done

outbox_count() { "$PARLEY" outbox --home "$US" --as saceur --json | jq length; }

# All or nothing, before anything was sent: each refusal names the bad line, nothing queued.
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --line no-such-line --text "x" \
  >"$DIR/out" 2>"$DIR/err"
code=$?
if [[ $code -ne 0 ]] && grep -q "no-such-line" "$DIR/err"; then ok "a broadcast on an unknown line is refused naming it (exit $code)"; else bad "unknown line: exit $code, $(cat "$DIR/err")"; fi
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --line j3-cgs --text "x" \
  >"$DIR/out" 2>"$DIR/err"
code=$?
if [[ $code -ne 0 ]] && grep -q "j3-cgs" "$DIR/err" && grep -q "may not send" "$DIR/err"; then ok "a broadcast on a line saceur is not on is refused naming it (exit $code)"; else bad "foreign line: exit $code, $(cat "$DIR/err")"; fi
check "nothing was queued by the refused broadcasts" test "$(outbox_count)" = 0
api() {  # api METHOD PATH [BODY]: prints "STATUS BODY"
  curl -s -o "$DIR/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $(cat "$US/operator.token")" \
    -H "X-Parley-As: saceur" ${3:+-d "$3"} "http://127.0.0.1:${API[us]}$2"
  echo " $(cat "$DIR/api.out")"
}
answer=$(api POST /api/v1/broadcasts '{"lines": ["saceur-cgs"], "text": "x"}')
[[ $answer == 400* && $answer == *error* ]] && ok "one line: 400 ($answer)" || bad "one line: $answer"
answer=$(api POST /api/v1/broadcasts '{"lines": ["saceur-cgs", "saceur-shape"], "text": "x", "reply_to": "0190a0b0-0000-7000-8000-000000000001"}')
[[ $answer == 400* ]] && ok "reply_to in a broadcast: 400" || bad "reply_to: $answer"
answer=$(api GET /api/v1/broadcasts/0190a0b0-0000-7000-8000-000000000001)
[[ $answer == 404* ]] && ok "unknown broadcast: 404" || bad "unknown broadcast: $answer"
answer=$(api GET /api/v1/broadcasts/not-a-uuid)
[[ $answer == 400* ]] && ok "a broadcast id that is not a uuid: 400" || bad "not a uuid: $answer"
check "nothing was queued by the refused requests" test "$(outbox_count)" = 0

# The broadcast.
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --line saceur-shape --precedence FLASH \
  --text "Exercise STEADFAST begins at 06:00Z" >"$DIR/sent" 2>"$DIR/err" || bad "broadcast: $(cat "$DIR/err")"
BID=$(head -1 "$DIR/sent")
CGS_ID=$(awk '$2 == "saceur-cgs" {print $1}' "$DIR/sent")
SHAPE_ID=$(awk '$2 == "saceur-shape" {print $1}' "$DIR/sent")
check "send prints the broadcast id and one message per line" \
  bash -c "[[ \$(wc -l <'$DIR/sent') == 3 && -n '$CGS_ID' && -n '$SHAPE_ID' && '$CGS_ID' != '$SHAPE_ID' && '$BID' != '$CGS_ID' ]]"
check "two messages in saceur's outbox" test "$(outbox_count)" = 2

show() { "$PARLEY" broadcast show --home "$US" --as saceur "$BID" --json; }
delivered_to() { show | jq -e --argjson n "$1" '.delivered == $n and .lines_total == 2' >/dev/null; }
check "the broadcast is delivered to 2 of 2" poll 60 delivered_to 2
check "each message has its own receipt" bash -c "
  for id in $CGS_ID $SHAPE_ID; do
    curl -sf -H \"Authorization: Bearer \$(cat '$US/operator.token')\" -H 'X-Parley-As: saceur' \
      http://127.0.0.1:${API[us]}/api/v1/messages/\$id | jq -e '.receipt != null and .state == \"delivered\"' >/dev/null || exit 1
  done"
check "ru-genstaff received its message" bash -c \
  "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e '[.[] | select(.id == \"$CGS_ID\" and .line == \"saceur-cgs\")] | length == 1'"
check "nato-shape received its message" bash -c \
  "'$PARLEY' inbox --home '$NATO' --as ops --json | jq -e '[.[] | select(.id == \"$SHAPE_ID\" and .line == \"saceur-shape\")] | length == 1'"
check "ru-genstaff received nothing of the other line" bash -c \
  "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e 'length == 1'"

check "cgs acknowledges" "$PARLEY" ack --home "$RU" --as cgs "$CGS_ID"
acked_by() { show | jq -e --argjson n "$1" '.acknowledged == $n' >/dev/null; }
check "acknowledged by 1" poll 60 acked_by 1
check "the text status reads 'delivered to 2 of 2, acknowledged by 1'" bash -c \
  "'$PARLEY' broadcast show --home '$US' --as saceur '$BID' | grep -qx 'delivered to 2 of 2, acknowledged by 1'"
check "each line's state: saceur-cgs acknowledged, saceur-shape delivered" bash -c \
  "'$PARLEY' broadcast show --home '$US' --as saceur '$BID' --json | jq -e '
    (.messages | map({(.line): .state}) | add) == {\"saceur-cgs\": \"acknowledged\", \"saceur-shape\": \"delivered\"}
    and ([.messages[] | select(.line == \"saceur-cgs\")][0].acknowledged_by == \"ru-genstaff/cgs\")
    and .precedence == \"FLASH\" and .from == \"us-eucom/saceur\"'"
check "ops acknowledges" "$PARLEY" ack --home "$NATO" --as ops "$SHAPE_ID"
check "acknowledged by 2" poll 60 acked_by 2
check "the text status reads 'delivered to 2 of 2, acknowledged by 2'" bash -c \
  "'$PARLEY' broadcast show --home '$US' --as saceur '$BID' | grep -qx 'delivered to 2 of 2, acknowledged by 2'"
check "broadcast show of an id that is not a uuid is a usage error (exit 2)" \
  bash -c "'$PARLEY' broadcast show --home '$US' --as saceur nope 2>/dev/null; [[ \$? == 2 ]]"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
