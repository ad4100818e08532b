"""The LDAP sink (plugins/sink-ldap) against a real OpenLDAP slapd.

Each class starts its own throwaway slapd(s) through tests/ldap/slapd.sh
(loopback, random port, its own temp dir) and a scimsyncd with the sink,
drives SCIM requests as Okta and Entra send them, and reads the directory
back with ldapsearch. Every wait is a poll with a deadline on what the
directory (or the admin API) shows.

Environment: SCIMSYNC_BUILDDIR, SCIMSYNC_SRCDIR (as for tests/http);
SCIMSYNC_LDAP_TMP, a directory for the slapd instances (tests/ldap.sh
makes one and stops whatever is left in it); SCIMSYNC_TEST_KEEP keeps the
daemons' and slapds' directories.
"""

import base64
import json
import os
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

SLAPD_SH = os.path.join(SRC, "tests", "ldap", "slapd.sh")
SUFFIX = "dc=example,dc=org"
PEOPLE = "ou=people," + SUFFIX
ROLES = "ou=roles," + SUFFIX
DISABLED = "ou=disabled," + SUFFIX
DELETED = "ou=deleted," + SUFFIX
ROOTDN = "cn=admin," + SUFFIX
LOCKED = "000001010000Z"
WAIT = 20.0

# What the tests read of an entry (lower-cased names).
ATTRS = ["objectClass", "uid", "cn", "sn", "givenName", "displayName", "mail",
         "mobile", "telephoneNumber", "title", "employeeNumber",
         "departmentNumber", "description", "pwdAccountLockedTime",
         "member", "uniqueMember", "entryUUID"]
PERSON = ["inetOrgPerson", "organizationalPerson", "person", "top"]


def sink_so():
    return plugin_so("ldap")


_own_tmp = []


def tmp_root():
    root = os.environ.get("SCIMSYNC_LDAP_TMP")
    if root:
        return root
    if not _own_tmp:
        _own_tmp.append(tempfile.mkdtemp(prefix="scimsync-ldap-"))
    return _own_tmp[0]


# ---- slapd --------------------------------------------------------------

def parse_ldif(text):
    """ldapsearch -LLL -o ldif-wrap=no output: {dn: {attr_lower: [v]}}."""
    out = {}
    for block in text.strip().split("\n\n"):
        dn, attrs = None, {}
        for line in block.splitlines():
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition(":")
            if not sep:
                continue
            if value.startswith(":"):
                value = base64.b64decode(value[1:].strip()).decode("utf-8")
            else:
                value = value[1:] if value.startswith(" ") else value
            if name.lower() == "dn":
                dn = value
            else:
                attrs.setdefault(name.lower(), []).append(value)
        if dn is not None:
            out[dn] = attrs
    return out


