#!/usr/bin/env bash
# Our key rotation against real `parley gateway` processes on loopback (issue 17; docs/operations.md
# "Key rotation"): two gateways exchange messages; `parley rotate` is refused while us runs
# ("stop the gateway first"); us stopped, rotated and started again sends its statement, which ru
# stores and pins (peer_key_rotated); messages go both ways after it, FLASH included; both
# parties' exported transcripts verify with `parley verify`, which follows us's chain of keys
# from the bundle ru pinned; once ru countersigned the statement, us's federation server
# presents the new certificate, and `parley check` probes ru with the key it pinned; us restored from
# a backup taken after the rotation and both restarted, messages still flow with no fork alarm; a
# third party pinned after the rotation follows the chain from us's bundle.
# Usage: rotate_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" rotate "$@"

us_ru_pair

send() {  # send HOME PRINCIPAL [options...]: prints the id
  local home=$1 as=$2
  shift 2
  "$PARLEY" send --home "$home" --as "$as" --line saceur-cgs "$@"
}
no_alarm() {
  "$PARLEY" status --home "$1" --json |
    jq -e '.peers[0].forked == false and .peers[0].recovering == null and (.peers[0].paths | all(.forked == false))'
}
served_fp() {  # the certificate us's federation server presents (the handshake fails after it:
  # no client certificate, which is fine: the server's comes first)
  openssl s_client -connect 127.0.0.1:"$US_FED" </dev/null 2>/dev/null |
    openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
file_fp() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

start_gateway us
start_gateway ru
BEFORE=$(send "$US" saceur --text "Before the rotation")
REPLY=$(send "$RU" cgs --text "Received")
check "us's message before the rotation is delivered" poll 30 delivered "$US" saceur "$BEFORE"
check "ru's message before the rotation is delivered" poll 30 delivered "$RU" cgs "$REPLY"
check "us presents the certificate of its bundle" test "$(served_fp)" = "$(file_fp "$US/tls/cert.pem")"

# --- refused while the gateway runs: one line, exit 1, nothing written ---
"$PARLEY" rotate --home "$US" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "rotate while us runs: exit 1, one line saying to stop the gateway first" \
  bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q '^parley: stop the gateway first' '$DIR/err'"
check "nothing was written" test ! -e "$US/keys/rotations/1.dsse"

# --- rotated with us stopped, one message of us's in flight (ru down): the statement follows
# it in us's log, and the head that first includes the statement proves it ---
stop_gateway ru
INFLIGHT=$(send "$US" saceur --text "In flight across the rotation")
check "us's message is in its log but not delivered (ru is down: queued)" \
  test "$(out_state "$US" saceur "$INFLIGHT")" = queued
stop_gateway us
"$PARLEY" rotate --home "$US" >"$DIR/rotate.out" 2>"$DIR/err"
rc=$?
check "rotate: exit 0, it says what it did and what to do" \
  bash -c "[[ $rc -eq 0 ]] && grep -q 'rotation 1): new key .*, new TLS certificate [0-9a-f]\{64\}, seal epoch 2' '$DIR/rotate.out' && grep -q '^start the gateway: it sends the statement to every peer$' '$DIR/rotate.out'"
NEW_FP=$(sed -n 's/.*new TLS certificate \([0-9a-f]\{64\}\),.*/\1/p' "$DIR/rotate.out")
check "the new certificate is tls/cert.1.pem" test "$(file_fp "$US/tls/cert.1.pem")" = "$NEW_FP"
"$PARLEY" bundle --home "$US" >"$DIR/us-after.json"
check "the bundle still publishes the first key and certificate" cmp -s "$DIR/us.json" "$DIR/us-after.json"

start_gateway us
start_gateway ru
rotated() { grep -q "peer_key_rotated: peer 'us-eucom' rotated its signing key (rotation 1" "$DIR/ru.log"; }
check "ru stored and pinned us's rotation (peer_key_rotated)" poll 30 rotated
AFTER=$(send "$US" saceur --text "After the rotation")
FLASH=$(send "$US" saceur --precedence FLASH --text "Flash after the rotation")
ANSWER=$(send "$RU" cgs --text "Understood")
check "us's message after the rotation is delivered" poll 30 delivered "$US" saceur "$AFTER"
check "us's FLASH after the rotation is delivered" poll 30 delivered "$US" saceur "$FLASH"
check "ru's message after the rotation is delivered" poll 30 delivered "$RU" cgs "$ANSWER"
check "ru reads us's messages after the rotation (sealed under epoch 2)" \
  bash -c "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e --arg a '$AFTER' --arg f '$FLASH' '[.[] | select(.id == \$a or .id == \$f) | .text] | sort == [\"After the rotation\", \"Flash after the rotation\"]'"
new_cert() { test "$(served_fp)" = "$NEW_FP"; }
check "once ru countersigned the statement, us presents its new certificate" poll 30 new_cert
check "us: no fork alarm" no_alarm "$US"
# The evidence of a message names the keys that signed it, along both chains: us's key in
# force at the entry (the bundle's before the rotation, the new one after), as us and ru show it.
FIRST_KEY=$(jq -r .sign_key "$DIR/us.json")
NEW_KEY=$(python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' \
  "$("$PARLEY" peer show --home "$RU" us-eucom --json | jq -r .key_in_force.sign_key)")
evidence_key() {  # evidence_key HOME API PRINCIPAL ID: the key the evidence names for us-eucom
  curl -sf -H "Authorization: Bearer $(cat "$1/operator.token")" -H "X-Parley-As: $3" \
    "http://127.0.0.1:$2/api/v1/messages/$4/evidence" | jq -r '.keys["us-eucom"]'
}
check "ru pinned a new key for us" test -n "$NEW_KEY" -a "$NEW_KEY" != "$FIRST_KEY"
check "us's evidence of its message before the rotation names its bundle key" \
  test "$(evidence_key "$US" "$US_API" saceur "$BEFORE")" = "$FIRST_KEY"
check "us's evidence of its message after the rotation names its new key" \
  test "$(evidence_key "$US" "$US_API" saceur "$AFTER")" = "$NEW_KEY"
check "ru's evidence of that message names us's new key too" \
  test "$(evidence_key "$RU" "$RU_API" cgs "$AFTER")" = "$NEW_KEY"
check "us's message in flight across the rotation is delivered" poll 30 delivered "$US" saceur "$INFLIGHT"
# The head that proves a message is signed by the key of its last entry: the message in flight
# was signed by the bundle key and is proven by the head that first includes the statement,
# still the bundle key's (the new key is in force after it); the message after it by the new
# key, on both sides.
head_key() {  # head_key HOME API PRINCIPAL ID: the key the evidence names for its proven head
  curl -sf -H "Authorization: Bearer $(cat "$1/operator.token")" -H "X-Parley-As: $3" \
    "http://127.0.0.1:$2/api/v1/messages/$4/evidence" | jq -r '.head_key'
}
check "the head proving us's message before the rotation: its bundle key (head_key)" \
  test "$(head_key "$US" "$US_API" saceur "$BEFORE")" = "$FIRST_KEY"
check "the message in flight: entry and head signed by the bundle key, on both sides" \
  bash -c "[[ '$(evidence_key "$US" "$US_API" saceur "$INFLIGHT")' == '$FIRST_KEY' && '$(head_key "$US" "$US_API" saceur "$INFLIGHT")' == '$FIRST_KEY' && '$(head_key "$RU" "$RU_API" cgs "$INFLIGHT")' == '$FIRST_KEY' ]]"
check "the head proving us's message after the rotation: its new key, on both sides" \
  bash -c "[[ '$(head_key "$US" "$US_API" saceur "$AFTER")' == '$NEW_KEY' && '$(head_key "$RU" "$RU_API" cgs "$AFTER")' == '$NEW_KEY' ]]"
check "ru: no fork alarm" no_alarm "$RU"
# parley check probes ru as the gateway does: with the key and certificate ru pinned.
"$PARLEY" check --home "$US" >"$DIR/check.out" 2>&1
rc=$?
check "parley check of us after the rotation: exit 0, ru's path answers" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '^ok    peer ru-genstaff path ' '$DIR/check.out'"

# --- both transcripts verify, following us's chain from the bundle ru pinned ---
check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "us's export holds its rotation entry" bash -c "grep -q '\"rotation\":' '$DIR/t-us/logs/us-eucom.jsonl'"
check "ru's export holds us's rotation entry" bash -c "grep -q '\"rotation\":' '$DIR/t-ru/logs/us-eucom.jsonl'"
check "parley verify of us's export, pinned to both bundles: exit 0" \
  "$PARLEY" verify "$DIR/t-us" --pin "$DIR/us.json" --pin "$DIR/ru.json"
check "parley verify of ru's export, pinned to both bundles: exit 0" \
  "$PARLEY" verify "$DIR/t-ru" --pin "$DIR/us.json" --pin "$DIR/ru.json"

# --- both restart (us from a backup taken after the rotation): nothing new fails, no alarm ---
check "backup of us after the rotation" "$PARLEY" backup --home "$US" "$DIR/us.backup"
stop_gateway us
stop_gateway ru
"$PARLEY" restore --home "$US" "$DIR/us.backup" >"$DIR/restore.out" 2>&1
rc=$?
check "restore of it: exit 0 (its heads open with the keys of our chain)" test $rc -eq 0
start_gateway us
start_gateway ru
LAST=$(send "$US" saceur --text "After both restarted")
LAST_REPLY=$(send "$RU" cgs --text "Still here")
check "us's message after both restarted is delivered" poll 30 delivered "$US" saceur "$LAST"
check "ru's message after both restarted is delivered" poll 30 delivered "$RU" cgs "$LAST_REPLY"
check "us: no fork alarm after the restart" no_alarm "$US"
check "ru: no fork alarm after the restart" no_alarm "$RU"
check "us still presents its new certificate" new_cert
check "ru logged us's rotation once" test "$(grep -c 'peer_key_rotated: peer' "$DIR/ru.log")" -eq 1

# --- a third party pinned after the rotation: it pins the bundle (the first key), gets the
# statement as the first entry of us's log for it; us presents its first certificate again
# until the newcomer countersigned the statement, then the new one ---
CN=$DIR/cn CN_FED=$(free_port) CN_API=$(free_port)
"$PARLEY" init --home "$CN" --party cn-cmc --federation 127.0.0.1:"$CN_FED" --api 127.0.0.1:"$CN_API" >/dev/null || bad "init cn"
"$PARLEY" bundle --home "$CN" >"$DIR/cn.json"
check "peer add cn while us runs" "$PARLEY" peer add --home "$US" "$DIR/cn.json"
check "cn pins us's bundle" "$PARLEY" peer add --home "$CN" "$DIR/us-after.json"
"$PARLEY" principal add --home "$CN" chief >/dev/null
check "line add us-cn" "$PARLEY" line add --home "$US" saceur-chief --local saceur --remote cn-cmc/chief
check "line add cn-us" "$PARLEY" line add --home "$CN" saceur-chief --local chief --remote us-eucom/saceur
old_cert() { test "$(served_fp)" = "$(file_fp "$US/tls/cert.pem")"; }
check "us presents its first certificate again: cn has not countersigned the rotation" poll 30 old_cert
"$PARLEY" gateway --home "$CN" 2>>"$DIR/cn.log" &
PIDS+=($!)
check "cn gateway ready" poll 20 curl -sf "http://127.0.0.1:$CN_API/readyz"
TO_CN=$("$PARLEY" send --home "$US" --as saceur --line saceur-chief --text "Hello after the rotation")
check "us's message to cn is delivered" poll 30 delivered "$US" saceur "$TO_CN"
cn_rotated() { grep -q "peer_key_rotated: peer 'us-eucom' rotated its signing key (rotation 1, entry 0)" "$DIR/cn.log"; }
check "cn pinned us's rotation from the first entry of us's log for it" cn_rotated
check "every peer countersigned it: us presents its new certificate again" poll 30 new_cert

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
