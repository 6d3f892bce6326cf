#!/usr/bin/env bash
# Administration against real `parley gateway` processes on loopback (issue 16): list, show
# and remove peers, principals and lines; a line with a message in flight is not removed; a
# removed principal's token and a rotated-out token are refused at once by the running
# gateway; the transcript shown readably (bodies opened with a party's home, else their
# commitments); a language no template knows and missing arguments are usage errors (exit 2).
# Usage: admin_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" admin "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
# us's store is read below with Python's sqlite3 (plain SQLite): kept in plaintext.
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --no-encrypt >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
SACEUR_TOKEN=$("$PARLEY" principal add --home "$US" saceur)
CLERK_TOKEN=$("$PARLEY" principal add --home "$US" clerk)
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us saceur-cgs" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru saceur-cgs" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur
check "line add us clerk-cgs" "$PARLEY" line add --home "$US" clerk-cgs --local clerk --remote ru-genstaff/cgs

# --- usage errors: exit 2, one line ---
"$PARLEY" init --home "$DIR/fr" --party fr-cpco --lang fr >/dev/null 2>"$DIR/err"
rc=$?
check "init --lang fr: exit 2, one line naming the catalog's languages, no home" \
  bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 && ! -e '$DIR/fr' ]] && grep -q 'no catalog template is written in it (the catalog.s languages: en, ru)' '$DIR/err'"
MID=01890000-0000-7000-8000-000000000000
for args in "peer" "peer remove --home $US" "line remove --home $US" "principal show --home $US" "transcript show" \
  "meeting counter --home $US --as saceur $MID" "meeting accept --home $US --as saceur $MID --slot 2026-03-03T09:00:00Z --slot 2026-03-04T09:00:00Z" \
  "meeting decline --home $US --as saceur $MID --slot 2026-03-03T09:00:00Z" "meeting action --home $US --as saceur $MID a1" \
  "meeting show --home $US --as saceur a?b"; do
  # shellcheck disable=SC2086
  "$PARLEY" $args >/dev/null 2>"$DIR/err"
  rc=$?
  check "parley $args: exit 2" test $rc -eq 2
done

# --- us runs alone: a message to ru stays in flight ---
"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "Hold all launches")
check "send answers with an id" bash -c "[[ '$ID' =~ ^[0-9a-f-]{36}\$ ]]"
"$PARLEY" line remove --home "$US" saceur-cgs >/dev/null 2>"$DIR/err"
rc=$?
check "line remove with a message in flight: exit 1, one line naming the message" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'line saceur-cgs has messages in flight (such as $ID, FLASH to the peer' '$DIR/err'"
check "the line is still there" bash -c "'$PARLEY' line list --home '$US' --json | jq -e 'map(.id) == [\"clerk-cgs\", \"saceur-cgs\"]'"
"$PARLEY" peer remove --home "$US" ru-genstaff >/dev/null 2>"$DIR/err"
rc=$?
check "peer remove of a peer with lines: exit 1, naming them" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'peer ru-genstaff still has lines: clerk-cgs, saceur-cgs' '$DIR/err'"
check "peer list --json: the pinned peer, its keys and lines" \
  bash -c "'$PARLEY' peer list --home '$US' --json | jq -e '.[0].party == \"ru-genstaff\" and (.[0].sign_key | length == 64) and .[0].lines == [\"clerk-cgs\", \"saceur-cgs\"] and .[0].federation == [\"127.0.0.1:$RU_FED\"]'"
check "peer show: one peer, one value a line" bash -c "'$PARLEY' peer show --home '$US' ru-genstaff | grep -q '^  TLS fingerprint: [0-9a-f]\{64\}$'"

# --- the running gateway takes removals and rotations at once ---
lines_status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$US_API/api/v1/lines"; }
check "clerk's token works, and clerk has its line" \
  bash -c "curl -sf -H 'Authorization: Bearer $CLERK_TOKEN' http://127.0.0.1:$US_API/api/v1/lines | jq -e '[.lines[].id] == [\"clerk-cgs\"]'"
"$PARLEY" principal remove --home "$US" clerk >/dev/null 2>"$DIR/err"
rc=$?
check "principal remove of a principal on a line: exit 1" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'principal clerk is still on the line(s) clerk-cgs' '$DIR/err'"
check "line remove of a line with nothing in flight, reloaded by the running gateway" \
  bash -c "'$PARLEY' line remove --home '$US' clerk-cgs | grep -q 'the running gateway reloaded it'"
check "the running gateway no longer has the line (clerk's view: no line)" \
  bash -c "curl -s -H 'Authorization: Bearer $CLERK_TOKEN' http://127.0.0.1:$US_API/api/v1/lines | jq -e '.lines == []'"
check "principal remove, reloaded by the running gateway" \
  bash -c "'$PARLEY' principal remove --home '$US' clerk | grep -q 'the running gateway reloaded it'"
