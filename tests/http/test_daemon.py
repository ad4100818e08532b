"""The daemon as a process: --version/--help, bad configurations, graceful
shutdown on SIGTERM (exit 0), durability of acknowledged writes across a
restart. These start their own scimsyncd instances."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import scimtest
from scimtest import (Client, Daemon, daemon_path, make_token, uniq,
                      user_body, write_config, free_port)


def run_daemon(args, timeout=10):
    return subprocess.run([daemon_path()] + args, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


@unittest.skipIf(os.environ.get("SCIMSYNC_TEST_URL"),
                 "external server: cannot start private daemons")
class DaemonCliTest(unittest.TestCase):

    def test_version(self):
        p = run_daemon(["--version"])
        self.assertEqual(p.returncode, 0, p)
        out = (p.stdout + p.stderr).decode()
        self.assertRegex(out, r"\d+\.\d+")

    def test_help(self):
        p = run_daemon(["--help"])
        self.assertEqual(p.returncode, 0, p)
        out = (p.stdout + p.stderr).decode()
        self.assertIn("-c", out)

    def test_unknown_option(self):
        p = run_daemon(["--no-such-option"])
        self.assertNotEqual(p.returncode, 0, p)
        self.assertTrue(p.stderr, "no diagnostic on stderr")

    def test_missing_config(self):
        p = run_daemon(["-c", "/nonexistent/scimsyncd.yaml"])
        self.assertNotEqual(p.returncode, 0, p)
        self.assertTrue(p.stderr, "no diagnostic on stderr")

    def config_error(self, mutate):
        d = tempfile.mkdtemp(prefix="scimsync-cfg-")
        try:
            cfg = os.path.join(d, "c.yaml")
            write_config(cfg, free_port(), d, make_token())
            with open(cfg) as f:
                text = f.read()
            with open(cfg, "w") as f:
                f.write(mutate(text))
            p = run_daemon(["-c", cfg])
            self.assertNotEqual(p.returncode, 0, p)
            self.assertTrue(p.stderr, "no diagnostic on stderr")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bad_configs(self):
        cases = {
            "syntax": lambda t: t + "\n  : : [\n",
            "port": lambda t: t.replace("  port: ", "  port: notaport #"),
            "plugin": lambda t: t.replace("plugin: sqlite",
                                          "plugin: no_such_store_plugin"),
            "token": lambda t: t.replace("token_sha256: ",
                                         "token_sha256: zz"),
            "limits": lambda t: t.replace("max_results: 1000",
                                          "max_results: -7"),
        }
        for name, mutate in cases.items():
            with self.subTest(case=name):
                self.config_error(mutate)

    def test_port_in_use(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        d = tempfile.mkdtemp(prefix="scimsync-port-")
        try:
            cfg = os.path.join(d, "c.yaml")
            write_config(cfg, s.getsockname()[1], d, make_token())
            p = run_daemon(["-c", cfg], timeout=15)
            self.assertNotEqual(p.returncode, 0, p)
        finally:
            s.close()
            shutil.rmtree(d, ignore_errors=True)


@unittest.skipIf(os.environ.get("SCIMSYNC_TEST_URL"),
                 "external server: cannot start private daemons")
class DaemonLifecycleTest(unittest.TestCase):

    def setUp(self):
        self.d = Daemon()

    def tearDown(self):
        self.d.kill()

    def run(self, result=None):
        if result is None:
            return super(DaemonLifecycleTest, self).run(result)
        before = len(result.failures) + len(result.errors)
        ret = super(DaemonLifecycleTest, self).run(result)
        failed = len(result.failures) + len(result.errors) > before
        if failed:
            scimtest._state.failed = True
            sys.stderr.write("\n%s (private instance)\n%s\n"
                             % (self.id(), self.d.log_tail()))
        self.d.cleanup(keep=failed)
        return ret

    def stop_ok(self):
        t0 = time.monotonic()
        rc = self.d.stop(scimtest.STOP_TIMEOUT)
        self.assertEqual(rc, 0, "exit status after SIGTERM (None: hung) "
                         "\n" + self.d.log_tail())
        self.assertLess(time.monotonic() - t0, scimtest.STOP_TIMEOUT)

    def test_sigterm_idle(self):
        self.d.start()
        self.stop_ok()

    def test_sigterm_with_idle_keepalive_connection(self):
        self.d.start()
        s = socket.create_connection((self.d.host, self.d.port), timeout=5)
        try:
            s.sendall(b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\n"
                      b"Host: x\r\n\r\n")
            s.recv(65536)
            self.stop_ok()   # must not wait for the client to go away
        finally:
            s.close()

    def test_restart_keeps_data(self):
        self.d.start()
        c = Client(self.d)
        r = c.post("/Users", user_body())
        self.assertEqual(r.status, 201, r)
        u = r.json
        r = c.post("/Groups", {"schemas": [scimtest.URN_GROUP],
                               "displayName": uniq("persist"),
                               "members": [{"value": u["id"]}]})
        self.assertEqual(r.status, 201, r)
        g = r.json
        self.stop_ok()
        self.d.start()
        c = Client(self.d)
        r = c.get("/Users/" + u["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["userName"], u["userName"])
        self.assertEqual(r.json["meta"]["version"], u["meta"]["version"])
        r = c.get("/Groups/" + g["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([m["value"] for m in r.json["members"]], [u["id"]])
        # uniqueness survives the restart too
        self.assertEqual(c.post("/Users", user_body(u["userName"])).status,
                         409)
        self.stop_ok()

    def test_sigterm_under_load_loses_no_acknowledged_write(self):
        self.d.start()
        prefix = uniq("load")
        acked = []
        bad = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(t):
            c = Client(self.d)
            i = 0
            while not stop.is_set():
                un = "%s-%d-%d" % (prefix, t, i)
                i += 1
                try:
                    r = c.post("/Users", user_body(un), timeout=10)
                except Exception:  # refused/reset once it is going down
                    return
                if r.status == 201:
                    with lock:
                        acked.append(r.json["id"])
                elif r.status == 503:
                    return
                else:
                    bad.append(r)
                    return

        threads = [threading.Thread(target=writer, args=(t,))
                   for t in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while len(acked) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            self.stop_ok()
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        self.assertEqual(bad, [], "unexpected answers while shutting down")
        self.assertTrue(acked, "no write succeeded before SIGTERM")
        self.d.start()
        c = Client(self.d)
        r = c.get("/Users", params={"filter": 'userName sw "%s"' % prefix,
                                    "count": 1000, "attributes": "id"})
        self.assertEqual(r.status, 200, r)
        present = {x["id"] for x in r.json["Resources"]}
        lost = [i for i in acked if i not in present]
        self.assertEqual(lost, [], "acknowledged (201) users lost across "
                         "SIGTERM + restart")
        self.stop_ok()

    def test_sigint(self):
        # SIGINT (Ctrl-C in a foreground run) also shuts down cleanly.
        self.d.start()
        self.d.proc.send_signal(signal.SIGINT)
        try:
            rc = self.d.proc.wait(scimtest.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        self.assertEqual(rc, 0, self.d.log_tail())


if __name__ == "__main__":
    unittest.main()
