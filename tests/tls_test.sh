#!/usr/bin/env bash
# Issue 17, "TLS everywhere, checked by the standard tool": one gateway (us-eucom) serves its
# API over TLS 1.3 (`parley init --api-tls`: api.tls = true on 127.0.0.1, the same code path as
# any other address; only loopback may be plain, and forcing TLS there is allowed) beside a
# plain-loopback peer (ru-genstaff). Checked:
# - `parley init` prints the API certificate's SHA-256 fingerprint, and it is the file's;
# - the CLI reaches the https API with the pin from the home (status, send, inbox), and from
#   elsewhere with --api https://... --token T --api-pin FP; a wrong pin is refused at the
#   handshake with one line on stderr and exit 1; plain HTTP to the TLS port gets 400 and a
#   JSON reason; SSE (/api/v1/events) delivers an event over TLS;
# - the federation port refuses, at the handshake, a client certificate that is not pinned;
# - a gateway whose API listens on a non-loopback address without TLS refuses to start, one line;
# - Debian's testssl.sh (3.0.8) finds nothing of severity LOW or above on the API port and on the
#   federation port, apart from the one finding listed in ALLOWED below (read why there).
# Skipped (exit 77) without testssl.sh (scripts/bootstrap installs it).
# Usage: tls_test.sh PATH_TO_PARLEY
set -uo pipefail

source "$(dirname "$0")/lib.sh" tls "$@"

TESTSSL=$(command -v testssl || command -v testssl.sh || true)
if [[ -z $TESTSSL ]]; then
  echo "SKIP: testssl.sh is not installed (scripts/bootstrap installs Debian's testssl.sh)"
  exit 77
fi

US=$DIR/us RU=$DIR/ru PLAIN=$DIR/plain
US_FED=$(free_port) US_API=$(free_port) RU_FED=$(free_port) RU_API=$(free_port)
"$PARLEY" init --home "$US" --party us-eucom --federation 127.0.0.1:"$US_FED" \
  --api 127.0.0.1:"$US_API" --api-tls >"$DIR/init.out" || { bad "init us"; exit 1; }
"$PARLEY" init --home "$RU" --party ru-genstaff --federation 127.0.0.1:"$RU_FED" \
  --api 127.0.0.1:"$RU_API" >/dev/null || { bad "init ru"; exit 1; }

