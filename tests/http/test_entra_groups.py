"""Microsoft Entra ID provisioning of groups, with request bodies as Entra
sends them (tutorial and the aadOptscim062020 known-issues page). Entra
expects 204 No Content for group PATCH."""

import unittest
import uuid

from scimtest import ScimTestCase, URN_PATCH

FLAG = "aadOptscim062020"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def entra_group(display_name=None):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM],
        "externalId": str(uuid.uuid4()),
        "displayName": display_name or "displayName-%s" % uuid.uuid4(),
        "meta": {"resourceType": "Group"}
    }


def entra_user():
    un = "Test_User_%s" % uuid.uuid4()
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": str(uuid.uuid4()),
        "userName": un,
        "active": True,
        "emails": [{"primary": True, "type": "work",
                    "value": un + "@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName",
                 "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    }


def patch(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


class EntraGroupTest(ScimTestCase):

    def new_user(self):
        r = self.c.post("/Users", entra_user())
        self.assertStatus(r, 201)
        return r.json

    def new_group(self, body=None):
        r = self.c.post("/Groups", body or entra_group())
        self.assertStatus(r, 201)
        return r.json

    def patch_204(self, gid, body, flag=False):
        r = self.c.patch("/Groups/" + gid, body,
                         params=[(FLAG, None)] if flag else None)
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        return r

    def is_member(self, gid, uid):
        """Entra's membership probe."""
        r = self.c.get("/Groups", params=[
            ("filter", 'id eq "%s" and members[value eq "%s"]' % (gid, uid)),
            ("excludedAttributes", "members")])
        body = self.assertListResponse(r)
        for x in body.get("Resources", []):
            self.assertNotIn("members", x)
        self.assertIn(body["totalResults"], (0, 1))
        return body["totalResults"] == 1

    def test_create_with_unknown_schema_urn(self):
        body = entra_group()
        g = self.new_group(body)
        self.assertEqual(g["displayName"], body["displayName"])
        self.assertEqual(g["externalId"], body["externalId"])
        self.assertIn("urn:ietf:params:scim:schemas:core:2.0:Group",
                      g["schemas"])
        self.assertEqual(g["meta"]["resourceType"], "Group")

    def test_query_by_display_name(self):
        body = entra_group()
        g = self.new_group(body)
        r = self.c.get("/Groups", params=[
            ("excludedAttributes", "members"),
            ("filter", 'displayName eq "%s"' % body["displayName"])])
        lst = self.assertListResponse(r)
        self.assertEqual([x["id"] for x in lst["Resources"]], [g["id"]])
        r = self.c.get("/Groups", params=[
            ("excludedAttributes", "members"),
            ("filter", 'displayName eq "absent-%s"' % uuid.uuid4())])
        self.assertEqual(self.assertListResponse(r)["totalResults"], 0)

    def test_get_by_id_excluding_members(self):
        u = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}))
        r = self.c.get("/Groups/" + g["id"],
                       params={"excludedAttributes": "members"})
        self.assertStatus(r, 200)
        self.assertNotIn("members", r.json)
        self.assertEqual(r.json["displayName"], g["displayName"])

    def test_rename(self):
        g = self.new_group()
        new = "%supdatedDisplayName" % uuid.uuid4()
        self.patch_204(g["id"], patch(
            {"op": "Replace", "path": "displayName", "value": new}))
        self.assertEqual(self.get_group(g["id"])["displayName"], new)

    def test_add_and_remove_member_with_flag(self):
        u = self.new_user()
        g = self.new_group()
        self.assertFalse(self.is_member(g["id"], u["id"]))
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}),
            flag=True)
        self.assertTrue(self.is_member(g["id"], u["id"]))
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [u["id"]])
        self.patch_204(g["id"], patch(
            {"op": "Remove", "path": "members",
             "value": [{"value": u["id"]}]}), flag=True)
        self.assertFalse(self.is_member(g["id"], u["id"]))
        self.assertFalse(self.get_group(g["id"]).get("members"))

    def test_add_member_with_null_ref(self):
        # the tutorial's body: "$ref": null next to the value
        u = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members",
             "value": [{"$ref": None, "value": u["id"]}]}))
        self.assertTrue(self.is_member(g["id"], u["id"]))
        self.patch_204(g["id"], patch(
            {"op": "Remove", "path": "members",
             "value": [{"$ref": None, "value": u["id"]}]}))
        self.assertFalse(self.is_member(g["id"], u["id"]))

    def test_remove_member_without_flag(self):
        # without the flag Entra removes with a value-filter path
        a = self.new_user()
        b = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members",
             "value": [{"value": a["id"]}, {"value": b["id"]}]}))
        self.patch_204(g["id"], patch(
            {"op": "Remove", "path": 'members[value eq "%s"]' % a["id"]}))
        self.assertFalse(self.is_member(g["id"], a["id"]))
        self.assertTrue(self.is_member(g["id"], b["id"]))

    def test_remove_several_members(self):
        users = [self.new_user() for _ in range(3)]
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members",
             "value": [{"value": u["id"]} for u in users]}))
        self.patch_204(g["id"], patch(
            {"op": "Remove", "path": "members",
             "value": [{"value": users[0]["id"]},
                       {"value": users[2]["id"]}]}), flag=True)
        self.assertEqual(self.member_ids(self.get_group(g["id"])),
                         [users[1]["id"]])

    def test_remove_non_member_is_204(self):
        # Entra may remove a member that is already gone
        a = self.new_user()
        b = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": a["id"]}]}))
        self.patch_204(g["id"], patch(
            {"op": "Remove", "path": "members",
             "value": [{"value": b["id"]}]}), flag=True)
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [a["id"]])

    def test_replace_members_with_empty_array(self):
        a = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": a["id"]}]}))
        self.patch_204(g["id"], patch(
            {"op": "Replace", "path": "members", "value": []}))
        self.assertFalse(self.get_group(g["id"]).get("members"))

    def test_rename_shows_in_user_groups(self):
        u = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}))
        new = "renamed-%s" % uuid.uuid4()
        self.patch_204(g["id"], patch(
            {"op": "Replace", "path": "displayName", "value": new}))
        self.assertEqual([x.get("display") for x in
                          self.get_user(u["id"])["groups"]], [new])

    def test_membership_probe_other_group(self):
        u = self.new_user()
        g1 = self.new_group()
        g2 = self.new_group()
        self.patch_204(g1["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}))
        self.assertTrue(self.is_member(g1["id"], u["id"]))
        self.assertFalse(self.is_member(g2["id"], u["id"]))

    def test_user_groups_follow_membership(self):
        u = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}))
        self.assertEqual([x["value"] for x in
                          self.get_user(u["id"]).get("groups", [])], [g["id"]])

    def test_delete_user_leaves_group(self):
        u = self.new_user()
        g = self.new_group()
        self.patch_204(g["id"], patch(
            {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}))
        self.assertStatus(self.c.delete("/Users/" + u["id"]), 204)
        self.assertFalse(self.is_member(g["id"], u["id"]))

    def test_delete_group(self):
        g = self.new_group()
        r = self.c.delete("/Groups/" + g["id"])
        self.assertStatus(r, 204)
        self.assertScimError(self.c.get("/Groups/" + g["id"]), 404)

    def test_patch_unknown_group(self):
        r = self.c.patch("/Groups/" + str(uuid.uuid4()), patch(
            {"op": "Replace", "path": "displayName", "value": "x"}))
        self.assertScimError(r, 404)


if __name__ == "__main__":
    unittest.main()
