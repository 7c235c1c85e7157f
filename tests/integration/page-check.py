#!/usr/bin/env python3
"""Drives headless Chromium through its DevTools protocol (standard library
only: a minimal WebSocket client) against the status page of a running
agent, in real time, so the page's own 2 s refresh and its rates run as
they would for a person.

page-check.py CHROMIUM URL DOWN_FILE ARTEFACT_DIR [TOKEN]

Without TOKEN: checks the pipeline graph, the firing alert, live events/s,
an output made to fail (by creating DOWN_FILE) shown as failing with its
error, the throughput chart, accessibility basics and text contrast in
both themes; saves screenshots.  With TOKEN: checks the token prompt, by
keyboard only.  Exits non-zero with a message on the first failure.
"""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames,
    masked from the client, fragmented or not from the server."""

    def __init__(self, url):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))),
                                             timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
            % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            check(chunk, "websocket handshake cut short")
            head += chunk
        check(head.startswith(b"HTTP/1.1 101"), "handshake: %r" % head)

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            check(chunk, "websocket closed")
            out += chunk
        return out

    def send(self, text):
        data = text.encode()
        n = len(data)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask +
                          bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                raise Fail("the browser closed the connection")
            if op in (0, 1, 2):
                msg += payload
                if b0 & 0x80:
                    return msg.decode()


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="vigil-chromium.")
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--hide-scrollbars",
             "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(200):
            if os.path.exists(port_file) and \
                    len(open(port_file).read().split("\n")) >= 2:
                break
            time.sleep(0.1)
        else:
            raise Fail("chromium did not open its debugging port")
        port = open(port_file).read().split("\n")[0]
        pages = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%s/json/list" % port, timeout=10))
        page = [p for p in pages if p["type"] == "page"][0]
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.results = {}
        self.console = []
        self.add_headers = {}

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method,
                                 "params": params}))
        return self.next_id

    def call(self, method, **params):
        want = self.send(method, **params)
        while want not in self.results:
            msg = json.loads(self.ws.recv())
            if "id" in msg:
                self.results[msg["id"]] = msg
            else:
                self.event(msg["method"], msg["params"])
        msg = self.results.pop(want)
        check("error" not in msg, "%s: %s" % (method, msg.get("error")))
        return msg["result"]

    def event(self, method, params):
        if method == "Runtime.exceptionThrown":
            self.console.append(params["exceptionDetails"].get("text", "?"))
        elif method == "Network.requestWillBeSent":
            self.console.append("request " + params["request"]["url"])
        elif method == "Fetch.requestPaused":
            headers = dict(params["request"]["headers"], **self.add_headers)
            self.send("Fetch.continueRequest", requestId=params["requestId"],
                      headers=[{"name": k, "value": v}
                               for k, v in headers.items()])

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        check("exceptionDetails" not in r, "script: %s" % r)
        return r["result"].get("value")

    def wait(self, expr, limit, what):
        """Polls EXPR; an exception (the page still loading) is a no."""
        end = time.time() + limit
        while time.time() < end:
            r = self.call("Runtime.evaluate", expression=expr,
                          returnByValue=True)
            if "exceptionDetails" not in r and r["result"].get("value"):
                return r["result"]["value"]
            time.sleep(0.25)
        raise Fail("timed out (%d s) waiting for %s" % (limit, what))

    def viewport(self, w, h, mobile):
        self.call("Emulation.setDeviceMetricsOverride", width=w, height=h,
                  deviceScaleFactor=1, mobile=mobile)

    def theme(self, scheme):
        self.call("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": scheme}])

    def screenshot(self, path):
        time.sleep(0.3)                         # let the layout settle
        r = self.call("Page.captureScreenshot", format="png",
                      captureBeyondViewport=False)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


# What a person sees, read from the DOM: hop names and texts, alert rows,
# chart names.
SNAPSHOT = r"""(() => {
  const t = (e) => e ? e.innerText.replace(/\s+/g, " ").trim() : null;
  return {
    hops: [...document.querySelectorAll(".hop")].map((h) => ({
      name: t(h.querySelector("strong")), text: t(h),
      failing: h.classList.contains("failing"),
      rate: t(h.querySelector(".rate")), total: t(h.querySelector(".total")),
      meter: !!h.querySelector("meter")})),
    alerts: [...document.querySelectorAll("#alerts tbody tr")].map(
      (r) => [...r.cells].map(t)),
    charts: [...document.querySelectorAll("svg.chart")].map((s) => ({
      role: s.getAttribute("role"),
      name: t(document.getElementById(s.getAttribute("aria-labelledby")))
            || s.getAttribute("aria-label"),
      points: s.querySelector("polyline").getAttribute("points")})),
    health: t(document.getElementById("health")),
    host: t(document.getElementById("host")),
  };
})()"""

# Accessibility basics a machine can decide.
A11Y = r"""(() => {
  const bad = [];
  if (!/^[a-z]{2}/.test(document.documentElement.lang)) bad.push("html lang");
  if (!document.title.trim()) bad.push("title");
  if (document.querySelectorAll("body > header").length !== 1) bad.push("banner landmark");
  if (document.querySelectorAll("main").length !== 1) bad.push("main landmark");
  if (!document.querySelector("body > footer")) bad.push("contentinfo landmark");
  if (!document.querySelector("meta[name=viewport]")) bad.push("viewport meta");
  if (!document.querySelector("h1")) bad.push("h1");
  for (const e of document.querySelectorAll("input, select, textarea, meter"))
    if (!e.labels.length && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
      bad.push("unlabelled " + e.tagName + (e.id ? "#" + e.id : ""));
  for (const e of document.querySelectorAll("img"))
    if (!e.hasAttribute("alt")) bad.push("img without alt");
  for (const e of document.querySelectorAll("svg")) {
    if (e.getAttribute("aria-hidden") === "true") continue;
    const by = e.getAttribute("aria-labelledby");
    const name = (e.getAttribute("aria-label") ||
                  (by && document.getElementById(by) ? document.getElementById(by).textContent : "")).trim();
    if (e.getAttribute("role") !== "img" || !name) bad.push("chart without role=img and a name");
  }
  for (const e of document.querySelectorAll("button"))
    if (!e.textContent.trim() && !e.getAttribute("aria-label")) bad.push("button without name");
  for (const s of document.querySelectorAll("section, article"))
    if (!s.getAttribute("aria-labelledby") && !s.getAttribute("aria-label")) bad.push("unnamed " + s.tagName);
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  if (new Set(ids).size !== ids.length) bad.push("duplicate ids");
  for (const th of document.querySelectorAll("th"))
    if (!th.getAttribute("scope")) bad.push("th without scope");
  let lvl = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const n = +h.tagName[1];
    if (n > lvl + 1) bad.push("heading level skipped at " + h.textContent);
    lvl = n;
  }
  return bad;
})()"""

# WCAG 2.1 contrast of every visible text against what is behind it
# (1.4.3: 4.5:1, large text 3:1), and of chart lines and field borders
# (1.4.11: 3:1).
CONTRAST = r"""(() => {
  const rgb = (s) => { const m = s.match(/[\d.]+/g).map(Number);
                       return { c: m.slice(0, 3), a: m.length > 3 ? m[3] : 1 }; };
  const lin = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => { const x = lum(a), y = lum(b);
                            return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const behind = (e) => {
    for (; e; e = e.parentElement) {
      const b = rgb(getComputedStyle(e).backgroundColor);
      if (b.a > 0) return b.c;
    }
    return [255, 255, 255];
  };
  const out = [], seen = new Set();
  const add = (what, e, fg, need) => {
    const r = ratio(fg, behind(e));
    const key = what + fg + behind(e);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ what, fg: fg.join(","), bg: behind(e).join(","), ratio: +r.toFixed(2), need });
  };
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walk.nextNode());) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e.getClientRects().length) continue;
    const cs = getComputedStyle(e);
    const px = parseFloat(cs.fontSize), bold = +cs.fontWeight >= 700;
    const large = px >= 24 || (bold && px >= 18.66);
    add("text '" + n.textContent.trim().slice(0, 30) + "'", e, rgb(cs.color).c, large ? 3 : 4.5);
  }
  for (const p of document.querySelectorAll("svg.chart polyline"))
    add("chart line", p.closest("svg"), rgb(getComputedStyle(p).stroke).c, 3);
  for (const i of document.querySelectorAll("input, button, meter"))
    add("field border", i.parentElement, rgb(getComputedStyle(i).borderTopColor).c, 3);
  return out;
})()"""


def status_json(url, path):
    return json.load(urllib.request.urlopen(url + path, timeout=5))


def hop_rate(hop):
    check(hop["rate"] not in (None, "…"), "no rate yet: %s" % hop)
    return float(hop["rate"].rstrip("kMG")) * \
        {"k": 1e3, "M": 1e6, "G": 1e9}.get(hop["rate"][-1:], 1)


def check_contrast(b, theme, log):
    b.theme(theme)
    time.sleep(0.2)
    pairs = b.js(CONTRAST)
    check(len(pairs) > 10, "%s: too few texts measured: %s" % (theme, pairs))
    low = [p for p in pairs if p["ratio"] < p["need"]]
    check(not low, "%s theme: contrast too low: %s" % (theme, low))
    log.write("%s theme: %d colour pairs, lowest %.2f:1\n"
              % (theme, len(pairs), min(p["ratio"] for p in pairs)))
    for p in sorted(pairs, key=lambda p: p["ratio"]):
        log.write("  %5.2f >= %.1f  %s  fg %s on %s\n"
                  % (p["ratio"], p["need"], p["what"], p["fg"], p["bg"]))


def main_checks(b, url, down, art):
    st = status_json(url, "/api/v1/status")
    p = st["pipelines"][0]
    names = [i["name"] for i in p["inputs"] + p["filters"] + p["outputs"]]
    log = open(os.path.join(art, "status-page.txt"), "w")

    b.viewport(1280, 900, False)
    b.theme("light")
    b.call("Page.navigate", url=url + "/")
    # Two refreshes (2 s apart) are needed before a rate can be shown.
    b.wait("document.querySelectorAll('.hop .rate').length > 0 && "
           "[...document.querySelectorAll('.hop .rate')]"
           ".every((e) => e.textContent !== '…')", 10, "rates on every hop")
    s1 = b.js(SNAPSHOT)
    check([h["name"] for h in s1["hops"]] == names,
          "hops %s, want %s" % ([h["name"] for h in s1["hops"]], names))
    check(not any(h["failing"] for h in s1["hops"]), "failing too early")
    check(s1["hops"][-1]["meter"] and "queue" in s1["hops"][-1]["text"],
          "output without its queue fill: %s" % s1["hops"][-1])
    r = hop_rate(s1["hops"][0])
    check(100 <= r <= 300, "input rate %s, want about 200" % r)
    check(len(s1["alerts"]) == 1, "alerts %s" % s1["alerts"])
    sev, rule, summary, pipe, age = s1["alerts"][0]
    check(sev == "critical" and rule == "high_value" and
          re.match(r"value [\d.]+ is high$", summary) and pipe == "p" and
          re.match(r"\d+ (s|min)$", age), "alert row %s" % s1["alerts"][0])
    check("1 alert firing" in s1["health"], "health %r" % s1["health"])
    check(s1["charts"] and s1["charts"][0]["role"] == "img" and
          "Events/s into p" in s1["charts"][0]["name"], "chart %s" % s1["charts"])
    time.sleep(2.5)
    s2 = b.js(SNAPSHOT)
    check(s2["hops"][0]["total"] != s1["hops"][0]["total"],
          "event count did not change: %s" % s2["hops"][0])
    check(s2["host"] != s1["host"] or s2["alerts"] != s1["alerts"] or
          s2["hops"][0]["rate"] != s1["hops"][0]["rate"] or
          s2["hops"][-1]["total"] != s1["hops"][-1]["total"],
          "nothing changed in 2.5 s")
    log.write("live: %s -> %s events out of the input\n"
              % (s1["hops"][0]["total"], s2["hops"][0]["total"]))

    bad = b.js(A11Y)
    check(not bad, "accessibility: %s" % bad)

    # Make the output fail; the page must say so in words, not colour only.
    open(down, "w").close()
    b.wait("!!document.querySelector('.hop.failing')", 15, "a failing hop")
    b.wait("/output.*failing/.test(document.getElementById('health')"
           ".textContent)", 5, "the failing output in the header")
    s3 = b.js(SNAPSHOT)
    out = s3["hops"][-1]
    check(out["failing"] and "✖ failing" in out["text"] and
          "Last error: tp_slow: down" in out["text"], "failing hop %s" % out)
    check(not any(h["failing"] for h in s3["hops"][:-1]), "wrong hop failing")
    b.wait("document.title.includes('failing')", 5, "the title")
    check(not b.js(A11Y), "accessibility while failing")

    # The chart: the agent samples every 10 s, so by 20 s of uptime a
    # real rate is in the history and in the chart's name.
    b.wait("(() => { const c = document.querySelector('svg.chart');"
           " return c && !/now 0,/.test(document.getElementById("
           "c.getAttribute('aria-labelledby')).textContent); })()",
           25, "a throughput point in the chart")
    s4 = b.js(SNAPSHOT)
    check(s4["charts"][0]["points"] != s1["charts"][0]["points"],
          "chart did not change")
    now = re.search(r"now ([\d.]+)", s4["charts"][0]["name"])
    check(now and 50 <= float(now.group(1)) <= 300,
          "chart name %r" % s4["charts"][0]["name"])
    log.write("chart: %s\n" % s4["charts"][0]["name"])
    b.screenshot(os.path.join(art, "status-desktop.png"))
    check_contrast(b, "light", log)
    check_contrast(b, "dark", log)
    b.screenshot(os.path.join(art, "status-desktop-dark.png"))
    b.theme("light")
    b.viewport(390, 844, True)
    time.sleep(0.3)
    width = b.js("document.documentElement.scrollWidth")
    check(width <= 390, "phone: the page scrolls sideways (%s px)" % width)
    b.screenshot(os.path.join(art, "status-phone.png"))
    b.theme("dark")
    b.screenshot(os.path.join(art, "status-phone-dark.png"))
    b.theme("light")
    b.viewport(1280, 900, False)

    if os.path.exists(down):
        os.unlink(down)
    b.wait("!document.querySelector('.hop.failing')", 15, "recovery")
    b.wait("/All outputs healthy/.test(document.getElementById('health')"
           ".textContent)", 5, "healthy header")

    log.close()


def token_checks(b, url, tok):
    try:
        urllib.request.urlopen(url + "/", timeout=5)
    except urllib.error.HTTPError as e:
        # The agent wants the token for the page itself, which a browser
        # cannot send on a navigation: hand the page over with the token
        # so that the prompt it shows for the API can still be checked.
        print("page-check: note: GET / answers %d without the token" % e.code)
        b.add_headers = {"Authorization": "Bearer " + tok}
        b.call("Fetch.enable", patterns=[{"urlPattern": url + "/",
                                          "requestStage": "Request"}])
    b.viewport(390, 844, True)
    b.call("Page.navigate", url=url + "/")
    b.wait("!document.getElementById('auth').hidden && "
           "document.activeElement.id === 'token'", 10,
           "the token prompt, focused")
    # Focus moved by script may not match :focus-visible; a Tab press
    # from the field to the button must show the outline.
    for kind in ("rawKeyDown", "keyUp"):
        b.call("Input.dispatchKeyEvent", type=kind, key="Tab", code="Tab",
               windowsVirtualKeyCode=9)
    check(b.js("document.activeElement.tagName") == "BUTTON", "Tab order")
    outline = b.js("getComputedStyle(document.activeElement).outlineStyle")
    check(outline not in ("none", ""), "no visible focus: %r" % outline)
    b.js("document.getElementById('token').focus()")
    b.call("Input.insertText", text=tok)
    for kind in ("rawKeyDown", "char", "keyUp"):
        b.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
               windowsVirtualKeyCode=13, text="\r")
    b.wait("document.getElementById('auth').hidden && "
           "document.querySelectorAll('.hop').length === 3", 10,
           "the pipelines after the token")
    check("s3cret" not in b.js("document.body.innerText"), "token shown")


def main():
    chromium, url, down, art = sys.argv[1:5]
    tok = sys.argv[5] if len(sys.argv) > 5 else None
    b = Browser(chromium)
    try:
        b.call("Page.enable")
        b.call("Runtime.enable")
        b.call("Network.enable")
        if tok:
            token_checks(b, url, tok)
        else:
            main_checks(b, url, down, art)
        # Self-contained: every request the page made went to the agent.
        for c in b.console:
            check(not c.startswith("request ") or
                  c[len("request "):].startswith(url + "/"),
                  "external request: %s" % c)
        errors = [c for c in b.console if not c.startswith("request ")]
        check(not errors, "script errors: %s" % errors)
    except Fail as e:
        print("page-check: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
