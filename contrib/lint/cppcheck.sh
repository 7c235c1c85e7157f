#!/bin/sh
# Static analysis of the core and the plugins with cppcheck (warning,
# portability and performance checks).  Exits non-zero on any finding, so
# CI keeps the tree clean.  Run from anywhere: contrib/lint/cppcheck.sh
set -eu
cd "$(dirname "$0")/../.."
command -v cppcheck >/dev/null || { echo "cppcheck not installed"; exit 77; }
out=$(mktemp)
cppcheck --quiet --enable=warning,portability,performance --inline-suppr \
    --std=c11 --error-exitcode=0 -D__GNUC__ \
    -I include -I src/core -I src/lib/http -I plugins/input/system \
    --suppress=missingIncludeSystem \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    src plugins 2>"$out"
n=$(grep -c ': \(error\|warning\|portability\|performance\): ' "$out" || true)
cat "$out"
rm -f "$out"
echo "cppcheck: $n findings"
[ "$n" -eq 0 ]
