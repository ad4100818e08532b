"""Lifecycle events through the durable outbox to a real sink plugin (the
in-house example, contrib/sink-example, which appends each event as a JSON
line): what each SCIM operation means, role results, a sink outage, and
kill -9 in the middle of provisioning. Each class has its own daemon."""

import json
import os
import random
import subprocess
import sys
import threading
import time
import unittest

import scimtest
from scimtest import (AdminDaemon, Client, builddir, patch_body, uniq,
                      user_body, URN_GROUP)

ROOT = scimtest.ROOT


def example_sink():
    """The example sink built in the tree (tests/plugins)."""
    for p in ("tests/plugins/.libs/sink_example.so",
              "tests/plugins/sink_example.so"):
        path = os.path.join(builddir(), p)
        if os.path.exists(path):
            return path
    raise unittest.SkipTest("sink_example.so not built")


def sink_config(workdir, extra_sink="", mapping="ldap"):
    return """\
mappings:
  ldap: %(root)s/mappings/ldap-inetorgperson.yaml
  roles: %(root)s/mappings/roles.yaml
sinks:
  events:
    plugin: %(so)s
    mapping: %(mapping)s
    retry: {initial_ms: 50, max_ms: 400}
    options:
      path: %(wd)s/events.jsonl
%(extra)s""" % {"root": ROOT, "so": example_sink(), "wd": workdir,
                "mapping": mapping, "extra": extra_sink}


def group_body(name, members=()):
    return {"schemas": [URN_GROUP], "displayName": name,
            "members": [{"value": m} for m in members]}


