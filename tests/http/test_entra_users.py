"""Microsoft Entra ID provisioning of users, with request bodies as Entra
sends them ("Tutorial: Develop and plan provisioning for a SCIM endpoint in
Microsoft Entra ID"; "Known issues and resolutions with SCIM 2.0 protocol
compliance of the Microsoft Entra user provisioning service", including the
aadOptscim062020 behaviour)."""

import unittest
import uuid

from scimtest import ScimTestCase, URN_USER, URN_ENTERPRISE, URN_PATCH

FLAG = "aadOptscim062020"


def entra_user(user_name=None, external_id=None):
    """The tutorial's "Create User" request, plus the enterprise extension
    Entra adds when those attributes are mapped."""
    un = user_name or "Test_User_%s" % uuid.uuid4()
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id or str(uuid.uuid4()),
        "userName": un,
        "active": True,
        "addresses": [{
            "country": "US",
            "locality": "Redmond",
            "postalCode": "98052",
            "region": "WA",
            "streetAddress": "1 Microsoft Way",
            "type": "work",
            "primary": True
        }],
        "displayName": "displayName",
        "emails": [{
            "primary": True,
            "type": "work",
            "value": "Test_User_%s@testuser.com" % uuid.uuid4()
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "phoneNumbers": [{"type": "work", "value": "+1 425-555-0100"}],
        "title": "Product Manager",
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Engineering",
            "employeeNumber": "100001",
            "costCenter": "CC-1",
            "organization": "Contoso",
            "division": "Cloud"
        }
    }


