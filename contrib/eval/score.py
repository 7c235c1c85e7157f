#!/usr/bin/env python3
"""NAB-like scorer of the anomaly filter's alerts.

Each labelled anomaly gets a window that opens WINDOW/8 samples before it
and closes 7*WINDOW/8 after (WINDOW: 10% of the series, as NAB).  The first
alert in a window scores by how early it came, with NAB's scaled sigmoid
(about +1 at the window's start, 0 at its end); later alerts in the same
window count for nothing.  Every alert outside a window costs A_FP (0.11,
NAB's standard profile); a window without an alert costs 1.  The score is
normalised as NAB's: 0 = detect nothing, 100 = every anomaly at once and no
false alarm.  Precision = alerts that fell in a window / all alerts;
recall = windows detected / windows.  Usage:
  score.py LABELS ALERTS [--json]
"""
import collections
import json
import math
import sys

A_FP = 0.11


def sigmoid(y):
    return 2 / (1 + math.exp(5 * y)) - 1


def score(labels_path, alerts_path):
    labels = {}
    for line in open(labels_path):
        sid, base, kind, start, length, n = line.strip().split(",")
        labels[sid] = (base, kind, int(start), int(length), int(n))
    alerts = collections.defaultdict(list)
    for line in open(alerts_path):
        sid, idx = line.strip().split(",")
        alerts[sid].append(int(idx))

    def new():
        return dict(windows=0, detected=0, tp=0, fp=0, raw=0.0, best=0.0,
                    null=0.0, samples=0, delay=[])
    by = collections.defaultdict(new)
    for sid, (base, kind, start, length, n) in labels.items():
        for key in ("all", "kind:" + kind, "base:" + base):
            s = by[key]
            s["samples"] += n
            a = alerts.get(sid, [])
            if start < 0:
                s["fp"] += len(a)
                s["raw"] -= A_FP * len(a)
                continue
            w = n // 10
            lo, hi = start - w // 8, start + w - w // 8
            s["windows"] += 1
            s["null"] -= 1
            s["best"] += sigmoid(-1 + (start - lo) / (hi - lo))
            inside = [i for i in a if lo <= i <= hi]
            outside = [i for i in a if not lo <= i <= hi]
            s["fp"] += len(outside)
            s["raw"] -= A_FP * len(outside)
            if inside:
                first = inside[0]
                s["detected"] += 1
                s["tp"] += 1
                s["delay"].append(first - start)
                s["raw"] += sigmoid(-1 + (first - lo) / (hi - lo))
            else:
                s["raw"] -= 1
    rows = {}
    for key, s in sorted(by.items()):
        alerts_n = s["tp"] + s["fp"]
        prec = s["tp"] / alerts_n if alerts_n else 1.0
        rec = s["detected"] / s["windows"] if s["windows"] else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        span = s["best"] - s["null"]
        nab = 100 * (s["raw"] - s["null"]) / span if span else 0.0
        d = sorted(s["delay"])
        rows[key] = dict(precision=prec, recall=rec, f1=f1, nab=nab,
                         fp_per_10k=1e4 * s["fp"] / s["samples"],
                         windows=s["windows"], fp=s["fp"],
                         median_delay=d[len(d) // 2] if d else None)
    return rows


def main():
    rows = score(sys.argv[1], sys.argv[2])
    if "--json" in sys.argv:
        print(json.dumps(rows["all"]))
        return
    print("%-16s %6s %6s %6s %7s %8s %5s %5s %6s" % (
        "group", "prec", "recall", "F1", "NAB", "FP/10k", "wins", "FPs",
        "delay"))
    for key, r in rows.items():
        if key == "all":
            continue
        print("%-16s %6.3f %6.3f %6.3f %7.1f %8.2f %5d %5d %6s" % (
            key, r["precision"], r["recall"], r["f1"], r["nab"],
            r["fp_per_10k"], r["windows"], r["fp"], r["median_delay"]))
    r = rows["all"]
    print("%-16s %6.3f %6.3f %6.3f %7.1f %8.2f %5d %5d %6s" % (
        "overall", r["precision"], r["recall"], r["f1"], r["nab"],
        r["fp_per_10k"], r["windows"], r["fp"], r["median_delay"]))


if __name__ == "__main__":
    main()
