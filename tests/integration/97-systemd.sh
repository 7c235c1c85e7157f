#!/bin/sh
# contrib/systemd: systemd-analyze verify accepts the unit without a
# warning (its binary pointed at the built one, its man: documentation
# found in the built pages), the unit keeps the hardening it promises, its
# ExecStartPre check works, and systemd-sysusers and systemd-tmpfiles
# accept vigil.sysusers and vigil.tmpfiles in a scratch root.
# Exit 77 (skip) when systemd-analyze is absent and cannot be installed.
. "$(dirname "$0")/lib.sh"

UNITDIR="$VIGIL_SRCDIR/contrib/systemd"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y systemd \
            >"$T/apt.log" 2>&1
    fi
    command -v systemd-analyze >/dev/null 2>&1 || {
        echo "skip: systemd-analyze not available"
        exit 77
    }
fi

# The unit as installed would name /usr/bin/vigil; verify insists that
# binaries exist, so the copy names the built one.
sed "s|/usr/bin/vigil|$VIGIL|g" "$UNITDIR/vigil.service" >"$T/vigil.service"
mkdir -p "$T/man/man8" "$T/man/man5"
cp "$VIGIL_BUILDDIR/man/vigil.8" "$T/man/man8/"
cp "$VIGIL_BUILDDIR/man/vigil.yaml.5" "$T/man/man5/"
MANPATH="$T/man" systemd-analyze verify "$T/vigil.service" \
    >"$T/verify.out" 2>&1
rc=$?
if [ $rc -ne 0 ] &&
   grep -q 'not been booted\|Failed to connect\|Operation not permitted' \
       "$T/verify.out"; then
    echo "skip: systemd-analyze cannot run here: $(head -n2 "$T/verify.out")"
    exit 77
fi
if [ $rc -ne 0 ] || [ -s "$T/verify.out" ]; then
    fail "systemd-analyze verify: $(cat "$T/verify.out")"
fi
ok "systemd-analyze verify accepts vigil.service"

# A misspelt key must make the check above fail, or it proves nothing.
sed 's/^ProtectSystem=/ProtectSystm=/' "$T/vigil.service" >"$T/bad.service"
MANPATH="$T/man" systemd-analyze verify "$T/bad.service" >"$T/bad.out" 2>&1
grep -q "Unknown key" "$T/bad.out" || fail "verify does not catch a typo"
ok "verify reports a misspelt key"

# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
for d in Type=simple User=vigil StateDirectory=vigil NoNewPrivileges=yes \
         ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes \
         ProtectKernelTunables=yes ProtectControlGroups=yes \
         'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' \
         'CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_NET_BIND_SERVICE' \
         'ReadWritePaths=/var/lib/vigil /var/log/vigil' \
         'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure; do
    grep -qxF "$d" "$UNITDIR/vigil.service" || fail "unit lacks '$d'"
done
grep -q '^DynamicUser=yes' "$UNITDIR/vigil.service" &&
    fail "unit must use the static vigil user"
ok "unit has the user, state directory and hardening"

# ExecStartPre is a config check that passes on a good file and stops the
# start on a bad one.
pre=$(sed -n 's/^ExecStartPre=//p' "$T/vigil.service")
[ -n "$pre" ] || fail "no ExecStartPre"
cat >"$T/good.yaml" <<'YAML'
pipelines:
  p:
    inputs: [ { name: generate, rate: 1 } ]
    outputs: [ { name: stdout } ]
YAML
sed 's/stdout/stdot/' "$T/good.yaml" >"$T/bad.yaml"
case "$pre" in
"$VIGIL "*--check*" -c /etc/vigil/vigil.yaml") ;;
*) fail "ExecStartPre is not a vigil --check of the config: $pre" ;;
esac
# The unit's command line, with the test's config and plugins; split on
# blanks as systemd does (no quoting in it).
good=$(echo "$pre" | sed "s|/etc/vigil/vigil.yaml|$T/good.yaml|")
bad=$(echo "$pre" | sed "s|/etc/vigil/vigil.yaml|$T/bad.yaml|")
VIGIL_PLUGIN_PATH="$VIGIL_PLUGINS" $good >"$T/pre.log" 2>&1 ||
    fail "ExecStartPre fails on a good file: $(cat "$T/pre.log")"
VIGIL_PLUGIN_PATH="$VIGIL_PLUGINS" $bad >"$T/pre.log" 2>&1 &&
    fail "ExecStartPre passes a bad file"
grep -q "unknown plugin\|stdot" "$T/pre.log" ||
    fail "ExecStartPre does not say why: $(cat "$T/pre.log")"
ok "ExecStartPre accepts a good config and refuses a bad one"

if command -v systemd-sysusers >/dev/null 2>&1 &&
   command -v systemd-tmpfiles >/dev/null 2>&1; then
    mkdir -p "$T/root/etc"
    systemd-sysusers --root="$T/root" "$UNITDIR/vigil.sysusers" \
        >"$T/sysusers.log" 2>&1 ||
        fail "systemd-sysusers: $(cat "$T/sysusers.log")"
    grep -q '^vigil:x:[0-9]*:[0-9]*:.*:/var/lib/vigil:/usr/sbin/nologin$' \
        "$T/root/etc/passwd" ||
        fail "no vigil user: $(cat "$T/root/etc/passwd")"
    systemd-tmpfiles --root="$T/root" --create "$UNITDIR/vigil.tmpfiles" \
        >"$T/tmpfiles.log" 2>&1 ||
        fail "systemd-tmpfiles: $(cat "$T/tmpfiles.log")"
    [ "$(stat -c %a "$T/root/var/lib/vigil")" = 700 ] ||
        fail "state directory mode"
    uid=$(sed -n 's/^vigil:x:\([0-9]*\):.*/\1/p' "$T/root/etc/passwd")
    [ "$(stat -c %u "$T/root/var/log/vigil")" = "$uid" ] ||
        fail "log directory owner"
    ok "sysusers creates the vigil user, tmpfiles its directories"
else
    echo "skip: systemd-sysusers or systemd-tmpfiles not installed"
fi
