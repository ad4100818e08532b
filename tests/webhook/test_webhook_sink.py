"""The webhook sink (plugins/sink-webhook) against a real HTTP receiver.

Each class starts its own receiver (tests/webhook/receiver.py: checks every
delivery's signature, timestamp and bearer token, records it, and answers
as told through its control API) and a scimsyncd whose sinks post to it,
drives SCIM requests, and compares what the receiver got with what was
sent. Every wait is a poll with a deadline on what the receiver or the
admin API shows.

Environment: SCIMSYNC_BUILDDIR, SCIMSYNC_SRCDIR (as for tests/http);
SCIMSYNC_WEBHOOK_TMP, a directory for the receivers' pid files
(tests/webhook.sh makes one and stops whatever is left in it);
SCIMSYNC_TEST_KEEP keeps the daemons' directories.
"""

import hashlib
import http.client
import json
import os
import re
import select
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SCIMSYNC_SRCDIR") or os.path.dirname(
    os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "http"))

import scimtest  # noqa: E402
from sinktest import SinkTestCase, keep, plugin_so, yaml_str  # noqa: E402
from scimtest import (AdminDaemon, Client, DaemonError, URN_ENTERPRISE,  # noqa: E402
                      URN_GROUP, URN_PATCH, URN_USER, builddir)

RECEIVER = os.path.join(HERE, "receiver.py")
WAIT = 20.0
BODY_KEYS = ["id", "type", "tenant", "time", "time_ms", "seq",
             "resource_type", "resource_id", "version"]


def batch_key(events):
    """A batch's Idempotency-Key: "batch-" and the SHA-256 of its events'
    ids, each with a NUL after it."""
    return "batch-" + hashlib.sha256(b"".join(
        e["id"].encode() + b"\0" for e in events)).hexdigest()


def sink_so():
    return plugin_so("webhook")


def sinks_config(sinks, mappings=None):
    """extra_config: sinks {name: (options, extra sink keys)}."""
    mappings = mappings or {
        "webhook": os.path.join(SRC, "mappings", "webhook.yaml"),
        "roles": os.path.join(SRC, "mappings", "roles.yaml")}
    lines = ["mappings:"]
    lines += ["  %s: %s" % (k, yaml_str(v)) for k, v in
              sorted(mappings.items())]
    lines.append("sinks:")
    for name, (opts, extra) in sorted(sinks.items()):
        lines += ["  %s:" % name,
                  "    plugin: %s" % yaml_str(sink_so()),
                  "    mapping: webhook"]
        lines += ["    %s" % x for x in extra]
        lines.append("    options:")
        for k, v in sorted(opts.items()):
            lines.append("      %s: %s" % (k, yaml_str(v)))
    return "\n".join(lines) + "\n"


def okta_user(login, given, family, **extra):
    body = {
        "schemas": [URN_USER], "userName": login,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": login, "type": "work"}],
        "displayName": "%s %s" % (given, family), "locale": "en-US",
        "externalId": "00u%s" % uuid.uuid4().hex[:17], "groups": [],
        "password": "1mz050nq", "active": True}
    body.update(extra)
    return body


