#!/bin/sh
# One command to set up, build and run vigil, or to run its whole test
# suite, on a fresh Debian 12 machine.
#
#   ./build.sh run [VIGIL-ARGS...]  install build deps (as root), build in
#                                   build/, start build/vigil (Ctrl-C stops)
#   ./build.sh test                 install build and test deps (as root),
#                                   build with -Werror and run `make check`,
#                                   then `make distcheck` (the release
#                                   tarball builds, passes its quick tests,
#                                   installs and cleans up: one test),
#                                   the core's tests again under valgrind,
#                                   then again under ASan+UBSan, the quick
#                                   tests of a build without the optional
#                                   libraries, then run
#                                   each libFuzzer target for FUZZ_SECONDS
#                                   (default 30; 0 skips); ends with
#                                   "N passed, N failed"
set -eu

cd "$(dirname "$0")"
SRC=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

BUILD_DEPS="build-essential autoconf automake libtool pkg-config \
libev-dev libltdl-dev libyaml-dev libssl-dev libpq-dev libcurl4-openssl-dev \
libpcre2-dev zlib1g-dev"
TEST_DEPS="libcmocka-dev python3 bsdutils procps openssl postgresql \
libsystemd-dev clang libclang-rt-14-dev curl cppcheck valgrind \
debhelper dpkg-dev"

install_deps() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        need=""
        for p in "$@"; do
            dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
                grep -q "install ok installed" || need="$need $p"
        done
        if [ -n "$need" ]; then
            echo "build.sh: installing$need"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
        fi
    elif [ "$(id -u)" != 0 ]; then
        echo "build.sh: not root: make sure these are installed: $*" >&2
    fi
}

# build DIR CONFIGURE-ARGS...: out-of-tree build in DIR.
build() {
    dir=$1
    shift
    [ -x configure ] || autoreconf -fi
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$SRC/configure" -nt "$dir/Makefile" ]
    then
        (cd "$dir" && "$SRC/configure" "$@")
    fi
    make -C "$dir" -j"$JOBS"
}

# check DIR [TESTS]: make check in DIR (only TESTS when given); adds its
# counts to PASSED and FAILED.
check() {
    dir=$1
    rc=0
    if [ -n "${2:-}" ]; then
        make -C "$dir" -j"$JOBS" check TESTS="$2" || rc=$?
    else
        make -C "$dir" -j"$JOBS" check || rc=$?
    fi
    log="$dir/test-suite.log"
    p=$(sed -n 's/^# PASS: *//p' "$log" | head -n1)
    f=$(sed -n 's/^# FAIL: *//p' "$log" | head -n1)
    e=$(sed -n 's/^# ERROR: *//p' "$log" | head -n1)
    PASSED=$((PASSED + ${p:-0}))
    FAILED=$((FAILED + ${f:-0} + ${e:-0}))
    if [ "$rc" != 0 ]; then
        # Show what failed; make check's summary names the logs.
        for l in $(find "$dir/tests" -name '*.log' 2>/dev/null); do
            if grep -q '^FAIL\|^ERROR' "${l%.log}.trs" 2>/dev/null; then
                echo "==== $l"
                tail -n 60 "$l"
            fi
        done
        [ "$FAILED" -gt 0 ] || FAILED=1
    fi
}

# The tests of the core, again with every vigil under valgrind memcheck
# (no invalid access, no definite leak at exit).
VALGRIND_TESTS="tests/integration/10-config-errors.sh \
tests/integration/20-generate-file.sh tests/integration/21-sigterm-drain.sh \
tests/integration/22-sighup-reload.sh tests/integration/27-dead-letter.sh"

memcheck() {
    command -v valgrind >/dev/null || {
        echo "build.sh: valgrind not found: memcheck runs skipped"
        return 0
    }
    VIGIL_VALGRIND=1
    export VIGIL_VALGRIND
    check build "$VALGRIND_TESTS"
    unset VIGIL_VALGRIND
}

# Every optional library off: the plugins that need none still build with
# -Werror, configure leaves the others out, and the core names them when a
# config asks for one.  Its quick tests: the unit tests, the CLI, config
# errors, a pipeline, install and the manual.
MIN_CONFIGURE="--with-libpq=no --with-libcurl=no --with-pcre2=no \
--with-openssl=no --with-zlib=no"
MIN_TESTS='$(DISTCHECK_TESTS) tests/integration/10-config-errors.sh'

# distcheck: make distcheck from the build in build/; it runs the quick
# subset DISTCHECK_TESTS of Makefile.am in the tarball's build.  One test.
distcheck() {
    rc=0
    make -C build -j"$JOBS" distcheck >build/distcheck.log 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        PASSED=$((PASSED + 1))
    else
        tail -n 60 build/distcheck.log
        FAILED=$((FAILED + 1))
    fi
}

# fuzz: every libFuzzer target for FUZZ_SECONDS under ASan+UBSan (clang);
# each target counts as one test.
fuzz() {
    secs=${FUZZ_SECONDS:-30}
    [ "$secs" != 0 ] || return 0
    if ! command -v clang >/dev/null; then
        echo "build.sh: clang not found: fuzz targets not run"
        return 0
    fi
    build build-fuzz CC=clang --enable-fuzzing
    rc=0
    (cd build-fuzz && sh "$SRC/tests/fuzz/run.sh" TARGET_SECONDS="$secs") \
        >build-fuzz/fuzz-run.log 2>&1 || rc=$?
    cat build-fuzz/fuzz-run.log
    line=$(sed -n 's/^run.sh: \([0-9]*\) targets run, \([0-9]*\) failed.*/\1 \2/p' \
           build-fuzz/fuzz-run.log)
    set -- $line
    PASSED=$((PASSED + ${1:-0} - ${2:-0}))
    FAILED=$((FAILED + ${2:-0}))
    if [ "$rc" != 0 ] && [ "${2:-0}" = 0 ]; then
        FAILED=$((FAILED + 1))
    fi
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
    install_deps $BUILD_DEPS
    build build
    exec build/vigil "$@"
    ;;
test)
    install_deps $BUILD_DEPS $TEST_DEPS
    PASSED=0
    FAILED=0
    build build --enable-werror --with-systemd
    check build
    distcheck
    memcheck
    build build-asan --enable-werror --enable-sanitizers
    check build-asan
    build build-min --enable-werror $MIN_CONFIGURE
    check build-min "$MIN_TESTS"
    fuzz
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    ;;
*)
    echo "usage: ./build.sh run [VIGIL-ARGS...] | ./build.sh test" >&2
    exit 2
    ;;
esac
