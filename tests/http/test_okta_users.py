"""Okta provisioning of users, with request bodies as Okta sends them
("SCIM 2.0 protocol reference" / "SCIM 2.0 guide")."""

import unittest
import uuid

from scimtest import ScimTestCase, URN_USER, URN_PATCH


def okta_user(login=None):
    login = login or "test.user.%s@okta.local" % uuid.uuid4().hex[:12]
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": login,
        "name": {
            "givenName": "Test",
            "familyName": "User"
        },
        "emails": [{
            "primary": True,
            "value": login,
            "type": "work"
        }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00u%s" % uuid.uuid4().hex[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True
    }


class OktaUserTest(ScimTestCase):

    def find(self, login):
        """Okta's existence check before create and during import."""
        r = self.c.get("/Users", params=[
            ("filter", 'userName eq "%s"' % login),
            ("startIndex", 1), ("count", 100)])
        return self.assertListResponse(r)

    def okta_create(self, body=None):
        body = body or okta_user()
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        return r.json

    def test_create_flow(self):
        body = okta_user()
        lst = self.find(body["userName"])
        self.assertEqual(lst["totalResults"], 0)
        self.assertEqual(lst.get("Resources", []), [])
        self.assertEqual(lst["startIndex"], 1)
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        u = r.json
        self.assertNotIn("password", u)
        self.assertNotIn(body["password"], r.text)
        self.assertEqual(u["userName"], body["userName"])
        self.assertEqual(u["name"], body["name"])
        self.assertEqual(u["displayName"], "Test User")
        self.assertEqual(u["locale"], "en-US")
        self.assertEqual(u["externalId"], body["externalId"])
        self.assertIs(u["active"], True)
        self.assertTrue(u["id"])
        lst = self.find(body["userName"])
        self.assertEqual(lst["totalResults"], 1)
        self.assertEqual(lst["Resources"][0]["id"], u["id"])
        self.assertNotIn("password", lst["Resources"][0])

    def test_filter_percent_encoded_email(self):
        body = okta_user()
        u = self.okta_create(body)
        # Okta encodes the whole filter, '@' included
        path = ("/Users?filter=userName%%20eq%%20%%22%s%%22&startIndex=1"
                "&count=100" % body["userName"].replace("@", "%40"))
        r = self.c.get(path)
        lst = self.assertListResponse(r)
        self.assertEqual([x["id"] for x in lst["Resources"]], [u["id"]])

    def test_get_user(self):
        u = self.okta_create()
        r = self.c.get("/Users/" + u["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["userName"], u["userName"])
        self.assertNotIn("password", r.json)

    def test_get_unknown_user(self):
        r = self.c.get("/Users/" + uuid.uuid4().hex)
        self.assertScimError(r, 404)

    def test_profile_update_put(self):
        u = self.okta_create()
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": u["id"],
            "userName": u["userName"],
            "name": {
                "givenName": "Another",
                "middleName": "",
                "familyName": "User"
            },
            "emails": [{
                "primary": True,
                "value": u["userName"],
                "type": "work"
            }],
            "displayName": "Another User",
            "locale": "en-US",
            "externalId": u["externalId"],
            "groups": [],
            "password": "n3wPassw0rd",
            "active": True,
            "meta": u["meta"],
        }
        r = self.c.put("/Users/" + u["id"], body)
        self.assertStatus(r, 200)
        p = r.json
        self.assertEqual(p["id"], u["id"])
        self.assertEqual(p["name"]["givenName"], "Another")
        self.assertEqual(p["displayName"], "Another User")
        self.assertNotIn("password", p)
        self.assertNotIn("n3wPassw0rd", r.text)
        self.assertNotEqual(p["meta"]["version"], u["meta"]["version"])
        self.assertEqual(self.get_user(u["id"])["displayName"], "Another User")

    def test_put_with_empty_groups_keeps_memberships(self):
        # Okta's PUT carries "groups": []; groups is readOnly, so the
        # user's memberships must survive it.
        u = self.okta_create()
        r = self.c.post("/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Okta PUT %s" % uuid.uuid4().hex[:8],
            "members": [{"value": u["id"]}]})
        self.assertStatus(r, 201)
        gid = r.json["id"]
        body = okta_user(u["userName"])
        body["id"] = u["id"]
        body["displayName"] = "After PUT"
        r = self.c.put("/Users/" + u["id"], body)
        self.assertStatus(r, 200)
        self.assertEqual([x["value"] for x in
                          self.get_user(u["id"]).get("groups", [])], [gid])
        self.assertEqual([m["value"] for m in
                          self.get_group(gid).get("members", [])], [u["id"]])

    def test_deactivate_and_reactivate(self):
        u = self.okta_create()
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        self.assertStatus(r, 200)
        self.assertIs(r.json["active"], False)
        self.assertEqual(r.json["id"], u["id"])
        self.assertIs(self.get_user(u["id"])["active"], False)
        # a deactivated user is still found by Okta's query
        lst = self.find(u["userName"])
        self.assertEqual(lst["totalResults"], 1)
        self.assertIs(lst["Resources"][0]["active"], False)
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": True}}]})
        self.assertStatus(r, 200)
        self.assertIs(r.json["active"], True)

    def test_password_sync_patch(self):
        u = self.okta_create()
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace",
                            "value": {"password": "an0ther-Secret"}}]})
        self.assertStatus(r, 200)
        self.assertNotIn("password", r.json)
        self.assertNotIn("an0ther-Secret", r.text)

    def test_pathless_replace_multiple(self):
        u = self.okta_create()
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": [URN_PATCH],
            "Operations": [{"op": "replace", "value": {
                "name": {"givenName": "Changed", "familyName": "Person"},
                "displayName": "Changed Person"}}]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["name"]["givenName"], "Changed")
        self.assertEqual(r.json["displayName"], "Changed Person")
        self.assertEqual(r.json["userName"], u["userName"])

    def test_import_paging(self):
        # Okta imports with startIndex/count pages of 100 until it has
        # totalResults resources.
        self.okta_create()
        seen = []
        start = 1
        total = None
        while True:
            r = self.c.get("/Users", params={"startIndex": start,
                                             "count": 100})
            body = self.assertListResponse(r)
            total = body["totalResults"]
            self.assertEqual(body["startIndex"], start)
            res = body.get("Resources", [])
            seen.extend(x["id"] for x in res)
            if not res or len(seen) >= total:
                break
            start += len(res)
            self.assertLess(start, 100000)
        self.assertGreaterEqual(len(seen), 1)
        self.assertEqual(len(seen), len(set(seen)))

    def test_duplicate(self):
        body = okta_user()
        self.okta_create(body)
        r = self.c.post("/Users", okta_user(body["userName"]))
        self.assertScimError(r, 409, "uniqueness")

    def test_schemas_only_core(self):
        u = self.okta_create()
        self.assertEqual(u["schemas"], [URN_USER])


if __name__ == "__main__":
    unittest.main()
