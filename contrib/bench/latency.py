#!/usr/bin/env python3
"""Follows a JSON lines file as vigil writes it and prints the latency from
each event's time to the moment it could be read: p50, p99, max (ms).

usage: latency.py FILE SECONDS
"""
import calendar
import os
import sys
import time


_secs = {}


def parse_time(s):
    # "2026-11-23T12:00:00.123456789Z" -> ns since the epoch
    head = s[:19]
    secs = _secs.get(head)
    if secs is None:
        secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
        _secs[head] = secs
    return secs * 10**9 + int(s[20:29])


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    while not os.path.exists(path):
        time.sleep(0.001)
    fd = os.open(path, os.O_RDONLY)
    # Events made before the follower was ready measure its start-up, not
    # the agent: count only those created after a short warm-up.
    ready = time.time_ns() + 200 * 10**6
    lat, rest = [], b""
    end = time.time() + seconds
    while time.time() < end:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            time.sleep(0.0005)
            continue
        now = time.time_ns()
        rest += chunk
        lines = rest.split(b"\n")
        rest = lines.pop()
        for line in lines:
            # "time" is the first key of every vigil JSON line.
            made = parse_time(line[9:39].decode())
            if made >= ready:
                lat.append((now - made) / 1e6)
    lat.sort()
    if not lat:
        print("no events")
        return
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"events {len(lat)}  p50 {p(0.5):.2f} ms  p99 {p(0.99):.2f} ms"
          f"  max {lat[-1]:.2f} ms")


main()
