#!/usr/bin/env bash
# Disclosure with three real gateways (issue 14): us-eucom and ru-genstaff on a line that
# nato-shape observes.
# - nato-shape verifies the line's heads: it cosigned both logs and holds the heads each party
#   forwarded of the other's log.
# - saceur discloses one of its two messages to nato-shape (`parley disclose`): nato-shape
#   checks it and shows it (`parley disclosed`, GET /api/v1/disclosed) with its body and text.
# - The other message stays unreadable to nato-shape: its text is in none of nato-shape's
#   answers and not in its store's files.
# - Refusals, each with its reason and exit 1: a message the peer sent, a party that does not
#   observe the line, a message of another principal's line, an unknown observer.
# - us-eucom rotates its key (issue 17; `parley rotate`, gateway stopped and started again):
#   nato-shape pins the rotation from us-eucom's log for it, cosigns us-eucom's log for
#   ru-genstaff at its size after the rotation (each checkpoint signed by the key of its head
#   along us-eucom's chain there), a message sent after the rotation is disclosed and shown,
#   and us-eucom's export verifies with a --policy naming its bundle's key and nato-shape.
# (Altered content, a wrong salt, a wrong proof: gateway/disclosure_test.cc, in process.)
# Usage: disclosure_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" disclosure "$@"

US=$DIR/us RU=$DIR/ru NATO=$DIR/nato
declare -A FED API
for p in us ru nato; do FED[$p]=$(free_port); API[$p]=$(free_port); done
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"${FED[us]}" --api 127.0.0.1:"${API[us]}" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"${FED[ru]}" --api 127.0.0.1:"${API[ru]}" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" init --home "$NATO" --party nato-shape --federation 127.0.0.1:"${FED[nato]}" --api 127.0.0.1:"${API[nato]}" --no-encrypt >/dev/null || { bad "init nato"; exit 1; }
for p in us ru nato; do "$PARLEY" bundle --home "$DIR/$p" >"$DIR/$p.json"; done
check "pins us" bash -c "'$PARLEY' peer add --home '$US' '$DIR/ru.json' && '$PARLEY' peer add --home '$US' '$DIR/nato.json'"
check "pins ru" bash -c "'$PARLEY' peer add --home '$RU' '$DIR/us.json' && '$PARLEY' peer add --home '$RU' '$DIR/nato.json'"
check "pins nato" bash -c "'$PARLEY' peer add --home '$NATO' '$DIR/us.json' && '$PARLEY' peer add --home '$NATO' '$DIR/ru.json'"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$US" j3 >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
"$PARLEY" principal add --home "$RU" ops >/dev/null
check "line add us (observer nato-shape)" "$PARLEY" line add --home "$US" hotline --local saceur --remote ru-genstaff/cgs --observer nato-shape
check "line add ru (observer nato-shape)" "$PARLEY" line add --home "$RU" hotline --local cgs --remote us-eucom/saceur --observer nato-shape
# A second line nato-shape does not observe.
check "line add us (unobserved)" "$PARLEY" line add --home "$US" backchannel --local j3 --remote ru-genstaff/ops
check "line add ru (unobserved)" "$PARLEY" line add --home "$RU" backchannel --local ops --remote us-eucom/j3

for p in us ru nato; do
  "$PARLEY" gateway --home "$DIR/$p" 2>"$DIR/$p.log" &
  PIDS+=("$!")
  [[ $p == us ]] && US_PID=$!
done
for p in us ru nato; do
  check "$p gateway ready" poll 30 curl -sf "http://127.0.0.1:${API[$p]}/readyz"
done

