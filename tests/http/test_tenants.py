"""Multi-tenancy: two tenants made through the admin API, each with its own
token, share nothing. Whatever one tenant's token names of the other's
(by id, filter, .search, PUT/PATCH/DELETE, Bulk, group members) is "not
found": a 404 SCIM error, never 403, never data. Deleting a tenant takes
its tokens and data with it at once.

One private daemon (scimtest.AdminDaemon) per test class; every test
makes its own tenants."""

import json
import unittest

import scimtest
from scimtest import (URN_BULK_REQ, URN_BULK_RESP, URN_SEARCH, group_body,
                      patch_body, scim_filter_string, uniq, user_body)


def bulk(ops):
    return {"schemas": [URN_BULK_REQ], "Operations": ops}


class TenantIsolationTest(scimtest.AdminDaemonTestCase):

    def setUp(self):
        super(TenantIsolationTest, self).setUp()
        self.a = self.new_tenant("ta")
        self.b = self.new_tenant("tb")

    # -- helpers

    def post_ok(self, client, path, body):
        r = client.post(path, body)
        self.assertStatus(r, 201)
        return r.json

    def get_ok(self, client, path):
        r = client.get(path)
        self.assertStatus(r, 200)
        return r.json

    def assertNotFound(self, resp, *leaks):
        """A 404 SCIM error that mentions none of leaks."""
        self.assertScimError(resp, 404)
        for s in leaks:
            self.assertNotIn(s, resp.text, "leak in %r" % resp)

    def list_body(self, client, endpoint, **params):
        r = client.get(endpoint, params=params or None)
        return self.assertListResponse(r)

    def user_fingerprint(self, u):
        return (u["userName"], u.get("externalId"), u.get("name"),
                u.get("active"), u.get("displayName"), u["meta"]["version"],
                u["meta"]["lastModified"], u.get("groups"))

    def group_fingerprint(self, g):
        return (g["displayName"], sorted(m["value"] for m in
                                         g.get("members", [])),
                g["meta"]["version"], g["meta"]["lastModified"])

    def a_user_and_group(self):
        """In A: a user (with externalId) and a group holding it."""
        u = self.post_ok(self.a.client, "/Users",
                         user_body(uniq("ua"), externalId=uniq("exta")))
        g = self.post_ok(self.a.client, "/Groups",
                         group_body(uniq("ga"), members=[u["id"]]))
        return self.get_ok(self.a.client, "/Users/" + u["id"]), g

    # -- tests

    def test_same_names_in_both_tenants(self):
        un, ext, gname = uniq("same"), uniq("ext"), uniq("samegrp")
        ua = self.post_ok(self.a.client, "/Users",
                          user_body(un, externalId=ext))
        ub = self.post_ok(self.b.client, "/Users",
                          user_body(un, externalId=ext))
        self.assertNotEqual(ua["id"], ub["id"])
        ga = self.post_ok(self.a.client, "/Groups", group_body(gname))
        gb = self.post_ok(self.b.client, "/Groups", group_body(gname))
        self.assertNotEqual(ga["id"], gb["id"])
        # A second one of the same name in one tenant is still a conflict.
        self.assertScimError(self.a.client.post("/Users", user_body(un)),
                             409, "uniqueness")
        # Each tenant finds its own, and only its own.
        for t, uid, gid in ((self.a, ua["id"], ga["id"]),
                            (self.b, ub["id"], gb["id"])):
            body = self.list_body(t.client, "/Users",
                                  filter="userName eq " +
                                  scim_filter_string(un))
            self.assertEqual(body["totalResults"], 1, body)
            self.assertEqual([x["id"] for x in body["Resources"]], [uid])
            body = self.list_body(t.client, "/Groups",
                                  filter="displayName eq " +
                                  scim_filter_string(gname))
            self.assertEqual([x["id"] for x in body["Resources"]], [gid])

    def test_get_by_id_of_other_tenant_is_not_found(self):
        ua, ga = self.a_user_and_group()
        default = self.c  # the config's static token: tenant default
        for c in (self.b.client, default):
            for path in ("/Users/" + ua["id"], "/Groups/" + ga["id"]):
                r = c.get(path)
                self.assertNotFound(r, ua["userName"], ga["displayName"])
                r = c.get(path, params={"attributes": "id"})
                self.assertNotFound(r, ua["userName"])
        # (the owner still sees them)
        self.assertEqual(self.get_ok(self.a.client, "/Users/" + ua["id"])
                         ["userName"], ua["userName"])
        self.assertEqual(self.get_ok(self.a.client, "/Groups/" + ga["id"])
                         ["displayName"], ga["displayName"])

    def test_list_counts_only_own(self):
        for _ in range(3):
            self.a_user_and_group()
        ub = self.post_ok(self.b.client, "/Users", user_body(uniq("ub")))
        gb = self.post_ok(self.b.client, "/Groups", group_body(uniq("gb")))
        body = self.list_body(self.b.client, "/Users", count=100)
        self.assertEqual(body["totalResults"], 1, body)
        self.assertEqual([x["id"] for x in body["Resources"]], [ub["id"]])
        body = self.list_body(self.b.client, "/Groups", count=100)
        self.assertEqual(body["totalResults"], 1, body)
        self.assertEqual([x["id"] for x in body["Resources"]], [gb["id"]])
        # count=0 (totals only) and the owner's totals
        body = self.list_body(self.b.client, "/Users", count=0)
        self.assertEqual(body["totalResults"], 1, body)
        body = self.list_body(self.a.client, "/Users", count=0)
        self.assertEqual(body["totalResults"], 3, body)
        body = self.list_body(self.a.client, "/Groups", count=0)
        self.assertEqual(body["totalResults"], 3, body)

    def test_filters_never_match_other_tenant(self):
        ua, ga = self.a_user_and_group()
        self.post_ok(self.b.client, "/Users", user_body(uniq("ub")))
        filters_users = [
            "userName eq " + scim_filter_string(ua["userName"]),
            "externalId eq " + scim_filter_string(ua["externalId"]),
            "id eq " + scim_filter_string(ua["id"]),
            "userName sw " + scim_filter_string(ua["userName"][:8]),
            "groups.value eq " + scim_filter_string(ga["id"]),
            "emails.value eq " + scim_filter_string(
                ua["emails"][0]["value"]),
        ]
        for flt in filters_users:
            body = self.list_body(self.b.client, "/Users", filter=flt)
            self.assertEqual(body["totalResults"], 0, (flt, body))
            self.assertEqual(body.get("Resources", []), [], (flt, body))
            self.assertNotIn(ua["id"], json.dumps(body))
            # the same filter does find it for A (so it is a real test)
            body = self.list_body(self.a.client, "/Users", filter=flt)
            self.assertIn(ua["id"], [x["id"] for x in body["Resources"]],
                          (flt, body))
        for flt in ("displayName eq " + scim_filter_string(ga["displayName"]),
                    "id eq " + scim_filter_string(ga["id"]),
                    "members.value eq " + scim_filter_string(ua["id"])):
            body = self.list_body(self.b.client, "/Groups", filter=flt)
            self.assertEqual(body["totalResults"], 0, (flt, body))
            self.assertEqual(body.get("Resources", []), [], (flt, body))
            body = self.list_body(self.a.client, "/Groups", filter=flt)
            self.assertEqual([x["id"] for x in body["Resources"]],
                             [ga["id"]], (flt, body))

    def test_cursor_walk_sees_only_own(self):
        a_ids = set()
        for _ in range(3):
            ua, ga = self.a_user_and_group()
            a_ids.update((ua["id"], ga["id"]))
        b_ids = set(self.post_ok(self.b.client, "/Users",
                                 user_body(uniq("ub")))["id"]
                    for _ in range(3))
        # B walks its users with cursors: only its own.
        seen, cursor = [], None
        for _ in range(10):
            r = self.b.client.get("/Users", params=[("cursor", cursor),
                                                    ("count", 1)])
            body = self.assertListResponse(r)
            seen.extend(x["id"] for x in body.get("Resources", []))
            cursor = body.get("nextCursor")
            if cursor is None:
                break
        self.assertEqual(sorted(seen), sorted(b_ids))
        # A cursor of A's walk, replayed with B's token: never A's data.
        body = self.assertListResponse(self.a.client.get(
            "/Users", params=[("cursor", None), ("count", 1)]))
        a_cursor = body.get("nextCursor")
        self.assertTrue(a_cursor, body)
        r = self.b.client.get("/Users", params=[("cursor", a_cursor),
                                                ("count", 10)])
        self.assertIn(r.status, (200, 400), r)
        for i in a_ids:
            self.assertNotIn(i, r.text)
        if r.status == 200:
            body = self.assertListResponse(r)
            self.assertLessEqual(set(x["id"] for x in body.get(
                "Resources", [])), b_ids)
        else:
            self.assertScimError(r, 400)

    def test_head_of_other_tenant_resource_is_not_found(self):
        ua, ga = self.a_user_and_group()
        for path in ("/Users/" + ua["id"], "/Groups/" + ga["id"]):
            self.assertEqual(self.b.client.request("HEAD", path).status, 404)
            self.assertEqual(self.a.client.request("HEAD", path).status, 200)

    def test_search_endpoint_only_own(self):
        ua, ga = self.a_user_and_group()
        ub = self.post_ok(self.b.client, "/Users", user_body(uniq("ub")))
        gb = self.post_ok(self.b.client, "/Groups", group_body(uniq("gb")))
        cases = [
            ("/Users/.search", {"filter": "userName eq " +
                                scim_filter_string(ua["userName"])}, []),
            ("/Users/.search", {"filter": "id eq " +
                                scim_filter_string(ua["id"])}, []),
            ("/Users/.search", {}, [ub["id"]]),
            ("/Groups/.search", {"filter": "displayName eq " +
                                 scim_filter_string(ga["displayName"])}, []),
            ("/Groups/.search", {}, [gb["id"]]),
        ]
        for path, extra, want in cases:
            req = {"schemas": [URN_SEARCH], "count": 100}
            req.update(extra)
            r = self.b.client.post(path, req)
            body = self.assertListResponse(r)
            self.assertEqual(body["totalResults"], len(want), (path, body))
            self.assertEqual([x["id"] for x in body.get("Resources", [])],
                             want, (path, body))
            self.assertNotIn(ua["id"], r.text)
            self.assertNotIn(ga["id"], r.text)

    def test_writes_to_other_tenant_are_not_found(self):
        ua, ga = self.a_user_and_group()
        nb_users = self.list_body(self.b.client, "/Users",
                                  count=0)["totalResults"]
        b = self.b.client
        put_user = user_body(ua["userName"], id=ua["id"], active=False,
                             displayName="hijacked")
        self.assertNotFound(b.put("/Users/" + ua["id"], put_user),
                            ua["userName"])
        self.assertNotFound(b.patch("/Users/" + ua["id"], patch_body(
            {"op": "replace", "path": "active", "value": False})),
            ua["userName"])
        self.assertNotFound(b.patch("/Users/" + ua["id"], patch_body(
            {"op": "add", "value": {"displayName": "hijacked"}})))
        self.assertNotFound(b.delete("/Users/" + ua["id"]))
        self.assertNotFound(b.put("/Groups/" + ga["id"], group_body(
            "hijacked", members=[])), ga["displayName"])
        self.assertNotFound(b.patch("/Groups/" + ga["id"], patch_body(
            {"op": "remove", "path": "members"})), ga["displayName"])
        self.assertNotFound(b.patch("/Groups/" + ga["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "hijacked"})))
        self.assertNotFound(b.delete("/Groups/" + ga["id"]))
        # A's resources are unchanged, and B did not get a copy.
        ua2 = self.get_ok(self.a.client, "/Users/" + ua["id"])
        self.assertEqual(self.user_fingerprint(ua2),
                         self.user_fingerprint(ua))
        ga2 = self.get_ok(self.a.client, "/Groups/" + ga["id"])
        self.assertEqual(self.group_fingerprint(ga2),
                         self.group_fingerprint(ga))
        self.assertEqual(self.list_body(self.b.client, "/Users", count=0)
                         ["totalResults"], nb_users)
        self.assertEqual(self.list_body(self.b.client, "/Groups", count=0)
                         ["totalResults"], 0)

    def test_bulk_on_other_tenant_ids(self):
        ua, ga = self.a_user_and_group()
        ops = [
            {"method": "PUT", "path": "/Users/" + ua["id"], "bulkId": "p1",
             "data": user_body(ua["userName"], active=False)},
            {"method": "PATCH", "path": "/Users/" + ua["id"], "bulkId": "p2",
             "data": patch_body({"op": "replace", "path": "active",
                                 "value": False})},
            {"method": "PATCH", "path": "/Groups/" + ga["id"],
             "bulkId": "p3",
             "data": patch_body({"op": "remove", "path": "members"})},
            {"method": "DELETE", "path": "/Groups/" + ga["id"],
             "bulkId": "p4"},
            {"method": "DELETE", "path": "/Users/" + ua["id"],
             "bulkId": "p5"},
        ]
        r = self.b.client.post("/Bulk", bulk(ops))
        self.assertStatus(r, 200)
        body = r.json
        self.assertIn(URN_BULK_RESP, body["schemas"])
        self.assertEqual(len(body["Operations"]), len(ops), body)
        for op in body["Operations"]:
            self.assertEqual(op.get("status"), "404", op)
        self.assertNotIn(ua["userName"], r.text)
        self.assertNotIn(ga["displayName"], r.text)
        ua2 = self.get_ok(self.a.client, "/Users/" + ua["id"])
        self.assertEqual(self.user_fingerprint(ua2),
                         self.user_fingerprint(ua))
        ga2 = self.get_ok(self.a.client, "/Groups/" + ga["id"])
        self.assertEqual(self.group_fingerprint(ga2),
                         self.group_fingerprint(ga))

    def test_bulk_group_with_other_tenant_member(self):
        ua, _ = self.a_user_and_group()
        gname = uniq("gbulk")
        r = self.b.client.post("/Bulk", bulk([
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": group_body(gname, members=[ua["id"]])}]))
        self.assertStatus(r, 200)
        ops = r.json["Operations"]
        self.assertEqual(len(ops), 1, ops)
        self.assertIn(ops[0].get("status"), ("400", "404"), ops)
        body = self.list_body(self.b.client, "/Groups", filter=
                              "displayName eq " + scim_filter_string(gname))
        self.assertEqual(body["totalResults"], 0, body)
        groups = self.get_ok(self.a.client, "/Users/" + ua["id"])["groups"]
        self.assertEqual(len(groups), 1, groups)  # only A's own group

    def test_group_with_member_of_other_tenant_is_refused(self):
        ua = self.post_ok(self.a.client, "/Users", user_body(uniq("ua")))
        ga = self.post_ok(self.a.client, "/Groups", group_body(uniq("ga")))
        ub = self.post_ok(self.b.client, "/Users", user_body(uniq("ub")))
        gname = uniq("gcross")
        # POST: A's user, A's user next to B's, A's group (nested)
        for members in ([ua["id"]], [ub["id"], ua["id"]], [ga["id"]]):
            r = self.b.client.post("/Groups", group_body(gname,
                                                         members=members))
            self.assertScimError(r, r.status, statuses=(400, 404))
        body = self.list_body(self.b.client, "/Groups", filter=
                              "displayName eq " + scim_filter_string(gname))
        self.assertEqual(body["totalResults"], 0, body)
        # PUT of B's own group with A's user as a member
        gb = self.post_ok(self.b.client, "/Groups",
                          group_body(uniq("gb"), members=[ub["id"]]))
        r = self.b.client.put("/Groups/" + gb["id"], group_body(
            gb["displayName"], members=[ub["id"], ua["id"]]))
        self.assertScimError(r, r.status, statuses=(400, 404))
        gb2 = self.get_ok(self.b.client, "/Groups/" + gb["id"])
        self.assertEqual(self.group_fingerprint(gb2),
                         self.group_fingerprint(gb))
        # No membership anywhere.
        self.assertFalse(self.get_ok(self.a.client, "/Users/" + ua["id"])
                         .get("groups"))
        self.assertEqual(self.get_ok(self.a.client, "/Groups/" + ga["id"])
                         .get("members", []), [])
        for mid in (ua["id"], ga["id"]):
            body = self.list_body(self.b.client, "/Groups", filter=
                                  "members.value eq " +
                                  scim_filter_string(mid))
            self.assertEqual(body["totalResults"], 0, body)

    def test_patch_add_member_of_other_tenant_is_refused(self):
        ua = self.post_ok(self.a.client, "/Users", user_body(uniq("ua")))
        ub = self.post_ok(self.b.client, "/Users", user_body(uniq("ub")))
        gb = self.post_ok(self.b.client, "/Groups", group_body(uniq("gb")))
        for ops in (
                [{"op": "add", "path": "members",
                  "value": [{"value": ua["id"]}]}],
                [{"op": "add", "path": "members",
                  "value": [{"value": ub["id"]}, {"value": ua["id"]}]}],
                [{"op": "add", "value": {"members": [{"value": ua["id"]}]}}],
                [{"op": "replace", "path": "members",
                  "value": [{"value": ua["id"]}]}]):
            r = self.b.client.patch("/Groups/" + gb["id"], patch_body(*ops))
            self.assertScimError(r, r.status, statuses=(400, 404))
        gb2 = self.get_ok(self.b.client, "/Groups/" + gb["id"])
        self.assertEqual(gb2.get("members", []), [], gb2)
        self.assertEqual(gb2["meta"]["version"], gb["meta"]["version"])
        self.assertFalse(self.get_ok(self.a.client, "/Users/" + ua["id"])
                         .get("groups"))
        self.assertFalse(self.get_ok(self.b.client, "/Users/" + ub["id"])
                         .get("groups"))

    def test_delete_in_one_tenant_keeps_the_other(self):
        un = uniq("both")
        ua = self.post_ok(self.a.client, "/Users", user_body(un))
        ub = self.post_ok(self.b.client, "/Users", user_body(un))
        self.assertEqual(self.b.client.delete("/Users/" + ub["id"]).status,
                         204)
        self.assertNotFound(self.b.client.get("/Users/" + ub["id"]))
        self.assertEqual(self.get_ok(self.a.client, "/Users/" + ua["id"])
                         ["userName"], un)
        body = self.list_body(self.a.client, "/Users", filter=
                              "userName eq " + scim_filter_string(un))
        self.assertEqual([x["id"] for x in body["Resources"]], [ua["id"]])
        # and the name is free again in B only
        self.post_ok(self.b.client, "/Users", user_body(un))
        self.assertScimError(self.a.client.post("/Users", user_body(un)),
                             409)


class TenantDeleteTest(scimtest.AdminDaemonTestCase):

    def test_delete_tenant_takes_tokens_and_data(self):
        a = self.new_tenant("tdel")
        b = self.new_tenant("tkeep")
        second = self.create_token(a.name)  # A has two tokens
        a2 = self.client(second["token"])
        users = []
        for _ in range(2):
            r = a.client.post("/Users", user_body(uniq("ud")))
            self.assertStatus(r, 201)
            users.append(r.json["id"])
        r = a.client.post("/Groups", group_body(uniq("gd"), members=users))
        self.assertStatus(r, 201)
        gid = r.json["id"]
        r = b.client.post("/Users", user_body(uniq("ukeep")))
        self.assertStatus(r, 201)
        ub = r.json["id"]

        # Without (or with a wrong) confirm: 400, nothing happens.
        for confirm in (None, "", b.name, a.name.upper()):
            self.assertAdminError(self.admin.tenant_delete(
                a.name, confirm=confirm), 400)
        self.assertStatus(a.client.get("/Users/" + users[0]), 200)
        show = self.assertAdminOk(self.admin.tenant_show(a.name))
        self.assertEqual((show["users"], show["groups"],
                          show["active_tokens"]), (2, 1, 2), show)

        got = self.assertAdminOk(self.admin.tenant_delete(a.name,
                                                          confirm=a.name))
        self.assertEqual(got, {"deleted": a.name, "users": 2, "groups": 1,
                               "tokens": 2})
        # Its tokens are refused at once (no cache delay).
        for c in (a.client, a2):
            self.assertScimError(c.get("/Users"), 401)
            self.assertScimError(c.get("/Users/" + users[0]), 401)
        self.assertAdminError(self.admin.tenant_show(a.name), 404)
        self.assertAdminError(self.admin.tokens(a.name), 404)
        self.assertAdminError(self.admin.tenant_delete(a.name,
                                                       confirm=a.name), 404)
        names = [t["name"] for t in self.assertAdminOk(
            self.admin.tenants())["tenants"]]
        self.assertNotIn(a.name, names)
        self.assertIn(b.name, names)
        # The other tenant is untouched.
        self.assertStatus(b.client.get("/Users/" + ub), 200)

        # Re-created under the same name: empty, old tokens still dead.
        self.assertAdminOk(self.admin.tenant_create(a.name), 201)
        show = self.assertAdminOk(self.admin.tenant_show(a.name))
        self.assertEqual((show["users"], show["groups"],
                          show["active_tokens"]), (0, 0, 0), show)
        self.assertEqual(self.assertAdminOk(self.admin.tokens(a.name))
                         ["tokens"], [])
        fresh = self.client(self.create_token(a.name)["token"])
        for ep in ("/Users", "/Groups"):
            r = fresh.get(ep)
            body = self.assertListResponse(r)
            self.assertEqual(body["totalResults"], 0, body)
        for path in ["/Users/" + u for u in users] + ["/Groups/" + gid]:
            self.assertScimError(fresh.get(path), 404)
        for c in (a.client, a2):
            self.assertScimError(c.get("/Users"), 401)

    def test_static_token_tenant_exists_and_cannot_vanish(self):
        tenants = self.assertAdminOk(self.admin.tenants())["tenants"]
        self.assertIn("default", [t["name"] for t in tenants])
        r = self.c.post("/Users", user_body(uniq("udef")))
        self.assertStatus(r, 201)
        uid = r.json["id"]
        show = self.assertAdminOk(self.admin.tenant_show("default"))
        self.assertGreaterEqual(show["users"], 1, show)
        # Deleting it would orphan the config's token: refused.
        self.assertAdminError(self.admin.tenant_delete(
            "default", confirm="default"), 400, 409)
        self.assertStatus(self.c.get("/Users/" + uid), 200)


if __name__ == "__main__":
    unittest.main()
