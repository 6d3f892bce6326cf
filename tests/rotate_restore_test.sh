#!/usr/bin/env bash
# A gateway restored from a backup older than its peer's key rotation recovers by itself (issue
# 17; docs/protocol.md "Federation transport", docs/operations.md "Key rotation"): us and ru
# exchange messages; us is backed up; ru stopped, rotated and started, and once us countersigned
# the statement ru's federation server presents its new certificate by default, and any of
# its certificates to a client naming it in its SNI; us stopped and restored
# from the backup (which knows only ru's bundle certificate) and started: its client names that
# certificate in its SNI, ru presents it, us takes back ru's log and the rotation in it (pinned
# again), the session is up with no fork alarm and messages go both ways.
# Usage: rotate_restore_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" rotate-restore "$@"

us_ru_pair

send_both() {  # send_both TEXT: one message each way, both delivered
  local a b
  a=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "us: $1")
  b=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --text "ru: $1")
  check "us -> ru delivered ($1)" poll 20 delivered "$US" saceur "$a"
  check "ru -> us delivered ($1)" poll 20 delivered "$RU" cgs "$b"
}
served_fp() {  # [SERVER_NAME]: the certificate ru's federation server presents to a client
  # naming SERVER_NAME in its SNI, or none (the handshake fails after it: no client certificate;
  # the server's comes first)
  local sni=(-noservername)
  [[ $# -gt 0 ]] && sni=(-servername "$1")
  openssl s_client -connect 127.0.0.1:"$RU_FED" "${sni[@]}" </dev/null 2>/dev/null |
    openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
sni_of() { echo "${1:0:32}.${1:32:32}.cert.parley.invalid"; }  # docs/protocol.md
file_fp() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
up_and_no_alarm() {  # the session with ru is up (a path up), not recovering, no fork alarm
  "$PARLEY" status --home "$US" --json |
    jq -e '.peers[0].forked == false and .peers[0].recovering == null and (.peers[0].paths | all(.forked == false) and any(.state == "up"))'
}

start_gateway us
start_gateway ru
send_both "before the backup"
check "backup of us" "$PARLEY" backup --home "$US" "$DIR/us.backup"
send_both "after the backup"

# --- ru rotates; once us countersigned the statement, ru presents its new certificate ---
stop_gateway ru
check "rotate ru" "$PARLEY" rotate --home "$RU"
RU_NEW=$(file_fp "$RU/tls/cert.1.pem")
start_gateway ru
send_both "after ru's rotation"
new_cert() { test "$(served_fp)" = "$RU_NEW"; }
check "ru presents its new certificate (us countersigned the rotation)" poll 20 new_cert
RU_OLD=$(file_fp "$RU/tls/cert.pem")
check "ru presents its bundle's certificate to a client naming it in its SNI" \
  test "$(served_fp "$(sni_of "$RU_OLD")")" = "$RU_OLD"
check "ru presents its new certificate to a client naming it in its SNI" \
  test "$(served_fp "$(sni_of "$RU_NEW")")" = "$RU_NEW"
check "ru presents its new certificate to a client naming another host" \
  test "$(served_fp ru.example)" = "$RU_NEW"

# --- us restored from the backup older than ru's rotation: it knows ru's bundle certificate only
stop_gateway us
"$PARLEY" restore --home "$US" "$DIR/us.backup" >"$DIR/restore.out" 2>&1
rc=$?
check "restore of the old backup: exit 0, no --force needed (ru holds what it lacks)" test $rc -eq 0
start_gateway us
check "us recovers: the session with ru up, not recovering, no fork alarm" poll 20 up_and_no_alarm
taken_back() { grep -q "peer_key_rotated: peer 'ru-genstaff' rotated its signing key (rotation 1.*taken back from its copy of its log at start" "$DIR/us.log"; }
check "us pinned ru's rotation again, taken back from ru's copy of its log" taken_back
check "us's restore marker is gone once recovered" test ! -e "$US/parley.db.restored"
send_both "after the restore"
check "ru still presents its new certificate to others" new_cert
no_alarm_ru() { "$PARLEY" status --home "$RU" --json | jq -e '.peers[0].forked == false and .peers[0].recovering == null'; }
check "ru: no fork alarm" no_alarm_ru

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
