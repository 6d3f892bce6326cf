#!/usr/bin/env bash
# The man pages and the bash completion cannot drift from the binary silently:
# - every subcommand that `parley --help` lists (and, recursively, every sub-subcommand in
#   `parley CMD --help`) is named in man/parley.1 ("parley meeting propose") and in
#   packaging/parley.bash-completion (in the list of its parent's subcommands);
# - every option of every command is named in man/parley.1 and in the completion's list of
#   that command's options;
# - every key that the config parser accepts (config.cc's check_keys lists) is in
#   man/parley.toml.5.
# Usage: man_completion_test.sh PATH_TO_PARLEY SOURCE_DIR
set -uo pipefail

PARLEY=${1:?usage: man_completion_test.sh PATH_TO_PARLEY SOURCE_DIR}
SRC=${2:?usage: man_completion_test.sh PATH_TO_PARLEY SOURCE_DIR}
MAN=$SRC/man/parley.1
CONFIG_MAN=$SRC/man/parley.toml.5
COMPLETION=$SRC/packaging/parley.bash-completion
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }

# The man page as plain text: troff's "\-" is "-".
man_text=$(sed 's/\\-/-/g' "$MAN")
# shellcheck source=/dev/null
source "$COMPLETION" || { echo "FAILED: cannot source $COMPLETION"; exit 1; }

# section NAME: the lines of a CLI11 help section ("Subcommands:", "Options:") on stdin.
section() { awk -v s="$1" '$0 == s {on = 1; next} on && /^[^ ]/ {on = 0} on'; }
# The subcommands a help text lists (first word of each entry, two spaces of indent).
subcommands_of() { section "Subcommands:" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'; }
# The long options a help text lists (its entries' first column only, not descriptions).
options_of() {
  section "Options:" | sed -n 's/^  \(-[^ ]*\( [A-Z:=/_]*\)*\).*/\1/p' | grep -o -- '--[a-z][a-z-]*'
}

# check_command "parley meeting propose": its options here, its subcommands recursively.
check_command() {
  local command=$1 help sub option
  # shellcheck disable=SC2086
  help=$("$PARLEY" ${command#parley} --help 2>&1) || { bad "$command --help fails"; return; }
  if [[ $command != parley ]]; then
    if grep -qF -- "$command" <<<"$man_text"; then ok; else bad "man/parley.1 does not name '$command'"; fi
  fi
  if [[ -z ${_parley_options[$command]+set} ]]; then
    bad "the completion has no options for '$command'"
  fi
  while read -r option; do
    [[ -z $option ]] && continue
    # Every command has these; the completion offers them everywhere.
    [[ $option == --help || $option == --help-all ]] && continue
    if [[ " ${_parley_options[$command]-} " == *" $option "* ]]; then ok; else bad "the completion lacks '$option' of '$command'"; fi
    if grep -qF -- "$option" <<<"$man_text"; then ok; else bad "man/parley.1 does not name '$option' (of '$command')"; fi
  done < <(options_of <<<"$help")
  while read -r sub; do
    [[ -z $sub ]] && continue
    if [[ " ${_parley_subcommands[$command]-} " == *" $sub "* ]]; then ok; else bad "the completion lacks subcommand '$sub' of '$command'"; fi
    check_command "$command $sub"
  done < <(subcommands_of <<<"$help")
}

top=$("$PARLEY" --help 2>&1)
if [[ $(subcommands_of <<<"$top" | wc -l) -lt 10 ]]; then
  bad "could not read the subcommands of parley --help (has CLI11's help format changed?)"
fi
check_command parley

# The config keys: every name in a check_keys({...}) list of config.cc (a call may span lines).
keys=$(tr '\n' ' ' <"$SRC/src/parley/gateway/config.cc" | grep -o 'check_keys([^;]*{[^}]*}' | grep -o '"[a-z_]*"' | tr -d '"' | sort -u)
[[ $(wc -w <<<"$keys") -ge 10 ]] || bad "could not read the config keys from config.cc"
for key in $keys; do
  if grep -Eq "^\.(SH \"\[$key\]|BR $key )" "$CONFIG_MAN"; then ok; else bad "man/parley.toml.5 does not document '$key'"; fi
done

echo "man_completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
