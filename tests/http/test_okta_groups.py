"""Okta Group Push, with request bodies as Okta sends them ("SCIM 2.0
protocol reference")."""

import unittest
import uuid

from scimtest import ScimTestCase, URN_PATCH


def okta_user():
    login = "push.user.%s@okta.local" % uuid.uuid4().hex[:12]
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": login,
        "name": {"givenName": "Push", "familyName": "User"},
        "emails": [{"primary": True, "value": login, "type": "work"}],
        "displayName": "Push User",
        "locale": "en-US",
        "externalId": "00u%s" % uuid.uuid4().hex[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True
    }


class OktaGroupTest(ScimTestCase):

    def new_user(self):
        r = self.c.post("/Users", okta_user())
        self.assertStatus(r, 201)
        return r.json

    def push_group(self, name=None):
        name = name or "Test SCIMv2 %s" % uuid.uuid4().hex[:8]
        r = self.c.post("/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": []
        })
        self.assertStatus(r, 201)
        self.assertEqual(r.json["displayName"], name)
        return r.json

    def okta_patch(self, gid, *ops):
        r = self.c.patch("/Groups/" + gid, {
            "schemas": [URN_PATCH], "Operations": list(ops)})
        # Okta accepts 200 or 204; scimsync answers 204 for groups
        self.assertStatus(r, 204, 200)
        return r

    def test_push_and_get(self):
        g = self.push_group()
        r = self.c.get("/Groups/" + g["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], g["displayName"])
        self.assertFalse(r.json.get("members"))

    def test_rename_with_path(self):
        g = self.push_group()
        new = "Renamed SCIMv2 %s" % uuid.uuid4().hex[:8]
        self.okta_patch(g["id"], {"op": "replace", "path": "displayName",
                                  "value": new})
        self.assertEqual(self.get_group(g["id"])["displayName"], new)

    def test_rename_pathless_with_id(self):
        # Okta's "Update a specific Group name": path-less replace whose
        # value repeats the (unchanged) id.
        g = self.push_group()
        new = "Test SCIMv2 %s" % uuid.uuid4().hex[:8]
        self.okta_patch(g["id"], {"op": "replace", "value": {
            "id": g["id"], "displayName": new}})
        got = self.get_group(g["id"])
        self.assertEqual(got["displayName"], new)
        self.assertEqual(got["id"], g["id"])

    def test_add_and_remove_members(self):
        a = self.new_user()
        b = self.new_user()
        g = self.push_group()
        self.okta_patch(g["id"], {"op": "add", "path": "members", "value": [
            {"value": a["id"], "display": a["userName"]},
            {"value": b["id"], "display": b["userName"]}]})
        got = self.get_group(g["id"])
        self.assertEqual(self.member_ids(got), sorted([a["id"], b["id"]]))
        self.okta_patch(g["id"], {
            "op": "remove", "path": 'members[value eq "%s"]' % a["id"]})
        self.assertEqual(self.member_ids(self.get_group(g["id"])), [b["id"]])

    def test_replace_members_via_put(self):
        a = self.new_user()
        b = self.new_user()
        g = self.push_group()
        r = self.c.put("/Groups/" + g["id"], {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": g["id"],
            "displayName": g["displayName"],
            "members": [{"value": a["id"], "display": a["userName"]},
                        {"value": b["id"], "display": b["userName"]}]})
        self.assertStatus(r, 200)
        self.assertEqual(self.member_ids(r.json), sorted([a["id"], b["id"]]))

    def test_find_by_display_name(self):
        g = self.push_group()
        r = self.c.get("/Groups", params={
            "filter": 'displayName eq "%s"' % g["displayName"]})
        lst = self.assertListResponse(r)
        self.assertEqual([x["id"] for x in lst["Resources"]], [g["id"]])

    def test_list_excluding_members(self):
        u = self.new_user()
        g = self.push_group()
        self.okta_patch(g["id"], {"op": "add", "path": "members",
                                  "value": [{"value": u["id"]}]})
        seen = []
        start = 1
        while True:
            r = self.c.get("/Groups", params=[
                ("startIndex", start), ("count", 100),
                ("excludedAttributes", "members")])
            lst = self.assertListResponse(r)
            res = lst.get("Resources", [])
            for x in res:
                self.assertNotIn("members", x)
                self.assertIn("displayName", x)
            seen.extend(x["id"] for x in res)
            if not res or len(seen) >= lst["totalResults"]:
                break
            start += len(res)
        self.assertIn(g["id"], seen)

    def test_delete_group(self):
        g = self.push_group()
        self.assertStatus(self.c.delete("/Groups/" + g["id"]), 204)
        self.assertScimError(self.c.get("/Groups/" + g["id"]), 404)
        r = self.c.get("/Groups", params={
            "filter": 'displayName eq "%s"' % g["displayName"]})
        self.assertEqual(self.assertListResponse(r)["totalResults"], 0)


if __name__ == "__main__":
    unittest.main()
