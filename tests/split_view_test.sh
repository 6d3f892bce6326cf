#!/usr/bin/env bash
# The issue's split-view test with real gateways (issue 14): us-eucom shows the observer
# nato-shape one head and sends its peer ru-genstaff another of the same size.
# - us-eucom's home is cloned before any traffic (same keys, same empty log): the clone
#   "us-shown" talks to nato-shape only (its ru-genstaff pin points at a dead port, so what it
#   sends is signed into its log and never delivered) and submits its heads to nato-shape;
#   the real us-eucom names no observer on its line and never talks to nato-shape.
# - ru-genstaff countersigns the head us-eucom sent it and forwards it to nato-shape (it names
#   nato-shape as the line's observer). nato-shape, holding the other head of that size
#   cosigned, reports a split view: kind forwarded-other-root, both signed heads as evidence
#   (us-eucom's checkpoint note, ru-genstaff's receipt carrying us-eucom's signed head), an
#   alert in status (JSON and text) and the event; ru-genstaff logs the observer's answer.
# Usage: split_view_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" split-view "$@"

US=$DIR/us SHOWN=$DIR/us-shown RU=$DIR/ru NATO=$DIR/nato
declare -A FED API
for p in us shown ru nato dead; do FED[$p]=$(free_port); API[$p]=$(free_port); done
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"${FED[us]}" --api 127.0.0.1:"${API[us]}" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"${FED[ru]}" --api 127.0.0.1:"${API[ru]}" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" init --home "$NATO" --party nato-shape --federation 127.0.0.1:"${FED[nato]}" --api 127.0.0.1:"${API[nato]}" >/dev/null || { bad "init nato"; exit 1; }
for p in us ru nato; do
  # No automatic line tests: the logs hold exactly what the test sends.
  sed -i 's/^test_interval = .*/test_interval = "0"/' "$DIR/$p/parley.toml"
  "$PARLEY" bundle --home "$DIR/$p" >"$DIR/$p.json"
done
check "pins us" bash -c "'$PARLEY' peer add --home '$US' '$DIR/ru.json' && '$PARLEY' peer add --home '$US' '$DIR/nato.json'"
check "pins ru" bash -c "'$PARLEY' peer add --home '$RU' '$DIR/us.json' && '$PARLEY' peer add --home '$RU' '$DIR/nato.json'"
check "pins nato" bash -c "'$PARLEY' peer add --home '$NATO' '$DIR/us.json' && '$PARLEY' peer add --home '$NATO' '$DIR/ru.json'"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null

# The clone: us-eucom's keys and (empty) log, its own ports, ru-genstaff unreachable from it.
cp -a "$US" "$SHOWN"
sed -i "s/127.0.0.1:${FED[us]}/127.0.0.1:${FED[shown]}/; s/127.0.0.1:${API[us]}/127.0.0.1:${API[shown]}/" "$SHOWN/parley.toml"
jq --arg a "127.0.0.1:${FED[dead]}" '.federation = [$a]' "$DIR/ru.json" >"$DIR/ru-dead.json"
check "the clone pins a ru-genstaff it cannot reach" "$PARLEY" peer add --home "$SHOWN" --replace "$DIR/ru-dead.json"

check "line add us (no observer)" "$PARLEY" line add --home "$US" hotline --local saceur --remote ru-genstaff/cgs
check "line add us-shown (observer nato-shape)" "$PARLEY" line add --home "$SHOWN" hotline --local saceur --remote ru-genstaff/cgs --observer nato-shape
check "line add ru (observer nato-shape)" "$PARLEY" line add --home "$RU" hotline --local cgs --remote us-eucom/saceur --observer nato-shape

start() {  # start NAME HOME
  "$PARLEY" gateway --home "$2" 2>"$DIR/$1.log" &
  PIDS+=("$!")
}
start nato "$NATO"
start ru "$RU"
start shown "$SHOWN"
for p in nato ru shown; do
  check "$p gateway ready" poll 30 curl -sf "http://127.0.0.1:${API[$p]}/readyz"
done

