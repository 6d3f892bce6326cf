#!/bin/sh
# console_check.sh WEB_DIR: says in one line, and exits 1, unless WEB_DIR/node_modules is what
# `npm ci` made from WEB_DIR/package-lock.json (scripts/bootstrap records the lockfile it
# installed in node_modules/.parley-lock). Run by CMake before it builds the console.
web=$1
if [ ! -f "$web/node_modules/.parley-lock" ]; then
  echo "parley: web/node_modules is missing (the console's build tools): run scripts/bootstrap" >&2
  exit 1
fi
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.parley-lock"; then
  echo "parley: web/node_modules is older than web/package-lock.json: run scripts/bootstrap" >&2
  exit 1
fi
