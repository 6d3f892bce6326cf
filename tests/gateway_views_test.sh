#!/usr/bin/env bash
# One real `parley gateway`: who sees its gateway-wide views, and the lock that keeps a second
# gateway off its home and its store.
# - GET /api/v1/status, /api/v1/peers, /metrics and the peers of /readyz are gateway-wide: the
#   operator token and a principal with the role "watch" see them; any other principal sees in
#   status only its own lines, and gets 403 for /peers and /metrics. The same goes for
#   /api/v1/peers/PARTY/checkpoint, the C2SP checkpoint of our log for the peer.
# - A second gateway on the same home (other ports), or on another home sharing the store,
#   exits non-zero at once with one line naming the pid that holds the lock; the first still
#   serves; once the first has stopped, a gateway starts on the home again.
# Usage: gateway_views_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" views "$@"

US=$DIR/us RU=$DIR/ru OTHER=$DIR/other
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"
check "peer add us<-ru" "$PARLEY" peer add --home "$US" "$DIR/ru.json"
SACEUR=$("$PARLEY" principal add --home "$US" saceur --role commander)
CLERK=$("$PARLEY" principal add --home "$US" clerk --role clerk)
WATCH=$("$PARLEY" principal add --home "$US" watch-officer --role watch)
OPERATOR=$(cat "$US/operator.token")
check "line add" "$PARLEY" line add --home "$US" hotline --local saceur --remote ru-genstaff/cgs

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
US_PID=$!
PIDS+=("$US_PID")
check "us gateway ready" poll 30 curl -sf "http://127.0.0.1:$US_API/readyz"

# get TOKEN PATH: the HTTP status on stdout, the body in $DIR/body (no token if TOKEN is empty).
get() {
  local auth=()
  [[ -n $1 ]] && auth=(-H "Authorization: Bearer $1")
  curl -s -o "$DIR/body" -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$US_API$2"
}
# expect WHAT CODE TOKEN PATH [JQ]: the status is CODE and, if given, the body passes JQ.
expect() {
  local what=$1 code=$2 token=$3 path=$4 filter=${5:-}
  local got
  got=$(get "$token" "$path")
  if [[ $got != "$code" ]]; then
    bad "$what (HTTP $got, expected $code: $(head -c 300 "$DIR/body"))"
  elif [[ -n $filter ]] && ! jq -e "$filter" "$DIR/body" >/dev/null 2>&1; then
    bad "$what (body fails $filter: $(head -c 300 "$DIR/body"))"
  else
    ok "$what"
  fi
}
# Nothing of the peer (its party id, its federation address) in the last body.
no_peer_in_body() { ! grep -q -e 'ru-genstaff' -e ":$RU_FED" "$DIR/body"; }

# --- a principal on no line ---
expect "no line: /api/v1/peers is 403" 403 "$CLERK" /api/v1/peers '.error | test("gateway-wide")'
expect "no line: status shows no line and no gateway-wide field" 200 "$CLERK" /api/v1/status \
  '.scope == "lines" and .lines == [] and (has("peers") or has("queued") or has("overdue") or has("unacknowledged") | not)'
check "no line: nothing of the peer in its status" no_peer_in_body
expect "no line: /metrics is 403" 403 "$CLERK" /metrics
check "no line: parley status prints 'on no line' and nothing of the peer" bash -c \
  "out=\$('$PARLEY' status --api http://127.0.0.1:$US_API --token '$CLERK') && grep -q 'on no line' <<<\"\$out\" && ! grep -q -e ru-genstaff -e ':$RU_FED' <<<\"\$out\""

# --- a principal on a line: its line, not the gateway ---
expect "on a line: status shows only its line" 200 "$SACEUR" /api/v1/status \
  '.scope == "lines" and (.lines | length) == 1 and .lines[0].id == "hotline" and .lines[0].remote == "ru-genstaff/cgs" and (.lines[0].peer_reachable | type) == "boolean" and (has("peers") | not)'
check "on a line: no peer address in its status" bash -c "! grep -q ':$RU_FED' '$DIR/body'"
expect "on a line: /api/v1/peers is 403" 403 "$SACEUR" /api/v1/peers

# --- the operator and the watch role see the gateway ---
for who in operator watch; do
  token=$OPERATOR
  [[ $who == watch ]] && token=$WATCH
  expect "$who: status shows every peer" 200 "$token" /api/v1/status \
    '(has("scope") | not) and .peers[0].party == "ru-genstaff" and has("queued")'
  expect "$who: /api/v1/peers shows the peer's paths" 200 "$token" /api/v1/peers \
    ".peers[0].party == \"ru-genstaff\" and .peers[0].paths[0].address == \"127.0.0.1:$RU_FED\""
  check "$who: /metrics has the peer's gauges" bash -c \
    "[[ \$(curl -s -o '$DIR/metrics' -w '%{http_code}' -H 'Authorization: Bearer $token' http://127.0.0.1:$US_API/metrics) == 200 ]] && grep -q '^parley_queue_depth{peer=\"ru-genstaff\"}' '$DIR/metrics'"
