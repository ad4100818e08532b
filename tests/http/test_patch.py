"""PATCH on users (RFC 7644 §3.5.2): add/replace/remove with and without
paths, value filters, extension paths, errors, atomicity, If-Match."""

import unittest

from scimtest import ScimTestCase, URN_ENTERPRISE, patch_body, user_body


class PatchUserTest(ScimTestCase):

    def patch_ok(self, uid, *ops, **kw):
        r = self.c.patch("/Users/" + uid, patch_body(*ops), **kw)
        self.assertStatus(r, 200, 204)
        if r.status == 200:
            self.assertScimContentType(r)
            self.assertEqual(r.json["id"], uid)
            self.assertEqual(self.assertWeakETag(r), r.json["meta"]["version"])
        return self.get_user(uid)

    def test_replace_simple(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "Babs"}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], "Babs")
        self.assertNotEqual(r.json["meta"]["version"], u["meta"]["version"])
        self.assertEqual(self.get_user(u["id"])["displayName"], "Babs")

    def test_replace_subattribute(self):
        u = self.create_user()
        g = self.patch_ok(u["id"], {"op": "replace", "path": "name.familyName",
                                    "value": "Jensen"})
        self.assertEqual(g["name"], {"givenName": "Given",
                                     "familyName": "Jensen"})

    def test_add_multivalued_appends(self):
        u = self.create_user()
        g = self.patch_ok(u["id"], {"op": "add", "path": "emails", "value": [
            {"value": "home@example.com", "type": "home"}]})
        values = sorted(e["value"] for e in g["emails"])
        self.assertEqual(values, sorted([u["emails"][0]["value"],
                                         "home@example.com"]))

    def test_add_without_path(self):
        u = self.create_user()
        g = self.patch_ok(u["id"], {"op": "add", "value": {
            "nickName": "Bobby", "title": "Tour Guide"}})
        self.assertEqual(g["nickName"], "Bobby")
        self.assertEqual(g["title"], "Tour Guide")

    def test_replace_with_value_filter(self):
        u = self.create_user(emails=[
            {"value": "w@example.com", "type": "work", "primary": True},
            {"value": "h@example.com", "type": "home"}])
        g = self.patch_ok(u["id"], {"op": "replace",
                                    "path": 'emails[type eq "home"].value',
                                    "value": "h2@example.com"})
        by_type = {e["type"]: e["value"] for e in g["emails"]}
        self.assertEqual(by_type, {"work": "w@example.com",
                                   "home": "h2@example.com"})

    def test_remove_with_value_filter(self):
        u = self.create_user(emails=[
            {"value": "w@example.com", "type": "work", "primary": True},
            {"value": "h@example.com", "type": "home"}])
        g = self.patch_ok(u["id"], {"op": "remove",
                                    "path": 'emails[type eq "home"]'})
        self.assertEqual([e["value"] for e in g["emails"]], ["w@example.com"])

    def test_remove_attribute(self):
        u = self.create_user(displayName="To go", nickName="nick")
        g = self.patch_ok(u["id"], {"op": "remove", "path": "nickName"})
        self.assertNotIn("nickName", g)
        self.assertEqual(g["displayName"], "To go")

    def test_extension_path(self):
        u = self.create_user()
        g = self.patch_ok(u["id"], {
            "op": "add", "path": URN_ENTERPRISE + ":department",
            "value": "Sales"})
        self.assertEqual(g[URN_ENTERPRISE]["department"], "Sales")
        self.assertIn(URN_ENTERPRISE, g["schemas"])
        g = self.patch_ok(u["id"], {
            "op": "replace", "path": URN_ENTERPRISE + ":manager.value",
            "value": u["id"]})
        self.assertEqual(g[URN_ENTERPRISE]["manager"]["value"], u["id"])

    def test_multiple_ops_in_order(self):
        u = self.create_user()
        g = self.patch_ok(
            u["id"],
            {"op": "add", "path": "nickName", "value": "first"},
            {"op": "replace", "path": "nickName", "value": "second"},
            {"op": "replace", "path": "active", "value": False})
        self.assertEqual(g["nickName"], "second")
        self.assertIs(g["active"], False)

    def test_atomic(self):
        u = self.create_user(displayName="Before")
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "After"},
            {"op": "frobnicate", "path": "nickName", "value": "x"}))
        self.assertScimError(r, 400)
        g = self.get_user(u["id"])
        self.assertEqual(g["displayName"], "Before")
        self.assertEqual(g["meta"]["version"], u["meta"]["version"])

    def test_bad_op(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "frobnicate", "path": "nickName", "value": "x"}))
        self.assertScimError(r, 400, "invalidSyntax")

    def test_missing_operations(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]})
        self.assertScimError(r, 400)

    def test_invalid_path(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "emails[type eq", "value": "x"}))
        self.assertScimError(r, 400)
        self.assertIn(r.json.get("scimType"), ("invalidPath", "invalidFilter"))

    def test_remove_without_path(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body({"op": "remove"}))
        self.assertScimError(r, 400, "noTarget")

    def test_remove_filter_matches_nothing(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "remove", "path": 'emails[type eq "pager"]'}))
        self.assertScimError(r, 400, "noTarget")

    def test_readonly_id(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "id", "value": "something-else"}))
        self.assertScimError(r, 400, "mutability")
        self.get_user(u["id"])

    def test_wrong_value_type(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "active", "value": {"x": 1}}))
        self.assertScimError(r, 400, "invalidValue")

    def test_patch_username_uniqueness(self):
        a = self.create_user()
        b = self.create_user()
        r = self.c.patch("/Users/" + b["id"], patch_body(
            {"op": "replace", "path": "userName",
             "value": a["userName"].upper()}))
        self.assertScimError(r, 409, "uniqueness")

    def test_if_match(self):
        u = self.create_user()
        op = {"op": "replace", "path": "displayName", "value": "x"}
        r = self.c.patch("/Users/" + u["id"], patch_body(op),
                         headers={"If-Match": 'W/"stale"'})
        self.assertScimError(r, 412)
        r = self.c.patch("/Users/" + u["id"], patch_body(op),
                         headers={"If-Match": u["meta"]["version"]})
        self.assertStatus(r, 200, 204)

    def test_unknown_user(self):
        r = self.c.patch("/Users/no-such-user", patch_body(
            {"op": "replace", "path": "displayName", "value": "x"}))
        self.assertScimError(r, 404)

    def test_attributes_param(self):
        u = self.create_user()
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "Projected"}),
            params={"attributes": "displayName"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], "Projected")
        self.assertNotIn("emails", r.json)

    def test_password_change_not_returned(self):
        u = self.create_user(body=user_body(password="0ld-Passw0rd"))
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "password", "value": "N3w-Passw0rd"}))
        self.assertStatus(r, 200, 204)
        self.assertNotIn(b"Passw0rd", r.body)
        self.assertNotIn("password", self.get_user(u["id"]))


if __name__ == "__main__":
    unittest.main()
