# Shared helpers of the integration tests: a temp dir removed at exit,
# vigil started in the background and killed at exit, waits with a bound.
# Sourced by each tests/integration/NN-*.sh; env from Makefile.am:
# VIGIL, VIGIL_PLUGINS, VIGIL_TEST_PLUGINS, VIGIL_SRCDIR, VIGIL_BUILDDIR.

set -u
: "${VIGIL:?run through make check}"
# VIGIL_VALGRIND=1: every vigil the test starts runs under memcheck.
if [ "${VIGIL_VALGRIND:-}" = 1 ]; then
    VIGIL_REAL=$VIGIL
    VIGIL="$(dirname "$0")/valgrind-vigil.sh"
    export VIGIL_REAL
fi
T=$(mktemp -d /tmp/vigil-test.XXXXXX)
PIDS=""
PLUGPATH="$VIGIL_PLUGINS:$VIGIL_TEST_PLUGINS"
NAME=$(basename "$0" .sh)

cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    if [ "${KEEP_TMP:-}" = "" ]; then rm -rf "$T"; fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $NAME: $*" >&2
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

ok() {
    echo "ok: $*"
}

# start_vigil LOGNAME ARGS...: runs vigil in the background, stdout and
# stderr to $T/LOGNAME.out and $T/LOGNAME.log; sets VPID.
start_vigil() {
    local log=$1
    shift
    "$VIGIL" --plugin-path "$PLUGPATH" "$@" >"$T/$log.out" 2>"$T/$log.log" &
    VPID=$!
    PIDS="$PIDS $VPID"
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
    local limit=$1 i=0
    shift
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -ge $((limit * 10)) ] && return 1
        sleep 0.1
    done
    return 0
}

# wait_exit PID SECONDS: waits for the process; its exit code in RC.
wait_exit() {
    local pid=$1 limit=$2 i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -ge $((limit * 10)) ]; then
            RC=timeout
            return 1
        fi
        sleep 0.1
    done
    wait "$pid"
    RC=$?
    return 0
}

# rss_limit KIB: the limit to check peak RSS against; sanitizers multiply
# memory use, so their builds only check against a generous bound.
rss_limit() {
    if [ "${VIGIL_SANITIZERS:-no}" = yes ]; then
        echo $(($1 * 8))
    else
        echo "$1"
    fi
}

# sample_peak_rss PID SECONDS: samples VmRSS every 0.1 s; the most seen,
# in KiB, in PEAK.
sample_peak_rss() {
    local pid=$1 n=$(($2 * 10)) i=0 rss
    PEAK=0
    while [ "$i" -lt "$n" ]; do
        sleep 0.1
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$rss" ] && [ "$rss" -gt "$PEAK" ] && PEAK=$rss
        i=$((i + 1))
    done
}

lines() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# need_plugin NAME...: skips the test (exit 77) unless every module was
# built: a plugin (in_tail, out_postgres, ...) in VIGIL_PLUGINS, or
# vigil-tls, the status server's TLS, beside the binary.  configure leaves
# out the plugins whose libraries are missing or disabled.
need_plugin() {
    local m
    for m in "$@"; do
        [ -f "$VIGIL_PLUGINS/$m.so" ] ||
            [ -f "$VIGIL_BUILDDIR/.libs/$m.so" ] || {
            echo "SKIP: $m was not built (see configure's summary)"
            exit 77
        }
    done
}

# free_port: a TCP and UDP port on 127.0.0.1 that nothing listens on now.
# Picked at random below the kernel's ephemeral range (32768 and up):
# a port taken from that range and released can be handed at once to
# another test's outgoing connection, and then vigil cannot bind it.
free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randrange(20000, 32000)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", port))
            s.close()
    except OSError:
        continue
    print(port)
    break
PY
}