class SinkDaemonTest(unittest.TestCase):
    """One daemon per class with the example sink; a tenant per test."""
    sink_extra = ""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.wd = tempfile.mkdtemp(prefix="scimsync-outbox-")
        cls.events_path = os.path.join(cls.wd, "events.jsonl")
        cls.pause_path = os.path.join(cls.wd, "pause")
        cls.d = AdminDaemon(workdir=cls.wd, extra_config=sink_config(
            cls.wd, cls.sink_extra % {"wd": cls.wd}))
        cls.d.start()
        cls.admin = cls.d.admin_client()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop(scimtest.STOP_TIMEOUT)
        if rc != 0:
            sys.stderr.write("\n%s\n" % cls.d.log_tail())
        cls.d.cleanup(keep=rc != 0)
        if rc == 0:
            import shutil
            shutil.rmtree(cls.wd, ignore_errors=True)
        assert rc == 0, "exit status after SIGTERM: %s" % rc

    def new_tenant(self):
        name = uniq("t")[:30]
        r = self.admin.tenant_create(name)
        self.assertEqual(r.status, 201, r)
        r = self.admin.token_create(name, "tok")
        self.assertEqual(r.status, 201, r)
        return name, Client(self.d, token=r.json["token"])

    def events(self, tenant=None):
        out = []
        if not os.path.exists(self.events_path):
            return out
        with open(self.events_path) as f:
            for line in f:
                e = json.loads(line)
                if tenant is None or e["tenant"] == tenant:
                    out.append(e)
        return out

    def wait_events(self, tenant, pred, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events(tenant)
            if pred(evs):
                return evs
            if time.monotonic() > deadline:
                self.fail("%s: not seen within %.0f s; events: %s" % (
                    what, timeout, [(e["type"], e["resource_id"][:8],
                                     e.get("role")) for e in evs]))
            time.sleep(0.02)

    def sink_status(self):
        r = self.admin.get("/sinks")
        self.assertEqual(r.status, 200, r)
        return r.json["sinks"][0]

    def wait_drained(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            s = self.sink_status()
            if s["lag"] == 0:
                return s
            self.assertLess(time.monotonic(), deadline,
                            "sink never drained: %s" % s)
            time.sleep(0.05)


def types(evs, rid=None):
    return [e["type"] for e in evs if rid is None or e["resource_id"] == rid]


class EventMeaningTest(SinkDaemonTest):

    def test_user_lifecycle(self):
        t, c = self.new_tenant()
        r = c.post("/Users", user_body(uniq("u")))
        self.assertEqual(r.status, 201, r)
        uid = r.json["id"]
        self.assertEqual(c.patch("/Users/" + uid, patch_body(
            {"op": "replace", "path": "name.givenName", "value": "Zed"},
            {"op": "replace", "path": "active", "value": False})).status,
            200)
        self.assertEqual(c.patch("/Users/" + uid, patch_body(
            {"op": "replace", "path": "active", "value": True})).status, 200)
        # A PUT that changes nothing is no event.
        cur = c.get("/Users/" + uid).json
        cur.pop("meta")
        cur.pop("groups", None)
        self.assertEqual(c.put("/Users/" + uid, cur).status, 200)
        self.assertEqual(c.delete("/Users/" + uid).status, 204)
        evs = self.wait_events(t, lambda e: "user.deleted" in types(e),
                               "user.deleted")
        self.assertEqual(types(evs, uid), [
            "user.created", "user.updated", "user.deactivated",
            "user.reactivated", "user.deleted"])
        upd = [e for e in evs if e["type"] == "user.updated"][0]
        self.assertEqual(upd["changed"], ["name.givenName"])
        # Versions grow, keys are unique, the mapping rendered attrs.
        vers = [e["version"] for e in evs if e["resource_id"] == uid]
        self.assertEqual(vers, [1, 2, 2, 3, 3])
        self.assertEqual(len({e["key"] for e in evs}), len(evs))
        created = evs[0]
        self.assertIn("uid", created["attrs"])
        self.assertIn("dn", created["attrs"])
        self.assertEqual(created["event"]["resource"]["id"], uid)

    def test_sink_health_in_status(self):
        deadline = time.monotonic() + 10
        while True:
            st = self.sink_status()
            if st.get("health"):
                break
            self.assertLess(time.monotonic(), deadline, st)
            time.sleep(0.05)
        self.assertTrue(st["health"].startswith("ok: appending to"), st)
        self.assertEqual(st["plugin"], "example")

    def test_group_membership_events(self):
        t, c = self.new_tenant()
        u1 = c.post("/Users", user_body(uniq("a"))).json["id"]
        u2 = c.post("/Users", user_body(uniq("b"))).json["id"]
        g = c.post("/Groups", group_body(uniq("Team"), [u1])).json["id"]
        self.assertEqual(c.patch("/Groups/" + g, patch_body(
            {"op": "add", "path": "members", "value": [{"value": u2}]},
            {"op": "add", "path": "members", "value": [{"value": u1}]}))
            .status in (200, 204), True)
        self.assertIn(c.patch("/Groups/" + g, patch_body(
            {"op": "remove", "path": 'members[value eq "%s"]' % u1}))
            .status, (200, 204))
        self.assertEqual(c.delete("/Users/" + u2).status, 204)
        self.assertEqual(c.delete("/Groups/" + g).status, 204)
        evs = self.wait_events(t, lambda e: "group.deleted" in types(e),
                               "group.deleted")
        ge = [(e["type"], e.get("members")) for e in evs
              if e["resource_id"] == g]
        self.assertEqual(ge, [
            ("group.created", [u1]),
            ("group.members_added", [u1]),
            ("group.members_added", [u2]),   # u1 was already a member
            ("group.members_removed", [u1]),
            ("group.members_removed", [u2]),  # u2 deleted
            ("group.deleted", []),
        ])


class RoleEventsTest(SinkDaemonTest):
    """mappings/roles.yaml: Acme-Admins and IT-Admins grant org:admin,
    Acme-Developers grants team:developers and org:developer, Auditors
    grants org:readonly."""

    def roles(self, evs, uid):
        return [(e["type"], e["role"]) for e in evs
                if e["type"].startswith("role.") and e["user_id"] == uid]

    def test_two_groups_one_role_until_the_last_goes(self):
        t, c = self.new_tenant()
        u = c.post("/Users", user_body(uniq("r"))).json["id"]
        g1 = c.post("/Groups", group_body("Acme-Admins")).json["id"]
        g2 = c.post("/Groups", group_body("IT-Admins")).json["id"]
        add = lambda g: c.patch("/Groups/" + g, patch_body(
            {"op": "add", "path": "members", "value": [{"value": u}]}))
        rem = lambda g: c.patch("/Groups/" + g, patch_body(
            {"op": "remove", "path": 'members[value eq "%s"]' % u}))
        add(g1)
        add(g2)
        rem(g1)
        evs = self.wait_events(t, lambda e: len(types(e)) >= 7, "adds")
        self.assertEqual(self.roles(evs, u), [("role.granted", "org:admin")])
        rem(g2)
        evs = self.wait_events(
            t, lambda e: ("role.revoked", "org:admin") in self.roles(e, u),
            "revoke after the last group")
        self.assertEqual(self.roles(evs, u), [("role.granted", "org:admin"),
                                              ("role.revoked", "org:admin")])

    def test_rename_moves_the_role(self):
        t, c = self.new_tenant()
        u = c.post("/Users", user_body(uniq("r"))).json["id"]
        g = c.post("/Groups", group_body("Acme-Developers", [u])).json["id"]
        self.assertIn(c.patch("/Groups/" + g, patch_body(
            {"op": "replace", "path": "displayName", "value": "Auditors"}))
            .status, (200, 204))
        evs = self.wait_events(
            t, lambda e: ("role.granted", "org:readonly") in self.roles(e, u),
            "rename")
        got = self.roles(evs, u)
        self.assertEqual(sorted(got[:2]), [("role.granted", "org:developer"),
                                           ("role.granted", "team:developers")])
        self.assertEqual(sorted(got[2:]), [("role.granted", "org:readonly"),
                                           ("role.revoked", "org:developer"),
                                           ("role.revoked", "team:developers")])

    def test_deleting_user_or_group_revokes(self):
        t, c = self.new_tenant()
        u1 = c.post("/Users", user_body(uniq("r"))).json["id"]
        u2 = c.post("/Users", user_body(uniq("s"))).json["id"]
        g = c.post("/Groups", group_body("Acme-Admins", [u1, u2])).json["id"]
        self.assertEqual(c.delete("/Users/" + u1).status, 204)
        self.assertEqual(c.delete("/Groups/" + g).status, 204)
        evs = self.wait_events(t, lambda e: "group.deleted" in types(e),
                               "deletes")
        self.assertEqual(self.roles(evs, u1), [("role.granted", "org:admin"),
                                               ("role.revoked", "org:admin")])
        self.assertEqual(self.roles(evs, u2), [("role.granted", "org:admin"),
                                               ("role.revoked", "org:admin")])
        # The user's revoke comes before its user.deleted.
        seq = [e["type"] for e in evs if e["resource_id"] == u1]
        self.assertLess(seq.index("role.revoked"), seq.index("user.deleted"))

    def test_entra_group_cycle_before_or_after_users(self):
        # Entra's group cycle first: the group exists, empty; users come,
        # then the membership PATCH.
        t, c = self.new_tenant()
        g = c.post("/Groups", group_body("Acme-Admins")).json["id"]
        u = c.post("/Users", user_body(uniq("e"))).json["id"]
        self.assertIn(c.patch("/Groups/" + g, patch_body(
            {"op": "Add", "path": "members", "value": [{"value": u}]}))
            .status, (200, 204))
        # Users first, then the group arrives with its members.
        u2 = c.post("/Users", user_body(uniq("f"))).json["id"]
        c.post("/Groups", group_body("IT-Admins", [u2]))
        evs = self.wait_events(
            t, lambda e: self.roles(e, u) and self.roles(e, u2), "grants")
        self.assertEqual(self.roles(evs, u), [("role.granted", "org:admin")])
        self.assertEqual(self.roles(evs, u2), [("role.granted", "org:admin")])


class OutageTest(SinkDaemonTest):
    """The sink answers retry while a pause file exists: thousands of
    changes queue, the admin API shows the lag, and on recovery all of
    them arrive, each resource's in commit order."""
    sink_extra = "      pause_file: %(wd)s/pause\n"

    def test_outage_then_recovery(self):
        t, c = self.new_tenant()
        open(self.pause_path, "w").close()
        ids = []
        n_users = 2000
        for start in range(0, n_users, 100):
            ops = [{"method": "POST", "path": "/Users",
                    "bulkId": "b%d" % i,
                    "data": user_body("out-%s-%d" % (t, start + i))}
                   for i in range(100)]
            r = c.post("/Bulk", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                            "BulkRequest"], "Operations": ops})
            self.assertEqual(r.status, 200, r)
            for op in r.json["Operations"]:
                self.assertEqual(op["status"], "201", op)
                ids.append(op["location"].rsplit("/", 1)[1])
        for uid in ids[:300]:
            for name in ("One", "Two"):
                self.assertEqual(c.patch("/Users/" + uid, patch_body(
                    {"op": "replace", "path": "name.givenName",
                     "value": name})).status, 200)
        s = self.sink_status()
        self.assertGreaterEqual(s["lag"], n_users + 500, s)
        deadline = time.monotonic() + 10
        while s["state"] != "retrying" or not s["last_error"]:
            self.assertLess(time.monotonic(), deadline, s)
            time.sleep(0.05)
            s = self.sink_status()
        self.assertIn("paused", s["last_error"])
        self.assertGreater(s["retries"], 0)
        self.assertEqual(types(self.events(t)), [])
        os.unlink(self.pause_path)
        self.wait_drained(timeout=60)
        evs = self.wait_events(t, lambda e: len(e) >= n_users + 600,
                               "all delivered", timeout=30)
        created = {e["resource_id"] for e in evs if e["type"] == "user.created"}
        self.assertEqual(created, set(ids))
        # Commit order: seq grows through the file, and each resource's
        # versions never go back.
        seqs = [e["seq"] for e in evs]
        self.assertEqual(seqs, sorted(seqs))
        last = {}
        for e in evs:
            self.assertGreaterEqual(e["version"], last.get(e["resource_id"], 0))
            last[e["resource_id"]] = e["version"]
        for uid in ids[:300]:
            self.assertEqual(types(evs, uid),
                             ["user.created", "user.updated", "user.updated"])


