#!/usr/bin/env python3
"""receiver.py - a webhook receiver for the webhook sink's tests and bench.

Python 3 standard library only. Listens on 127.0.0.1 (port 0: the system
picks one), over HTTPS when given --cert and --key, and prints its base URL
("http://127.0.0.1:PORT") as the first line on stdout (and into
--port-file, when given) once it accepts connections.

Every request that is not under /_control/ is a delivery. The receiver
checks it as a real one should (plugins/sink-webhook/README.md):

  X-Scimsync-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>
  X-Scimsync-Timestamp: <unix seconds>, no further than --max-age from now
  Authorization: Bearer <token>, when --bearer-file is given

and answers 401 when any check fails (recorded as bad). Good deliveries
get what the mode says (200 {"ok": true} by default). Every delivery is
recorded: when it arrived, the headers of interest, the parsed body, the
outcome of each check and the status answered.

Control API (JSON, no signature):
  POST /_control/mode   {"status": 503, "count": 2 (null: until changed),
                         "retry_after": "2", "stall_ms": 3000,
                         "body": "text", "location": "http://...",
                         "huge_bytes": 20000000, "content_type": "...",
                         "path": "/x", "match": "text"}
                        answer so for the next count good deliveries (to
                        that path only, whose body holds that text only,
                        when given), then 200 again; every key is
                        optional
  GET  /_control/deliveries?since=N   {"deliveries": [...]} (n >= N)
  GET  /_control/stats   counts (requests, good, bad, events, body bytes
                         of the good ones, unique event ids)
  POST /_control/reset   forget the deliveries, back to 200
  GET  /_control/ping    200

--record ids keeps only counts and event ids (for the benchmark).
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

HEADERS = ("content-type", "content-length", "idempotency-key",
           "x-scimsync-event-id", "x-scimsync-event-type",
           "x-scimsync-batch-size", "x-scimsync-timestamp",
           "x-scimsync-signature", "user-agent", "expect",
           "transfer-encoding")
DEFAULT_MODE = {"status": 200, "count": None, "retry_after": None,
                "stall_ms": 0, "body": None, "location": None,
                "huge_bytes": 0, "content_type": None, "path": None,
                "match": None}


class State(object):
    def __init__(self, secret, bearer, max_age, record):
        self.secret = secret
        self.bearer = bearer
        self.max_age = max_age
        self.record = record
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.mode = dict(DEFAULT_MODE)
            self.deliveries = []
            self.n = 0
            self.good = 0
            self.bad = 0
            self.events = 0
            self.bytes = 0
            self.ids = set()

    def set_mode(self, m):
        mode = dict(DEFAULT_MODE)
        for k, v in m.items():
            if k not in mode:
                raise ValueError("unknown mode key %r" % k)
            mode[k] = v
        with self.lock:
            self.mode = mode

    def take_mode(self, path, body):
        """The mode for one good delivery (counting it down)."""
        with self.lock:
            m = dict(self.mode)
            if (m["path"] is not None and m["path"] != path) or \
                    (m["match"] is not None and
                     m["match"].encode() not in body):
                return dict(DEFAULT_MODE)
            if self.mode["count"] is not None:
                self.mode["count"] -= 1
                if self.mode["count"] <= 0:
                    self.mode = dict(DEFAULT_MODE)
            return m


def verify(state, headers, body, now):
    """(sig_ok, ts_ok, auth_ok)"""
    ts = headers.get("X-Scimsync-Timestamp") or ""
    ts_ok = ts.isdigit() and abs(now - int(ts)) <= state.max_age
    sig_ok = False
    want = hmac.new(state.secret, ts.encode("ascii", "replace") + b"." +
                    body, hashlib.sha256).hexdigest()
    for part in (headers.get("X-Scimsync-Signature") or "").split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value, want):
            sig_ok = True
    auth_ok = True
    if state.bearer is not None:
        auth_ok = hmac.compare_digest(
            (headers.get("Authorization") or "").encode(),
            b"Bearer " + state.bearer)
    return sig_ok, ts_ok, auth_ok


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sink expects
    server_version = "scimsync-test-receiver/1"
    # TCP_NODELAY, and each answer in one write (a buffered wfile, which
    # handle_one_request flushes): with Nagle, a body sent after the
    # headers waits for the client's delayed ACK, 40 ms a request once
    # Linux sees a request/answer pattern.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, fmt, *args):
        pass

    # -- plumbing

    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == \
                "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n",
                                                        b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, body=b"", ctype="application/json",
               extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def json_answer(self, status, obj):
        self.answer(status, json.dumps(obj))

    # -- requests

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    def dispatch(self, method):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self.read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        if url.path.startswith("/_control/"):
            return self.control(method, url, body)
        return self.delivery(method, url, body)

    def control(self, method, url, body):
        st = self.server.state
        what = url.path[len("/_control/"):]
        if what == "ping":
            return self.json_answer(200, {"ok": True})
        if what == "mode" and method == "POST":
            try:
                st.set_mode(json.loads(body or b"{}"))
            except (ValueError, TypeError, AttributeError) as e:
                return self.json_answer(400, {"error": str(e)})
            return self.json_answer(200, {"ok": True})
        if what == "reset" and method == "POST":
            st.reset()
            return self.json_answer(200, {"ok": True})
        if what == "deliveries" and method == "GET":
            q = urllib.parse.parse_qs(url.query)
            since = int(q.get("since", ["0"])[0])
            with st.lock:
                out = [d for d in st.deliveries if d["n"] >= since]
            return self.json_answer(200, {"deliveries": out})
        if what == "stats" and method == "GET":
            with st.lock:
                out = {"requests": st.n, "good": st.good, "bad": st.bad,
                       "events": st.events, "bytes": st.bytes,
                       "unique_ids": len(st.ids)}
            return self.json_answer(200, out)
        return self.json_answer(404, {"error": "no such control"})

    def delivery(self, method, url, body):
        st = self.server.state
        now = time.time()
        sig_ok, ts_ok, auth_ok = verify(st, self.headers, body, now)
        ok = sig_ok and ts_ok and auth_ok
        parsed, events = None, []
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            events = parsed["events"] if isinstance(
                parsed.get("events"), list) else [parsed]
        if ok:
            mode = st.take_mode(url.path, body)
        else:
            mode = dict(DEFAULT_MODE, status=401)
        rec = {"t": now, "method": method, "path": url.path,
               "sig_ok": sig_ok, "ts_ok": ts_ok, "auth_ok": auth_ok,
               "ok": ok, "status": mode["status"],
               "stall_ms": mode["stall_ms"]}
        with st.lock:
            rec["n"] = st.n
            st.n += 1
            if ok:
                st.good += 1
                if 200 <= mode["status"] < 300:
                    st.events += len(events)
                    st.bytes += len(body)
                    st.ids.update(e.get("id") for e in events
                                  if isinstance(e, dict))
            else:
                st.bad += 1
            if st.record == "full":
                rec["headers"] = {h: self.headers.get(h) for h in HEADERS
                                  if self.headers.get(h) is not None}
                rec["has_authorization"] = "Authorization" in self.headers
                rec["body"] = parsed
                rec["body_len"] = len(body)
                st.deliveries.append(rec)
        if mode["stall_ms"]:
            # The client gives up first (its timeout): the answer below
            # then goes nowhere, as it would from a hung server.
            if st.stopping.wait(mode["stall_ms"] / 1000.0):
                return
        if not ok:
            why = [n for n, good in (("signature", sig_ok),
                                     ("timestamp", ts_ok),
                                     ("authorization", auth_ok))
                   if not good]
            return self.json_answer(401, {"error": "bad " + ", ".join(
                why)})
        extra = {}
        if mode["retry_after"] is not None:
            extra["Retry-After"] = str(mode["retry_after"])
        if mode["location"] is not None:
            extra["Location"] = mode["location"]
        if mode["huge_bytes"]:
            return self.huge(mode["status"], int(mode["huge_bytes"]), extra)
        text = mode["body"] if mode["body"] is not None else \
            json.dumps({"ok": 200 <= mode["status"] < 300})
        self.answer(mode["status"], text,
                    mode["content_type"] or ("application/json"
                                             if mode["body"] is None
                                             else "text/plain"), extra)

    def huge(self, status, n, extra):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(n))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < n:
                k = min(len(chunk), n - sent)
                self.wfile.write(chunk[:k])
                sent += k
        except OSError:
            pass  # the client stopped reading: what the sink should do
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, state, tls_ctx):
        self.state = state
        self.tls_ctx = tls_ctx
        http.server.HTTPServer.__init__(self, addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls_ctx is not None:
            # The handshake happens in the request's thread, on the first
            # read: a client that stalls it holds up nobody else.
            sock = self.tls_ctx.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout,
                          BrokenPipeError)):
            return  # a client that refused our certificate, or hung up
        http.server.HTTPServer.handle_error(self, request, client_address)


def read_secret(path):
    with open(path, "rb") as f:
        return f.read().rstrip(b"\r\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--bearer-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--max-age", type=int, default=300,
                    help="refuse timestamps further than this from now "
                    "(seconds)")
    ap.add_argument("--record", choices=("full", "ids"), default="full")
    a = ap.parse_args()
    state = State(read_secret(a.secret_file),
                  read_secret(a.bearer_file) if a.bearer_file else None,
                  a.max_age, a.record)
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    srv = Server((a.bind, a.port), state, ctx)
    port = srv.server_address[1]
    base = "%s://127.0.0.1:%d" % ("https" if ctx else "http", port)
    if a.pid_file:
        with open(a.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    sys.stdout.write(base + "\n")
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        state.stopping.set()
        srv.server_close()


if __name__ == "__main__":
    main()
