#!/bin/sh
# Secrets never show: not in logs (even at trace level), errors, the status
# API or /metrics.  A config holding secrets in clear and readable by all is
# warned about.  As root, agent.user drops privileges once the pipelines
# run, and the state directory follows.
. "$(dirname "$0")/lib.sh"
need_plugin out_http out_slack out_pagerduty flt_redact

PORT=$(free_port)
SECRET_TOKEN=tok-4f9a1c77e2
SECRET_KEY=rk-0b6e5d1a9c8f7e6d5c4b3a2918f7e6d5
SECRET_HOOK=T000/B000/hook-secret-3a9c
SECRET_HMAC=hmac-key-77c1e0
export SECRET_TOKEN SECRET_KEY SECRET_HOOK SECRET_HMAC

cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
  http: { listen: "127.0.0.1:$PORT", token: "\${SECRET_TOKEN}" }
pipelines:
  p:
    inputs:
      - name: generate
        kind: both
        rate: 50
        interval: 100ms
        message: "user alice@example.com logged in from 10.1.2.3"
    filters:
      - name: redact
        rules:
          - { detector: email, action: hash, key: "\${SECRET_HMAC}" }
      - name: alert
        rules:
          - { name: always, metric: vigil.generate, above: 0, severity: critical }
    outputs:
      - name: file
        path: $T/out.jsonl
      - name: pagerduty
        routing_key: "\${SECRET_KEY}"
        endpoint: "https://127.0.0.1:1/v2/enqueue"
        retry: { initial: 100ms, max: 200ms }
      - name: slack
        webhook_url: "https://127.0.0.1:1/services/\${SECRET_HOOK}"
        retry: { initial: 100ms, max: 200ms }
      - name: http
        url: "https://127.0.0.1:1/ingest"
        auth: { bearer_token: "\${SECRET_TOKEN}" }
        retry: { initial: 100ms, max: 200ms }
YAML
chmod 0644 "$T/vigil.yaml"
start_vigil run -c "$T/vigil.yaml" --log-level trace
wait_for 10 curl -sf "http://127.0.0.1:$PORT/health" || fail "not up"
sleep 1.5
for p in /metrics /api/v1/status /api/v1/alerts /health; do
    curl -s -H "Authorization: Bearer $SECRET_TOKEN" \
        "http://127.0.0.1:$PORT$p" >>"$T/api.txt"
done
curl -s -X POST -H "Authorization: Bearer $SECRET_TOKEN" \
    "http://127.0.0.1:$PORT/api/v1/reload" >>"$T/api.txt"
kill -TERM "$VPID"
sleep 0.3
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "no exit"
grep -q '"rule":"always"' "$T/api.txt" || fail "the API answered nothing useful"
grep -q "flush failed" "$T/run.log" || fail "the outputs never failed: the test proves little"
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/vigil.yaml" >"$T/check.txt" 2>&1
for s in "$SECRET_TOKEN" "$SECRET_KEY" "$SECRET_HOOK" "$SECRET_HMAC"; do
    if grep -rqF -- "$s" "$T/run.log" "$T/run.out" "$T/api.txt" "$T/check.txt" \
        "$T/out.jsonl" "$T/state"; then
        grep -rnF -- "$s" "$T/run.log" "$T/api.txt" "$T/state" | head -3 >&2
        fail "a secret was printed"
    fi
done
grep -q "alice@example.com" "$T/out.jsonl" && fail "redact let an e-mail through"
ok "no secret in logs at trace level, the API, --check, the output or state files"

# Literal secrets in a world-readable file are worth a warning.
cat >"$T/clear.yaml" <<YAML
agent:
  state_dir: $T/state2
pipelines:
  p:
    inputs: [ { name: generate, count: 1, exit_when_done: true } ]
    outputs:
      - name: http
        url: "http://127.0.0.1:1/x"
        auth: { bearer_token: "literal-secret-in-file" }
        retry: { max_attempts: 1 }
YAML
chmod 0644 "$T/clear.yaml"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/clear.yaml" >"$T/clear.out" 2>&1
grep -q "config '$T/clear.yaml' holds 1 secret in clear and is readable by everyone (mode 0644)" \
    "$T/clear.out" || fail "no warning for a readable config with a secret: $(head -3 "$T/clear.out")"
grep -q "literal-secret-in-file" "$T/clear.out" && fail "the literal secret was printed"
chmod 0600 "$T/clear.yaml"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/clear.yaml" >"$T/clear2.out" 2>&1
grep -q "readable by everyone" "$T/clear2.out" && fail "warned about a 0600 file"
ok "a config with secrets in clear and readable by all is warned about"

# Dropping root.
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
    echo "skip: dropping privileges needs root and the nobody user"
    exit 0
fi
mkdir -p "$T/drop"
chmod 0755 "$T"
chown nobody "$T/drop"
cat >"$T/drop.yaml" <<YAML
agent:
  state_dir: $T/drop/state
  user: nobody
pipelines:
  p:
    inputs:
      - name: tp_counter
        per_tick: 10
        interval: 50ms
    outputs:
      - name: file
        path: $T/drop/out.jsonl
YAML
start_vigil drop -c "$T/drop.yaml"
wait_for 10 grep -q "running as uid $(id -u nobody)" "$T/drop.log" ||
    fail "did not drop root: $(cat "$T/drop.log")"
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$VPID/status")
[ "$uid" = "$(id -u nobody)" ] || fail "process uid $uid"
wait_for 10 test -s "$T/drop/state/counter.pos" ||
    fail "state not writable after the drop: $(tail -3 "$T/drop.log")"
[ "$(stat -c %U "$T/drop/state")" = nobody ] || fail "state_dir not given to the user"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"
ok "agent.user: root dropped after start, state_dir follows"
