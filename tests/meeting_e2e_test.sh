#!/usr/bin/env bash
# A meeting over two real `parley gateway` processes on loopback (issue 13): proposed by one
# side, counter-proposed, accepted, minutes drafted, signed by both (final), one action item
# done; each step visible to both sides (`meeting show --json`), refused steps answered with
# one line (CLI) or 409 (API) and nothing sent, and both exported transcripts verify and hold
# every step.
# Usage: meeting_e2e_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" meeting "$@"

US=$DIR/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)

"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" --lang en >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" --lang ru >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
SACEUR_TOKEN=$("$PARLEY" principal add --home "$US" saceur --name "SACEUR")
"$PARLEY" principal add --home "$RU" cgs --name "Chief of the General Staff" >/dev/null
"$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs >/dev/null
"$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur >/dev/null
# ru's interpreter: on no line, reads every line of its party, meetings included.
"$PARLEY" principal add --home "$RU" interpreter --name "Duty interpreter" --role translator >/dev/null

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

us() { "$PARLEY" meeting "$1" --home "$US" --as saceur "${@:2}"; }
ru() { "$PARLEY" meeting "$1" --home "$RU" --as cgs "${@:2}"; }
# shown_by HOME AS ID JQ: the meeting as that side shows it satisfies JQ.
shown_by() { "$PARLEY" meeting show --home "$1" --as "$2" "$3" --json | jq -e "$4"; }
on_both() {  # on_both WHAT JQ: polls both sides until each shows it
  check "us sees: $1" poll 15 shown_by "$US" saceur "$ID" "$2"
  check "ru sees: $1" poll 15 shown_by "$RU" cgs "$ID" "$2"
}
outbox_size() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq 'length'; }
# refused WHAT REASON COMMAND...: exit 1, one line on stderr with REASON, nothing sent.
refused() {
  local what=$1 reason=$2; shift 2
  local before after rc
  before=$(outbox_size "$US" saceur)$(outbox_size "$RU" cgs)
  "$@" >"$DIR/out" 2>"$DIR/err"
  rc=$?
  after=$(outbox_size "$US" saceur)$(outbox_size "$RU" cgs)
  if [[ $rc -eq 1 && $(wc -l <"$DIR/err") -eq 1 && ! -s "$DIR/out" ]] && grep -qF "$reason" "$DIR/err" &&
    [[ "$before" == "$after" ]]; then
    ok "$what refused: $(cat "$DIR/err")"
  else
    bad "$what: wanted exit 1 and one line with '$reason', nothing sent; got $rc '$(cat "$DIR/err")' outboxes $before -> $after"
  fi
}

A=2026-03-03T09:00:00Z B=2026-03-04T09:00:00Z C=2026-03-05T09:00:00Z

# --- proposed by us ---
ID=$(us propose --line saceur-cgs --title "Staff talks" --slot $A --slot $B --agenda "notification of exercises" --agenda "incidents at sea")
check "propose prints the meeting id" bash -c "[[ '$ID' =~ ^[0-9a-f-]{36}\$ ]]"
on_both "proposed, two slots, the agenda" '.state == "proposed" and (.offered.slots | length) == 2 and .agenda == ["notification of exercises", "incidents at sea"] and .title == "Staff talks"'
check "list --json has the DESIGN fields" bash -c "'$PARLEY' meeting list --home '$RU' --as cgs --json | jq -e --arg id '$ID' '.[] | select(.id == \$id) | has(\"id\") and has(\"line\") and has(\"title\") and has(\"state\") and has(\"slot\") and has(\"agenda\") and (.minutes | has(\"hash\") and has(\"signed_by\") and has(\"final\")) and has(\"actions\")'"
check "ru reads the proposal in Russian in its inbox" bash -c "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e '.[] | select(.type == \"meeting.propose\") | .rendered | test(\"ПРЕДЛОЖЕНИЕ О ВСТРЕЧЕ\")'"
refused "us accepting its own proposal" "cannot accept its own proposal" us accept "$ID" --slot $A

# The API answers a refused step 409 with a JSON reason.
code=$(curl -s -o "$DIR/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $SACEUR_TOKEN" \
  --data "{\"slot\": \"$A\"}" "http://127.0.0.1:$US_API/api/v1/meetings/$ID/accept")
check "API: accepting its own proposal is 409 with the reason" bash -c "[[ $code == 409 ]] && jq -e '.error | test(\"cannot accept its own proposal\")' '$DIR/resp'"

# --- countered by ru, accepted by us ---
check "ru counters" ru counter "$ID" --slot $C --reason "the proposed days clash with a holiday"
on_both "countered with slot C by ru" ".state == \"countered\" and .offered.by == \"ru-genstaff\" and .offered.slots == [\"2026-03-05T09:00:00.000Z\"]"
refused "ru accepting its own counter" "cannot accept its own proposal" ru accept "$ID"
refused "us accepting a slot that was not offered" "was not offered" us accept "$ID" --slot $A
check "us accepts the only slot offered" us accept "$ID"
on_both "scheduled at slot C" '.state == "scheduled" and .slot == "2026-03-05T09:00:00.000Z"'