def patch(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


class EntraUserTest(ScimTestCase):

    def entra_create(self, body=None):
        body = body or entra_user()
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        return r.json

    def entra_patch(self, uid, body, flag=False):
        r = self.c.patch("/Users/" + uid, body,
                         params=[(FLAG, None)] if flag else None)
        self.assertStatus(r, 200, 204)
        return self.get_user(uid)

    # -- Test Connection and matching

    def test_query_absent_user_returns_empty_list(self):
        # "Test Connection" and matching: the tutorial's exact query
        r = self.c.get("/Users", params={
            "filter": 'userName eq "Test_User_dfeef4c5-5681-4387-b016-'
                      'bdf221e82081"'})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 0)
        self.assertEqual(body.get("Resources", []), [])
        # ... also when Entra appends its flag to the tenant URL
        r = self.c.get("/Users", params=[
            (FLAG, None),
            ("filter", 'userName eq "Test_User_%s"' % uuid.uuid4())])
        self.assertEqual(self.assertListResponse(r)["totalResults"], 0)

    def test_create_user(self):
        body = entra_user()
        u = self.entra_create(body)
        self.assertEqual(u["userName"], body["userName"])
        self.assertEqual(u["externalId"], body["externalId"])
        self.assertIs(u["active"], True)
        self.assertEqual(u["emails"][0]["type"], "work")
        self.assertEqual(u["emails"][0]["value"], body["emails"][0]["value"])
        self.assertEqual(u["addresses"][0]["type"], "work")
        self.assertEqual(u["addresses"][0]["locality"], "Redmond")
        self.assertEqual(u["name"]["formatted"], "givenName familyName")
        self.assertIn(URN_ENTERPRISE, u["schemas"])
        self.assertEqual(u[URN_ENTERPRISE]["employeeNumber"], "100001")
        self.assertEqual(u["meta"]["resourceType"], "User")
        self.assertTrue(u["id"])

    def test_match_by_username_and_external_id(self):
        body = entra_user()
        u = self.entra_create(body)
        for flt in ('userName eq "%s"' % body["userName"],
                    'externalId eq "%s"' % body["externalId"]):
            with self.subTest(flt=flt):
                r = self.c.get("/Users", params={"filter": flt})
                lst = self.assertListResponse(r)
                self.assertEqual(lst["totalResults"], 1)
                self.assertEqual(lst["Resources"][0]["id"], u["id"])

    def test_get_by_id(self):
        u = self.entra_create()
        self.assertEqual(self.get_user(u["id"])["userName"], u["userName"])

    def test_flag_is_ignored(self):
        body = entra_user()
        r = self.c.post("/Users", body, params=[(FLAG, None)])
        self.assertStatus(r, 201)
        u = r.json
        r = self.c.get("/Users/" + u["id"], params=[(FLAG, None)])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], u["id"])
        flt = 'userName eq "%s"' % body["userName"]
        a = self.c.get("/Users", params=[("filter", flt)])
        b = self.c.get("/Users", params=[(FLAG, None), ("filter", flt)])
        c = self.c.get("/Users", params=[("filter", flt), (FLAG, "true")])
        for x in (a, b, c):
            self.assertListResponse(x)
        self.assertEqual(a.json["Resources"], b.json["Resources"])
        self.assertEqual(a.json["Resources"], c.json["Resources"])
        self.assertEqual(b.json["totalResults"], 1)
        r = self.c.delete("/Users/" + u["id"], params=[(FLAG, None)])
        self.assertStatus(r, 204)

    def test_duplicate_create_conflict(self):
        body = entra_user()
        self.entra_create(body)
        again = entra_user(body["userName"].upper())
        r = self.c.post("/Users", again)
        self.assertScimError(r, 409, "uniqueness")

    # -- PATCH as Entra sends it

    def test_disable_user_string_false(self):
        # Without the flag: op "Replace" capitalised, value the string "False"
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "active", "value": "False"}))
        self.assertIs(g["active"], False)
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "active", "value": "True"}))
        self.assertIs(g["active"], True)

    def test_disable_user_with_flag(self):
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "replace", "path": "active", "value": False}), flag=True)
        self.assertIs(g["active"], False)

    def test_disable_user_pathless(self):
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "replace", "value": {"active": False}}))
        self.assertIs(g["active"], False)
        # and it still comes back from the query Entra uses
        r = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % u["userName"]})
        self.assertIs(r.json["Resources"][0]["active"], False)

    def test_add_single_value_without_flag(self):
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "Add", "path": "nickName", "value": "Babs"}))
        self.assertEqual(g["nickName"], "Babs")

    def test_add_single_value_with_flag(self):
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "add", "value": {"nickName": "Babs"}}), flag=True)
        self.assertEqual(g["nickName"], "Babs")

    def test_replace_multiple_without_flag(self):
        u = self.entra_create()
        ext = "Eqpj-%s" % uuid.uuid4()
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value",
             "value": "TestBcwqnm@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": ext},
            {"op": "Replace",
             "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                     "User:employeeNumber",
             "value": "Eqpj"}))
        self.check_replaced(g, ext)

    def test_replace_multiple_with_flag(self):
        # path-less replace whose keys are themselves paths
        u = self.entra_create()
        ext = "Eqpj-%s" % uuid.uuid4()
        g = self.entra_patch(u["id"], patch({
            "op": "replace",
            "value": {
                "displayName": "Pvlo",
                "emails[type eq \"work\"].value":
                    "TestBcwqnm@test.microsoft.com",
                "name.givenName": "Gtfd",
                "name.familyName": "Pkqf",
                "externalId": ext,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                "employeeNumber": "Eqpj"
            }}), flag=True)
        self.check_replaced(g, ext)

    def check_replaced(self, g, ext):
        self.assertEqual(g["displayName"], "Pvlo")
        work = [e for e in g["emails"] if e.get("type") == "work"]
        self.assertEqual([e["value"] for e in work],
                         ["TestBcwqnm@test.microsoft.com"])
        self.assertEqual(g["name"]["givenName"], "Gtfd")
        self.assertEqual(g["name"]["familyName"], "Pkqf")
        self.assertEqual(g["name"]["formatted"], "givenName familyName")
        self.assertEqual(g["externalId"], ext)
        self.assertEqual(g[URN_ENTERPRISE]["employeeNumber"], "Eqpj")
        self.assertEqual(g[URN_ENTERPRISE]["department"], "Engineering")

    def test_replace_work_email_creates_it(self):
        body = entra_user()
        del body["emails"]
        u = self.entra_create(body)
        self.assertFalse(u.get("emails"))
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "emails[type eq \"work\"].value",
             "value": "created@contoso.com"}))
        self.assertEqual([(e.get("type"), e["value"]) for e in g["emails"]],
                         [("work", "created@contoso.com")])

    def test_replace_work_email_creates_it_next_to_others(self):
        body = entra_user()
        body["emails"] = [{"type": "home", "value": "home@contoso.com"}]
        u = self.entra_create(body)
        g = self.entra_patch(u["id"], patch(
            {"op": "replace", "path": "emails[type eq \"work\"].value",
             "value": "work@contoso.com"}))
        got = sorted((e.get("type"), e["value"]) for e in g["emails"])
        self.assertEqual(got, [("home", "home@contoso.com"),
                               ("work", "work@contoso.com")])

    def test_replace_address_subattribute(self):
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality",
             "value": "Seattle"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode",
             "value": "98101"}))
        self.assertEqual(g["addresses"][0]["locality"], "Seattle")
        self.assertEqual(g["addresses"][0]["postalCode"], "98101")
        self.assertEqual(g["addresses"][0]["streetAddress"], "1 Microsoft Way")

    def test_manager_bare_string(self):
        boss = self.entra_create()
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "Add",
             "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                     "User:manager",
             "value": boss["id"]}))
        self.assertEqual(g[URN_ENTERPRISE]["manager"]["value"], boss["id"])
        # replace it, then remove it
        boss2 = self.entra_create()
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace",
             "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                     "User:manager",
             "value": boss2["id"]}))
        self.assertEqual(g[URN_ENTERPRISE]["manager"]["value"], boss2["id"])
        g = self.entra_patch(u["id"], patch(
            {"op": "Remove",
             "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                     "User:manager"}))
        self.assertNotIn("manager", g.get(URN_ENTERPRISE, {}))

    def test_manager_pathless_bare_string(self):
        boss = self.entra_create()
        u = self.entra_create()
        g = self.entra_patch(u["id"], patch({
            "op": "replace",
            "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                      "User:manager": boss["id"]}}), flag=True)
        self.assertEqual(g[URN_ENTERPRISE]["manager"]["value"], boss["id"])

    def test_update_username(self):
        u = self.entra_create()
        new = "%s@testuser.com" % uuid.uuid4()
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "userName", "value": new}))
        self.assertEqual(g["userName"], new)
        r = self.c.get("/Users", params={"filter": 'userName eq "%s"' % new})
        self.assertEqual(r.json["totalResults"], 1)

    # -- tolerance of Entra's quirks

    def test_attribute_names_any_case(self):
        un = "Test_User_%s" % uuid.uuid4()
        body = {
            "schemas": [URN_USER],
            "UserName": un,
            "Active": True,
            "Name": {"GivenName": "Given", "FamilyName": "Family"},
            "Emails": [{"Value": un + "@contoso.com", "Type": "work",
                        "Primary": True}],
            "DisplayName": "Any Case",
        }
        r = self.c.post("/Users", body)
        self.assertStatus(r, 201)
        u = self.get_user(r.json["id"])
        self.assertEqual(u["userName"], un)
        self.assertIs(u["active"], True)
        self.assertEqual(u["name"]["givenName"], "Given")
        self.assertEqual(u["name"]["familyName"], "Family")
        self.assertEqual(u["emails"][0]["value"], un + "@contoso.com")
        self.assertEqual(u["displayName"], "Any Case")
        for k in ("UserName", "Active", "Name", "Emails", "DisplayName"):
            self.assertNotIn(k, u)
        g = self.entra_patch(u["id"], patch(
            {"op": "Replace", "path": "Name.GivenName", "value": "Patched"},
            {"op": "Replace", "path": "DISPLAYNAME", "value": "Upper"}))
        self.assertEqual(g["name"]["givenName"], "Patched")
        self.assertEqual(g["displayName"], "Upper")

    def test_null_values_are_absent(self):
        body = entra_user()
        body["nickName"] = None
        body["title"] = None
        body["name"]["middleName"] = None
        body["phoneNumbers"] = None
        body[URN_ENTERPRISE]["manager"] = None
        u = self.entra_create(body)
        for x in (u, self.get_user(u["id"])):
            self.assertNotIn("nickName", x)
            self.assertNotIn("title", x)
            self.assertNotIn("middleName", x["name"])
            self.assertNotIn("phoneNumbers", x)
            self.assertNotIn("manager", x.get(URN_ENTERPRISE, {}))
            self.assertNotIn(None, [v for v in x.values()])
        # a null active does not become false either
        body = entra_user()
        body["active"] = None
        u = self.entra_create(body)
        self.assertNotIn(None, u.values())

    def test_roles_empty_array(self):
        u = self.entra_create()
        self.assertFalse(u.get("roles"))

    def test_delete(self):
        u = self.entra_create()
        self.assertStatus(self.c.delete("/Users/" + u["id"]), 204)
        self.assertScimError(self.c.get("/Users/" + u["id"]), 404)
        r = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % u["userName"]})
        self.assertEqual(r.json["totalResults"], 0)


if __name__ == "__main__":
    unittest.main()
