"""The PostgreSQL sink's batches, driven through its ABI directly.

Through the daemon, a failing event mostly comes alone; here the plugin
(sink_postgres.so, loaded with ctypes) gets batches built for the case:
an event that fails in the middle of a batch (the ones before it are
committed, done says where it stopped), an event the sink cannot plan,
a retryable error mid-batch (a held lock), more statement shapes than
the prepared-statement cache holds, a stale version, a connection killed
under the sink - each with and without pipeline mode. The server is the
shared throwaway cluster of test_postgres_sink.py.
"""

import ctypes as C
import os
import subprocess
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_postgres_sink as pgs  # noqa: E402

OK, ERETRY, EFAIL = 0, -3, -4


class Attr(C.Structure):
    _fields_ = [("name", C.c_char_p), ("values", C.POINTER(C.c_char_p)),
                ("n_values", C.c_size_t)]


class Event(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("seq", C.c_int64),
                ("key", C.c_char_p), ("type", C.c_char_p),
                ("tenant", C.c_char_p), ("time_ms", C.c_int64),
                ("resource_type", C.c_char_p), ("resource_id", C.c_char_p),
                ("version", C.c_int64),
                ("changed", C.POINTER(C.c_char_p)), ("n_changed", C.c_size_t),
                ("members", C.POINTER(C.c_char_p)), ("n_members", C.c_size_t),
                ("role", C.c_char_p), ("user_id", C.c_char_p),
                ("group_id", C.c_char_p),
                ("attrs", C.POINTER(Attr)), ("n_attrs", C.c_size_t),
                ("resource_json", C.c_char_p),
                ("resource_json_len", C.c_size_t),
                ("event_json", C.c_char_p), ("event_json_len", C.c_size_t)]


class Err(C.Structure):
    _fields_ = [("code", C.c_int), ("message", C.c_char * 256)]


class Option(C.Structure):
    _fields_ = [("key", C.c_char_p), ("value", C.c_char_p)]


class Host(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("log", C.c_void_p)]


OPEN = C.CFUNCTYPE(C.c_int, C.POINTER(C.c_void_p), C.POINTER(Host),
                   C.POINTER(Option), C.POINTER(Err))
CLOSE = C.CFUNCTYPE(None, C.c_void_p)
APPLY = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(Event), C.POINTER(Err))
HEALTH = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(Err))
MANY = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(C.POINTER(Event)),
                   C.c_size_t, C.POINTER(C.c_size_t), C.POINTER(Err))


class Plugin(C.Structure):
    _fields_ = [("abi_major", C.c_uint16), ("abi_minor", C.c_uint16),
                ("struct_size", C.c_uint32), ("kind", C.c_uint32),
                ("name", C.c_char_p), ("version", C.c_char_p),
                ("open", OPEN), ("close", CLOSE), ("apply", APPLY),
                ("health", HEALTH), ("apply_many", MANY),
                ("retry_after", C.c_void_p)]


def asan_unloadable(path):
    """An AddressSanitizer build of the plugin cannot be loaded into a
    python without the ASan runtime (it aborts the process): run with
    LD_PRELOAD=$(cc -print-file-name=libasan.so) to test it."""
    with open(path, "rb") as f:
        needs = b"libasan.so" in f.read()
    with open("/proc/self/maps") as f:
        have = "libasan.so" in f.read()
    return needs and not have


def plugin():
    if asan_unloadable(pgs.sink_so()):
        raise unittest.SkipTest("sink_postgres.so is built with ASan; "
                                "preload libasan to run these")
    lib = C.CDLL(pgs.sink_so())
    entry = lib.scimsync_plugin_entry
    entry.restype = C.POINTER(Plugin)
    return lib, entry().contents


def user_event(version=1, type_="user.created", **cols):
    """An event whose attrs are cols (None: not rendered)."""
    return {"type": type_, "version": version, "cols": cols}