def patch(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


def rfc3339_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def make_ca(workdir):
    """A throwaway CA and a server certificate for 127.0.0.1/localhost:
    (ca.pem, server.pem, server.key)."""
    def run(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=workdir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("openssl %s: %s" % (args[0], r.stderr))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=scimsync webhook test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    with open(os.path.join(workdir, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
        "-extfile", "server.ext")
    return tuple(os.path.join(workdir, n) for n in
                 ("ca.pem", "server.pem", "server.key"))


# ---- the receiver ------------------------------------------------------

class Receiver(object):
    """tests/webhook/receiver.py in a child process."""

    def __init__(self, workdir, secret_file, bearer_file=None, tls=None):
        self.workdir = workdir
        self.secret_file = secret_file
        self.bearer_file = bearer_file
        self.tls = tls  # (ca, cert, key)
        self.proc = None
        self.url = None
        root = os.environ.get("SCIMSYNC_WEBHOOK_TMP")
        self.piddir = tempfile.mkdtemp(prefix="receiver-", dir=root) \
            if root else workdir
        self.pid_file = os.path.join(self.piddir, "receiver.pid")

    def start(self, timeout=15.0):
        args = [sys.executable, RECEIVER, "--secret-file", self.secret_file,
                "--pid-file", self.pid_file]
        if self.bearer_file:
            args += ["--bearer-file", self.bearer_file]
        if self.tls:
            args += ["--cert", self.tls[1], "--key", self.tls[2]]
        self.err = open(os.path.join(self.workdir, "receiver.err"), "ab")
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.err, preexec_fn=scimtest._child_setup)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise AssertionError("receiver.py did not start (see %s)"
                                     % self.err.name)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                c = os.read(self.proc.stdout.fileno(), 1)
                if not c:
                    continue
                line += c
        self.url = line.decode().strip()
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass

    def request(self, method, path, body=None):
        host, port = self.url.split("://")[1].split(":")
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            conn = http.client.HTTPSConnection(host, int(port), timeout=30,
                                               context=ctx)
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request(method, path, body=json.dumps(body) if body
                         is not None else None,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise AssertionError("receiver %s %s: %d %s"
                                     % (method, path, r.status, data))
            return json.loads(data)
        finally:
            conn.close()

    def mode(self, **m):
        self.request("POST", "/_control/mode", m)

    def reset(self):
        self.request("POST", "/_control/reset", {})

    def deliveries(self, since=0):
        return self.request("GET", "/_control/deliveries?since=%d"
                            % since)["deliveries"]


def events_of(d):
    """The events a delivery's body carries (a batch or one)."""
    b = d.get("body")
    if not isinstance(b, dict):
        return []
    return b["events"] if isinstance(b.get("events"), list) else [b]


# ---- the test case -----------------------------------------------------

class WebhookTestCase(SinkTestCase):
    """A receiver and a daemon with webhook sinks, per class."""
    maxDiff = 8000
    tls = False
    bearer = False
    log_level = "info"

    @classmethod
    def sinks(cls, url, workdir):
        """{sink name: (options, [extra sink config lines])}"""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.d = None
        cls.recv = None
        cls.secrets = []
        try:
            cls.wd = tempfile.mkdtemp(prefix="scimsync-webhook-")
            cls.secret = "whsec-" + uuid.uuid4().hex
            cls.secret_file = os.path.join(cls.wd, "hook.secret")
            with open(cls.secret_file, "w") as f:
                f.write(cls.secret + "\n")
            cls.secrets.append(cls.secret)
            cls.bearer_file = None
            if cls.bearer:
                cls.token = "bearer-" + uuid.uuid4().hex
                cls.bearer_file = os.path.join(cls.wd, "hook.bearer")
                with open(cls.bearer_file, "w") as f:
                    f.write(cls.token + "\n")
                cls.secrets.append(cls.token)
            cls.ca = None
            tls = None
            if cls.tls:
                tls = make_ca(cls.wd)
                cls.ca = tls[0]
            cls.recv = Receiver(cls.wd, cls.secret_file, cls.bearer_file,
                                tls).start()
            cls.d = AdminDaemon(
                workdir=cls.wd, log_level=cls.log_level,
                extra_config=sinks_config(cls.sinks(cls.recv.url, cls.wd)))
            cls.d.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.admin = cls.d.admin_client()
        cls.c = Client(cls.d)

    @classmethod
    def tearDownClass(cls):
        try:
            # Neither the HMAC key nor the bearer token in anything the
            # daemon wrote (log, audit, databases).
            cls.stop_daemon(cls.secrets)
        finally:
            if cls.recv is not None:
                cls.recv.stop()
            if cls.d is None and not keep():
                shutil.rmtree(cls.wd, ignore_errors=True)

    # -- SCIM

    # -- sinks and the receiver

    def wait_drained(self, *names, timeout=WAIT):
        def drained():
            sinks = self.admin.get("/sinks").json["sinks"]
            return all(s["lag"] == 0 for s in sinks
                       if not names or s["name"] in names)
        self.wait_for(drained, "sinks %s drained" % (
            ", ".join(names) or "(all)"), timeout)

    def sink_state(self, name, pred):
        """Poll until pred(sink status) holds; the status."""
        return self.wait_for(
            lambda: (lambda s: s if pred(s) else None)(self.sink(name)),
            "sink %s state" % name)

    def good(self, path=None, since=0):
        """Deliveries that passed every check and got a 2xx (in time: a
        stalled answer went nowhere)."""
        return [d for d in self.recv.deliveries(since)
                if d["ok"] and 200 <= d["status"] < 300 and
                not d["stall_ms"] and (path is None or d["path"] == path)]

    def delivered_events(self, path=None, since=0):
        """Every event delivered (2xx), first time each id, in the order
        the receiver got them."""
        out, seen = [], set()
        for d in self.good(path, since):
            for e in events_of(d):
                if e["id"] not in seen:
                    seen.add(e["id"])
                    out.append(e)
        return out

    def events_for(self, rids, path=None, since=0):
        return [e for e in self.delivered_events(path, since)
                if e.get("resource_id") in rids]

    def wait_events(self, fn, what, path=None, timeout=WAIT):
        """Poll the receiver until fn(delivered events) is true."""
        return self.wait_for(
            lambda: (lambda ev: ev if fn(ev) else None)(
                self.delivered_events(path)), what, timeout)

    def dead(self, name):
        return self.sink(name)["dead"]

    def assertSigned(self, d):
        """One delivery, as the README says a receiver checks it."""
        h = d["headers"]
        self.assertTrue(d["sig_ok"], d)
        self.assertTrue(d["ts_ok"], d)
        self.assertTrue(d["auth_ok"], d)
        self.assertRegex(h["x-scimsync-signature"], r"^v1=[0-9a-f]{64}$")
        self.assertRegex(h["x-scimsync-timestamp"], r"^[0-9]{10}$")
        self.assertLessEqual(abs(int(h["x-scimsync-timestamp"]) - d["t"]),
                             5)
        self.assertEqual(h["content-type"], "application/json")
        self.assertNotIn("expect", h)
        self.assertTrue(h["user-agent"].startswith("scimsync-webhook/"), h)


# ---- the body, headers and signature --------------------------------------

class FormatTest(WebhookTestCase):
    """Two sinks on one receiver: /full (defaults, the key from a file)
    and /lean (include_resource: false, the key from the environment);
    both with a bearer token from a file."""
    bearer = True

    @classmethod
    def sinks(cls, url, workdir):
        os.environ["SCIMSYNC_TEST_WEBHOOK_KEY"] = cls.secret
        return {
            "full": ({"url": url + "/full", "secret_file": cls.secret_file,
                      "bearer_token_file": cls.bearer_file}, []),
            "lean": ({"url": url + "/lean",
                      "secret_env": "SCIMSYNC_TEST_WEBHOOK_KEY",
                      "bearer_token_file": cls.bearer_file,
                      "include_resource": "false"}, [])}

    def user_attrs(self, u, active="true"):
        ent = u.get(URN_ENTERPRISE, {})
        a = {"event": None, "id": [u["id"]], "userName": [u["userName"]],
             "active": [active], "displayName": [u["displayName"]],
             "givenName": [u["name"]["givenName"]],
             "familyName": [u["name"]["familyName"]],
             "emails": [u["emails"][0]["value"]],
             "subjectHash": [hashlib.sha256(
                 u["userName"].lower().encode()).hexdigest()]}
        if u.get("externalId"):
            a["externalId"] = [u["externalId"]]
        if u.get("title"):
            a["title"] = [u["title"]]
        if ent.get("department"):
            a["department"] = [ent["department"]]
        if ent.get("employeeNumber"):
            a["employeeNumber"] = [ent["employeeNumber"]]
        return a

    def test_user_lifecycle_body_headers_signature(self):
        body = okta_user("fmt.user@example.org", "Fmt", "User",
                         title="Engineer")
        body["schemas"].append(URN_ENTERPRISE)
        body[URN_ENTERPRISE] = {"department": "R&D",
                                "employeeNumber": "4711"}
        uid = self.post("/Users", body)
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": False}))
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": True}))
        self.delete_ok("/Users/" + uid)
        types = ["user.created", "user.deactivated", "user.reactivated",
                 "user.deleted"]
        for path in ("/full", "/lean"):
            self.wait_events(lambda ev: len([e for e in ev if e[
                "resource_id"] == uid]) >= 4, "4 events at " + path, path)
        user = dict(body, id=uid)
        for path in ("/full", "/lean"):
            ds = [d for d in self.good(path)
                  if events_of(d)[0]["resource_id"] == uid]
            self.assertEqual([events_of(d)[0]["type"] for d in ds], types)
            seqs = []
            for d, typ in zip(ds, types):
                self.assertSigned(d)
                self.assertTrue(d["has_authorization"])
                h, e = d["headers"], d["body"]
                self.assertEqual(h["idempotency-key"], e["id"])
                self.assertEqual(h["x-scimsync-event-id"], e["id"])
                self.assertEqual(h["x-scimsync-event-type"], typ)
                self.assertNotIn("x-scimsync-batch-size", h)
                keys = BODY_KEYS + (["changed"] if "changed" in e else []) \
                    + ["attributes"] + (["resource"] if path == "/full"
                                        else [])
                self.assertEqual(list(e.keys()), keys, e)
                self.assertRegex(e["id"], r"^[0-9a-f-]{36}$")
                self.assertEqual((e["type"], e["tenant"], e["resource_type"],
                                  e["resource_id"]),
                                 (typ, "default", "User", uid))
                self.assertEqual(e["time"], rfc3339_ms(e["time_ms"]))
                self.assertLess(abs(e["time_ms"] / 1000.0 - d["t"]), 30)
                seqs.append(e["seq"])
                want = self.user_attrs(user, "true" if typ in (
                    "user.created", "user.reactivated") else "false")
                if typ == "user.deleted":
                    want["active"] = ["true"]
                want["event"] = [typ]
                self.assertEqual(e["attributes"], want, typ)
                if path == "/full":
                    self.assertEqual(e["resource"]["id"], uid)
                    self.assertEqual(e["resource"]["userName"],
                                     body["userName"])
                    self.assertNotIn("password", e["resource"])
            self.assertEqual(seqs, sorted(seqs))
            self.assertEqual(len(set(seqs)), 4)
            versions = [events_of(d)[0]["version"] for d in ds]
            self.assertEqual(versions[:3], sorted(versions[:3]))
        # The same event is the same id at both sinks.
        full = [events_of(d)[0]["id"] for d in self.good("/full")
                if events_of(d)[0]["resource_id"] == uid]
        lean = [events_of(d)[0]["id"] for d in self.good("/lean")
                if events_of(d)[0]["resource_id"] == uid]
        self.assertEqual(full, lean)

    def test_updates_groups_and_roles(self):
        uid = self.post("/Users", okta_user("role.user@example.org", "Role",
                                            "User"))
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "name.givenName", "value": "Rolf"}))
        gid = self.post("/Groups", {"schemas": [URN_GROUP],
                                    "displayName": "Acme-Developers",
                                    "members": [{"value": uid}]})
        self.patch_ok("/Groups/" + gid, patch(
            {"op": "remove", "path": 'members[value eq "%s"]' % uid}))
        want = [("user.created", uid), ("user.updated", uid),
                ("group.created", gid), ("group.members_added", gid),
                ("role.granted", uid, "team:developers"),
                ("role.granted", uid, "org:developer"),
                ("group.members_removed", gid),
                ("role.revoked", uid, "team:developers"),
                ("role.revoked", uid, "org:developer")]

        def tup(e):
            if e["type"].startswith("role."):
                return (e["type"], e["user_id"], e["role"])
            return (e["type"], e["resource_id"])

        def mine(ev):
            return [e for e in ev if e["resource_id"] in (uid, gid)]
        got = mine(self.wait_events(
            lambda ev: len(mine(ev)) >= len(want), "the events", "/lean"))
        # Roles in the order roles.yaml lists them.
        self.assertEqual([tup(e) for e in got], want)
        by = {tup(e): e for e in got}
        self.assertEqual(by[("user.updated", uid)]["changed"],
                         ["name.givenName"])
        created = by[("group.created", gid)]
        self.assertEqual(created["members"], [uid])
        self.assertEqual(by[("group.members_added", gid)]["members"], [uid])
        self.assertEqual(created["attributes"]["displayName"],
                         ["Acme-Developers"])
        # (No "members" attribute: the group resource in events carries
        # no members, so webhook.yaml's members template renders nothing;
        # the event's own "members" lists who was added or removed.)
        self.assertEqual(by[("group.members_removed", gid)]["members"],
                         [uid])
        g = by[("role.granted", uid, "org:developer")]
        self.assertEqual((g["resource_type"], g["resource_id"],
                          g["group_id"]), ("User", uid, gid))
        self.assertEqual(g["attributes"]["givenName"], ["Rolf"])
        self.assertNotIn("resource", g)
        for e in got:
            for k in ("role", "user_id", "group_id"):
                self.assertEqual(k in e, e["type"].startswith("role."),
                                 (k, e))

    def test_health_reports_the_last_delivery(self):
        self.post("/Users", okta_user("health.user@example.org", "H", "U"))
        self.wait_drained()
        st = self.sink_state("full", lambda s: s["health"] and
                             "last delivery" in s["health"])
        self.assertRegex(st["health"], r"^ok: last delivery \d+ s ago: "
                         r"HTTP 200 in \d+ ms$")