# --- the pin parley init printed is the certificate's ---
PIN=$(grep -oE '^[0-9a-f]{64}$' "$DIR/init.out")
FILE_PIN=$(openssl x509 -in "$US/tls/api-cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "init prints the API certificate's SHA-256 fingerprint" test -n "$PIN" -a "$PIN" == "$FILE_PIN"
check "init wrote api.tls = true" grep -qx 'tls = true' "$US/parley.toml"
check "the API key is private" test "$(stat -c %a "$US/tls/api-key.pem")" == 600

federate "$US" "$RU"
SACEUR=$("$PARLEY" principal add --home "$US" saceur --role commander)
"$PARLEY" principal add --home "$RU" cgs >/dev/null
check "line add us" "$PARLEY" line add --home "$US" hotline --local saceur --remote ru-genstaff/cgs
check "line add ru" "$PARLEY" line add --home "$RU" hotline --local cgs --remote us-eucom/saceur

"$PARLEY" gateway --home "$US" 2>"$DIR/us.log" &
PIDS+=($!)
"$PARLEY" gateway --home "$RU" 2>"$DIR/ru.log" &
PIDS+=($!)
# curl trusts exactly the self-signed certificate (its SAN holds 127.0.0.1): a pin, as parley's.
CURL=(curl -s --max-time 10 --cacert "$US/tls/api-cert.pem")
check "us gateway ready over https" poll 30 "${CURL[@]}" -f "https://127.0.0.1:$US_API/readyz"
check "ru gateway ready (plain loopback, unchanged)" poll 30 curl -sf "http://127.0.0.1:$RU_API/readyz"

# --- the CLI over TLS, pinned ---
check "status --home (the operator, pin from the home)" bash -c \
  "'$PARLEY' status --home '$US' | grep -q 'peer ru-genstaff'"
ID=$("$PARLEY" send --home "$US" --as saceur --line hotline --text "over TLS" 2>"$DIR/send.err")
check "send --home --as over https prints the id" test -n "$ID"
check "the peer receives it" poll 30 bash -c \
  "'$PARLEY' inbox --home '$RU' --as cgs --json | jq -e --arg id '$ID' 'map(select(.id == \$id)) | length == 1'"
check "inbox --api https://... --token --api-pin (from elsewhere)" bash -c \
  "'$PARLEY' outbox --api 'https://127.0.0.1:$US_API' --token '$SACEUR' --api-pin '$PIN' --json | jq -e --arg id '$ID' 'map(select(.id == \$id)) | length == 1'"
check "--api-pin in capitals is the same pin" "$PARLEY" outbox --api "https://127.0.0.1:$US_API" \
  --token "$SACEUR" --api-pin "${PIN^^}" --json

WRONG=$(printf '%064d' 0)
"$PARLEY" outbox --api "https://127.0.0.1:$US_API" --token "$SACEUR" --api-pin "$WRONG" \
  >/dev/null 2>"$DIR/wrong.err"
rc=$?
check "a wrong --api-pin: exit 1" test "$rc" -eq 1
check "a wrong --api-pin: one line naming both fingerprints, refused at the handshake" bash -c \
  "[[ \$(wc -l <'$DIR/wrong.err') -eq 1 ]] && grep -q \"certificate $PIN is not the pinned $WRONG (refused at the handshake)\" '$DIR/wrong.err'"
# The home's pin is the certificate's: a changed certificate file is a wrong pin too.
cp "$US/parley.toml" "$DIR/parley.toml.saved"
"$PARLEY" init --home "$DIR/other" --party nato-shape --federation 127.0.0.1:1 >/dev/null
cp "$DIR/other/tls/api-cert.pem" "$DIR/other-cert.pem"
sed -i "s|^cert = .*|cert = \"$DIR/other-cert.pem\"|" "$US/parley.toml"
"$PARLEY" status --home "$US" >/dev/null 2>"$DIR/home-wrong.err"
rc=$?
cp "$DIR/parley.toml.saved" "$US/parley.toml"
check "status --home with another certificate than the server's: exit 1, refused at the handshake" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'refused at the handshake' '$DIR/home-wrong.err'"
check "--api-pin that is not 64 hex digits: refused, saying so" bash -c \
  "out=\$('$PARLEY' outbox --api 'https://127.0.0.1:$US_API' --token '$SACEUR' --api-pin abc 2>&1); [[ \$? -ne 0 ]] && grep -q '64 hex digits' <<<\"\$out\""
check "--api-pin with an http URL: refused, saying so" bash -c \
  "out=\$('$PARLEY' outbox --api 'http://127.0.0.1:$US_API' --token '$SACEUR' --api-pin '$PIN' 2>&1); [[ \$? -ne 0 ]] && grep -q 'needs an https://' <<<\"\$out\""

# --- plain HTTP to the TLS port ---
code=$(curl -s --max-time 10 -o "$DIR/plain.body" -w '%{http_code}' "http://127.0.0.1:$US_API/readyz")
check "plain HTTP to the TLS API port: 400" test "$code" == 400
check "plain HTTP to the TLS API port: a JSON reason saying https" \
  jq -e '.error | test("https://")' "$DIR/plain.body"
check "the CLI with an http URL to the TLS port: exit 1 with that reason" bash -c \
  "'$PARLEY' outbox --api 'http://127.0.0.1:$US_API' --token '$SACEUR' 2>&1 >/dev/null | grep -q 'speaks HTTPS'"
check "responses over TLS carry HSTS" bash -c \
  "${CURL[*]} -D - -o /dev/null 'https://127.0.0.1:$US_API/healthz' | grep -qi '^strict-transport-security: max-age=31536000'"

# --- SSE over TLS ---
"${CURL[@]}" --max-time 30 -N -D "$DIR/events.head" -H "Authorization: Bearer $SACEUR" \
  "https://127.0.0.1:$US_API/api/v1/events" >"$DIR/events" 2>/dev/null &
EVENTS_PID=$!
PIDS+=("$EVENTS_PID")
check "SSE over TLS: the stream opens (200, text/event-stream)" poll 15 bash -c \
  "grep -q '^HTTP/1.1 200' '$DIR/events.head' && grep -qi '^content-type: text/event-stream' '$DIR/events.head'"
REPLY=$("$PARLEY" send --home "$RU" --as cgs --line hotline --text "answer over TLS")
check "SSE over TLS: the peer's message arrives as an event" poll 30 grep -q "$REPLY" "$DIR/events"
kill "$EVENTS_PID" 2>/dev/null

# --- the federation port: an unpinned client certificate is refused at the handshake ---
FED_CURL=(curl -s --max-time 10 -k -o /dev/null -w '%{http_code}')
check "federation: the pinned peer's certificate gets an HTTP answer" bash -c \
  "[[ \$(${FED_CURL[*]} --cert '$RU/tls/cert.pem' --key '$RU/tls/key.pem' https://127.0.0.1:$US_FED/) =~ ^[1-5][0-9][0-9]$ ]]"
check "federation: an unpinned certificate gets no HTTP answer" bash -c \
  "[[ \$(${FED_CURL[*]} --cert '$DIR/other/tls/cert.pem' --key '$DIR/other/tls/key.pem' https://127.0.0.1:$US_FED/) == 000 ]]"
check "federation: counted as an unpinned certificate in /metrics" bash -c \
  "${CURL[*]} -H 'Authorization: Bearer $(cat "$US/operator.token")' https://127.0.0.1:$US_API/metrics | grep -q '^parley_handshakes_refused_total{reason=\"unpinned_certificate\"} [1-9]'"

# --- no plain HTTP off loopback: the gateway refuses to start ---
"$PARLEY" init --home "$PLAIN" --party plain-party --federation 127.0.0.1:"$(free_port)" \
  --api 127.0.0.1:"$(free_port)" >/dev/null
sed -i 's/^listen = "127.0.0.1:\([0-9]*\)"$/listen = "0.0.0.0:\1"/' "$PLAIN/parley.toml"
check "the plain home now listens on 0.0.0.0" grep -q '^listen = "0.0.0.0:' "$PLAIN/parley.toml"
timeout 20 "$PARLEY" gateway --home "$PLAIN" >/dev/null 2>"$DIR/plain.err"
rc=$?
check "API on 0.0.0.0 without TLS: the gateway exits 1" test "$rc" -eq 1
check "API on 0.0.0.0 without TLS: one line with file:line and the reason" bash -c \
  "[[ \$(wc -l <'$DIR/plain.err') -eq 1 ]] && grep -q 'parley.toml:[0-9]*: api.listen .0.0.0.0:[0-9]*. is not a loopback address: .*api.tls = true' '$DIR/plain.err'"

# --- testssl.sh on both ports ---
# Options, chosen to keep each port to a few minutes on a loaded 2-core machine (a full run
# took 16 minutes here): -p (every protocol, SSLv2 to TLS 1.3: anything below 1.3 offered is
# a finding), -s (the standard cipher categories: NULL, anonymous, export, 3DES/RC4, CBC ...),
# -S (server defaults: the certificate, its key, names, validity, chain of trust, tickets),
# -R (renegotiation) and -C (CRIME, TLS compression), and on the API -h (HSTS and the security
# headers). Left out: client simulations (-c), each-cipher runs (-e/-E), -f/-P (forward secrecy
# and cipher order, fixed by TLS 1.3's suites) and the rest of -U, whose vulnerabilities
# (Heartbleed, POODLE, ROBOT, SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13, RC4 ...) all need a
# protocol or cipher below TLS 1.3, which -p and -s show absent. No DNS at all (the test stays
# on loopback). --add-ca makes the pinned self-signed certificate the trust anchor, as the pin
# does for parley's clients. testssl.sh 3.0.8 has no --mtls (3.1 added it): on the federation
# port it scans without a client certificate, so the gateway ends each session once its
# handshake is done. Protocols, cipher categories, renegotiation and compression are still
# seen; the server defaults (-S: the certificate) are not: testssl.sh says so in a WARN
# "scanProblem", the one WARN accepted there. The federation certificate's own properties
# (Ed25519, at most 825 days) are checked below with openssl instead.
#
# ALLOWED: cert_revocation (HIGH, "Neither CRL nor OCSP URI provided"). testssl.sh assumes a
# CA's certificate; parley's are self-signed and pinned, so revocation is the peer (or the
# principal) changing the pin, and a CRL or OCSP address in the certificate would point at
# nothing. It is the only finding tolerated, and only with exactly that text.
testssl_scan() {  # testssl_scan NAME PORT CA_FILE [EXTRA OPTION...]: one scan, its JSON
  local name=$1 port=$2 ca=$3; shift 3
  local start=$SECONDS
  timeout 600 "$TESTSSL" --quiet --warnings off --nodns none --color 0 --add-ca "$ca" \
    --connect-timeout 10 --openssl-timeout 10 --jsonfile "$DIR/testssl-$name.json" \
    -p -s -S -R -C "$@" "127.0.0.1:$port" >"$DIR/testssl-$name.txt" 2>&1
  echo "testssl.sh on the $name port took $((SECONDS - start)) s (exit $?)"
}
testssl_judge() {  # testssl_judge NAME: the checks of its scan's findings
  local name=$1
  local json=$DIR/testssl-$name.json
  check "testssl $name: ran and saw TLS 1.3 offered" \
    jq -e 'any(.[]; .id == "TLS1_3" and (.finding | test("^offered")))' "$json"
  check "testssl $name: nothing below TLS 1.3 offered" \
    jq -e '[.[] | select(.id | test("^(SSLv2|SSLv3|TLS1|TLS1_1|TLS1_2)$"))] | length == 5 and all(.finding == "not offered")' "$json"
  check "testssl $name: no compression (CRIME)" \
    jq -e 'any(.[]; .id == "CRIME_TLS" and (.finding | test("^not vulnerable|TLS 1.3 only")))' "$json"
  check "testssl $name: no renegotiation" \
    jq -e 'any(.[]; .id == "secure_client_renego" and (.finding | test("^not vulnerable")))' "$json"
  check "testssl $name: no weak cipher category offered, strong ones offered" jq -e '
    [.[] | select(.id | test("^cipherlist_(NULL|aNULL|EXPORT|LOW|3DES_IDEA|AVERAGE)$"))] as $weak
    | ($weak | length) == 6 and ($weak | all(.finding == "not offered"))
    and any(.[]; .id == "cipherlist_STRONG" and .finding == "offered")' "$json"
  local problems
  problems=$(jq -r '.[] | select(.id == "scanProblem") | .finding' "$json")
  if [[ -z $problems ]] || [[ $name == federation && $problems == *"we cannot retrieve the certificate"* ]]; then
    ok "testssl $name: no scan problem but the known one (${problems:-none})"
  else
    bad "testssl $name: scan problem: $problems"
  fi
  local findings
  findings=$(jq -r '.[] | select(.severity | IN("LOW", "MEDIUM", "HIGH", "CRITICAL"))
    | select((.id | startswith("cert_revocation")) and .finding == "Neither CRL nor OCSP URI provided" | not)
    | "\(.severity) \(.id): \(.finding)"' "$json")
  if [[ -z $findings ]]; then
    ok "testssl $name: no finding of severity LOW or above"
  else
    bad "testssl $name: findings: $(tr '\n' ';' <<<"$findings")"
  fi
}
# The two scans run at once: most of testssl.sh's time is its own start-up and the
# handshakes it waits for, not CPU.
testssl_scan api "$US_API" "$US/tls/api-cert.pem" -h &
SCANS=($!)
testssl_scan federation "$US_FED" "$US/tls/cert.pem" &
SCANS+=($!)
wait "${SCANS[@]}"  # not a bare wait: the gateways run in the background too
testssl_judge api
testssl_judge federation
# What -S cannot see on the federation port without a client certificate.
check "federation certificate: Ed25519, valid at most 825 days" bash -c "
  openssl x509 -in '$US/tls/cert.pem' -noout -text | grep -q 'Public Key Algorithm: ED25519' &&
  start=\$(date -d \"\$(openssl x509 -in '$US/tls/cert.pem' -noout -startdate | cut -d= -f2)\" +%s) &&
  end=\$(date -d \"\$(openssl x509 -in '$US/tls/cert.pem' -noout -enddate | cut -d= -f2)\" +%s) &&
  (( end - start <= 825 * 86400 ))"

echo "passed: $passed, failed: $failed"
[[ $failed -eq 0 ]]
