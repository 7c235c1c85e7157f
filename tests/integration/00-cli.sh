#!/bin/sh
# Command line: version, help, plugin listing, bad flags.
. "$(dirname "$0")/lib.sh"

"$VIGIL" --version | grep -q '^vigil [0-9.]* (plugin ABI 1)$' ||
    fail "--version"
"$VIGIL" --help | grep -q -- '--list-plugins' || fail "--help"
"$VIGIL" --help | grep -q -- '--plugin-path' || fail "--help plugin-path"
ok "version and help"

"$VIGIL" --plugin-path "$VIGIL_PLUGINS" --list-plugins >"$T/list" \
    2>"$T/list.err" || fail "--list-plugins exit code"
for p in "input  generate" "input  system" "filter enrich" \
         "output stdout" "output file"; do
    grep -q "^$p " "$T/list" || fail "--list-plugins lacks '$p'"
done
grep -q '^    path (string, required) ' "$T/list" ||
    fail "--list-plugins does not show the file output's options"
grep -q '^    format (choice, one of text|json, default: text) ' "$T/list" ||
    fail "--list-plugins does not show choices and defaults"
ok "list-plugins shows kinds, summaries and options"

# Refused modules are named with the reason, the rest still listed.
"$VIGIL" --plugin-path "$VIGIL_TEST_PLUGINS" --list-plugins \
    >"$T/tlist" 2>"$T/tlist.err"
grep -q "tp_old_abi.so: plugin ABI 2, this vigil speaks 1" "$T/tlist.err" ||
    fail "wrong-ABI module not reported"
grep -q "^output tp_good " "$T/tlist" || fail "good test module not listed"
ok "refused modules reported"

"$VIGIL" --no-such-flag >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown flag should exit 2"
"$VIGIL" --log-level=loud --check >/dev/null 2>"$T/lvl.err"
[ $? -eq 2 ] || fail "bad log level should exit 2"
grep -q "unknown log level 'loud'" "$T/lvl.err" || fail "log level message"
"$VIGIL" extra-arg >/dev/null 2>&1
[ $? -eq 2 ] || fail "stray argument should exit 2"
ok "bad command lines exit 2"
