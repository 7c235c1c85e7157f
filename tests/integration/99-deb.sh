#!/bin/sh
# The Debian packages: contrib/debian-build.sh builds vigil, vigil-postgres
# and vigil-dev from a copy of the tree (the unit tests are left to make
# check: DEB_BUILD_OPTIONS=nocheck), their contents are checked, then they
# are installed with dpkg -i, the installed agent is run (its plugins from
# the packaged directory, the packaged config checked), and they are
# purged again. Needs root and debhelper; skipped (77) without them, and
# when vigil is already installed on this machine (it is not replaced).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: installing packages needs root"; exit 77; }
for c in dpkg-buildpackage dh dpkg-deb; do
    command -v "$c" >/dev/null 2>&1 ||
        { echo "SKIP: $c not installed (apt-get install debhelper)"; exit 77; }
done
if dpkg-query -W -f '${Status}' vigil 2>/dev/null | grep -q installed; then
    echo "SKIP: a vigil package is installed already"
    exit 77
fi

# What the installation adds besides the packages' files (the vigil user,
# /var/lib/vigil, /var/log/vigil) is removed again if it was not there
# before.
HAD_USER=no
id vigil >/dev/null 2>&1 && HAD_USER=yes
HAD_DIRS=""
for d in /var/lib/vigil /var/log/vigil; do
    [ -e "$d" ] && HAD_DIRS="$HAD_DIRS $d"
done
INSTALLED=""
undo() {
    for d in /var/lib/vigil /var/log/vigil; do
        case " $HAD_DIRS " in
        *" $d "*) ;;
        *) rm -rf "$d" ;;
        esac
    done
    if [ "$HAD_USER" = no ] && id vigil >/dev/null 2>&1; then
        userdel vigil 2>/dev/null
        getent group vigil >/dev/null && groupdel vigil 2>/dev/null
    fi
}
purge() {
    if [ -n "$INSTALLED" ]; then
        dpkg --purge vigil-dev vigil-postgres vigil >"$T/purge.log" 2>&1
        undo
    fi
    cleanup
}
trap purge EXIT

DEB_BUILD_OPTIONS=nocheck "$VIGIL_SRCDIR/contrib/debian-build.sh" \
    "$T/out" >"$T/build.log" 2>&1 || fail "build: $(tail -n 30 "$T/build.log")"
for p in vigil vigil-postgres vigil-dev; do
    ls "$T/out/${p}_"*.deb >/dev/null 2>&1 || fail "no ${p}_*.deb"
done
ok "dpkg-buildpackage builds vigil, vigil-postgres and vigil-dev"

contents() {
    dpkg-deb -c "$T/out/$1_"*.deb | awk '{ print $6 }' | sed 's|^\./|/|'
}
contents vigil >"$T/vigil.list"
contents vigil-postgres >"$T/vigil-postgres.list"
contents vigil-dev >"$T/vigil-dev.list"
for f in /usr/bin/vigil /etc/vigil/vigil.yaml \
    /lib/systemd/system/vigil.service /usr/lib/sysusers.d/vigil.conf \
    /usr/lib/tmpfiles.d/vigil.conf /usr/share/man/man8/vigil.8.gz \
    /usr/share/man/man5/vigil.yaml.5.gz; do
    grep -qx "$f" "$T/vigil.list" || fail "vigil lacks $f"
done
grep -q '/vigil/plugins/in_system\.so$' "$T/vigil.list" ||
    fail "vigil lacks the plugins"
grep -q 'postgres\.so$' "$T/vigil.list" &&
    fail "vigil holds a postgres plugin: $(grep postgres "$T/vigil.list")"
grep -q '/vigil/plugins/out_postgres\.so$' "$T/vigil-postgres.list" ||
    fail "vigil-postgres lacks out_postgres.so"
for f in /usr/include/vigil/plugin.h /usr/share/man/man3/vigil-plugin.3.gz; do
    grep -qx "$f" "$T/vigil-dev.list" || fail "vigil-dev lacks $f"
done
grep -q '/pkgconfig/vigil-plugin\.pc$' "$T/vigil-dev.list" ||
    fail "vigil-dev lacks vigil-plugin.pc"
grep -q '\.la$' "$T/vigil.list" "$T/vigil-postgres.list" &&
    fail "libtool archives packaged"
dpkg-deb -f "$T/out/vigil_"*.deb Depends >"$T/depends"
grep -q libpq "$T/depends" && fail "vigil depends on libpq: $(cat "$T/depends")"
dpkg-deb -f "$T/out/vigil-postgres_"*.deb Depends | grep -q libpq ||
    fail "vigil-postgres does not depend on libpq"
ok "each package holds its files; only vigil-postgres needs libpq"

INSTALLED=yes
dpkg -i "$T/out/vigil_"*.deb "$T/out/vigil-postgres_"*.deb \
    "$T/out/vigil-dev_"*.deb >"$T/install.log" 2>&1 ||
    fail "dpkg -i: $(tail -n 20 "$T/install.log")"
/usr/bin/vigil --version >"$T/version.out" 2>&1 ||
    fail "installed vigil --version: $(cat "$T/version.out")"
/usr/bin/vigil --list-plugins >"$T/plugins.out" 2>&1 ||
    fail "--list-plugins: $(cat "$T/plugins.out")"
for p in system tail alert postgres; do
    grep -qw "$p" "$T/plugins.out" ||
        fail "installed vigil does not find plugin $p"
done
/usr/bin/vigil --check -c /etc/vigil/vigil.yaml >"$T/check.out" 2>&1 ||
    fail "packaged vigil.yaml: $(cat "$T/check.out")"
if command -v systemd-sysusers >/dev/null 2>&1; then
    id vigil >/dev/null 2>&1 || fail "the vigil user was not created"
fi
pkg-config --exists vigil-plugin || fail "vigil-plugin.pc not found"
ok "the installed agent finds its plugins and accepts its config"

dpkg --purge vigil-dev vigil-postgres vigil >"$T/purge.log" 2>&1 ||
    fail "dpkg --purge: $(tail -n 20 "$T/purge.log")"
INSTALLED=""
undo
[ ! -e /usr/bin/vigil ] || fail "/usr/bin/vigil left after purge"
[ ! -e /etc/vigil/vigil.yaml ] || fail "/etc/vigil/vigil.yaml left after purge"
ok "the packages purge cleanly"