SHOWN=$("$PARLEY" send --home "$US" --as saceur --line hotline --text "exercise STEADFAST NOON begins at 0400Z" | grep -Eo '[0-9a-f-]{36}' | head -1)
KEPT=$("$PARLEY" send --home "$US" --as saceur --line hotline --text "the undisclosed aside about the fleet" | grep -Eo '[0-9a-f-]{36}' | head -1)
FROM_RU=$("$PARLEY" send --home "$RU" --as cgs --line hotline --text "noted" | grep -Eo '[0-9a-f-]{36}' | head -1)
BACK=$("$PARLEY" send --home "$US" --as j3 --line backchannel --text "on the other line" | grep -Eo '[0-9a-f-]{36}' | head -1)
check "message ids" test -n "$SHOWN" -a -n "$KEPT" -a -n "$FROM_RU" -a -n "$BACK"
delivered() {  # delivered HOME PRINCIPAL N
  "$PARLEY" outbox --home "$1" --as "$2" --json |
    jq -e --argjson n "$3" '[.[] | select(.state != "queued" and .state != "sent")] | length >= $n'
}
check "us's messages delivered" poll 60 delivered "$US" saceur 2
check "ru's message delivered" poll 60 delivered "$RU" cgs 1
check "us received ru's message" poll 60 bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e 'length >= 1'"

# The observer verifies the line's heads: it cosigned both logs at the sizes their owners
# report, and holds the heads each party countersigned of the other's log.
cosigned_as_owner() {  # cosigned_as_owner OWNER_HOME PEER ORIGIN
  local size
  size=$("$PARLEY" status --home "$1" --json | jq -r --arg p "$2" '.peers[] | select(.party == $p) | .log_size')
  [[ -n $size && $size != 0 ]] || return 1
  "$PARLEY" status --home "$NATO" --json |
    jq -e --arg o "$3" --argjson s "$size" '([.witness.witnessed[] | select(.origin == $o and .size == $s)] | length == 1) and .witness.alert == false'
}
check "nato-shape cosigned us-eucom's log at its size" poll 60 cosigned_as_owner "$US" ru-genstaff parley.example/us-eucom/ru-genstaff
check "nato-shape cosigned ru-genstaff's log at its size" poll 60 cosigned_as_owner "$RU" us-eucom parley.example/ru-genstaff/us-eucom
check "nato-shape holds the heads forwarded both ways" poll 60 bash -c \
  "'$PARLEY' status --home '$NATO' --json | jq -e '[.witness.forwarded[].origin] | sort == [\"parley.example/ru-genstaff/us-eucom\", \"parley.example/us-eucom/ru-genstaff\"]'"
check "us-eucom holds nato-shape's cosignature of its log" poll 60 bash -c \
  "'$PARLEY' status --home '$US' --json | jq -e '[.witness.cosignatures[] | select(.origin == \"parley.example/us-eucom/ru-genstaff\" and .size >= 2)] | length == 1'"

check "nothing disclosed yet" bash -c "'$PARLEY' disclosed --home '$NATO' --json | jq -e 'length == 0'"
"$PARLEY" disclose --home "$US" --as saceur "$SHOWN" --to nato-shape >"$DIR/out" 2>"$DIR/err"
rc=$?
check "parley disclose: exit 0 and says what the observer checked" bash -c \
  "[[ $rc -eq 0 ]] && grep -q '^disclosed $SHOWN to nato-shape: it checked the message at index' '$DIR/out'"
"$PARLEY" disclosed --home "$NATO" --json >"$DIR/disclosed.json"
check "nato-shape shows the disclosed message: its text, sender, line" jq -e \
  --arg id "$SHOWN" 'length == 1 and .[0].id == $id and .[0].text == "exercise STEADFAST NOON begins at 0400Z" and .[0].from == "us-eucom/saceur" and .[0].to == "ru-genstaff/cgs" and .[0].line == "hotline" and .[0].discloser == "us-eucom" and .[0].origin == "parley.example/us-eucom/ru-genstaff"' "$DIR/disclosed.json"
check "parley disclosed (text) shows it" bash -c \
  "'$PARLEY' disclosed --home '$NATO' | grep -q 'text exercise STEADFAST NOON begins at 0400Z'"
check "disclosing it again changes nothing" bash -c \
  "'$PARLEY' disclose --home '$US' --as saceur '$SHOWN' --to nato-shape && '$PARLEY' disclosed --home '$NATO' --json | jq -e 'length == 1'"

