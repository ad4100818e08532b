"""Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes,
Schemas. They answer without authentication."""

import unittest

from scimtest import (ScimTestCase, URN_USER, URN_GROUP, URN_ENTERPRISE,
                      URN_SPC, URN_RESTYPE, URN_SCHEMA, URN_LIST,
                      BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD, MAX_RESULTS)


class ServiceProviderConfigTest(ScimTestCase):

    def test_spc_without_auth(self):
        r = self.c.get("/ServiceProviderConfig", auth=False)
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        spc = r.json
        self.assertIn(URN_SPC, spc["schemas"])
        self.assertIs(spc["patch"]["supported"], True)
        self.assertIs(spc["bulk"]["supported"], True)
        self.assertEqual(spc["bulk"]["maxOperations"], BULK_MAX_OPERATIONS)
        self.assertEqual(spc["bulk"]["maxPayloadSize"], BULK_MAX_PAYLOAD)
        self.assertIs(spc["filter"]["supported"], True)
        self.assertEqual(spc["filter"]["maxResults"], MAX_RESULTS)
        self.assertIs(spc["etag"]["supported"], True)
        self.assertIs(spc["sort"]["supported"], True)
        self.assertIn("supported", spc["changePassword"])
        schemes = spc["authenticationSchemes"]
        self.assertTrue(schemes, "authenticationSchemes must not be empty")
        self.assertIn("oauthbearertoken",
                      [s.get("type", "").lower() for s in schemes])
        for s in schemes:
            self.assertIn("name", s)
            self.assertIn("description", s)

    def test_spc_with_auth(self):
        r = self.c.get("/ServiceProviderConfig")
        self.assertStatus(r, 200)
        self.assertIn(URN_SPC, r.json["schemas"])

    def test_spc_meta(self):
        spc = self.c.get("/ServiceProviderConfig").json
        meta = spc.get("meta", {})
        self.assertEqual(meta.get("resourceType"), "ServiceProviderConfig")
        self.assertTrue(meta.get("location", "").endswith(
            "/scim/v2/ServiceProviderConfig"), meta)


class ResourceTypesTest(ScimTestCase):

    def test_list(self):
        r = self.c.get("/ResourceTypes", auth=False)
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        body = r.json
        self.assertIn(URN_LIST, body["schemas"])
        res = {x["id"]: x for x in body["Resources"]}
        self.assertEqual(body["totalResults"], len(body["Resources"]))
        self.assertIn("User", res)
        self.assertIn("Group", res)
        self.assertEqual(res["User"]["endpoint"], "/Users")
        self.assertEqual(res["Group"]["endpoint"], "/Groups")
        self.assertEqual(res["User"]["schema"], URN_USER)
        self.assertEqual(res["Group"]["schema"], URN_GROUP)

    def test_user(self):
        r = self.c.get("/ResourceTypes/User", auth=False)
        self.assertStatus(r, 200)
        rt = r.json
        self.assertIn(URN_RESTYPE, rt["schemas"])
        self.assertEqual(rt["id"], "User")
        self.assertEqual(rt["name"], "User")
        self.assertEqual(rt["endpoint"], "/Users")
        self.assertEqual(rt["schema"], URN_USER)
        exts = {e["schema"]: e for e in rt.get("schemaExtensions", [])}
        self.assertIn(URN_ENTERPRISE, exts)
        self.assertIs(exts[URN_ENTERPRISE]["required"], False)
        self.assertEqual(rt["meta"]["resourceType"], "ResourceType")
        self.assertTrue(rt["meta"]["location"].endswith(
            "/scim/v2/ResourceTypes/User"), rt["meta"])

    def test_group(self):
        r = self.c.get("/ResourceTypes/Group", auth=False)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["schema"], URN_GROUP)

    def test_unknown(self):
        r = self.c.get("/ResourceTypes/Printer", auth=False)
        self.assertScimError(r, 404)


class SchemasTest(ScimTestCase):

    def test_list(self):
        r = self.c.get("/Schemas", auth=False)
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        body = r.json
        self.assertIn(URN_LIST, body["schemas"])
        ids = [s["id"] for s in body["Resources"]]
        for urn in (URN_USER, URN_GROUP, URN_ENTERPRISE):
            self.assertIn(urn, ids)
        for s in body["Resources"]:
            self.assertIn(URN_SCHEMA, s.get("schemas", [URN_SCHEMA]))
            self.assertIsInstance(s["attributes"], list)

    def test_user_schema(self):
        r = self.c.get("/Schemas/" + URN_USER, auth=False)
        self.assertStatus(r, 200)
        s = r.json
        self.assertEqual(s["id"], URN_USER)
        self.assertEqual(s["meta"]["resourceType"], "Schema")
        self.assertTrue(s["meta"]["location"].endswith(
            "/scim/v2/Schemas/" + URN_USER), s["meta"])
        attrs = {a["name"]: a for a in s["attributes"]}
        un = attrs["userName"]
        self.assertEqual(un["type"], "string")
        self.assertIs(un["required"], True)
        self.assertIs(un["caseExact"], False)
        self.assertEqual(un["uniqueness"], "server")
        self.assertEqual(attrs["password"]["returned"], "never")
        self.assertEqual(attrs["password"]["mutability"], "writeOnly")
        self.assertEqual(attrs["groups"]["mutability"], "readOnly")
        self.assertEqual(attrs["name"]["type"], "complex")
        subs = [a["name"] for a in attrs["name"]["subAttributes"]]
        self.assertIn("givenName", subs)
        self.assertIn("familyName", subs)
        emails = attrs["emails"]
        self.assertIs(emails["multiValued"], True)

    def test_group_schema(self):
        s = self.c.get("/Schemas/" + URN_GROUP, auth=False).json
        attrs = {a["name"]: a for a in s["attributes"]}
        self.assertIn("displayName", attrs)
        self.assertIn("members", attrs)
        self.assertIs(attrs["members"]["multiValued"], True)

    def test_enterprise_schema(self):
        s = self.c.get("/Schemas/" + URN_ENTERPRISE, auth=False).json
        attrs = {a["name"]: a for a in s["attributes"]}
        for n in ("employeeNumber", "costCenter", "organization",
                  "division", "department", "manager"):
            self.assertIn(n, attrs)
        self.assertEqual(attrs["manager"]["type"], "complex")

    def test_unknown_schema(self):
        r = self.c.get("/Schemas/urn:example:no:such:schema", auth=False)
        self.assertScimError(r, 404)


if __name__ == "__main__":
    unittest.main()
