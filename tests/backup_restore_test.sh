#!/usr/bin/env bash
# Backup and restore against real `parley gateway` processes on loopback (issue 17): us and ru
# exchange messages; us is backed up while it runs (SQLite's online backup: the copy is a
# parley store that verifies, and a second backup to the same file is refused); more messages
# go both ways; `parley restore` is refused while us runs; us stopped, the backup (which lacks
# only what ru holds) is restored without --force, saying what us recovers from ru at its next
# start, and the replaced store is kept beside. After the restart us takes back both logs from
# ru: messages go both ways again, both transcripts export and verify, and neither side shows
# an alarm. Then a backup that lacks a message ru never countersigned is refused without
# --force, naming it; with --force it is restored with a warning.
# Usage: backup_restore_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" backup "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

start() {  # start HOME API_PORT LOG: a gateway, its pid in $STARTED
  "$PARLEY" gateway --home "$1" 2>>"$3" &
  STARTED=$!
  PIDS+=("$STARTED")
  check "gateway $1 ready" poll 20 curl -sf "http://127.0.0.1:$2/readyz"
}
start "$US" "$US_API" "$DIR/us.log"; US_PID=$STARTED
start "$RU" "$RU_API" "$DIR/ru.log"; RU_PID=$STARTED

out_state() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -r --arg id "$3" '.[] | select(.id == $id) | .state'; }
delivered() { [[ "$(out_state "$@")" == delivered ]]; }
send_both() {  # send_both TEXT: one message each way, both delivered
  local a b
  a=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "us: $1")
  b=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --text "ru: $1")
  check "us -> ru delivered ($1)" poll 20 delivered "$US" saceur "$a"
  check "ru -> us delivered ($1)" poll 20 delivered "$RU" cgs "$b"
  SENT_US+=("$a") SENT_RU+=("$b")
}
SENT_US=() SENT_RU=()
send_both one
send_both two

# --- backup while us runs ---
BACKUP=$DIR/us-backup.db
"$PARLEY" backup --home "$US" "$BACKUP" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "backup while the gateway runs: exit 0, it says what it wrote" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^backed up .*parley.db to .*us-backup.db ([0-9]* bytes, schema version [0-9]*)$' '$DIR/out'"
check "the backup is mode 0600" test "$(stat -c %a "$BACKUP")" = 600
check "the backup is one file: no -wal beside it" test ! -e "$BACKUP-wal"
"$PARLEY" backup --home "$US" "$BACKUP" >/dev/null 2>"$DIR/err"
rc=$?
check "a second backup to the same file: exit 1, one line, never overwritten" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'never overwrites' '$DIR/err'"
# (parley backup runs SQLite's integrity check on the copy before naming it; the restore
# below opens it with the home's key.)
check "the backup is encrypted as the store is: no plaintext SQLite header" \
  bash -c "[[ -s '$BACKUP' ]] && ! cmp -s -n 15 <(printf 'SQLite format 3') '$BACKUP'"

send_both three
send_both four

# --- restore: refused while us runs ---
"$PARLEY" restore --home "$US" "$BACKUP" >/dev/null 2>"$DIR/err"
rc=$?
check "restore while the gateway runs: exit 1, one line saying to stop it" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'stop the gateway first' '$DIR/err'"
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
"$PARLEY" restore --home "$US" "$DIR/missing.db" >/dev/null 2>"$DIR/err"
check "restore of a missing file: exit 1" test $? -eq 1
echo "not a database" >"$DIR/junk.db"
"$PARLEY" restore --home "$US" --force "$DIR/junk.db" >/dev/null 2>"$DIR/err"
rc=$?
check "restore of a file that is not a store, even with --force: exit 1, nothing replaced" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'does not open .*junk.db: not a parley store, or one encrypted with another store key' '$DIR/err' && ! ls '$US' | grep -q replaced"
# A home on PostgreSQL: both commands refuse and name PostgreSQL's tools (no server needed).
PG=$DIR/pg
"$PARLEY" init --home "$PG" --party nato-shape --federation 127.0.0.1:"$(free_port)" --api 127.0.0.1:"$(free_port)" >/dev/null
sed -i -e 's|^path = "parley.db"|url = "postgresql://parley@127.0.0.1:1/parley"|' \
  -e '/^encrypt = /d' -e '/^key_file = /d' "$PG/parley.toml"
"$PARLEY" backup --home "$PG" "$DIR/pg.db" >/dev/null 2>"$DIR/err"
rc=$?
check "backup of a PostgreSQL store: exit 1, it names pg_dump" \
  bash -c "[[ $rc -eq 1 && ! -e '$DIR/pg.db' ]] && grep -q 'back it up with PostgreSQL.s tools (pg_dump' '$DIR/err'"
