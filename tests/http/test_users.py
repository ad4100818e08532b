"""User resources: create, read, replace, delete, versioning (RFC 7644 §3.3,
§3.4.1, §3.5.1, §3.6, §3.14), uniqueness, returned=never, projection."""

import datetime
import re
import unittest

from scimtest import (ScimTestCase, URN_USER, URN_ENTERPRISE, uniq, user_body,
                      patch_body)


def parse_datetime(s):
    s = s.replace("Z", "+00:00")
    s = re.sub(r"\.(\d{6})\d+", r".\1", s)
    return datetime.datetime.fromisoformat(s)


class UserCreateTest(ScimTestCase):

    def test_create_201(self):
        body = user_body()
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        self.assertScimContentType(r)
        u = r.json
        self.assertTrue(u.get("id"))
        self.assertIn(URN_USER, u["schemas"])
        self.assertEqual(u["userName"], body["userName"])
        self.assertEqual(u["name"]["givenName"], "Given")
        self.assertEqual(u["emails"][0]["value"], body["emails"][0]["value"])
        self.assertIs(u["active"], True)
        meta = u["meta"]
        self.assertEqual(meta["resourceType"], "User")
        for k in ("created", "lastModified", "location", "version"):
            self.assertIn(k, meta)
        parse_datetime(meta["created"])
        parse_datetime(meta["lastModified"])
        self.assertEqual(meta["created"], meta["lastModified"])
        self.assertTrue(meta["location"].startswith("http://"), meta)
        self.assertTrue(meta["location"].endswith("/scim/v2/Users/" + u["id"]),
                        meta)
        self.assertEqual(r.header("Location"), meta["location"])
        etag = self.assertWeakETag(r)
        self.assertEqual(meta["version"], etag)

    def test_location_is_fetchable(self):
        r = self.c.post("/Users", user_body())
        self.assertStatus(r, 201)
        r2 = self.c.get(r.header("Location"))
        self.assertStatus(r2, 200)
        self.assertEqual(r2.json["id"], r.json["id"])

    def test_ids_unique(self):
        a = self.create_user()
        b = self.create_user()
        self.assertNotEqual(a["id"], b["id"])

    def test_client_id_and_meta_ignored(self):
        body = user_body(id="client-chosen-id",
                         meta={"resourceType": "User", "version": 'W/"999"',
                               "created": "2001-01-01T00:00:00Z"})
        u = self.create_user(body=body)
        self.assertNotEqual(u["id"], "client-chosen-id")
        self.assertNotEqual(u["meta"]["version"], 'W/"999"')
        self.assertFalse(u["meta"]["created"].startswith("2001"))

    def test_application_json_accepted(self):
        r = self.c.post("/Users", user_body(), content_type="application/json")
        self.assertStatus(r, 201)
        r = self.c.post("/Users", user_body(),
                        content_type="application/scim+json; charset=utf-8")
        self.assertStatus(r, 201)

    def test_missing_username(self):
        body = user_body()
        del body["userName"]
        self.assertScimError(self.c.post("/Users", body), 400)

    def test_wrong_type(self):
        body = user_body(active="maybe")
        self.assertScimError(self.c.post("/Users", body), 400, "invalidValue")
        body = user_body(name="Not a complex value")
        self.assertScimError(self.c.post("/Users", body), 400, "invalidValue")

    def test_two_primary_emails(self):
        body = user_body(emails=[
            {"value": "a@example.com", "type": "work", "primary": True},
            {"value": "b@example.com", "type": "home", "primary": True}])
        self.assertScimError(self.c.post("/Users", body), 400)

    def test_duplicate_username(self):
        un = uniq("dup")
        self.create_user(un)
        r = self.c.post("/Users", user_body(un))
        self.assertScimError(r, 409, "uniqueness")

    def test_duplicate_username_case_insensitive(self):
        base = uniq("Alice")
        self.create_user(base + "@x")
        r = self.c.post("/Users", user_body(base.lower() + "@x"))
        self.assertScimError(r, 409, "uniqueness")
        r = self.c.post("/Users", user_body(base.upper() + "@X"))
        self.assertScimError(r, 409, "uniqueness")

    def test_unicode_username(self):
        un = uniq("J\u00fcrgen-\u6f22\u5b57")
        u = self.create_user(un)
        self.assertEqual(u["userName"], un)
        self.assertEqual(self.get_user(u["id"])["userName"], un)

    def test_password_never_returned(self):
        body = user_body(password="S3cret!pass")
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        self.assertNotIn("password", r.json)
        uid = r.json["id"]
        self.assertNotIn("password", self.get_user(uid))
        self.assertNotIn("password", self.get_user(uid, attributes="password"))
        lst = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % body["userName"]}).json
        self.assertEqual(lst["totalResults"], 1)
        self.assertNotIn("password", lst["Resources"][0])
        self.assertNotIn("S3cret", r.text)

    def test_readonly_groups_ignored_on_create(self):
        body = user_body(groups=[{"value": "no-such-group"}])
        u = self.create_user(body=body)
        self.assertFalse(u.get("groups"), u)

    def test_enterprise_extension(self):
        body = user_body()
        body["schemas"].append(URN_ENTERPRISE)
        body[URN_ENTERPRISE] = {"employeeNumber": "701984",
                                "costCenter": "4130",
                                "department": "Tour Operations"}
        u = self.create_user(body=body)
        self.assertIn(URN_ENTERPRISE, u["schemas"])
        self.assertEqual(u[URN_ENTERPRISE]["employeeNumber"], "701984")
        g = self.get_user(u["id"])
        self.assertEqual(g[URN_ENTERPRISE]["department"], "Tour Operations")

    def test_unknown_attributes_dropped(self):
        body = user_body(favouriteColour="green")
        u = self.create_user(body=body)
        self.assertNotIn("favouriteColour", u)


