"""The Okta and the Entra provisioning sequences (tests/http/idp_replay.py)
replayed through scimsyncd into PostgreSQL: the tables end as exactly the
rows the sequences mean, whole tables compared.

Each IdP has a tenant of its own and a sink of its own (`okta`, `entra`,
each restricted to its tenant) into a database of its own, rows
deleted and the optional columns managed; a third sink, `marked`, takes
both tenants into one database with delete: mark. See test_postgres_sink.py
for the harness and the environment.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_postgres_sink as pgs  # noqa: E402

sys.path.insert(0, os.path.join(pgs.SRC, "tests", "http"))
import idp_replay  # noqa: E402

OKTA, ENTRA = "okta-replay", "entra-replay"
MANAGED = "external_id, email, given_name, family_name, display_name, " \
    "department"


class ReplayTest(pgs.PgTestCase):
    databases = ("okta", "entra", "marked")

    @classmethod
    def setUpClass(cls):
        super(ReplayTest, cls).setUpClass()

    @classmethod
    def sink_options(cls):
        # The optional columns are managed: an attribute removed in the
        # IdP (Entra clears erin's department) clears its column.
        managed = {"managed_columns": MANAGED}
        return {
            "okta": {"db": cls.db("okta"), "tenants": [OKTA],
                     "options": managed},
            "entra": {"db": cls.db("entra"), "tenants": [ENTRA],
                      "options": managed},
            "marked": {"db": cls.db("marked"), "tenants": [OKTA, ENTRA],
                       "options": dict(managed, delete="mark")},
        }

    def tenant(self, name):
        r = self.admin.tenant_create(name)
        self.assertEqual(r.status, 201, r)
        r = self.admin.token_create(name, "replay")
        self.assertEqual(r.status, 201, r)
        return pgs.Client(self.d, token=r.json["token"])

    def expected(self, st, c):
        """(users, groups, roles) the tables must hold, from st; the
        users' versions from the SCIM API."""
        users = {}
        for uid, u in st.users.items():
            if u["deleted"]:
                continue
            users[uid] = {
                "scim_id": uid, "external_id": u["externalId"],
                "user_name": u["userName"],
                "email": u["email"].lower() if u["email"] else None,
                "given_name": u["givenName"],
                "family_name": u["familyName"],
                "display_name": u["displayName"], "active": u["active"],
                "department": u["department"],
                "scim_version": pgs.version_of(
                    self.get_json("/Users/" + uid, c))}
        groups = {gid: {"scim_id": gid, "name": g["displayName"]}
                  for gid, g in st.groups.items() if not g["deleted"]}
        roles = sorted((uid, r) for uid, rs in st.roles.items() for r in rs)
        return users, groups, roles

    def tables(self, db, where="true"):
        users = pgs.strip(self.pg.table(db, "scim_users", where=where),
                          pgs.USER_COLS + ["scim_version"])
        groups = self.pg.table(db, "scim_groups", cols="scim_id, name")
        roles = [(r["scim_id"], r["role"]) for r in self.pg.rows(
            db, "SELECT scim_id, role FROM scim_user_roles ORDER BY 1, 2")]
        return users, groups, roles

    def check(self, tenant, replay, sink):
        c = self.tenant(tenant)
        st = replay(c, "pg1")
        want = self.expected(st, c)
        self.assertTrue(want[0] and want[1] and want[2], want)
        db = self.db(sink)
        self.assertEventually(lambda: self.tables(db), want,
                              "%s's tables" % sink)
        self.wait_drained()
        self.assertEqual(self.tables(db), want)
        s = self.sink(sink)
        self.assertEqual(s["dead_letters"], 0, s)
        # Every event of the sequence reached the sink, once.
        self.assertEqual(s["delivered"], len(st.events), s)
        return st, want

    def check_marked(self, st, want):
        """In `marked`: the same live rows; the deleted users' rows kept,
        marked, with their last version."""
        db = self.db("marked")
        ids = "'" + "','".join(st.users) + "'"
        live = self.tables(db, "scim_id IN (%s) AND deleted_at IS NULL"
                           % ids)[0]
        self.assertEqual(live, want[0])
        gone = sorted(u for u, x in st.users.items() if x["deleted"])
        got = self.pg.rows(db, "SELECT scim_id FROM scim_users WHERE "
                           "scim_id IN (%s) AND deleted_at IS NOT NULL "
                           "ORDER BY 1" % ids)
        self.assertEqual([r["scim_id"] for r in got], gone)
        self.assertEqual(self.dead_for("marked", *st.users), [])

    def test_okta(self):
        st, want = self.check(OKTA, idp_replay.replay_okta, "okta")
        # Okta deactivates (carol), never deletes; bob is back.
        self.assertEqual(sorted(u["active"] for u in want[0].values()),
                         [False, True, True])
        self.check_marked(st, want)

    def test_entra(self):
        st, want = self.check(ENTRA, idp_replay.replay_entra, "entra")
        self.assertEqual(len(want[0]), 2)  # frank deleted
        self.check_marked(st, want)


if __name__ == "__main__":
    unittest.main()
