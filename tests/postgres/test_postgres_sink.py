"""The PostgreSQL sink (plugins/sink-postgres) against a real PostgreSQL.

The classes share one throwaway cluster (tests/postgres/pg.sh: initdb in a
temp dir, loopback, a free port, scram-sha-256 over TCP), each with
databases of its own made from mappings/postgres.sql; the outage class
has a cluster of its own, as it stops it. Each class runs a scimsyncd
with postgres sinks that log in with a password file, drives SCIM
requests as Okta and Entra send them, and reads the tables back with
psql (json_agg). Every wait is a poll with a deadline on what the tables
(or the admin API) show.

Environment: SCIMSYNC_BUILDDIR, SCIMSYNC_SRCDIR (as for tests/http);
SCIMSYNC_PG_TMP, a directory for the clusters (tests/postgres.sh makes
one and stops whatever is left in it); SCIMSYNC_TEST_KEEP keeps the
daemons' and the clusters' directories; PG_BINDIR, the server binaries.
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SCIMSYNC_SRCDIR") or os.path.dirname(
    os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "http"))

import scimtest  # noqa: E402
from scimtest import (AdminDaemon, Client, DaemonError, URN_ENTERPRISE,  # noqa: E402
                      URN_GROUP, URN_PATCH, URN_USER, builddir)
from sinktest import SinkTestCase, keep, plugin_so, yaml_str  # noqa: E402

PG_SH = os.path.join(SRC, "tests", "postgres", "pg.sh")
SCHEMA_SQL = os.path.join(SRC, "mappings", "postgres.sql")
WAIT = 20.0
USER_COLS = ["scim_id", "external_id", "user_name", "email", "given_name",
             "family_name", "display_name", "active", "department"]


def sink_so():
    return plugin_so("postgres")


_own_tmp = []


def tmp_root():
    root = os.environ.get("SCIMSYNC_PG_TMP")
    if root:
        return root
    if not _own_tmp:
        d = tempfile.mkdtemp(prefix="scimsync-pg-")
        os.chmod(d, 0o755)  # the user postgres runs the server under it
        _own_tmp.append(d)
    return _own_tmp[0]


def tool_env(**more):
    """The environment for pg.sh and psql: without a preloaded sanitizer
    runtime (the batch tests may run with one), plus more."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env.update(more)
    return env


def psql_bin():
    b = os.environ.get("PG_BINDIR")
    return os.path.join(b, "psql") if b else "psql"


# ---- the cluster ----------------------------------------------------------

class Pg(object):
    """One throwaway cluster (tests/postgres/pg.sh) with its own dir."""

    def __init__(self, name):
        self.dir = os.path.join(tmp_root(), "%s-%s" % (
            name, uuid.uuid4().hex[:8]))
        self.port = None

    def _sh(self, *args):
        return subprocess.run(["sh", PG_SH] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=tool_env(),
                              timeout=120)

    def start(self):
        r = self._sh("start", self.dir)
        if r.returncode != 0:
            raise AssertionError("pg.sh start %s failed:\n%s%s"
                                 % (self.dir, r.stdout, r.stderr))
        self.port = int(r.stdout.strip().splitlines()[-1])
        return self

    def stop(self):
        r = self._sh("stop", self.dir)
        if r.returncode != 0:
            raise AssertionError("pg.sh stop failed: %s" % r.stderr)

    def cleanup(self):
        self.stop()
        if not keep():
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def password(self):
        with open(os.path.join(self.dir, "password")) as f:
            return f.read().strip()

    def conninfo(self, db):
        return "host=127.0.0.1 port=%d dbname=%s user=scimsync" % (
            self.port, db)

    def psql(self, sql=None, db="scimsync", file=None, options=None,
             check=True):
        """psql -c sql (or -f file) over TCP with the password; stdout."""
        env = tool_env(PGPASSFILE=os.path.join(self.dir, "pgpass"))
        if options:
            env["PGOPTIONS"] = options
        cmd = [psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(self.port), "-U", "scimsync",
               "-d", db]
        cmd += ["-f", file] if file else ["-c", sql]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True,
                           env=env, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("psql %s: %s" % (sql or file, r.stderr))
        return r.stdout

    def create_db(self, name, schema=True):
        self.psql("CREATE DATABASE %s" % name)
        if schema:
            self.psql(db=name, file=SCHEMA_SQL)

    def rows(self, db, query):
        """The rows of query, as dicts (json_agg)."""
        out = self.psql("SELECT coalesce(json_agg(q), '[]') FROM (%s) q"
                        % query, db=db)
        return json.loads(out)

    def table(self, db, table, key="scim_id", cols="*", where=None):
        """{key: row} of a whole table (or the rows where)."""
        q = "SELECT %s FROM %s" % (cols, table)
        if where:
            q += " WHERE " + where
        return {r[key]: r for r in self.rows(db, q)}

    def backend_pids(self, db):
        return [r["pid"] for r in self.rows(
            "postgres", "SELECT pid FROM pg_stat_activity WHERE "
            "datname = '%s' AND application_name = 'scimsync'" % db)]


