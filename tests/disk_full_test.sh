#!/usr/bin/env bash
# Issue 17's full disk, on two real `parley gateway` processes on loopback. us-eucom's home
# (its SQLite store) lives on a small tmpfs that this test mounts in a mount namespace of its
# own; ru-genstaff's is on the ordinary disk. The test fills the tmpfs while the gateways run:
# us must refuse new messages with 503 and the reason (the API, /readyz and its log say so),
# must not receipt ru's message while it cannot store it (ru keeps it queued), and once the
# file is removed it must resume by itself: ru's message arrives, us sends again, nothing that
# was acknowledged is lost, and both transcripts verify.
# Usage: disk_full_test.sh PATH_TO_PARLEY
# Exit 77 (CTest: skipped) if no mount namespace can be made (neither root nor user namespaces).
set -uo pipefail

if [[ -z ${PARLEY_DISK_FULL_NS:-} ]]; then
  # The small file system must be this test's alone, and gone when it ends.
  if unshare --mount --propagation private true 2>/dev/null; then
    exec env PARLEY_DISK_FULL_NS=1 unshare --mount --propagation private bash "$0" "$@"
  elif unshare --user --map-root-user --mount true 2>/dev/null; then
    exec env PARLEY_DISK_FULL_NS=1 unshare --user --map-root-user --mount bash "$0" "$@"
  fi
  echo "SKIP: cannot make a mount namespace (unshare --mount needs root or user namespaces)"
  exit 77
fi

source "$(dirname "$0")/lib.sh" disk-full "$@"

SMALL=$DIR/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=48m tmpfs "$SMALL" || { bad "mount a 48 MiB tmpfs"; exit 1; }
# The gateways first (us has its store open there), then the tmpfs, then lib.sh's cleanup.
stop_and_unmount() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  umount "$SMALL" 2>/dev/null
  cleanup
}
trap stop_and_unmount EXIT
US=$SMALL/us RU=$DIR/ru
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" --api 127.0.0.1:"$US_API" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }
federate "$US" "$RU"
"$PARLEY" principal add --home "$US" saceur --role commander >/dev/null
"$PARLEY" principal add --home "$RU" cgs --role commander >/dev/null
check "line add us" "$PARLEY" line add --home "$US" saceur-cgs --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" saceur-cgs --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
US_PID=$!
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
check "us gateway ready" poll 20 curl -sf "http://127.0.0.1:$US_API/readyz"
check "ru gateway ready" poll 20 curl -sf "http://127.0.0.1:$RU_API/readyz"

inbox_has() { "$PARLEY" inbox --home "$1" --as "$2" --json | jq -e --arg id "$3" 'map(select(.id == $id)) | length == 1'; }
state_is() { "$PARLEY" outbox --home "$1" --as "$2" --json | jq -e --arg id "$3" --arg s "$4" 'map(select(.id == $id and .state == $s)) | length == 1'; }

FIRST=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "before the disk fills")
check "a message before the disk fills is delivered" poll 15 state_is "$US" saceur "$FIRST" delivered

# Fill the file system. SQLite may still have room inside its WAL file, so keep sending until
# a send fails; every send that succeeded was acknowledged and must survive.
dd if=/dev/zero of="$SMALL/filler" bs=1M status=none 2>/dev/null
check "the tmpfs is full" bash -c "[[ \$(df --output=avail -B1 '$SMALL' | tail -1) -lt 65536 ]]"
SENT=("$FIRST")
TEXT=$(head -c 30000 /dev/zero | tr '\0' x)
refused=""
for i in $(seq 1 200); do
  if id=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "$i $TEXT" 2>"$DIR/send.err"); then
    SENT+=("$id")
  else
    refused=$i
    break
  fi
