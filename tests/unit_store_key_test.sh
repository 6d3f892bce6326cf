#!/usr/bin/env bash
# The Debian unit hands the gateway its store key (issue 17; docs/operations.md "The store at
# rest"): packaging/parley.service loads the credential parley-store-key from the file the
# package's config names as [store] key_file, and a parley process given that credential
# ($CREDENTIALS_DIRECTORY/parley-store-key, as systemd gives it) opens the store with it,
# before the key file (here made wrong on purpose); a credential others may read is refused.
# Usage: unit_store_key_test.sh PATH_TO_PARLEY SOURCE_DIR
set -uo pipefail

source "$(dirname "$0")/lib.sh" unit-store-key "$1"
SRC=${2:?usage: unit_store_key_test.sh PATH_TO_PARLEY SOURCE_DIR}
UNIT=$SRC/packaging/parley.service
CONF=$SRC/packaging/parley.toml

KEY_FILE=$(sed -n 's/^key_file = "\(.*\)"$/\1/p' "$CONF")
check "the package's config names a key file" test -n "$KEY_FILE"
check "the package's config keeps encryption on" grep -qx "encrypt = true" "$CONF"
check "the unit loads it as the credential parley-store-key" \
  grep -qx "LoadCredential=parley-store-key:$KEY_FILE" "$UNIT"
check "the package's postinst makes that key file" grep -q "$KEY_FILE" "$SRC/packaging/debian/postinst"

H=$DIR/home
"$PARLEY" init --home "$H" --party us-eucom >/dev/null || { bad "init"; exit 1; }
mkdir -p "$DIR/credentials"
cp "$DIR/home.store-key" "$DIR/credentials/parley-store-key"
chmod 400 "$DIR/credentials/parley-store-key"
printf '%064x\n' 9 >"$DIR/home.store-key"  # the key file is now wrong
check "the credential opens the store (before the wrong key file)" \
  env CREDENTIALS_DIRECTORY="$DIR/credentials" "$PARLEY" principal list --home "$H"
if "$PARLEY" principal list --home "$H" >/dev/null 2>"$DIR/err"; then
  bad "without the credential the wrong key file opened the store"
else
  check "without the credential the wrong key file is refused" grep -q "the store key does not open" "$DIR/err"
fi
chmod 644 "$DIR/credentials/parley-store-key"
if env CREDENTIALS_DIRECTORY="$DIR/credentials" "$PARLEY" principal list --home "$H" >/dev/null 2>"$DIR/err"; then
  bad "a credential others may read was used"
else
  check "a credential others may read is refused, naming it" grep -q "^parley: $DIR/credentials/parley-store-key: " "$DIR/err"
fi

echo "passed: $passed, failed: $failed"
[[ $failed -eq 0 ]]
