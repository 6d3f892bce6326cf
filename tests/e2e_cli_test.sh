#!/usr/bin/env bash
# Two real `parley gateway` processes on loopback, driven through the CLI and the API:
# send, inbox, ack, outbox shows acknowledged, status; and bad input at each entry point
# gets a clear error and changes nothing.
# Usage: e2e_cli_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" e2e "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)

"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --lang en >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" bundle --home "$US" >"$DIR/us.json"
"$PARLEY" bundle --home "$RU" >"$DIR/ru.json"

# A bundle with a malformed key is refused with one line, exit 1, and pins nothing.
jq '.sign_key = "not base64!"' "$DIR/ru.json" >"$DIR/ru-bad.json"
"$PARLEY" peer add --home "$US" "$DIR/ru-bad.json" 2>"$DIR/err" >/dev/null
rc=$?
check "bundle with a malformed key: exit 1" test $rc -eq 1
check "bundle with a malformed key: one line on stderr naming the field" \
  bash -c "[[ \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'sign_key' '$DIR/err'"

check "peer add us<-ru" "$PARLEY" peer add --home "$US" "$DIR/ru.json"
check "peer add ru<-us" "$PARLEY" peer add --home "$RU" "$DIR/us.json"
SACEUR_TOKEN=$("$PARLEY" principal add --home "$US" saceur --name "SACEUR" --role commander)
DUTY_TOKEN=$("$PARLEY" principal add --home "$US" duty-officer --role duty)
CGS_TOKEN=$("$PARLEY" principal add --home "$RU" cgs --name "Chief of the General Staff")
"$PARLEY" principal add --home "$RU" nobody >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs --deadline FLASH=30s
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

# --- the happy path through the CLI ---
BODY='{"launch_time":"2026-11-24T21:00:00Z","missile_class":"ICBM","count":1,"launch_area":"Plesetsk","impact_area":"Kura","test":true}'
ID=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --precedence FLASH --type notify.missile-launch --body "$BODY")
check "send prints an id" bash -c "[[ '$ID' =~ ^[0-9a-f-]{36}\$ ]]"
ROUTINE_ID=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "Routine check of the line")
check "routine send prints an id" bash -c "[[ '$ROUTINE_ID' =~ ^[0-9a-f-]{36}\$ ]]"

inbox_has() { "$PARLEY" inbox --home "$1" --as "$2" --json | jq -e --arg id "$3" 'map(select(.id == $id)) | length == 1'; }
state_is() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -e --arg id "$3" --arg s "$4" 'map(select(.id == $id and .state == $s)) | length == 1'; }

check "FLASH arrives in saceur's inbox" poll 15 inbox_has "$US" saceur "$ID"
check "outbox shows delivered (receipted)" poll 15 state_is "$RU" cgs "$ID" delivered
check "inbox --json has the DESIGN fields" bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e '.[0] | has(\"id\") and has(\"line\") and has(\"seq\") and has(\"from\") and has(\"to\") and has(\"precedence\") and has(\"type\") and has(\"state\") and has(\"created\") and has(\"body\") and has(\"text\") and has(\"rendered\")'"
check "rendered in the reader's language (en)" bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e '.[] | select(.type == \"notify.missile-launch\") | .rendered | test(\"Plesetsk\")'"
check "human inbox output" bash -c "'$PARLEY' inbox --home '$US' --as saceur | grep -q FLASH"
check "ack by saceur" "$PARLEY" ack --home "$US" --as saceur "$ID"
check "outbox shows acknowledged" poll 15 state_is "$RU" cgs "$ID" acknowledged
check "routine message arrives in cgs's inbox" poll 15 inbox_has "$RU" cgs "$ROUTINE_ID"
check "receipt is in the message view" bash -c "curl -sf -H 'Authorization: Bearer $CGS_TOKEN' http://127.0.0.1:$RU_API/api/v1/messages/$ID | jq -e '.receipt.payload | length > 0'"
check "the sender's view has the inclusion proof in the countersigned head" bash -c "curl -sf -H 'Authorization: Bearer $CGS_TOKEN' http://127.0.0.1:$RU_API/api/v1/messages/$ID | jq -e '.proof.index == 0 and .proof.size >= 1 and (.proof.root | length == 64) and (.proof.path | type == \"array\")'"
check "the receiver's view has the proof it received" bash -c "curl -sf -H 'Authorization: Bearer $SACEUR_TOKEN' http://127.0.0.1:$US_API/api/v1/messages/$ID | jq -e '.proof.index == 0 and .proof.size >= 1'"
check "status --json shows the peer path up" bash -c "'$PARLEY' status --home '$US' --json | jq -e '.peers[0].party == \"ru-genstaff\" and .peers[0].paths[0].state == \"up\"'"
check "status (human) works" bash -c "'$PARLEY' status --home '$US' | grep -q 'peer ru-genstaff'"