class Slapd(object):
    """One throwaway slapd (tests/ldap/slapd.sh) with its own dir."""

    def __init__(self, name, tls=None):
        self.dir = os.path.join(tmp_root(), "%s-%s" % (
            name, uuid.uuid4().hex[:8]))
        self.password = "pw-" + uuid.uuid4().hex
        self.url = None
        self.tls = tls  # (cert, key) PEM paths: StartTLS

    def _run(self, *args):
        env = dict(os.environ, SLAPD_ROOTPW=self.password)
        if self.tls:
            env.update(SLAPD_TLS_CERT=self.tls[0], SLAPD_TLS_KEY=self.tls[1])
        return subprocess.run(["sh", SLAPD_SH] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=env, timeout=60)

    def start(self):
        r = self._run("start", self.dir)
        if r.returncode != 0:
            raise AssertionError("slapd.sh start %s failed:\n%s%s"
                                 % (self.dir, r.stdout, r.stderr))
        self.url = r.stdout.strip().splitlines()[-1]
        return self

    def stop(self):
        r = self._run("stop", self.dir)
        if r.returncode != 0:
            raise AssertionError("slapd.sh stop failed: %s" % r.stderr)

    def pid(self):
        r = self._run("pid", self.dir)
        return int(r.stdout) if r.returncode == 0 else None

    def cleanup(self):
        self.stop()
        if not keep():
            shutil.rmtree(self.dir, ignore_errors=True)

    def search(self, base=SUFFIX, flt="(objectClass=*)", attrs=None,
               scope="sub"):
        """{dn: {attr: [values]}}; {} when base does not exist."""
        r = subprocess.run(
            ["ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no",
             "-o", "nettimeout=5", "-H", self.url, "-D", ROOTDN,
             "-w", self.password, "-b", base, "-s", scope, flt]
            + list(attrs or ATTRS),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=30)
        if r.returncode == 32:  # no such object
            return {}
        if r.returncode != 0:
            raise AssertionError("ldapsearch %s %s: %s" % (base, flt,
                                                           r.stderr))
        return parse_ldif(r.stdout)

    def entry(self, dn, attrs=None):
        got = self.search(dn, attrs=attrs, scope="base")
        return next(iter(got.values())) if got else None

    def dns(self, base, flt="(objectClass=*)"):
        """The DNs right below base, lower-cased, sorted."""
        return sorted(d.lower() for d in
                      self.search(base, flt, ["1.1"], scope="one"))

    def ldapmodify(self, ldif):
        r = subprocess.run(
            ["ldapmodify", "-x", "-H", self.url, "-D", ROOTDN,
             "-w", self.password], input=ldif, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("ldapmodify: %s" % r.stderr)


# ---- scimsyncd with LDAP sinks -----------------------------------------

def sinks_config(sinks, mapping_file=None):
    """extra_config for sinks: {name: (slapd, {option: value})}."""
    lines = ["mappings:",
             "  ldap: %s" % yaml_str(mapping_file or os.path.join(
                 SRC, "mappings", "ldap-inetorgperson.yaml")),
             "  roles: %s" % yaml_str(os.path.join(SRC, "mappings",
                                                   "roles.yaml")),
             "sinks:"]
    for name, (slapd, opts) in sorted(sinks.items()):
        lines += ["  %s:" % name,
                  "    plugin: %s" % yaml_str(sink_so()),
                  "    mapping: ldap",
                  "    retry: {initial_ms: 50, max_ms: 400}",
                  "    options:"]
        o = {"url": slapd.url}
        o.update(opts)
        for k, v in sorted(o.items()):
            lines.append("      %s: %s" % (k, yaml_str(v)))
    return "\n".join(lines) + "\n"


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


def entra_user(upn, given, family, mail=None, **extra):
    body = {
        "schemas": [URN_USER, URN_ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": upn,
        "active": True,
        "displayName": "%s %s" % (given, family),
        "emails": [{"primary": True, "type": "work", "value": mail or upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "%s %s" % (given, family),
                 "familyName": family, "givenName": given},
        "phoneNumbers": [{"type": "work", "value": "+1 425-555-0100"}],
        "title": "Product Manager",
        "roles": [],
        URN_ENTERPRISE: {"department": "Engineering",
                         "employeeNumber": "100001"},
    }
    body.update(extra)
    return body


def entra_group(name):
    return {"schemas": [URN_GROUP], "externalId": str(uuid.uuid4()),
            "displayName": name, "meta": {"resourceType": "Group"}}


def patch(*ops):
    return {"schemas": [URN_PATCH], "Operations": list(ops)}


def person_dn(uid, ou=PEOPLE):
    return "uid=%s,%s" % (uid, ou)


def role_dn(role):
    return "cn=%s,%s" % (role, ROLES)


class LdapTestCase(SinkTestCase):
    """A daemon with LDAP sinks, and its slapds, per class."""
    slapd_names = ("ldap",)
    mapping_text = None  # a mapping file of the class's own, if set
    tls = None  # (cert, key) for the slapds, from setUpSlapd

    @classmethod
    def setUpSlapd(cls, workdir):
        """Before the slapds start (certificates, say)."""

    @classmethod
    def sink_options(cls, slapds, workdir):
        """{sink name: (slapd, options)}"""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.slapds = {}
        cls.d = None
        try:
            cls.wd = tempfile.mkdtemp(prefix="scimsync-ldap-d-")
            cls.setUpSlapd(cls.wd)
            for n in cls.slapd_names:
                cls.slapds[n] = Slapd(n, cls.tls).start()
            mapping = None
            if cls.mapping_text is not None:
                mapping = os.path.join(cls.wd, "mapping.yaml")
                with open(mapping, "w") as f:
                    f.write(cls.mapping_text % {"src": SRC})
            cls.sinks = cls.sink_options(cls.slapds, cls.wd)
            cls.d = AdminDaemon(workdir=cls.wd, extra_config=sinks_config(
                cls.sinks, mapping))
            cls.d.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.admin = cls.d.admin_client()
        cls.c = Client(cls.d)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stop_daemon([s.password for s in cls.slapds.values()])
        finally:
            for s in cls.slapds.values():
                s.cleanup()

    def view(self, slapd, dn, attrs=None):
        """The entry at dn without its entryUUID, values sorted."""
        e = slapd.entry(dn, attrs)
        if e is None:
            return None
        return {k: sorted(v) for k, v in e.items() if k != "entryuuid"}

    def members(self, slapd, role, attr="member"):
        e = slapd.entry(role_dn(role), [attr])
        return None if e is None else sorted(v.lower() for v in e[attr])


# ---- the default modes: Okta and Entra sequences ------------------------

class OktaEntraTest(LdapTestCase):
    """deactivate: attribute (ppolicy's pwdAccountLockedTime), delete:
    delete, roles under ou=roles as groupOfNames, bind as the rootdn with
    a password file; the optional attributes are managed (removed when
    the mapping no longer renders them)."""

    @classmethod
    def sink_options(cls, slapds, workdir):
        pw = os.path.join(workdir, "bind.pw")
        with open(pw, "w") as f:
            f.write(slapds["ldap"].password + "\n")
        return {"ldap": (slapds["ldap"], {
            "bind_dn": ROOTDN, "bind_password_file": pw,
            "roles_base": ROLES, "timeout_ms": 3000,
            "managed_attrs": "givenName displayName mail telephoneNumber "
                             "mobile title employeeNumber departmentNumber"})}

    def okta_expected(self, uid, login, given, family, uid_scim, **more):
        e = {"objectclass": PERSON, "uid": [uid],
             "cn": ["%s %s" % (given, family)], "sn": [family],
             "givenname": [given], "displayname": ["%s %s" % (given, family)],
             "mail": [login], "description": ["scimsync:" + uid_scim]}
        e.update({k.lower(): v for k, v in more.items()})
        return e

    def test_okta_lifecycle(self):
        s = self.slapds["ldap"]
        kim = okta_user("Kim.Lee@okta.example", "Kim", "Lee")
        ola = okta_user("ola.nordmann@okta.example", "Ola", "Nordmann")
        # Okta's existence check, then the create.
        r = self.c.get("/Users", params=[
            ("filter", 'userName eq "%s"' % kim["userName"]),
            ("startIndex", 1), ("count", 100)])
        self.assertEqual(r.json["totalResults"], 0, r)
        kid = self.post("/Users", kim)
        oid = self.post("/Users", ola)
        kdn, odn = person_dn("kim.lee"), person_dn("ola.nordmann")
        self.assertEventually(
            lambda: self.view(s, kdn),
            self.okta_expected("kim.lee", "Kim.Lee@okta.example", "Kim",
                               "Lee", kid), "kim created")
        self.assertEventually(
            lambda: self.view(s, odn),
            self.okta_expected("ola.nordmann", "ola.nordmann@okta.example",
                               "Ola", "Nordmann", oid), "ola created")
        uuid_before = s.entry(kdn)["entryuuid"]

        # A name change (PATCH, path-less replace as Okta sends it), and
        # a title.
        self.patch_ok("/Users/" + kid, patch(
            {"op": "replace", "value": {
                "name": {"givenName": "Kim", "familyName": "Lee-Park"},
                "displayName": "Kim Lee-Park", "title": "Engineer"}}))
        want = self.okta_expected("kim.lee", "Kim.Lee@okta.example", "Kim",
                                  "Lee-Park", kid, title=["Engineer"])
        self.assertEventually(lambda: self.view(s, kdn), want, "renamed")
        self.assertEqual(s.entry(kdn)["entryuuid"], uuid_before)

        # Okta's profile push: a PUT of the whole user, title gone: the
        # attribute goes too (managed_attrs).
        cur = self.c.get("/Users/" + kid).json
        for k in ("meta", "groups", "title"):
            cur.pop(k, None)
        r = self.c.put("/Users/" + kid, cur)
        self.assertEqual(r.status, 200, r)
        want.pop("title")
        self.assertEventually(lambda: self.view(s, kdn), want,
                              "title removed")

        # Deactivate: locked for good (ppolicy); reactivate: unlocked.
        self.patch_ok("/Users/" + kid, patch(
            {"op": "replace", "value": {"active": False}}))
        locked = dict(want, pwdaccountlockedtime=[LOCKED])
        self.assertEventually(lambda: self.view(s, kdn), locked,
                              "deactivated")
        self.patch_ok("/Users/" + kid, patch(
            {"op": "replace", "value": {"active": True}}))
        self.assertEventually(lambda: self.view(s, kdn), want,
                              "reactivated")

        # Delete: gone; the other user stays.
        self.assertEqual(self.c.delete("/Users/" + kid).status, 204)
        self.assertEventually(lambda: s.entry(kdn), None, "deleted")
        self.wait_drained()
        self.assertIsNotNone(s.entry(odn))
        self.assertEqual(self.dead_for("ldap", kid, oid), [])

    def test_entra_users_and_roles(self):
        s = self.slapds["ldap"]
        # Entra's group cycle first: the group comes empty.
        gid = self.post("/Groups", entra_group("Acme-Admins"))
        adele = entra_user("Adele.Vance@contoso.example", "Adele", "Vance")
        alex = entra_user("alex.wilber@contoso.example", "Alex", "Wilber")
        aid = self.post("/Users", adele)
        xid = self.post("/Users", alex)
        adn, xdn = person_dn("adele.vance"), person_dn("alex.wilber")
        expect = {
            "objectclass": PERSON, "uid": ["adele.vance"],
            "cn": ["Adele Vance"], "sn": ["Vance"], "givenname": ["Adele"],
            "displayname": ["Adele Vance"],
            "mail": ["Adele.Vance@contoso.example"],
            "telephonenumber": ["+1 425-555-0100"],
            "title": ["Product Manager"], "employeenumber": ["100001"],
            "departmentnumber": ["Engineering"],
            "description": ["scimsync:" + aid]}
        self.assertEventually(lambda: self.view(s, adn), expect,
                              "adele created")
        self.wait_drained()
        self.assertEqual(s.dns(ROLES), [], "an empty group grants nothing")

        # Entra's PATCH: "Replace" and "Add", capitalised.
        self.patch_ok("/Users/" + aid, patch(
            {"op": "Replace", "path": "displayName", "value": "Adele V."},
            {"op": "Replace", "path": "name.familyName",
             "value": "Vance-Smith"},
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value',
             "value": "+1 425-555-0199"}))
        expect.update(displayname=["Adele V."], cn=["Adele V."],
                      sn=["Vance-Smith"], mobile=["+1 425-555-0199"])
        self.assertEventually(lambda: self.view(s, adn), expect,
                              "adele patched")

        # Members added: the role group appears with both DNs.
        self.patch_ok("/Groups/" + gid, patch(
            {"op": "Add", "path": "members",
             "value": [{"value": aid}, {"value": xid}]}))
        self.assertEventually(lambda: self.members(s, "org:admin"),
                              sorted([adn.lower(), xdn.lower()]),
                              "org:admin members")
        g = s.entry(role_dn("org:admin"), ["objectClass", "cn"])
        self.assertEqual(sorted(g["objectclass"]), ["groupOfNames", "top"])
        self.assertEqual(g["cn"], ["org:admin"])

        # One removed.
        self.patch_ok("/Groups/" + gid, patch(
            {"op": "Remove", "path": "members", "value": [{"value": aid}]}))
        self.assertEventually(lambda: self.members(s, "org:admin"),
                              [xdn.lower()], "adele removed")

        # Renamed: Auditors grants org:readonly; org:admin loses its last
        # member, and its group goes.
        self.patch_ok("/Groups/" + gid, patch(
            {"op": "Replace", "path": "displayName", "value": "Auditors"}))
        self.assertEventually(lambda: self.members(s, "org:readonly"),
                              [xdn.lower()], "org:readonly")
        self.assertEventually(lambda: s.dns(ROLES),
                              [role_dn("org:readonly").lower()],
                              "org:admin gone")

        # A group of two roles, and Entra's string "False".
        g2 = self.post("/Groups", entra_group("Acme-Developers"))
        self.patch_ok("/Groups/" + g2, patch(
            {"op": "Add", "path": "members", "value": [{"value": aid}]}))
        self.assertEventually(lambda: (self.members(s, "team:developers"),
                                       self.members(s, "org:developer")),
                              ([adn.lower()], [adn.lower()]), "developers")
        self.patch_ok("/Users/" + aid, patch(
            {"op": "Replace", "path": "active", "value": "False"}))
        self.assertEventually(
            lambda: self.view(s, adn, ["pwdAccountLockedTime"]),
            {"pwdaccountlockedtime": [LOCKED]}, "entra disable")

        # Deleting the user takes it out of its roles, then the entry.
        self.assertEqual(self.c.delete("/Users/" + aid).status, 204)
        self.assertEventually(lambda: s.dns(ROLES),
                              [role_dn("org:readonly").lower()],
                              "adele's roles gone")
        self.assertEventually(lambda: s.entry(adn), None, "adele deleted")
        self.wait_drained()
        self.assertEqual(self.dead_for("ldap", aid, xid, gid, g2), [])

    def test_username_change_renames_the_entry(self):
        s = self.slapds["ldap"]
        uid = self.post("/Users", okta_user("rename.me@example.org",
                                            "Rene", "Name"))
        gid = self.post("/Groups", {"schemas": [URN_GROUP],
                                    "displayName": "IT-Admins",
                                    "members": [{"value": uid}]})
        old, new = person_dn("rename.me"), person_dn("renamed.person")
        self.assertEventually(lambda: self.members(s, "org:admin"),
                              [old.lower()], "member before")
        before = s.entry(old)
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "userName",
             "value": "renamed.person@example.org"}))
        self.assertEventually(lambda: s.entry(old), None, "old DN gone")
        after = self.wait_for(lambda: s.entry(new), "new DN")
        # The same entry (entryUUID), uid follows, the rest unchanged.
        self.assertEqual(after["entryuuid"], before["entryuuid"])
        self.assertEqual(after.pop("uid"), ["renamed.person"])
        self.assertEqual(before.pop("uid"), ["rename.me"])
        self.assertEqual(after, before)
        # The role group names the new DN.
        self.assertEventually(lambda: self.members(s, "org:admin"),
                              [new.lower()], "member after")
        # No note of the move is left behind.
        self.assertEqual(s.entry(new, ["description"])["description"],
                         ["scimsync:" + uid])
        self.assertEqual(self.c.delete("/Groups/" + gid).status, 204)
        self.assertEventually(lambda: self.members(s, "org:admin"), None,
                              "group deleted: role revoked")

    def test_resync_changes_nothing(self):
        # The admin API's resync sends the tenant again (user.created
        # for every user, role.granted for every role): the directory,
        # modifyTimestamp and entryCSN included, stays as it is.
        s = self.slapds["ldap"]
        uid = self.post("/Users", okta_user("re.sync@example.org", "Re",
                                            "Sync"))
        self.post("/Groups", {"schemas": [URN_GROUP],
                              "displayName": "Acme-Developers",
                              "members": [{"value": uid}]})
        self.assertEventually(
            lambda: self.members(s, "org:developer"),
            [person_dn("re.sync").lower()], "granted")
        self.wait_drained()
        ops = ["modifyTimestamp", "entryCSN", "entryUUID"]
        before = s.search(SUFFIX, attrs=["*"] + ops)
        delivered = self.sink("ldap")["delivered"]
        r = self.admin.post("/sinks/ldap/resync", {"tenant": "default"})
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json["events"], 4, r)
        self.wait_for(lambda: self.sink("ldap")["delivered"] >=
                      delivered + r.json["events"], "the resync delivered")
        self.wait_drained()
        self.assertEqual(s.search(SUFFIX, attrs=["*"] + ops), before)

    def test_existing_entry_is_adopted_and_conflicts_fail(self):
        s = self.slapds["ldap"]
        # An entry made before scimsync (by an admin, with a class of its
        # own) is taken over, keeping its extra class.
        s.ldapmodify("dn: %s\nchangetype: add\nobjectClass: inetOrgPerson\n"
                     "objectClass: extensibleObject\nuid: pre.existing\n"
                     "cn: Old\nsn: Old\n\n" % person_dn("pre.existing"))
        uid = self.post("/Users", okta_user("pre.existing@example.org",
                                            "Pre", "Existing"))
        self.assertEventually(
            lambda: self.view(s, person_dn("pre.existing"),
                              ["objectClass", "cn", "description"]),
            {"objectclass": sorted(PERSON + ["extensibleObject"]),
             "cn": ["Pre Existing"], "description": ["scimsync:" + uid]},
            "adopted")
        # Another SCIM user whose uid maps to the same DN: refused for
        # good (a dead letter), the first one untouched.
        dead0 = self.sink("ldap")["dead_letters"]
        r = self.c.post("/Users", okta_user("Pre.Existing@other.example",
                                            "Other", "Person"))
        self.assertEqual(r.status, 201, r)
        self.wait_drained()
        self.assertEqual(self.sink("ldap")["dead_letters"], dead0 + 1)
        dead = self.sink("ldap")["dead"][-1]
        self.assertEqual(dead["event"]["resource_id"], r.json["id"])
        self.assertIn("already exists for another SCIM user",
                      dead["reason"])
        self.assertEqual(s.entry(person_dn("pre.existing"),
                                 ["cn"])["cn"], ["Pre Existing"])
        # Deleting that user leaves the entry (it is not its own).
        self.assertEqual(self.c.delete("/Users/" + r.json["id"]).status,
                         204)
        self.wait_drained()
        self.assertEqual(s.entry(person_dn("pre.existing"),
                                 ["description"])["description"],
                         ["scimsync:" + uid])


