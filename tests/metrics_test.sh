#!/usr/bin/env bash
# /metrics read by Prometheus's own text-format parser (python3-prometheus-client,
# tests/metrics_check.py), on two real `parley gateway` processes on loopback: every series
# has HELP and TYPE; one FLASH and two ROUTINE messages delivered land in the delivery-latency
# histogram of their precedence; with ru-genstaff down, a queued message gives its peer a
# queue age above 0 (and 0 again once delivered); every family is in docs/openapi.yaml's
# table; a malformed transaction sent with
# ru-genstaff's own certificate is counted as a refused frame with reason "malformed"; the
# counters of ru-genstaff's transactions that waited for a batch being stored are exported.
# Usage: metrics_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" metrics "$@"
CHECK="/usr/bin/python3 $(dirname "$0")/metrics_check.py"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

start_ru() {
  "$PARLEY" gateway --home "$RU" 2>>"$DIR/ru.log" &
  RU_PID=$!
  PIDS+=("$RU_PID")
  check "ru gateway ready ($1)" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
}
"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
start_ru "first start"

metrics() { curl -sf -H "Authorization: Bearer $(cat "$US/operator.token")" "http://127.0.0.1:$US_API/metrics" >"$DIR/metrics"; }
# metrics_ok CHECK...: the checks of metrics_check.py on a fresh scrape of us-eucom.
# Its complaints go to stderr, which `check` shows.
metrics_ok() { metrics && $CHECK "$DIR/metrics" "$@" >&2; }
send() { "$PARLEY" send --home "$US" --as saceur --line saceur-cgs "$@"; }
delivered() { "$PARLEY" outbox --home "$US" --as saceur --json | jq -e --arg id "$1" 'map(select(.id == $id and .state == "delivered")) | length == 1'; }

OPENAPI=$(cd "$(dirname "$0")/.." && pwd)/docs/openapi.yaml
check "every series has HELP and TYPE, the parser reads it all, nothing delivered yet" \
  metrics_ok help delivered:FLASH=0 delivered:ROUTINE=0 queue_age=0
check "every family is documented in docs/openapi.yaml" metrics_ok "documented:$OPENAPI"
F1=$(send --precedence FLASH --text "flash")
R1=$(send --text "routine one")
R2=$(send --text "routine two")
for id in "$F1" "$R1" "$R2"; do check "delivered: $id" poll 20 delivered "$id"; done
check "the delivery histograms count one FLASH and two ROUTINE" \
  metrics_ok help delivered:FLASH=1 delivered:ROUTINE=2 delivered:IMMEDIATE=0 delivered:PRIORITY=0

kill -TERM "$RU_PID"; wait "$RU_PID" 2>/dev/null
Q=$(send --text "queued while ru-genstaff is down")
check "a queued message gives the peer a queue age above 0" poll 10 metrics_ok queue_age\>0
start_ru "again"
check "the queued message is delivered" poll 30 delivered "$Q"
check "the queue age is 0 again" poll 10 metrics_ok queue_age=0 delivered:ROUTINE=3

code=$(curl -sk -o "$DIR/resp" -w '%{http_code}' --cert "$RU/tls/cert.pem" --key "$RU/tls/key.pem" \
  -X POST --data 'this is not a transaction' "https://127.0.0.1:$US_FED/federation/v1/transactions")
check "a malformed transaction is refused 400" test "$code" = 400
check "it is counted with reason malformed, nothing under another reason" \
  metrics_ok help refused:malformed=1 refused:bad_envelope=0 refused:fork=0

# ru-genstaff's transactions that waited for a batch being stored (docs/protocol.md
# "Transaction window"), and those answered 503 for it: a series per peer. Not asserted 0:
# ru-genstaff restarted above, and its automatic acks carried again may wait, rightly.
held_exported() { metrics && grep -Eq '^parley_transactions_held_total\{peer="ru-genstaff"\} [0-9]+$' "$DIR/metrics" &&
  grep -Eq '^parley_transactions_held_refused_total\{peer="ru-genstaff"\} [0-9]+$' "$DIR/metrics"; }
check "the held-transaction counters are exported for the peer" held_exported

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