class UserReadTest(ScimTestCase):

    def test_get(self):
        u = self.create_user()
        r = self.c.get("/Users/" + u["id"])
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        self.assertEqual(r.json, u)
        self.assertEqual(self.assertWeakETag(r), u["meta"]["version"])

    def test_get_unknown(self):
        r = self.c.get("/Users/does-not-exist-" + uniq())
        self.assertScimError(r, 404)

    def test_if_none_match(self):
        u = self.create_user()
        etag = u["meta"]["version"]
        r = self.c.get("/Users/" + u["id"], headers={"If-None-Match": etag})
        self.assertStatus(r, 304)
        self.assertEqual(r.body, b"")
        r = self.c.get("/Users/" + u["id"],
                       headers={"If-None-Match": 'W/"not-the-version"'})
        self.assertStatus(r, 200)

    def test_if_none_match_after_change(self):
        u = self.create_user()
        old = u["meta"]["version"]
        r = self.c.patch("/Users/" + u["id"], patch_body(
            {"op": "replace", "path": "displayName", "value": "Changed"}))
        self.assertStatus(r, 200, 204)
        r = self.c.get("/Users/" + u["id"], headers={"If-None-Match": old})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["displayName"], "Changed")

    def test_attributes(self):
        u = self.create_user()
        g = self.get_user(u["id"], attributes="userName")
        self.assertEqual(g["id"], u["id"])
        self.assertEqual(g["userName"], u["userName"])
        self.assertNotIn("name", g)
        self.assertNotIn("emails", g)
        self.assertNotIn("active", g)

    def test_attributes_subattribute(self):
        u = self.create_user()
        g = self.get_user(u["id"], attributes="name.familyName,emails.value")
        self.assertEqual(g["name"], {"familyName": "Family"})
        self.assertEqual(g["emails"], [{"value": u["emails"][0]["value"]}])

    def test_attributes_case_insensitive(self):
        u = self.create_user()
        g = self.get_user(u["id"], attributes="USERNAME,Name.GivenName")
        self.assertEqual(g["userName"], u["userName"])
        self.assertEqual(g["name"], {"givenName": "Given"})

    def test_excluded_attributes(self):
        u = self.create_user()
        g = self.get_user(u["id"], excludedAttributes="emails,name")
        self.assertNotIn("emails", g)
        self.assertNotIn("name", g)
        self.assertEqual(g["userName"], u["userName"])
        # returned=always attributes cannot be excluded
        g = self.get_user(u["id"], excludedAttributes="id,userName")
        self.assertEqual(g["id"], u["id"])

    def test_attributes_extension(self):
        body = user_body()
        body[URN_ENTERPRISE] = {"employeeNumber": "42", "department": "R&D"}
        u = self.create_user(body=body)
        g = self.get_user(u["id"],
                          attributes=URN_ENTERPRISE + ":employeeNumber")
        self.assertEqual(g[URN_ENTERPRISE], {"employeeNumber": "42"})
        self.assertNotIn("name", g)