# ---- outages: 503, 429 with Retry-After, a stall ----------------------------

class OutageTest(WebhookTestCase):
    """The engine retries fast (50 ms, at most 400 ms); the sink times out
    after 1 s."""

    @classmethod
    def sinks(cls, url, workdir):
        return {"hook": ({"url": url + "/hook",
                          "secret_file": cls.secret_file,
                          "timeout_ms": "1000",
                          "connect_timeout_ms": "500"},
                         ["retry: {initial_ms: 50, max_ms: 400}"])}

    def setUp(self):
        self.wait_drained()
        self.recv.reset()

    def test_503_outage_then_recovery(self):
        self.recv.mode(status=503, body="down for maintenance")
        n = 40
        ts, ids, errors = self.create_users("out", n, threads=2)
        st = self.sink_state("hook", lambda s: s["state"] == "retrying" and
                             s["lag"] > 0 and s["last_error"])
        self.assertEqual(st["last_error"], "HTTP 503: down for maintenance")
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), n)
        self.assertGreater(self.sink("hook")["lag"], 0)
        self.assertEqual(self.good(), [])
        self.recv.mode(status=200)
        self.wait_drained(timeout=60)
        st = self.sink("hook")
        self.assertEqual(st["dead_letters"], 0, st)
        self.assertGreater(st["retries"], 0, st)
        # Every user's user.created, once each (by id), in order.
        created = [e for e in self.delivered_events()
                   if e["type"] == "user.created"]
        self.assertEqual(sorted(e["resource_id"] for e in created),
                         sorted(ids.values()))
        seqs = [e["seq"] for e in self.delivered_events()]
        self.assertEqual(seqs, sorted(seqs))
        # What was refused came again with the same id and body.
        by_id = {}
        for d in self.recv.deliveries():
            self.assertTrue(d["ok"], d)
            by_id.setdefault(d["body"]["id"], []).append(d)
        refused = [i for i, ds in by_id.items() if ds[0]["status"] == 503]
        self.assertTrue(refused)
        for i in refused:
            ds = by_id[i]
            self.assertEqual(ds[-1]["status"], 200)
            self.assertTrue(all(x["body"] == ds[0]["body"] for x in ds))
            self.assertTrue(all(x["headers"]["idempotency-key"] == i
                                for x in ds))

    def retry_gap(self, retry_after, want):
        self.recv.mode(status=429 if want < 3 else 503,
                       retry_after=retry_after, count=1)
        t0 = time.time()
        uid = self.post("/Users", okta_user(
            "ra.%s@example.org" % uuid.uuid4().hex[:8], "Retry", "After"))
        self.wait_events(lambda ev: any(e["resource_id"] == uid
                                        for e in ev), "delivered")
        ds = [d for d in self.recv.deliveries()
              if d["body"]["resource_id"] == uid]
        self.assertEqual([d["status"] for d in ds][:2],
                         [429 if want < 3 else 503, 200], ds)
        # Each attempt signed afresh: a later timestamp, another
        # signature, the same body.
        self.assertGreater(int(ds[1]["headers"]["x-scimsync-timestamp"]),
                           int(ds[0]["headers"]["x-scimsync-timestamp"]))
        self.assertNotEqual(ds[1]["headers"]["x-scimsync-signature"],
                            ds[0]["headers"]["x-scimsync-signature"])
        self.assertEqual(ds[1]["body"], ds[0]["body"])
        gap = ds[1]["t"] - ds[0]["t"]
        # The engine alone would have come back within 50 ms.
        self.assertGreaterEqual(gap, want - 0.1, ds)
        self.assertLess(gap, want + 3, ds)
        self.assertLess(ds[0]["t"] - t0, 5)
        return gap

    def test_429_retry_after_seconds(self):
        self.retry_gap("2", 2.0)

    def test_503_retry_after_http_date(self):
        # An HTTP date 4 s ahead (whole seconds): at least 3 s.
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                             time.gmtime(time.time() + 4))
        self.retry_gap(when, 3.0)

    def test_stall_longer_than_timeout(self):
        self.recv.mode(stall_ms=3000, count=1)
        uid = self.post("/Users", okta_user("stall@example.org", "St", "All"))
        st = self.sink_state("hook", lambda s: s["last_error"] and
                             "timed out" in s["last_error"])
        self.assertRegex(st["last_error"], r"Operation timed out after "
                         r"\d+ milliseconds")
        self.wait_events(lambda ev: any(e["resource_id"] == uid
                                        for e in ev), "delivered")
        ds = [d for d in self.recv.deliveries()
              if d["body"]["resource_id"] == uid]
        self.assertGreaterEqual(len(ds), 2)
        self.assertEqual(ds[0]["stall_ms"], 3000)
        self.assertEqual(len({d["body"]["id"] for d in ds}), 1)
        # Sent again after the 1 s timeout, not after the stall.
        self.assertLess(ds[1]["t"] - ds[0]["t"], 2.5)
        self.assertEqual(self.sink("hook")["dead_letters"], 0)


