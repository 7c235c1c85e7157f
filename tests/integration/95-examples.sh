#!/bin/sh
# The example configurations of contrib/examples: each passes --check with
# its secrets set to dummy values, fails it when one is missing (they come
# from the environment, not the file), and starts: every plugin's init
# accepts it (alert rules and templates, redact rules, TLS files absent
# only where not needed), then stops on SIGTERM.
. "$(dirname "$0")/lib.sh"
need_plugin out_http out_slack out_pagerduty flt_modify flt_redact

EXAMPLES="$VIGIL_SRCDIR/contrib/examples"
SLACK_WEBHOOK_URL=https://hooks.slack.invalid/services/T0/B0/x
PD_ROUTING_KEY=0123456789abcdef0123456789abcdef
OTLP_ENDPOINT=http://127.0.0.1:9/otlp
OTLP_TOKEN=dummy-otlp-token
POD_NAME=app-7d4f9c-x2x9z
POD_NAMESPACE=shop
AUDIT_URL=http://127.0.0.1:9/ingest
REDACT_KEY=dummy-redact-key-0123456789
COLLECTOR_URL='http://127.0.0.1:9/v1/{pipeline}'
COLLECTOR_TOKEN=dummy-collector-token
VIGIL_API_TOKEN=dummy-api-token
FLEET_REGION=eu-west
FLEET_TIER=web
export SLACK_WEBHOOK_URL PD_ROUTING_KEY OTLP_ENDPOINT OTLP_TOKEN POD_NAME \
    POD_NAMESPACE AUDIT_URL REDACT_KEY COLLECTOR_URL COLLECTOR_TOKEN \
    VIGIL_API_TOKEN FLEET_REGION FLEET_TIER

n=0
for f in "$EXAMPLES"/*.yaml; do
    b=$(basename "$f" .yaml)
    n=$((n + 1))
    "$VIGIL" --plugin-path "$VIGIL_PLUGINS" --check -c "$f" \
        >"$T/$b.check.log" 2>&1 ||
        fail "$b.yaml does not pass --check: $(cat "$T/$b.check.log")"
    # No secret may be written into the file itself: every example needs
    # at least one variable, and says so when it is missing.
    env -u SLACK_WEBHOOK_URL -u PD_ROUTING_KEY -u OTLP_TOKEN -u REDACT_KEY \
        -u COLLECTOR_TOKEN "$VIGIL" --plugin-path "$VIGIL_PLUGINS" --check \
        -c "$f" >"$T/$b.noenv.log" 2>&1 &&
        fail "$b.yaml passes --check without its secrets"
    grep -q "environment variable '.*' is not set" "$T/$b.noenv.log" ||
        fail "$b.yaml: missing secret not named: $(cat "$T/$b.noenv.log")"
done
[ "$n" -ge 4 ] || fail "only $n example configurations"
ok "$n example configurations pass --check, none without its secrets"

# Start each one, with its paths moved into the test directory and its
# log on stderr, until it runs; then stop it (twice: no drain wait).
mkdir -p "$T/state" "$T/logs"
for f in "$EXAMPLES"/*.yaml; do
    b=$(basename "$f" .yaml)
    sed -e "s|/var/lib/vigil|$T/state/$b|" -e "s|/var/log/vigil|$T/logs|" \
        -e 's|log_target: syslog|log_target: stderr|' \
        -e 's|[0-9.]*:2020|127.0.0.1:0|' "$f" >"$T/$b.yaml"
    start_vigil "$b" --log-level info -c "$T/$b.yaml"
    wait_for 10 grep -q 'running [0-9]* pipeline' "$T/$b.log" ||
        fail "$b.yaml does not start"
    kill -0 "$VPID" 2>/dev/null || fail "$b.yaml: vigil exited"
    kill -TERM "$VPID"
    sleep 0.2
    kill -TERM "$VPID" 2>/dev/null
    wait_exit "$VPID" 10 || fail "$b.yaml: vigil does not stop"
    grep -q 'not started\|init failed' "$T/$b.log" &&
        fail "$b.yaml: $(grep 'init failed' "$T/$b.log")"
done
ok "every example starts and stops"