class UserReplaceTest(ScimTestCase):

    def test_put(self):
        u = self.create_user()
        body = user_body(u["userName"], displayName="Replaced",
                         name={"givenName": "New", "familyName": "Name"})
        r = self.c.put("/Users/" + u["id"], body)
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        p = r.json
        self.assertEqual(p["id"], u["id"])
        self.assertEqual(p["displayName"], "Replaced")
        self.assertEqual(p["name"]["givenName"], "New")
        self.assertEqual(p["meta"]["created"], u["meta"]["created"])
        self.assertNotEqual(p["meta"]["version"], u["meta"]["version"])
        self.assertEqual(self.assertWeakETag(r), p["meta"]["version"])
        self.assertGreaterEqual(parse_datetime(p["meta"]["lastModified"]),
                                parse_datetime(u["meta"]["lastModified"]))
        self.assertEqual(self.get_user(u["id"]), p)

    def test_put_removes_absent_attributes(self):
        u = self.create_user(displayName="To be dropped")
        body = user_body(u["userName"])
        r = self.c.put("/Users/" + u["id"], body)
        self.assertStatus(r, 200)
        self.assertNotIn("displayName", r.json)

    def test_put_if_match(self):
        u = self.create_user()
        body = user_body(u["userName"], displayName="v2")
        r = self.c.put("/Users/" + u["id"], body,
                       headers={"If-Match": 'W/"stale-version"'})
        self.assertScimError(r, 412)
        r = self.c.put("/Users/" + u["id"], body,
                       headers={"If-Match": u["meta"]["version"]})
        self.assertStatus(r, 200)
        # the old version no longer matches
        r = self.c.put("/Users/" + u["id"], body,
                       headers={"If-Match": u["meta"]["version"]})
        self.assertScimError(r, 412)
        r = self.c.put("/Users/" + u["id"], body, headers={"If-Match": "*"})
        self.assertStatus(r, 200)

    def test_put_unknown(self):
        r = self.c.put("/Users/unknown-" + uniq(), user_body())
        self.assertScimError(r, 404)

    def test_put_username_conflict(self):
        a = self.create_user()
        b = self.create_user()
        r = self.c.put("/Users/" + b["id"], user_body(a["userName"].upper()))
        self.assertScimError(r, 409, "uniqueness")

    def test_put_change_username_case(self):
        u = self.create_user()
        r = self.c.put("/Users/" + u["id"], user_body(u["userName"].upper()))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["userName"], u["userName"].upper())

    def test_put_id_in_body_ignored_or_matching(self):
        u = self.create_user()
        body = user_body(u["userName"], id=u["id"], displayName="x")
        r = self.c.put("/Users/" + u["id"], body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], u["id"])


class UserDeleteTest(ScimTestCase):

    def test_delete(self):
        u = self.create_user()
        r = self.c.delete("/Users/" + u["id"])
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertScimError(self.c.get("/Users/" + u["id"]), 404)
        self.assertScimError(self.c.delete("/Users/" + u["id"]), 404)
        lst = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % u["userName"]}).json
        self.assertEqual(lst["totalResults"], 0)

    def test_delete_if_match(self):
        u = self.create_user()
        r = self.c.delete("/Users/" + u["id"],
                          headers={"If-Match": 'W/"stale"'})
        self.assertScimError(r, 412)
        r = self.c.delete("/Users/" + u["id"],
                          headers={"If-Match": u["meta"]["version"]})
        self.assertStatus(r, 204)

    def test_username_reusable_after_delete(self):
        u = self.create_user()
        self.assertStatus(self.c.delete("/Users/" + u["id"]), 204)
        v = self.create_user(u["userName"])
        self.assertNotEqual(v["id"], u["id"])


if __name__ == "__main__":
    unittest.main()
