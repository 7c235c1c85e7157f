#!/bin/sh
# The tail input on real files: new files found by the globs (excludes
# left out), existing files read from their end, CRLF, binary bytes, lines
# over max_line_size cut and flagged, a last line without newline flushed
# after flush_timeout, Java and Python traces joined by multiline, polling,
# and exit_on_eof ending a one-shot import.
. "$(dirname "$0")/lib.sh"
need_plugin in_tail

mkdir -p "$T/logs" "$T/ml"
printf 'old line 1\nold line 2\n' >"$T/logs/existing.log"
cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/logs/*.log" ]
        exclude: [ "*.skip.log" ]
        max_line_size: 1KiB
        flush_timeout: 300ms
        refresh_interval: 200ms
    outputs:
      - name: file
        path: $T/out.jsonl
        fsync: never
  ml:
    inputs:
      - name: tail
        paths: [ "$T/ml/java.log" ]
        multiline: { mode: java, timeout: 300ms }
      - name: tail
        paths: [ "$T/ml/py.log" ]
        multiline: { mode: python }
      - name: tail
        paths: [ "$T/ml/re.log" ]
        multiline: { start: '^\\d{4}-' }
    outputs:
      - name: file
        path: $T/ml.jsonl
        fsync: never
YAML
: >"$T/ml/java.log"
: >"$T/ml/py.log"
: >"$T/ml/re.log"
start_vigil run -c "$T/vigil.yaml"
wait_for 10 grep -q "following '$T/ml/re.log'" "$T/run.log" ||
    fail "tail did not start"

# existing file: only what is appended after the start
echo "appended" >>"$T/logs/existing.log"
# new files, found by the directory watch; an excluded one
printf 'crlf line\r\nsecond\r\n' >"$T/logs/new.log"
echo "must not appear" >"$T/logs/x.skip.log"
python3 - "$T/logs/bin.log" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"\xff\xfe\x00garbage\x80\n")
    f.write(b"after binary\n")
    f.write(b"L" * 5000 + b"\n")        # cut at 1 KiB, rest skipped
    f.write(b"after long\n")
    f.write(b"no newline yet")
PY
cat >>"$T/ml/java.log" <<'J'
2026-01-01 ERROR request failed
java.lang.IllegalStateException: boom
	at com.example.A.run(A.java:10)
	at com.example.B.call(B.java:20)
Caused by: java.io.IOException: disk full
	... 2 more
2026-01-01 INFO recovered
J
cat >>"$T/ml/py.log" <<'P'
Traceback (most recent call last):
  File "app.py", line 3, in <module>
    main()
ValueError: bad value
INFO after
P
printf '2026-01-01 first\n  detail a\n  detail b\n2026-01-02 second\n' \
    >>"$T/ml/re.log"

wait_for 10 sh -c "[ \$(wc -l <'$T/out.jsonl') -ge 8 ]" ||
    fail "lines missing: $(cat "$T/out.jsonl")"
wait_for 10 sh -c "[ \$(wc -l <'$T/ml.jsonl') -ge 7 ]" ||
    fail "records missing: $(cat "$T/ml.jsonl")"
sleep 0.5
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T/out.jsonl" "$T/ml.jsonl" "$T/logs" <<'PY' || fail "wrong events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
bodies = [e["body"] for e in ev]
by = {}
for e in ev:
    assert e["kind"] == "log", e
    assert e["labels"]["host"], e
    by.setdefault(e["labels"]["path"].rsplit("/", 1)[1], []).append(e)
assert [e["body"] for e in by["existing.log"]] == ["appended"], by
assert [e["body"] for e in by["new.log"]] == ["crlf line", "second"], by
assert "x.skip.log" not in by, by
b = by["bin.log"]
assert len(b) == 5, [x["body"][:20] for x in b]
assert b[1]["body"] == "after binary", b[1]
assert b[2]["body"] == "L" * 1024, len(b[2]["body"])
assert b[2]["attributes"].get("truncated") is True, b[2]
assert "truncated" not in b[1]["attributes"], b[1]
assert b[3]["body"] == "after long", b[3]
assert b[4]["body"] == "no newline yet", b[4]
ml = [json.loads(l) for l in open(sys.argv[2])]
got = {}
for e in ml:
    got.setdefault(e["labels"]["path"].rsplit("/", 1)[1], []).append(e["body"])
assert got["java.log"] == [
    "2026-01-01 ERROR request failed",
    "java.lang.IllegalStateException: boom\n"
    "\tat com.example.A.run(A.java:10)\n"
    "\tat com.example.B.call(B.java:20)\n"
    "Caused by: java.io.IOException: disk full\n"
    "\t... 2 more",
    "2026-01-01 INFO recovered"], got["java.log"]
assert got["py.log"] == [
    "Traceback (most recent call last):\n"
    "  File \"app.py\", line 3, in <module>\n"
    "    main()\n"
    "ValueError: bad value",
    "INFO after"], got["py.log"]
assert got["re.log"] == ["2026-01-01 first\n  detail a\n  detail b",
                         "2026-01-02 second"], got["re.log"]
PY
ok "discovery, exclude, CRLF, binary, max_line_size, flush_timeout, multiline"

# Polling instead of inotify, and a one-shot import that ends by itself.
mkdir -p "$T/poll"
seq 1 20000 | sed 's/^/poll line /' >"$T/poll/a.log"
seq 1 100 | sed 's/^/other /' >"$T/poll/b.log"
cat >"$T/poll.yaml" <<YAML
agent:
  state_dir: $T/state2
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/poll/*.log" ]
        watch: poll
        poll_interval: 50ms
        read_from_head: true
        exit_on_eof: true
        batch_size: 333
    outputs:
      - name: file
        path: $T/poll.jsonl
        fsync: never
YAML
start_vigil poll -c "$T/poll.yaml"
wait_exit "$VPID" 30 || fail "exit_on_eof: vigil did not end by itself"
[ "$RC" -eq 0 ] || fail "exit_on_eof: exit code $RC"
[ "$(lines "$T/poll.jsonl")" -eq 20100 ] ||
    fail "exit_on_eof: $(lines "$T/poll.jsonl") lines, want 20100"
grep -q 'every file was read to its end' "$T/poll.log" ||
    fail "no end message"

# Polling notices appends and new files.
cat >"$T/poll2.yaml" <<YAML
agent:
  state_dir: $T/state2
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/poll/*.log" ]
        watch: poll
        poll_interval: 50ms
        refresh_interval: 100ms
    outputs:
      - name: file
        path: $T/poll2.jsonl
        fsync: never
YAML
start_vigil poll2 -c "$T/poll2.yaml"
wait_for 10 grep -q "following '$T/poll/b.log'" "$T/poll2.log" ||
    fail "poll: tail did not start"
echo "polled append" >>"$T/poll/a.log"
echo "polled new" >"$T/poll/c.log"
wait_for 10 sh -c "[ \$(wc -l <'$T/poll2.jsonl') -ge 2 ]" ||
    fail "poll: $(lines "$T/poll2.jsonl") lines"
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "poll: vigil did not stop"
grep -q '"polled append"' "$T/poll2.jsonl" || fail "poll: append missed"
grep -q '"polled new"' "$T/poll2.jsonl" || fail "poll: new file missed"
[ "$(lines "$T/poll2.jsonl")" -eq 2 ] ||
    fail "poll: saved offsets not used: $(lines "$T/poll2.jsonl") lines"
ok "polling, exit_on_eof"

# Backpressure: a slow output with a small queue pauses the input, which
# resumes where it stopped; every line arrives once, in order.
mkdir -p "$T/bp"
seq 1 30000 | sed 's/^/bp /' >"$T/bp/big.log"
cat >"$T/bp.yaml" <<YAML
agent:
  state_dir: $T/state3
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/bp/big.log" ]
        read_from_head: true
        exit_on_eof: true
        batch_size: 500
    outputs:
      - name: tp_slow
        path: $T/bp.jsonl
        delay: 5ms
        buffer: { max_memory: 64KiB }
YAML
start_vigil bp -c "$T/bp.yaml"
wait_exit "$VPID" 60 || fail "backpressure: vigil did not end"
[ "$RC" -eq 0 ] || fail "backpressure: exit code $RC"
grep -q "paused: an output of pipeline 'p' is full" "$T/bp.log" ||
    fail "backpressure: input was not paused"
python3 - "$T/bp.jsonl" <<'PY' || fail "backpressure: lines"
import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1])]
assert b == ["bp %d" % i for i in range(1, 30001)], (len(b), b[:3])
PY
ok "paused by a full output and resumed: 30000 lines once, in order"

# An offsets file that cannot be written: reported once, lines still flow.
mkdir -p "$T/nosave"
cat >"$T/nosave.yaml" <<YAML
agent:
  state_dir: $T/state4
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/nosave/*.log" ]
        offsets_file: missing-dir/x.offsets
    outputs:
      - name: file
        path: $T/nosave.jsonl
        fsync: never
YAML
start_vigil nosave -c "$T/nosave.yaml"
wait_for 10 grep -q "core: running" "$T/nosave.log" ||
    fail "nosave: did not start"
for i in 1 2 3; do echo "ns $i" >"$T/nosave/$i.log"; sleep 1.1; done
wait_for 10 sh -c "[ \$(wc -l <'$T/nosave.jsonl') -ge 3 ]" ||
    fail "nosave: lines missing"
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "nosave: vigil did not stop"
[ "$(grep -c 'cannot save offsets' "$T/nosave.log")" -eq 1 ] ||
    fail "nosave: want one error, got $(grep -c 'cannot save offsets' \
        "$T/nosave.log")"
ok "an offsets file that cannot be written is reported once"
