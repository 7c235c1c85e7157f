#!/bin/sh
# Static analysis of the core and the plugins with clang-tidy, configured
# by the top-level .clang-tidy (every enabled check is an error).  Lints
# each .c file of src/ and plugins/ that the build directory compiled, in
# parallel, prints the findings as file:line:col and exits non-zero if
# there is any; 77 if clang-tidy is not installed.
#
#   contrib/lint/clang-tidy.sh [BUILDDIR]
#
# BUILDDIR (default $VIGIL_BUILDDIR, else the current directory) is a
# configured and built tree: vigil_config.h and the compile flags come from
# it.  Its compile_commands.json is used if there is one (bear -- make);
# otherwise one is written from the Makefile's variables.
# Environment: CLANG_TIDY (the binary), CLANG_TIDY_JOBS (default: the
# number of CPUs), CLANG_TIDY_SKIP (more paths to skip, space-separated),
# CLANG_TIDY_VERBOSE=1 (print the analyzer's notes too),
# CLANG_TIDY_SKIP_FILE (default contrib/lint/clang-tidy.skip, the paths
# skipped for now, one a line; /dev/null lints everything).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${VIGIL_BUILDDIR:-.}}" && pwd)

tidy=${CLANG_TIDY:-}
if [ -z "$tidy" ]; then
    for t in clang-tidy clang-tidy-16 clang-tidy-15 clang-tidy-14; do
        if command -v "$t" >/dev/null; then
            tidy=$t
            break
        fi
    done
fi
[ -n "$tidy" ] || { echo "clang-tidy not installed"; exit 77; }
[ -f "$src/.clang-tidy" ] || { echo "$src/.clang-tidy: missing" >&2; exit 2; }
[ -f "$build/vigil_config.h" ] || {
    echo "$build: not a configured build directory (no vigil_config.h)" >&2
    exit 2
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Paths skipped: exact files or directory prefixes, relative to $src.
skipfile=${CLANG_TIDY_SKIP_FILE:-$src/contrib/lint/clang-tidy.skip}
skip=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$skipfile" \
       2>/dev/null || true)
skip="$skip ${CLANG_TIDY_SKIP:-}"
skipped() {
    for s in $skip; do
        case $1 in "$s"|"${s%/}"/*) return 0 ;; esac
    done
    return 1
}

# The files the build compiled: automake names each object after the
# source, with or without a per-target prefix (dir/target-name.o).
: >"$tmp/files"
nskip=0
for f in $(cd "$src" && find src plugins include -name '*.c' | sort); do
    base=$(basename "$f" .c)
    d=$build/$(dirname "$f")
    objs=$(ls "$d/$base.o" "$d/$base.lo" "$d"/*-"$base".o "$d"/*-"$base".lo \
           2>/dev/null || true)
    [ -n "$objs" ] || continue
    if skipped "$f"; then
        nskip=$((nskip + 1))
        continue
    fi
    echo "$f" >>"$tmp/files"
done
[ -s "$tmp/files" ] || {
    echo "$build: no object built from src/ or plugins/" >&2
    exit 2
}

extra=""
if [ -f "$build/compile_commands.json" ]; then
    db=$build
    # The database holds the compiler's own flags: a gcc-only warning
    # option must not turn into an error under clang.
    extra="--extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-error"
else
    # The flags every object gets (AM_CPPFLAGS, vigil_config.h, the
    # libraries' -I), plus the source directories that some targets add.
    cat >"$tmp/flags.mk" <<'EOF'
VG_LINT_FLAGS = $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) \
	$(YAML_CFLAGS) $(SYSTEMD_CFLAGS) $(PQ_CFLAGS) $(CURL_CFLAGS) \
	$(SSL_CFLAGS) $(CRYPTO_CFLAGS) $(PCRE2_CFLAGS) $(ZLIB_CFLAGS)
vg-lint-flags:
	$(info $(VG_LINT_FLAGS))
	@:
EOF
    # A clean make: under "make check" the inherited MAKEFLAGS would add
    # "Entering directory" lines to the output.
    flags=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s \
            --no-print-directory -C "$build" -o Makefile -f Makefile \
            -f "$tmp/flags.mk" vg-lint-flags)
    dirs=$(grep -o '[-]I$(top_srcdir)/[A-Za-z0-9_/.-]*' "$src/Makefile.am" |
           sed "s|\$(top_srcdir)|$src|" | sort -u | tr '\n' ' ')
    cmd=$(printf 'cc -std=gnu11 %s %s' "$flags" "$dirs" |
          sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
    db=$tmp
    {
        echo "["
        sep=""
        while read -r f; do
            printf '%s{ "directory": "%s", "file": "%s",\n' \
                "$sep" "$build" "$src/$f"
            printf '  "command": "%s -c %s" }' "$cmd" "$src/$f"
            sep=",
"
        done <"$tmp/files"
        echo "]"
    } >"$db/compile_commands.json"
fi

# One clang-tidy a file, each writing its own output, so that lines of
# parallel runs do not interleave.
mkdir "$tmp/out"
jobs=${CLANG_TIDY_JOBS:-$(nproc 2>/dev/null || echo 2)}
sed "s|^|$src/|" "$tmp/files" |
    xargs -P "$jobs" -n 1 sh -c '
        o="$0/out/$(echo "$5" | tr / _)"
        "$1" --config-file="$2/.clang-tidy" -p "$3" --quiet $4 "$5" \
            >"$o.txt" 2>"$o.err" || echo "$5" >"$o.rc"
    ' "$tmp" "$tidy" "$src" "$db" "$extra" || true

# A finding is a "file:line:col: warning|error: ... [check]" line; a header
# shows once, however many files include it.
cat "$tmp"/out/*.txt >"$tmp/all.txt"
grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[A-Za-z0-9.,_-]+\]$' \
    "$tmp/all.txt" | sed "s|^$src/||" | sort -u >"$tmp/findings" || true
: >"$tmp/kept"
while IFS= read -r l; do
    skipped "${l%%:*}" || echo "$l" >>"$tmp/kept"
done <"$tmp/findings"
n=$(wc -l <"$tmp/kept")
if [ "${CLANG_TIDY_VERBOSE:-}" = 1 ]; then
    sed "s|$src/||" "$tmp/all.txt"
else
    cat "$tmp/kept"
fi

# A clang-tidy that failed without any finding (a crash, a bad flag).
nfail=0
for rc in "$tmp"/out/*.rc; do
    [ -f "$rc" ] || continue
    o=${rc%.rc}
    if ! grep -qE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$o.txt"; then
        echo "clang-tidy failed on $(sed "s|^$src/||" "$rc"):" >&2
        grep -E '(error|warning):' "$o.txt" | head -n 5 >&2
        cat "$o.err" >&2
        nfail=$((nfail + 1))
    fi
done

echo "clang-tidy: $(wc -l <"$tmp/files") files, $n findings, $nskip skipped"
[ "$n" -eq 0 ] && [ "$nfail" -eq 0 ]