# ---- the other modes ------------------------------------------------------

class ModesTest(LdapTestCase):
    """Two sinks, each into its own slapd: `moves` (deactivate and delete
    by moving to ou=disabled / ou=deleted) and `roles` (deactivate by
    removing the roles, groupOfUniqueNames, password from the
    environment)."""
    slapd_names = ("moves", "roles")

    @classmethod
    def sink_options(cls, slapds, workdir):
        os.environ["SCIMSYNC_TEST_LDAP_PW"] = slapds["roles"].password
        pw = os.path.join(workdir, "moves.pw")
        with open(pw, "w") as f:
            f.write(slapds["moves"].password)
        return {
            "moves": (slapds["moves"], {
                "bind_dn": ROOTDN, "bind_password_file": pw,
                "roles_base": ROLES, "deactivate": "move:" + DISABLED,
                "delete": "move:" + DELETED}),
            "roles": (slapds["roles"], {
                "bind_dn": ROOTDN, "bind_password_env": "SCIMSYNC_TEST_LDAP_PW",
                "roles_base": ROLES, "deactivate": "remove_roles",
                "role_class": "groupOfUniqueNames"}),
        }

    def test_move_and_remove_roles(self):
        mv, ro = self.slapds["moves"], self.slapds["roles"]
        uid = self.post("/Users", okta_user("mia.wong@example.org", "Mia",
                                            "Wong"))
        gid = self.post("/Groups", {"schemas": [URN_GROUP],
                                    "displayName": "Acme-Admins",
                                    "members": [{"value": uid}]})
        people, disabled = person_dn("mia.wong"), person_dn("mia.wong",
                                                            DISABLED)
        self.assertEventually(lambda: self.members(mv, "org:admin"),
                              [people.lower()], "moves: granted")
        self.assertEventually(
            lambda: self.members(ro, "org:admin", "uniquemember"),
            [people.lower()], "roles: granted")

        # Deactivated: moved (and its role follows) / out of its roles,
        # remembered.
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": False}))
        self.assertEventually(lambda: mv.dns(DISABLED), [disabled.lower()],
                              "moves: in ou=disabled")
        self.assertEqual(mv.dns(PEOPLE), [])
        self.assertEventually(lambda: self.members(mv, "org:admin"),
                              [disabled.lower()], "moves: member follows")
        self.assertEventually(lambda: ro.dns(ROLES), [],
                              "roles: out of every role")
        self.assertEqual(
            sorted(ro.entry(people, ["description"])["description"]),
            sorted(["scimsync:" + uid, "scimsync-role:org:admin"]))
        self.assertIsNone(mv.entry(disabled, ["pwdAccountLockedTime"]).get(
            "pwdaccountlockedtime"))

        # While inactive: an update stays in ou=disabled; a grant is
        # remembered, not given.
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "displayName", "value": "Mia W."}))
        self.assertEventually(lambda: mv.entry(disabled, ["cn"]),
                              {"cn": ["Mia W."]}, "moves: updated")
        g2 = self.post("/Groups", {"schemas": [URN_GROUP],
                                   "displayName": "Auditors",
                                   "members": [{"value": uid}]})
        self.assertEventually(
            lambda: sorted(ro.entry(people, ["description"])["description"]),
            sorted(["scimsync:" + uid, "scimsync-role:org:admin",
                    "scimsync-role:org:readonly"]), "roles: remembered")
        self.wait_drained()
        self.assertEqual(ro.dns(ROLES), [])
        self.assertEqual(self.members(mv, "org:readonly"),
                         [disabled.lower()])

        # Reactivated: back / roles back.
        self.patch_ok("/Users/" + uid, patch(
            {"op": "replace", "path": "active", "value": True}))
        self.assertEventually(lambda: mv.dns(PEOPLE), [people.lower()],
                              "moves: back in ou=people")
        self.assertEqual(mv.dns(DISABLED), [])
        self.assertEventually(
            lambda: (self.members(mv, "org:admin"),
                     self.members(mv, "org:readonly")),
            ([people.lower()], [people.lower()]), "moves: members follow")
        self.assertEventually(
            lambda: (self.members(ro, "org:admin", "uniquemember"),
                     self.members(ro, "org:readonly", "uniquemember")),
            ([people.lower()], [people.lower()]), "roles: back")
        self.assertEventually(
            lambda: ro.entry(people, ["description"])["description"],
            ["scimsync:" + uid], "roles: memo gone")
        self.assertEqual(sorted(
            ro.entry(role_dn("org:admin"), ["objectClass"])["objectclass"]),
            ["groupOfUniqueNames", "top"])

        # Deleted: moved to ou=deleted / gone.
        for g in (gid, g2):
            self.assertEqual(self.c.delete("/Groups/" + g).status, 204)
        self.assertEqual(self.c.delete("/Users/" + uid).status, 204)
        self.assertEventually(lambda: mv.dns(DELETED),
                              [person_dn("mia.wong", DELETED).lower()],
                              "moves: in ou=deleted")
        self.assertEventually(lambda: ro.entry(people), None,
                              "roles: deleted")
        self.assertEqual(mv.dns(PEOPLE), [])
        self.assertEqual(mv.dns(ROLES), [])
        self.assertEqual(ro.dns(ROLES), [])

    def test_namesakes_in_the_deleted_ou(self):
        mv = self.slapds["moves"]
        first = self.post("/Users", okta_user("max.may@example.org", "Max",
                                              "May"))
        self.assertEqual(self.c.delete("/Users/" + first).status, 204)
        self.assertEventually(lambda: len(mv.dns(DELETED, "(uid=max.may)")),
                              1, "the first max in ou=deleted")
        second = self.post("/Users", okta_user("max.may@example.org", "Max",
                                               "May"))
        self.assertEqual(self.c.delete("/Users/" + second).status, 204)
        self.assertEventually(
            lambda: len(mv.dns(DELETED, "(uid=max.may)")), 2,
            "both in ou=deleted")
        ids = sorted(v for e in mv.search(DELETED, "(uid=max.may)",
                                          ["description"]).values()
                     for v in e["description"])
        self.assertEqual(ids, sorted(["scimsync:" + first,
                                      "scimsync:" + second]))
        self.wait_drained()
        self.assertEqual(self.dead_for("moves", first, second), [])