done
check "operator: parley status --home prints the peer" bash -c "'$PARLEY' status --home '$US' | grep -q 'peer ru-genstaff'"

# --- the latest head of our log for a peer as a C2SP checkpoint (gateway-wide) ---
expect "on a line: the checkpoint is 403" 403 "$SACEUR" /api/v1/peers/ru-genstaff/checkpoint
expect "operator: no checkpoint for an unknown peer" 404 "$OPERATOR" /api/v1/peers/nato-shape/checkpoint
# Nothing sent yet: size 0 and SHA-256() as the root, signed under the log's origin.
check "operator: the checkpoint is a signed note of the empty log" bash -c \
  "[[ \$(curl -s -o '$DIR/body' -w '%{http_code}' -H 'Authorization: Bearer $OPERATOR' http://127.0.0.1:$US_API/api/v1/peers/ru-genstaff/checkpoint) == 200 ]] && printf 'parley.example/us-eucom/ru-genstaff\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n' | cmp -s -n 84 - '$DIR/body' && sed -n 5p '$DIR/body' | grep -q '^— parley.example/us-eucom/ru-genstaff [A-Za-z0-9+/]\{91\}=\$'"
check "the bundle carries the note verifier key" bash -c \
  "'$PARLEY' bundle --home '$US' | jq -e '.note_key | startswith(\"parley.example/us-eucom+\")' >/dev/null"

# --- no token: liveness and readiness only ---
expect "no token: /metrics is 401" 401 "" /metrics
expect "no token: /readyz says ready without the peers" 200 "" /readyz '.ready == true and (has("peers") | not)'
check "no token: nothing of the peer in /readyz" no_peer_in_body
expect "operator: /readyz has the peers" 200 "$OPERATOR" /readyz '.peers[0].party == "ru-genstaff"'

# --- one gateway per home ---
# The same home with other ports: without the lock this second gateway would start beside the
# first and report ready.
NEW_FED=$(free_port) NEW_API=$(free_port)
sed -i "s/127.0.0.1:$US_FED/127.0.0.1:$NEW_FED/; s/127.0.0.1:$US_API/127.0.0.1:$NEW_API/" "$US/parley.toml"
check "the config now has other ports" grep -q "127.0.0.1:$NEW_API" "$US/parley.toml"
start=$SECONDS
timeout 20 "$PARLEY" gateway --home "$US" >"$DIR/second.out" 2>"$DIR/second.err"
rc=$?
check "second gateway on the home: exits 1 (not killed by the timeout)" test "$rc" -eq 1
check "second gateway on the home: within 10 s" test $((SECONDS - start)) -le 10
check "second gateway on the home: one line on stderr naming the holder's pid" bash -c \
  "[[ \$(wc -l <'$DIR/second.err') -eq 1 ]] && grep -q 'in use by another parley gateway (pid $US_PID holds .*gateway.lock)' '$DIR/second.err'"
check "second gateway on the home: nothing listens on its ports" bash -c \
  "! curl -s -o /dev/null http://127.0.0.1:$NEW_API/healthz"
check "the lock file still names the first gateway" bash -c "[[ \$(cat '$US/gateway.lock') == $US_PID ]]"
check "the first gateway still serves" bash -c \
  "curl -sf http://127.0.0.1:$US_API/readyz >/dev/null && kill -0 $US_PID"
expect "the first gateway still answers the operator" 200 "$OPERATOR" /api/v1/status '.peers[0].party == "ru-genstaff"'

# Another home whose [store] path is the first one's store.
OTHER_FED=$(free_port) OTHER_API=$(free_port)
"$PARLEY" init --home "$OTHER" --party nato-shape --federation 127.0.0.1:"$OTHER_FED" --api 127.0.0.1:"$OTHER_API" >/dev/null || bad "init other"
sed -i "s|^path = .*|path = \"$US/parley.db\"|" "$OTHER/parley.toml"
check "the other home's config points at the first store" grep -q "path = \"$US/parley.db\"" "$OTHER/parley.toml"
timeout 20 "$PARLEY" gateway --home "$OTHER" >/dev/null 2>"$DIR/other.err"
rc=$?
check "a gateway sharing the store: exits 1" test "$rc" -eq 1
check "a gateway sharing the store: one line naming the store and the pid" bash -c \
  "[[ \$(wc -l <'$DIR/other.err') -eq 1 ]] && grep -q 'the store .*parley.db is in use by another parley gateway (pid $US_PID' '$DIR/other.err'"

# Once the first has stopped, the lock file it leaves behind does not block a restart.
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
"$PARLEY" gateway --home "$US" 2>"$DIR/us2.log" &
PIDS+=($!)
check "after the first stopped, a gateway starts on the home (its new ports)" \
  poll 30 curl -sf "http://127.0.0.1:$NEW_API/readyz"

echo "passed $passed, failed $failed"
[[ $failed -eq 0 ]]