# --- find and read: order, filters, search, paging, show, id prefixes ---
SHIELD_ID=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --precedence PRIORITY --text "Exercise Northern Shield starts at dawn")
WEATHER_ID=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --text "Weather report: calm sea")
check "the exercise notice arrives" poll 15 inbox_has "$US" saceur "$SHIELD_ID"
check "the weather report arrives" poll 15 inbox_has "$US" saceur "$WEATHER_ID"
inbox_ids() { "$PARLEY" inbox --home "$US" --as saceur --json "$@" | jq -c 'map(.id)'; }
check "the inbox lists FLASH first, then PRIORITY, then ROUTINE" \
  bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e 'map(.precedence) as \$p | \$p[0] == \"FLASH\" and (\$p | index(\"PRIORITY\")) < (\$p | index(\"ROUTINE\"))'"
check "each inbox entry has its deadline and time left (or null once acknowledged)" \
  bash -c "'$PARLEY' inbox --home '$US' --as saceur --json | jq -e 'all(.[]; has(\"ack_deadline\") and has(\"time_left_ms\")) and (map(select(.id == \"$ID\"))[0].time_left_ms == null) and (map(select(.id == \"$SHIELD_ID\"))[0].time_left_ms > 0)'"
check "the human inbox shows the time left" bash -c "'$PARLEY' inbox --home '$US' --as saceur | grep -q 'ack deadline .* (due in '"
check "--precedence PRIORITY" test "$(inbox_ids --precedence PRIORITY)" = "[\"$SHIELD_ID\"]"
check "--type notify.missile-launch" test "$(inbox_ids --type notify.missile-launch)" = "[\"$ID\"]"
check "--state acknowledged" test "$(inbox_ids --state acknowledged)" = "[\"$ID\"]"
check "--line saceur-cgs: every message" test "$(inbox_ids --line saceur-cgs)" = "$(inbox_ids)"
check "--line of nobody's: none" test "$(inbox_ids --line no-such-line)" = "[]"
check "--from the sender" test "$(inbox_ids --from ru-genstaff/cgs)" = "$(inbox_ids)"
check "--from another principal: none" test "$(inbox_ids --from ru-genstaff/nobody)" = "[]"
check "--since the future: none" test "$(inbox_ids --since 2099-01-01T00:00:00Z)" = "[]"
check "--until the past: none" test "$(inbox_ids --until 2000-01-01T00:00:00Z)" = "[]"
check "--since and --until around now: every message" \
  test "$(inbox_ids --since 2000-01-01T00:00:00Z --until 2099-01-01T00:00:00Z)" = "$(inbox_ids)"
check "--search finds a word of a body, in any case" test "$(inbox_ids --search 'northern SHIELD')" = "[\"$SHIELD_ID\"]"
check "--search needs every word" test "$(inbox_ids --search 'shield weather')" = "[]"
check "--search finds a word of a structured body" test "$(inbox_ids --search plesetsk)" = "[\"$ID\"]"
# Paging: one message a page, following the cursor, gives every message once, in order.
pages=() cursor=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  "$PARLEY" inbox --home "$US" --as saceur --json --limit 1 ${cursor:+--cursor "$cursor"} >"$DIR/page" 2>"$DIR/more"
  pages+=("$(jq -r '.[].id' "$DIR/page")")
  cursor=$(sed -n 's/^parley: more: --cursor //p' "$DIR/more")
  [[ -z $cursor ]] && break
