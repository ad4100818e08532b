"""Listing and querying (RFC 7644 §3.4.2): ListResponse, filters, paging
with startIndex/count, sorting, attributes/excludedAttributes."""

import time
import unittest

from scimtest import (ScimTestCase, URN_ENTERPRISE, MAX_RESULTS, uniq,
                      user_body, create_users_fast)


class ListTest(ScimTestCase):

    def make_population(self, n=23):
        prefix = uniq("pop")
        ids = []
        for i in range(n):
            u = self.create_user("%s-%02d" % (prefix, i))
            ids.append(u["id"])
        return prefix, ids

    def test_list_response_shape(self):
        prefix, ids = self.make_population(3)
        r = self.c.get("/Users", params={"filter": 'userName sw "%s"' % prefix})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 3)
        self.assertEqual(body["itemsPerPage"], 3)
        self.assertEqual(body["startIndex"], 1)
        self.assertEqual(sorted(x["id"] for x in body["Resources"]),
                         sorted(ids))
        for x in body["Resources"]:
            self.assertIn("meta", x)
            self.assertEqual(x["meta"]["resourceType"], "User")

    def test_empty_result(self):
        r = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % uniq("absent")})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 0)
        self.assertEqual(body.get("Resources", []), [])

    def test_count_zero(self):
        prefix, ids = self.make_population(4)
        r = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix, "count": 0})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 4)
        self.assertEqual(body.get("Resources", []), [])

    def test_negative_count_is_zero(self):
        prefix, ids = self.make_population(2)
        r = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix, "count": -5})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 2)
        self.assertEqual(body.get("Resources", []), [])

    def test_start_index_below_one(self):
        prefix, ids = self.make_population(3)
        for si in (0, -3):
            with self.subTest(startIndex=si):
                r = self.c.get("/Users", params={
                    "filter": 'userName sw "%s"' % prefix, "startIndex": si})
                body = self.assertListResponse(r)
                self.assertEqual(body["startIndex"], 1)
                self.assertEqual(len(body["Resources"]), 3)

    def test_start_index_past_end(self):
        prefix, ids = self.make_population(3)
        r = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix, "startIndex": 10})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 3)
        self.assertEqual(body.get("Resources", []), [])

    def test_non_numeric_paging(self):
        r = self.c.get("/Users", params={"count": "ten"})
        self.assertScimError(r, 400)
        r = self.c.get("/Users", params={"startIndex": "x"})
        self.assertScimError(r, 400)

    def test_paging_stable(self):
        prefix, ids = self.make_population(23)
        flt = 'userName sw "%s"' % prefix
        for extra in ([], [("sortBy", "userName")],
                      [("sortBy", "userName"), ("sortOrder", "descending")]):
            with self.subTest(extra=extra):
                seen = []
                for start in range(1, 24, 5):
                    r = self.c.get("/Users", params=[
                        ("filter", flt), ("startIndex", start),
                        ("count", 5)] + extra)
                    body = self.assertListResponse(r)
                    self.assertEqual(body["totalResults"], 23)
                    self.assertEqual(body["startIndex"], start)
                    self.assertEqual(body["itemsPerPage"],
                                     len(body["Resources"]))
                    self.assertEqual(len(body["Resources"]),
                                     min(5, 23 - start + 1))
                    seen.extend(x["id"] for x in body["Resources"])
                self.assertEqual(len(seen), len(set(seen)), "repeats")
                self.assertEqual(sorted(seen), sorted(ids), "skips")

    def test_default_order_stable_across_calls(self):
        prefix, ids = self.make_population(8)
        flt = 'userName sw "%s"' % prefix
        a = [x["id"] for x in self.c.get("/Users", params={
            "filter": flt}).json["Resources"]]
        b = [x["id"] for x in self.c.get("/Users", params={
            "filter": flt}).json["Resources"]]
        self.assertEqual(a, b)

    def test_sort(self):
        prefix = uniq("sort")
        names = {"c": ("Carol", "Alpha"), "a": ("Alice", "Charlie"),
                 "b": ("Bob", "Bravo")}
        for k, (given, family) in names.items():
            self.create_user("%s-%s" % (prefix, k),
                             name={"givenName": given, "familyName": family})
            time.sleep(0.005)  # distinct meta.created (ms resolution)
        flt = 'userName sw "%s"' % prefix

        def order(**p):
            p["filter"] = flt
            r = self.c.get("/Users", params=p)
            self.assertStatus(r, 200)
            return [x["userName"][-1] for x in r.json["Resources"]]
        self.assertEqual(order(sortBy="userName"), ["a", "b", "c"])
        self.assertEqual(order(sortBy="userName", sortOrder="ascending"),
                         ["a", "b", "c"])
        self.assertEqual(order(sortBy="userName", sortOrder="descending"),
                         ["c", "b", "a"])
        self.assertEqual(order(sortBy="name.familyName"), ["c", "b", "a"])
        self.assertEqual(order(sortBy="name.givenName"), ["a", "b", "c"])
        self.assertEqual(order(sortBy="NAME.GIVENNAME"), ["a", "b", "c"])
        self.assertEqual(order(sortBy="meta.created"), ["c", "a", "b"])
        self.assertEqual(order(sortBy="meta.created",
                               sortOrder="descending"), ["b", "a", "c"])

    def test_sort_case_insensitive_values(self):
        prefix = uniq("sortci")
        self.create_user(prefix + "-b")
        self.create_user(prefix + "-A")
        self.create_user(prefix + "-C")
        r = self.c.get("/Users", params={"filter": 'userName sw "%s"' % prefix,
                                         "sortBy": "userName"})
        got = [x["userName"][-1] for x in r.json["Resources"]]
        # userName is caseExact=false, so it sorts case-insensitively
        self.assertEqual(got, ["A", "b", "C"])

    def test_sort_with_paging(self):
        prefix, ids = self.make_population(12)
        flt = 'userName sw "%s"' % prefix
        names = []
        for start in (1, 6, 11):
            r = self.c.get("/Users", params={
                "filter": flt, "sortBy": "userName", "sortOrder": "descending",
                "startIndex": start, "count": 5})
            names.extend(x["userName"] for x in r.json["Resources"])
        self.assertEqual(names, sorted(names, reverse=True))
        self.assertEqual(len(names), 12)

    def test_attributes_on_list(self):
        prefix, ids = self.make_population(2)
        r = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix, "attributes": "userName"})
        body = self.assertListResponse(r)
        for x in body["Resources"]:
            self.assertIn("id", x)
            self.assertIn("userName", x)
            self.assertNotIn("name", x)
            self.assertNotIn("emails", x)
        r = self.c.get("/Users", params={
            "filter": 'userName sw "%s"' % prefix,
            "excludedAttributes": "name,emails"})
        for x in r.json["Resources"]:
            self.assertIn("userName", x)
            self.assertNotIn("name", x)
            self.assertNotIn("emails", x)

    def test_count_clamped_to_max_results(self):
        prefix = uniq("clamp")
        n = MAX_RESULTS + 5
        create_users_fast(self.c, prefix, n)
        flt = 'userName sw "%s"' % prefix
        r = self.c.get("/Users", params={"filter": flt, "count": 100000})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], n)
        self.assertEqual(len(body["Resources"]), MAX_RESULTS)
        self.assertEqual(body["itemsPerPage"], MAX_RESULTS)
        # and without count the page is not bigger either
        r = self.c.get("/Users", params={"filter": flt})
        body = self.assertListResponse(r)
        self.assertLessEqual(len(body["Resources"]), MAX_RESULTS)
        self.assertEqual(body["itemsPerPage"], len(body["Resources"]))
        # the rest is reachable
        r = self.c.get("/Users", params={"filter": flt, "count": 100000,
                                         "startIndex": MAX_RESULTS + 1})
        self.assertEqual(len(r.json["Resources"]), 5)

    def test_unfiltered_list(self):
        self.create_user()
        r = self.c.get("/Users", params={"count": 3})
        body = self.assertListResponse(r)
        self.assertGreaterEqual(body["totalResults"], 1)
        self.assertLessEqual(len(body["Resources"]), 3)


