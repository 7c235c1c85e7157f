#!/bin/sh
# The tree stays clean under cppcheck (contrib/lint/cppcheck.sh) and
# clang-tidy (contrib/lint/clang-tidy.sh: .clang-tidy, with the compile
# flags of this build).  A tool that is not installed is skipped; the test
# is skipped if neither is.
. "$(dirname "$0")/lib.sh"

# The sources are the same in every build: lint them once, in the plain one.
if [ "${VIGIL_SANITIZERS:-no}" = yes ]; then
    echo "skip: linted by the build without sanitizers"
    exit 77
fi

ran=0
if command -v cppcheck >/dev/null; then
    sh "$VIGIL_SRCDIR/contrib/lint/cppcheck.sh" >"$T/cppcheck.txt" 2>&1 || {
        cat "$T/cppcheck.txt" >&2
        fail "cppcheck findings"
    }
    ok "cppcheck: no finding in src/ and plugins/"
    ran=1
else
    echo "skip: cppcheck not installed"
fi

rc=0
sh "$VIGIL_SRCDIR/contrib/lint/clang-tidy.sh" "$VIGIL_BUILDDIR" \
    >"$T/clang-tidy.txt" 2>&1 || rc=$?
case $rc in
0)
    ok "$(tail -n 1 "$T/clang-tidy.txt")"
    ran=1
    ;;
77)
    echo "skip: clang-tidy not installed"
    ;;
*)
    cat "$T/clang-tidy.txt" >&2
    fail "clang-tidy findings"
    ;;
esac
[ "$ran" -eq 1 ] || exit 77