_shared = []


def cleanup_all():
    """Stop the shared cluster, then remove the temp dir (if ours)."""
    while _shared:
        _shared.pop().cleanup()
    while _own_tmp:
        d = _own_tmp.pop()
        if not keep():
            shutil.rmtree(d, ignore_errors=True)


def shared_pg():
    """The cluster the classes share, started on first use; stopped by
    the last module's tearDownModule, or at exit."""
    if not _shared:
        if not atexit_set:
            atexit.register(cleanup_all)
            atexit_set.append(True)
        _shared.append(Pg("shared").start())
    return _shared[0]


atexit_set = []


# ---- SCIM bodies and expected rows ----------------------------------------

def okta_user(login, given, family, **extra):
    body = {
        "schemas": [URN_USER],
        "userName": login,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": login, "type": "work"}],
        "displayName": "%s %s" % (given, family),
        "locale": "en-US",
        "externalId": "00u%s" % uuid.uuid4().hex[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    body.update(extra)
    return body


def entra_user(upn, given, family, department="Engineering", **extra):
    body = {
        "schemas": [URN_USER, URN_ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": upn,
        "active": True,
        "displayName": "%s %s" % (given, family),
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "%s %s" % (given, family),
                 "familyName": family, "givenName": given},
        "title": "Product Manager",
        URN_ENTERPRISE: {"department": department,
                         "employeeNumber": "100001"},
    }
    body.update(extra)
    return body


def group_body(name, members=()):
    return {"schemas": [URN_GROUP], "displayName": name,
            "externalId": str(uuid.uuid4()),
            "members": [{"value": m} for m in members]}


def patch(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


def version_of(res):
    """The number in a resource's meta.version (W/"3" -> 3)."""
    m = re.search(r"\d+", res.get("meta", {}).get("version", ""))
    return int(m.group(0)) if m else 0


def user_row(u):
    """The row mappings/postgres.yaml makes of SCIM user u."""
    emails = u.get("emails") or []
    pick = ([e.get("value") for e in emails if e.get("primary") is True] or
            [e.get("value") for e in emails if e.get("type") == "work"] or
            [u.get("userName")])
    name = u.get("name") or {}
    return {
        "scim_id": u["id"],
        "external_id": u.get("externalId"),
        "user_name": u["userName"],
        "email": pick[0].lower() if pick[0] else None,
        "given_name": name.get("givenName"),
        "family_name": name.get("familyName"),
        "display_name": u.get("displayName") or name.get("formatted"),
        "active": u.get("active") is not False,
        "department": (u.get(URN_ENTERPRISE) or {}).get("department"),
    }


def strip(rows, cols=USER_COLS):
    """rows ({key: row}) with only cols."""
    return {k: {c: r.get(c) for c in cols} for k, r in rows.items()}


# ---- scimsyncd with postgres sinks ----------------------------------------

def sinks_config(pg, sinks, pw_file):
    """extra_config for sinks: {name: {"db": database, "options": {...},
    "tenants": [...] or None}}."""
    lines = ["mappings:",
             "  postgres: %s" % yaml_str(os.path.join(SRC, "mappings",
                                                      "postgres.yaml")),
             "  roles: %s" % yaml_str(os.path.join(SRC, "mappings",
                                                   "roles.yaml")),
             "sinks:"]
    for name, sc in sorted(sinks.items()):
        lines += ["  %s:" % name,
                  "    plugin: %s" % yaml_str(sink_so()),
                  "    mapping: postgres",
                  "    retry: {initial_ms: 50, max_ms: 400}"]
        if sc.get("tenants"):
            lines.append("    tenants: [%s]" % ", ".join(
                yaml_str(t) for t in sc["tenants"]))
        lines.append("    options:")
        o = {"conninfo": pg.conninfo(sc["db"]), "password_file": pw_file}
        o.update(sc.get("options", {}))
        for k, v in sorted(o.items()):
            lines.append("      %s: %s" % (k, yaml_str(v)))
    return "\n".join(lines) + "\n"


class PgTestCase(SinkTestCase):
    """A daemon with postgres sinks, and their databases, per class."""
    maxDiff = 8000
    own_cluster = False  # a cluster of the class's own (it may stop it)
    log_level = "info"
    databases = ("main",)  # made from postgres.sql

    @classmethod
    def sink_options(cls):
        """{sink name: {"db", "options", "tenants"}}"""
        return {"main": {"db": cls.db("main")}}

    @classmethod
    def prepare(cls, pg):
        """Before the daemon starts: SQL of the class's own."""

    @classmethod
    def db(cls, name):
        return "%s_%s" % (cls.__name__.lower(), name)

    @classmethod
    def setUpClass(cls):
        cls.d = None
        cls.pg = None
        cls.wd = tempfile.mkdtemp(prefix="scimsync-pg-d-")
        try:
            cls.pg = Pg(cls.__name__.lower()).start() if cls.own_cluster \
                else shared_pg()
            for name in cls.databases:
                cls.pg.create_db(cls.db(name))
            cls.prepare(cls.pg)
            cls.pw_file = os.path.join(cls.wd, "pg.pw")
            with open(cls.pw_file, "w") as f:
                f.write(cls.pg.password + "\n")
            cls.sinks = cls.sink_options()
            cls.d = AdminDaemon(workdir=cls.wd, log_level=cls.log_level,
                                extra_config=sinks_config(
                                    cls.pg, cls.sinks, cls.pw_file))
            cls.d.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.admin = cls.d.admin_client()
        cls.c = Client(cls.d)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stop_daemon([cls.pg.password] if cls.pg else [])
        finally:
            if cls.d is None and not keep():
                shutil.rmtree(cls.wd, ignore_errors=True)
            if cls.own_cluster and cls.pg is not None:
                cls.pg.cleanup()

    # -- SCIM

    def get_json(self, path, client=None):
        r = (client or self.c).get(path)
        self.assertEqual(r.status, 200, r)
        return r.json

    def all_users(self, client=None):
        """Every user of the client's tenant, from the SCIM API."""
        out, start = [], 1
        while True:
            r = (client or self.c).get("/Users", params=[
                ("startIndex", start), ("count", 500)])
            self.assertEqual(r.status, 200, r)
            res = r.json.get("Resources", [])
            out += res
            if not res or start + len(res) > r.json["totalResults"]:
                return out
            start += len(res)

    def new_tenant(self, prefix, mappings=None):
        """A tenant made through the admin API: (name, Client)."""
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        body = {"mappings": mappings} if mappings else {}
        r = self.admin.tenant_create(name, **body)
        self.assertEqual(r.status, 201, r)
        r = self.admin.token_create(name, "t")
        self.assertEqual(r.status, 201, r)
        return name, Client(self.d, token=r.json["token"])

    # -- sinks and tables

    def sink(self, name="main"):
        return SinkTestCase.sink(self, name)

    def user(self, db, uid, table="scim_users", key="scim_id"):
        """The row of user uid (by key), or None."""
        rows = self.pg.rows(db, "SELECT * FROM %s WHERE %s = '%s'"
                            % (table, key, uid))
        return rows[0] if rows else None

    def user_cols(self, db, uid, cols=USER_COLS, **kw):
        r = self.user(db, uid, **kw)
        return None if r is None else {c: r.get(c) for c in cols}

    def roles(self, db, uid, table="scim_user_roles", key="scim_id"):
        return sorted(r["role"] for r in self.pg.rows(
            db, "SELECT role FROM %s WHERE %s = '%s'" % (table, key, uid)))

    def expected(self, uid, client=None):
        """The row the SCIM API's user uid should be."""
        return user_row(self.get_json("/Users/" + uid, client))


# ---- delete modes, managed columns, keys, tables of a tenant --------------

class ModesTest(PgTestCase):
    """Four sinks: `plain` (the defaults: delete rows), `marked`
    (delete: mark, and the mapped columns managed), `byext` (key
    external_id into app.people, roles into app.people_roles, no
    groups), all into databases of their own; and in `plain`'s database
    a schema acme for a tenant whose own mapping names its tables
    (_table, _roles_table)."""
    databases = ("plain", "marked", "byext")
    managed = "external_id,email,given_name,family_name,display_name," \
        "department"

    @classmethod
    def sink_options(cls):
        return {
            "plain": {"db": cls.db("plain")},
            "marked": {"db": cls.db("marked"), "tenants": ["default"],
                       "options": {"delete": "mark",
                                   "managed_columns": cls.managed}},
            "byext": {"db": cls.db("byext"), "tenants": ["default"],
                      "options": {"key": "external_id",
                                  "users_table": "app.people",
                                  "roles_table": "app.people_roles",
                                  "groups_table": ""}},
        }

    @classmethod
    def prepare(cls, pg):
        pg.psql(db=cls.db("byext"), sql="""
            CREATE SCHEMA app;
            CREATE TABLE app.people (
                external_id text PRIMARY KEY, scim_id text NOT NULL,
                user_name text NOT NULL, email text, given_name text,
                family_name text, display_name text,
                active boolean NOT NULL, department text,
                scim_version bigint);
            CREATE TABLE app.people_roles (
                external_id text NOT NULL, role text NOT NULL,
                PRIMARY KEY (external_id, role));""")
        pg.psql(db=cls.db("plain"), sql="CREATE SCHEMA acme")
        pg.psql(db=cls.db("plain"), file=SCHEMA_SQL,
                options="-csearch_path=acme")
        cls.acme_map = os.path.join(cls.wd, "acme.yaml")
        with open(cls.acme_map, "w") as f:
            f.write("extends: %s\nuser:\n  _table: acme.scim_users\n"
                    "  _roles_table: acme.scim_user_roles\n"
                    "group:\n  _table: acme.scim_groups\n"
                    % os.path.join(SRC, "mappings", "postgres.yaml"))

    def test_lifecycle_delete_and_mark(self):
        plain, marked = self.db("plain"), self.db("marked")
        body = entra_user("Ada.Lane@contoso.example", "Ada", "Lane",
                          department="Research")
        uid = self.post("/Users", body)
        gid = self.post("/Groups", group_body("Acme-Admins", [uid]))
        want = self.expected(uid)
        self.assertEqual(want["email"], "ada.lane@contoso.example")
        for db in (plain, marked):
            self.assertEventually(lambda: self.user_cols(db, uid), want,
                                  "created in " + db)
            self.assertEventually(lambda: self.roles(db, uid),
                                  ["org:admin"], "role in " + db)
        self.assertIsNone(self.user(marked, uid)["deleted_at"])

        # Deactivated, reactivated: the active column.
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": False}))
        off = dict(want, active=False)
        for db in (plain, marked):
            self.assertEventually(lambda: self.user_cols(db, uid), off,
                                  "deactivated in " + db)
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": True}))
        for db in (plain, marked):
            self.assertEventually(lambda: self.user_cols(db, uid), want,
                                  "reactivated in " + db)
        last = version_of(self.get_json("/Users/" + uid))

        # Deleted: the row goes / is marked, with the last version; its
        # roles are revoked first.
        self.delete_ok("/Groups/" + gid)
        t0 = time.time()
        self.delete_ok("/Users/" + uid)
        self.assertEventually(lambda: self.user(plain, uid), None,
                              "deleted in plain")
        row = self.wait_for(lambda: (lambda r: r if r and r["deleted_at"]
                                     else None)(self.user(marked, uid)),
                            "marked deleted")
        self.assertEqual(row["scim_version"], last)
        self.assertEqual({c: row[c] for c in USER_COLS}, want)
        when = self.pg.psql("SELECT extract(epoch FROM deleted_at) FROM "
                            "scim_users WHERE scim_id = '%s'" % uid,
                            db=marked)
        self.assertLess(abs(float(when) - t0), 30)
        for db in (plain, marked):
            self.assertEqual(self.roles(db, uid), [])

        # The name is free again: a new user takes it (the unique index
        # of postgres.sql skips deleted rows).
        uid2 = self.post("/Users", body)
        self.assertEventually(lambda: self.user_cols(marked, uid2),
                              self.expected(uid2), "the namesake")
        self.wait_drained()
        for name in ("plain", "marked"):
            self.assertEqual(self.dead_for(name, uid, uid2, gid), [])

    def test_managed_columns_are_cleared(self):
        plain, marked = self.db("plain"), self.db("marked")
        uid = self.post("/Users", entra_user("Bo.Dahl@contoso.example",
                                             "Bo", "Dahl",
                                             department="Sales"))
        want = self.expected(uid)
        for db in (plain, marked):
            self.assertEventually(lambda: self.user_cols(db, uid), want,
                                  "created in " + db)
        # A PUT without the enterprise extension and the display name.
        cur = self.get_json("/Users/" + uid)
        for k in ("meta", "groups", URN_ENTERPRISE, "displayName"):
            cur.pop(k, None)
        cur["name"].pop("formatted", None)
        cur["schemas"] = [URN_USER]
        r = self.c.put("/Users/" + uid, cur)
        self.assertEqual(r.status, 200, r)
        self.assertEventually(
            lambda: self.user_cols(marked, uid),
            dict(want, department=None, display_name=None),
            "managed: cleared")
        # Not managed: left as they were.
        self.wait_drained()
        self.assertEqual(self.user_cols(plain, uid), want)

    def test_key_external_id(self):
        db = self.db("byext")
        ext = "ext-" + uuid.uuid4().hex[:8]
        body = okta_user("cy.ng@okta.example", "Cy", "Ng", externalId=ext)
        uid = self.post("/Users", body)
        gid = self.post("/Groups", group_body("Auditors", [uid]))
        row = self.wait_for(lambda: self.user(db, ext, "app.people",
                                              "external_id"), "by ext")
        self.assertEqual(row["scim_id"], uid)
        self.assertEqual(row["scim_version"],
                         version_of(self.get_json("/Users/" + uid)))
        self.assertEventually(
            lambda: self.roles(db, ext, "app.people_roles", "external_id"),
            ["org:readonly"], "role by ext")
        self.delete_ok("/Groups/" + gid)
        self.delete_ok("/Users/" + uid)
        self.assertEventually(lambda: self.user(db, ext, "app.people",
                                                "external_id"), None,
                              "deleted by ext")
        self.assertEqual(self.roles(db, ext, "app.people_roles",
                                    "external_id"), [])
        # Re-created by the IdP: a new SCIM id, the same externalId.
        uid2 = self.post("/Users", body)
        self.assertEventually(
            lambda: (lambda r: r and (r["scim_id"], r["scim_version"]))(
                self.user(db, ext, "app.people", "external_id")),
            (uid2, version_of(self.get_json("/Users/" + uid2))),
            "re-created")
        # No externalId: no key, a dead letter that says so; the others
        # take it.
        noext = okta_user("no.ext@okta.example", "No", "Ext")
        noext.pop("externalId")
        uid3 = self.post("/Users", noext)
        self.wait_drained()
        dead = self.dead_for("byext", uid3)
        self.assertEqual(len(dead), 1, dead)
        self.assertIn("key column 'external_id' has no value",
                      dead[0]["reason"])
        self.assertIsNotNone(self.user(self.db("plain"), uid3))
        self.assertEqual(self.dead_for("byext", uid, uid2, gid), [])
        self.assertEqual(self.pg.rows(db, "SELECT count(*) AS n FROM "
                                      "app.people WHERE external_id = '%s'"
                                      % ext), [{"n": 1}])

    def test_tenant_tables_of_its_own(self):
        db = self.db("plain")
        tenant, c = self.new_tenant("acme", {"postgres": self.acme_map})
        uid = self.post("/Users", okta_user("di.roe@acme.example", "Di",
                                            "Roe"), client=c)
        gid = self.post("/Groups", group_body("Acme-Developers", [uid]),
                        client=c)
        want = self.expected(uid, c)
        self.assertEventually(
            lambda: self.user_cols(db, uid, table="acme.scim_users"), want,
            "in acme.scim_users")
        self.assertEventually(
            lambda: self.roles(db, uid, "acme.scim_user_roles"),
            ["org:developer", "team:developers"], "in acme's roles")
        self.assertEventually(
            lambda: self.pg.table(db, "acme.scim_groups", cols="scim_id, "
                                  "name"),
            {gid: {"scim_id": gid, "name": "Acme-Developers"}},
            "in acme.scim_groups")
        self.wait_drained()
        self.assertIsNone(self.user(db, uid))
        self.assertEqual(self.roles(db, uid), [])
        self.assertEqual(self.pg.table(db, "scim_groups",
                                       where="scim_id = '%s'" % gid), {})
        self.assertEqual(self.dead_for("plain", uid, gid), [])

    def test_groups(self):
        db = self.db("plain")
        gid = self.post("/Groups", group_body("Team Blue"))
        self.assertEventually(
            lambda: self.pg.table(db, "scim_groups", where="scim_id = '%s'"
                                  % gid, cols="scim_id, name"),
            {gid: {"scim_id": gid, "name": "Team Blue"}}, "group")
        self.patch_ok("/Groups/" + gid, patch(
            {"op": "replace", "path": "displayName", "value": "Team Red"}))
        self.assertEventually(
            lambda: self.pg.table(db, "scim_groups", where="scim_id = '%s'"
                                  % gid),
            {gid: {"scim_id": gid, "name": "Team Red", "scim_version":
                   version_of(self.get_json("/Groups/" + gid))}}, "renamed")
        self.delete_ok("/Groups/" + gid)
        self.assertEventually(
            lambda: self.pg.table(db, "scim_groups",
                                  where="scim_id = '%s'" % gid), {},
            "group deleted")


# ---- what the server refuses, and what it makes wait ----------------------

class ErrorsTest(PgTestCase):
    """One sink with a short statement timeout (a held lock makes it
    retry), debug logging (the password must not be in it either)."""
    log_level = "debug"

    @classmethod
    def sink_options(cls):
        return {"main": {"db": cls.db("main"),
                         "options": {"statement_timeout_ms": "400"}}}

    def test_check_violation_dead_letter_then_stale_replay(self):
        db = self.db("main")
        self.pg.psql(db=db, sql="ALTER TABLE scim_users ADD CONSTRAINT "
                     "no_forbidden CHECK (department <> 'Forbidden')")
        try:
            uid = self.post("/Users", entra_user(
                "Eve.Oak@contoso.example", "Eve", "Oak", department="Ops"))
            self.assertEventually(lambda: self.user_cols(db, uid),
                                  self.expected(uid), "created")
            self.patch_ok("/Users/" + uid, patch(
                {"op": "replace", "path": URN_ENTERPRISE + ":department",
                 "value": "Forbidden"}))
            dead = self.wait_for(lambda: self.dead_for("main", uid),
                                 "a dead letter")
            self.assertEqual(dead[0]["event"]["type"], "user.updated")
            self.assertIn("23514: new row for relation \"scim_users\" "
                          "violates check constraint \"no_forbidden\"",
                          dead[0]["reason"])
            # Later events still go, a newer version of this user too.
            self.patch_ok("/Users/" + uid, patch(
                {"op": "replace", "path": URN_ENTERPRISE + ":department",
                 "value": "Sales"}))
            want = self.expected(uid)
            self.assertEqual(want["department"], "Sales")
            self.assertEventually(lambda: self.user_cols(db, uid), want,
                                  "the next update")
        finally:
            self.pg.psql(db=db, sql="ALTER TABLE scim_users DROP "
                         "CONSTRAINT no_forbidden")
        # The dead letter is stale now (an older version): the engine
        # keeps it back; forced through, the sink's version guard leaves
        # the row as the newer event left it.
        before = self.user(db, uid)
        delivered = self.sink()["delivered"]
        r = self.admin.post("/sinks/main/replay",
                            {"seq": dead[0]["seq"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["replayed"], r.json["stale"]), (0, 1), r)
        r = self.admin.post("/sinks/main/replay",
                            {"seq": dead[0]["seq"], "force": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["replayed"], 1, r)
        self.wait_for(lambda: self.sink()["delivered"] > delivered,
                      "the replay delivered")
        self.wait_drained()
        self.assertEqual(self.dead_for("main", uid), [])
        self.assertEqual(self.user(db, uid), before)

    def test_not_null_violation_dead_letter(self):
        db = self.db("main")
        self.pg.psql(db=db, sql="ALTER TABLE scim_users ALTER given_name "
                     "SET NOT NULL")
        try:
            body = okta_user("no.given@okta.example", "x", "Given")
            body["name"] = {"familyName": "Given"}
            bad = self.post("/Users", body)
            good = self.post("/Users", okta_user("has.given@okta.example",
                                                 "Has", "Given"))
            self.assertEventually(lambda: self.user_cols(db, good),
                                  self.expected(good), "the good one")
            self.wait_drained()
            dead = self.dead_for("main", bad)
            self.assertEqual(len(dead), 1, dead)
            self.assertIn("23502: null value in column \"given_name\"",
                          dead[0]["reason"])
            self.assertIsNone(self.user(db, bad))
        finally:
            self.pg.psql(db=db, sql="ALTER TABLE scim_users ALTER "
                         "given_name DROP NOT NULL")

    def test_held_lock_retries_then_delivers(self):
        db = self.db("main")
        uid = self.post("/Users", okta_user("lock.me@okta.example", "Lo",
                                            "Ck"))
        self.assertEventually(lambda: self.user_cols(db, uid),
                              self.expected(uid), "created")
        self.wait_drained()
        retries = self.sink()["retries"]
        env = tool_env(PGPASSFILE=os.path.join(self.pg.dir, "pgpass"))
        locker = subprocess.Popen(
            [psql_bin(), "-X", "-q", "-At", "-h", "127.0.0.1", "-p",
             str(self.pg.port), "-U", "scimsync", "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True, env=env)
        try:
            locker.stdin.write("BEGIN;\nSELECT 'locked' FROM scim_users "
                               "WHERE scim_id = '%s' FOR UPDATE;\n" % uid)
            locker.stdin.flush()
            self.assertEqual(locker.stdout.readline().strip(), "locked")
            self.patch_ok("/Users/" + uid, patch(
                {"op": "replace", "path": "displayName",
                 "value": "Locked Out"}))
            st = self.wait_for(
                lambda: (lambda x: x if x["retries"] > retries and
                         x["last_error"] and "57014" in x["last_error"]
                         else None)(self.sink()), "the sink retrying")
            self.assertIn("canceling statement due to statement timeout",
                          st["last_error"])
            self.assertGreater(st["lag"], 0)
            self.assertEqual(self.user(db, uid)["display_name"], "Lo Ck")
        finally:
            locker.communicate("COMMIT;\n", timeout=30)
        self.assertEventually(lambda: self.user(db, uid)["display_name"],
                              "Locked Out", "delivered after the lock")
        self.wait_drained()
        self.assertEqual(self.dead_for("main", uid), [])

    def test_resync_changes_nothing(self):
        db = self.db("main")
        tenant, c = self.new_tenant("resync")
        a = self.post("/Users", entra_user("re.one@contoso.example", "Re",
                                           "One"), client=c)
        b = self.post("/Users", okta_user("re.two@okta.example", "Re",
                                          "Two"), client=c)
        self.patch_ok("/Users/" + b, patch(
            {"op": "replace", "path": "active", "value": False}), client=c)
        g = self.post("/Groups", group_body("Acme-Developers", [a, b]),
                      client=c)
        self.assertEventually(lambda: self.roles(db, b),
                              ["org:developer", "team:developers"],
                              "granted")
        self.wait_drained()

        def snapshot():
            return (self.pg.table(db, "scim_users"),
                    self.pg.table(db, "scim_groups"),
                    self.pg.rows(db, "SELECT * FROM scim_user_roles "
                                 "ORDER BY 1, 2"))
        before = snapshot()
        self.assertEqual(strip({k: before[0][k] for k in (a, b)}),
                         {a: self.expected(a, c), b: self.expected(b, c)})
        delivered = self.sink()["delivered"]
        r = self.admin.post("/sinks/main/resync", {"tenant": tenant})
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json["events"], 7, r)
        self.wait_for(lambda: self.sink()["delivered"] >=
                      delivered + r.json["events"], "the resync delivered")
        self.wait_drained()
        self.assertEqual(snapshot(), before)
        self.assertEqual(self.dead_for("main", a, b, g), [])

    def test_bad_options_fail_at_start(self):
        pg = self.pg
        base = {"conninfo": pg.conninfo(self.db("main"))}
        for opts, text in (
                ({"bogus": "1"}, "unknown option 'bogus'"),
                ({"conninfo": None}, "option 'conninfo' is required"),
                ({"conninfo": "host=x password=hush-hush oops"},
                 "not a libpq connection string"),
                ({"password_file": self.pw_file, "password_env": "X"},
                 "set one"),
                ({"password_file": "/nonexistent/pw"},
                 "option 'password_file': cannot read"),
                ({"delete": "purge"}, "option 'delete'"),
                ({"key": "scim_version"}, "is a key column"),
                ({"users_table": "a..b"}, "not a table name"),
                ({"managed_columns": "email, title, email"},
                 "option 'managed_columns': 'email' is listed twice"),
                ({"statement_timeout_ms": "-1"},
                 "option 'statement_timeout_ms'")):
            wd = tempfile.mkdtemp(prefix="scimsync-pg-bad-")
            o = dict(base, **opts)
            sinks = {"main": {"db": "x", "options": {
                k: v for k, v in o.items() if v is not None}}}
            cfg = sinks_config(pg, sinks, self.pw_file)
            if opts.get("conninfo", "") is None:
                cfg = "\n".join(ln for ln in cfg.splitlines()
                                if "conninfo" not in ln) + "\n"
            d = AdminDaemon(workdir=wd, extra_config=cfg)
            try:
                with self.assertRaises(DaemonError) as cm:
                    d.start(timeout=10)
                self.assertIn(text, str(cm.exception))
                self.assertNotIn("hush-hush", str(cm.exception))
            finally:
                d.kill()
                shutil.rmtree(wd, ignore_errors=True)


# ---- outages --------------------------------------------------------------

class OutageTest(PgTestCase):
    """A cluster of its own, stopped while SCIM writes go on and started
    again; a backend frozen (SIGSTOP) so the sink's statement gets no
    answer. Nothing is lost, nothing is applied out of turn."""
    own_cluster = True

    @classmethod
    def sink_options(cls):
        return {"main": {"db": cls.db("main"), "options": {
            "statement_timeout_ms": "1000", "connect_timeout_ms": "1000"}}}

    def writer_threads(self, prefix, n, threads=4):
        """Create n users; update each, deactivate every 5th, delete every
        7th, in threads. Returns (threads, errors)."""
        errors = []

        def work(t):
            try:
                for i in range(t, n, threads):
                    uid = self.post("/Users", okta_user(
                        "%s%03d@example.org" % (prefix, i), "User",
                        "%s%03d" % (prefix, i)))
                    self.patch_ok("/Users/" + uid, patch(
                        {"op": "replace", "path": "displayName",
                         "value": "Updated %d" % i}))
                    if i % 5 == 0:
                        self.patch_ok("/Users/" + uid, patch(
                            {"op": "replace", "path": "active",
                             "value": False}))
                    if i % 7 == 0:
                        self.delete_ok("/Users/" + uid)
            except BaseException as e:  # noqa
                errors.append(e)
        ts = [threading.Thread(target=work, args=(t,))
              for t in range(threads)]
        for t in ts:
            t.start()
        return ts, errors

    def converged(self):
        """The users table is the SCIM API's users, versions and all."""
        db = self.db("main")
        want = {}
        for u in self.all_users():
            want[u["id"]] = dict(user_row(u), scim_version=version_of(u))
        self.assertEventually(
            lambda: strip(self.pg.table(db, "scim_users"),
                          USER_COLS + ["scim_version"]),
            want, "the table is the store")
        return want

    def test_server_stopped_and_restarted(self):
        db = self.db("main")
        count = "SELECT count(*) AS n FROM scim_users"
        ts, errors = self.writer_threads("out", 160)
        self.wait_for(lambda: self.pg.rows(db, count)[0]["n"] >= 20,
                      "the first rows")
        self.pg.stop()
        retries = self.sink()["retries"]
        st = self.wait_for(
            lambda: (lambda x: x if x["state"] == "retrying" and
                     x["retries"] >= retries + 3 else None)(self.sink()),
            "the sink retrying")
        self.assertTrue(st["last_error"], st)
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertGreater(self.sink()["lag"], 0)
        self.pg.start()
        self.wait_drained(timeout=60)
        want = self.converged()
        self.assertEqual(len([u for u in want.values()
                              if u["user_name"].startswith("out")]),
                         160 - len(range(0, 160, 7)))
        st = self.sink()
        self.assertEqual(st["dead_letters"], 0, st)
        self.assertGreater(st["retries"], 0, st)

    def test_frozen_backend_gets_no_answer(self):
        db = self.db("main")
        self.wait_drained()
        # Connected and idle: the sink's backend, frozen.
        uid = self.post("/Users", okta_user("warm.up@example.org", "Warm",
                                            "Up"))
        self.wait_for(lambda: self.user(db, uid), "connected")
        pids = self.pg.backend_pids(db)
        self.assertEqual(len(pids), 1, pids)
        os.kill(pids[0], signal.SIGSTOP)
        try:
            ids = [self.post("/Users", okta_user(
                "frz%d@example.org" % i, "Frz", str(i))) for i in range(5)]
            st = self.wait_for(
                lambda: (lambda x: x if x["last_error"] and "no answer" in
                         x["last_error"] else None)(self.sink()),
                "a timeout reported")
            self.assertEqual(st["dead_letters"], 0)
        finally:
            os.kill(pids[0], signal.SIGCONT)
        self.wait_drained(timeout=60)
        for i in ids:
            self.assertEqual(self.user_cols(db, i), self.expected(i))
        self.converged()


def tearDownModule():
    cleanup_all()


if __name__ == "__main__":
    unittest.main()
