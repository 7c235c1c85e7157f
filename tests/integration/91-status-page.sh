#!/bin/sh
# The status page in a real browser (headless Chromium, driven through its
# DevTools protocol by page-check.py): the pipeline graph, the firing
# alert, live rates, an output made to fail shown as failing in words,
# the throughput chart, accessibility basics and contrast in both themes,
# no external request, the token prompt by keyboard.  Screenshots at
# phone and desktop width are kept in $VIGIL_BUILDDIR/tests/artefacts.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
        >"$T/apt.log" 2>&1 || tail -n 5 "$T/apt.log"
    CHROMIUM=$(command -v chromium || true)
fi
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: $NAME: chromium is not installed and cannot be installed here"
    exit 77
fi

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
ART="$VIGIL_BUILDDIR/tests/artefacts"
mkdir -p "$ART"
rm -f "$ART"/status-*.png

config() {   # config EXTRA-AGENT-LINES
    cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
  http: { listen: "127.0.0.1:$PORT" $1 }
  health: { max_failing: 1s }
pipelines:
  p:
    inputs:
      - name: generate
        rate: 200
        interval: 100ms
    filters:
      - name: alert
        rules:
          - name: high_value
            metric: vigil.generate
            above: 0
            severity: critical
            summary: "value {{ value }} is high"
    outputs:
      - name: tp_slow
        path: $T/out.jsonl
        delay: 1ms
        down_file: $T/down
        retry: { initial: 100ms, max: 200ms }
YAML
}

config ""
start_vigil run -c "$T/vigil.yaml"
wait_for 10 curl -sf "$URL/health" || fail "status server not up"
python3 "$VIGIL_SRCDIR/tests/integration/page-check.py" "$CHROMIUM" "$URL" \
    "$T/down" "$ART" || fail "status page"
for f in status-desktop status-phone status-desktop-dark status-phone-dark; do
    [ -s "$ART/$f.png" ] || fail "no screenshot $f.png"
done
ok "graph, alert, live rates, failing output, chart, a11y, contrast" \
   "($ART/status-*.png)"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"

config ', token: "s3cret-token"'
start_vigil tok -c "$T/vigil.yaml"
wait_for 10 curl -sf "$URL/health" || fail "status server with token not up"
python3 "$VIGIL_SRCDIR/tests/integration/page-check.py" "$CHROMIUM" "$URL" \
    "$T/down" "$ART" s3cret-token || fail "token prompt"
ok "token prompt, by keyboard"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"
