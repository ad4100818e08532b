"""Okta's and Entra ID's request sequences (tests/http/idp_replay.py)
replayed through a daemon with the webhook sink: the receiver ends with
exactly the events the replay expects, every delivery signed, and the
mapped attributes (mappings/webhook.yaml) matching the IdP's last word on
each user and group."""

import hashlib
import os
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_webhook_sink import WebhookTestCase  # noqa: E402

import idp_replay  # noqa: E402  (tests/http, on the path through test_webhook_sink)


def event_tuple(e):
    """An event as idp_replay's st.events lists them."""
    if e["type"].startswith("role."):
        return (e["type"], e["user_id"], e["role"])
    return (e["type"], e["resource_id"])


def one(v):
    """A mapped attribute's value as a plain string (None: not rendered)."""
    return v[0] if v else None


class IdpReplayTest(WebhookTestCase):
    """One sink, mapping webhook, roles from mappings/roles.yaml."""

    @classmethod
    def setUpClass(cls):
        super(IdpReplayTest, cls).setUpClass()

    @classmethod
    def sinks(cls, url, workdir):
        return {"hook": ({"url": url + "/hook",
                          "secret_file": cls.secret_file},
                         ["retry: {initial_ms: 50, max_ms: 400}"])}

    def setUp(self):
        self.wait_drained()
        self.recv.reset()

    def replay(self, fn):
        tag = uuid.uuid4().hex[:8]
        st = fn(self.c, tag)
        self.wait_drained(timeout=60)
        ds = self.recv.deliveries()
        # Every delivery signed, fresh, and answered 200.
        bad = [d for d in ds if not d["ok"]]
        self.assertEqual(bad, [])
        self.assertEqual({d["status"] for d in ds}, {200})
        for d in ds:
            self.assertSigned(d)
            self.assertEqual(d["headers"]["idempotency-key"],
                             d["body"]["id"])
        events = self.delivered_events()
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(events), len(set(e["id"] for e in events)))
        got = [event_tuple(e) for e in events]
        want = [tuple(x) for x in st.events]
        if got != want:
            self.fail(self.explain(got, want))
        self.check_users(st, events)
        self.check_groups(st, events)
        self.check_roles(st, events)
        self.assertEqual(self.sink("hook")["dead_letters"], 0)
        return st, events

    def explain(self, got, want):
        """Where the delivered events and st.events part ways."""
        i = 0
        while i < min(len(got), len(want)) and got[i] == want[i]:
            i += 1
        return ("delivered events differ from st.events at index %d "
                "(%d delivered, %d expected)\n  delivered[%d:]: %r\n"
                "  expected[%d:]:  %r\n  only delivered: %r\n"
                "  only expected: %r" % (
                    i, len(got), len(want), i, got[i:i + 8], i,
                    want[i:i + 8],
                    [x for x in got if x not in want],
                    [x for x in want if x not in got]))

    def last_about(self, events, rid, kinds):
        about = [e for e in events if e["resource_id"] == rid and
                 e["type"].split(".")[0] in kinds]
        self.assertTrue(about, "no event about %s" % rid)
        return about[-1]

    def check_users(self, st, events):
        for uid, u in st.users.items():
            e = self.last_about(events, uid, ("user", "role"))
            a = e["attributes"]
            if u.get("deleted"):
                self.assertEqual(e["type"], "user.deleted")
            want = {
                "id": uid, "userName": u["userName"],
                "externalId": u.get("externalId") or None,
                "givenName": u.get("givenName") or None,
                "familyName": u.get("familyName") or None,
                "displayName": u.get("displayName") or None,
                "email": u.get("email") or None,
                "active": "true" if u.get("active", True) else "false",
                "department": u.get("department") or None,
                "subjectHash": hashlib.sha256(
                    u["userName"].lower().encode()).hexdigest()}
            have = {
                "id": one(a.get("id")), "userName": one(a.get("userName")),
                "externalId": one(a.get("externalId")),
                "givenName": one(a.get("givenName")),
                "familyName": one(a.get("familyName")),
                "displayName": one(a.get("displayName")),
                "email": one(a.get("emails")),
                "active": one(a.get("active")),
                "department": one(a.get("department")),
                "subjectHash": one(a.get("subjectHash"))}
            self.assertEqual(have, want, "user %s, last event %s"
                             % (uid, e["type"]))
            self.assertEqual(e["resource"]["id"], uid)

    def check_groups(self, st, events):
        for gid, g in st.groups.items():
            e = self.last_about(events, gid, ("group",))
            a = e["attributes"]
            if g.get("deleted"):
                self.assertEqual(e["type"], "group.deleted")
            self.assertEqual(
                (one(a.get("id")), one(a.get("displayName")),
                 one(a.get("externalId"))),
                (gid, g["displayName"], g.get("externalId") or None),
                "group %s, last event %s" % (gid, e["type"]))
            # Members as the events tell them: added minus removed.
            members = set()
            for x in events:
                if x["resource_id"] != gid:
                    continue
                if x["type"] == "group.members_added":
                    members |= set(x["members"])
                elif x["type"] == "group.members_removed":
                    members -= set(x["members"])
            if not g.get("deleted"):
                self.assertEqual(members, set(g["members"]),
                                 "members of %s" % gid)

    def check_roles(self, st, events):
        roles = {}
        for e in events:
            if e["type"] == "role.granted":
                roles.setdefault(e["user_id"], set()).add(e["role"])
            elif e["type"] == "role.revoked":
                roles.setdefault(e["user_id"], set()).discard(e["role"])
        self.assertEqual({u: r for u, r in roles.items() if r},
                         {u: set(r) for u, r in st.roles.items() if r})

    def assertLifecycle(self, events, *types):
        have = {e["type"] for e in events}
        for t in types:
            self.assertIn(t, have)

    def test_okta(self):
        st, events = self.replay(idp_replay.replay_okta)
        self.assertLifecycle(events, "user.created", "user.deactivated",
                             "role.granted", "role.revoked")
        self.types_seen.update(e["type"] for e in events)

    def test_entra(self):
        st, events = self.replay(idp_replay.replay_entra)
        self.assertLifecycle(events, "user.created", "user.deactivated",
                             "role.granted", "role.revoked")
        self.types_seen.update(e["type"] for e in events)

    def test_zz_both_cover_the_lifecycle(self):
        # Runs last (alphabetical order): between them, the two IdPs
        # deactivate, reactivate and delete users, and grant and revoke
        # roles.
        if not {"user.created"} <= self.types_seen:
            self.skipTest("test_okta or test_entra did not run")
        for t in ("user.deactivated", "user.reactivated", "user.deleted",
                  "role.granted", "role.revoked"):
            self.assertIn(t, self.types_seen)


IdpReplayTest.types_seen = set()
