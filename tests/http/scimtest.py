"""scimtest - shared helpers for the scimsyncd HTTP-level tests.

Standard library only. One scimsyncd is started per Python process, lazily,
the first time a test needs it (ScimTestCase.setUp calls server()), and is
stopped at interpreter exit with SIGTERM; a non-zero exit status there (an
unclean shutdown) turns the whole run into a failure. If the daemon dies
during the run it is restarted on the same database so the remaining tests
still mean something, and the run is failed at exit.

Environment:
  SCIMSYNC_BUILDDIR   where engine/scimsyncd and plugins/ are (default: the
                      repository root, two levels above this file)
  SCIMSYNC_TEST_URL   run against an already running server instead, e.g.
                      http://127.0.0.1:18080/scim/v2 (with SCIMSYNC_TEST_TOKEN)
  SCIMSYNC_TEST_KEEP  if set, keep the temporary directory (config, db, log)
  SCIMSYNC_TEST_PLUGIN_DIR  override store.plugin_dir in the config
"""

import atexit
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
URN_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
URN_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
URN_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
URN_SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
URN_BULK_REQ = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
URN_BULK_RESP = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
URN_SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
URN_RESTYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
URN_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# What the config below sets; tests compare against these.
MAX_BODY_BYTES = 1048576
MAX_JSON_DEPTH = 64
MAX_RESULTS = 1000
BULK_MAX_OPERATIONS = 100
BULK_MAX_PAYLOAD = 1048576

READY_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
LOG_LINES_ON_FAILURE = 50

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def builddir():
    return os.environ.get("SCIMSYNC_BUILDDIR") or ROOT


def daemon_path():
    return os.path.join(builddir(), "engine", "scimsyncd")


def free_port():
    """A loopback port that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def make_token():
    """scim_testtok_ + 43 base64url characters (32 random bytes)."""
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    return "scim_testtok_" + secret.rstrip("=")


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def uniq(prefix="t"):
    """A name no other test (or run) uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:16])


def write_config(path, port, workdir, token, log_level="info",
                 threads=2, db_path=None, extra=None):
    plugin_dir = os.environ.get("SCIMSYNC_TEST_PLUGIN_DIR") or \
        os.path.join(builddir(), "plugins")
    if db_path is None:
        db_path = os.path.join(workdir, "scim.db")
    text = """\
# scimsyncd configuration written by tests/http/scimtest.py
listen:
  address: 127.0.0.1
  port: %(port)d
  threads: %(threads)d
log_level: %(log_level)s            # error|warn|info|debug
store:
  plugin: sqlite           # name or path of a store plugin
  plugin_dir: %(plugin_dir)s
  options:
    path: %(db_path)s
limits:
  max_body_bytes: %(max_body)d
  max_json_depth: %(max_depth)d
  max_results: %(max_results)d         # server-side maximum for count
  bulk_max_operations: %(bulk_ops)d
  bulk_max_payload: %(bulk_payload)d
auth:
  tenant: default
  token_sha256: %(token_hash)s
%(extra)s""" % {
        "port": port, "threads": threads, "log_level": log_level,
        "plugin_dir": plugin_dir, "db_path": db_path,
        "max_body": MAX_BODY_BYTES, "max_depth": MAX_JSON_DEPTH,
        "max_results": MAX_RESULTS, "bulk_ops": BULK_MAX_OPERATIONS,
        "bulk_payload": BULK_MAX_PAYLOAD, "token_hash": sha256_hex(token),
        # The shared suite hammers one token; test_limits_audit.py tests
        # the limiter on its own daemon.
        "extra": extra if extra is not None else
        "rate_limit:\n  requests_per_second: 0\n",
    }
    with open(path, "w") as f:
        f.write(text)
    return path


def _child_setup():
    # Die with the test process: no orphaned daemons if python is killed.
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class DaemonError(Exception):
    pass