class FilterTest(ScimTestCase):
    """Filter operators end to end, on a small private population."""

    def setUp(self):
        super(FilterTest, self).setUp()
        self.prefix = uniq("flt")
        p = self.prefix
        self.u = {}
        for key, extra in (
                ("ann", dict(displayName="Ann Smith", title="Engineer",
                             emails=[{"value": "ann@work.example",
                                      "type": "work", "primary": True},
                                     {"value": "ann@home.example",
                                      "type": "home"}],
                             externalId="EXT-" + p + "-ann",
                             active=True)),
                ("bob", dict(displayName="Bob Jones",
                             emails=[{"value": "bob@home.example",
                                      "type": "home"}],
                             active=False)),
                ("cy", dict(displayName="Cy Smithers", title="Manager",
                            active=True))):
            body = user_body("%s-%s" % (p, key), **extra)
            if key == "cy":
                del body["emails"]
                body[URN_ENTERPRISE] = {"employeeNumber": "E-" + p,
                                        "department": "Sales"}
            self.u[key] = self.create_user(body=body)

    def match(self, flt):
        full = '(userName sw "%s") and (%s)' % (self.prefix, flt)
        r = self.c.get("/Users", params={"filter": full})
        self.assertListResponse(r)
        return sorted(x["userName"].rsplit("-", 1)[1]
                      for x in r.json["Resources"])

    def test_operators(self):
        cases = [
            ('userName eq "%s-ann"' % self.prefix, ["ann"]),
            ('userName eq "%s-ANN"' % self.prefix.upper(), ["ann"]),
            ('userName ne "%s-ann"' % self.prefix, ["bob", "cy"]),
            ('displayName co "Smith"', ["ann", "cy"]),
            ('displayName sw "bob"', ["bob"]),
            ('displayName ew "jones"', ["bob"]),
            ('title pr', ["ann", "cy"]),
            ('not (title pr)', ["bob"]),
            ('active eq true', ["ann", "cy"]),
            ('active eq false', ["bob"]),
            ('title eq "Engineer" or title eq "Manager"', ["ann", "cy"]),
            ('displayName co "Smith" and title eq "Manager"', ["cy"]),
            ('emails[type eq "work" and value co "@work"]', ["ann"]),
            ('emails.value ew "home.example"', ["ann", "bob"]),
            ('emails.type eq "home"', ["ann", "bob"]),
            ('emails pr', ["ann", "bob"]),
            # a complex multi-valued attribute compares on its value
            ('emails co "@work"', ["ann"]),
            ('externalId eq "EXT-%s-ann"' % self.prefix, ["ann"]),
            # externalId is caseExact
            ('externalId eq "ext-%s-ann"' % self.prefix, []),
            ('%s:employeeNumber eq "E-%s"' % (URN_ENTERPRISE, self.prefix),
             ["cy"]),
            ('%s:department eq "sales"' % URN_ENTERPRISE, ["cy"]),
            ('meta.resourceType eq "User"', ["ann", "bob", "cy"]),
            ('meta.lastModified gt "2000-01-01T00:00:00Z"',
             ["ann", "bob", "cy"]),
            ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
            ('id eq "%s"' % self.u["bob"]["id"], ["bob"]),
            ('noSuchAttribute eq "x"', []),
            # precedence: and binds tighter than or
            ('title eq "Engineer" or title eq "Manager" and active eq false',
             ["ann"]),
            ('(title eq "Engineer" or title eq "Manager") and active eq true',
             ["ann", "cy"]),
            # case-insensitive attribute names and operators
            ('DISPLAYNAME CO "smith" AND Title Pr', ["ann", "cy"]),
        ]
        for flt, want in cases:
            with self.subTest(filter=flt):
                self.assertEqual(self.match(flt), want)

    def test_invalid_filters(self):
        for flt in ('userName eq', 'userName zz "x"', 'userName eq "x',
                    '(userName eq "x"', 'userName eq "x")', 'and',
                    'emails[type eq "work"', 'userName eq "x" or',
                    'userName eq x', '"x" eq userName',
                    'active gt true'):
            with self.subTest(filter=flt):
                r = self.c.get("/Users", params={"filter": flt})
                body = self.assertScimError(r, 400, "invalidFilter")
                self.assertTrue(body.get("detail"), r)

    def test_plus_encoded_spaces(self):
        # Some clients send spaces as '+' in the query string.
        path = "/Users?filter=userName+eq+%%22%s-ann%%22" % self.prefix
        r = self.c.get(path)
        body = self.assertListResponse(r)
        self.assertEqual([x["id"] for x in body["Resources"]],
                         [self.u["ann"]["id"]])


if __name__ == "__main__":
    unittest.main()
