"""Concurrent clients: parallel creates, parallel membership changes on one
group, and optimistic concurrency (If-Match) under contention."""

import threading
import unittest

from scimtest import (ScimTestCase, Client, uniq, user_body, patch_body,
                      run_threads)

THREADS = 16
PER_THREAD = 50


class ConcurrencyTest(ScimTestCase):

    def test_parallel_creates(self):
        prefix = uniq("conc")
        created = [[] for _ in range(THREADS)]

        def worker(t):
            c = Client(self.srv)
            for i in range(PER_THREAD):
                r = c.post("/Users", user_body("%s-%02d-%03d" % (prefix, t, i)))
                if r.status != 201:
                    raise AssertionError("thread %d #%d: %r" % (t, i, r))
                created[t].append(r.json["id"])

        run_threads(worker, THREADS)
        ids = [i for lst in created for i in lst]
        self.assertEqual(len(ids), THREADS * PER_THREAD)
        self.assertEqual(len(set(ids)), len(ids), "duplicate ids")

        flt = 'userName sw "%s"' % prefix
        r = self.c.get("/Users", params={"filter": flt, "count": 0})
        self.assertEqual(self.assertListResponse(r)["totalResults"],
                         THREADS * PER_THREAD)
        listed = self.list_ids("/Users", flt, page=200)
        self.assertEqual(sorted(listed), sorted(ids))

        # every one is retrievable by id (in parallel, too)
        def reader(t):
            c = Client(self.srv)
            for uid in ids[t::THREADS]:
                r = c.get("/Users/" + uid)
                if r.status != 200:
                    raise AssertionError("GET %s: %r" % (uid, r))
        run_threads(reader, THREADS)

    def test_parallel_duplicate_usernames(self):
        # The same userName from 16 clients at once: exactly one wins.
        un = uniq("race")
        statuses = run_threads(
            lambda t: Client(self.srv).post("/Users", user_body(
                un.upper() if t % 2 else un)).status, THREADS)
        self.assertEqual(statuses.count(201), 1, statuses)
        self.assertEqual(statuses.count(409), THREADS - 1, statuses)

    def test_parallel_member_adds(self):
        users = [self.create_user()["id"] for _ in range(THREADS)]
        g = self.create_group()

        def adder(t):
            r = Client(self.srv).patch("/Groups/" + g["id"], patch_body(
                {"op": "add", "path": "members",
                 "value": [{"value": users[t]}]}))
            if r.status not in (200, 204):
                raise AssertionError("member add %d: %r" % (t, r))
        run_threads(adder, THREADS)
        self.assertEqual(self.member_ids(self.get_group(g["id"])),
                         sorted(users))

    def test_if_match_race(self):
        # 8 clients replace the same user with the same If-Match: one wins,
        # the others get 412; the version moves by exactly one step.
        u = self.create_user()
        barrier = threading.Barrier(8)

        def writer(t):
            c = Client(self.srv)
            body = user_body(u["userName"], displayName="writer %d" % t)
            barrier.wait(10)
            return c.put("/Users/" + u["id"], body,
                         headers={"If-Match": u["meta"]["version"]})
        results = run_threads(writer, 8)
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses.count(200), 1, results)
        self.assertEqual(statuses.count(412), 7, results)
        winner = [r for r in results if r.status == 200][0]
        self.assertEqual(self.get_user(u["id"])["displayName"],
                         winner.json["displayName"])

    def test_parallel_patches_not_lost(self):
        # Concurrent PATCHes adding different emails to one user must all
        # land (no lost update between read and write).
        u = self.create_user()

        def adder(t):
            r = Client(self.srv).patch("/Users/" + u["id"], patch_body(
                {"op": "add", "path": "emails",
                 "value": [{"value": "e%d@example.com" % t,
                            "type": "other"}]}))
            if r.status not in (200, 204):
                raise AssertionError("email add %d: %r" % (t, r))
        run_threads(adder, 8)
        emails = {e["value"] for e in self.get_user(u["id"])["emails"]}
        for t in range(8):
            self.assertIn("e%d@example.com" % t, emails)


if __name__ == "__main__":
    unittest.main()
