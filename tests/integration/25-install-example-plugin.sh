#!/bin/sh
# make install honours DESTDIR and installs the binary, the plugins, the
# public header and vigil-plugin.pc; the out-of-tree example plugin builds
# against the installed header with pkg-config alone, and the installed
# vigil loads it from a directory named in the config.
. "$(dirname "$0")/lib.sh"

ROOT="$T/root"
make -C "$VIGIL_BUILDDIR" install DESTDIR="$ROOT" >"$T/install.log" 2>&1 ||
    fail "make install failed: $(tail -5 "$T/install.log")"
pc="$VIGIL_BUILDDIR/vigil-plugin.pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
bindir_vigil=$(find "$ROOT" -path '*/bin/vigil' -type f | head -n1)
[ -x "$bindir_vigil" ] || fail "no installed binary under $ROOT"
[ -f "$ROOT$prefix/include/vigil/plugin.h" ] || fail "header not installed"
pcfile=$(find "$ROOT" -name vigil-plugin.pc | head -n1)
[ -n "$pcfile" ] || fail "vigil-plugin.pc not installed"
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$ROOT"
plugindir="$ROOT$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=plugindir vigil-plugin)"
for p in in_generate in_system flt_enrich out_stdout out_file; do
    [ -f "$plugindir/$p.so" ] || fail "plugin $p.so not installed in $plugindir"
done
ok "make install DESTDIR: binary, plugins, header, pkg-config file"

# Build the example from a copy, so nothing of the source tree is near.
cp -r "$VIGIL_SRCDIR/contrib/examples/hello-plugin" "$T/hello"
rm -f "$T/hello"/*.so
make -C "$T/hello" >"$T/build.log" 2>&1 ||
    fail "example plugin does not build: $(cat "$T/build.log")"
grep -q -- "-I$ROOT$prefix/include" "$T/build.log" ||
    fail "example not built against the installed header: $(cat "$T/build.log")"
so=$(ls "$T/hello"/*.so | head -n1)
[ -f "$so" ] || fail "no module built"
ok "example plugin built against the installed header"

cat >"$T/vigil.yaml" <<YAML
agent:
  plugin_path: $T/hello:$plugindir
pipelines:
  hello:
    inputs:
      - name: generate
        rate: 0
        count: 50
        exit_when_done: true
    filters:
      - name: hello
        greeting: bonjour
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
"$bindir_vigil" -c "$T/vigil.yaml" >"$T/run.out" 2>"$T/run.log" ||
    fail "installed vigil failed with the example plugin"
python3 - "$T/out.jsonl" <<'PY' || fail "example plugin output"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 50, len(rows)
assert all(r["labels"].get("greeting") == "bonjour" for r in rows), rows[0]
PY
ok "installed vigil loads the out-of-tree plugin from the configured path"
