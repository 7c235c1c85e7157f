#!/bin/sh
# Builds the Debian packages (vigil, vigil-postgres, vigil-dev) from a
# copy of this source tree, so that the tree itself is never configured
# or modified:
#   contrib/debian-build.sh [OUTDIR]      (default: ./debian-out)
# The .deb, .buildinfo and .changes files are left in OUTDIR.  Needs
# debhelper and the Build-Depends of debian/control
# (apt-get build-dep ./ lists and installs them as root).
# DEB_BUILD_OPTIONS=nocheck skips the unit tests.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$PWD/debian-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/vigil-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Build directories (build.sh's build, build-asan, build-fuzz) and
# autotools caches of the tree stay behind.
mkdir "$work/vigil"
tar -C "$src" --exclude=./.git --exclude=./build --exclude='./build-*' \
    --exclude=./_build --exclude=./debian-out --exclude=autom4te.cache \
    --exclude=__pycache__ -cf - . | tar -C "$work/vigil" -xf -

cd "$work/vigil"
jobs=$(nproc 2>/dev/null || echo 1)
dpkg-buildpackage -us -uc -b -j"$jobs" >"$work/build.log" 2>&1 || {
    tail -n 60 "$work/build.log" >&2
    echo "debian-build.sh: dpkg-buildpackage failed" >&2
    exit 1
}
for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes; do
    [ -e "$f" ] && cp "$f" "$out/"
done
ls "$out"/*.deb
