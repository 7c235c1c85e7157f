#!/bin/sh
# Bad configs: `vigil --check` and a real start both exit 1 and name the
# file, line and column of each problem; a good config checks ok.
. "$(dirname "$0")/lib.sh"

# expect_error YAML-FILE MESSAGE: --check fails and prints MESSAGE.
expect_error() {
    "$VIGIL" --plugin-path "$PLUGPATH" --check -c "$1" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq 1 ] || fail "$1: --check exit code $rc, want 1"
    grep -qF -- "$2" "$T/err" || {
        cat "$T/err" >&2
        fail "$1: missing message: $2"
    }
}

cat >"$T/good.yaml" <<'YAML'
agent:
  log_level: info
  shutdown_timeout: 5s
pipelines:
  demo:
    inputs:
      - name: generate
        rate: 10
    filters:
      - name: enrich
        labels: { env: test }
    outputs:
      - name: stdout
        format: json
        retry: { initial: 100ms, max: 2s }
YAML
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/good.yaml" >"$T/out" ||
    fail "good config refused: $(cat "$T/out")"
grep -q "good.yaml: ok" "$T/out" || fail "--check prints ok"
ok "good config"

cat >"$T/typo.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
        rat: 10
    outputs:
      - name: stdout
YAML
expect_error "$T/typo.yaml" \
    "typo.yaml:5:9: input 'generate': unknown option 'rat' (did you mean 'rate'?)"
ok "unknown option with did-you-mean"

cat >"$T/plugin.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generat
    outputs:
      - name: stdout
YAML
expect_error "$T/plugin.yaml" \
    "plugin.yaml:4:15: unknown input plugin 'generat' (did you mean 'generate'?)"
ok "unknown plugin"

# What only the plugin can judge (its check callback) is a config error
# too, for --check as for a start, at the option's place when it names one.
cat >"$T/pcheck.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
    filters:
      - name: alert
        rules:
          - name: hot
            metric: cpu
            above: 90
          - name: hot
            metric: load
            above: 4
    outputs:
      - name: stdout
YAML
expect_error "$T/pcheck.yaml" \
    "pcheck.yaml:6:9: filter[alert#1]: rule 'hot': name used twice"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/pcheck.yaml" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "a start with a refused plugin config should exit 1"
grep -qF "pcheck.yaml:6:9: filter[alert#1]: rule 'hot': name used twice" \
    "$T/err" || fail "start: $(cat "$T/err")"
if [ -f "$VIGIL_PLUGINS/out_http.so" ]; then
    cat >"$T/url.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
    outputs:
      - name: http
        url: ftp://example.com/x
YAML
    expect_error "$T/url.yaml" \
        "url.yaml:7:14: output[http#1]: option 'url' must start with http:// or https://"
fi
cat >"$T/dotted.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
    filters:
      - name: sample
        throttle:
          max: -1
    outputs:
      - name: stdout
YAML
expect_error "$T/dotted.yaml" \
    "dotted.yaml:8:16: filter[sample#1]: option 'throttle.max' must be >= 0"
cat >"$T/listen.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: statsd
        listen: [ "udp://127.0.0.1:8125", "sctp://127.0.0.1:8125" ]
    outputs:
      - name: stdout
YAML
expect_error "$T/listen.yaml" \
    "listen.yaml:5:17: input[statsd#1]: option 'listen': cannot read 'sctp://127.0.0.1:8125'"
ok "a plugin's own checks: file:line:col, for --check and a start"

# A plugin that configure left out (its library missing or disabled) is
# named as such, with configure's reason.  Only in a build without tail.
if [ ! -f "$VIGIL_PLUGINS/in_tail.so" ]; then
    cat >"$T/skipped.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: tail
        paths: [/var/log/syslog]
    outputs:
      - name: stdout
YAML
    expect_error "$T/skipped.yaml" \
        "skipped.yaml:4:15: unknown input plugin 'tail': this vigil was built without it ("
    ok "a plugin left out of the build says why: $(sed -n 's/.*(//p' "$T/err")"
