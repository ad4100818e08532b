"""Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, per-operation
status strings, limits."""

import json
import unittest

from scimtest import (ScimTestCase, URN_BULK_REQ, URN_BULK_RESP, URN_GROUP,
                      URN_ERROR, BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD, uniq,
                      user_body, patch_body, group_body)


def bulk(ops, fail_on_errors=None):
    body = {"schemas": [URN_BULK_REQ], "Operations": ops}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def id_from_location(loc):
    return loc.rstrip("/").rsplit("/", 1)[1]


class BulkTest(ScimTestCase):

    def run_bulk(self, ops, fail_on_errors=None):
        r = self.c.post("/Bulk", bulk(ops, fail_on_errors))
        self.assertStatus(r, 200)
        self.assertScimContentType(r)
        body = r.json
        self.assertIn(URN_BULK_RESP, body["schemas"])
        for op in body["Operations"]:
            self.assertIsInstance(op["status"], str,
                                  "bulk status must be a string: %r" % op)
        return body["Operations"]

    def test_create_user_and_group_with_bulk_ids(self):
        un = uniq("bulkuser")
        gname = uniq("bulkgroup")
        ops = self.run_bulk([
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": user_body(un)},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [URN_GROUP], "displayName": gname,
                      "members": [{"type": "User",
                                   "value": "bulkId:qwerty"}]}},
        ])
        self.assertEqual(len(ops), 2)
        by_id = {op["bulkId"]: op for op in ops}
        u_op, g_op = by_id["qwerty"], by_id["ytrewq"]
        self.assertEqual(u_op["status"], "201")
        self.assertEqual(u_op["method"], "POST")
        self.assertEqual(g_op["status"], "201")
        self.assertTrue(u_op["location"].endswith("/scim/v2/Users/"
                                                  + id_from_location(
                                                      u_op["location"])))
        uid = id_from_location(u_op["location"])
        gid = id_from_location(g_op["location"])
        if "version" in u_op:
            self.assertEqual(u_op["version"],
                             self.get_user(uid)["meta"]["version"])
        self.assertEqual(self.get_user(uid)["userName"], un)
        g = self.get_group(gid)
        self.assertEqual(g["displayName"], gname)
        self.assertEqual(self.member_ids(g), [uid])
        self.assertEqual([x["value"] for x in self.get_user(uid)["groups"]],
                         [gid])

    def test_bulk_id_in_path(self):
        ops = self.run_bulk([
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": user_body()},
            {"method": "PATCH", "path": "/Users/bulkId:u1",
             "data": patch_body({"op": "replace", "path": "displayName",
                                 "value": "Patched in bulk"})},
        ])
        self.assertEqual(ops[0]["status"], "201", ops)
        self.assertIn(ops[1]["status"], ("200", "204"), ops)
        uid = id_from_location(ops[0]["location"])
        self.assertEqual(self.get_user(uid)["displayName"], "Patched in bulk")

    def test_forward_reference(self):
        # RFC 7644 §3.7.2: bulkId references are resolved whatever the
        # order of the operations.
        gname = uniq("fwdgroup")
        ops = self.run_bulk([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": group_body(gname, [{"value": "bulkId:later"}])},
            {"method": "POST", "path": "/Users", "bulkId": "later",
             "data": user_body()},
        ])
        by_id = {op["bulkId"]: op for op in ops}
        self.assertEqual(by_id["g"]["status"], "201", ops)
        self.assertEqual(by_id["later"]["status"], "201", ops)
        uid = id_from_location(by_id["later"]["location"])
        gid = id_from_location(by_id["g"]["location"])
        self.assertEqual(self.member_ids(self.get_group(gid)), [uid])

    def test_put_patch_delete(self):
        u = self.create_user()
        v = self.create_user()
        ops = self.run_bulk([
            {"method": "PUT", "path": "/Users/" + u["id"],
             "version": u["meta"]["version"],
             "data": user_body(u["userName"], displayName="Put in bulk")},
            {"method": "PATCH", "path": "/Users/" + v["id"],
             "data": patch_body({"op": "replace", "path": "active",
                                 "value": False})},
            {"method": "DELETE", "path": "/Users/" + v["id"]},
        ])
        self.assertEqual([op["status"] for op in ops][0::2], ["200", "204"],
                         ops)
        self.assertIn(ops[1]["status"], ("200", "204"), ops)
        # Every result says where its resource is (RFC 7644 §3.7.3),
        # DELETE included.
        for op, rid in zip(ops, (u["id"], v["id"], v["id"])):
            self.assertTrue(op.get("location", "").endswith(
                "/scim/v2/Users/" + rid), op)
        self.assertEqual(self.get_user(u["id"])["displayName"], "Put in bulk")
        self.assertScimError(self.c.get("/Users/" + v["id"]), 404)

    def test_version_mismatch(self):
        u = self.create_user()
        ops = self.run_bulk([
            {"method": "PUT", "path": "/Users/" + u["id"],
             "version": 'W/"stale"',
             "data": user_body(u["userName"], displayName="x")}])
        self.assertEqual(ops[0]["status"], "412")

    def test_per_operation_errors(self):
        existing = self.create_user()
        ops = self.run_bulk([
            {"method": "POST", "path": "/Users", "bulkId": "dup",
             "data": user_body(existing["userName"])},
            {"method": "POST", "path": "/Users", "bulkId": "ok",
             "data": user_body()},
            {"method": "DELETE", "path": "/Users/no-such-" + uniq()},
        ])
        self.assertEqual(len(ops), 3)
        self.assertEqual([op["status"] for op in ops], ["409", "201", "404"])
        err = ops[0]["response"]
        self.assertIn(URN_ERROR, err["schemas"])
        self.assertEqual(err["status"], "409")
        self.assertEqual(err["scimType"], "uniqueness")
        self.assertEqual(ops[2]["response"]["status"], "404")

    def test_fail_on_errors(self):
        existing = self.create_user()
        un_after = uniq("never")
        ops = self.run_bulk([
            {"method": "POST", "path": "/Users", "bulkId": "a",
             "data": user_body()},
            {"method": "POST", "path": "/Users", "bulkId": "b",
             "data": user_body(existing["userName"])},
            {"method": "POST", "path": "/Users", "bulkId": "c",
             "data": user_body(un_after)},
        ], fail_on_errors=1)
        self.assertEqual([op["status"] for op in ops], ["201", "409"])
        lst = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % un_after}).json
        self.assertEqual(lst["totalResults"], 0,
                         "operation after failOnErrors was reached ran")

    def test_unresolvable_bulk_id(self):
        ops = self.run_bulk([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": group_body(None, [{"value": "bulkId:nowhere"}])}])
        self.assertEqual(len(ops), 1)
        self.assertTrue(ops[0]["status"].startswith("4"), ops)
        self.assertIn(URN_ERROR, ops[0]["response"]["schemas"])

    def test_post_without_bulk_id(self):
        r = self.c.post("/Bulk", bulk([
            {"method": "POST", "path": "/Users", "data": user_body()}]))
        # RFC 7644 §3.7: bulkId is REQUIRED for POST
        if r.status == 200:
            self.assertTrue(r.json["Operations"][0]["status"].startswith("4"))
        else:
            self.assertScimError(r, 400)

    def test_bad_method_and_path(self):
        ops = self.run_bulk([
            {"method": "FETCH", "path": "/Users", "bulkId": "x",
             "data": user_body()},
            {"method": "POST", "path": "/Printers", "bulkId": "y",
             "data": user_body()}])
        for op in ops:
            self.assertTrue(op["status"].startswith("4"), op)

    def test_too_many_operations(self):
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user_body()} for i in range(BULK_MAX_OPERATIONS + 1)]
        marker = ops[0]["data"]["userName"]
        r = self.c.post("/Bulk", bulk(ops))
        self.assertScimError(r, 413)
        lst = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % marker}).json
        self.assertEqual(lst["totalResults"], 0)

    def test_max_operations_ok(self):
        prefix = uniq("bulkmax")
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user_body("%s-%03d" % (prefix, i))}
               for i in range(BULK_MAX_OPERATIONS)]
        res = self.run_bulk(ops)
        self.assertEqual(len(res), BULK_MAX_OPERATIONS)
        self.assertTrue(all(op["status"] == "201" for op in res))
        lst = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix, "count": 0}).json
        self.assertEqual(lst["totalResults"], BULK_MAX_OPERATIONS)

    def test_payload_too_large(self):
        big = "x" * (BULK_MAX_PAYLOAD + 1024)
        body = json.dumps(bulk([{"method": "POST", "path": "/Users",
                                 "bulkId": "big",
                                 "data": user_body(displayName=big)}]))
        r = self.c.post("/Bulk", raw=body)
        self.assertScimError(r, 413)

    def test_malformed(self):
        self.assertScimError(self.c.post("/Bulk", raw=b'{"schemas":'), 400,
                             "invalidSyntax")
        r = self.c.post("/Bulk", {"schemas": [URN_BULK_REQ]})
        self.assertScimError(r, 400)
        r = self.c.post("/Bulk", {"schemas": [URN_BULK_REQ],
                                  "Operations": "nope"})
        self.assertScimError(r, 400)

    def test_bulk_requires_post(self):
        r = self.c.get("/Bulk")
        self.assertIn(r.status, (404, 405, 501), repr(r))
        self.assertScimError(r, r.status)


if __name__ == "__main__":
    unittest.main()