class Sink(object):
    """One sink state of the plugin, with the events kept alive."""

    def __init__(self, pl, options):
        self.pl = pl
        opts = (Option * (len(options) + 1))()
        for i, (k, v) in enumerate(sorted(options.items())):
            opts[i] = Option(k.encode(), v.encode())
        self.host = Host(C.sizeof(Host), None)
        self.state = C.c_void_p()
        err = Err()
        rc = pl.open(C.byref(self.state), C.byref(self.host), opts,
                     C.byref(err))
        if rc != OK:
            raise AssertionError("open: %s" % err.message.decode())
        self.keep = []

    def close(self):
        self.pl.close(self.state)

    def _event(self, e):
        cols = [(k, v) for k, v in e["cols"].items() if v is not None]
        attrs = (Attr * max(1, len(cols)))()
        for i, (k, v) in enumerate(cols):
            vals = (C.c_char_p * 1)(str(v).encode())
            self.keep.append(vals)
            attrs[i] = Attr(k.encode(), vals, 1)
        rid = str(e["cols"].get("scim_id") or "x").encode()
        ev = Event(struct_size=C.sizeof(Event), seq=1,
                   key=uuid.uuid4().hex.encode(), type=e["type"].encode(),
                   tenant=b"default", time_ms=1700000000123,
                   resource_type=b"User", resource_id=rid,
                   version=e["version"], attrs=attrs, n_attrs=len(cols),
                   resource_json=b"{}", resource_json_len=2,
                   event_json=b"{}", event_json_len=2)
        self.keep += [attrs, ev]
        return ev

    def apply_many(self, events):
        """(rc, done, message)"""
        evs = [self._event(e) for e in events]
        arr = (C.POINTER(Event) * len(evs))(*[C.pointer(e) for e in evs])
        done = C.c_size_t(0)
        err = Err()
        rc = self.pl.apply_many(self.state, arr, len(evs), C.byref(done),
                                C.byref(err))
        self.keep = []
        return rc, done.value, err.message.decode()