# ---- outages ---------------------------------------------------------------

class OutageTest(LdapTestCase):
    """slapd stopped while users are created, then started again; slapd
    frozen (SIGSTOP) so requests time out; a wrong password fixed in the
    password file. Nothing is lost."""

    @classmethod
    def sink_options(cls, slapds, workdir):
        cls.pw_path = os.path.join(workdir, "bind.pw")
        with open(cls.pw_path, "w") as f:
            f.write(slapds["ldap"].password)
        return {"ldap": (slapds["ldap"], {
            "bind_dn": ROOTDN, "bind_password_file": cls.pw_path,
            "timeout_ms": 1000})}

    def users_in_ldap(self, prefix):
        return {e["uid"][0] for e in self.slapds["ldap"].search(
            PEOPLE, "(uid=%s*)" % prefix, ["uid"]).values()}

    def test_slapd_stopped_and_restarted(self):
        s = self.slapds["ldap"]
        n = 300
        ts, ids, errors = self.create_users("out", n)
        self.wait_for(lambda: len(self.users_in_ldap("out")) >= 30,
                      "the first users in LDAP")
        s.stop()
        st = self.wait_for(
            lambda: (lambda x: x if x["state"] == "retrying" and
                     x["last_error"] else None)(self.sink("ldap")),
            "the sink retrying")
        self.assertIn("Can't contact LDAP server", st["last_error"])
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), n)
        self.assertGreater(self.sink("ldap")["lag"], 0)
        time.sleep(2)  # the outage goes on a little (not a wait for sync)
        s.start()
        self.wait_drained(timeout=60)
        self.assertEventually(lambda: self.users_in_ldap("out"),
                              set(ids), "every user in LDAP")
        # Once each, with its own id.
        got = s.search(PEOPLE, "(uid=out*)", ["uid", "description"])
        self.assertEqual(len(got), n)
        for e in got.values():
            self.assertEqual(e["description"],
                             ["scimsync:" + ids[e["uid"][0]]])
        st = self.sink("ldap")
        self.assertEqual(st["dead_letters"], 0, st)
        self.assertGreater(st["retries"], 0, st)

    def test_slapd_frozen_requests_time_out(self):
        s = self.slapds["ldap"]
        pid = s.pid()
        self.assertIsNotNone(pid)
        os.kill(pid, signal.SIGSTOP)
        try:
            ts, ids, errors = self.create_users("frz", 20, threads=2)
            for t in ts:
                t.join(60)
            self.assertEqual(errors, [])
            st = self.wait_for(
                lambda: (lambda x: x if x["last_error"] and "Timed out" in
                         x["last_error"] else None)(self.sink("ldap")),
                "a timeout reported")
            self.assertEqual(st["dead_letters"], 0)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.wait_drained(timeout=60)
        self.assertEventually(lambda: self.users_in_ldap("frz"), set(ids),
                              "every user in LDAP")

    def test_wrong_password_waits_then_recovers(self):
        # Drop the connection (restart slapd), with a wrong password in
        # the file: events wait, as retries, not dead letters.
        s = self.slapds["ldap"]
        self.wait_drained()
        with open(self.pw_path, "w") as f:
            f.write("wrong")
        s.stop()
        s.start()
        uid = self.post("/Users", okta_user("pw.test@example.org", "Pw",
                                            "Test"))
        st = self.wait_for(
            lambda: (lambda x: x if x["last_error"] and "Invalid "
                     "credentials" in x["last_error"] else None)(
                         self.sink("ldap")), "bind refused")
        self.assertEqual(st["dead_letters"], 0)
        self.assertNotIn(s.password, st["last_error"])
        with open(self.pw_path, "w") as f:
            f.write(s.password + "\n")
        self.assertEventually(
            lambda: s.entry(person_dn("pw.test"), ["description"]),
            {"description": ["scimsync:" + uid]}, "delivered after the fix")


