"""The admin API (tenants, SCIM tokens, audit queries), the token lifecycle
(creation, last use, expiry, revocation under load, rotation), per-tenant
rate limits and the audit database, on private daemons with an admin
listener (scimtest.AdminDaemon). No secret - token, admin token, password -
may appear in any file the daemon writes.

Waits are polls of a condition with a deadline, never bare sleeps."""

import json
import os
import re
import threading
import time
import unittest

import scimtest
from scimtest import (URN_ERROR, Client, parse_rfc3339, patch_body,
                      rfc3339, sha256_hex, token_secret, uniq, user_body,
                      group_body, SCIM_TOKEN_RE)

TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
TOKEN_KEYS = {"id", "tenant", "name", "created", "expires", "revoked",
              "last_used", "last_client", "status"}
TENANT_KEYS = {"name", "description", "created", "scim_base_url",
               "rate_limit", "audit_bodies"}


class Hammer(object):
    """n threads sending GET /Users?count=1 until stopped. token_of() gives
    the token of each request as it starts. Records (thread, start, end,
    status, token) with monotonic times."""

    def __init__(self, daemon, token_of, n=4, source=None):
        self.d = daemon
        self.token_of = token_of
        self.n = n
        self.source = source
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records = []
        self.threads = [threading.Thread(target=self.work, args=(i,))
                        for i in range(n)]

    def work(self, i):
        while not self.stop.is_set():
            tok = self.token_of()
            c = Client(self.d, token=tok, source=self.source)
            t0 = time.monotonic()
            try:
                st = c.get("/Users", params={"count": 1}, timeout=10).status
            except Exception as e:  # noqa - recorded as a failure
                st = "error: %r" % (e,)
            t1 = time.monotonic()
            with self.lock:
                self.records.append((i, t0, t1, st, tok))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def count(self, pred=lambda r: True):
        with self.lock:
            return sum(1 for r in self.records if pred(r))