# ---- refusals: dead letters, redirects, options ----------------------------

class RefusalTest(WebhookTestCase):
    """/strict: redirects not followed; /follow: follow_redirects: true;
    /wrongkey: signed with a key the receiver does not have."""

    @classmethod
    def sinks(cls, url, workdir):
        wrong = os.path.join(workdir, "wrong.secret")
        cls.wrong = "whsec-wrong-" + uuid.uuid4().hex
        with open(wrong, "w") as f:
            f.write(cls.wrong)
        cls.secrets.append(cls.wrong)
        return {"strict": ({"url": url + "/strict",
                            "secret_file": cls.secret_file},
                           ["retry: {initial_ms: 50, max_ms: 400}"]),
                "follow": ({"url": url + "/follow",
                            "secret_file": cls.secret_file,
                            "follow_redirects": "true"},
                           ["retry: {initial_ms: 50, max_ms: 400}"]),
                "wrongkey": ({"url": url + "/wrongkey",
                              "secret_file": wrong}, [])}

    def setUp(self):
        self.wait_drained()
        self.recv.reset()

    def dead_for(self, sink, rid):
        return [x for x in self.dead(sink)
                if x["event"]["resource_id"] == rid]

    def test_400_is_a_dead_letter_and_delivery_goes_on(self):
        text = ("invalid payload:\r\n\tfield 'userName' \x01 is not "
                "allowed; " + "more detail " * 40)
        self.recv.mode(status=400, body=text, count=1, path="/strict")
        a = self.post("/Users", okta_user("bad.req@example.org", "B", "R"))
        b = self.post("/Users", okta_user("after.bad@example.org", "A", "B"))
        self.wait_events(lambda ev: any(e["resource_id"] == b for e in ev),
                         "the next event", "/strict")
        self.wait_drained("strict")
        dead = self.dead_for("strict", a)
        self.assertEqual(len(dead), 1, self.dead("strict"))
        reason = dead[0]["reason"]
        self.assertTrue(reason.startswith(
            "HTTP 400: invalid payload: field 'userName' is not allowed; "
            "more detail more detail"), reason)
        self.assertTrue(reason.endswith("..."), reason)
        self.assertLessEqual(len(reason), 220)
        self.assertIsNone(re.search(r"[\x00-\x1f]", reason), reason)
        self.assertEqual(dead[0]["event"]["type"], "user.created")
        # Sent once: a 400 is not retried.
        self.assertEqual(len([d for d in self.recv.deliveries()
                              if d["body"]["resource_id"] == a and
                              d["path"] == "/strict"]), 1)
        self.assertEqual(self.dead_for("strict", b), [])

    def test_redirect_not_followed_is_a_dead_letter(self):
        self.recv.mode(status=302, location="http://127.0.0.1:9/elsewhere",
                       count=1, path="/strict")
        a = self.post("/Users", okta_user("redir@example.org", "Re", "Dir"))
        self.wait_drained("strict")
        dead = self.wait_for(lambda: self.dead_for("strict", a),
                             "a dead letter")
        self.assertEqual(dead[0]["reason"],
                         "redirect to http://127.0.0.1:9/elsewhere not "
                         "followed (HTTP 302; option follow_redirects is "
                         "off)")

    def test_redirect_followed(self):
        self.recv.mode(status=307, location="/follow-here", count=1,
                       path="/follow")
        a = self.post("/Users", okta_user("follow@example.org", "Fo", "Llow"))
        self.wait_events(lambda ev: any(e["resource_id"] == a for e in ev),
                         "delivered after the redirect", "/follow-here")
        self.wait_drained("follow")
        ds = [d for d in self.recv.deliveries()
              if d["body"]["resource_id"] == a and
              d["path"] in ("/follow", "/follow-here")]
        self.assertEqual([(d["path"], d["status"], d["method"])
                          for d in ds],
                         [("/follow", 307, "POST"),
                          ("/follow-here", 200, "POST")])
        self.assertEqual(ds[0]["body"], ds[1]["body"])
        self.assertEqual(self.dead_for("follow", a), [])

    def test_wrong_key_is_refused(self):
        # The receiver checks signatures (so "signed" in the other tests
        # means something); its 401 makes a dead letter.
        a = self.post("/Users", okta_user("wrong.key@example.org", "W", "K"))
        dead = self.wait_for(lambda: self.dead_for("wrongkey", a),
                             "a dead letter")
        self.assertEqual(dead[0]["reason"],
                         'HTTP 401: {"error": "bad signature"}')
        ds = [d for d in self.recv.deliveries() if d["path"] == "/wrongkey"
              and d["body"]["resource_id"] == a]
        self.assertEqual([(d["sig_ok"], d["ts_ok"], d["status"])
                          for d in ds], [(False, True, 401)])
        # The right key's deliveries of the same event pass the check.
        self.wait_drained()
        others = [d for d in self.recv.deliveries()
                  if d["path"] != "/wrongkey" and
                  d["body"].get("resource_id") == a]
        self.assertTrue(others)
        self.assertTrue(all(d["sig_ok"] for d in others))

    def test_bad_options_fail_at_start(self):
        url = self.recv.url + "/x"
        key = self.secret_file
        empty = os.path.join(self.wd, "empty.secret")
        with open(empty, "w") as f:
            f.write("\n")
        os.environ.pop("SCIMSYNC_TEST_WEBHOOK_UNSET", None)
        for opts, text in (
                ({"url": url}, "option 'secret_file' or 'secret_env' is "
                 "required"),
                ({"url": url, "secret_file": key,
                  "secret_env": "HOME"}, "options 'secret_file' and "
                 "'secret_env': set one"),
                ({"secret_file": key}, "option 'url' is required"),
                ({"url": "ftp://127.0.0.1/x", "secret_file": key},
                 "option 'url': expected http:// or https://"),
                ({"url": "not a url", "secret_file": key}, "option 'url'"),
                ({"url": url, "secret_file": empty},
                 "option 'secret_file': %s is empty" % empty),
                ({"url": url, "secret_file": key + ".missing"},
                 "option 'secret_file': cannot read"),
                ({"url": url, "secret_env": "SCIMSYNC_TEST_WEBHOOK_UNSET"},
                 "option 'secret_env': SCIMSYNC_TEST_WEBHOOK_UNSET is not "
                 "set"),
                ({"url": url, "secret_file": key, "timeout_ms": "0"},
                 "option 'timeout_ms'"),
                ({"url": url, "secret_file": key, "tls_verify": "yes"},
                 "option 'tls_verify': expected true or false"),
                ({"url": url, "secret_file": key,
                  "max_response_bytes": "-1"}, "option 'max_response_bytes'"),
                ({"url": url, "secret_file": key, "ca_file": "/nonexistent"},
                 "option 'ca_file': cannot read"),
                ({"url": url, "secret_file": key, "bogus": "1"},
                 "unknown option 'bogus'")):
            wd = tempfile.mkdtemp(prefix="scimsync-webhook-bad-")
            d = AdminDaemon(workdir=wd, extra_config=sinks_config(
                {"hook": (opts, [])}))
            try:
                with self.assertRaises(DaemonError) as cm:
                    d.start(timeout=10)
                self.assertIn(text, str(cm.exception), opts)
                self.assertNotIn(self.secret, d.log_text())
            finally:
                d.stop(5)
                d.cleanup()
                shutil.rmtree(wd, ignore_errors=True)