ORIGIN=parley.example/us-eucom/ru-genstaff
witnessed_size() {  # witnessed_size N: nato-shape cosigned us-eucom's log at size N
  "$PARLEY" status --home "$NATO" --json |
    jq -e --arg o "$ORIGIN" --argjson n "$1" '[.witness.witnessed[] | select(.origin == $o and .size == $n)] | length == 1'
}
"$PARLEY" send --home "$SHOWN" --as saceur --line hotline --text "the history shown to the observer" >/dev/null || bad "send (shown)"
check "nato-shape cosigned the head us-eucom showed it (size 1)" poll 60 witnessed_size 1

start us "$US"
check "us gateway ready" poll 30 curl -sf "http://127.0.0.1:${API[us]}/readyz"
"$PARLEY" send --home "$US" --as saceur --line hotline --text "the history sent to the peer" >/dev/null || bad "send (us)"
delivered() {
  "$PARLEY" outbox --home "$US" --as saceur --json | jq -e '[.[] | select(.state == "delivered" or .state == "acknowledged")] | length == 1'
}
check "ru-genstaff received and countersigned us-eucom's message" poll 60 delivered

split() {
  "$PARLEY" status --home "$NATO" --json |
    jq -e --arg o "$ORIGIN" '.witness.alert == true and ([.witness.split_views[] | select(.origin == $o and .kind == "forwarded-other-root")] | length == 1)'
}
check "nato-shape reports a split view of us-eucom's log (forwarded-other-root)" poll 60 split
"$PARLEY" status --home "$NATO" --json >"$DIR/nato-status.json"
jq -r --arg o "$ORIGIN" '.witness.split_views[] | select(.origin == $o) | .witnessed' "$DIR/nato-status.json" >"$DIR/held.note"
jq -r --arg o "$ORIGIN" '.witness.split_views[] | select(.origin == $o) | .offered' "$DIR/nato-status.json" >"$DIR/offered.json"
check "evidence: the head it held is us-eucom's checkpoint note of size 1" bash -c \
  "head -2 '$DIR/held.note' | tr '\n' ' ' | grep -qx '$ORIGIN 1 ' && grep -q '^— $ORIGIN ' '$DIR/held.note'"
# The receipt's payload carries us-eucom's signed head: size 1, another root than the note's.
jq -r '.payload' "$DIR/offered.json" | base64 -d >"$DIR/receipt.payload"
jq -r '.sth' "$DIR/receipt.payload" | base64 -d >"$DIR/sth.payload"
check "evidence: the contradicting head is ru-genstaff's receipt (countersignature)" bash -c \
  "test -s '$DIR/offered.json' && jq -e '.key == \"ru-genstaff\"' '$DIR/offered.json'"
check "evidence: the receipt carries us-eucom's head of size 1, for ru-genstaff" bash -c \
  "test -s '$DIR/sth.payload' && jq -e '.log == \"us-eucom\" and .peer == \"ru-genstaff\" and .size == 1' '$DIR/sth.payload'"
NOTE_ROOT=$(sed -n 3p "$DIR/held.note" | base64 -d | od -An -v -tx1 | tr -d ' \n')
check "evidence: the two heads of size 1 have two roots" bash -c \
  "[[ -n '$NOTE_ROOT' && \$(jq -r .root '$DIR/sth.payload') != '$NOTE_ROOT' ]]"
check "parley status (text) raises the alert" bash -c \
  "'$PARLEY' status --home '$NATO' | grep -q '^ALERT: SPLIT VIEW of $ORIGIN (forwarded-other-root)'"
check "nato-shape logged the split view" grep -q "SPLIT VIEW of $ORIGIN" "$DIR/nato.log"
check "ru-genstaff logged the observer's answer" poll 30 grep -q "observer nato-shape reports a SPLIT VIEW" "$DIR/ru.log"
check "/metrics counts it" bash -c \
  "curl -s -H \"Authorization: Bearer \$(cat '$NATO/operator.token')\" http://127.0.0.1:${API[nato]}/metrics | grep -Eq '^parley_split_views_total 1'"

echo "split_view_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