class BatchTest(unittest.TestCase):
    """Each test on a fresh table `t` in a database of the class's own,
    through sinks with and without pipeline mode."""
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.lib, cls.pl = plugin()
        cls.pg = pgs.shared_pg()
        cls.db = "batchtest_%s" % uuid.uuid4().hex[:6]
        cls.pg.create_db(cls.db, schema=False)
        cls.pw = os.path.join(cls.pg.dir, "password")

    def sink(self, pipeline, **more):
        o = {"conninfo": self.pg.conninfo(self.db), "password_file": self.pw,
             "users_table": "t", "groups_table": "", "roles_table": "",
             "pipeline": "true" if pipeline else "false"}
        o.update(more)
        s = Sink(self.pl, o)
        self.addCleanup(s.close)
        return s

    def table(self, extra=""):
        self.pg.psql(db=self.db, sql="DROP TABLE IF EXISTS t; CREATE TABLE "
                     "t (scim_id text PRIMARY KEY, user_name text NOT NULL "
                     "CHECK (user_name NOT LIKE 'bad%%'), %s "
                     "scim_version bigint)" % extra)

    def rows(self):
        return {r["scim_id"]: r for r in self.pg.rows(
            self.db, "SELECT * FROM t ORDER BY scim_id")}

    def both(self, fn):
        for pipeline in (True, False):
            with self.subTest(pipeline=pipeline):
                fn(self.sink(pipeline))

    def test_failure_in_the_middle_commits_the_ones_before(self):
        def run(s):
            self.table()
            evs = [user_event(scim_id="u%d" % i, user_name=(
                "bad" if i == 5 else "n%d" % i)) for i in range(10)]
            rc, done, msg = s.apply_many(evs)
            self.assertEqual((rc, done), (EFAIL, 5), msg)
            self.assertIn("23514: new row for relation \"t\" violates "
                          "check constraint", msg)
            self.assertEqual(sorted(self.rows()),
                             ["u%d" % i for i in range(5)])
            # The engine goes on after the dead letter.
            rc, done, msg = s.apply_many(evs[6:])
            self.assertEqual((rc, done), (OK, 4), msg)
            self.assertEqual(len(self.rows()), 9)
        self.both(run)

    def test_event_without_key_stops_the_batch_there(self):
        def run(s):
            self.table()
            evs = [user_event(scim_id=None if i == 3 else "u%d" % i,
                              user_name="n%d" % i) for i in range(6)]
            rc, done, msg = s.apply_many(evs)
            self.assertEqual((rc, done), (EFAIL, 3), msg)
            self.assertIn("key column 'scim_id' has no value", msg)
            self.assertEqual(sorted(self.rows()), ["u0", "u1", "u2"])
        self.both(run)

    def test_held_lock_retries_at_that_event(self):
        def run(s):
            self.table()
            s.apply_many([user_event(scim_id="u4", user_name="old")])
            env = pgs.tool_env(PGPASSFILE=os.path.join(self.pg.dir,
                                                        "pgpass"))
            locker = subprocess.Popen(
                [pgs.psql_bin(), "-X", "-q", "-At", "-h", "127.0.0.1",
                 "-p", str(self.pg.port), "-U", "scimsync", "-d", self.db],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                universal_newlines=True, env=env)
            try:
                locker.stdin.write("BEGIN;\nSELECT 'locked' FROM t WHERE "
                                   "scim_id = 'u4' FOR UPDATE;\n")
                locker.stdin.flush()
                self.assertEqual(locker.stdout.readline().strip(), "locked")
                evs = [user_event(version=2, type_="user.updated",
                                  scim_id="u%d" % i, user_name="new%d" % i)
                       for i in range(8)]
                rc, done, msg = s.apply_many(evs)
                self.assertEqual((rc, done), (ERETRY, 4), msg)
                self.assertIn("57014", msg)
            finally:
                locker.communicate("COMMIT;\n", timeout=30)
            self.assertEqual(len(self.rows()), 5)
            self.assertEqual(self.rows()["u4"]["user_name"], "old")
            rc, done, msg = s.apply_many(evs[4:])
            self.assertEqual((rc, done), (OK, 4), msg)
            self.assertEqual(self.rows()["u4"]["user_name"], "new4")
        for pipeline in (True, False):
            with self.subTest(pipeline=pipeline):
                run(self.sink(pipeline, statement_timeout_ms="300"))

    def test_more_shapes_than_the_statement_cache(self):
        cols = ["c%d" % i for i in range(8)]

        def batch(start, n):
            evs = []
            for k in range(start, start + n):
                c = {col: "v%d" % k if k >> i & 1 else None
                     for i, col in enumerate(cols)}
                evs.append(user_event(scim_id="u%03d" % k,
                                      user_name="n%d" % k, **c))
            return evs

        def run(s):
            self.table(" ".join("%s text," % c for c in cols))
            # 150 shapes: more than the cache holds (some run unprepared),
            # then 100 more (the cache starts over), then the first again.
            for start, n in ((0, 150), (150, 100), (0, 150)):
                rc, done, msg = s.apply_many(batch(start, n))
                self.assertEqual((rc, done), (OK, n), msg)
            got = self.rows()
            self.assertEqual(len(got), 250)
            for k in (0, 5, 77, 149, 200, 255 - 6):
                for i, col in enumerate(cols):
                    self.assertEqual(got["u%03d" % k][col],
                                     "v%d" % k if k >> i & 1 else None)
        self.both(run)

    def test_versions_and_redelivery(self):
        def run(s):
            self.table()
            v3 = user_event(version=3, type_="user.updated", scim_id="u",
                            user_name="three")
            v2 = user_event(version=2, type_="user.updated", scim_id="u",
                            user_name="two")
            for batch in ([v3], [v3, v2], [v2], [v3, v3]):
                self.assertEqual(s.apply_many(batch)[:2], (OK, len(batch)))
                self.assertEqual(self.rows()["u"]["user_name"], "three")
                self.assertEqual(self.rows()["u"]["scim_version"], 3)
            # A re-created user wins whatever the version.
            c1 = user_event(version=1, scim_id="u", user_name="again")
            self.assertEqual(s.apply_many([c1])[:2], (OK, 1))
            self.assertEqual(self.rows()["u"]["scim_version"], 1)
            # A stale deletion leaves a newer row; a current one deletes.
            self.assertEqual(s.apply_many([v3])[:2], (OK, 1))
            d2 = user_event(version=2, type_="user.deleted", scim_id="u")
            d3 = user_event(version=3, type_="user.deleted", scim_id="u")
            self.assertEqual(s.apply_many([d2])[:2], (OK, 1))
            self.assertIn("u", self.rows())
            self.assertEqual(s.apply_many([d3, d3])[:2], (OK, 2))
            self.assertEqual(self.rows(), {})
        self.both(run)

    def test_killed_connection_is_made_again(self):
        def run(s):
            self.table()
            self.assertEqual(s.apply_many([user_event(
                scim_id="a", user_name="a")])[:2], (OK, 1))
            who = ("FROM pg_stat_activity WHERE application_name = "
                   "'scimsync' AND datname = '%s'" % self.db)
            before = {r["pid"] for r in self.pg.rows(self.db,
                                                      "SELECT pid " + who)}
            self.assertTrue(before)
            killed = self.pg.rows(self.db, "SELECT pg_terminate_backend("
                                  "pid) AS t " + who)
            self.assertEqual(killed, [{"t": True}] * len(before))
            ev = user_event(scim_id="b", user_name="b")
            rc, done, msg = s.apply_many([ev])
            if rc != OK:
                self.assertEqual((rc, done), (ERETRY, 0), msg)
                rc, done, msg = s.apply_many([ev])
            self.assertEqual((rc, done), (OK, 1), msg)
            self.assertEqual(sorted(self.rows()), ["a", "b"])
            # A new connection did it.
            after = {r["pid"] for r in self.pg.rows(self.db,
                                                     "SELECT pid " + who)}
            self.assertTrue(after)
            self.assertEqual(after & before, set())
        self.both(run)


if __name__ == "__main__":
    unittest.main()
