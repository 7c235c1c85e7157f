#!/usr/bin/env python3
"""Labelled series for the anomaly filter's evaluation.

Each series is a realistic base (white or heavy-tailed noise, a daily
cycle, a trend, a random walk, an AR(1) process, Poisson counts, a mostly
flat series) sampled every 5 minutes for two weeks, with at most one
injected anomaly (spike, level shift, variance change, trend change,
seasonal break) or none, at a random point after the first quarter.
Writes DIR/series.csv ("ID,SECONDS,VALUE") and DIR/labels.csv
("ID,BASE,KIND,START,LENGTH,N").  Deterministic for a given --seed.
"""
import argparse
import math
import os
import random

STEP = 300
N = 4032                                  # two weeks at 5 minutes
T0 = 1767225600                           # 2026-01-01T00:00:00Z

BASES = ["noise", "heavy", "daily", "trend", "walk", "ar1", "counts",
         "flat"]
KINDS = ["spike", "shift", "variance", "trend", "seasonal", "none"]


def base_series(rng, base):
    """Values and the noise's standard deviation."""
    level = rng.uniform(10, 1000)
    sd = level * rng.uniform(0.01, 0.1)
    v = []
    if base == "noise":
        v = [level + rng.gauss(0, sd) for _ in range(N)]
    elif base == "heavy":
        # Laplace noise: occasional big values that are not anomalies
        v = [level + rng.choice((-1, 1)) * rng.expovariate(1 / (sd / 1.41))
             for _ in range(N)]
    elif base == "daily":
        amp = sd * rng.uniform(3, 10)
        ph = rng.uniform(0, 2 * math.pi)
        v = [level + amp * math.sin(2 * math.pi * i * STEP / 86400 + ph)
             + rng.gauss(0, sd) for i in range(N)]
    elif base == "trend":
        slope = rng.uniform(-1, 1) * sd * 5 / N * 10
        v = [level + slope * i + rng.gauss(0, sd) for i in range(N)]
    elif base == "walk":
        x = level
        for _ in range(N):
            x += rng.gauss(0, sd * 0.2)
            v.append(x + rng.gauss(0, sd * 0.1))
        sd = sd * 0.2
    elif base == "ar1":
        x = 0.0
        for _ in range(N):
            x = 0.95 * x + rng.gauss(0, sd * 0.3)
            v.append(level + x)
        sd = sd * 0.3 / math.sqrt(1 - 0.95 ** 2)
    elif base == "counts":
        lam = rng.uniform(3, 50)
        v = [float(poisson(rng, lam)) for _ in range(N)]
        sd = math.sqrt(lam)
    elif base == "flat":
        v = [level if rng.random() > 0.02 else level + rng.gauss(0, sd)
             for _ in range(N)]
    return v, sd


def poisson(rng, lam):
    # Knuth's method is fine for the small rates used here
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def inject(rng, v, sd, kind, base):
    """Adds the anomaly in place; returns (start, length)."""
    start = rng.randrange(N // 4, N - N // 8)
    sign = rng.choice((-1, 1))
    if kind == "spike":
        v[start] += sign * sd * rng.uniform(6, 12)
        return start, 1
    if kind == "shift":
        k = sd * rng.uniform(4, 8)
        for i in range(start, N):
            v[i] += sign * k
        return start, N - start
    if kind == "variance":
        length = rng.randrange(36, 288)
        f = rng.uniform(4, 8)
        for i in range(start, min(N, start + length)):
            v[i] += rng.gauss(0, sd * f)
        return start, length
    if kind == "trend":
        slope = sign * sd * rng.uniform(0.1, 0.3)
        for i in range(start, N):
            v[i] += slope * (i - start)
        return start, N - start
    if kind == "seasonal":
        # a daily pattern that stops (the service went quiet) or,
        # on a non-seasonal base, an unusual half-day plateau
        length = 144
        if base == "daily":
            mean = sum(v) / len(v)
            for i in range(start, min(N, start + length)):
                v[i] = mean + rng.gauss(0, sd)
        else:
            for i in range(start, min(N, start + length)):
                v[i] += sign * sd * 5
        return start, length
    return -1, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-pair", type=int, default=4,
                    help="series per (base, kind) pair")
    ap.add_argument("dir")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "series.csv"), "w") as out, \
            open(os.path.join(a.dir, "labels.csv"), "w") as lab:
        for base in BASES:
            for kind in KINDS:
                if kind == "seasonal" and base in ("walk", "flat"):
                    continue
                for k in range(a.per_pair):
                    sid = "%s-%s-%d" % (base, kind, k)
                    v, sd = base_series(rng, base)
                    start, length = inject(rng, v, sd, kind, base)
                    for i, x in enumerate(v):
                        out.write("%s,%d,%.6g\n" % (sid, T0 + i * STEP, x))
                    lab.write("%s,%s,%s,%d,%d,%d\n" % (sid, base, kind, start,
                                                       length, N))


if __name__ == "__main__":
    main()