done
check "a send fails once the disk is full (after ${#SENT[@]} accepted)" test -n "$refused"
check "the send whose commit failed says why: $(head -c 300 "$DIR/send.err")" grep -q "disk is full" "$DIR/send.err"
check "us's gateway process is still running" kill -0 "$US_PID"
check "us logs an alert naming the full disk" poll 10 grep -q "ALERT: the disk is full" "$DIR/us.log"
answer() {  # answer METHOD PATH: "STATUS BODY" of us's API, as the operator
  curl -s -o "$DIR/answer.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $(cat "$US/operator.token")" \
    -H 'Content-Type: application/json' --data "${3:-}" "http://127.0.0.1:$US_API$2"
}
check "us: /readyz answers 503, role held, with the reason" \
  bash -c "[[ \$(curl -s -o '$DIR/ready.json' -w '%{http_code}' http://127.0.0.1:$US_API/readyz) == 503 ]] && jq -e '.role == \"held\" and (.error | test(\"disk is full\"))' '$DIR/ready.json'"
code=$(answer POST /api/v1/messages '{"line":"saceur-cgs","precedence":"ROUTINE","text":"while full"}')
check "us: a new message is refused with 503 (got $code)" test "$code" = 503
check "us: the refusal says why" jq -e '.error | test("disk is full") and test("resumes by itself")' "$DIR/answer.json"
cli_refused() {  # the CLI's send exits non-zero and says why
  local out
  if out=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "while full" 2>&1); then return 1; fi
  grep -q "disk is full" <<<"$out"
}
check "us: the CLI's send fails with the reason" cli_refused
check "us: /healthz still answers 200 (the process is alive)" curl -sf "http://127.0.0.1:$US_API/healthz"

# ru sends while us cannot store: nothing may be receipted for it.
RU_ID=$("$PARLEY" send --home "$RU" --as cgs --line saceur-cgs --precedence FLASH --text "sent while us is full")
check "ru's send is accepted by ru" bash -c "[[ '$RU_ID' =~ ^[0-9a-f-]{36}\$ ]]"
check "ru: the path to us goes down" poll 20 bash -c "'$PARLEY' status --home '$RU' --json | jq -e '.peers[0].paths | all(.state != \"up\")'"
check "ru: its message stays queued, not receipted" state_is "$RU" cgs "$RU_ID" queued

# Space returns: us resumes by itself.
rm -f "$SMALL/filler"
check "us is ready again once space is freed" poll 60 curl -sf "http://127.0.0.1:$US_API/readyz"
check "us logs that it resumed" grep -q "resumed after a full disk" "$DIR/us.log"
check "ru's message arrives at us" poll 30 inbox_has "$US" saceur "$RU_ID"
check "ru: its message is receipted now" poll 15 state_is "$RU" cgs "$RU_ID" delivered
AFTER=$("$PARLEY" send --home "$US" --as saceur --line saceur-cgs --text "after the disk was freed")
check "us sends again" poll 15 state_is "$US" saceur "$AFTER" delivered
SENT+=("$AFTER")
received=$("$PARLEY" inbox --home "$RU" --as cgs --json)
missing=0
for id in "${SENT[@]}"; do
  jq -e --arg id "$id" 'map(select(.id == $id)) | length == 1' <<<"$received" >/dev/null || missing=$((missing + 1))
done
check "every message us accepted (${#SENT[@]}) reached ru ($missing missing)" test "$missing" -eq 0
check "ru received nothing us did not accept" \
  test "$(jq '[.[] | select(.from == "us-eucom/saceur")] | length' <<<"$received")" -eq "${#SENT[@]}"

check "transcript export by us" "$PARLEY" transcript export --home "$US" --peer ru-genstaff "$DIR/t-us"
check "transcript export by ru" "$PARLEY" transcript export --home "$RU" --peer us-eucom "$DIR/t-ru"
check "parley verify of us's export" "$PARLEY" verify "$DIR/t-us"
check "parley verify of ru's export" "$PARLEY" verify "$DIR/t-ru"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