done
check "paging with --limit 1 returns every message once, in order" \
  test "$(printf '%s\n' "${pages[@]}" | jq -R . | jq -sc .)" = "$(inbox_ids)"
# Bad values are usage errors: exit 2 and one line.
for args in "--precedence URGENT" "--state lost" "--since yesterday" "--limit 0" "--limit 10001" "--cursor zz" "--search ,;"; do
  # shellcheck disable=SC2086
  "$PARLEY" inbox --home "$US" --as saceur $args >/dev/null 2>"$DIR/err"
  rc=$?
  check "inbox $args: exit 2, one line" bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]]"
done
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages?state=lost")
expect_error "a bad state in the API's query" 400 "$code"
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages?search=northern+shield")
check "the API's search (a + is a space)" bash -c "[[ $code == 200 ]] && jq -e '.messages | map(.id) == [\"$SHIELD_ID\"]' '$DIR/resp'"
# show: the timeline and the evidence, by a unique prefix (a UUIDv7 starts with its time:
# its first 18 characters hold the millisecond and 12 random bits).
check "show by a unique prefix prints the timeline and the evidence" \
  bash -c "'$PARLEY' show --home '$US' --as saceur '${ID:0:18}' | tee '$DIR/show' | grep -q '^timeline:' && grep -q 'received: ' '$DIR/show' && grep -q 'acknowledged: by us-eucom/saceur' '$DIR/show' && grep -q '^evidence:' '$DIR/show'"
check "show --json: the sender's timeline has created, sent, delivered, acknowledged" \
  bash -c "'$PARLEY' show --home '$RU' --as cgs '$ID' --json | jq -e '[.timeline[].event] == [\"created\", \"sent\", \"delivered\", \"acknowledged\"] and (.receipt.payload | length > 0)'"