class AdminApiTest(scimtest.AdminDaemonTestCase):

    # -- the listener and its credential

    def test_health_needs_no_token(self):
        for tok in (None, "wrong"):
            r = self.admin.get("/health", token=tok)
            body = self.assertAdminOk(r)
            self.assertEqual(body.get("status"), "ok", body)
            self.assertIsInstance(body.get("version"), str, body)

    def test_admin_api_needs_its_token(self):
        t = self.new_tenant("tauth")
        name = uniq("never")[:30]
        bad = [None, "wrong", self.d.admin_token + "x",
               self.d.admin_token[:-1], self.d.token, t.token,
               sha256_hex(self.d.admin_token)]
        for tok in bad:
            for method, path, body in (
                    ("GET", "/tenants", None),
                    ("POST", "/tenants", {"name": name}),
                    ("GET", "/tenants/" + t.name, None),
                    ("PATCH", "/tenants/" + t.name, {"description": "x"}),
                    ("DELETE", "/tenants/%s?confirm=%s" % (t.name, t.name),
                     None),
                    ("GET", "/tenants/%s/scim/tokens" % t.name, None),
                    ("POST", "/tenants/%s/scim/tokens" % t.name,
                     {"name": "x"}),
                    ("DELETE", "/tenants/%s/scim/tokens/%s"
                     % (t.name, t.token_id), None),
                    ("GET", "/audit", None)):
                r = self.admin.request(method, path, body=body, token=tok)
                err = self.assertAdminError(r, 401)
                self.assertNotIn("tenants", err)
                self.assertNotIn("entries", err)
        # Not Basic either.
        r = self.admin.get("/tenants", token=None, headers={
            "Authorization": "Basic " + self.d.admin_token})
        self.assertAdminError(r, 401)
        # Nothing of the refused calls happened.
        self.assertAdminError(self.admin.tenant_show(name), 404)
        show = self.assertAdminOk(self.admin.tenant_show(t.name))
        self.assertEqual(show["description"], "")
        self.assertEqual(show["active_tokens"], 1, show)
        self.assertStatus(t.client.get("/Users"), 200)

    def test_admin_api_not_on_scim_port_and_scim_not_on_admin_port(self):
        scim_root = "http://%s:%d" % (self.d.host, self.d.port)
        for tok in (self.d.admin_token, self.d.token):
            r = self.client(tok).get(scim_root + "/api/v1/tenants")
            self.assertStatus(r, 404)
            self.assertNotIn('"tenants"', r.text)
            r = self.client(tok).get(scim_root + "/api/v1/health")
            self.assertStatus(r, 404)
        for tok in (self.d.admin_token, self.d.token):
            for path in ("/scim/v2/Users", "/scim/v2/ServiceProviderConfig",
                         "/Users"):
                r = self.admin.get(path, token=tok, absolute=True)
                self.assertStatus(r, 404)
                self.assertNotIn("Resources", r.text)

    # -- tenants

    def test_tenant_create_list_show_patch(self):
        name = "tcrud-" + uniq("x")[2:14]
        r = self.admin.tenant_create(
            name, description="Acme Inc.",
            rate_limit={"requests_per_second": 50, "burst": 100},
            audit_bodies={"enabled": True, "retention_days": 3})
        t = self.assertAdminOk(r, 201)
        self.assertLessEqual(TENANT_KEYS, set(t), t)
        self.assertEqual(t["name"], name)
        self.assertEqual(t["description"], "Acme Inc.")
        self.assertRegex(t["created"], TIME_RE)
        self.assertLess(abs(parse_rfc3339(t["created"]) - time.time()), 60)
        self.assertEqual(t["scim_base_url"], self.d.base_url)
        self.assertEqual(t["rate_limit"],
                         {"requests_per_second": 50, "burst": 100})
        self.assertEqual(t["audit_bodies"],
                         {"enabled": True, "retention_days": 3})
        # Defaults: the config's rate limit (0: off), no bodies.
        other = "tcrud-" + uniq("y")[2:14]
        o = self.assertAdminOk(self.admin.tenant_create(other), 201)
        self.assertEqual(o["description"], "")
        self.assertEqual(o["rate_limit"]["requests_per_second"], 0, o)
        self.assertEqual(o["audit_bodies"]["enabled"], False, o)

        lst = self.assertAdminOk(self.admin.tenants())["tenants"]
        names = [x["name"] for x in lst]
        self.assertEqual(names, sorted(names))
        self.assertIn(name, names)
        self.assertIn(other, names)
        self.assertIn("default", names)
        self.assertEqual([x for x in lst if x["name"] == name], [t])

        show = self.assertAdminOk(self.admin.tenant_show(name))
        self.assertLessEqual(TENANT_KEYS | {"users", "groups",
                                            "active_tokens"}, set(show), show)
        self.assertEqual((show["users"], show["groups"],
                          show["active_tokens"]), (0, 0, 0))
        for k in TENANT_KEYS:
            self.assertEqual(show[k], t[k], k)

        # Counts follow what the tenant holds.
        tok = self.create_token(name)
        self.create_token(name)
        c = self.client(tok["token"])
        u1 = c.post("/Users", user_body(uniq("u")))
        self.assertStatus(u1, 201)
        self.assertStatus(c.post("/Users", user_body(uniq("u"))), 201)
        self.assertStatus(c.post("/Groups", group_body(
            uniq("g"), members=[u1.json["id"]])), 201)
        self.assertAdminOk(self.admin.token_revoke(name, tok["id"]))
        show = self.assertAdminOk(self.admin.tenant_show(name))
        self.assertEqual((show["users"], show["groups"],
                          show["active_tokens"]), (2, 1, 1), show)

        # PATCH: each setting on its own; the others stay.
        p = self.assertAdminOk(self.admin.tenant_patch(
            name, description="renamed"))
        self.assertEqual(p["description"], "renamed")
        self.assertEqual(p["rate_limit"], t["rate_limit"])
        p = self.assertAdminOk(self.admin.tenant_patch(
            name, rate_limit={"requests_per_second": 7, "burst": 9}))
        self.assertEqual(p["rate_limit"],
                         {"requests_per_second": 7, "burst": 9})
        self.assertEqual(p["description"], "renamed")
        p = self.assertAdminOk(self.admin.tenant_patch(
            name, audit_bodies={"enabled": False, "retention_days": 2}))
        self.assertEqual(p["audit_bodies"],
                         {"enabled": False, "retention_days": 2})
        show = self.assertAdminOk(self.admin.tenant_show(name))
        self.assertEqual((show["description"], show["rate_limit"],
                          show["audit_bodies"], show["created"]),
                         ("renamed", p["rate_limit"], p["audit_bodies"],
                          t["created"]))
        for bad in ({"rate_limit": {"requests_per_second": -1}},
                    {"rate_limit": "fast"},
                    {"audit_bodies": {"enabled": "yes"}},
                    {"description": 42}):
            r = self.admin.patch("/tenants/" + name, bad)
            self.assertAdminError(r, 400)
        self.assertEqual(self.assertAdminOk(self.admin.tenant_show(name)),
                         show)
        # Unknown tenants
        ghost = "ghost-" + uniq("z")[2:14]
        self.assertAdminError(self.admin.tenant_show(ghost), 404)
        self.assertAdminError(self.admin.tenant_patch(
            ghost, description="x"), 404)
        self.assertAdminError(self.admin.tenant_delete(ghost,
                                                       confirm=ghost), 404)

    def test_tenant_names(self):
        base = uniq("n")[2:14]
        for bad in ("Upper" + base, "", "a" * 64, "-lead" + base,
                    "has space", "under_score" + base, "dot.ted",
                    "caf\u00e9" + base, "slash/" + base):
            r = self.admin.tenant_create(bad)
            self.assertAdminError(r, 400)
        for bad_body in ({}, {"name": 42}, {"name": None}):
            self.assertAdminError(self.admin.post("/tenants", bad_body), 400)
        self.assertAdminError(self.admin.post(
            "/tenants", raw="{not json"), 400)
        self.assertAdminError(self.admin.tenant_create(
            "ok-" + base, rate_limit={"requests_per_second": -5}), 400)
        self.assertAdminError(self.admin.tenant_create(
            "ok-" + base, audit_bodies={"enabled": True,
                                        "retention_days": 0}), 400)
        names = [x["name"] for x in self.assertAdminOk(
            self.admin.tenants())["tenants"]]
        self.assertNotIn("ok-" + base, names)
        self.assertNotIn("Upper" + base, names)
        longest = (base + "a" * 63)[:63]
        for good in (longest, "0" + base, "a", "x-" + base + "-"):
            if good == "a" and "a" in names:
                continue
            body = self.assertAdminOk(self.admin.tenant_create(good), 201)
            self.assertEqual(body["name"], good)
            self.assertAdminError(self.admin.tenant_create(good), 409)
        # a 409 does not change the existing tenant
        self.assertAdminOk(self.admin.tenant_patch(longest,
                                                   description="kept"))
        self.assertAdminError(self.admin.tenant_create(
            longest, description="other"), 409)
        self.assertEqual(self.assertAdminOk(self.admin.tenant_show(longest))
                         ["description"], "kept")

    # -- tokens

    def test_token_create_once_and_never_again(self):
        t = self.new_tenant("ttok")
        r = self.admin.token_create(t.name, "okta-prod")
        tok = self.assertAdminOk(r, 201)
        self.assertRegex(tok["token"], SCIM_TOKEN_RE)
        secret = token_secret(tok["token"])
        self.remember_secret(secret)
        self.assertEqual(tok["id"], tok["token"].split("_")[1])
        self.assertEqual(tok["scim_base_url"], self.d.base_url)
        self.assertLessEqual(TOKEN_KEYS | {"token", "scim_base_url"},
                             set(tok), tok)
        self.assertEqual((tok["tenant"], tok["name"], tok["expires"],
                          tok["revoked"], tok["last_used"],
                          tok["last_client"], tok["status"]),
                         (t.name, "okta-prod", None, None, None, None,
                          "active"))
        self.assertRegex(tok["created"], TIME_RE)
        self.assertNotIn("hash", r.text.lower())
        self.assertStatus(self.client(tok["token"]).get("/Users"),
                          200)
        # Names need not be unique.
        again = self.create_token(t.name, "okta-prod")
        self.assertNotEqual(again["id"], tok["id"])
        self.assertNotEqual(token_secret(again["token"]), secret)

        forbidden = [secret, tok["token"], sha256_hex(tok["token"]),
                     token_secret(again["token"]), t.token]
        show = self.admin.token_show(t.name, tok["id"])
        lst = self.admin.tokens(t.name)
        tenant = self.admin.tenant_show(t.name)
        for r in (show, lst, tenant, self.admin.tenants()):
            self.assertAdminOk(r)
            for s in forbidden:
                self.assertNotIn(s, r.text, r.url)
            self.assertNotIn("hash", r.text.lower(), r.url)
            self.assertNotIn('"token"', r.text, r.url)
        body = show.json
        self.assertLessEqual(TOKEN_KEYS, set(body), body)
        self.assertNotIn("token", body)
        self.assertEqual(body["id"], tok["id"])
        self.assertEqual(body["status"], "active")
        toks = lst.json["tokens"]
        self.assertEqual([x["id"] for x in toks],
                         [t.token_id, tok["id"], again["id"]])
        for x in toks:
            self.assertLessEqual(TOKEN_KEYS, set(x), x)
            self.assertNotIn("token", x)

    def test_several_tokens_of_one_tenant_work_at_once(self):
        t = self.new_tenant("tmulti")
        clients = [t.client] + [self.client(self.create_token(
            t.name, "tok%d" % i)["token"]) for i in range(3)]
        ids = []
        for rnd in range(2):
            for c in clients:
                r = c.post("/Users", user_body(uniq("m")))
                self.assertStatus(r, 201)
                ids.append(r.json["id"])
        for c in clients:  # all see the one tenant's data
            body = self.assertListResponse(c.get("/Users",
                                                 params={"count": 100}))
            self.assertEqual(sorted(x["id"] for x in body["Resources"]),
                             sorted(ids))
        show = self.assertAdminOk(self.admin.tenant_show(t.name))
        self.assertEqual(show["active_tokens"], 4, show)

    def test_tokens_are_per_tenant_in_the_admin_api(self):
        a = self.new_tenant("tadm")
        b = self.new_tenant("tadm")
        self.assertAdminError(self.admin.token_show(b.name, a.token_id), 404)
        self.assertAdminError(self.admin.token_revoke(b.name, a.token_id),
                              404)
        self.assertNotIn(a.token_id, self.admin.tokens(b.name).text)
        self.assertStatus(a.client.get("/Users"), 200)
        self.assertEqual(self.assertAdminOk(self.admin.token_show(
            a.name, a.token_id))["status"], "active")
        ghost = "ghost-" + uniq("g")[2:14]
        self.assertAdminError(self.admin.tokens(ghost), 404)
        self.assertAdminError(self.admin.token_create(ghost, "x"), 404)
        self.assertAdminError(self.admin.token_show(ghost, a.token_id), 404)
        for bad_id in ("000000000000", "nothex", a.token_id.upper(),
                       "scim_" + a.token_id, a.token_id + "0"):
            self.assertAdminError(self.admin.token_show(a.name, bad_id),
                                  404)

    def test_last_used_and_last_client(self):
        t = self.new_tenant("tlast")
        show = self.assertAdminOk(self.admin.token_show(t.name, t.token_id))
        self.assertIsNone(show["last_used"])
        self.assertIsNone(show["last_client"])
        before = time.time()
        self.assertStatus(t.client.get("/Users"), 200)
        after = time.time()

        def used():
            s = self.assertAdminOk(self.admin.token_show(t.name,
                                                         t.token_id))
            return s if s["last_used"] else None
        s = self.poll(used, "token's last_used set", timeout=5)
        self.assertRegex(s["last_used"], TIME_RE)
        lu = parse_rfc3339(s["last_used"])
        self.assertGreaterEqual(lu, before - 1.0, s)
        self.assertLessEqual(lu, after + 1.0, s)
        self.assertEqual(s["last_client"], self.source or "127.0.0.1", s)
        lst = self.assertAdminOk(self.admin.tokens(t.name))["tokens"]
        self.assertEqual(lst[0]["last_used"], s["last_used"])
        self.assertEqual(lst[0]["last_client"], s["last_client"])

    def test_expiry(self):
        t = self.new_tenant("texp")
        expires_at = time.time() + 2.5
        tok = self.create_token(t.name, "short", expires=rfc3339(expires_at))
        self.assertRegex(tok["expires"], TIME_RE)
        self.assertAlmostEqual(parse_rfc3339(tok["expires"]), expires_at,
                               delta=0.002)
        self.assertEqual(tok["status"], "active")
        c = self.client(tok["token"])
        self.assertStatus(c.get("/Users"), 200)
        # Poll until it is refused; it must not be before its time.
        deadline = time.monotonic() + 10
        while True:
            r = c.get("/Users")
            done = time.time()
            if r.status != 200:
                break
            self.assertLess(time.monotonic(), deadline,
                            "token still accepted long after its expiry")
            time.sleep(0.05)
        self.assertScimError(r, 401)
        self.assertGreaterEqual(done, expires_at - 0.005,
                                "refused before its expiry")
        self.assertScimError(c.get("/Users"), 401)
        self.assertStatus(t.client.get("/Users"), 200)  # the other token
        pat = r"token expired scim_%s_" % tok["id"]
        self.poll(lambda: re.search(pat, self.d.log_text()),
                  "log line %r" % pat)
        show = self.assertAdminOk(self.admin.token_show(t.name, tok["id"]))
        self.assertEqual(show["status"], "expired", show)
        self.assertEqual(show["expires"], tok["expires"])
        self.assertEqual(self.assertAdminOk(self.admin.tenant_show(t.name))
                         ["active_tokens"], 1)

    def test_expiry_validation(self):
        t = self.new_tenant("texpv")
        soon = rfc3339(time.time() + 3600)
        for expiry in ({"expires_in_days": 0}, {"expires_in_days": -1},
                       {"expires_in_days": "7"},
                       {"expires_in_days": 1, "expires": soon},
                       {"expires": rfc3339(time.time() - 60)},
                       {"expires": "tomorrow"}, {"expires": 1893456000}):
            r = self.admin.token_create(t.name, "bad", **expiry)
            self.assertAdminError(r, 400)
            self.assertNotIn("scim_", r.text)
        for body in ({}, {"name": ""}, {"name": 7}):
            r = self.admin.post("/tenants/%s/scim/tokens" % t.name, body)
            self.assertAdminError(r, 400)
        toks = self.assertAdminOk(self.admin.tokens(t.name))["tokens"]
        self.assertEqual([x["id"] for x in toks], [t.token_id])
        now = time.time()
        tok = self.create_token(t.name, "ninety", expires_in_days=90)
        self.assertAlmostEqual(parse_rfc3339(tok["expires"]),
                               now + 90 * 86400, delta=60)
        tok = self.create_token(t.name, "exact", expires=soon)
        self.assertEqual(tok["expires"], soon)

    def test_revoke(self):
        t = self.new_tenant("trev")
        keep = self.create_token(t.name, "keep")
        self.assertStatus(t.client.get("/Users"), 200)
        r = self.admin.token_revoke(t.name, t.token_id)
        body = self.assertAdminOk(r)
        self.assertEqual(body["status"], "revoked", body)
        self.assertRegex(body["revoked"] or "", TIME_RE)
        self.assertLessEqual(TOKEN_KEYS, set(body), body)
        self.assertNotIn("token", body)
        self.assertNotIn(token_secret(t.token), r.text)
        self.assertScimError(t.client.get("/Users"), 401)
        self.assertScimError(t.client.post("/Users", user_body()), 401)
        self.assertStatus(self.client(keep["token"]).get("/Users"),
                          200)
        again = self.assertAdminOk(self.admin.token_revoke(t.name,
                                                           t.token_id))
        self.assertEqual(again["revoked"], body["revoked"])
        self.assertEqual(again["status"], "revoked")
        lst = self.assertAdminOk(self.admin.tokens(t.name))["tokens"]
        self.assertEqual([(x["id"], x["status"]) for x in lst],
                         [(t.token_id, "revoked"), (keep["id"], "active")])
        self.assertEqual(self.assertAdminOk(self.admin.tenant_show(t.name))
                         ["active_tokens"], 1)
        pat = r"token revoked scim_%s_" % t.token_id
        self.poll(lambda: re.search(pat, self.d.log_text()),
                  "log line %r" % pat)

    def test_revocation_is_immediate_under_load(self):
        t = self.new_tenant("tload")
        # The hammer's refusals come from an address of their own, and
        # past a burst of them the daemon answers 429 instead of 401
        # (refused requests are limited per client address).
        with Hammer(self.d, lambda: t.token,
                    source=scimtest.fresh_loopback()) as h:
            self.poll(lambda: h.count() >= 40, "40 requests before the "
                      "revocation", timeout=20)
            body = self.assertAdminOk(self.admin.token_revoke(t.name,
                                                              t.token_id))
            revoked_at = time.monotonic()
            self.assertEqual(body["status"], "revoked")
            self.poll(lambda: h.count(lambda r: r[1] > revoked_at) >= 40,
                      "40 requests after the revocation", timeout=20)
        recs = h.snapshot()
        odd = [r[:4] for r in recs if r[3] not in (200, 401, 429)]
        self.assertEqual(odd, [], "statuses other than 200/401/429")
        before = [r for r in recs if r[2] < revoked_at]
        self.assertGreaterEqual(sum(1 for r in before if r[3] == 200), 20)
        self.assertFalse([r for r in before if r[3] == 429],
                         "429 before the revocation")
        after = sorted((r for r in recs if r[1] > revoked_at),
                       key=lambda r: r[1])
        late = [r[:4] for r in after if r[3] not in (401, 429)]
        self.assertEqual(late, [], "accepted after the revocation returned "
                         "(thread, start, end, status)")
        # The first refusals are 401 (a 429 only once the address has
        # been refused many times).
        self.assertEqual(after[0][3], 401, after[:5])
        self.assertGreaterEqual(sum(1 for r in after if r[3] == 401), 4)
        pat = r"token revoked scim_%s_" % t.token_id
        self.poll(lambda: re.search(pat, self.d.log_text()),
                  "log line %r" % pat)

    def test_rotation_without_a_failed_request(self):
        t = self.new_tenant("trot")
        current = [t.token]
        with Hammer(self.d, lambda: current[0]) as h:
            self.poll(lambda: h.count() >= 40, "40 requests with T1",
                      timeout=20)
            t2 = self.create_token(t.name, "t2")
            switched = time.monotonic()
            current[0] = t2["token"]

            def t2_in_use():
                s = self.assertAdminOk(self.admin.token_show(t.name,
                                                             t2["id"]))
                # every thread has finished a request that began after
                # the switch (so none still holds T1)
                threads = set(r[0] for r in h.snapshot()
                              if r[1] > switched)
                return s["last_used"] and len(threads) == h.n
            self.poll(t2_in_use, "T2 in use by every thread", timeout=10)
            self.assertAdminOk(self.admin.token_revoke(t.name, t.token_id))
            revoked_at = time.monotonic()
            self.poll(lambda: h.count(lambda r: r[1] > revoked_at) >= 40,
                      "40 requests after revoking T1", timeout=20)
        recs = h.snapshot()
        failed = [r[:4] for r in recs if r[3] != 200]  # (no token)
        self.assertEqual(failed, [], "failed requests during the rotation")
        self.assertTrue(any(r[4] == t.token for r in recs))
        self.assertTrue(any(r[4] == t2["token"] and r[1] > revoked_at
                            for r in recs))
        self.assertScimError(t.client.get("/Users"), 401)


