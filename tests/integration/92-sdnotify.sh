#!/bin/sh
# Built --with-systemd: READY=1 once the pipelines run, the watchdog fed at
# half its period, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM, all on the socket systemd names in NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"

"$VIGIL" --version | grep -q "built with: systemd" || {
    echo "skip: vigil built without --with-systemd"
    exit 77
}
cat >"$T/vigil.yaml" <<YAML
pipelines:
  p:
    inputs: [ { name: generate, rate: 10 } ]
    outputs: [ { name: file, path: $T/out.jsonl } ]
YAML
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
with open(sys.argv[2], "w", buffering=1) as log:
    end = time.time() + 15
    while time.time() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        log.write("%.3f %s\n" % (time.time(), msg.replace("\n", " ")))
        if "STOPPING=1" in msg:
            break
PY
LISTENER=$!
PIDS="$PIDS $LISTENER"
wait_for 5 test -S "$T/notify.sock" || fail "listener not up"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 \
    start_vigil run -c "$T/vigil.yaml"
wait_for 5 grep -q "READY=1" "$T/notify.log" || fail "no READY=1"
sleep 1
[ "$(grep -c "WATCHDOG=1" "$T/notify.log")" -ge 3 ] ||
    fail "watchdog not fed: $(cat "$T/notify.log")"
kill -HUP "$VPID"
wait_for 5 grep -q "RELOADING=1" "$T/notify.log" || fail "no RELOADING=1"
wait_for 5 sh -c "grep -c READY=1 '$T/notify.log' | grep -q 2" ||
    fail "no READY=1 after the reload"
kill -TERM "$VPID"
wait_exit "$VPID" 10 || fail "no exit"
wait_for 5 grep -q "STOPPING=1" "$T/notify.log" || fail "no STOPPING=1"
ok "READY, WATCHDOG, RELOADING, STOPPING sent to NOTIFY_SOCKET"
