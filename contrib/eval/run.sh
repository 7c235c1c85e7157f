#!/bin/sh
# The anomaly filter's evaluation: builds the harness on the filter's own
# detector code, generates a training and a held-out set of labelled
# series (gen.py, seeds 1 and 2), runs the detector with its defaults
# (or NAME=VALUE overrides given as arguments) and scores both sets with
# the NAB-like scorer (score.py): per anomaly kind, per base, overall.
#
# usage: contrib/eval/run.sh [NAME=VALUE...]   (python3 and cc needed)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/vigil-eval.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

${CC:-cc} -O2 -I"$SRC/plugins/filter/anomaly" -o "$T/anomaly_eval" \
    "$SRC/contrib/eval/anomaly_eval.c" "$SRC/plugins/filter/anomaly/detect.c" \
    "$SRC/plugins/filter/anomaly/table.c" -lm
for set in train:1 test:2; do
    name=${set%%:*} seed=${set##*:}
    python3 "$SRC/contrib/eval/gen.py" --seed "$seed" "$T/$name"
    "$T/anomaly_eval" "$@" <"$T/$name/series.csv" >"$T/$name/alerts.csv"
    echo "== $name set (seed $seed)"
    python3 "$SRC/contrib/eval/score.py" "$T/$name/labels.csv" \
        "$T/$name/alerts.csv"
done
