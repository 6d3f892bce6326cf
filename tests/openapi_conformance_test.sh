#!/usr/bin/env bash
# The API against its contract: two real `parley gateway` processes on loopback, and
# tests/openapi_check.py exercising every operation of docs/openapi.yaml (a success and the
# main error answers), checking every answer's status, Content-Type and body against the
# document with python3-jsonschema, and probing for endpoints the server answers but the
# document lacks. Debian's /usr/bin/python3 runs it (python3-jsonschema, python3-yaml).
# Usage: openapi_conformance_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" openapi "$@"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
# nato-shape observes the line (disclosure needs an observer): pinned by both, pinning both.
NATO=$DIR/nato NATO_FED=$(free_port) NATO_API=$(free_port)
"$PARLEY" init --home "$NATO" --party nato-shape --federation 127.0.0.1:"$NATO_FED" --api 127.0.0.1:"$NATO_API" >/dev/null || { bad "init nato"; exit 1; }
"$PARLEY" bundle --home "$NATO" >"$DIR/nato.json" || bad "bundle of nato"
check "pins nato-shape" bash -c "'$PARLEY' peer add --home '$US' '$DIR/nato.json' && '$PARLEY' peer add --home '$RU' '$DIR/nato.json' && '$PARLEY' peer add --home '$NATO' '$DIR/us.json' && '$PARLEY' peer add --home '$NATO' '$DIR/ru.json'"
# The checker sends a few dozen requests per principal within seconds: no rate limit here (it
# is documented, 429, on every /api/v1/ operation but the session's).
for home in "$US" "$RU"; do
  sed -i 's/^principal_burst = .*/principal_burst = 100000/' "$home/parley.toml"
  grep -q '^principal_burst = 100000$' "$home/parley.toml" || bad "principal_burst not set in $home/parley.toml"
done
# One transaction in flight to a peer at a time: the cancellation check needs a message that
# waits behind the one in flight (with a window of 4 the next three would each leave at once).
sed -i '/^\[federation\]$/a window = 1' "$US/parley.toml"
grep -q '^window = 1$' "$US/parley.toml" || bad "window not set in $US/parley.toml"
SACEUR=$("$PARLEY" principal add --home "$US" saceur)
WATCH=$("$PARLEY" principal add --home "$US" watch-1 --role watch)
CGS=$("$PARLEY" principal add --home "$RU" cgs)
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs --observer nato-shape
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur --observer nato-shape
# A second line between the same principals: a broadcast goes on both (issue 14).
check "line add us b" "$PARLEY" line add --home "$US" saceur-cgs-b --local saceur --remote ru-genstaff/cgs
check "line add ru b" "$PARLEY" line add --home "$RU" saceur-cgs-b --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$NATO" 2>"$DIR/nato.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "nato gateway ready" poll 20 curl -sf "http://127.0.0.1:$NATO_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

if US_API=127.0.0.1:$US_API RU_API=127.0.0.1:$RU_API US_OP=$(cat "$US/operator.token") \
  RU_OP=$(cat "$RU/operator.token") NATO_API=127.0.0.1:$NATO_API \
  NATO_OP=$(cat "$NATO/operator.token") SACEUR=$SACEUR CGS=$CGS WATCH=$WATCH RU_PID=${PIDS[1]} \
  /usr/bin/python3 "$ROOT/tests/openapi_check.py" "$ROOT/docs/openapi.yaml" \
  "$ROOT/src/parley/gateway" >"$DIR/check.log" 2>&1; then
  ok "every operation of docs/openapi.yaml answers as documented, and nothing undocumented answers ($(grep -c '^ok:' "$DIR/check.log") checks)"
else
  bad "the API and docs/openapi.yaml disagree:"
  grep -v '^ok:' "$DIR/check.log"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
