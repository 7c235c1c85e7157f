#!/usr/bin/env python3
"""HTTP(S) receivers of the integration tests (Python stdlib only).

Modes:
  sink       records each request (method, path, headers, body; gunzipped
             when Content-Encoding: gzip) and answers 200
  pagerduty  validates PagerDuty Events API v2 bodies as documented and
             answers 202 (400 with PagerDuty's error shape when invalid)
  slack      validates incoming-webhook payloads (text, Block Kit limits)
             and answers 200 "ok" (400 "invalid_payload" when invalid)
  discard    reads and drops bodies, counts events (lines) for benchmarks

Every request is appended to --out as one JSON line.  --control names a
file whose lines override the next answers, one line per request:
"STATUS [RETRY_AFTER_SECONDS]", e.g. "429 2" or "500".  The bound port is
written to --port-file (bind port 0: the kernel picks a free one).
"""
import argparse
import gzip
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"events": 0, "requests": 0, "bytes": 0, "connections": 0}

PD_SEVERITIES = {"critical", "error", "warning", "info"}
PD_ACTIONS = {"trigger", "acknowledge", "resolve"}
PD_TOP = {"routing_key", "event_action", "dedup_key", "payload", "images",
          "links", "client", "client_url"}
PD_PAYLOAD = {"summary", "source", "severity", "timestamp", "component",
              "group", "class", "custom_details"}


def pd_errors(ev):
    errs = []
    if not isinstance(ev, dict):
        return ["event must be an object"]
    for k in ev:
        if k not in PD_TOP:
            errs.append(f"unknown field '{k}'")
    rk = ev.get("routing_key")
    if not isinstance(rk, str) or not rk:
        errs.append("'routing_key' missing or invalid")
    act = ev.get("event_action")
    if act not in PD_ACTIONS:
        errs.append("'event_action' missing or invalid")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or not dk or
                           len(dk) > 255):
        errs.append("'dedup_key' invalid (1..255 chars)")
    if act in ("acknowledge", "resolve") and dk is None:
        errs.append("'dedup_key' required for " + str(act))
    if act == "trigger":
        p = ev.get("payload")
        if not isinstance(p, dict):
            return errs + ["'payload' missing or invalid"]
        for k in p:
            if k not in PD_PAYLOAD:
                errs.append(f"unknown payload field '{k}'")
        s = p.get("summary")
        if not isinstance(s, str) or not s or len(s) > 1024:
            errs.append("'payload.summary' invalid (1..1024 chars)")
        if not isinstance(p.get("source"), str) or not p["source"]:
            errs.append("'payload.source' missing or invalid")
        if p.get("severity") not in PD_SEVERITIES:
            errs.append("'payload.severity' missing or invalid")
        for k in ("timestamp", "component", "group", "class"):
            if k in p and not isinstance(p[k], str):
                errs.append(f"'payload.{k}' must be a string")
        if "custom_details" in p and not isinstance(p["custom_details"],
                                                    dict):
            errs.append("'payload.custom_details' must be an object")
    return errs


def text_obj_errors(t, where, limit, kinds=("mrkdwn", "plain_text")):
    if not isinstance(t, dict) or t.get("type") not in kinds:
        return [f"{where}: bad text object"]
    if not isinstance(t.get("text"), str) or not t["text"]:
        return [f"{where}: empty text"]
    if len(t["text"]) > limit:
        return [f"{where}: text longer than {limit}"]
    return []


