#!/bin/sh
# The tree stays clean under cppcheck (contrib/lint/cppcheck.sh).
. "$(dirname "$0")/lib.sh"

command -v cppcheck >/dev/null || { echo "skip: cppcheck not installed"; exit 77; }
sh "$VIGIL_SRCDIR/contrib/lint/cppcheck.sh" >"$T/cppcheck.txt" 2>&1 || {
    cat "$T/cppcheck.txt" >&2
    fail "cppcheck findings"
}
ok "cppcheck: no finding in src/ and plugins/"
