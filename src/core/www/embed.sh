#!/bin/sh
# embed.sh NAME FILE: writes C source defining NAME (the bytes of FILE as a
# string) and NAME_len, so the status page ships inside the binary.
set -eu
name=$1
file=$2
printf '/* Generated from %s by embed.sh: do not edit. */\n' "$(basename "$file")"
printf '#include <stddef.h>\n\nconst char %s[] =\n' "$name"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$file"
printf ';\nconst size_t %s_len = sizeof(%s) - 1;\n' "$name" "$name"
