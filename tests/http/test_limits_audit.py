"""Per-token rate limits (429 with Retry-After) and the audit log (one
JSON line per operation, never a token secret or a password), each on a
daemon of its own so the shared suite is not throttled."""

import json
import os
import sys
import time
import unittest

import scimtest
from scimtest import Client, Daemon, uniq, user_body, patch_body


class PrivateDaemonTest(unittest.TestCase):
    extra = ""

    def setUp(self):
        self.d = Daemon(extra_config=self.extra_config())
        self.d.start()
        self.c = Client(self.d)

    def extra_config(self):
        return self.extra

    def tearDown(self):
        rc = self.d.stop(scimtest.STOP_TIMEOUT)
        failed = rc != 0
        if failed:
            sys.stderr.write("\n%s\n" % self.d.log_tail())
        self.d.cleanup(keep=failed)
        self.assertEqual(rc, 0, "exit status after SIGTERM")


class RateLimitTest(PrivateDaemonTest):
    extra = "rate_limit:\n  requests_per_second: 5\n  burst: 5\n"

    def test_burst_then_429_with_retry_after(self):
        statuses = []
        retry = None
        for _ in range(12):
            r = self.c.get("/Users", params={"count": "1"})
            statuses.append(r.status)
            if r.status == 429:
                retry = r.headers.get("Retry-After")
                body = r.json
                self.assertEqual(body["status"], "429")
                self.assertIn("urn:ietf:params:scim:api:messages:2.0:Error",
                              body["schemas"])
        self.assertEqual(statuses[:5], [200] * 5, statuses)
        self.assertIn(429, statuses)
        self.assertIsNotNone(retry)
        self.assertGreaterEqual(int(retry), 1)
        # The bucket refills: a request succeeds again within a deadline.
        deadline = time.monotonic() + 5
        while True:
            r = self.c.get("/Users", params={"count": "1"})
            if r.status == 200:
                break
            self.assertEqual(r.status, 429)
            self.assertLess(time.monotonic(), deadline, "never refilled")
            time.sleep(0.05)

    def test_discovery_and_bad_tokens_are_not_counted(self):
        for _ in range(10):
            self.assertEqual(self.c.get("/ServiceProviderConfig").status, 200)
        bad = Client(self.d, token="scim_nope_" + "x" * 43)
        for _ in range(10):
            self.assertEqual(bad.get("/Users").status, 401)
        self.assertEqual(self.c.get("/Users").status, 200)


class RefusedTokenLimitTest(PrivateDaemonTest):
    """Refused tokens are limited per client address (burst 20, then 5 a
    second): a guessing client gets 429 with Retry-After, a good token from
    the same address never does, and the log does not grow per guess."""
    extra = "rate_limit:\n  requests_per_second: 0\n"

    def test_guessing_gets_429_and_good_tokens_pass(self):
        bad = Client(self.d, token="scim_0123456789ab_" + "0" * 64)
        statuses = []
        retry = None
        for _ in range(40):
            r = bad.get("/Users")
            statuses.append(r.status)
            if r.status == 429:
                retry = r.headers.get("Retry-After")
                self.assertEqual(r.json["status"], "429")
            # A good token from the same address is never held back.
            self.assertEqual(self.c.get("/Users", params={"count": "0"})
                             .status, 200)
        self.assertEqual(statuses[:20], [401] * 20, statuses)
        self.assertIn(429, statuses)
        self.assertGreaterEqual(int(retry), 1)
        refusals = self.d.log_text().count("refused a request from")
        self.assertLess(refusals, 30, "one log line per guess")


class AuditLogTest(PrivateDaemonTest):

    def extra_config(self):
        self.audit_path = os.path.join(self.d_workdir(), "audit.log")
        return "audit:\n  path: %s\n" % self.audit_path

    def d_workdir(self):
        if not hasattr(self, "_wd"):
            import tempfile
            self._wd = tempfile.mkdtemp(prefix="scimsync-audit-")
        return self._wd

    def audit_lines(self, n):
        """The audit log once it has at least n lines (5 s deadline)."""
        deadline = time.monotonic() + 5
        while True:
            lines = []
            if os.path.exists(self.audit_path):
                with open(self.audit_path) as f:
                    lines = [json.loads(x) for x in f if x.strip()]
                # Readiness probes hit discovery: audited, but not ours.
                lines = [l for l in lines if not l["path"].endswith(
                    "/ServiceProviderConfig")]
            if len(lines) >= n:
                return lines
            self.assertLess(time.monotonic(), deadline,
                            "audit log has %d lines, want %d" % (len(lines), n))
            time.sleep(0.02)

    def test_operations_are_audited_without_secrets(self):
        password = "Sup3r-Secret-" + uniq("pw")
        body = user_body(uniq("audit"))
        body["password"] = password
        r = self.c.post("/Users", body)
        self.assertEqual(r.status, 201, r)
        uid = r.json["id"]
        self.assertEqual(self.c.get("/Users/" + uid).status, 200)
        r = self.c.patch("/Users/" + uid, patch_body(
            {"op": "replace", "path": "active", "value": False}))
        self.assertIn(r.status, (200, 204), r)
        self.assertEqual(self.c.delete("/Users/" + uid).status, 204)
        self.assertEqual(Client(self.d, token="scim_zzz_" + "y" * 43)
                         .get("/Users").status, 401)

        lines = self.audit_lines(5)
        ops = [(l["method"], l["status"]) for l in lines]
        self.assertEqual(ops[:5], [("POST", 201), ("GET", 200),
                                   ("PATCH", 200), ("DELETE", 204),
                                   ("GET", 401)], ops)
        prefix = self.d.token.split("_")[1]
        for l in lines[:4]:
            self.assertEqual(l["tenant"], "default")
            self.assertEqual(l["token_prefix"], prefix)
            self.assertEqual(l["resource_type"], "User")
            self.assertEqual(l["resource_id"], uid)
            self.assertTrue(l["client"].startswith("127.0.0.1:"), l)
            self.assertIsInstance(l["duration_ms"], (int, float))
            self.assertRegex(l["time"], r"^\d{4}-\d\d-\d\dT")
        self.assertNotIn("tenant", lines[4])  # not authenticated
        # No secret anywhere: not in the audit log, not in the daemon log.
        secret = self.d.token.split("_", 2)[2]
        for path in (self.audit_path, self.d.log_path):
            with open(path) as f:
                text = f.read()
            self.assertNotIn(secret, text, path)
            self.assertNotIn(password, text, path)
            self.assertNotIn("y" * 43, text, path)


if __name__ == "__main__":
    unittest.main()