# The undisclosed message stays unreadable to the observer: in none of its answers, not in its
# store (the disclosed one is, as a control; nato-shape's store is made with --no-encrypt so
# that its bytes can be searched).
nato_answers() {
  "$PARLEY" status --home "$NATO" --json
  "$PARLEY" disclosed --home "$NATO" --json
  curl -s -H "Authorization: Bearer $(cat "$NATO/operator.token")" "http://127.0.0.1:${API[nato]}/api/v1/events?once=1" --max-time 2
}
nato_answers >"$DIR/nato-answers.txt" 2>/dev/null
check "the undisclosed text is in none of nato-shape's answers" bash -c "! grep -q 'undisclosed aside' '$DIR/nato-answers.txt'"
check "the undisclosed text is not in nato-shape's store" bash -c "! cat '$NATO'/parley.db* | grep -aq 'undisclosed aside'"
check "the disclosed text is (the control)" bash -c "cat '$NATO'/parley.db* | grep -aq 'STEADFAST NOON'"
check "the undisclosed message's id is not disclosed" bash -c "! jq -e --arg id '$KEPT' 'any(.[]; .id == \$id)' '$DIR/disclosed.json'"

# Refusals: exit 1 (2 for a usage error), one line naming why; nothing disclosed.
refused() {  # refused WHAT EXIT PATTERN COMMAND...
  local what=$1 want=$2 pattern=$3; shift 3
  "$@" >/dev/null 2>"$DIR/err"
  local rc=$?
  if [[ $rc -eq $want ]] && grep -qF -- "$pattern" "$DIR/err"; then
    ok "$what: exit $want with the reason"
  else
    bad "$what: exit $rc, $(cat "$DIR/err")"
  fi
}
refused "a message the peer sent" 1 "only a message your party sent can be disclosed" \
  "$PARLEY" disclose --home "$US" --as saceur "$FROM_RU" --to nato-shape
refused "to a party that does not observe the line" 1 "is not an observer of line 'hotline'" \
  "$PARLEY" disclose --home "$US" --as saceur "$SHOWN" --to ru-genstaff
refused "a message on a line nato-shape does not observe" 1 "is not an observer of line 'backchannel'" \
  "$PARLEY" disclose --home "$US" --as j3 "$BACK" --to nato-shape
refused "a message of another principal's line" 1 "unknown message" \
  "$PARLEY" disclose --home "$US" --as j3 "$KEPT" --to nato-shape
refused "an observer id that is no party id (a usage error)" 2 "is not a party id" \
  "$PARLEY" disclose --home "$US" --as saceur "$KEPT" --to NATO
check "still one message disclosed" bash -c "'$PARLEY' disclosed --home '$NATO' --json | jq -e 'length == 1'"
check "the API refuses a malformed body (400, JSON reason)" bash -c \
  "[[ \$(curl -s -o '$DIR/body' -w '%{http_code}' -X POST -H \"Authorization: Bearer \$(cat '$US/operator.token')\" -H 'X-Parley-As: saceur' -d '{\"to\": 1}' http://127.0.0.1:${API[us]}/api/v1/messages/$KEPT/disclose) == 400 ]] && jq -e '.error' '$DIR/body'"
TOKEN=$("$PARLEY" principal add --home "$NATO" liaison 2>/dev/null | head -1)
check "GET /api/v1/disclosed is gateway-wide (a principal without the role watch gets 403)" bash -c \
  "[[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:${API[nato]}/api/v1/disclosed) == 403 ]]"

# --- us-eucom rotates its key: nato-shape follows its chain (issue 17) ---
log_size() {  # log_size HOME PEER: the size of the party's log for PEER
  "$PARLEY" status --home "$1" --json | jq -r --arg p "$2" '.peers[] | select(.party == $p) | .log_size'
}
ROTATED_AT=$(log_size "$US" ru-genstaff)  # the index the statement gets in us's log for ru
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
check "rotate us-eucom (stopped)" "$PARLEY" rotate --home "$US"
"$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" &
PIDS+=("$!")
check "us gateway ready again" poll 30 curl -sf "http://127.0.0.1:${API[us]}/readyz"
check "nato-shape pinned us-eucom's rotation (from us's log for it)" poll 30 bash -c \
  "'$PARLEY' peer show --home '$NATO' us-eucom --json | jq -e '.key_in_force.rotation == 1'"
