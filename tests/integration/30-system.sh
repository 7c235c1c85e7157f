#!/bin/sh
# The system input end to end: the real vigil collects host metrics at 1s
# into a file output for about 3 s, stops on SIGTERM, and the JSON lines
# must hold every metric group, with system.memory.limit equal to MemTotal.
set -u

VIGIL=${VIGIL:-./vigil}
VIGIL_PLUGINS=${VIGIL_PLUGINS:-./plugins/.libs}

if [ "$(uname -s)" != Linux ] || [ ! -r /proc/meminfo ]; then
    echo "skip: needs Linux /proc"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "skip: python3 is needed to check the JSON output"
    exit 77
fi

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat > "$tmp/conf.yaml" <<YAML
pipelines:
  host:
    inputs:
      - name: system
        interval: 1s
        network:
          exclude: []
        processes:
          top: 3
    outputs:
      - name: file
        path: $tmp/out.jsonl
YAML

"$VIGIL" --plugin-path "$VIGIL_PLUGINS" -c "$tmp/conf.yaml" \
    > "$tmp/vigil.log" 2>&1 &
pid=$!
sleep 3.5
if ! kill -TERM "$pid" 2>/dev/null; then
    echo "FAIL: vigil exited early:"
    cat "$tmp/vigil.log"
    exit 1
fi
wait "$pid"
rc=$?
pid=
if [ "$rc" -ne 0 ]; then
    echo "FAIL: vigil exited with $rc after SIGTERM:"
    cat "$tmp/vigil.log"
    exit 1
fi

memtotal_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)

python3 - "$tmp/out.jsonl" "$memtotal_kb" <<'PY'
import json
import sys

path, memtotal = sys.argv[1], int(sys.argv[2]) * 1024
want = [
    "system.cpu.time", "system.cpu.utilization",
    "system.cpu.context_switches", "system.processes.created",
    "system.memory.usage", "system.memory.limit",
    "system.memory.utilization", "system.memory.linux.available",
    "system.cpu.load_average.1m", "system.cpu.load_average.5m",
    "system.cpu.load_average.15m",
    "system.filesystem.usage", "system.filesystem.utilization",
    "system.network.io", "system.network.packets",
    "system.network.connections", "system.network.udp.errors",
    "system.processes.count", "system.thread.count",
    "process.memory.usage", "process.cpu.utilization",
    "system.uptime", "system.boot_time", "system.cpu.logical.count",
    "system.file_descriptor.count", "system.file_descriptor.limit",
]
errors = []
seen = {}
try:
    lines = open(path).read().splitlines()
except OSError as e:
    print("FAIL: no output file: %s" % e)
    sys.exit(1)
for n, line in enumerate(lines, 1):
    try:
        ev = json.loads(line)
    except ValueError as e:
        errors.append("line %d is not JSON (%s): %.100s" % (n, e, line))
        continue
    missing = {"time", "kind", "name", "type", "value", "labels"} - set(ev)
    if missing:
        errors.append("line %d lacks %s" % (n, sorted(missing)))
        continue
    seen.setdefault(ev["name"], []).append(ev)
    if "host" not in ev["labels"]:
        errors.append("line %d has no host label" % n)

for name in want:
    if name not in seen:
        errors.append("metric %s missing" % name)
# disk metrics need a block device, which some containers lack
has_disks = any(l.split()[2] and not l.split()[2].startswith(("loop", "ram"))
                for l in open("/proc/diskstats"))
if has_disks and "system.disk.io" not in seen:
    errors.append("metric system.disk.io missing")
for ev in seen.get("system.memory.limit", []):
    if ev["value"] != memtotal:
        errors.append("system.memory.limit is %r, MemTotal*1024 is %d"
                      % (ev["value"], memtotal))
if not any(ev["labels"].get("network.interface.name") == "lo"
           for ev in seen.get("system.network.io", [])):
    errors.append("lo missing from system.network.io with exclude: []")
for ev in seen.get("system.cpu.utilization", []):
    if not 0 <= ev["value"] <= 1:
        errors.append("system.cpu.utilization out of range: %r" % ev["value"])
for ev in seen.get("system.cpu.time", []):
    if ev["type"] != "counter":
        errors.append("system.cpu.time is a %s, not a counter" % ev["type"])
        break
if len(seen.get("system.cpu.logical.count", [])) < 2:
    errors.append("fewer than 2 collections in 3.5 s at interval 1s")

if errors:
    print("FAIL:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print("ok: %d events, %d metric names" % (len(lines), len(seen)))
PY