fi

cat >"$T/empty.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
YAML
expect_error "$T/empty.yaml" \
    "empty.yaml:2:3: pipeline 'demo' needs at least one input and one output"
ok "pipeline without output"

cat >"$T/alias.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
        alias: gen
      - name: generate
        alias: gen
    outputs:
      - name: stdout
YAML
expect_error "$T/alias.yaml" "alias.yaml:7:16: duplicate alias 'gen'"
ok "duplicate alias"

cat >"$T/required.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
    outputs:
      - name: file
YAML
expect_error "$T/required.yaml" \
    "required.yaml:6:9: output 'file': missing required option 'path'"
ok "missing required option"

cat >"$T/duration.yaml" <<'YAML'
agent:
  shutdown_timeout: soon
pipelines:
  demo:
    inputs:
      - name: generate
        interval: 10q
    outputs:
      - name: stdout
        format: yaml
YAML
expect_error "$T/duration.yaml" \
    "duration.yaml:2:21: agent: option 'shutdown_timeout' expects a duration"
expect_error "$T/duration.yaml" \
    "duration.yaml:7:19: input 'generate': option 'interval' expects a duration"
expect_error "$T/duration.yaml" "duration.yaml:10:17: output 'stdout': option 'format'"
ok "bad duration and choice, every error reported"

cat >"$T/size.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
    outputs:
      - name: file
        path: /tmp/x
        max_size: 12 parsecs
YAML
expect_error "$T/size.yaml" "size.yaml:8:19: output 'file': option 'max_size' expects a size"
ok "bad size"

cat >"$T/env.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
        rate: ${VIGIL_TEST_UNSET_VAR}
    outputs:
      - name: stdout
YAML
unset VIGIL_TEST_UNSET_VAR
expect_error "$T/env.yaml" "env.yaml:5:15:"
grep -q "VIGIL_TEST_UNSET_VAR" "$T/err" || fail "undefined variable not named"
ok "undefined variable"

# A secret's value never appears in a message, even when it is wrong.
cat >"$T/secret.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: generate
        rate: ${VIGIL_TEST_SECRET}
    outputs:
      - name: stdout
YAML
VIGIL_TEST_SECRET=hunter2-not-a-number
export VIGIL_TEST_SECRET
expect_error "$T/secret.yaml" "secret.yaml:5:15: input 'generate': option 'rate' expects"
if grep -q hunter2 "$T/err"; then fail "secret value printed: $(cat "$T/err")"; fi
ok "secret never printed"

printf 'pipelines:\n  demo: [\n    inputs\n' >"$T/syntax.yaml"
expect_error "$T/syntax.yaml" "syntax.yaml:"
grep -q "invalid YAML" "$T/err" || fail "YAML syntax error not explained"
ok "YAML syntax error"

cat >"$T/top.yaml" <<'YAML'
agnet:
  log_level: info
pipelines:
  demo:
    inputs: [ { name: generate } ]
    outputs: [ { name: stdout } ]
YAML
expect_error "$T/top.yaml" "top.yaml:1:1: config: unknown key 'agnet' (did you mean 'agent'?)"
ok "unknown top-level key"

expect_error "$T/does-not-exist.yaml" "cannot read"
ok "missing file"

# A real start fails the same way, and an init failure is reported.
cat >"$T/init.yaml" <<'YAML'
pipelines:
  demo:
    inputs:
      - name: tp_fail_init
    outputs:
      - name: stdout
YAML
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/init.yaml" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "init failure should exit 1"
grep -q "init.yaml:4:9: input\[tp_fail_init#1\] (tp_fail_init): init failed" \
    "$T/err" || fail "init failure message: $(cat "$T/err")"
grep -q "refusing to start: this plugin always fails" "$T/err" ||
    fail "plugin's own message missing"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/typo.yaml" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "bad config start should exit 1"
grep -q "unknown option 'rat'" "$T/err" || fail "start error message"
ok "start refuses bad configs"
