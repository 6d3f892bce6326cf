#!/usr/bin/env bash
# Three real gateways: us-eucom and ru-genstaff on a line that nato-shape observes (issue 14).
# - After an exchange, nato-shape (a C2SP tlog-witness on its federation port) holds cosigned
#   views of both parties' logs for the line, and each party keeps nato-shape's cosignature.
# - Both exports carry their log's checkpoint with nato-shape's cosignature; `parley verify
#   --policy` (C2SP tlog-policy: the log, the witness nato-shape, quorum nato-shape) accepts
#   both; with the cosignature line removed, verify without a policy still accepts (the
#   checkpoint is outside the manifest) and verify with the policy exits 3.
# - Each party forwards the heads of the other's log it countersigned to nato-shape.
# - No split view anywhere (the split-view tests: split_view_test.sh, gateway/witness_test.cc).
# Usage: witness_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" witness "$@"

US=$DIR/us RU=$DIR/ru NATO=$DIR/nato
declare -A FED API
for p in us ru nato; do FED[$p]=$(free_port); API[$p]=$(free_port); done
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"${FED[us]}" --api 127.0.0.1:"${API[us]}" >/dev/null || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"${FED[ru]}" --api 127.0.0.1:"${API[ru]}" >/dev/null || { bad "init ru"; exit 1; }
"$PARLEY" init --home "$NATO" --party nato-shape --federation 127.0.0.1:"${FED[nato]}" --api 127.0.0.1:"${API[nato]}" >/dev/null || { bad "init nato"; exit 1; }
for p in us ru nato; do
  home=$DIR/$p
  "$PARLEY" bundle --home "$home" >"$DIR/$p.json"
done
# Everyone pins everyone: the observer is a pinned peer of both parties, and they of it.
check "pins us" bash -c "'$PARLEY' peer add --home '$US' '$DIR/ru.json' && '$PARLEY' peer add --home '$US' '$DIR/nato.json'"
check "pins ru" bash -c "'$PARLEY' peer add --home '$RU' '$DIR/us.json' && '$PARLEY' peer add --home '$RU' '$DIR/nato.json'"
check "pins nato" bash -c "'$PARLEY' peer add --home '$NATO' '$DIR/us.json' && '$PARLEY' peer add --home '$NATO' '$DIR/ru.json'"
"$PARLEY" principal add --home "$US" saceur >/dev/null
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us (observer nato-shape)" "$PARLEY" line add --home "$US" hotline --local saceur --remote ru-genstaff/cgs --observer nato-shape
check "line add ru (observer nato-shape)" "$PARLEY" line add --home "$RU" hotline --local cgs --remote us-eucom/saceur --observer nato-shape

for p in us ru nato; do
  "$PARLEY" gateway --home "$DIR/$p" 2>"$DIR/$p.log" &
  PIDS+=("$!")
done
for p in us ru nato; do
  check "$p gateway ready" poll 30 curl -sf "http://127.0.0.1:${API[$p]}/readyz"
done

for i in 1 2 3; do
  "$PARLEY" send --home "$US" --as saceur --line hotline --text "from us $i" >/dev/null || bad "send us $i"
  "$PARLEY" send --home "$RU" --as cgs --line hotline --text "from ru $i" >/dev/null || bad "send ru $i"
done
delivered() {  # delivered HOME PRINCIPAL N: N messages of PRINCIPAL's outbox delivered or further
  "$PARLEY" outbox --home "$1" --as "$2" --json |
    jq -e --argjson n "$3" '[.[] | select(.state != "queued" and .state != "sent")] | length >= $n' >/dev/null
}
check "us's messages delivered" poll 60 delivered "$US" saceur 3
check "ru's messages delivered" poll 60 delivered "$RU" cgs 3

# witnessed ORIGIN: nato-shape cosigned that log at the size its owner's status gives.
witnessed() {
  local owner_home=$1 peer=$2 origin=$3 size
  size=$("$PARLEY" status --home "$owner_home" --json |
    jq -r --arg p "$peer" '.peers[] | select(.party == $p) | .log_size')
  [[ -n $size && $size != 0 ]] || return 1
  "$PARLEY" status --home "$NATO" --json |
    jq -e --arg o "$origin" --argjson s "$size" '[.witness.witnessed[] | select(.origin == $o and .size == $s)] | length == 1' >/dev/null &&
    "$PARLEY" status --home "$owner_home" --json |
    jq -e --arg o "$origin" --argjson s "$size" '[.witness.cosignatures[] | select(.origin == $o and .witness == "parley.example/nato-shape" and .size == $s)] | length == 1' >/dev/null
}
check "nato-shape holds a cosigned view of us-eucom's log, us-eucom holds the cosignature" \
  poll 60 witnessed "$US" ru-genstaff parley.example/us-eucom/ru-genstaff