class DeadLetterTest(SinkDaemonTest):
    """A target that refuses some events for good: they become dead
    letters, delivery goes on, the admin API shows them, replay puts them
    back; and a whole tenant can be exported to a sink again."""
    sink_extra = "      reject_type: group.deleted\n"

    def test_dead_letters_and_replay(self):
        t, c = self.new_tenant()
        g = c.post("/Groups", group_body(uniq("Doomed"))).json["id"]
        self.assertEqual(c.delete("/Groups/" + g).status, 204)
        u = c.post("/Users", user_body(uniq("after"))).json["id"]
        # Delivery went on past the refused event.
        self.wait_events(t, lambda e: "user.created" in types(e, u),
                         "the event after the dead letter")
        s = self.wait_drained()
        self.assertEqual(s["dead_letters"], 1, s)
        self.assertEqual(s["failed"], 1, s)
        self.assertIn("rejected", s["last_error"])
        r = self.admin.get("/sinks/events")
        self.assertEqual(r.status, 200, r)
        dead = r.json["dead"]
        self.assertEqual(len(dead), 1, dead)
        self.assertEqual(dead[0]["event"]["type"], "group.deleted")
        self.assertEqual(dead[0]["event"]["resource_id"], g)
        self.assertIn("rejected", dead[0]["reason"])
        # Replay: it goes back to the outbox (for this sink), is refused
        # again, and is a dead letter once more, with a new position.
        r = self.admin.post("/sinks/events/replay", {"seq": dead[0]["seq"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["replayed"], 1)
        deadline = time.monotonic() + 10
        while True:
            s = self.sink_status()
            if s["failed"] == 2 and s["lag"] == 0:
                break
            self.assertLess(time.monotonic(), deadline, s)
            time.sleep(0.05)
        again = self.admin.get("/sinks/events").json["dead"]
        self.assertEqual(len(again), 1)
        self.assertEqual(again[0]["event"]["key"], dead[0]["event"]["key"])
        self.assertGreater(again[0]["seq"], dead[0]["seq"])
        self.assertEqual(self.admin.post("/sinks/nope/replay", {}).status,
                         404)

    def test_resync_exports_the_tenant(self):
        t, c = self.new_tenant()
        users = [c.post("/Users", user_body(uniq("rs"))).json["id"]
                 for _ in range(3)]
        g = c.post("/Groups", group_body("Acme-Admins", users[:2])).json["id"]
        self.wait_events(t, lambda e: len(types(e)) >= 7, "live events")
        r = self.admin.post("/sinks/events/resync", {"tenant": t})
        self.assertEqual(r.status, 200, r)
        # 3 users, the group, its members, a role for each member.
        self.assertEqual(r.json["events"], 7, r)
        evs = self.wait_events(
            t, lambda e: sum(1 for x in e if x["key"].startswith("resync-"))
            >= 7, "the export")
        exp = [e for e in evs if e["key"].startswith("resync-")]
        self.assertEqual(sorted(e["resource_id"] for e in exp
                                if e["type"] == "user.created"),
                         sorted(users))
        self.assertEqual([e["members"] for e in exp
                          if e["type"] == "group.members_added"],
                         [users[:2]])
        self.assertEqual(sorted((e["user_id"], e["role"]) for e in exp
                                if e["type"] == "role.granted"),
                         sorted((u, "org:admin") for u in users[:2]))
        self.assertEqual(self.admin.post("/sinks/events/resync",
                                         {"tenant": "NO"}).status, 400)


class PickySinkTest(SinkDaemonTest):
    """A sink that takes only some tenants: a re-sync of another one is
    refused, not queued and skipped."""
    sink_extra = """\
  picky:
    plugin: %(so)s
    tenants: [nobody-here]
    options:
      path: %(wd)s/picky.jsonl
"""

    @classmethod
    def setUpClass(cls):
        cls.sink_extra = cls.sink_extra.replace("%(so)s", example_sink())
        super(PickySinkTest, cls).setUpClass()

    def test_resync_of_a_tenant_the_sink_does_not_take(self):
        t, c = self.new_tenant()
        r = self.admin.post("/sinks/picky/resync", {"tenant": t})
        self.assertEqual(r.status, 400, r)
        self.assertIn("does not take tenant", r.body.decode(), r)
        self.assertEqual(self.admin.post("/sinks/events/resync",
                                         {"tenant": t}).status, 200)
        self.assertEqual(self.admin.post("/sinks/nope/resync",
                                         {"tenant": t}).status, 404)


class StaleReplayTest(SinkDaemonTest):
    """Replaying a dead letter must not take a target back in time: an
    update whose user has changed since, or anything about a user deleted
    since, stays a dead letter unless forced."""
    sink_extra = "      reject_type: user.updated\n"

    def dead(self, rid):
        return sorted((d for d in self.admin.get("/sinks/events").json[
            "dead"] if d["event"]["resource_id"] == rid),
            key=lambda d: d["event"]["version"])

    def ctl(self, *args):
        env = dict(os.environ,
                   SCIMSYNC_ADMIN_URL="http://127.0.0.1:%d" %
                   self.d.admin_port,
                   SCIMSYNC_ADMIN_TOKEN=self.d.admin_token)
        env.pop("SCIMSYNC_ADMIN_TOKEN_FILE", None)
        r = subprocess.run([os.path.join(builddir(), "engine",
                                         "scimsyncctl")] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def replay(self, body):
        r = self.admin.post("/sinks/events/replay", body)
        self.assertEqual(r.status, 200, r)
        return r.json["replayed"], r.json["stale"]

    def test_stale_dead_letters_stay(self):
        t, c = self.new_tenant()
        u = c.post("/Users", user_body(uniq("stale"))).json["id"]
        for title in ("One", "Two"):
            r = c.patch("/Users/" + u, patch_body(
                {"op": "replace", "path": "title", "value": title}))
            self.assertEqual(r.status, 200, r)
        self.wait_drained()
        v2, v3 = self.dead(u)
        self.assertEqual((v2["event"]["version"], v3["event"]["version"]),
                         (2, 3))
        # Version 2 is older than the user: kept. Version 3 is the user
        # as it is: put back (and refused again by this sink).
        self.assertEqual(self.replay({"seq": v2["seq"]}), (0, 1))
        self.assertEqual(self.replay({"seq": v3["seq"]}), (1, 0))
        self.wait_drained()
        v2b, v3b = self.dead(u)
        self.assertEqual(v2b["seq"], v2["seq"])
        self.assertGreater(v3b["seq"], v3["seq"])
        # The user is deleted: neither would be right any more. (Through
        # scimsyncctl this time.)
        self.assertEqual(c.delete("/Users/" + u).status, 204)
        self.wait_drained()
        out = self.ctl("sink", "replay", "events")
        self.assertIn("events: 0 dead letter(s) put back", out)
        self.assertIn("events: 2 stale dead letter(s) kept", out)
        self.assertEqual(len(self.dead(u)), 2)
        self.assertIn("user.updated", self.ctl("sink", "show", "events"))
        # Forced, they go.
        out = self.ctl("sink", "replay", "events", "--force")
        self.assertIn("events: 2 dead letter(s) put back", out)
        self.assertNotIn("stale", out)
        self.wait_drained()
        types_seen = [e["type"] for e in self.events(t)
                      if e["resource_id"] == u]
        self.assertEqual(types_seen, ["user.created", "user.deleted"])
        self.assertEqual(self.admin.post("/sinks/events/replay",
                                         {"force": "yes"}).status, 400)


class StartupErrorTest(unittest.TestCase):
    """A sink that cannot be loaded or opened stops the start with one
    line naming it."""

    def start_fails(self, sinks, want):
        import tempfile
        wd = tempfile.mkdtemp(prefix="scimsync-sinkerr-")
        d = AdminDaemon(workdir=wd, extra_config=sinks)
        try:
            with self.assertRaises(scimtest.DaemonError):
                d.start(timeout=10)
            self.assertIn(want, d.log_text())
        finally:
            d.cleanup()
            import shutil
            shutil.rmtree(wd, ignore_errors=True)

    def test_missing_plugin(self):
        self.start_fails("sinks:\n  events:\n    plugin: /nonexistent/x.so\n",
                         "sink 'events': plugin")

    def test_open_fails(self):
        self.start_fails("sinks:\n  events:\n    plugin: %s\n"
                         "    options: {colour: red}\n" % example_sink(),
                         "unknown option 'colour'")

    def test_unknown_mapping(self):
        self.start_fails("sinks:\n  events:\n    plugin: %s\n"
                         "    mapping: nope\n"
                         "    options: {path: /tmp/x}\n" % example_sink(),
                         "no mapping named 'nope'")


class CrashTest(unittest.TestCase):
    """Provision continuously from 4 threads, kill -9 the daemon at random
    moments 5 times, restart it on the same store: every acknowledged
    write is in the store and its event reaches the sink (duplicates
    allowed and counted, losses zero)."""

    ROUNDS = 5

    def test_kill_9_loses_nothing(self):
        import tempfile
        wd = tempfile.mkdtemp(prefix="scimsync-crash-")
        d = AdminDaemon(workdir=wd, extra_config=sink_config(wd))
        d.start()
        admin = d.admin_client()
        t = uniq("crash")[:30]
        self.assertEqual(admin.tenant_create(t).status, 201)
        token = admin.token_create(t, "load").json["token"]
        acked = []  # (type, id, version)
        lock = threading.Lock()
        stop = threading.Event()
        rnd = random.Random(7)

        def load(n):
            c = Client(d, token=token)
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = c.post("/Users", user_body("c%d-%d-%s" % (
                        n, i, uniq("x"))), timeout=5)
                    if r.status != 201:
                        continue
                    uid = r.json["id"]
                    with lock:
                        acked.append(("user.created", uid, 1))
                    r = c.patch("/Users/" + uid, patch_body(
                        {"op": "replace", "path": "name.givenName",
                         "value": "G%d" % i}), timeout=5)
                    if r.status == 200:
                        with lock:
                            acked.append(("user.updated", uid, 2))
                except OSError:
                    time.sleep(0.01)  # the daemon is down: try again

        threads = [threading.Thread(target=load, args=(n,))
                   for n in range(4)]
        for th in threads:
            th.start()
        try:
            for _ in range(self.ROUNDS):
                time.sleep(rnd.uniform(0.3, 1.2))
                d.kill()  # SIGKILL, no goodbye
                d.start()
            time.sleep(0.5)
        finally:
            stop.set()
            for th in threads:
                th.join()
        self.assertGreater(len(acked), 100, "too little load to mean much")
        # Every acknowledged write is in the store.
        c = Client(d, token=token)
        for typ, uid, ver in acked:
            if typ == "user.created":
                r = c.get("/Users/" + uid)
                self.assertEqual(r.status, 200, (uid, r))
        # And every one of their events reached the sink.
        admin = d.admin_client()
        deadline = time.monotonic() + 60
        path = os.path.join(wd, "events.jsonl")
        while True:
            seen = {}
            keys = {}
            with open(path) as f:
                for line in f:
                    e = json.loads(line)
                    keys[e["key"]] = keys.get(e["key"], 0) + 1
                    seen[(e["type"], e["resource_id"], e["version"])] = True
            missing = [a for a in acked if a not in seen]
            if not missing:
                break
            self.assertLess(time.monotonic(), deadline,
                            "%d acknowledged writes never reached the sink, "
                            "e.g. %s; sink: %s" % (
                                len(missing), missing[:3],
                                admin.get("/sinks").text))
            time.sleep(0.1)
        dups = sum(n - 1 for n in keys.values() if n > 1)
        sys.stderr.write("\ncrash test: %d acknowledged writes, %d events "
                         "delivered, %d duplicates, 0 lost\n"
                         % (len(acked), len(keys), dups))
        rc = d.stop(scimtest.STOP_TIMEOUT)
        d.cleanup(keep=rc != 0)
        if rc == 0:
            import shutil
            shutil.rmtree(wd, ignore_errors=True)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