class Daemon(object):
    """One scimsyncd process with its own temp dir, config, db and log."""

    external = False

    def __init__(self, workdir=None, token=None, db_path=None, log_level="info",
                 threads=2, extra_config=None):
        self.owns_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="scimsync-http-")
        self.token = token or make_token()
        self.db_path = db_path or os.path.join(self.workdir, "scim.db")
        self.log_level = log_level
        self.threads = threads
        self.extra_config = extra_config
        self.log_path = os.path.join(self.workdir, "scimsyncd.log")
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self.prefix = "/scim/v2"
        self.starts = 0

    @property
    def base_url(self):
        return "http://%s:%d%s" % (self.host, self.port, self.prefix)

    def start(self, timeout=READY_TIMEOUT):
        exe = daemon_path()
        # (a rebuild may be relinking it right now: give it a moment)
        deadline = time.monotonic() + 10
        while not os.access(exe, os.X_OK):
            if time.monotonic() > deadline:
                raise DaemonError("daemon not built: %s" % exe)
            time.sleep(0.2)
        # free_port() is a guess: another process may take the port
        # before the daemon binds it. Then the daemon says so and exits,
        # and we try again with fresh ports (a few times).
        for attempt in range(4):
            self.port = free_port()
            cfg = os.path.join(self.workdir, "scimsyncd.yaml")
            write_config(cfg, self.port, self.workdir, self.token,
                         log_level=self.log_level, threads=self.threads,
                         db_path=self.db_path, extra=self.extra_config)
            self.starts += 1
            start = self.log_size()
            with open(self.log_path, "ab") as log:
                log.write(("==== scimtest: starting %s -c %s (port %d, "
                           "start #%d)\n" % (exe, cfg, self.port,
                                             self.starts)).encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [exe, "-c", cfg], stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, cwd=self.workdir,
                    preexec_fn=_child_setup)
            try:
                self.wait_ready(timeout)
                return self
            except DaemonError:
                text = self.log_text(start)
                if attempt == 3 or not ("cannot listen" in text and
                                        "in use" in text):
                    raise
                self.repick_ports()
        return self

    def repick_ports(self):
        """Called before a retry after a port clash (subclasses with more
        ports choose them again)."""
        pass

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise DaemonError(
                    "scimsyncd exited with status %s before it was ready\n%s"
                    % (rc, self.log_tail()))
            try:
                conn = http.client.HTTPConnection(self.host, self.port,
                                                  timeout=2)
                conn.request("GET", self.prefix + "/ServiceProviderConfig",
                             headers={"Accept": "application/scim+json"})
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status == 200:
                    return
                last = "HTTP %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            if time.monotonic() > deadline:
                self.kill()
                raise DaemonError(
                    "scimsyncd not ready within %.0f s (last: %s)\n%s"
                    % (timeout, last, self.log_tail()))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait. Returns the exit status (negative for a signal),
        or None if it had to be killed after the deadline."""
        if self.proc is None:
            return 0
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, start=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=LOG_LINES_ON_FAILURE, start=0):
        lines = self.log_text(start).splitlines()
        head = "---- scimsyncd log (%s), last %d of %d lines ----" % (
            self.log_path, min(n, len(lines)), len(lines))
        return "\n".join([head] + lines[-n:] + ["---- end of log ----"])

    def cleanup(self, keep=False):
        self.kill()
        if keep or os.environ.get("SCIMSYNC_TEST_KEEP"):
            sys.stderr.write("scimtest: kept %s\n" % self.workdir)
            return
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class ExternalServer(object):
    """A server someone else runs (SCIMSYNC_TEST_URL)."""

    external = True

    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")
        self.token = token
        self.log_path = None

    @property
    def base_url(self):
        return "http://%s:%d%s" % (self.host, self.port, self.prefix)

    def alive(self):
        return True

    def log_size(self):
        return 0

    def log_tail(self, n=0, start=0):
        return "(external server: no log)"

    def stop(self, timeout=0):
        return 0

    def cleanup(self, keep=False):
        pass


# ---- the shared server -------------------------------------------------

class _State(object):
    server = None
    error = None
    failed = False
    crashes = []


_state = _State()
_lock = threading.RLock()


def server():
    """The shared server, started on first use."""
    with _lock:
        if _state.error is not None:
            raise DaemonError("shared scimsyncd failed to start earlier:\n"
                              + _state.error)
        srv = _state.server
        if srv is not None:
            if srv.alive():
                return srv
            rc = srv.proc.returncode
            _state.crashes.append(rc)
            _state.failed = True
            sys.stderr.write("\nscimtest: scimsyncd DIED (status %s); "
                             "restarting it on the same database\n%s\n"
                             % (rc, srv.log_tail()))
            try:
                srv.start()
            except DaemonError as e:
                _state.error = str(e)
                raise
            return srv
        url = os.environ.get("SCIMSYNC_TEST_URL")
        if url:
            _state.server = ExternalServer(
                url, os.environ.get("SCIMSYNC_TEST_TOKEN", ""))
            return _state.server
        srv = Daemon()
        atexit.register(_shutdown_shared)
        try:
            srv.start()
        except DaemonError as e:
            _state.error = str(e)
            _state.failed = True
            sys.stderr.write("\nscimtest: %s\n" % e)
            srv.cleanup(keep=True)
            raise
        _state.server = srv
        return srv


def _shutdown_shared():
    srv = _state.server
    if srv is None or srv.external:
        return
    rc = srv.stop()
    clean = rc == 0
    out = sys.stderr
    if not clean:
        out.write("\nscimtest: FAIL: scimsyncd did not shut down cleanly on "
                  "SIGTERM: %s\n" % (
                      "still running after %.0f s, killed" % STOP_TIMEOUT
                      if rc is None else "exit status %s" % rc))
    if _state.crashes:
        out.write("scimtest: FAIL: scimsyncd died during the run "
                  "(exit statuses %s)\n" % _state.crashes)
    if not clean or _state.failed:
        out.write(srv.log_tail() + "\n")
    srv.cleanup(keep=not clean or _state.failed)
    if not clean or _state.crashes:
        sys.stdout.flush()
        out.flush()
        os._exit(1)


# ---- HTTP --------------------------------------------------------------

def encode_params(params):
    """dict or list of (k, v); v None gives a bare key (?cursor)."""
    if params is None:
        return ""
    items = params.items() if isinstance(params, dict) else params
    parts = []
    for k, v in items:
        k = urllib.parse.quote(str(k), safe="")
        if v is None:
            parts.append(k)
        else:
            if isinstance(v, bool):
                v = "true" if v else "false"
            parts.append(k + "=" + urllib.parse.quote(str(v), safe=""))
    return "&".join(parts)


class Response(object):
    def __init__(self, method, url, status, reason, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self._json = None
        self._parsed = False

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def content_type(self):
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        if not self._parsed:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise AssertionError("response is not JSON (%s): %r"
                                     % (e, self))
            self._parsed = True
        return self._json

    def __repr__(self):
        body = self.text
        if len(body) > 1500:
            body = body[:1500] + "...(%d bytes)" % len(self.body)
        return "<%s %s -> %d %s %s>" % (self.method, self.url, self.status,
                                        self.reason, body)


class Client(object):
    """Speaks SCIM to the server; one TCP connection per request. token:
    the bearer token (default: the server's); source: the local address
    to connect from (default: the system's choice)."""

    def __init__(self, srv, token=None, source=None):
        self.srv = srv
        self.token = srv.token if token is None else token
        self.source = source

    def url(self, path, params=None):
        if path.startswith("http://"):
            path = urllib.parse.urlsplit(path)
            path = path.path + ("?" + path.query if path.query else "")
            url = path
        elif path.startswith(self.srv.prefix + "/") or path == self.srv.prefix:
            url = path
        else:
            url = self.srv.prefix + path
        q = encode_params(params)
        if q:
            url += ("&" if "?" in url else "?") + q
        return url

    def request(self, method, path, body=None, params=None, headers=None,
                auth=True, raw=None, content_type="application/scim+json",
                timeout=30):
        url = self.url(path, params)
        h = {"Accept": "application/scim+json"}
        if auth and self.token is not None:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None and content_type:
            h["Content-Type"] = content_type
        if headers:
            for k, v in headers.items():
                if v is None:
                    h.pop(k, None)
                else:
                    h[k] = v
        conn = http.client.HTTPConnection(
            self.srv.host, self.srv.port, timeout=timeout,
            source_address=(self.source, 0) if self.source else None)
        try:
            try:
                conn.request(method, url, body=data, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (413) and close before reading all
                # of a large body; the answer is still there to read.
                pass
            r = conn.getresponse()
            payload = r.read()
            return Response(method, url, r.status, r.reason, r.headers,
                            payload)
        finally:
            conn.close()

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def raw_exchange(srv, data, timeout=5.0):
    """Send raw bytes on a fresh connection; return what comes back until
    the server closes or goes quiet."""
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


# ---- bodies ------------------------------------------------------------

def user_body(user_name=None, **extra):
    un = user_name or uniq("user")
    body = {
        "schemas": [URN_USER],
        "userName": un,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": un + "@example.com", "type": "work",
                    "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def group_body(display_name=None, members=None, **extra):
    body = {"schemas": [URN_GROUP], "displayName": display_name or uniq("grp")}
    if members is not None:
        body["members"] = [m if isinstance(m, dict) else {"value": m}
                           for m in members]
    body.update(extra)
    return body


def patch_body(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


def scim_filter_string(value):
    """A SCIM filter string literal."""
    return json.dumps(value)


# ---- test case base ----------------------------------------------------

_WEAK_ETAG = re.compile(r'^W/"[^"]+"$')


class ScimTestCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.srv = server()
        self.c = Client(self.srv)

    def run(self, result=None):
        if result is None:
            return super(ScimTestCase, self).run(result)
        srv = _state.server
        log_start = srv.log_size() if srv is not None else 0
        before = len(result.failures) + len(result.errors)
        ret = super(ScimTestCase, self).run(result)
        if len(result.failures) + len(result.errors) > before:
            _state.failed = True
            srv = _state.server
            if srv is not None and not srv.external:
                seg = srv.log_text(log_start).splitlines()
                sys.stderr.write(
                    "\n---- scimsyncd log while %s ran (%d lines, last %d) "
                    "----\n%s\n---- end ----\n" % (
                        self.id(), len(seg), min(len(seg), LOG_LINES_ON_FAILURE),
                        "\n".join(seg[-LOG_LINES_ON_FAILURE:])))
                try:
                    # a crash may still be in progress; let it finish so
                    # the next test restarts a fresh daemon
                    srv.proc.wait(0.3)
                except subprocess.TimeoutExpired:
                    pass
                if not srv.alive():
                    sys.stderr.write("scimtest: scimsyncd is no longer "
                                     "running (status %s)\n"
                                     % srv.proc.returncode)
        return ret

    # -- assertions

    def assertStatus(self, resp, *codes):
        if resp.status not in codes:
            self.fail("expected HTTP %s, got %r" % (
                "/".join(str(c) for c in codes), resp))

    def assertScimContentType(self, resp):
        self.assertEqual(resp.content_type, "application/scim+json",
                         "Content-Type of %r" % resp)

    def assertScimError(self, resp, status, scim_type=None, statuses=None):
        """resp is a SCIM error with HTTP status `status` (or one of
        `statuses`), body status as a string, and scimType if given."""
        allowed = statuses or (status,)
        self.assertStatus(resp, *allowed)
        self.assertScimContentType(resp)
        body = resp.json
        self.assertIsInstance(body, dict, repr(resp))
        self.assertIn(URN_ERROR, body.get("schemas", []), repr(resp))
        self.assertIsInstance(body.get("status"), str,
                              "error status must be a string: %r" % resp)
        self.assertEqual(body.get("status"), str(resp.status), repr(resp))
        if scim_type is not None:
            self.assertEqual(body.get("scimType"), scim_type, repr(resp))
        return body

    def assertListResponse(self, resp, status=200):
        self.assertStatus(resp, status)
        self.assertScimContentType(resp)
        body = resp.json
        self.assertIn(URN_LIST, body.get("schemas", []), repr(resp))
        self.assertIsInstance(body.get("totalResults"), int, repr(resp))
        res = body.get("Resources", [])
        self.assertIsInstance(res, list, repr(resp))
        return body

    def assertWeakETag(self, resp):
        etag = resp.header("ETag")
        self.assertIsNotNone(etag, "no ETag in %r" % resp)
        self.assertRegex(etag, _WEAK_ETAG)
        return etag

    # -- helpers

    def create_user(self, user_name=None, body=None, **extra):
        b = body if body is not None else user_body(user_name, **extra)
        r = self.c.post("/Users", b)
        self.assertStatus(r, 201)
        return r.json

    def create_group(self, display_name=None, members=None, body=None,
                     **extra):
        b = body if body is not None else group_body(display_name, members,
                                                     **extra)
        r = self.c.post("/Groups", b)
        self.assertStatus(r, 201)
        return r.json

    def get_user(self, uid, **params):
        r = self.c.get("/Users/" + uid, params=params or None)
        self.assertStatus(r, 200)
        return r.json

    def get_group(self, gid, **params):
        r = self.c.get("/Groups/" + gid, params=params or None)
        self.assertStatus(r, 200)
        return r.json

    def list_ids(self, endpoint, flt=None, page=50, extra=None):
        """All ids matching flt, walking startIndex pages."""
        ids = []
        start = 1
        while True:
            params = [("startIndex", start), ("count", page)]
            if flt is not None:
                params.append(("filter", flt))
            if extra:
                params.extend(extra)
            r = self.c.get(endpoint, params=params)
            body = self.assertListResponse(r)
            res = body.get("Resources", [])
            ids.extend(x["id"] for x in res)
            if not res or start + len(res) > body["totalResults"]:
                return ids
            start += len(res)

    def member_ids(self, group):
        return sorted(m["value"] for m in group.get("members", []))


def create_users_fast(client, prefix, n, threads=8):
    """Create n users prefix-00000.. as fast as the server allows: Bulk in
    batches, falling back to concurrent POSTs if Bulk does not work.
    Returns the list of ids."""
    names = ["%s-%05d" % (prefix, i) for i in range(n)]
    ids = {}
    batch = BULK_MAX_OPERATIONS
    for off in range(0, n, batch):
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user_body(names[i])}
               for i in range(off, min(n, off + batch))]
        r = client.post("/Bulk", {"schemas": [URN_BULK_REQ],
                                  "Operations": ops})
        if r.status != 200:
            break
        try:
            for op in r.json.get("Operations", []):
                if str(op.get("status")) == "201" and op.get("location"):
                    i = int(op["bulkId"][1:])
                    ids[i] = op["location"].rstrip("/").rsplit("/", 1)[1]
        except (ValueError, KeyError, AttributeError, IndexError):
            break
    missing = [i for i in range(n) if i not in ids]
    lock = threading.Lock()

    def worker(t):
        for i in missing[t::threads]:
            r = client.post("/Users", user_body(names[i]))
            if r.status == 201:
                with lock:
                    ids[i] = r.json["id"]
            elif r.status != 409:
                raise AssertionError("creating %s: %r" % (names[i], r))
    if missing:
        run_threads(worker, threads)
    still = [names[i] for i in range(n) if i not in ids]
    if still:
        raise AssertionError("could not create %d users, e.g. %s"
                             % (len(still), still[:3]))
    return [ids[i] for i in range(n)]


def run_threads(fn, n):
    """Run fn(i) in n threads; re-raise the first exception."""
    errors = []
    results = [None] * n

    def wrap(i):
        try:
            results[i] = fn(i)
        except BaseException as e:  # noqa
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    if errors:
        raise errors[0]
    return results


# ---- admin API: tenants, tokens, audit ---------------------------------
#
# Tests of multi-tenancy, the admin API and the audit database start a
# daemon of their own with an `admin:` section (AdminDaemon) and speak to
# the admin listener with AdminClient (JSON in and out). SCIM tokens made
# by the admin API go into Client(d, token=...).

ADMIN_PREFIX = "/api/v1"
SCIM_TOKEN_RE = r"^scim_[0-9a-f]{12}_[0-9a-f]{64}$"


_loopback_lock = threading.Lock()
_loopback_next = [0]
_loopback_ok = []


def fresh_loopback():
    """A loopback address (127.1.x.y) no other caller in this process got,
    to connect from: the daemon limits refused requests per client
    address, so a test that wants 401s gets an address of its own. None
    where only 127.0.0.1 can be bound (not Linux)."""
    with _loopback_lock:
        if not _loopback_ok:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.1.0.1", 0))
                _loopback_ok.append(True)
            except OSError:
                _loopback_ok.append(False)
            finally:
                s.close()
        if not _loopback_ok[0]:
            return None
        n = _loopback_next[0]
        _loopback_next[0] += 1
    return "127.1.%d.%d" % (n // 250 % 256, n % 250 + 1)


def make_admin_token():
    """An admin token (only its SHA-256 goes into the config)."""
    return "admtok_" + os.urandom(32).hex()


def token_secret(token):
    """The secret part of a scim_<prefix>_<secret> token."""
    return token.split("_", 2)[2]


def rfc3339(unix_seconds):
    """RFC 3339 UTC with milliseconds, as the admin API writes times."""
    ms = int(round(unix_seconds * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def parse_rfc3339(text):
    """Unix seconds of an RFC 3339 UTC time ("...Z", optional fraction)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", text)
    if m is None:
        raise ValueError("not an RFC 3339 UTC time: %r" % (text,))
    import calendar
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + m.group(2)) if m.group(2) else 0.0)


def admin_config(admin_port, admin_token, rate_per_second=0,
                 audit_path="audit.log", audit_db="audit.db"):
    """The extra_config of a daemon with the admin API and the audit log
    (paths relative to the config file's folder, the daemon's workdir)."""
    text = "rate_limit:\n  requests_per_second: %s\n" % rate_per_second
    text += ("admin:\n  listen:\n    address: 127.0.0.1\n    port: %d\n"
             "  token_sha256: %s\n" % (admin_port, sha256_hex(admin_token)))
    if audit_path or audit_db:
        text += "audit:\n"
        if audit_path:
            text += "  path: %s\n" % audit_path
        if audit_db:
            text += "  database: %s\n" % audit_db
    return text


class AdminClient(object):
    """Speaks JSON to the admin API; one TCP connection per request.
    Paths are relative to /api/v1 unless absolute=True."""

    _DEFAULT = object()

    def __init__(self, host, port, token=None):
        self.host = host
        self.port = port
        self.token = token

    def request(self, method, path, body=None, params=None, token=_DEFAULT,
                headers=None, raw=None, absolute=False, timeout=30):
        url = path if absolute else ADMIN_PREFIX + path
        q = encode_params(params)
        if q:
            url += ("&" if "?" in url else "?") + q
        tok = self.token if token is AdminClient._DEFAULT else token
        h = {"Accept": "application/json"}
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)
        try:
            conn.request(method, url, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            return Response(method, url, r.status, r.reason, r.headers,
                            payload)
        finally:
            conn.close()

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- the API's calls (Responses; the caller checks the status)

    def tenants(self):
        return self.get("/tenants")

    def tenant_create(self, name, **settings):
        body = {"name": name}
        body.update(settings)
        return self.post("/tenants", body)

    def tenant_show(self, name):
        return self.get("/tenants/" + name)

    def tenant_patch(self, name, **settings):
        return self.patch("/tenants/" + name, settings)

    def tenant_delete(self, name, confirm=None):
        return self.delete("/tenants/" + name, params=None if confirm is None
                           else {"confirm": confirm})

    def tokens(self, tenant):
        return self.get("/tenants/%s/scim/tokens" % tenant)

    def token_create(self, tenant, name, **expiry):
        body = {"name": name}
        body.update(expiry)
        return self.post("/tenants/%s/scim/tokens" % tenant, body)

    def token_show(self, tenant, token_id):
        return self.get("/tenants/%s/scim/tokens/%s" % (tenant, token_id))

    def token_revoke(self, tenant, token_id):
        return self.delete("/tenants/%s/scim/tokens/%s" % (tenant, token_id))

    def audit(self, **params):
        return self.get("/audit", params=params or None)

    def tenant_audit(self, tenant, **params):
        return self.get("/tenants/%s/audit" % tenant, params=params or None)


class AdminDaemon(Daemon):
    """A private scimsyncd with the admin API (its own port and token) and
    the audit log (audit.log, audit.db in its workdir). extra_config is
    appended to the admin section."""

    def __init__(self, admin_token=None, admin_port=None, rate_per_second=0,
                 audit=True, extra_config="", **kw):
        self.admin_token = admin_token or make_admin_token()
        self.admin_port = admin_port or free_port()
        self._admin_args = (rate_per_second, audit, extra_config or "")
        Daemon.__init__(self, extra_config=self._admin_extra(), **kw)
        self.stop_note = ""

    def _admin_extra(self):
        rate_per_second, audit, extra = self._admin_args
        return admin_config(self.admin_port, self.admin_token,
                            rate_per_second=rate_per_second,
                            audit_path="audit.log" if audit else None,
                            audit_db="audit.db" if audit else None) + extra

    def repick_ports(self):
        self.admin_port = free_port()
        self.extra_config = self._admin_extra()

    @property
    def audit_path(self):
        return os.path.join(self.workdir, "audit.log")

    @property
    def audit_db_path(self):
        return os.path.join(self.workdir, "audit.db")

    def admin_client(self, token=AdminClient._DEFAULT):
        return AdminClient(self.host, self.admin_port,
                           self.admin_token if token is AdminClient._DEFAULT
                           else token)

    def stop(self, timeout=STOP_TIMEOUT):
        """Like Daemon.stop; if the daemon is still running after the
        deadline, self.stop_note says whether a connection to the admin
        port let it finish (a diagnostic), and the result is still None."""
        self.stop_note = ""
        if self.proc is None or self.proc.poll() is not None:
            return Daemon.stop(self, timeout)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            s = socket.create_connection((self.host, self.admin_port), 2)
            s.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(3)
            self.stop_note = (
                "still running %.0f s after SIGTERM; it exited (status %s) "
                "only once a connection to the admin port woke it"
                % (timeout, rc))
        except subprocess.TimeoutExpired:
            self.kill()
            self.stop_note = ("still running %.0f s after SIGTERM (and 3 s "
                              "after a connection to the admin port); killed"
                              % timeout)
        return None

    def files_to_scan(self):
        """Every file the daemon writes: log, audit log and databases
        (with SQLite's -wal/-journal files)."""
        out = []
        for name in sorted(os.listdir(self.workdir)):
            if name == "scimsyncd.yaml":
                continue
            p = os.path.join(self.workdir, name)
            if os.path.isfile(p):
                out.append(p)
        return out


class Tenant(object):
    """A tenant made through the admin API, with one token and a Client
    (connecting from source)."""

    def __init__(self, daemon, name, token_json, source=None):
        self.name = name
        self.token = token_json["token"]
        self.token_id = token_json["id"]
        self.token_json = token_json
        self.client = Client(daemon, token=self.token, source=source)


class AdminDaemonTestCase(ScimTestCase):
    """Tests on one private AdminDaemon per class (started in setUpClass;
    stopped in tearDownClass, which fails unless the exit status after
    SIGTERM is 0). Every secret a test registers with remember_secret()
    is looked for, after the stop, in every file the daemon wrote; finding
    one fails the class."""

    daemon_kwargs = {}

    @classmethod
    def setUpClass(cls):
        if os.environ.get("SCIMSYNC_TEST_URL"):
            raise unittest.SkipTest("private-instance test (SCIMSYNC_TEST_URL)")
        cls.d = AdminDaemon(**cls.daemon_kwargs)
        cls.secrets = [cls.d.admin_token, token_secret(cls.d.token)]
        try:
            cls.d.start()
        except DaemonError:
            cls.d.cleanup(keep=True)
            raise
        cls.admin = cls.d.admin_client()

    @classmethod
    def tearDownClass(cls):
        d = cls.d
        rc = d.stop(STOP_TIMEOUT)
        problems = []
        if rc != 0:
            problems.append("scimsyncd did not shut down cleanly on SIGTERM: "
                            "%s %s" % ("exit status %s" % rc if rc is not None
                                       else "no exit", d.stop_note))
        for path in d.files_to_scan():
            with open(path, "rb") as f:
                data = f.read()
            for s in cls.secrets:
                if s and s.encode() in data:
                    problems.append("a secret (%s...) is in %s"
                                    % (s[:10], path))
        if problems:
            sys.stderr.write("\n%s\n" % d.log_tail())
        d.cleanup(keep=bool(problems))
        if problems:
            raise AssertionError("; ".join(problems))

    def setUp(self):
        self.srv = self.d
        # Each test connects from a loopback address of its own, so the
        # refused requests of one test (limited per address) do not
        # turn the 401s another test expects into 429s.
        self.source = fresh_loopback()
        self.c = Client(self.d, source=self.source)

    def client(self, token):
        """A Client with token, from this test's address."""
        return Client(self.d, token=token, source=self.source)

    def run(self, result=None):
        if result is None:
            return unittest.TestCase.run(self, result)
        d = getattr(type(self), "d", None)
        log_start = d.log_size() if d is not None else 0
        before = len(result.failures) + len(result.errors)
        ret = unittest.TestCase.run(self, result)
        if d is not None and \
                len(result.failures) + len(result.errors) > before:
            seg = d.log_text(log_start).splitlines()
            sys.stderr.write(
                "\n---- scimsyncd log while %s ran (%d lines, last %d) "
                "----\n%s\n---- end ----\n" % (
                    self.id(), len(seg), min(len(seg), LOG_LINES_ON_FAILURE),
                    "\n".join(seg[-LOG_LINES_ON_FAILURE:])))
        return ret

    # -- helpers

    def remember_secret(self, secret):
        type(self).secrets.append(secret)

    def assertAdminOk(self, resp, status=200):
        """resp is status with a JSON object body; returns the body."""
        self.assertStatus(resp, status)
        self.assertEqual(resp.content_type, "application/json", repr(resp))
        body = resp.json
        self.assertIsInstance(body, dict, repr(resp))
        return body

    def assertAdminError(self, resp, *statuses):
        """resp is an admin API error {"status": N, "error": "..."}."""
        self.assertStatus(resp, *statuses)
        self.assertEqual(resp.content_type, "application/json", repr(resp))
        body = resp.json
        self.assertEqual(body.get("status"), resp.status, repr(resp))
        self.assertIsInstance(body.get("error"), str, repr(resp))
        self.assertTrue(body["error"], repr(resp))
        return body

    def create_token(self, tenant, name=None, **expiry):
        r = self.admin.token_create(tenant, name or uniq("tok")[:40],
                                    **expiry)
        body = self.assertAdminOk(r, 201)
        self.assertRegex(body.get("token", ""), SCIM_TOKEN_RE, repr(r))
        self.remember_secret(token_secret(body["token"]))
        return body

    def new_tenant(self, prefix="t", **settings):
        """A fresh tenant with one token: a Tenant."""
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:12])
        self.assertAdminOk(self.admin.tenant_create(name, **settings), 201)
        return Tenant(self.d, name, self.create_token(name), self.source)

    def poll(self, fn, what, timeout=5.0, interval=0.05):
        """fn() until it returns something true (returned), or fail."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                self.fail("%s: not within %.1f s" % (what, timeout))
            time.sleep(interval)