# ---- at least once: everything delivered again --------------------------

class RedeliveryTest(LdapTestCase):
    """What a crash before the sink's cursor was stored looks like: the
    daemon is stopped, the sink's cursor is put back to the start in the
    store, and the daemon starts again, so every event comes again in
    order: a user.created whose DN a later rename changed, a move to the
    disabled OU and back, a deletion. The directory must end as it was,
    with the same entries (entryUUID), and nothing more. A second sink on
    a port where nothing listens holds the events in the outbox."""

    @classmethod
    def sink_options(cls, slapds, workdir):
        pw = os.path.join(workdir, "bind.pw")
        with open(pw, "w") as f:
            f.write(slapds["ldap"].password)
        nowhere = "ldap://127.0.0.1:%d" % scimtest.free_port()
        return {"ldap": (slapds["ldap"], {
            "bind_dn": ROOTDN, "bind_password_file": pw,
            "roles_base": ROLES, "deactivate": "move:" + DISABLED}),
            "held": (slapds["ldap"], {"url": nowhere})}

    def rewind(self, sink):
        import sqlite3
        rc = self.d.stop(scimtest.STOP_TIMEOUT)
        self.assertEqual(rc, 0)
        db = sqlite3.connect(self.d.db_path)
        try:
            cur = db.execute(
                "UPDATE resources SET json = '{\"seq\":0}' WHERE "
                "tenant = '#system' AND type = 6 AND id = ?", (sink,))
            self.assertEqual(cur.rowcount, 1)
            db.commit()
        finally:
            db.close()
        self.d.start()
        type(self).admin = self.d.admin_client()
        type(self).c = Client(self.d)

    def test_everything_again_ends_the_same(self):
        s = self.slapds["ldap"]
        a = self.post("/Users", okta_user("re.anna@example.org", "Anna",
                                          "Re"))
        b = self.post("/Users", okta_user("re.bo@example.org", "Bo", "Re"))
        gone = self.post("/Users", okta_user("re.gone@example.org", "Gone",
                                             "Re"))
        g = self.post("/Groups", entra_group("Acme-Admins"))
        self.patch_ok("/Groups/" + g, patch(
            {"op": "add", "path": "members",
             "value": [{"value": a}, {"value": b}]}))
        # anna becomes ann (a modrdn); bo goes to ou=disabled and back;
        # gone is deleted.
        self.patch_ok("/Users/" + a, patch(
            {"op": "replace", "path": "userName",
             "value": "re.ann@example.org"}))
        for active in (False, True):
            self.patch_ok("/Users/" + b, patch(
                {"op": "replace", "value": {"active": active}}))
        self.assertEqual(self.c.delete("/Users/" + gone).status, 204)
        want_people = sorted([person_dn("re.ann").lower(),
                              person_dn("re.bo").lower()])
        self.assertEventually(
            lambda: sorted(d for d in s.dns(PEOPLE) if "uid=re." in d),
            want_people, "the directory before")
        self.wait_for(lambda: self.sink("ldap")["lag"] == 0, "drained")
        before = s.search(SUFFIX, "(uid=re.*)", ["entryUUID", "uid"])
        roles = self.members(s, "org:admin")
        delivered = self.sink("ldap")["delivered"]
        self.assertGreater(delivered, 8)

        self.rewind("ldap")
        self.wait_for(lambda: (lambda x: x["lag"] == 0 and
                               x["delivered"] >= delivered)(
                                   self.sink("ldap")),
                      "every event delivered again")
        self.assertEqual(s.search(SUFFIX, "(uid=re.*)",
                                  ["entryUUID", "uid"]), before)
        self.assertEqual(self.members(s, "org:admin"), roles)
        self.assertEqual(sorted(roles), want_people)
        self.assertEqual(s.dns(DISABLED), [])
        self.assertEqual(self.dead_for("ldap", a, b, gone, g), [])

    def test_a_move_cut_short_is_finished(self):
        # A rename the connection cut between its modrdn and the role
        # groups following it leaves the entry at its new DN with a note
        # "scimsync-moved:<old DN>" and the groups naming the old DN. That
        # state is made here by hand; the rename's event, when it comes
        # again, must finish the move: groups name the new DN, the note
        # goes, the entry is the same one.
        s = self.slapds["ldap"]
        k = self.post("/Users", okta_user("cut.kim@example.org", "Kim",
                                          "Cut"))
        g = self.post("/Groups", entra_group("Acme-Developers"))
        self.patch_ok("/Groups/" + g, patch(
            {"op": "add", "path": "members", "value": [{"value": k}]}))
        old, new = person_dn("cut.kim"), person_dn("cut.kimberly")
        self.assertEventually(lambda: self.members(s, "org:developer"),
                              [old.lower()], "kim in the role group")
        self.wait_for(lambda: self.sink("ldap")["lag"] == 0, "drained")
        uuid_before = s.entry(old)["entryuuid"]
        s.ldapmodify("dn: %s\nchangetype: modify\nadd: description\n"
                     "description: scimsync-moved:%s\n\n"
                     "dn: %s\nchangetype: modrdn\nnewrdn: uid=cut.kimberly\n"
                     "deleteoldrdn: 0\n" % (old, old, old))
        self.patch_ok("/Users/" + k, patch(
            {"op": "replace", "path": "userName",
             "value": "cut.kimberly@example.org"}))
        self.assertEventually(
            lambda: (self.members(s, "org:developer"),
                     self.members(s, "team:developers")),
            ([new.lower()], [new.lower()]), "the groups follow")
        e = s.entry(new, ["description", "uid", "entryUUID"])
        self.assertEqual(e["description"], ["scimsync:" + k])
        self.assertEqual(e["uid"], ["cut.kimberly"])
        self.assertEqual(e["entryuuid"], uuid_before)
        self.assertIsNone(s.entry(old))


