# Helpers of the HTTP output tests, sourced after lib.sh: a throw-away CA
# and a server certificate for 127.0.0.1/localhost made with openssl, and
# the stdlib-only Python receivers of receiver.py on free ports.

RECV="$VIGIL_SRCDIR/tests/integration/receivers/receiver.py"
# The receivers are local: a proxy from the environment must not catch them.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# make_certs: $T/ca.crt (+ key), $T/srv.crt + $T/srv.key signed by it.
make_certs() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -keyout "$T/ca.key" -out "$T/ca.crt" -days 2 \
        -subj /CN=vigil-test-ca >/dev/null 2>&1 || fail "openssl: CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=localhost \
        >/dev/null 2>&1 || fail "openssl: server key"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' \
        >"$T/srv.ext"
    openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
        -CAcreateserial -out "$T/srv.crt" -days 2 -extfile "$T/srv.ext" \
        >/dev/null 2>&1 || fail "openssl: server certificate"
}

# start_receiver NAME MODE [ARGS...]: HTTPS receiver recording into
# $T/NAME.jsonl, answers steered by $T/NAME.ctl; sets RPORT and RPID.
start_receiver() {
    local name=$1 mode=$2
    shift 2
    rm -f "$T/$name.port"
    python3 "$RECV" --mode "$mode" --cert "$T/srv.crt" --key "$T/srv.key" \
        --port-file "$T/$name.port" --out "$T/$name.jsonl" \
        --control "$T/$name.ctl" "$@" 2>"$T/$name-recv.log" &
    RPID=$!
    PIDS="$PIDS $RPID"
    wait_for 10 test -s "$T/$name.port" || fail "receiver $name did not start"
    RPORT=$(cat "$T/$name.port")
}
