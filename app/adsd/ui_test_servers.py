"""What the web UI's browser test (ui_browser_test.py) runs the page against: a real adsd, a
stand-in external validator it controls, and a front that serves the live stream's contract (and
the routes adsd cannot be made to show on purpose) while passing everything else to adsd."""

import json
import os
import queue
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACME = "acme-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdef"


class Validator:
    """A stand-in for the external validation API: approves everything, but answers 503 for an
    ad whose title contains a held marker until that marker is released (adsd keeps such an ad
    pending and retries)."""

    def __init__(self, markers):
        self.holds = {m: threading.Event() for m in markers}
        validator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    title = json.loads(body).get("ad", {}).get("title", "")
                except ValueError:
                    title = ""
                if any(m in title and not released.is_set() for m, released in validator.holds.items()):
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = b'{"verdict":"approve","reasons":[]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def release(self, marker):
        self.holds[marker].set()

    @property
    def url(self):
        return "http://127.0.0.1:%d/v1/validate" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()


class Adsd:
    def __init__(self, binary, root, validator_url):
        keys = os.path.join(root, "keys.toml")
        with open(keys, "w") as f:  # plaintext tokens: adsd migrates them to hashes at start
            f.write('[[key]]\ntoken = "%s"\nretailer = "acme"\nunlimited = true\n' % ACME)
            f.write('[[key]]\ntoken = "%s"\nrole = "admin"\n' % ADMIN)
        self.proc = subprocess.Popen(
            [binary, "--data-dir", os.path.join(root, "data"), "--api-keys", keys, "--listen", "127.0.0.1:0",
             "--validator-url", validator_url, "--validator-timeout-ms", "1000", "--validator-breaker-open-ms", "100"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()  # "adsd listening on http://127.0.0.1:PORT (…"
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("adsd did not start: " + line)
        self.base = "http://127.0.0.1:" + m.group(1)

    def call(self, method, path, token, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def submit(self, title, landing_url="https://shop.example.com/boots"):
        status, body = self.call("POST", "/v1/ads", ACME, {
            "title": title, "landing_url": landing_url, "category": "apparel", "bid_cents": 120,
            "currency": "USD", "countries": ["US", "CA"]})
        assert status == 202, (status, body)
        return body

    def await_status(self, ad, want, seconds=20):
        deadline = time.monotonic() + seconds
        while True:
            status, body = self.call("GET", "/v1/ads/%s?min_position=%d&wait_ms=2000" % (ad["ad_id"], ad["position"]), ACME)
            if status == 200 and body["status"] in want:
                return body
            if time.monotonic() > deadline:
                raise AssertionError("ad %s is %r, not %r" % (ad["ad_id"], body, want))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Front:
    """adsd behind a small proxy that serves GET /v1/ads/stream itself, as the live stream's
    contract says (text/event-stream; id = log position, event = type, data = the change as JSON;
    comment lines as heartbeats; resumable with Last-Event-ID), so that the page's stream client is
    tested before adsd has the route. The test says what the stream sends, in which pieces, and
    when it ends; the proxy records the Last-Event-ID of every connection."""

    def __init__(self, adsd_base):
        self.connections = []  # the Last-Event-ID header of each stream connection (None: none)
        self.paths = []        # every other request's path and query, in order
        # When a list: the parked streams an admin is shown (adsd has no way to make one on
        # purpose), and the replays asked for, each of which unparks its stream.
        self.parked = None
        self.replayed = []
        # The same for webhooks (another part of the API): when a list, the endpoints, each with
        # its "deliveries"; a retry makes a delivery pending with no failed attempt.
        self.webhooks = None
        self.retried = []
        self.queue = None      # what the open stream is to send next
        self.lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            def stream(self):
                if self.headers.get("Authorization") != "Bearer " + ACME:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                q = queue.Queue()
                with front.lock:
                    front.queue = q
                    front.connections.append(self.headers.get("Last-Event-ID"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                self.wfile.write(b": connected\n\n")
                while True:
                    try:
                        item = q.get(timeout=2)
                    except queue.Empty:
                        self.wfile.write(b": heartbeat\r\n\r\n")
                        continue
                    if item is None:
                        return
                    for piece in item:
                        self.wfile.write(piece)
                        time.sleep(0.02)  # separate reads on the page's side

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def admin(self):
                """The parked-stream routes as docs/api.md has them, for an admin token."""
                path = self.path.split("?")[0]
                with front.lock:
                    if self.command == "GET" and path == "/v1/admin/parked":
                        return self.answer(200, {"parked": front.parked})
                    m = re.fullmatch(r"/v1/admin/parked/([^/]+)/replay", path)
                    if self.command == "POST" and m:
                        stream = urllib.parse.unquote(m.group(1))
                        front.replayed.append(stream)
                        if not any(p["stream"] == stream for p in front.parked):
                            return self.answer(404, {"title": "Not parked", "status": 404})
                        front.parked = [p for p in front.parked if p["stream"] != stream]
                        return self.answer(200, {"replayed": True})
                return None

            def hooks(self):
                """The webhook routes an operator's and a retailer's page read, as documented."""
                path = self.path.split("?")[0]
                admin = self.headers.get("Authorization") == "Bearer " + ADMIN
                with front.lock:
                    mine = [e for e in front.webhooks if admin or e["retailer"] == "acme"]
                    if self.command == "GET" and path == "/v1/webhooks":
                        return self.answer(200, {"webhooks": [{k: v for k, v in e.items() if k != "deliveries"} for e in mine]})
                    m = re.fullmatch(r"/v1/webhooks/([^/]+)/deliveries(?:/([^/]+)/retry)?", path)
                    e = next((e for e in mine if m and e["id"] == urllib.parse.unquote(m.group(1))), None)
                    if e is None:
                        return self.answer(404, {"title": "Not found", "status": 404})
                    if self.command == "GET" and not m.group(2):
                        state = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["status"][0]
                        chosen = [d for d in e["deliveries"] if d["state"] == state or
                                  (state == "failed" and d["state"] == "pending" and d["attempts"] > 0)]
                        return self.answer(200, {"deliveries": chosen})
                    if self.command == "POST" and m.group(2):
                        d = next(d for d in e["deliveries"] if d["id"] == urllib.parse.unquote(m.group(2)))
                        front.retried.append(d["id"])
                        d.update(state="pending", attempts=0)
                        return self.answer(202, {"id": d["id"], "state": "pending"})
                return self.answer(405, {"title": "Method not allowed", "status": 405})

            def forward(self):
                if self.command == "GET" and self.path.split("?")[0] == "/v1/ads/stream":
                    return self.stream()
                if front.webhooks is not None and self.path.startswith("/v1/webhooks"):
                    return self.hooks()
                if front.parked is not None and self.headers.get("Authorization") == "Bearer " + ADMIN \
                        and self.path.startswith("/v1/admin/parked"):
                    return self.admin()
                with front.lock:
                    front.paths.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else None
                req = urllib.request.Request(adsd_base + self.path, data=body, method=self.command)
                for name in ("Authorization", "Content-Type", "If-None-Match", "If-Match", "Accept"):
                    if self.headers.get(name):
                        req.add_header(name, self.headers.get(name))
                try:
                    res = urllib.request.urlopen(req, timeout=15)
                except urllib.error.HTTPError as e:
                    res = e
                data = res.read()
                self.send_response(res.status)
                for name, value in res.headers.items():
                    if name.lower() not in ("content-length", "connection", "server", "date", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]

    def await_connections(self, n, seconds=20):
        deadline = time.monotonic() + seconds
        while True:
            with self.lock:
                if len(self.connections) >= n:
                    return list(self.connections)
            if time.monotonic() > deadline:
                raise AssertionError("the page opened %d stream connections, not %d" % (len(self.connections), n))
            time.sleep(0.02)

    def send(self, pieces):
        with self.lock:
            self.queue.put(pieces)

    def close_stream(self):
        with self.lock:
            self.queue.put(None)

    def stop(self):
        self.server.shutdown()


def sse_event(change):
    """One event as the contract has it, cut into awkward pieces: a CRLF and a multi-byte
    character are split between two writes."""
    data = json.dumps(change, ensure_ascii=False).encode()
    text = b"id: %d\r\nevent: %s\r\ndata: " % (change["position"], change["type"].encode()) + data + b"\r\n\r\n"
    cut = text.index(b"\r\n") + 1          # between the CR and the LF
    accent = text.find("\u00e9".encode())   # inside a two-byte character
    pieces = sorted({cut, accent + 1} - {0})
    out, at = [], 0
    for p in pieces:
        out.append(text[at:p])
        at = p
    out.append(text[at:])
    return out
