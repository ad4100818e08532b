"""POST /{Resource}/.search with a SearchRequest (RFC 7644 §3.4.3)."""

import unittest

from scimtest import ScimTestCase, URN_SEARCH, uniq


class SearchTest(ScimTestCase):

    def setUp(self):
        super(SearchTest, self).setUp()
        self.prefix = uniq("srch")
        self.users = [self.create_user("%s-%d" % (self.prefix, i),
                                       displayName="Searchable %d" % i)
                      for i in range(5)]

    def search(self, body, endpoint="/Users/.search"):
        return self.c.post(endpoint, body)

    def test_search(self):
        r = self.search({"schemas": [URN_SEARCH],
                         "filter": 'userName sw "%s"' % self.prefix,
                         "startIndex": 1, "count": 10})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 5)
        self.assertEqual(sorted(x["id"] for x in body["Resources"]),
                         sorted(u["id"] for u in self.users))
        self.assertIsNone(r.header("Location"))

    def test_search_attributes_sort_paging(self):
        r = self.search({"schemas": [URN_SEARCH],
                         "filter": 'userName sw "%s"' % self.prefix,
                         "attributes": ["userName", "displayName"],
                         "sortBy": "userName", "sortOrder": "descending",
                         "startIndex": 2, "count": 2})
        body = self.assertListResponse(r)
        self.assertEqual(body["totalResults"], 5)
        self.assertEqual(body["startIndex"], 2)
        names = [x["userName"] for x in body["Resources"]]
        self.assertEqual(names, ["%s-3" % self.prefix, "%s-2" % self.prefix])
        for x in body["Resources"]:
            self.assertNotIn("emails", x)
            self.assertIn("displayName", x)

    def test_search_excluded_attributes(self):
        r = self.search({"schemas": [URN_SEARCH],
                         "filter": 'userName sw "%s"' % self.prefix,
                         "excludedAttributes": ["emails", "name"]})
        body = self.assertListResponse(r)
        for x in body["Resources"]:
            self.assertNotIn("emails", x)
            self.assertNotIn("name", x)
            self.assertIn("userName", x)

    def test_search_bad_filter(self):
        r = self.search({"schemas": [URN_SEARCH], "filter": "userName eq"})
        self.assertScimError(r, 400, "invalidFilter")

    def test_search_wrong_schema(self):
        # schemas is REQUIRED in a SearchRequest; a server may refuse a
        # wrong one (400) or tolerate it, but must not fail otherwise.
        r = self.search({"schemas": ["urn:example:not:a:search"],
                         "filter": 'userName sw "%s"' % self.prefix})
        if r.status == 200:
            self.assertEqual(r.json["totalResults"], 5)
        else:
            self.assertScimError(r, 400)

    def test_search_not_an_object(self):
        r = self.c.post("/Users/.search", raw=b'["filter"]')
        self.assertScimError(r, 400)

    def test_search_groups(self):
        g = self.create_group(uniq("SearchGroup"),
                              members=[self.users[0]["id"]])
        r = self.search({"schemas": [URN_SEARCH],
                         "filter": 'displayName eq "%s"' % g["displayName"],
                         "excludedAttributes": ["members"]},
                        endpoint="/Groups/.search")
        body = self.assertListResponse(r)
        self.assertEqual([x["id"] for x in body["Resources"]], [g["id"]])
        self.assertNotIn("members", body["Resources"][0])

    def test_search_needs_post(self):
        r = self.c.get("/Users/.search")
        self.assertIn(r.status, (404, 405, 501), repr(r))
        self.assertScimError(r, r.status)


if __name__ == "__main__":
    unittest.main()