check "the removed principal's token is refused at once (401)" test "$(lines_status "$CLERK_TOKEN")" = 401
check "principal show of a removed principal: exit 1" bash -c "! '$PARLEY' principal show --home '$US' clerk 2>/dev/null"
NEW_TOKEN=$("$PARLEY" principal token --home "$US" saceur --rotate 2>/dev/null)
check "principal token --rotate prints one new token" bash -c "[[ '$NEW_TOKEN' =~ ^[A-Za-z0-9_-]{43}\$ && '$NEW_TOKEN' != '$SACEUR_TOKEN' ]]"
check "the old token is refused at once (401)" test "$(lines_status "$SACEUR_TOKEN")" = 401
check "the new token works" test "$(lines_status "$NEW_TOKEN")" = 200
sql() { python3 -c 'import sqlite3, sys; print(" ".join(str(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))' "$US/parley.db" "$1"; }
check "the changes are in the audit trail, in order" \
  bash -c "[[ '$(sql 'SELECT action FROM directory_changes ORDER BY rowid')' == *'line.remove principal.remove principal.token' ]]"

# --- ru comes up: the message is delivered and acknowledged; then the line may go ---
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
state_is() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$ID" --arg s "$1" 'map(select(.id == $id and .state == $s)) | length == 1'; }
check "the message is delivered" poll 20 state_is delivered
"$PARLEY" line remove --home "$US" saceur-cgs >/dev/null 2>"$DIR/err"
rc=$?
check "line remove while the ack is awaited: exit 1" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'awaiting its acknowledgment' '$DIR/err'"
check "cgs acknowledges" "$PARLEY" ack --home "$RU" --as cgs "$ID"
check "the message is acknowledged" poll 20 state_is acknowledged

# --- the transcript, shown readably ---
check "transcript export" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t"
"$PARLEY" transcript show "$DIR/t" >"$DIR/show" 2>"$DIR/err"
rc=$?
check "transcript show without --home: exit 0, each log, the FLASH sealed with its commitment" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^log of us-eucom ([0-9]* entries)$' '$DIR/show' && grep -q '^log of ru-genstaff ([0-9]* entries)$' '$DIR/show' && grep -q '^  #0 [0-9TZ:.-]* us-eucom/saceur -> ru-genstaff/cgs FLASH text (line saceur-cgs, seq 1)$' '$DIR/show' && grep -q '^     sealed (give --home to open); commitment [0-9a-f]\{64\}$' '$DIR/show'"
check "transcript show --home us opens the body" \
  bash -c "'$PARLEY' transcript show '$DIR/t' --home '$US' | grep -q '^     text: Hold all launches$'"
check "transcript show --home ru (the other party) opens it too" \
  bash -c "'$PARLEY' transcript show '$DIR/t' --home '$RU' | grep -q '^     text: Hold all launches$'"
check "transcript show --json: index, sender, precedence, the ack in ru's log" \
  bash -c "'$PARLEY' transcript show '$DIR/t' --home '$US' --json | jq -e '(.[0] | .log == \"us-eucom\" and .index == 0 and .id == \"$ID\" and .precedence == \"FLASH\" and .opened and .text == \"Hold all launches\") and any(.[]; .log == \"ru-genstaff\" and .type == \"ack\" and .reply_to == \"$ID\")'"
cp -r "$DIR/t" "$DIR/t-bad"
python3 - "$DIR/t-bad/logs/us-eucom.jsonl" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
at = data.index(b'"sig":"') + len(b'"sig":"') + 5
data[at] = ord('A') if data[at] != ord('A') else ord('B')
open(path, 'wb').write(bytes(data))
PY
"$PARLEY" transcript show "$DIR/t-bad" >"$DIR/show" 2>"$DIR/err"
rc=$?
check "transcript show of an entry whose signature fails: exit 3, the entry marked INVALID" \
  bash -c "[[ $rc -eq 3 ]] && grep -q '^  #0 INVALID: ' '$DIR/show' && grep -q 'parley verify' '$DIR/err'"
"$PARLEY" transcript show "$DIR/none" >/dev/null 2>"$DIR/err"
rc=$?
check "transcript show of a missing directory: exit 1" test $rc -eq 1

check "line remove once nothing is in flight" \
  bash -c "'$PARLEY' line remove --home '$US' saceur-cgs | grep -q 'removed line saceur-cgs'"
check "the message stays in the store" test "$(sql "SELECT count(*) FROM messages WHERE id = '$ID'")" = 1
check "peer remove once no line names it" \
  bash -c "'$PARLEY' peer remove --home '$US' ru-genstaff | grep -q 'takes effect at the next gateway start'"
check "peer list is empty" bash -c "'$PARLEY' peer list --home '$US' --json | jq -e '. == []'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
