#!/usr/bin/env bash
# The store at rest (issue 17; docs/operations.md "The store at rest"), on two real `parley
# gateway` processes on loopback homes made by `parley init` (encrypted by default): a message
# sent across is delivered and read back, but its text is in neither store file (nor WAL); a
# wrong key, a key file others may read and no key at all each stop the gateway with one line
# on stderr and a non-zero exit, the store unchanged; the right key starts it again with the
# message; a plaintext home (--no-encrypt) is converted by `parley store encrypt`, refused
# while its gateway runs.
# Usage: store_at_rest_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" store-at-rest "$@"

# One SQLite in the program, and it is SQLCipher (CMakeLists.txt): never libsqlite3 beside it.
check "parley links libsqlcipher" bash -c "ldd '$PARLEY' | grep -q libsqlcipher"
check "and not libsqlite3" bash -c "! ldd '$PARLEY' | grep -q libsqlite3"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
check "init made us's key beside the home, mode 600" bash -c "[[ \$(stat -c %a '$DIR/us.store-key') == 600 ]]"
check "us's config names it" grep -qx "key_file = \"$DIR/us.store-key\"" "$US/parley.toml"
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

start_us() {
  "$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" &
  US_PID=$!
  PIDS+=("$US_PID")
}
start_us
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

MARKER="at-rest-marker-5d0c launch window 0400Z"
ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence FLASH --text "$MARKER")
check "send answers with an id" bash -c "[[ '$ID' =~ ^[0-9a-f-]{36}\$ ]]"
state_is() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$ID" --arg s "$1" 'map(select(.id == $id and .state == $s)) | length == 1'; }
check "the message is delivered" poll 20 state_is delivered
check "ru reads its text" poll 10 bash -c "'$PARLEY' inbox --home '$RU' --as cgs | grep -q 'at-rest-marker-5d0c'"
# Both stores, their WAL included, while the gateways run.
# grep -s -q: a match in either file is found even when there is no WAL file.
not_in_store() { ! grep -a -q -s -e "$2" "$1/parley.db" "$1/parley.db-wal"; }
check "the text is not in us's store files" not_in_store "$US" 'at-rest-marker-5d0c'
check "the text is not in ru's store files" not_in_store "$RU" 'at-rest-marker-5d0c'
check "nor the line's name" not_in_store "$US" 'saceur-cgs'
check "no SQLite plaintext header" not_in_store "$US" 'SQLite format 3'

# Stopped, us is started with bad keys: each refused with one line, the store left as it was.
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
BEFORE=$(sha256sum "$US/parley.db")
cp "$DIR/us.store-key" "$DIR/us.key.good"
refused_with() {  # refused_with WHAT PATTERN: the gateway exits non-zero, one stderr line
  local what=$1 pattern=$2
  if timeout 30 "$PARLEY" gateway --home "$US" 2>"$DIR/err" >/dev/null; then
    bad "$what: the gateway started"
    return
  fi
  if [[ $(wc -l <"$DIR/err") -eq 1 ]] && grep -q -e "$pattern" "$DIR/err"; then
    ok "$what: $(cat "$DIR/err")"
  else
    bad "$what: stderr was: $(cat "$DIR/err")"
  fi
}
printf '%064x\n' 7 >"$DIR/us.store-key"
refused_with "a wrong key" "^parley: opening the store: the store key does not open $US/parley.db\$"
cp "$DIR/us.key.good" "$DIR/us.store-key"
chmod 640 "$DIR/us.store-key"
refused_with "a key file the group may read" "^parley: $US/parley.toml:[0-9]*: .*readable by others"
chmod 600 "$DIR/us.store-key"
cp "$US/parley.toml" "$DIR/us.toml.good"
sed -i '/^key_file = /d' "$US/parley.toml"
refused_with "no key configured" "^parley: $US/parley.toml:[0-9]*: .*store.encrypt = false"
cp "$DIR/us.toml.good" "$US/parley.toml"
check "the refused starts left the store as it was" bash -c "[[ '$(sha256sum "$US/parley.db")' == '$BEFORE' ]]"
start_us
check "us starts again with its key" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "and still has the message" bash -c "'$PARLEY' outbox --home '$US' --as saceur | grep -q 'at-rest-marker-5d0c'"

# A plaintext home converted.
PL=$DIR/pl
"$PARLEY" init --home "$PL" --party pl-plain --no-encrypt >/dev/null || bad "init --no-encrypt"
check "--no-encrypt writes encrypt = false" grep -qx "encrypt = false" "$PL/parley.toml"
check "--no-encrypt makes no key" test ! -e "$DIR/pl.store-key"
"$PARLEY" principal add --home "$PL" plain-marker-77aa --name "Plain Marker" >/dev/null
check "the plaintext store shows the principal" grep -a -q "plain-marker-77aa" "$PL/parley.db"
"$PARLEY" store encrypt --home "$PL" >/dev/null 2>"$DIR/err"
check "store encrypt with encrypt = false is refused" grep -q "store.encrypt is false" "$DIR/err"
sed -i "s|^encrypt = false\$|key_file = \"$DIR/pl.key\"|" "$PL/parley.toml"
check "store encrypt converts it" "$PARLEY" store encrypt --home "$PL"
check "it made the key, mode 600" bash -c "[[ \$(stat -c %a '$DIR/pl.key') == 600 ]]"
check "the principal is no longer readable in the file" bash -c "! grep -a -q plain-marker-77aa '$PL/parley.db'"
check "the converted store opens with the key" bash -c "'$PARLEY' principal list --home '$PL' | grep -q plain-marker-77aa"
"$PARLEY" store encrypt --home "$PL" >/dev/null 2>"$DIR/err"
check "a second store encrypt is refused: already encrypted" grep -q "already encrypted" "$DIR/err"
"$PARLEY" store encrypt --home "$US" >/dev/null 2>"$DIR/err"
check "store encrypt while the gateway runs is refused (the home lock)" grep -q "in use by another parley gateway" "$DIR/err"

echo "passed: $passed, failed: $failed"
[[ $failed -eq 0 ]]
