"""What the sink suites (tests/ldap, tests/postgres, tests/webhook) share:
a test case with a scimsyncd per class whose sinks write to a real
target, the polls with deadlines they wait with, and the check that no
secret the sinks were given ends up in a file the daemon wrote.

A suite's base class derives from SinkTestCase, starts its target and
its AdminDaemon in setUpClass (as cls.d, with cls.admin and cls.c), and
calls stop_daemon(secrets) in tearDownClass.
"""

import json
import os
import shutil
import sys
import threading
import time
import unittest

import idp_replay
import scimtest

WAIT = 20.0


def yaml_str(v):
    """A YAML scalar for v (JSON strings are YAML)."""
    return json.dumps(str(v))


def keep():
    return bool(os.environ.get("SCIMSYNC_TEST_KEEP"))


def plugin_so(name):
    """The path of the sink plugin <name> built in the tree
    (plugins/sink-<name>/.libs/sink_<name>.so); skip the test without it."""
    path = os.path.join(scimtest.builddir(), "plugins", "sink-" + name,
                        ".libs", "sink_%s.so" % name)
    if not os.path.exists(path):
        raise unittest.SkipTest("sink_%s.so is not built: %s" % (name, path))
    return path


class SinkTestCase(unittest.TestCase):
    maxDiff = 8000
    d = None

    @classmethod
    def stop_daemon(cls, secrets):
        """Stop cls.d; fail when it did not exit cleanly or when one of
        secrets is in a file of its working directory (its log, audit
        log and store; not the config and secret files the test wrote).
        The directory is removed unless something failed or
        SCIMSYNC_TEST_KEEP is set."""
        if cls.d is None:
            return
        rc = cls.d.stop(scimtest.STOP_TIMEOUT)
        if rc != 0:
            sys.stderr.write("\n%s\n" % cls.d.log_tail())
        wd = cls.d.workdir
        leaked = []
        for p in cls.d.files_to_scan():
            if p.endswith((".yaml", ".pw", ".secret", ".token", ".bearer",
                           ".key")):
                continue  # the test's own files
            with open(p, "rb") as f:
                data = f.read()
            if any(x.encode() in data for x in secrets if x):
                leaked.append(p)
        cls.d.cleanup(keep=rc != 0 or bool(leaked))
        if rc == 0 and not leaked and not keep():
            shutil.rmtree(wd, ignore_errors=True)
        assert rc == 0, "scimsyncd exit status after SIGTERM: %s" % rc
        assert not leaked, "a secret is in %s" % leaked

    def run(self, result=None):
        """On a failure, show the daemon's log lines of that test."""
        if result is None:
            return unittest.TestCase.run(self, result)
        d = getattr(type(self), "d", None)
        start = d.log_size() if d is not None else 0
        before = len(result.failures) + len(result.errors)
        ret = unittest.TestCase.run(self, result)
        if d is not None and len(result.failures) + len(result.errors) > \
                before:
            seg = d.log_text(start).splitlines()
            sys.stderr.write("\n---- scimsyncd log while %s ran (last 40 "
                             "of %d lines) ----\n%s\n---- end ----\n"
                             % (self.id(), len(seg), "\n".join(seg[-40:])))
        return ret

    # -- SCIM

    def post(self, path, body, client=None):
        r = (client or self.c).post(path, body)
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def patch_ok(self, path, body, client=None):
        r = (client or self.c).patch(path, body)
        self.assertIn(r.status, (200, 204), r)

    def delete_ok(self, path, client=None):
        self.assertEqual((client or self.c).delete(path).status, 204)

    def create_users(self, prefix, n, threads=4):
        """n users (userName <prefix><nnn>@example.org, as Okta sends
        them) POSTed from threads while the test goes on: (threads, ids,
        errors); ids {name: scim id}. Join the threads, then check that
        errors is empty."""
        ids, errors, lock = {}, [], threading.Lock()

        def worker(t):
            try:
                for i in range(t, n, threads):
                    name = "%s%03d" % (prefix, i)
                    r = self.c.post("/Users", idp_replay.okta_user_body(
                        name + "@example.org", "User", name))
                    if r.status != 201:
                        raise AssertionError(repr(r))
                    with lock:
                        ids[name] = r.json["id"]
            except BaseException as e:  # noqa
                errors.append(e)
        ts = [threading.Thread(target=worker, args=(t,))
              for t in range(threads)]
        for t in ts:
            t.start()
        return ts, ids, errors

    # -- sinks

    def sink(self, name):
        r = self.admin.get("/sinks/" + name)
        self.assertEqual(r.status, 200, r)
        return r.json

    def dead_for(self, name, *ids):
        """The sink's dead letters about the resources ids."""
        return [d for d in self.sink(name)["dead"]
                if d["event"]["resource_id"] in ids]

    def wait_for(self, fn, what, timeout=WAIT, interval=0.05):
        """Poll fn() until it returns something true, and return that."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                self.fail("%s: not within %.0f s (last: %r); sinks: %s"
                          % (what, timeout, v, self.admin.get("/sinks").text))
            time.sleep(interval)

    def wait_drained(self, timeout=WAIT):
        def drained():
            sinks = self.admin.get("/sinks").json["sinks"]
            return all(s["lag"] == 0 for s in sinks)
        self.wait_for(drained, "every sink drained", timeout)

    def assertEventually(self, fn, expected, what, timeout=WAIT):
        """Poll fn() until it returns expected; else show the diff."""
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got == expected:
                return got
            if time.monotonic() > deadline:
                sys.stderr.write("\nsinks: %s\n" % self.admin.get(
                    "/sinks").text)
                self.assertEqual(got, expected, what)
            time.sleep(0.05)