# ---- TLS ------------------------------------------------------------------

class TlsTest(WebhookTestCase):
    """An https receiver with a certificate from a throwaway CA: a sink
    without the CA, one with ca_file, one with tls_verify: false; and a
    sink whose receiver is not there at all."""
    tls = True

    @classmethod
    def sinks(cls, url, workdir):
        k = cls.secret_file
        retry = ["retry: {initial_ms: 50, max_ms: 400}"]
        return {"noca": ({"url": url + "/noca", "secret_file": k}, retry),
                "ca": ({"url": url + "/ca", "secret_file": k,
                        "ca_file": cls.ca}, retry),
                "noverify": ({"url": url.replace("127.0.0.1", "localhost")
                              + "/noverify", "secret_file": k,
                              "tls_verify": "false"}, retry),
                "down": ({"url": "http://127.0.0.1:%d/down"
                          % scimtest.free_port(), "secret_file": k},
                         retry)}

    def test_certificates(self):
        uid = self.post("/Users", okta_user("tls@example.org", "T", "Ls"))
        for path in ("/ca", "/noverify"):
            self.wait_events(lambda ev: any(e["resource_id"] == uid
                                            for e in ev), path, path)
        self.wait_drained("ca", "noverify")
        st = self.sink_state("noca", lambda s: s["state"] == "retrying" and
                             s["last_error"])
        self.assertIn("certificate", st["last_error"])
        self.assertGreater(st["lag"], 0)
        self.assertEqual(st["dead_letters"], 0)
        self.assertEqual([d for d in self.recv.deliveries()
                          if d["path"] == "/noca"], [])
        for d in self.good():
            self.assertSigned(d)

    def test_connection_refused_is_retried(self):
        self.post("/Users", okta_user("down@example.org", "Do", "Wn"))
        st = self.sink_state("down", lambda s: s["state"] == "retrying" and
                             s["last_error"])
        self.assertRegex(st["last_error"], r"Failed to connect|"
                         r"Connection refused|Couldn't connect")
        self.assertEqual(st["dead_letters"], 0)