check "ack by a unique prefix" "$PARLEY" ack --home "$US" --as saceur "${SHIELD_ID:0:23}"
check "the acknowledged notice shows so" bash -c "'$PARLEY' show --home '$US' --as saceur '$SHIELD_ID' --json | jq -e '.state == \"acknowledged\"'"
# The messages of one minute share their first 8 digits: that prefix names several.
common=$(python3 -c 'import os,sys; print(os.path.commonprefix(sys.argv[1:]))' "$ID" "$WEATHER_ID")
if [[ ${#common} -ge 8 ]]; then
  "$PARLEY" show --home "$US" --as saceur "${common:0:8}" >/dev/null 2>"$DIR/err"
  rc=$?
  check "an ambiguous prefix: exit 2, one line listing the candidates" \
    bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q ambiguous '$DIR/err' && grep -q '$ID' '$DIR/err' && grep -q '$WEATHER_ID' '$DIR/err'"
  code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages/${common:0:8}")
  expect_error "an ambiguous prefix (API)" 400 "$code"
else
  ok "an ambiguous prefix: not tested, the two messages straddle a 65-second boundary"
fi
"$PARLEY" show --home "$US" --as saceur 0123456 >/dev/null 2>"$DIR/err"
rc=$?
check "a prefix of 7 digits: exit 2" test $rc -eq 2
"$PARLEY" show --home "$US" --as saceur 00000000 >/dev/null 2>"$DIR/err"
rc=$?
check "a prefix no message has: exit 1, unknown" bash -c "[[ $rc -eq 1 ]] && grep -q 'no message' '$DIR/err'"
check "a prefix of another principal's message is unknown to it" \
  bash -c "! '$PARLEY' show --home '$US' --as duty-officer '${ID:0:18}' 2>/dev/null"

# --- bad input: each gets a clear error and changes nothing ---
count_outbox() { curl -s -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages?box=outbox" | jq '.messages | length'; }
BEFORE=$(count_outbox)
api_post() {  # api_post TOKEN BODY -> prints "HTTP_STATUS BODY"
  curl -s -o "$DIR/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    --data "$2" "http://127.0.0.1:$US_API/api/v1/messages"
}
expect_error() {  # expect_error WHAT WANT_STATUS GOT_STATUS
  if [[ "$3" == "$2" ]] && jq -e '.error | type == "string" and length > 0' "$DIR/resp" >/dev/null; then
    ok "$1 -> $2 $(jq -r .error "$DIR/resp")"
  else
    bad "$1: wanted $2 with a JSON error, got $3 $(cat "$DIR/resp")"
  fi
}
expect_error "malformed JSON" 400 "$(api_post "$SACEUR_TOKEN" '{"line": "saceur-cgs", ')"
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -X POST --data '{"line":"saceur-cgs"}' "http://127.0.0.1:$US_API/api/v1/messages")
expect_error "missing token" 401 "$code"
expect_error "unknown token" 401 "$(api_post "not-a-token" '{"line":"saceur-cgs","text":"x"}')"
expect_error "another principal's token (not on the line)" 403 "$(api_post "$DUTY_TOKEN" '{"line":"saceur-cgs","text":"x"}')"
expect_error "unknown line" 404 "$(api_post "$SACEUR_TOKEN" '{"line":"no-such-line","text":"x"}')"
expect_error "unknown precedence" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","precedence":"URGENT","text":"x"}')"
expect_error "body violating the type's schema" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","type":"notify.missile-launch","body":{"count":"many"}}')"
expect_error "unknown field" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","txt":"x"}')"
expect_error "a launch window that ends before it starts" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","type":"notify.missile-launch","body":{"launch_time":"2026-11-24T21:00:00Z","missile_class":"ICBM","count":1,"launch_area":"a","impact_area":"b","test":true,"launch_window":{"start":"2026-11-24T22:00:00Z","end":"2026-11-24T20:00:00Z"}}}')"
check "the API's schema error names the field" jq -e '.error | test("body.launch_window.end: must be after start")' "$DIR/resp"
check "GET /api/v1/catalog is parley catalog --json" bash -c "diff <(curl -sf -H 'Authorization: Bearer $SACEUR_TOKEN' http://127.0.0.1:$US_API/api/v1/catalog | jq -S .) <('$PARLEY' catalog --json | jq -S .)"
check "the catalog lists response.deconfliction with an example" bash -c "'$PARLEY' catalog --json | jq -e '.[] | select(.type == \"response.deconfliction\") | .example.decision'"
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages/$ROUTINE_ID" )
check "a principal's own message is visible" test "$code" = 200
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $DUTY_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages/$ROUTINE_ID")
expect_error "another principal's message" 404 "$code"
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages/01890000-0000-7000-8000-000000000000/ack")
expect_error "ack of an unknown message id (API)" 404 "$code"
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $SACEUR_TOKEN" "http://127.0.0.1:$US_API/api/v1/messages/$ID/ack")
expect_error "second ack of the same message" 409 "$code"
"$PARLEY" ack --home "$US" --as saceur 01890000-0000-7000-8000-000000000000 2>"$DIR/err"
rc=$?
check "ack of an unknown id via the CLI: exit 1, one line" bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q '^parley: ' '$DIR/err'"
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --precedence URGENT 2>"$DIR/err" >/dev/null
rc=$?
check "unknown precedence via the CLI: exit 2 (a usage error), one line" bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'URGENT' '$DIR/err'"
# An empty message (no text, no body) and a reply to a message nobody has are refused: exit 2
# through the CLI, 400 through the API, nothing stored.
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs 2>"$DIR/err" >/dev/null
rc=$?
check "an empty message via the CLI: exit 2, one line" bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'an empty message' '$DIR/err'"
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "  " 2>"$DIR/err" >/dev/null
rc=$?
check "a blank text via the CLI: exit 2" test $rc -eq 2
expect_error "an empty message (API)" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","body":{}}')"
"$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "re" --reply-to 01890000-0000-7000-8000-000000000000 2>"$DIR/err" >/dev/null
rc=$?
check "a reply to an unknown id via the CLI: exit 2, one line" bash -c "[[ $rc -eq 2 && \$(wc -l <'$DIR/err') -eq 1 ]] && grep -q 'reply_to: no message on your lines' '$DIR/err'"
expect_error "a reply to an unknown id (API)" 400 "$(api_post "$SACEUR_TOKEN" '{"line":"saceur-cgs","text":"re","reply_to":"01890000-0000-7000-8000-000000000000"}')"
expect_error "a reply from a principal not on the line (the core's 403)" 403 "$(api_post "$DUTY_TOKEN" '{"line":"saceur-cgs","text":"re","reply_to":"'"$ID"'"}')"
"$PARLEY" send --home "$US" --as saceur 2>"$DIR/err" >/dev/null
rc=$?
check "missing --line is a usage error: exit 2" test $rc -eq 2
check "nothing was added to the outbox by bad requests" test "$(count_outbox)" = "$BEFORE"

# A peer frame with a bad signature, sent over the real mutual-TLS link with ru's own
# certificate: refused with 400 and a reason, nothing stored, and good traffic continues.
# The transaction carries ru's real signed head (from an export), so the forged envelope is
# what gets it refused.
check "transcript export while the gateway runs" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-early"
STH=$(tail -n 1 "$DIR/t-early/heads/ru-genstaff.jsonl" | jq -c '.sth')
GOOD=$(curl -s -H "Authorization: Bearer $CGS_TOKEN" "http://127.0.0.1:$RU_API/api/v1/messages/$ID" | jq -c '.envelope')
FORGED=$(jq -c '.sig = (.sig | sub("^.";"A") | if . == $o then sub("^.";"B") else . end)' --arg o "$(jq -r .sig <<<"$GOOD")" <<<"$GOOD")
TX=$(jq -cn --argjson e "$FORGED" --argjson sth "$STH" '{v:2, tx:"01890000-0000-7000-8000-0000000000aa", from:"ru-genstaff", to:"us-eucom", sth:$sth, entries:[{index:0, envelope:$e, proof:[]}], consistency:[]}')
code=$(curl -sk -o "$DIR/resp" -w '%{http_code}' --cert "$RU/tls/cert.pem" --key "$RU/tls/key.pem" \
  -X POST --data "$TX" "https://127.0.0.1:$US_FED/federation/v1/transactions")
expect_error "peer transaction with a bad signature" 400 "$code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "$TX" "https://127.0.0.1:$US_FED/federation/v1/transactions")
check "federation refuses a client without a pinned certificate (handshake fails)" test "$code" = 000
check "refused frame counted in /metrics, with its reason" bash -c "curl -s -H 'Authorization: Bearer $(cat "$US/operator.token")' http://127.0.0.1:$US_API/metrics | awk '/^parley_frames_refused_total\\{peer=\"ru-genstaff\",reason=\"[a-z_]+\"\\} /{n+=\$2} END{exit !(n == 1)}'"
check "group commits counted in /metrics (batches >= commits > 0)" bash -c "curl -s -H 'Authorization: Bearer $(cat "$US/operator.token")' http://127.0.0.1:$US_API/metrics | awk '/^parley_store_commits_total /{c=\$2} /^parley_store_batches_total /{b=\$2} END{exit !(c > 0 && b >= c)}'"
AFTER_ID=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --text "still there?")
check "good traffic keeps flowing after a refused frame" poll 15 inbox_has "$US" saceur "$AFTER_ID"

# --- the joint transcript: exported by each side, verified offline ---
poll 15 state_is "$RU" cgs "$AFTER_ID" delivered >/dev/null
check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "parley verify of us's export: exit 0" "$PARLEY" verify "$DIR/t-us"
check "parley verify of ru's export: exit 0" "$PARLEY" verify "$DIR/t-ru"
"$PARLEY" verify "$DIR/t-us" >"$DIR/verify.out" 2>&1
check "parley --version names the version, commit and protocol" \
  bash -c "'$PARLEY' --version | grep -Eq '^parley [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}\+?|unknown), protocol 2\)$'"
check "GET /api/v1/version gives the same" \
  bash -c "curl -s -H 'Authorization: Bearer $(cat "$US/operator.token")' http://127.0.0.1:$US_API/api/v1/version | jq -e '.protocol == 2 and (.version | test(\"^[0-9.]+$\")) and (.commit | length > 0)'"
check "verify without --pin says the keys were taken from the export" \
  grep -q "ru-genstaff: signing key .* (taken from the export" "$DIR/verify.out"
check "verify --pin with both parties' real bundles: exit 0" \
  "$PARLEY" verify "$DIR/t-us" --pin "$DIR/us.json" --pin "$DIR/ru.json"
# A bundle of another ru-genstaff (other keys), as a forger would make: the export does not
# hold those keys, so a reader who pinned them is told.
"$PARLEY" init --home "$DIR/forger" --party ru-genstaff --federation 127.0.0.1:1 >/dev/null
"$PARLEY" bundle --home "$DIR/forger" >"$DIR/forged.json"
"$PARLEY" verify "$DIR/t-us" --pin "$DIR/forged.json" >"$DIR/verify.out" 2>&1
rc=$?
check "verify --pin with a swapped bundle: exit 3" test $rc -eq 3
check "the failure names the party's bundle and the key" \
  grep -q "bundles/ru-genstaff.json: the signing key of ru-genstaff is not the pinned one" "$DIR/verify.out"
"$PARLEY" verify "$DIR/t-us" --pin "$DIR/no-such.json" 2>"$DIR/err" >/dev/null
rc=$?
check "verify --pin with a missing file: exit 1, one line" bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]]"
check "both logs are in each export" bash -c "[[ \$(wc -l <'$DIR/t-us/logs/us-eucom.jsonl') -ge 2 && \$(wc -l <'$DIR/t-us/logs/ru-genstaff.jsonl') -ge 2 && \$(wc -l <'$DIR/t-ru/logs/ru-genstaff.jsonl') -ge 2 ]]"
"$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us" 2>"$DIR/err" >/dev/null
rc=$?
check "export into a non-empty directory: exit 1, one line" bash -c "[[ $rc -eq 1 && \$(wc -l <'$DIR/err') -eq 1 ]]"
"$PARLEY" transcript export --home "$US" --peer cn-cmc "$DIR/t-none" 2>"$DIR/err" >/dev/null
rc=$?
check "export for a party that is not a peer: exit 1" test $rc -eq 1
cp -r "$DIR/t-us" "$DIR/t-bad"
# Flip one byte of the first entry's envelope signature.
python3 - "$DIR/t-bad/logs/us-eucom.jsonl" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
at = data.index(b'"sig":"') + len(b'"sig":"') + 5
data[at] = ord('A') if data[at] != ord('A') else ord('B')
open(path, 'wb').write(bytes(data))
PY
"$PARLEY" verify "$DIR/t-bad" >"$DIR/verify.out" 2>&1
rc=$?
check "parley verify of a transcript with one flipped byte: exit 3" test $rc -eq 3
check "the failure names the entry file" grep -q "logs/us-eucom.jsonl" "$DIR/verify.out"
# Every file of a real export, one at a time: one byte flipped (at a quarter, the middle and
# three quarters of the file) is refused with exit 3 and a message naming that file.
while IFS= read -r file; do
  rel=${file#"$DIR/t-us/"}
  size=$(stat -c %s "$file")
  for frac in 1 2 3; do
    rm -rf "$DIR/t-flip" && cp -r "$DIR/t-us" "$DIR/t-flip"
    python3 - "$DIR/t-flip/$rel" $((size * frac / 4)) <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, 'rb').read())
data[at] ^= 0x01
open(path, 'wb').write(bytes(data))
PY
    "$PARLEY" verify "$DIR/t-flip" >"$DIR/verify.out" 2>&1
    rc=$?
    if [[ $rc -eq 3 ]] && grep -qF "$rel" "$DIR/verify.out"; then
      ok "flipped byte $((size * frac / 4)) of $rel: refused, $(grep -F "$rel" "$DIR/verify.out" | head -1 | cut -c1-120)"
    else
      bad "flipped byte $((size * frac / 4)) of $rel: exit $rc, $(head -2 "$DIR/verify.out")"
    fi
  done
done < <(find "$DIR/t-us" -type f | sort)
"$PARLEY" verify "$DIR/no-such-export" >/dev/null 2>&1
rc=$?
check "parley verify of a missing directory: exit 1" test $rc -eq 1
check "status --json counts no fork evidence" bash -c "'$PARLEY' status --home '$US' --json | jq -e '.evidence == 0'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