def slack_errors(m):
    errs = []
    if not isinstance(m, dict):
        return ["payload must be an object"]
    if not isinstance(m.get("text"), str) or not m["text"]:
        errs.append("no_text")
    elif len(m["text"]) > 40000:
        errs.append("text longer than 40000")
    blocks = m.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        errs.append("blocks: not a list of at most 50")
        blocks = []
    for i, b in enumerate(blocks):
        w = f"blocks[{i}]"
        t = b.get("type") if isinstance(b, dict) else None
        if t == "header":
            errs += text_obj_errors(b.get("text"), w, 150, ("plain_text",))
        elif t == "section":
            if "text" not in b and "fields" not in b:
                errs.append(f"{w}: section without text or fields")
            if "text" in b:
                errs += text_obj_errors(b["text"], w, 3000)
            f = b.get("fields", [])
            if not isinstance(f, list) or len(f) > 10:
                errs.append(f"{w}: more than 10 fields")
            else:
                for j, x in enumerate(f):
                    errs += text_obj_errors(x, f"{w}.fields[{j}]", 2000)
        elif t == "context":
            el = b.get("elements")
            if not isinstance(el, list) or not el or len(el) > 10:
                errs.append(f"{w}: context needs 1..10 elements")
            else:
                for j, x in enumerate(el):
                    errs += text_obj_errors(x, f"{w}.elements[{j}]", 3000)
        elif t == "divider":
            pass
        else:
            errs.append(f"{w}: unknown block type {t!r}")
    att = m.get("attachments", [])
    if not isinstance(att, list) or len(att) > 100:
        errs.append("attachments: not a list of at most 100")
    else:
        for i, a in enumerate(att):
            if not isinstance(a, dict):
                errs.append(f"attachments[{i}]: not an object")
                continue
            c = a.get("color")
            if c is not None and c not in ("good", "warning", "danger") \
                    and not (isinstance(c, str) and c.startswith("#")):
                errs.append(f"attachments[{i}]: bad color {c!r}")
            if "blocks" in a:
                errs += slack_errors({"text": "x", "blocks": a["blocks"]})
    return errs


def next_control(path):
    """Pops the first line of the control file: (status, retry_after)."""
    if not path:
        return None
    with LOCK:
        try:
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l.strip()]
        except FileNotFoundError:
            return None
        if not lines:
            return None
        with open(path + ".tmp", "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        os.replace(path + ".tmp", path)
    parts = lines[0].split()
    return int(parts[0]), (parts[1] if len(parts) > 1 else None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            STATE["connections"] += 1

    def answer(self, status, body, ctype, retry_after=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        mode = self.server.args.mode
        if mode == "discard":
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            with LOCK:
                STATE["requests"] += 1
                STATE["bytes"] += n
                STATE["events"] += raw.count(b"\n")
            self.answer(200, b"", "text/plain")
            return
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = raw.decode("utf-8", "replace")
        rec = {"time": time.time(), "method": self.command,
               "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body, "errors": []}
        status, ctype, reply = 200, "application/json", "{}"
        if mode in ("pagerduty", "slack"):
            try:
                doc = json.loads(body)
            except ValueError as e:
                doc, rec["errors"] = None, [f"invalid JSON: {e}"]
            if doc is not None:
                rec["errors"] = (pd_errors(doc) if mode == "pagerduty"
                                 else slack_errors(doc))
        if mode == "pagerduty":
            if rec["errors"]:
                status, reply = 400, json.dumps(
                    {"status": "invalid event",
                     "message": "Event object is invalid",
                     "errors": rec["errors"]})
            else:
                status, reply = 202, json.dumps(
                    {"status": "success", "message": "Event processed",
                     "dedup_key": json.loads(body).get("dedup_key", "x")})
        elif mode == "slack":
            ctype = "text/plain"
            status, reply = (400, "invalid_payload") if rec["errors"] \
                else (200, "ok")
        retry_after = None
        ctl = next_control(self.server.args.control)
        if ctl:
            status, retry_after = ctl
            reply = {400: '{"status":"invalid event","message":'
                          '"Event object is invalid","errors":'
                          '["told to refuse"]}',
                     429: "rate_limited"}.get(status, "told to fail")
        rec["status"] = status
        with LOCK:
            with open(self.server.args.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.answer(status, reply, ctype, retry_after)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="sink",
                    choices=["sink", "pagerduty", "slack", "discard"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", default="/dev/null")
    ap.add_argument("--control")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--stats", help="discard: write counts here each 0.5s")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.args = args
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    if args.stats:
        def stats():
            while True:
                time.sleep(0.5)
                with LOCK:
                    s = json.dumps(STATE)
                try:
                    with open(args.stats + ".tmp", "w") as f:
                        f.write(s)
                    os.replace(args.stats + ".tmp", args.stats)
                except OSError:
                    return          # the directory went away: exiting
        threading.Thread(target=stats, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