# --- minutes drafted by us, signed by both ---
cat >"$DIR/minutes.json" <<'EOF'
{"held_at": "2026-03-05T09:00:00Z", "attendees": ["us-eucom/saceur", "ru-genstaff/cgs"],
 "items": [{"agenda_item": "notification of exercises", "notes": "thresholds restated",
            "decisions": ["exchange exercise calendars quarterly"],
            "actions": [{"id": "a1", "text": "send the Q2 exercise calendar", "owner": "ru-genstaff/cgs",
                         "due": "2026-04-01T00:00:00Z"}]},
           {"agenda_item": "incidents at sea", "decisions": ["keep 500 m separation"]}]}
EOF
HASH=$(us minutes "$ID" --file "$DIR/minutes.json")
check "minutes print the minutes hash (SHA-256 of the canonical minutes)" bash -c "[[ '$HASH' == \$(jq -cS . '$DIR/minutes.json' | tr -d '\n' | sha256sum | cut -d' ' -f1) ]]"
on_both "held, minutes $HASH unsigned" ".state == \"held\" and .minutes.hash == \"$HASH\" and .minutes.signed_by == [] and .minutes.final == false and (.actions | length) == 1"
# a1 fell due on 2026-04-01: each side raises the overdue alert by itself, once.
for side in us ru; do
  check "$side's gateway alerts that action a1 is overdue" poll 10 grep -q "action-overdue: action item a1 of meeting \"Staff talks\" ($ID)" "$DIR/$side.log"
done
check "ru's translator sees the meeting and its minutes" shown_by "$RU" interpreter "$ID" ".minutes.hash == \"$HASH\""
refused "a step by ru's translator" "takes no step" "$PARLEY" meeting sign --home "$RU" --as interpreter "$ID"
check "ru signs" ru sign "$ID" --hash "$HASH"
on_both "signed by ru only, not final" '.minutes.signed_by == ["ru-genstaff"] and .minutes.final == false'
refused "us signing a hash that is not the current minutes" "is not that of the current minutes" us sign "$ID" --hash "$(printf '%064d' 0)"
SIGNED=$(us sign "$ID")
check "us signs the current minutes" test -n "$HASH" -a "$SIGNED" == "$HASH"
on_both "final: both parties signed $HASH" '.minutes.signed_by == ["ru-genstaff", "us-eucom"] and .minutes.final == true'

# --- one action item done ---
check "ru marks action a1 done" ru action "$ID" a1 --done --note "sent"
on_both "action a1 done by ru" '.actions[0].id == "a1" and .actions[0].done == true and .actions[0].done_by == "ru-genstaff/cgs" and .actions[0].owner == "ru-genstaff/cgs" and .actions[0].due == "2026-04-01T00:00:00.000Z"'
refused "marking a1 done again" "already done" us action "$ID" a1 --done
check "each side raised the overdue alert once and no reminder" bash -c "[[ \$(grep -c 'action-overdue: action item a1' '$DIR/us.log') == 1 && \$(grep -c 'action-overdue: action item a1' '$DIR/ru.log') == 1 ]] && ! grep -q action-reminder '$DIR/us.log' '$DIR/ru.log'"
check "both sides show the same meeting" bash -c "diff <('$PARLEY' meeting show --home '$US' --as saceur '$ID' --json | jq -S 'del(.actions[].status, .overdue, .reminders)') <('$PARLEY' meeting show --home '$RU' --as cgs '$ID' --json | jq -S 'del(.actions[].status, .overdue, .reminders)')"
check "human show" bash -c "'$PARLEY' meeting show --home '$US' --as saceur '$ID' | grep -q 'signed by .*(final)'"

# --- a cancelled meeting's steps are refused ---
ID2=$(ru propose --line saceur-cgs --title "Extra session" --slot $A)
check "us sees the second proposal" poll 15 shown_by "$US" saceur "$ID2" '.state == "proposed"'
check "us cancels it" us cancel "$ID2" --reason "overtaken by events"
check "ru sees it cancelled" poll 15 shown_by "$RU" cgs "$ID2" '.state == "cancelled"'
refused "accepting a cancelled meeting" "there is no offer to accept" us accept "$ID2" --slot $A
refused "an unknown meeting" "unknown meeting" us sign 01890000-0000-7000-8000-000000000000

# --- the transcript: exported by each side, verified offline, holding every step ---
all_delivered() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -e 'all(.state == "delivered" or .state == "acknowledged")'; }
check "us's steps are all receipted" poll 15 all_delivered "$US" saceur
check "ru's steps are all receipted" poll 15 all_delivered "$RU" cgs
check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "parley verify of us's export" "$PARLEY" verify "$DIR/t-us"
check "parley verify of ru's export" "$PARLEY" verify "$DIR/t-ru"
types_in() {  # the meeting types in OWNER's log of an export, one a line (not its stage entries)
  jq -r '.envelope.payload' "$1/logs/$2.jsonl" | while read -r p; do base64 -d <<<"$p" | jq -r .type; done | grep '^meeting[.]' | sort | tr '\n' ' '
}
check "us's log holds its steps" test "$(types_in "$DIR/t-ru" us-eucom)" == "meeting.accept meeting.cancel meeting.minutes meeting.propose meeting.sign "
check "ru's log holds its steps" test "$(types_in "$DIR/t-us" ru-genstaff)" == "meeting.action-done meeting.counter meeting.propose meeting.sign "

echo "meeting e2e: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