check "nato-shape holds a cosigned view of ru-genstaff's log, ru-genstaff holds the cosignature" \
  poll 60 witnessed "$RU" us-eucom parley.example/ru-genstaff/us-eucom
# Each party forwards the heads of the other's log it countersigned: nato-shape holds both
# logs from both paths.
forwarded() {  # forwarded ORIGIN FORWARDER
  "$PARLEY" status --home "$NATO" --json |
    jq -e --arg o "$1" --arg f "$2" '[.witness.forwarded[] | select(.origin == $o and .forwarder == $f and .size > 0)] | length == 1'
}
check "ru-genstaff forwarded the heads of us-eucom's log it countersigned" \
  poll 60 forwarded parley.example/us-eucom/ru-genstaff ru-genstaff
check "us-eucom forwarded the heads of ru-genstaff's log it countersigned" \
  poll 60 forwarded parley.example/ru-genstaff/us-eucom us-eucom
check "no split view at the observer" bash -c \
  "'$PARLEY' status --home '$NATO' --json | jq -e '.witness.split_views == [] and .witness.alert == false'"
check "parley status (text) names what the observer witnesses" bash -c \
  "'$PARLEY' status --home '$NATO' | grep -q '^witnessing parley.example/us-eucom/ru-genstaff: cosigned size'"
check "/metrics counts the cosigned submissions" bash -c \
  "curl -s -H \"Authorization: Bearer \$(cat '$US/operator.token')\" http://127.0.0.1:${API[us]}/metrics | grep -Eq '^parley_checkpoints_cosigned_total [1-9]'"

# vkey NAME TYPE BUNDLE: the signed-note verifier key of BUNDLE's sign_key under NAME.
vkey() {
  python3 - "$1" "$2" "$3" <<'PY'
import base64, hashlib, json, sys
name, kind, bundle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = bytes([kind]) + base64.b64decode(json.load(open(bundle))["sign_key"])
kid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
print(f"{name}+{kid.hex()}+{base64.b64encode(key).decode()}")
PY
}
NATO_COSIGNER=$(vkey parley.example/nato-shape 4 "$DIR/nato.json")
for side in us ru; do
  if [[ $side == us ]]; then home=$US me=us-eucom peer=ru-genstaff; else home=$RU me=ru-genstaff peer=us-eucom; fi
  out=$DIR/t-$side
  check "transcript export by $me" "$PARLEY" transcript export --home "$home" --peer "$peer" "$out"
  check "$me's export carries its checkpoint cosigned by nato-shape" \
    grep -q '^— parley.example/nato-shape ' "$out/checkpoints/$me.note"
  {
    echo "# $me's log for $peer, witnessed by the ally"
    echo "log $(vkey "parley.example/$me/$peer" 1 "$DIR/$side.json")"
    echo "witness nato-shape $NATO_COSIGNER"
    echo "quorum nato-shape"
  } >"$DIR/policy-$side.txt"
  check "verify $me's export: exit 0" "$PARLEY" verify "$out"
  "$PARLEY" verify "$out" --policy "$DIR/policy-$side.txt" >"$DIR/verify.out" 2>&1
  rc=$?
  check "verify --policy $me's export: exit 0" test "$rc" -eq 0
  check "verify --policy says the policy is met and who cosigned" bash -c \
    "grep -q '^policy: met' '$DIR/verify.out' && grep -q 'cosigned by parley.example/nato-shape' '$DIR/verify.out'"
  "$PARLEY" verify "$out" --policy "$DIR/policy-$side.txt" --json >"$DIR/verify.json" 2>/dev/null
  check "verify --policy --json: policy met, cosigner listed" jq -e \
    "(.policy == \"met\") and ([.checkpoints[] | select(.owner == \"$me\") | .cosigners[]] == [\"parley.example/nato-shape\"])" "$DIR/verify.json"

  # The observer's cosignature removed: the export is still valid, the policy is not met.
  sed -i '/^— parley.example\/nato-shape /d' "$out/checkpoints/$me.note"
  check "cosignature removed: verify without a policy still exits 0" "$PARLEY" verify "$out"
  "$PARLEY" verify "$out" --policy "$DIR/policy-$side.txt" >"$DIR/verify.out" 2>&1
  rc=$?
  check "cosignature removed: verify --policy exits 3" test "$rc" -eq 3
  check "cosignature removed: verify names the unmet quorum" grep -q "quorum 'nato-shape' is not met" "$DIR/verify.out"
done

# A malformed policy is an error of the command (exit 1), not a verdict on the record.
printf 'witness nato-shape not-a-key\nquorum nato-shape\n' >"$DIR/bad-policy.txt"
"$PARLEY" verify "$DIR/t-us" --policy "$DIR/bad-policy.txt" >/dev/null 2>"$DIR/err"
rc=$?
check "a malformed policy: exit 1 with the line named" bash -c "[[ $rc -eq 1 ]] && grep -q 'policy line 1' '$DIR/err'"

echo "witness_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
