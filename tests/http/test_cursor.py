"""Cursor-based pagination (RFC 9865): ?cursor&count=N starts, nextCursor
continues and is absent on the last page, invalid cursors are 400
invalidCursor, and a walk stays exact while resources come and go."""

import unittest

from scimtest import ScimTestCase, uniq, patch_body


class CursorTest(ScimTestCase):

    def population(self, n):
        prefix = uniq("cur")
        ids = [self.create_user("%s-%03d" % (prefix, i))["id"]
               for i in range(n)]
        return prefix, ids

    def page(self, flt, cursor, count, endpoint="/Users"):
        params = []
        if flt is not None:
            params.append(("filter", flt))
        params.append(("cursor", cursor))
        params.append(("count", count))
        r = self.c.get(endpoint, params=params)
        body = self.assertListResponse(r)
        return body

    def walk(self, flt, count, between=None, endpoint="/Users", limit=1000):
        """Walk all pages; between(page_no) is called after each page."""
        seen = []
        cursor = None  # a bare ?cursor starts the walk
        pages = 0
        while True:
            body = self.page(flt, cursor, count, endpoint)
            res = body.get("Resources", [])
            self.assertLessEqual(len(res), count)
            self.assertEqual(body.get("itemsPerPage", len(res)), len(res))
            seen.extend(x["id"] for x in res)
            pages += 1
            self.assertLess(pages, limit, "cursor walk does not end")
            nxt = body.get("nextCursor")
            if nxt is None:
                return seen, pages
            self.assertIsInstance(nxt, str)
            self.assertTrue(nxt)
            self.assertTrue(res, "a page with nextCursor must not be empty")
            if between:
                between(pages)
            cursor = nxt

    def test_spc_announces_cursor(self):
        spc = self.c.get("/ServiceProviderConfig").json
        pag = spc.get("pagination")
        self.assertIsInstance(pag, dict, "ServiceProviderConfig has no "
                              "'pagination' (RFC 9865 §4)")
        self.assertIs(pag.get("cursor"), True)
        self.assertIs(pag.get("index"), True)

    def test_walk(self):
        prefix, ids = self.population(23)
        seen, pages = self.walk('userName sw "%s"' % prefix, 5)
        self.assertEqual(pages, 5)
        self.assertEqual(len(seen), len(set(seen)), "repeats")
        self.assertEqual(sorted(seen), sorted(ids))

    def test_total_on_every_page(self):
        # totalResults counts every match, not only those after the cursor.
        prefix, ids = self.population(12)
        flt = 'userName sw "%s"' % prefix
        cursor, totals = None, []
        while True:
            body = self.page(flt, cursor, 5)
            totals.append(body["totalResults"])
            cursor = body.get("nextCursor")
            if cursor is None:
                break
        self.assertEqual(totals, [12, 12, 12])

    def test_walk_exact_multiple(self):
        prefix, ids = self.population(10)
        seen, pages = self.walk('userName sw "%s"' % prefix, 5)
        self.assertEqual(sorted(seen), sorted(ids))
        # the last page may be an empty one, but not more than one extra
        self.assertIn(pages, (2, 3))

    def test_empty_cursor_value_starts(self):
        prefix, ids = self.population(3)
        body = self.page('userName sw "%s"' % prefix, "", 10)
        self.assertEqual(sorted(x["id"] for x in body["Resources"]),
                         sorted(ids))
        self.assertNotIn("nextCursor", body)

    def test_last_page_has_no_next_cursor(self):
        prefix, ids = self.population(4)
        body = self.page('userName sw "%s"' % prefix, None, 10)
        self.assertEqual(len(body["Resources"]), 4)
        self.assertNotIn("nextCursor", body)

    def test_empty_result(self):
        body = self.page('userName eq "%s"' % uniq("nobody"), None, 10)
        self.assertEqual(body.get("Resources", []), [])
        self.assertNotIn("nextCursor", body)

    def test_cursor_is_reusable(self):
        prefix, ids = self.population(6)
        flt = 'userName sw "%s"' % prefix
        first = self.page(flt, None, 3)
        nxt = first["nextCursor"]
        a = [x["id"] for x in self.page(flt, nxt, 3)["Resources"]]
        b = [x["id"] for x in self.page(flt, nxt, 3)["Resources"]]
        self.assertEqual(a, b)
        self.assertEqual(sorted([x["id"] for x in first["Resources"]] + a),
                         sorted(ids))

    def test_invalid_cursor(self):
        for bad in ("not-a-cursor", "%%%", "!!", "x" * 300):
            with self.subTest(cursor=bad):
                r = self.c.get("/Users", params={"cursor": bad, "count": 5})
                self.assertScimError(r, 400, "invalidCursor")

    def test_tampered_cursor(self):
        prefix, ids = self.population(4)
        flt = 'userName sw "%s"' % prefix
        nxt = self.page(flt, None, 2)["nextCursor"]
        for bad in (nxt[:-1], nxt + "A", nxt[::-1]):
            if bad == nxt:
                continue
            with self.subTest(cursor=bad):
                r = self.c.get("/Users", params=[("filter", flt),
                                                 ("cursor", bad),
                                                 ("count", 2)])
                # a modified cursor is either rejected, or (if the server
                # cannot tell) at least not a server error
                if r.status != 200:
                    self.assertScimError(r, 400, "invalidCursor")

    def test_walk_under_concurrent_changes(self):
        prefix, ids = self.population(40)
        volatile = set(ids[3::4])          # 10 users deleted during the walk
        stable = [i for i in ids if i not in volatile]
        touched = stable[::7]              # some stable ones get updated
        pending_delete = sorted(volatile)
        created = []

        def between(page_no):
            # after every page: delete two volatile users, create two new
            # ones, and update one stable user
            for _ in range(2):
                if pending_delete:
                    uid = pending_delete.pop()
                    self.assertStatus(self.c.delete("/Users/" + uid), 204)
            for _ in range(2):
                created.append(self.create_user(
                    "%s-new-%s" % (prefix, uniq("n")))["id"])
            if page_no - 1 < len(touched):
                r = self.c.patch("/Users/" + touched[page_no - 1], patch_body(
                    {"op": "replace", "path": "displayName",
                     "value": "touched %d" % page_no}))
                self.assertStatus(r, 200, 204)

        seen, pages = self.walk('userName sw "%s"' % prefix, 5, between)
        dupes = sorted(set(i for i in seen if seen.count(i) > 1))
        self.assertEqual(dupes, [], "resources seen twice")
        missing = sorted(set(stable) - set(seen))
        self.assertEqual(missing, [], "stable resources skipped")

    def test_walk_without_filter(self):
        # Every resource that exists for the whole walk is seen once, also
        # over the whole (shared) collection.
        prefix, ids = self.population(5)
        seen, pages = self.walk(None, 200)
        self.assertEqual(len(seen), len(set(seen)), "repeats")
        self.assertFalse(set(ids) - set(seen))

    def test_groups(self):
        gids = [self.create_group(uniq("curgrp"))["id"] for _ in range(3)]
        seen, pages = self.walk('displayName sw "curgrp"', 2,
                                endpoint="/Groups")
        self.assertEqual(len(seen), len(set(seen)))
        self.assertFalse(set(gids) - set(seen))


if __name__ == "__main__":
    unittest.main()