ROTATED=$("$PARLEY" send --home "$US" --as saceur --line hotline --text "sent under the new key" | grep -Eo '[0-9a-f-]{36}' | head -1)
check "us's message after the rotation delivered" poll 60 delivered "$US" saceur 3
after_rotation() {  # nato-shape cosigned us's log at its size, past the head that holds the statement
  local size
  size=$(log_size "$US" ru-genstaff)
  [[ -n $size && $size -gt $((ROTATED_AT + 1)) ]] && cosigned_as_owner "$US" ru-genstaff parley.example/us-eucom/ru-genstaff
}
check "nato-shape cosigned us-eucom's log after the rotation (new key), no alert" poll 60 after_rotation
check "us-eucom's checkpoints were never refused" bash -c "! grep -q 'no signature by a known key' '$DIR/us.log'"
# GET /api/v1/peers/ru-genstaff/checkpoint (the log's head is past the statement): its
# signature line names the key ID of us's new key under the origin, not the bundle key's.
key_id() {  # key_id HEX_KEY: the note key ID of that Ed25519 key under us's log origin
  python3 -c 'import hashlib, sys; print(hashlib.sha256(b"parley.example/us-eucom/ru-genstaff\n\x01" + bytes.fromhex(sys.argv[1])).digest()[:4].hex())' "$1"
}
checkpoint_key_id() {
  curl -sf -H "Authorization: Bearer $(cat "$US/operator.token")" "http://127.0.0.1:${API[us]}/api/v1/peers/ru-genstaff/checkpoint" |
    awk '/^— /{print $3}' | python3 -c 'import base64, sys; print(base64.b64decode(sys.stdin.read().strip())[:4].hex())'
}
NEW_KEY=$("$PARLEY" peer show --home "$NATO" us-eucom --json | jq -r .key_in_force.sign_key)
FIRST_KEY=$(jq -r .sign_key "$DIR/us.json" | python3 -c 'import base64, sys; print(base64.b64decode(sys.stdin.read()).hex())')
signed_by_new_key() { [[ $NEW_KEY != "$FIRST_KEY" && $(checkpoint_key_id) == $(key_id "$NEW_KEY") ]]; }
check "us's API checkpoint past the rotation is signed by its new key" signed_by_new_key
check "parley disclose of a message sent after the rotation: exit 0" \
  "$PARLEY" disclose --home "$US" --as saceur "$ROTATED" --to nato-shape
check "nato-shape shows it" bash -c \
  "'$PARLEY' disclosed --home '$NATO' --json | jq -e --arg id '$ROTATED' 'length == 2 and any(.[]; .id == \$id and .text == \"sent under the new key\")'"
# us's export: its checkpoint (signed by its new key, cosigned by nato-shape) meets a policy
# that names us's bundle key for the log: verify follows the chain in the exported log.
vkey() {  # vkey NAME TYPE BUNDLE: C2SP verifier key of the bundle's sign_key
  python3 - "$@" <<'PY'
import base64, hashlib, json, sys
name, kind, bundle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = bytes([kind]) + base64.b64decode(json.load(open(bundle))["sign_key"])
kid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
print(f"{name}+{kid.hex()}+{base64.b64encode(key).decode()}")
PY
}
{
  echo "log $(vkey parley.example/us-eucom/ru-genstaff 1 "$DIR/us.json")"
  echo "witness nato-shape $(vkey parley.example/nato-shape 4 "$DIR/nato.json")"
  echo "quorum nato-shape"
} >"$DIR/policy.txt"
check "transcript export by us-eucom after the rotation" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
"$PARLEY" verify "$DIR/t-us" --pin "$DIR/us.json" --policy "$DIR/policy.txt" --json >"$DIR/verify.json" 2>"$DIR/verify.err"
rc=$?
check "verify --policy of it: exit 0, policy met, its checkpoint past the rotation cosigned by nato-shape" bash -c \
  "[[ $rc -eq 0 ]] && jq -e --argjson r '$ROTATED_AT' '.policy == \"met\" and ([.checkpoints[] | select(.owner == \"us-eucom\" and .size > \$r + 1) | .cosigners[]] == [\"parley.example/nato-shape\"])' '$DIR/verify.json'"

echo "disclosure_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