"$PARLEY" restore --home "$PG" "$BACKUP" >/dev/null 2>"$DIR/err"
rc=$?
check "restore of a PostgreSQL store: exit 1, it names pg_restore" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'pg_restore' '$DIR/err'"
# Another home of the same party id with its own store key (not running): the backup does
# not open with it, --force or not, and its store is left alone.
OTHER=$DIR/other
"$PARLEY" init --home "$OTHER" --party us-eucom --federation 127.0.0.1:"$(free_port)" --api 127.0.0.1:"$(free_port)" >/dev/null
"$PARLEY" restore --home "$OTHER" --force "$BACKUP" >/dev/null 2>"$DIR/err"
rc=$?
check "a backup restored into a home with another store key: exit 1, says so, nothing replaced" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'encrypted with another store key' '$DIR/err' && ! ls '$OTHER' | grep -q replaced"
# One that shares us's store key but has other signing keys: the backup opens, but its heads
# are not signed by this home's key, so it is refused, --force or not.
SAME=$DIR/same-key
"$PARLEY" init --home "$SAME" --party us-eucom --store-key "$US.store-key" --federation 127.0.0.1:"$(free_port)" --api 127.0.0.1:"$(free_port)" >/dev/null
"$PARLEY" restore --home "$SAME" --force "$BACKUP" >/dev/null 2>"$DIR/err"
rc=$?
check "a backup restored into a home with other signing keys: exit 1, not this party's store, nothing replaced" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'does not open with this home.s key' '$DIR/err' && ! ls '$SAME' | grep -q replaced"
"$PARLEY" restore --home "$US" "$BACKUP" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "restore of a backup that lacks only what ru holds: no --force needed, it says what us recovers" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^at its next start the gateway recovers from ru-genstaff: entries [0-9]*\.\.[0-9]* of our log' '$DIR/out' && grep -q \"entries [0-9]*\.\.[0-9]* of ru-genstaff's log\" '$DIR/out' && ls '$US' | grep -q '^parley.db.replaced-' && ! grep -q WARNING '$DIR/out'"
check "restore leaves its marker: the next start recovers before it signs anything" test -e "$US/parley.db.restored"

# --- after the restore: us takes back both logs from ru, and the link works both ways ---
start "$US" "$US_API" "$DIR/us.log"; US_PID=$STARTED
recovered() { "$PARLEY" status --home "$1" --json | jq -e '.peers[0].forked == false and .peers[0].recovering == null and .peers[0].log_size >= 4 and .peers[0].peer_log_size >= 4'; }
check "us: recovered both logs from ru (log sizes back, not forked, not recovering)" poll 30 recovered "$US"
check "us: it said so" poll 10 grep -q "recovered our logs with 'ru-genstaff' from its copy" "$DIR/us.log"
check "us: the restore's marker is gone once recovered" poll 10 test ! -e "$US/parley.db.restored"
# "three" and "four", sent after the backup: us's own are back as delivered, ru's as received.
for i in 2 3; do
  check "us: its message ${SENT_US[$i]} sent after the backup is back, delivered" delivered "$US" saceur "${SENT_US[$i]}"
  check "us: ru's message ${SENT_RU[$i]} received after the backup is back" \
    bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e --arg id '${SENT_RU[$i]}' 'any(.[]; .id == \$id)'"
done
send_both five
send_both six
no_alarm() { "$PARLEY" status --home "$1" --json | jq -e '.peers[0].forked == false and .peers[0].recovering == null and (.peers[0].paths | all(.forked == false))'; }
check "us: status --json: no alarm" no_alarm "$US"
check "ru: status --json: no alarm" no_alarm "$RU"
check "us: status text: no ALARM, no RECOVERING" \
  bash -c "'$PARLEY' status --home '$US' >'$DIR/status' && ! grep -q 'ALARM\|RECOVERING\|FORKED' '$DIR/status'"
check "us: /metrics parley_peer_forked 0" \
  bash -c "curl -sf -H \"Authorization: Bearer \$(cat '$US/operator.token')\" http://127.0.0.1:$US_API/metrics | grep -q '^parley_peer_forked{peer=\"ru-genstaff\"} 0$'"
check "us: transcript export" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/us-transcript"
check "ru: transcript export" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/ru-transcript"
check "us: the transcript verifies" "$PARLEY" verify "$DIR/us-transcript"
check "ru: the transcript verifies" "$PARLEY" verify "$DIR/ru-transcript"
check "both transcripts hold us's log alike" \
  cmp -s "$DIR/us-transcript/logs/us-eucom.jsonl" "$DIR/ru-transcript/logs/us-eucom.jsonl"

# --- a backup that lacks what nobody else holds: refused without --force, naming it ---
BACKUP2=$DIR/us-backup2.db
check "second backup" "$PARLEY" backup --home "$US" "$BACKUP2"
kill -TERM "$RU_PID"
wait "$RU_PID" 2>/dev/null
queued=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "never reaches ru")
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
"$PARLEY" restore --home "$US" "$BACKUP2" >/dev/null 2>"$DIR/err"
rc=$?
check "restore of a backup that lacks a message ru never countersigned: exit 1, one line naming it" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'message $queued (ROUTINE text on line saceur-cgs, queued) was accepted after the backup and ru-genstaff never countersigned it' '$DIR/err' && grep -q -- '--force' '$DIR/err'"
check "nothing more was replaced" test "$(ls "$US" | grep -c replaced)" -eq 1
"$PARLEY" restore --home "$US" --force "$BACKUP2" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "restore --force: exit 0, a warning naming the lost message, the replaced store kept" \
  bash -c "[[ $rc -eq 0 ]] && grep -q \"^WARNING: ru-genstaff: message $queued\" '$DIR/out' && test \"\$(ls '$US' | grep -c replaced)\" -eq 2"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
