#!/bin/sh
# replay -> file: CSV (with and without a header, epoch and RFC 3339 times,
# name and label columns) and vigil's own JSON lines come out with their
# timestamps, each row once; bad lines are skipped with a warning; the
# agent exits 0 by itself; `speed` follows the timestamps.
. "$(dirname "$0")/lib.sh"

cat >"$T/plain.csv" <<'CSV'
1700000000,1.5
1700000060.25,2
2024-01-01T00:00:00Z,3
"2024-01-01 00:00:01",4
2024-01-01T02:00:00.5+02:00,5
not-a-time,6
CSV
cat >"$T/named.csv" <<'CSV'
timestamp,name,value,host,dev
1700000000,disk.used,80,web-1,sda
1700000001,disk.used,81.5,web-1,"sd,b"
CSV
# the file output's own format, with an escape and a log line to skip
cat >"$T/events.jsonl" <<'JSON'
{"time":"2026-11-23T12:00:00.123456789Z","kind":"metric","name":"m.a","type":"counter","value":7,"labels":{"host":"h\u00e9","q":"a\"b"}}
{"time":"2026-11-23T12:00:00.5Z","kind":"log","severity":"info","body":"x","attributes":{"n":[1,{"a":null}]},"labels":{}}
{"time":"2026-11-23T12:00:01Z","kind":"metric","name":"m.b","type":"gauge","value":"NaN","labels":{}}
{"time": broken
JSON

cat >"$T/vigil.yaml" <<YAML
pipelines:
  csv:
    inputs:
      - name: replay
        paths: [$T/plain.csv, $T/named.csv]
        metric: cpu.usage
        labels: { src: replay }
    outputs:
      - name: file
        path: $T/csv.jsonl
  jsonl:
    inputs:
      - name: replay
        path: $T/events.jsonl
    outputs:
      - name: file
        alias: jl
        path: $T/jl.jsonl
YAML
start_vigil run -c "$T/vigil.yaml"
wait_exit "$VPID" 20 || fail "vigil did not exit after the files were read"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T/csv.jsonl" "$T/jl.jsonl" <<'PY' || fail "records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = [(r["time"], r["name"], r["value"], r["labels"]) for r in rows]
want = [
    ("2023-11-14T22:13:20.000000000Z", "cpu.usage", 1.5, {"src": "replay"}),
    ("2023-11-14T22:14:20.250000000Z", "cpu.usage", 2, {"src": "replay"}),
    ("2024-01-01T00:00:00.000000000Z", "cpu.usage", 3, {"src": "replay"}),
    ("2024-01-01T00:00:01.000000000Z", "cpu.usage", 4, {"src": "replay"}),
    ("2024-01-01T00:00:00.500000000Z", "cpu.usage", 5, {"src": "replay"}),
    ("2023-11-14T22:13:20.000000000Z", "disk.used", 80,
     {"host": "web-1", "dev": "sda", "src": "replay"}),
    ("2023-11-14T22:13:21.000000000Z", "disk.used", 81.5,
     {"host": "web-1", "dev": "sd,b", "src": "replay"}),
]
assert got == want, f"csv rows:\n{got}\nwant\n{want}"
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 2, rows
a, b = rows
assert a["time"] == "2026-11-23T12:00:00.123456789Z", a
assert a["type"] == "counter" and a["value"] == 7, a
assert a["labels"] == {"host": "h\u00e9", "q": 'a"b'}, a
assert b["name"] == "m.b" and b["value"] == "NaN", b
PY
ok "csv and jsonl rows with their timestamps, each once"

grep -q "plain.csv' line 6: cannot parse, skipped" "$T/run.log" ||
    fail "no warning for the bad csv line"
grep -q "events.jsonl' line 4: cannot parse, skipped" "$T/run.log" ||
    fail "no warning for the bad json line"
grep -q "every input is done" "$T/run.log" || fail "no done message"
ok "bad lines skipped with their line numbers"

# A file output's file replays to the same lines.
cat >"$T/again.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: replay
        path: $T/csv.jsonl
    outputs:
      - name: file
        path: $T/again.jsonl
YAML
start_vigil again -c "$T/again.yaml"
wait_exit "$VPID" 20 || fail "vigil did not exit (replay of its own output)"
[ "$RC" -eq 0 ] || fail "exit code $RC"
cmp -s "$T/csv.jsonl" "$T/again.jsonl" || fail "replayed output differs"
ok "file output replays to the same lines"

# speed 4: 8 s of timestamps take about 2 s
seq 0 8 | awk '{ printf "%d,%d\n", 1700000000 + $1, $1 }' >"$T/slow.csv"
cat >"$T/speed.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: replay
        path: $T/slow.csv
        speed: 4
    outputs:
      - name: file
        path: $T/slow.jsonl
YAML
start=$(date +%s.%N)
start_vigil speed -c "$T/speed.yaml"
wait_exit "$VPID" 20 || fail "vigil did not exit (speed)"
[ "$RC" -eq 0 ] || fail "exit code $RC"
end=$(date +%s.%N)
[ "$(lines "$T/slow.jsonl")" -eq 9 ] || fail "speed: $(cat "$T/slow.jsonl")"
python3 -c "import sys; sys.exit(not 1.9 <= $end - $start < 6)" ||
    fail "speed 4 over 8 s took $(python3 -c "print($end - $start)") s"
ok "speed follows the timestamps"
