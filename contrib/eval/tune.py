#!/usr/bin/env python3
"""Grid search of the detector's parameters on a generated data set.

Runs the harness once per combination and ranks them by the NAB-like
score (score.py).  Usage: tune.py HARNESS DATADIR NAME=V1,V2 ...
"""
import itertools
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score  # noqa: E402


def main():
    harness, data = sys.argv[1], sys.argv[2]
    grid = [(a.split("=")[0], a.split("=")[1].split(","))
            for a in sys.argv[3:]]
    names = [g[0] for g in grid]
    results = []
    series = open(os.path.join(data, "series.csv"), "rb").read()
    alerts = os.path.join(data, "alerts.tmp")
    for combo in itertools.product(*[g[1] for g in grid]):
        args = ["%s=%s" % kv for kv in zip(names, combo)]
        out = subprocess.run([harness] + args, input=series,
                             capture_output=True, check=True).stdout
        with open(alerts, "wb") as f:
            f.write(out)
        r = score.score(os.path.join(data, "labels.csv"), alerts)["all"]
        results.append((r["nab"], r["f1"], r["fp_per_10k"], args))
    os.unlink(alerts)
    results.sort(reverse=True)
    for nab, f1, fp, args in results[:15]:
        print("NAB %6.1f F1 %.3f FP/10k %5.2f  %s" % (nab, f1, fp,
                                                    " ".join(args)))


if __name__ == "__main__":
    main()
