#!/bin/sh
# The manual pages: vigil.yaml(5) is generated from the schemas, so it must
# name every plugin and every option --list-plugins shows, and hold exactly
# what --format=man prints now; every page renders without a warning; the
# plugin page's example is the shipped hello plugin; install-man installs
# the three pages.
. "$(dirname "$0")/lib.sh"

MANDIR="$VIGIL_BUILDDIR/man"
YAML5="$MANDIR/vigil.yaml.5"
PAGES="$MANDIR/vigil.8 $YAML5 $VIGIL_SRCDIR/man/vigil-plugin.3"
for p in $PAGES; do
    [ -s "$p" ] || fail "$p was not built"
done
grep -n '@[A-Z]*@' "$MANDIR/vigil.8" "$YAML5" >"$T/subst" &&
    fail "placeholders left: $(cat "$T/subst")"
ok "pages built, placeholders replaced"

# --format: text is today's listing, man is roff, anything else exits 2.
"$VIGIL" --plugin-path "$VIGIL_PLUGINS" --list-plugins >"$T/list" \
    2>/dev/null || fail "--list-plugins failed"
"$VIGIL" --plugin-path "$VIGIL_PLUGINS" --list-plugins --format=text \
    >"$T/list.text" 2>/dev/null || fail "--format=text failed"
cmp -s "$T/list" "$T/list.text" || fail "--format=text differs from default"
"$VIGIL" --plugin-path "$VIGIL_PLUGINS" --list-plugins --format=man \
    >"$T/list.man" 2>/dev/null || fail "--format=man failed"
"$VIGIL" --list-plugins --format=html >/dev/null 2>"$T/fmt.err"
[ $? -eq 2 ] || fail "unknown --format should exit 2"
grep -q "unknown format 'html'" "$T/fmt.err" || fail "format message"
"$VIGIL" --format=man >/dev/null 2>&1
[ $? -eq 2 ] || fail "--format without --list-plugins should exit 2"
ok "--format text|man, bad values exit 2"

# The generated part of the page is what the binary prints today.
sed -n '/^\.SH "AGENT OPTIONS"$/,/^\.SH EXAMPLES$/p' "$YAML5" |
    sed '$d' >"$T/page.gen"
cmp -s "$T/page.gen" "$T/list.man" ||
    fail "vigil.yaml.5 is stale: $(diff "$T/list.man" "$T/page.gen" | head)"
ok "vigil.yaml.5 holds the current --format=man output"

# Every plugin and every option path of the text listing is in the page,
# under that plugin's subsection ("rules[].predict.within").
awk '
/^(input|filter|output) / { plugin = $2; kind = $1; next }
/^ +[a-z0-9_]+ \(/ {
    match($0, /^ +/); depth = (RLENGTH - 4) / 2
    name = $1
    path = ""
    for (i = 0; i < depth; i++) path = path pre[i]
    print kind "\t" plugin "\t" path name
    rest = substr($0, RLENGTH + length(name) + 3)
    if (rest ~ /^list of objects/) pre[depth] = name "[]."
    else pre[depth] = name "."
}' "$T/list" >"$T/paths"
[ "$(cut -f2 "$T/paths" | sort -u | wc -l)" -ge 10 ] ||
    fail "too few plugins listed: $(cut -f2 "$T/paths" | sort -u)"
nplugins=0
for kp in $(sed -n 's/^\(input\|filter\|output\)  *\([a-z0-9_]*\) .*/\1:\2/p' \
            "$T/list"); do
    kind=${kp%%:*}
    plugin=${kp#*:}
    nplugins=$((nplugins + 1))
    grep -qx ".SS \"$plugin ($kind)\"" "$YAML5" ||
        fail "no subsection for $kind $plugin"
    # the plugin's subsection: from its .SS to the next .SS or .SH
    awk -v h=".SS \"$plugin ($kind)\"" '
        $0 == h { on = 1; next }
        on && /^\.S[SH] / { exit }
        on { print }' "$YAML5" >"$T/sect"
    awk -F '\t' -v k="$kind" -v p="$plugin" '$1 == k && $2 == p { print $3 }' \
        "$T/paths" >"$T/opts"
    while read -r path; do
        grep -qxF "\\fB$path\\fR" "$T/sect" ||
            fail "option $path of $kind $plugin missing from vigil.yaml.5"
    done <"$T/opts"
done
[ "$nplugins" -ge 10 ] || fail "only $nplugins plugins listed"
ok "vigil.yaml.5 names all $nplugins plugins and $(wc -l <"$T/paths") options"

for path in log_level log_target state_dir shutdown_timeout plugin_path \
            hostname http.listen http.token health.max_failing \
            retry.initial retry.max retry.max_attempts buffer.max_memory \
            buffer.disk.max_size buffer.disk.path buffer.disk.fsync; do
    grep -qxF "\\fB$path\\fR" "$YAML5" ||
        fail "agent/output option $path missing from vigil.yaml.5"
done
ok "vigil.yaml.5 documents the agent and output delivery options"

# The example in vigil-plugin.3 is the shipped plugin, unescaped.
sed -n '/^\.\\" BEGIN hello.c$/,/^\.\\" END hello.c$/p' \
    "$VIGIL_SRCDIR/man/vigil-plugin.3" | sed -e '1d' -e '$d' \
    -e 's/^\\&//' -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$T/hello.c"
cmp -s "$T/hello.c" "$VIGIL_SRCDIR/contrib/examples/hello-plugin/hello.c" ||
    fail "vigil-plugin.3 example differs from hello.c: $(diff \
        "$VIGIL_SRCDIR/contrib/examples/hello-plugin/hello.c" "$T/hello.c" |
        head)"
ok "vigil-plugin.3 shows contrib/examples/hello-plugin/hello.c"

if command -v man >/dev/null 2>&1; then
    for p in $PAGES; do
        # "cannot adjust line" is justification giving up on a line that
        # is one long install path (a deep --prefix): cosmetic, so allowed.
        MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null |
            grep -v 'warning.*: cannot adjust line$' | head -20 >"$T/warn"
        [ -s "$T/warn" ] && fail "$p renders with warnings: $(cat "$T/warn")"
        MANWIDTH=80 man -l "$p" 2>/dev/null | grep -q NAME ||
            fail "$p renders nothing"
    done
    ok "man renders every page without warnings"
else
    echo "skip: man not installed, pages not rendered"
fi

make -C "$VIGIL_BUILDDIR" install-man DESTDIR="$T/root" >"$T/inst.log" 2>&1 ||
    fail "make install-man failed: $(tail -5 "$T/inst.log")"
for p in man8/vigil.8 man5/vigil.yaml.5 man3/vigil-plugin.3; do
    [ -n "$(find "$T/root" -path "*/man/$p")" ] || fail "$p not installed"
done
ok "install-man installs vigil.8, vigil.yaml.5 and vigil-plugin.3"
