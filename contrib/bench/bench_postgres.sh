#!/bin/sh
# Benchmark of the postgres output against psql's \copy, on a throwaway
# local PostgreSQL: N million samples and N million log lines from the
# generate input, then the very same rows loaded again with
# `psql -c "\copy ..."` into the same (truncated) tables with the same
# indexes.  Prints rows/s of both, their ratio, and vigil's CPU use.
#
#   contrib/bench/bench_postgres.sh [N]     N millions, default 2 (0.2: smoke)
#
# FORMAT=text selects the output's text COPY (default: binary).
# Environment: VIGIL_BUILDDIR (default ./build), VIGIL_SRCDIR (default .).
# As root, PostgreSQL runs as the `postgres` user (see
# tests/integration/pg-lib.sh).
set -u
N=${1:-2}
FORMAT=${FORMAT:-binary}
VIGIL_SRCDIR=${VIGIL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
VIGIL_BUILDDIR=${VIGIL_BUILDDIR:-$VIGIL_SRCDIR/build}
VIGIL=$VIGIL_BUILDDIR/vigil
VIGIL_PLUGINS=$VIGIL_BUILDDIR/plugins/.libs
VIGIL_TEST_PLUGINS=$VIGIL_BUILDDIR/tests/plugins/.libs
export VIGIL VIGIL_PLUGINS VIGIL_TEST_PLUGINS VIGIL_SRCDIR VIGIL_BUILDDIR
[ -x "$VIGIL" ] || { echo "no vigil at $VIGIL: build first" >&2; exit 2; }
ROWS=$(python3 -c "print(int(float('$N') * 1000000))")

. "$VIGIL_SRCDIR/tests/integration/lib.sh"
. "$VIGIL_SRCDIR/tests/integration/pg-lib.sh"
pg_createdb bench
DSN=$(pg_dsn bench)

# vigil_run KIND COUNT: runs vigil to the end; prints "wall cpu" seconds.
vigil_run() {
    cat >"$T/$1.yaml" <<YAML
agent:
  state_dir: $T/state
  log_level: warn
  shutdown_timeout: 600s
pipelines:
  bench:
    inputs:
      - name: generate
        kind: $1
        rate: 0
        count: $2
        batch_size: 10000
        series: 100
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: "$DSN"
        copy_format: $FORMAT
        buffer: { max_memory: 64MiB }
YAML
    python3 - "$VIGIL" "$PLUGPATH" "$T/$1.yaml" "$T/$1.log" <<'PY'
import os, sys, time
vigil, path, conf, log = sys.argv[1:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.execv(vigil, [vigil, "--plugin-path", path, "-c", conf])
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit("vigil failed: see " + log)
print("%.3f %.3f" % (wall, ru.ru_utime + ru.ru_stime))
PY
}

# psql_copy TABLE COLUMNS FILE: prints the wall seconds of a \copy.
psql_copy() {
    python3 - "$@" <<PY
import subprocess, sys, time
table, cols, path = sys.argv[1:]
t0 = time.monotonic()
subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", "$PGHOST_DIR", "-p", "$PGPORT_NUM", "-U",
                "$PGUSER_NAME", "-d", "bench", "-c",
                "\\\\copy %s (%s) from '%s'" % (table, cols, path)],
               check=True)
print("%.3f" % (time.monotonic() - t0))
PY
}

rate() {
    python3 -c "print('%.0f' % ($1 / $2))"
}

# The schema and the series exist before anything is timed.
vigil_run metric 1000 >/dev/null || fail "warm-up"
pg_sql bench -c "TRUNCATE vigil_samples, vigil_logs; CHECKPOINT" ||
    fail "truncate"

ver=$(pg_sql bench -c 'SHOW server_version')
printf 'rows: %s samples, %s log lines; vigil COPY %s, psql \\copy text\n' \
    "$ROWS" "$ROWS" "$FORMAT"
printf 'PostgreSQL %s, fsync off\n' "$ver"
SCOLS="time, series_id, value"
LCOLS="time, severity, severity_text, body, attributes, labels, source"
for kind in metric log; do
    if [ $kind = metric ]; then
        table=vigil_samples; cols=$SCOLS
    else
        table=vigil_logs; cols=$LCOLS
    fi
    out=$(vigil_run $kind "$ROWS") || fail "vigil $kind"
    set -- $out
    vwall=$1 vcpu=$2
    got=$(pg_sql bench -c "SELECT count(*) FROM $table")
    [ "$got" = "$ROWS" ] || fail "$table has $got rows, not $ROWS"
    pg_sql bench -c "\\copy (SELECT $cols FROM $table) to '$T/$table.txt'" ||
        fail "export"
    pg_sql bench -c "TRUNCATE $table; CHECKPOINT" || fail "truncate"
    pwall=$(psql_copy "$table" "$cols" "$T/$table.txt") || fail "psql \\copy"
    got=$(pg_sql bench -c "SELECT count(*) FROM $table")
    [ "$got" = "$ROWS" ] || fail "psql loaded $got rows"
    vr=$(rate "$ROWS" "$vwall")
    pr=$(rate "$ROWS" "$pwall")
    printf '%-13s vigil %9s rows/s (%.2fs, cpu %.0f%%)  ' \
        "$table" "$vr" "$vwall" "$(python3 -c "print($vcpu / $vwall * 100)")"
    printf 'psql \\copy %9s rows/s (%.2fs)  ratio %.0f%%\n' \
        "$pr" "$pwall" "$(python3 -c "print($pwall / $vwall * 100)")"
    pg_sql bench -c "TRUNCATE $table; CHECKPOINT" || fail "truncate"
done
