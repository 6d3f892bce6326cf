#!/usr/bin/env bash
# `parley check` against a real peer gateway with two federation paths:
# - a fresh home with no peer passes (a warning: no peer pinned);
# - a home that pins a running peer passes: both paths answer a pinned heartbeat, the clock
#   is checked, and --json says ok;
# - a world-readable key fails with a line naming the file and the fix, and exit 1;
# - a pinned path nobody listens on fails with a line naming it, and exit 1.
# Usage: check_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" check "$@"

US=$DIR/us RU=$DIR/ru LONE=$DIR/lone
RU_FED1=$(free_port) RU_FED2=$(free_port) RU_API=$(free_port) DEAD=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$(free_port)" --api 127.0.0.1:"$(free_port)" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED1" --federation 127.0.0.1:"$RU_FED2" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" init --home "$LONE" --party nato-shape --federation 127.0.0.1:"$(free_port)" --api 127.0.0.1:"$(free_port)" >/dev/null || { bad "init lone"; exit 1; }

# check_out NAME HOME [ARGS...]: runs parley check, exit code in $DIR/NAME.rc, stdout in
# $DIR/NAME.out, stderr in $DIR/NAME.err.
check_out() {
  local name=$1 home=$2; shift 2
  "$PARLEY" check --home "$home" --timeout 3s "$@" >"$DIR/$name.out" 2>"$DIR/$name.err"
  echo $? >"$DIR/$name.rc"
}
rc() { cat "$DIR/$1.rc"; }
has_line() { grep -Eq "$2" "$DIR/$1.out"; }

# --- a fresh home, no peer ---
check_out lone "$LONE"
check "fresh home: exit 0" test "$(rc lone)" = 0
check "fresh home: no FAIL line" bash -c "! grep -q '^FAIL' '$DIR/lone.out'"
check "fresh home: warns that no peer is pinned" has_line lone '^warn +peers +no peer pinned'
check "fresh home: the key's mode is checked" has_line lone '^ok +mode keys/sign.key +0600$'

# --- pinned both ways, the peer running ---
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"
"$PARLEY" bundle --home "$US" >"$DIR/us.json"
check "peer add us<-ru" "$PARLEY" peer add --home "$US" "$DIR/ru.json"
check "peer add ru<-us" "$PARLEY" peer add --home "$RU" "$DIR/us.json"
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "ru gateway ready" poll 30 curl -sf "http://127.0.0.1:$RU_API/readyz"

check_out up "$US"
check "running peer: exit 0" test "$(rc up)" = 0
check "running peer: the bundle is sane" has_line up '^ok +peer ru-genstaff bundle '
check "running peer: the primary path answers" has_line up "^ok +peer ru-genstaff path 127.0.0.1:$RU_FED1 +pinned TLS 1.3 handshake and heartbeat"
check "running peer: the backup path answers" has_line up "^ok +peer ru-genstaff path 127.0.0.1:$RU_FED2 +pinned TLS 1.3"
check "running peer: the clock is checked" has_line up '^ok +peer ru-genstaff clock +ru-genstaff is [0-9]+ ms'
check_out json "$US" --json
check "--json: ok and every check listed" jq -e '.ok == true and (.checks | length) > 10 and all(.checks[]; .status != "fail")' "$DIR/json.out"

# --- a world-readable key ---
chmod 644 "$US/keys/sign.key"
check_out key "$US"
check "readable key: exit 1" test "$(rc key)" = 1
check "readable key: a FAIL line naming the file and the fix" has_line key "^FAIL +mode keys/sign.key +0644: readable by others \(chmod 600 $US/keys/sign.key\)"
check "readable key: one line on stderr" grep -Eq '^parley: check: [0-9]+ of [0-9]+ checks failed$' "$DIR/key.err"
check_out key_json "$US" --json
check "readable key: --json says not ok" jq -e '.ok == false and any(.checks[]; .check == "mode keys/sign.key" and .status == "fail")' "$DIR/key_json.out"
chmod 600 "$US/keys/sign.key"

# --- a pinned path that nobody answers (the peer's bundle as pinned, a dead backup) ---
jq --arg dead "127.0.0.1:$DEAD" '.federation = [.federation[0], $dead]' "$DIR/ru.json" >"$DIR/ru-dead.json"
check "peer add --replace with a dead backup" "$PARLEY" peer add --home "$US" --replace "$DIR/ru-dead.json"
check_out dead "$US"
check "dead path: exit 1" test "$(rc dead)" = 1
check "dead path: a FAIL line naming it" has_line dead "^FAIL +peer ru-genstaff path 127.0.0.1:$DEAD +unreachable: "
check "dead path: the live path still answers" has_line dead "^ok +peer ru-genstaff path 127.0.0.1:$RU_FED1 "
check "dead path: nothing else fails" test "$(grep -c '^FAIL' "$DIR/dead.out")" = 1

echo "check: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