# ---- a response too large to read --------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class BoundsTest(WebhookTestCase):
    """Responses of 20 MB: the sink reads max_response_bytes (64 KiB),
    then cuts the transfer; the status decides."""
    log_level = "debug"

    @classmethod
    def sinks(cls, url, workdir):
        return {"hook": ({"url": url + "/hook",
                          "secret_file": cls.secret_file},
                         ["retry: {initial_ms: 50, max_ms: 400}"])}

    def test_huge_response_is_not_read(self):
        self.post("/Users", okta_user("warm.up@example.org", "W", "U"))
        self.wait_drained()
        before = rss_kb(self.d.proc.pid)
        start = self.d.log_size()
        retries = self.sink("hook")["retries"]
        self.recv.mode(huge_bytes=20000000, count=3)
        ids = [self.post("/Users", okta_user(
            "huge%d@example.org" % i, "Huge", str(i))) for i in range(3)]
        self.wait_events(lambda ev: set(ids) <= {e["resource_id"]
                                                 for e in ev}, "delivered")
        self.wait_drained()
        after = rss_kb(self.d.proc.pid)
        st = self.sink("hook")
        self.assertEqual((st["dead_letters"], st["retries"]), (0, retries),
                         st)
        # Each delivered once: the 200 counted, the body cut.
        ds = [d for d in self.recv.deliveries()
              if d["body"]["resource_id"] in ids]
        self.assertEqual(len(ds), 3)
        self.assertEqual(self.d.log_text(start).count(
            "65536 read, cut)"), 3, self.d.log_text(start))
        self.assertLess(after - before, 8 * 1024,
                        "RSS grew from %d to %d kB" % (before, after))

    def test_huge_error_body_is_quoted_from_its_start(self):
        self.recv.mode(status=503, huge_bytes=20000000, count=1)
        uid = self.post("/Users", okta_user("huge.err@example.org", "H", "E"))
        self.wait_events(lambda ev: any(e["resource_id"] == uid
                                        for e in ev), "delivered")
        st = self.sink("hook")
        self.assertTrue(st["last_error"].startswith("HTTP 503: xxxxxxxx"),
                        st)
        self.assertTrue(st["last_error"].endswith("..."), st)