class RateLimitAuditTest(scimtest.AdminDaemonTestCase):

    def test_per_tenant_rate_limit(self):
        a = self.new_tenant("trl")
        b = self.new_tenant("trl")
        p = self.assertAdminOk(self.admin.tenant_patch(
            a.name, rate_limit={"requests_per_second": 2, "burst": 3}))
        self.assertEqual(p["rate_limit"],
                         {"requests_per_second": 2, "burst": 3})
        # The burst, then 429 (at 2/s, 7 more requests would need 3 s to
        # all pass).
        resps = [a.client.get("/Users") for _ in range(10)]
        statuses = [x.status for x in resps]
        self.assertEqual(statuses[:3], [200, 200, 200], statuses)
        self.assertIn(429, statuses)
        self.assertEqual(set(statuses), {200, 429}, statuses)
        r = resps[statuses.index(429)]
        body = self.assertScimError(r, 429)
        self.assertIn(URN_ERROR, body["schemas"])
        self.assertEqual(body["status"], "429")
        retry = r.header("Retry-After")
        self.assertIsNotNone(retry, repr(r))
        self.assertRegex(retry, r"^\d+$")
        self.assertGreaterEqual(int(retry), 1)
        # Meanwhile the other tenant (and the config's token) are not
        # limited, while A still is.
        others = []
        a_after = []
        for _ in range(10):
            others.append(b.client.get("/Users").status)
            others.append(self.c.get("/Users").status)
            a_after.append(a.client.get("/Users").status)
        self.assertEqual(others, [200] * 20)
        self.assertIn(429, a_after)
        # The bucket refills at 2/s.
        self.poll(lambda: a.client.get("/Users").status == 200,
                  "A accepted again", timeout=5)
        # requests_per_second 0 turns the limit off.
        self.assertAdminOk(self.admin.tenant_patch(
            a.name, rate_limit={"requests_per_second": 0}))
        self.assertEqual([a.client.get("/Users").status
                          for _ in range(10)], [200] * 10)

    # -- audit

    def scim_ops(self, t):
        """Some SCIM operations with t's token; returns the user id and
        the (method, path, status) of each, oldest first."""
        c = t.client
        ops = []
        r = c.post("/Users", user_body(uniq("aud")))
        self.assertStatus(r, 201)
        uid = r.json["id"]
        ops.append(("POST", "/scim/v2/Users", 201))
        self.assertStatus(c.get("/Users/" + uid), 200)
        ops.append(("GET", "/scim/v2/Users/" + uid, 200))
        self.assertStatus(c.patch("/Users/" + uid, patch_body(
            {"op": "replace", "path": "active", "value": False})), 200)
        ops.append(("PATCH", "/scim/v2/Users/" + uid, 200))
        self.assertStatus(c.get("/Users", params={"count": 5}), 200)
        ops.append(("GET", "/scim/v2/Users", 200))
        r = c.post("/Groups", group_body(uniq("gaud"), members=[uid]))
        self.assertStatus(r, 201)
        ops.append(("POST", "/scim/v2/Groups", 201))
        missing = "0" * 8 + "-0000-0000-0000-" + "0" * 12
        self.assertStatus(c.get("/Users/" + missing), 404)
        ops.append(("GET", "/scim/v2/Users/" + missing, 404))
        return uid, r.json["id"], ops

    def entries(self, resp):
        body = self.assertAdminOk(resp)
        self.assertIsInstance(body.get("entries"), list, body)
        return body["entries"]

    def audit_until(self, pred, what, **params):
        """The entries of GET /audit?params once pred(entries) holds. (A
        request's audit record is queued when the request is finished,
        which may be just after its client has the answer.)"""
        def query():
            e = self.entries(self.admin.audit(**params))
            return e if pred(e) else None
        return self.poll(query, what)

    def test_audit_queries(self):
        t = self.new_tenant("taud")
        other = self.new_tenant("taud")
        self.assertStatus(other.client.post("/Users", user_body()), 201)
        uid, gid, ops = self.scim_ops(t)

        all_t = self.audit_until(
            lambda es: len([e for e in es if e["kind"] == "scim"])
            >= len(ops), "the %d SCIM operations audited" % len(ops),
            tenant=t.name)
        seqs = [e["seq"] for e in all_t]
        self.assertEqual(seqs, sorted(seqs, reverse=True), "newest first")
        self.assertEqual(len(set(seqs)), len(seqs))
        times = [e["time"] for e in all_t]
        self.assertEqual(times, sorted(times, reverse=True))
        for e in all_t:
            self.assertEqual(e["tenant"], t.name, e)
            self.assertRegex(e["time"], TIME_RE)
            self.assertIn(e["kind"], ("scim", "admin"), e)
            self.assertIsInstance(e["duration_ms"], (int, float), e)
        scim = [e for e in all_t if e["kind"] == "scim"]
        self.assertEqual([(e["method"], e["path"], e["status"])
                          for e in reversed(scim)], ops)
        for e in scim:
            self.assertEqual(e["token_name"], t.token_json["name"], e)
            self.assertEqual(e["token_prefix"], t.token_id, e)
            self.assertTrue(e["client"].startswith(
                (self.source or "127.0.0.1") + ":"), e)
        post = scim[-1]
        self.assertEqual((post["method"], post["resource_type"],
                          post["resource_id"]), ("POST", "User", uid))
        self.assertEqual((scim[1]["resource_type"], scim[1]["resource_id"]),
                         ("Group", gid))

        # resource_id: that resource's entries only
        by_res = self.entries(self.admin.audit(resource_id=uid))
        self.assertEqual([(e["method"], e["status"]) for e in by_res],
                         [("PATCH", 200), ("GET", 200), ("POST", 201)])
        for e in by_res:
            self.assertEqual(e["resource_id"], uid)

        # kind
        scim_only = self.entries(self.admin.audit(tenant=t.name,
                                                  kind="scim"))
        self.assertEqual(scim_only, scim)
        admin_only = self.entries(self.admin.audit(tenant=t.name,
                                                   kind="admin"))
        self.assertEqual(admin_only, [e for e in all_t
                                      if e["kind"] == "admin"])
        made = [(e["method"], e["path"], e["status"], e["resource_type"],
                 e["resource_id"], e["token_name"])
                for e in reversed(admin_only)]
        self.assertEqual(made[:2], [
            ("POST", "/api/v1/tenants", 201, "Tenant", t.name, "admin"),
            ("POST", "/api/v1/tenants/%s/scim/tokens" % t.name, 201,
             "Token", t.token_id, "admin")])
        # Audit queries are not audited themselves.
        self.assertFalse([e for e in all_t if "/audit" in e["path"]])

        # since (inclusive) / until (exclusive) on the entries' times
        mid = times[len(times) // 2]
        last = times[1]
        for params, want in (
                ({"since": mid}, [e for e in all_t if e["time"] >= mid]),
                ({"until": mid}, [e for e in all_t if e["time"] < mid]),
                ({"since": mid, "until": last},
                 [e for e in all_t if mid <= e["time"] < last])):
            got = self.entries(self.admin.audit(tenant=t.name, **params))
            self.assertEqual([e["seq"] for e in got],
                             [e["seq"] for e in want], params)
        self.assertEqual(self.entries(self.admin.audit(
            tenant=t.name, until=times[-1])), [])
        self.assertAdminError(self.admin.audit(since="yesterday"), 400)

        # before=<seq> pages
        pages, before = [], None
        while True:
            params = {"tenant": t.name, "limit": 3}
            if before is not None:
                params["before"] = before
            page = self.entries(self.admin.audit(**params))
            self.assertLessEqual(len(page), 3)
            if not page:
                break
            pages.extend(page)
            before = page[-1]["seq"]
            self.assertLess(len(pages), 200, "paging does not end")
        self.assertEqual([e["seq"] for e in pages], seqs)
        for bad in (0, 1001, -1):
            self.assertAdminError(self.admin.audit(limit=bad), 400)

        # /tenants/T/audit is ?tenant=T
        self.assertEqual(self.entries(self.admin.tenant_audit(t.name)),
                         all_t)
        self.assertEqual(self.entries(self.admin.tenant_audit(
            t.name, kind="scim", limit=2)), scim[:2])
        self.assertAdminError(self.admin.tenant_audit(
            "ghost-" + uniq("g")[2:14]), 404)

    def test_audit_bodies(self):
        t = self.new_tenant("tbody")
        p = self.assertAdminOk(self.admin.tenant_patch(
            t.name, audit_bodies={"enabled": True, "retention_days": 1}))
        self.assertEqual(p["audit_bodies"],
                         {"enabled": True, "retention_days": 1})
        password = "Pw-" + uniq("secret")
        self.remember_secret(password)
        body = user_body(uniq("bod"))
        body["password"] = password
        r = t.client.post("/Users", body)
        self.assertStatus(r, 201)
        uid = r.json["id"]
        self.assertNotIn(password, r.text)
        new_pw = "Pw2-" + uniq("secret")
        self.remember_secret(new_pw)
        self.assertStatus(t.client.patch("/Users/" + uid, patch_body(
            {"op": "replace", "path": "password", "value": new_pw})), 200)

        with_bodies = self.audit_until(lambda es: len(es) >= 2,
                                       "POST and PATCH audited",
                                       resource_id=uid, bodies=1)
        self.assertEqual([e["method"] for e in with_bodies],
                         ["PATCH", "POST"])
        for e in with_bodies:
            self.assertIsInstance(e.get("request_body"), str, e)
            self.assertIsInstance(e.get("response_body"), str, e)
            for k in ("request_body", "response_body"):
                self.assertNotIn(password, e[k])
                self.assertNotIn(new_pw, e[k])
            self.assertIn("[redacted]", e["request_body"], e)
        posted = json.loads(with_bodies[1]["request_body"])
        self.assertEqual(posted["userName"], body["userName"])
        self.assertEqual(posted["password"], "[redacted]")
        self.assertIn(uid, with_bodies[1]["response_body"])

        plain = self.entries(self.admin.audit(resource_id=uid))
        self.assertEqual([e["seq"] for e in plain],
                         [e["seq"] for e in with_bodies])
        for e in plain:
            self.assertNotIn("request_body", e)
            self.assertNotIn("response_body", e)
        # Bodies go to the database only, never to the JSON-lines file.
        def audit_file():
            with open(self.d.audit_path) as f:
                text = f.read()
            return text if uid in text else None
        text = self.poll(audit_file, "the POST in audit.log")
        self.assertNotIn("request_body", text)
        self.assertNotIn(password, text)

        # Another tenant without bodies: none captured.
        o = self.new_tenant("tbody")
        r = o.client.post("/Users", user_body(uniq("nobod")))
        self.assertStatus(r, 201)
        got = self.audit_until(lambda es: len(es) >= 1, "POST audited",
                               resource_id=r.json["id"], bodies=1)
        self.assertEqual(len(got), 1, got)
        self.assertNotIn("request_body", got[0])

    def test_no_secret_in_any_file(self):
        t = self.new_tenant("tsec")
        # a revoked token, used; a good prefix with a wrong secret; a bad
        # admin token; a password
        dead = self.create_token(t.name, "dead")
        self.assertAdminOk(self.admin.token_revoke(t.name, dead["id"]))
        self.assertScimError(self.client(dead["token"])
                             .get("/Users"), 401)
        wrong = os.urandom(32).hex()
        self.remember_secret(wrong)
        self.assertScimError(self.client("scim_%s_%s" % (
            t.token_id, wrong)).get("/Users"), 401)
        bad_admin = scimtest.make_admin_token()
        self.remember_secret(bad_admin)
        self.assertAdminError(self.admin.get("/tenants", token=bad_admin),
                              401)
        password = "Pw-" + uniq("secret")
        self.remember_secret(password)
        body = user_body(uniq("sec"))
        body["password"] = password
        r = t.client.post("/Users", body)
        self.assertStatus(r, 201)
        uid = r.json["id"]
        self.audit_until(lambda es: len(es) >= 1, "POST audited",
                         resource_id=uid)

        def in_file():
            with open(self.d.audit_path) as f:
                return uid in f.read()
        self.poll(in_file, "the POST in audit.log")
        with open(self.d.audit_path) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        self.assertTrue(any(l.get("token_prefix") == dead["id"] and
                            l.get("status") == 401 for l in lines))
        files = self.d.files_to_scan()
        names = [f.rsplit("/", 1)[1] for f in files]
        for want in ("scimsyncd.log", "audit.log", "audit.db"):
            self.assertIn(want, names)
        secrets = list(type(self).secrets)
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for s in secrets:
                self.assertNotIn(s.encode(), data, "secret %s... in %s"
                                 % (s[:10], path))


if __name__ == "__main__":
    unittest.main()
