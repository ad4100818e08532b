"""Groups and memberships: members rendering, the computed `groups`
attribute of users, PATCH (204), PUT, deletes cascading to memberships."""

import unittest

from scimtest import ScimTestCase, URN_GROUP, uniq, group_body, patch_body


class GroupTest(ScimTestCase):

    def test_create_empty(self):
        name = uniq("Group ")
        r = self.c.post("/Groups", group_body(name))
        self.assertStatus(r, 201)
        self.assertScimContentType(r)
        g = r.json
        self.assertIn(URN_GROUP, g["schemas"])
        self.assertEqual(g["displayName"], name)
        self.assertFalse(g.get("members"))
        meta = g["meta"]
        self.assertEqual(meta["resourceType"], "Group")
        self.assertTrue(meta["location"].endswith("/scim/v2/Groups/" + g["id"]))
        self.assertEqual(r.header("Location"), meta["location"])
        self.assertEqual(self.assertWeakETag(r), meta["version"])

    def test_create_with_members(self):
        a = self.create_user()
        b = self.create_user(displayName="Bee Display")
        g = self.create_group(members=[a["id"], b["id"]])
        self.assertEqual(self.member_ids(g), sorted([a["id"], b["id"]]))
        got = self.get_group(g["id"])
        members = {m["value"]: m for m in got["members"]}
        self.assertEqual(sorted(members), sorted([a["id"], b["id"]]))
        for u in (a, b):
            m = members[u["id"]]
            self.assertEqual(m.get("type"), "User")
            self.assertTrue(m.get("$ref", "").endswith(
                "/scim/v2/Users/" + u["id"]), m)
            self.assertIn("display", m)
        self.assertEqual(members[b["id"]]["display"], "Bee Display")

    def test_user_groups_attribute(self):
        u = self.create_user()
        g1 = self.create_group(members=[u["id"]])
        g2 = self.create_group(members=[u["id"]])
        got = self.get_user(u["id"])
        groups = {x["value"]: x for x in got.get("groups", [])}
        self.assertEqual(sorted(groups), sorted([g1["id"], g2["id"]]))
        self.assertEqual(groups[g1["id"]].get("display"), g1["displayName"])
        self.assertTrue(groups[g1["id"]].get("$ref", "").endswith(
            "/scim/v2/Groups/" + g1["id"]))
        self.assertIn(groups[g1["id"]].get("type", "direct"),
                      ("direct", "indirect"))

    def test_excluded_members(self):
        u = self.create_user()
        g = self.create_group(members=[u["id"]])
        got = self.get_group(g["id"], excludedAttributes="members")
        self.assertNotIn("members", got)
        self.assertEqual(got["displayName"], g["displayName"])
        lst = self.c.get("/Groups", params={
            "filter": 'displayName eq "%s"' % g["displayName"],
            "excludedAttributes": "members"}).json
        self.assertEqual(lst["totalResults"], 1)
        self.assertNotIn("members", lst["Resources"][0])

    def test_attributes_display_name(self):
        u = self.create_user()
        g = self.create_group(members=[u["id"]])
        got = self.get_group(g["id"], attributes="displayName")
        self.assertEqual(got["displayName"], g["displayName"])
        self.assertNotIn("members", got)
        self.assertEqual(got["id"], g["id"])

    def test_patch_add_remove_members_204(self):
        a = self.create_user()
        b = self.create_user()
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "add", "path": "members",
             "value": [{"value": a["id"]}, {"value": b["id"]}]}))
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        got = self.get_group(g["id"])
        self.assertEqual(self.member_ids(got), sorted([a["id"], b["id"]]))
        self.assertNotEqual(got["meta"]["version"], g["meta"]["version"])
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "remove", "path": 'members[value eq "%s"]' % a["id"]}))
        self.assertStatus(r, 204)
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [b["id"]])
        self.assertFalse(self.get_user(a["id"]).get("groups"))

    def test_patch_add_existing_member_is_idempotent(self):
        a = self.create_user()
        g = self.create_group(members=[a["id"]])
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "add", "path": "members", "value": [{"value": a["id"]}]}))
        self.assertStatus(r, 204)
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [a["id"]])

    def test_patch_replace_members(self):
        a = self.create_user()
        b = self.create_user()
        g = self.create_group(members=[a["id"]])
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "replace", "path": "members", "value": [{"value": b["id"]}]}))
        self.assertStatus(r, 204)
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [b["id"]])

    def test_patch_remove_all_members(self):
        a = self.create_user()
        b = self.create_user()
        g = self.create_group(members=[a["id"], b["id"]])
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "remove", "path": "members"}))
        self.assertStatus(r, 204)
        self.assertFalse(self.get_group(g["id"]).get("members"))

    def test_patch_with_attributes_returns_200(self):
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": g["displayName"]
             + "-renamed"}), params={"attributes": "displayName"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], g["displayName"] + "-renamed")

    def test_patch_if_match(self):
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "x" + uniq()}),
            headers={"If-Match": 'W/"stale"'})
        self.assertScimError(r, 412)

    def test_add_unknown_member(self):
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "add", "path": "members",
             "value": [{"value": "no-such-user-" + uniq()}]}))
        # RFC 7644 leaves this open; it must not be a 5xx nor a phantom
        # member that points nowhere.
        self.assertStatus(r, 204, 400, 404)
        if r.status == 204:
            self.assertFalse(self.get_group(g["id"]).get("members"))
        else:
            self.assertScimError(r, r.status)

    def test_put_group(self):
        a = self.create_user()
        b = self.create_user()
        g = self.create_group(members=[a["id"]])
        name = uniq("Renamed ")
        r = self.c.put("/Groups/" + g["id"], group_body(name, [b["id"]]))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], name)
        got = self.get_group(g["id"])
        self.assertEqual(got["displayName"], name)
        self.assertEqual(self.member_ids(got), [b["id"]])
        self.assertFalse(self.get_user(a["id"]).get("groups"))
        # a rename shows in the user's groups[].display
        ug = self.get_user(b["id"])["groups"]
        self.assertEqual(ug[0]["display"], name)

    def test_delete_user_removes_membership(self):
        a = self.create_user()
        b = self.create_user()
        g = self.create_group(members=[a["id"], b["id"]])
        self.assertStatus(self.c.delete("/Users/" + a["id"]), 204)
        got = self.get_group(g["id"])
        self.assertEqual(self.member_ids(got), [b["id"]])
        lst = self.c.get("/Groups", params={
            "filter": 'members[value eq "%s"]' % a["id"]}).json
        self.assertEqual(lst["totalResults"], 0)

    def test_delete_group(self):
        a = self.create_user()
        g = self.create_group(members=[a["id"]])
        r = self.c.delete("/Groups/" + g["id"])
        self.assertStatus(r, 204)
        self.assertScimError(self.c.get("/Groups/" + g["id"]), 404)
        self.assertFalse(self.get_user(a["id"]).get("groups"))

    def test_filter_display_name(self):
        name = uniq("Find Me ")
        g = self.create_group(name)
        for flt in ('displayName eq "%s"' % name,
                    'displayName eq "%s"' % name.upper(),
                    'DISPLAYNAME EQ "%s"' % name):
            with self.subTest(flt=flt):
                lst = self.c.get("/Groups", params={"filter": flt}).json
                self.assertEqual([x["id"] for x in lst["Resources"]], [g["id"]])

    def test_filter_members_value(self):
        a = self.create_user()
        g = self.create_group(members=[a["id"]])
        self.create_group()
        lst = self.c.get("/Groups", params={
            "filter": 'members[value eq "%s"]' % a["id"]}).json
        self.assertEqual([x["id"] for x in lst["Resources"]], [g["id"]])
        lst = self.c.get("/Groups", params={
            "filter": 'members.value eq "%s"' % a["id"]}).json
        self.assertEqual([x["id"] for x in lst["Resources"]], [g["id"]])

    def test_member_display_follows_user(self):
        u = self.create_user(displayName="Old Display")
        g = self.create_group(members=[u["id"]])
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "New Display"}))
        self.assertStatus(r, 200, 204)
        m = self.get_group(g["id"])["members"]
        self.assertEqual(m[0]["display"], "New Display")

    def test_user_groups_display_follows_rename(self):
        u = self.create_user()
        g = self.create_group(members=[u["id"]])
        new = uniq("Renamed by PATCH ")
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": new}))
        self.assertStatus(r, 204)
        self.assertEqual(self.get_user(u["id"])["groups"][0]["display"], new)

    def test_filter_users_by_group(self):
        a = self.create_user()
        b = self.create_user()
        self.create_user()
        g = self.create_group(members=[a["id"], b["id"]])
        r = self.c.get("/Users", params={
            "filter": 'groups.value eq "%s"' % g["id"]})
        body = self.assertListResponse(r)
        self.assertEqual(sorted(x["id"] for x in body["Resources"]),
                         sorted([a["id"], b["id"]]))

    def test_user_attributes_groups(self):
        u = self.create_user()
        g = self.create_group(members=[u["id"]])
        got = self.get_user(u["id"], attributes="groups")
        self.assertEqual([x["value"] for x in got["groups"]], [g["id"]])
        self.assertNotIn("emails", got)
        got = self.get_user(u["id"], excludedAttributes="groups")
        self.assertNotIn("groups", got)

    def test_text_and_parsed_renderings_agree(self):
        # Reads without a projection are answered from the stored text
        # with groups/members spliced in; with one, through the JSON
        # library. Both must give the same document, escaping included.
        tricky = 'Q"uote \\ back\tTab \u00e9\u4e2d \U0001f600 </script>'
        u = self.create_user(displayName=tricky, nickName="n\nl")
        v = self.create_user()
        g = self.create_group(display_name="G " + tricky + uniq("g"),
                              members=[u["id"], v["id"]])
        # excludedAttributes naming an absent attribute forces the parsed
        # path without changing what is returned.
        for path, computed in (("/Users/" + u["id"], "groups"),
                               ("/Groups/" + g["id"], "members")):
            with self.subTest(path=path):
                text = self.c.get(path).json
                parsed = self.c.get(path, params={
                    "excludedAttributes": "title"}).json
                self.assertEqual(text, parsed)
                self.assertIn(computed, text)
                only = self.c.get(path, params={"attributes": computed}).json
                only_parsed = self.c.get(path, params={
                    "attributes": computed + ",id"}).json
                self.assertEqual(only, only_parsed)
                self.assertEqual(set(only), {"schemas", "id", computed})
        members = {m["value"]: m for m in self.get_group(g["id"])["members"]}
        self.assertEqual(members[u["id"]]["display"], tricky)
        lst_text = self.c.get("/Groups", params={
            "filter": 'id eq "%s"' % g["id"]}).json
        lst_parsed = self.c.get("/Groups", params={
            "filter": 'id eq "%s"' % g["id"], "excludedAttributes": "title"}).json
        self.assertEqual(lst_text, lst_parsed)
        self.assertEqual(lst_text["Resources"][0]["displayName"],
                         g["displayName"])

    def test_nested_group_member(self):
        inner = self.create_group()
        outer = self.create_group(members=[inner["id"]])
        m = self.get_group(outer["id"])["members"]
        self.assertEqual(len(m), 1)
        self.assertEqual(m[0]["value"], inner["id"])
        self.assertEqual(m[0].get("type"), "Group")
        self.assertTrue(m[0].get("$ref", "").endswith(
            "/scim/v2/Groups/" + inner["id"]), m)

    def test_group_cannot_contain_itself(self):
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "add", "path": "members", "value": [{"value": g["id"]}]}))
        self.assertScimError(r, 400)

    def test_large_group(self):
        n = 300
        from scimtest import create_users_fast
        ids = create_users_fast(self.c, uniq("big"), n)
        g = self.create_group()
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "add", "path": "members",
             "value": [{"value": i} for i in ids]}))
        self.assertStatus(r, 204)
        got = self.get_group(g["id"])
        self.assertEqual(self.member_ids(got), sorted(ids))
        r = self.c.patch("/Groups/" + g["id"], patch_body(
            {"op": "remove", "path": "members",
             "value": [{"value": i} for i in ids[:100]]}))
        self.assertStatus(r, 204)
        self.assertEqual(self.member_ids(self.get_group(g["id"])),
                         sorted(ids[100:]))

    def test_group_etag(self):
        g = self.create_group()
        r = self.c.get("/Groups/" + g["id"],
                       headers={"If-None-Match": g["meta"]["version"]})
        self.assertStatus(r, 304)
        r = self.c.delete("/Groups/" + g["id"],
                          headers={"If-Match": 'W/"stale"'})
        self.assertScimError(r, 412)
        r = self.c.put("/Groups/" + g["id"], group_body(g["displayName"]),
                       headers={"If-Match": 'W/"stale"'})
        self.assertScimError(r, 412)
        r = self.c.delete("/Groups/" + g["id"],
                          headers={"If-Match": g["meta"]["version"]})
        self.assertStatus(r, 204)

    def test_missing_display_name(self):
        r = self.c.post("/Groups", {"schemas": [URN_GROUP]})
        self.assertScimError(r, 400)


if __name__ == "__main__":
    unittest.main()