# ---- batches --------------------------------------------------------------

class BatchTest(WebhookTestCase):
    """batch: true. Events queue while the receiver answers 503, then go
    in batches."""

    @classmethod
    def sinks(cls, url, workdir):
        return {"hook": ({"url": url + "/hook",
                          "secret_file": cls.secret_file,
                          "batch": "true"},
                         ["retry: {initial_ms: 50, max_ms: 400}",
                          "batch: 100"])}

    def setUp(self):
        self.wait_drained()
        self.recv.reset()

    def queue(self, prefix, n, threads=2, **mode):
        self.recv.mode(status=503)
        ts, ids, errors = self.create_users(prefix, n, threads)
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        self.sink_state("hook", lambda s: s["lag"] >= n)
        self.recv.mode(**mode)
        self.wait_drained(timeout=60)
        return ids

    def test_batches_in_order(self):
        n = 150
        ids = self.queue("bat", n, status=200)
        ds = self.good()
        self.assertTrue(ds)
        for d in ds:
            self.assertSigned(d)
            ev = events_of(d)
            self.assertEqual(list(d["body"].keys()), ["events"])
            self.assertEqual(d["headers"]["x-scimsync-batch-size"],
                             str(len(ev)))
            self.assertEqual(d["headers"]["x-scimsync-event-id"],
                             ev[0]["id"])
            self.assertEqual(d["headers"]["idempotency-key"],
                             batch_key(ev))
            self.assertNotIn("x-scimsync-event-type", d["headers"])
            self.assertLessEqual(len(ev), 100)
            for e in ev:
                self.assertEqual(list(e.keys())[:len(BODY_KEYS)], BODY_KEYS)
                self.assertIn("resource", e)
        self.assertGreater(max(len(events_of(d)) for d in ds), 1)
        # All of them, in order, each once.
        events = [e for d in ds for e in events_of(d)]
        self.assertEqual(len(events), len({e["id"] for e in events}))
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(sorted(e["resource_id"] for e in events
                                if e["type"] == "user.created"),
                         sorted(ids.values()))
        # Fewer requests than events.
        self.assertLess(len(ds), n / 2)

    def test_refused_batch_dead_letters_only_the_refused_event(self):
        # The receiver refuses (422) any request that holds the poison
        # user: its batch, then that event alone.
        ids = self.queue("psn", 20, threads=1, status=422,
                         match="psn007@", body="poison")
        self.wait_drained()
        dead = self.dead("hook")
        self.assertEqual([(x["event"]["resource_id"], x["reason"])
                          for x in dead],
                         [(ids["psn007"], "HTTP 422: poison")])
        got = {e["resource_id"] for e in self.delivered_events()}
        self.assertEqual(got, set(ids.values()) - {ids["psn007"]})
        # The refused batch, then one request per event up to the poison,
        # then a batch of the rest.
        ds = [d for d in self.recv.deliveries() if d["status"] != 503]
        first = [i for i, d in enumerate(ds) if d["status"] == 422][0]
        refused = [e["resource_id"] for e in events_of(ds[first])]
        self.assertGreater(len(refused), 1)
        k = refused.index(ids["psn007"])
        want = [(200, [r]) for r in refused[:k]] + \
            [(422, [ids["psn007"]])]
        if refused[k + 1:]:
            want.append((200, refused[k + 1:]))
        self.assertEqual([(d["status"], [e["resource_id"]
                                         for e in events_of(d)])
                          for d in ds[first + 1:]], want)
        for d in ds:
            self.assertSigned(d)
        # Each request's key is its own events': the refused batch's is
        # not reused for the first event sent alone after it.
        for d in ds[first:]:
            self.assertEqual(d["headers"]["idempotency-key"],
                             batch_key(events_of(d)))
        self.assertNotEqual(ds[first]["headers"]["idempotency-key"],
                            ds[first + 1]["headers"]["idempotency-key"])