# ---- what the directory refuses ------------------------------------------

class DeadLetterTest(LdapTestCase):
    """A mapping that breaks the schema for some users (gidNumber is not
    an attribute of inetOrgPerson): those events are dead letters and
    delivery goes on. And options scimsyncd refuses at start."""
    mapping_text = """\
extends: %(src)s/mappings/ldap-inetorgperson.yaml
user:
  gidNumber: '{{ nickName }}'
"""

    @classmethod
    def sink_options(cls, slapds, workdir):
        pw = os.path.join(workdir, "bind.pw")
        with open(pw, "w") as f:
            f.write(slapds["ldap"].password)
        return {"ldap": (slapds["ldap"], {
            "bind_dn": ROOTDN, "bind_password_file": pw})}

    def test_schema_violation_is_a_dead_letter(self):
        s = self.slapds["ldap"]
        a = self.post("/Users", okta_user("fine.one@example.org", "Fine",
                                          "One"))
        b = self.post("/Users", okta_user("bad.one@example.org", "Bad",
                                          "One", nickName="5000"))
        c = self.post("/Users", okta_user("fine.two@example.org", "Fine",
                                          "Two"))
        self.assertEventually(lambda: s.dns(PEOPLE), sorted([
            person_dn("fine.one").lower(), person_dn("fine.two").lower()]),
            "the good ones")
        self.wait_drained()
        st = self.sink("ldap")
        self.assertEqual(st["dead_letters"], 1, st)
        dead = st["dead"]
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["event"]["type"], "user.created")
        self.assertEqual(dead[0]["event"]["resource_id"], b)
        self.assertIn("Object class violation", dead[0]["reason"])
        self.assertIn("gidNumber", dead[0]["reason"])
        self.assertIn(a, self.c.get("/Users/" + a).text)
        self.assertTrue(c)
        # Updates of the refused user keep failing for good, the others
        # go on.
        self.patch_ok("/Users/" + c, patch(
            {"op": "replace", "path": "title", "value": "Boss"}))
        self.assertEventually(
            lambda: s.entry(person_dn("fine.two"), ["title"]),
            {"title": ["Boss"]}, "update after the dead letter")

    def test_then_a_backlog_in_batches(self):
        # Users queued while slapd is down reach it in batches (one search
        # for the batch's users, the adds pipelined). Among them: two the
        # schema refuses, one whose entry an administrator made before
        # (adopted), one whose DN another SCIM user's entry holds (a
        # conflict). Exactly those three fail; every other user is there
        # once, with its id.
        s = self.slapds["ldap"]
        self.wait_drained()
        s.ldapmodify(
            "dn: %s\nchangetype: add\nobjectClass: inetOrgPerson\n"
            "cn: Adopt Me\nsn: Me\nuid: bat.adopt\n\n"
            "dn: %s\nchangetype: add\nobjectClass: inetOrgPerson\n"
            "cn: Taken\nsn: Taken\nuid: bat.taken\n"
            "description: scimsync:somebody-else\n" % (
                person_dn("bat.adopt"), person_dn("bat.taken")))
        s.stop()
        ids, bad = {}, set()
        for i in range(60):
            name = "bat.%02d" % i
            extra = {}
            if i in (11, 40):
                extra["nickName"] = "5000"
            if i == 20:
                name = "bat.adopt"
            if i == 30:
                name = "bat.taken"
            ids[name] = self.post("/Users", okta_user(
                name + "@example.org", "Bat", name, **extra))
            if i in (11, 30, 40):
                bad.add(ids[name])
        self.wait_for(lambda: self.sink("ldap")["state"] == "retrying",
                      "the sink waiting for slapd")
        s.start()
        self.wait_drained(timeout=60)
        got = s.search(PEOPLE, "(uid=bat.*)", ["uid", "description", "sn"])
        by_uid = {e["uid"][0]: e for e in got.values()}
        want = {n for n, i in ids.items() if i not in bad}
        self.assertEqual(set(by_uid) - {"bat.taken"}, want)
        for name in want:
            self.assertEqual(by_uid[name]["description"],
                             ["scimsync:" + ids[name]], name)
        self.assertEqual(by_uid["bat.adopt"]["sn"], ["bat.adopt"])
        self.assertEqual(by_uid["bat.taken"]["description"],
                         ["scimsync:somebody-else"])
        dead = {d["event"]["resource_id"]: d["reason"]
                for d in self.dead_for("ldap", *ids.values())}
        self.assertEqual(set(dead), bad)
        self.assertIn("Object class violation", dead[ids["bat.11"]])
        self.assertIn("another SCIM user", dead[ids["bat.taken"]])

    def test_bad_options_fail_at_start(self):
        s = self.slapds["ldap"]
        for opts, text in (
                ({"url": s.url, "bogus": "1"}, "unknown option 'bogus'"),
                ({"url": s.url, "managed_attrs": "title mail title"},
                 "option 'managed_attrs': 'title' is listed twice"),
                ({"url": "http://x"}, "option 'url'"),
                ({"url": s.url, "bind_dn": ROOTDN},
                 "needs 'bind_password_file'"),
                ({"url": s.url, "deactivate": "remove_roles"},
                 "needs option 'roles_base'"),
                ({"url": s.url, "delete": "move:not a dn"},
                 "option 'delete'"),
                ({"url": s.url, "delete": "move:" + DISABLED,
                  "deactivate": "move:" + DISABLED}, "the same DN"),
                ({"url": s.url, "base": PEOPLE,
                  "deactivate": "move:" + DISABLED},
                 "is not under option 'base'")):
            wd = tempfile.mkdtemp(prefix="scimsync-ldap-bad-")
            cfg = sinks_config({"ldap": (s, {})}).replace(
                "      url: %s\n" % yaml_str(s.url),
                "".join("      %s: %s\n" % (k, yaml_str(v))
                        for k, v in sorted(opts.items())))
            d = AdminDaemon(workdir=wd, extra_config=cfg)
            try:
                with self.assertRaises(DaemonError) as cm:
                    d.start(timeout=10)
                self.assertIn(text, str(cm.exception))
            finally:
                d.kill()
                shutil.rmtree(wd, ignore_errors=True)


