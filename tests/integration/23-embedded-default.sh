#!/bin/sh
# No config: the embedded default prints host metrics to stdout.
. "$(dirname "$0")/lib.sh"

[ -e /usr/local/etc/vigil/vigil.yaml ] && exit 77
"$VIGIL" --plugin-path "$VIGIL_PLUGINS" --check >"$T/check" 2>&1 ||
    fail "embedded default does not validate: $(cat "$T/check")"
start_vigil run
wait_for 15 grep -q "system.memory" "$T/run.out" ||
    fail "no host metrics on stdout"
grep -q "running the embedded default pipeline" "$T/run.log" ||
    fail "embedded default not announced"
kill -INT "$VPID"
wait_exit "$VPID" 15 || fail "no exit after Ctrl-C"
[ "$RC" -eq 0 ] || fail "exit code $RC"
ok "embedded default prints host metrics and stops on Ctrl-C"
