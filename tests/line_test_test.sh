#!/usr/bin/env bash
# Issue 12's line test on two real `parley gateway` processes on loopback, each with
# `test_interval = "2s"` and `test_answer_within = "3s"` in parley.toml: both sides' `parley
# status --json` show their line's automatic tests sent and answered by the other gateway,
# and so does the text status; nobody at ru acknowledged anything, and a principal cannot
# (its ack of an automatic test is refused). Stopping ru-genstaff leaves us-eucom's next test
# unanswered: past its 3 s it shows overdue in status, alerts saceur (an escalation), and no
# second test piles up behind it. Restarted, us-eucom numbers its tests on from the store.
# Usage: line_test_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" line-test "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
for home in "$US" "$RU"; do
  check "$(basename "$home")'s parley.toml has the hourly default" grep -qx 'test_interval = "1h"' "$home/parley.toml"
  sed -i 's/^test_interval = "1h"$/test_interval = "2s"/; s/^test_answer_within = "1m"$/test_answer_within = "3s"/' "$home/parley.toml"
  check "$(basename "$home")'s parley.toml tests every 2 s" grep -qx 'test_interval = "2s"' "$home/parley.toml"
done
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur --role commander >/dev/null
"$PARLEY" principal add --home "$RU" cgs --role commander >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

# A bad value is refused at start with one line naming the file, the line and the key.
cp -r "$US" "$DIR/bad"
sed -i 's/^test_interval = "2s"$/test_interval = "hourly"/' "$DIR/bad/parley.toml"
"$PARLEY" gateway --home "$DIR/bad" 2>"$DIR/bad.err" >/dev/null
check "a bad test_interval stops the gateway at start" test $? -ne 0
check "... with one clear line" grep -q "parley.toml:[0-9]*: federation.test_interval: bad duration 'hourly'" "$DIR/bad.err"
rm -rf "$DIR/bad"

start_us() { "$PARLEY" gateway --home "$US" 2>>"$DIR/us.log" & PIDS+=($!); US_PID=$!; }
start_ru() { "$PARLEY" gateway --home "$RU" 2>>"$DIR/ru.log" & PIDS+=($!); RU_PID=$!; }
start_us
start_ru
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

# line_test HOME JQ_TEST: HOME's status shows its saceur-cgs test passing JQ_TEST.
line_test() {
  "$PARLEY" status --home "$1" --json |
    jq -e "[.peers[].tests[] | select(.line == \"saceur-cgs\")] | length == 1 and (.[0] | $2)"
}
answered='.sequence >= 2 and (.answered | type == "string") and (.answered >= .sent) and (.next_due | type == "string") and (.overdue | not)'
check "us: tests sent and answered by ru's gateway" poll 20 line_test "$US" "$answered"
check "ru: tests sent and answered by us's gateway" poll 20 line_test "$RU" "$answered"
check "us: ru answered them, counted" \
  bash -c "'$PARLEY' status --home '$RU' --json | jq -e '.peers[0].tests_answered >= 2'"
check "us: the text status shows the line test" \
  bash -c "'$PARLEY' status --home '$US' | grep -q 'line test on saceur-cgs: #[0-9]* sent .*, answered '"
# (--home --as answers with the operator's view or the line view; either shows the test.)
check "ru: a principal on the line sees it in its own status" \
  bash -c "'$PARLEY' status --home '$RU' --as cgs --json | jq -e '(.lines[0].test.sequence // ([.peers[].tests[].sequence] | max)) >= 1'"
# (A test just sent may be awaiting its answer at any instant; none is ever overdue.)
check "nothing is overdue on either side, no alert" \
  bash -c "for h in '$US' '$RU'; do '$PARLEY' status --home \$h --json | jq -e '([.escalations[] | select(.overdue)] == []) and .overdue == 0 and .inbound_overdue == 0' || exit 1; done"

# A principal cannot acknowledge an automatic test: its gateway answers it.
TEST_ID=$("$PARLEY" inbox --home "$RU" --as cgs --type test --json | jq -r '.[0].id')
check "ru's inbox holds us's tests, acknowledged" \
  bash -c "'$PARLEY' inbox --home '$RU' --as cgs --type test --json | jq -e 'length >= 1 and (.[0].state == \"acknowledged\") and (.[0].body.automatic == true)'"
"$PARLEY" ack --home "$RU" --as cgs "$TEST_ID" 2>"$DIR/ack.err" >/dev/null
check "cgs's ack of an automatic test is refused" test $? -ne 0
check "... saying why" grep -q "already acknowledged\|automatic line test" "$DIR/ack.err"
check "a principal cannot send an automatic test" \
  bash -c "! '$PARLEY' send --home '$US' --as saceur --line saceur-cgs --type test --body '{\"sequence\": 9, \"automatic\": true}' 2>/dev/null"

# ru-genstaff goes down: us's next test is not answered, goes overdue and alerts saceur.
kill -TERM "$RU_PID"
wait "$RU_PID" 2>/dev/null
check "us: the unanswered test goes overdue" poll 20 line_test "$US" '.overdue and (.answered == null)'
OVERDUE=$("$PARLEY" status --home "$US" --json | jq -r '.peers[].tests[] | select(.line == "saceur-cgs") | .message_id')
check "us: it escalates to saceur" \
  bash -c "'$PARLEY' status --home '$US' --json | jq -e --arg id '$OVERDUE' '[.escalations[] | select(.message_id == \$id)] | length == 1 and (.[0].alerted[0].principal == \"saceur\")'"
check "us: the text status raises the alert" \
  bash -c "'$PARLEY' status --home '$US' | grep -q 'line test on saceur-cgs: .*ALERT: NOT ANSWERED'"
check "us: no second test piles up behind it" poll 10 line_test "$US" ".skipped >= 1 and .message_id == \"$OVERDUE\""
check "us: saceur's outbox shows it overdue" \
  bash -c "'$PARLEY' outbox --home '$US' --as saceur --type test --json | jq -e --arg id '$OVERDUE' '.[] | select(.id == \$id) | .state == \"overdue\"'"
SEQ=$("$PARLEY" status --home "$US" --json | jq -r '.peers[].tests[] | select(.line == "saceur-cgs") | .sequence')

# ru returns: the queued test is answered and the alert ends; us restarts and counts on.
start_ru
check "ru gateway ready again" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"
check "us: the overdue test is answered once ru is back" \
  poll 30 line_test "$US" ".message_id != null and (.answered | type == \"string\") and .sequence >= $SEQ"
LAST=$("$PARLEY" status --home "$US" --json | jq -r '.peers[].tests[] | select(.line == "saceur-cgs") | .sequence')
kill -TERM "$US_PID"
wait "$US_PID" 2>/dev/null
start_us
check "us gateway ready again" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
# At once, before a new test could count up from 1: the last one the store holds, or the next.
check "us: after a restart the numbering goes on from the store (last was #$LAST)" \
  line_test "$US" ".sequence >= $LAST"
check "us: and the tests go on being answered" \
  poll 20 line_test "$US" ".sequence > $LAST and (.answered | type == \"string\")"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