class StartTlsTest(LdapTestCase):
    """StartTLS with the certificate checked: against the CA that signed
    slapd's certificate it works; without it (the system's CAs) the sink
    retries and says why, and keeps the events."""

    @classmethod
    def setUpSlapd(cls, workdir):
        cert = os.path.join(workdir, "cert.pem")
        key = os.path.join(workdir, "key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2",
             "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=60)
        if r.returncode != 0:
            raise unittest.SkipTest("openssl req: %s" % r.stderr)
        cls.tls = (cert, key)

    @classmethod
    def sink_options(cls, slapds, workdir):
        pw = os.path.join(workdir, "bind.pw")
        with open(pw, "w") as f:
            f.write(slapds["ldap"].password)
        common = {"bind_dn": ROOTDN, "bind_password_file": pw,
                  "start_tls": "true"}
        with open(os.path.join(slapds["ldap"].dir, "ldaps_url")) as f:
            ldaps = f.read().strip()
        plain = {"bind_dn": ROOTDN, "bind_password_file": pw, "url": ldaps}
        return {"tls": (slapds["ldap"], dict(common, tls_ca_file=cls.tls[0])),
                "untrusted": (slapds["ldap"], common),
                # ldaps://, checked against the CA, and not checked
                "ldaps": (slapds["ldap"], dict(plain,
                                               tls_ca_file=cls.tls[0])),
                "ldaps_noverify": (slapds["ldap"], dict(
                    plain, tls_verify="false")),
                "ldaps_untrusted": (slapds["ldap"], plain)}

    def test_start_tls(self):
        s = self.slapds["ldap"]
        uid = self.post("/Users", okta_user("tls.user@example.org", "Tls",
                                            "User"))
        self.assertEventually(
            lambda: s.entry(person_dn("tls.user"), ["description"]),
            {"description": ["scimsync:" + uid]}, "delivered over TLS")
        st = self.wait_for(
            lambda: (lambda x: x if x["state"] == "retrying" and
                     x["last_error"] else None)(self.sink("untrusted")),
            "the unverified sink retrying")
        self.assertIn("StartTLS", st["last_error"])
        self.assertEqual(st["dead_letters"], 0)
        self.assertGreater(st["lag"], 0)

    def test_ldaps(self):
        # Three sinks on the ldaps:// port mirror the same user into the
        # one directory (each adopts what another made first): with the
        # CA, and with tls_verify false, they deliver; with neither they
        # retry and keep the events.
        s = self.slapds["ldap"]
        uid = self.post("/Users", okta_user("ldaps.user@example.org",
                                            "Ldaps", "User"))
        self.assertEventually(
            lambda: s.entry(person_dn("ldaps.user"), ["description"]),
            {"description": ["scimsync:" + uid]}, "delivered over ldaps")
        for name in ("ldaps", "ldaps_noverify"):
            st = self.wait_for(
                lambda: (lambda x: x if x["lag"] == 0 and
                         x["delivered"] > 0 else None)(self.sink(name)),
                "%s delivered" % name)
            self.assertEqual(st["dead_letters"], 0, st)
            self.assertEqual(st["retries"], 0, st)
        st = self.wait_for(
            lambda: (lambda x: x if x["state"] == "retrying" and
                     x["last_error"] else None)(self.sink("ldaps_untrusted")),
            "the unverified ldaps sink retrying")
        self.assertIn("certificate is not trusted", st["last_error"])
        self.assertEqual(st["dead_letters"], 0)
        self.assertGreater(st["lag"], 0)
        got = s.search(PEOPLE, "(uid=ldaps.user)", ["uid"])
        self.assertEqual(len(got), 1)


def tearDownModule():
    for d in _own_tmp:
        if not keep():
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
