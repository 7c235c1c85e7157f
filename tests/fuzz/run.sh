#!/bin/sh
# Runs every libFuzzer target for a bounded time and fails if any of
# them finds a crash, a leak, undefined behaviour or a timeout.
#
#   tests/fuzz/run.sh [TARGET_SECONDS=N] [TARGET...]
#
# Run it from a build directory configured with --enable-fuzzing (or set
# FUZZ_BUILDDIR); it runs `make fuzz` there first (not with
# FUZZ_NO_BUILD=1).  TARGET names a target without its fuzz_ prefix
# (config, batch, ...); default: all of them.  TARGET_SECONDS (default
# 30) may also come from the environment.  Each target starts from its
# checked-in seeds in tests/fuzz/corpus/TARGET and adds what it finds to
# FUZZ_WORKDIR/corpus/TARGET (default: tests/fuzz/work/ in the build
# directory), so the seeds stay as they are; crashing inputs are written
# to FUZZ_WORKDIR/artifacts.  FUZZ_JOBS targets run at a time (default:
# the number of CPUs).
set -u

SRC=$(cd "$(dirname "$0")" && pwd)
BUILD=${FUZZ_BUILDDIR:-$(pwd)}
SECS=${TARGET_SECONDS:-30}
ALL="config batch http_request replay redact alert_template syslog statsd parse
    multiline prometheus"
only=""

for a in "$@"; do
    case "$a" in
    TARGET_SECONDS=*) SECS=${a#TARGET_SECONDS=} ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) only="$only ${a#fuzz_}" ;;
    esac
done
case "$SECS" in
''|*[!0-9]*) echo "run.sh: TARGET_SECONDS must be a number" >&2; exit 2 ;;
esac
if [ ! -f "$BUILD/Makefile" ] ||
    ! grep -q '^FUZZ_TARGETS *=' "$BUILD/Makefile"; then
    echo "run.sh: $BUILD is not a build directory configured with" \
        "--enable-fuzzing (CC=clang): run it from one" >&2
    exit 2
fi
# Build (or bring up to date) the targets first, unless told not to.
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    make -C "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" fuzz >/dev/null ||
        { echo "run.sh: 'make fuzz' failed in $BUILD" >&2; exit 1; }
fi
WORK=${FUZZ_WORKDIR:-$BUILD/tests/fuzz/work}
mkdir -p "$WORK/artifacts" "$WORK/cwd" || exit 2

# one TARGET: runs it; its exit code in $WORK/fuzz_TARGET.rc
one() {
    t=$1
    bin=$BUILD/tests/fuzz/fuzz_$t
    log=$WORK/fuzz_$t.log
    mkdir -p "$WORK/corpus/$t"
    # An empty directory as working directory and no stdin: a config
    # input may name files (${file:...}) and must find nothing there.
    (cd "$WORK/cwd" &&
     ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
     UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
     "$bin" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$WORK/artifacts/fuzz_$t-" \
        "$WORK/corpus/$t" "$SRC/corpus/$t") </dev/null >"$log" 2>&1
    echo $? >"$WORK/fuzz_$t.rc"
}

jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
todo=""
failed=0
for t in ${only:-$ALL}; do
    if [ ! -x "$BUILD/tests/fuzz/fuzz_$t" ]; then
        if [ -n "$only" ]; then
            echo "run.sh: fuzz_$t is not built" >&2
            failed=$((failed + 1))
        else
            echo "run.sh: fuzz_$t is not built, skipped"
        fi
        continue
    fi
    todo="$todo $t"
done
echo "run.sh: fuzzing$todo for ${SECS}s each, $jobs at a time"
# Targets in groups of $jobs: each group takes SECS (they are bounded by
# time, not by work, so a group ends together).
set -- $todo
while [ $# -gt 0 ]; do
    pids=""
    i=0
    while [ $# -gt 0 ] && [ "$i" -lt "$jobs" ]; do
        rm -f "$WORK/fuzz_$1.rc"
        one "$1" &
        pids="$pids $!"
        i=$((i + 1))
        shift
    done
    wait $pids
done

ran=0
summary=""
for t in $todo; do
    log=$WORK/fuzz_$t.log
    rc=$(cat "$WORK/fuzz_$t.rc" 2>/dev/null || echo 1)
    ran=$((ran + 1))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" != 0 ]; then
        failed=$((failed + 1))
        echo "==== fuzz_$t FAILED (exit $rc), log $log"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written|^    #[0-9]' \
            "$log" | head -n 40
        summary="$summary
  fuzz_$t: FAILED after ${execs:-?} executions"
    else
        summary="$summary
  fuzz_$t: ${execs:-?} executions in ${SECS}s, no crash"
    fi
done
echo "run.sh: $ran targets run, $failed failed$summary"
[ "$ran" -gt 0 ] || { echo "run.sh: no target is built" >&2; exit 1; }
[ "$failed" -eq 0 ]
