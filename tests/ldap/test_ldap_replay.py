"""The whole Okta and Entra sequences (tests/http/idp_replay.py) replayed
through scimsyncd into a real slapd: at the end, ldapsearch shows exactly
the entries, attributes, disabled state and role groups the sequences
mean, and nothing else under their names."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# test_ldap_sink puts tests/http on the path. Its test classes are not
# imported by name, so that discovery does not run them twice here.
import test_ldap_sink  # noqa: E402
from test_ldap_sink import (LOCKED, PEOPLE, PERSON, ROLES, LdapTestCase,  # noqa: E402
                            person_dn, role_dn)
import idp_replay  # noqa: E402


class ReplayTest(LdapTestCase):
    """The default modes (as OktaEntraTest): deactivation sets
    pwdAccountLockedTime, deletion deletes, roles are groupOfNames under
    ou=roles."""
    sink_options = classmethod(
        test_ldap_sink.OktaEntraTest.sink_options.__func__)

    def expected(self, st, entra=False):
        """{dn: entry view} for the users, {role dn: sorted member DNs}."""
        people, dn_of = {}, {}
        for uid, u in st.users.items():
            if u["deleted"]:
                continue
            local = u["userName"].split("@")[0].lower()
            dn = person_dn(local).lower()
            dn_of[uid] = dn
            e = {"objectclass": PERSON, "uid": [local],
                 "cn": [u["displayName"]], "sn": [u["familyName"]],
                 "givenname": [u["givenName"]],
                 "displayname": [u["displayName"]], "mail": [u["email"]],
                 "description": ["scimsync:" + uid]}
            if entra:
                e.update(telephonenumber=["+1 425-555-0100"],
                         title=["Engineer"], employeenumber=["1001"])
            if u["department"]:
                e["departmentnumber"] = [u["department"]]
            if not u["active"]:
                e["pwdaccountlockedtime"] = [LOCKED]
            people[dn] = {k: sorted(v) for k, v in e.items()}
        roles = {}
        for uid, rs in st.roles.items():
            for r in rs:
                roles.setdefault(role_dn(r).lower(), []).append(dn_of[uid])
        return people, {k: sorted(v) for k, v in roles.items()}

    def actual(self, tag):
        s = self.slapds["ldap"]
        people = {}
        for dn, e in s.search(PEOPLE, "(uid=*%s*)" % tag).items():
            people[dn.lower()] = {k: sorted(v) for k, v in e.items()
                                  if k != "entryuuid"}
        roles = {}
        for dn, e in s.search(ROLES, "(cn=*%s*)" % tag,
                              ["member", "objectClass"]).items():
            self.assertEqual(sorted(e["objectclass"]),
                             ["groupOfNames", "top"], dn)
            roles[dn.lower()] = sorted(m.lower() for m in e["member"])
        return people, roles

    def replay(self, fn, tag, entra=False):
        st = fn(self.c, tag)
        want = self.expected(st, entra)
        self.wait_drained()
        self.assertEventually(lambda: self.actual(tag), want,
                              "directory after the sequence")
        ids = list(st.users) + list(st.groups)
        self.assertEqual(self.dead_for("ldap", *ids), [])
        return st, want

    def test_okta_sequence(self):
        st, (people, roles) = self.replay(idp_replay.replay_okta, "okr1")
        # What the sequence must have left, said plainly as well.
        self.assertEqual(len(people), 3)
        self.assertEqual(sorted(roles),
                         [role_dn("team:engineering-okr1").lower()])
        locked = [dn for dn, e in people.items()
                  if "pwdaccountlockedtime" in e]
        self.assertEqual(locked, [person_dn("carol.okr1").lower()])

    def test_entra_sequence(self):
        st, (people, roles) = self.replay(idp_replay.replay_entra, "enr1",
                                          entra=True)
        # dan's entry was renamed with his UPN, frank's deleted; erin is
        # enabled again, without a department.
        self.assertEqual(sorted(people), sorted([
            person_dn("daniel.enr1").lower(),
            person_dn("erin.enr1").lower()]))
        erin = people[person_dn("erin.enr1").lower()]
        self.assertNotIn("pwdaccountlockedtime", erin)
        self.assertNotIn("departmentnumber", erin)
        self.assertEqual(roles, {role_dn("team:revenue-enr1").lower():
                                 [person_dn("erin.enr1").lower()]})


if __name__ == "__main__":
    unittest.main()
