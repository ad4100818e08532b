"""The Okta and Entra provisioning sequences, replayable into any sink.

The IdP tests (test_okta_*.py, test_entra_*.py) check that scimsync
answers each request as the IdP expects. The sink tests need more: the
*whole* life of a few users and groups as each IdP drives it (existence
check, create, profile update, group push, membership changes, rename,
deactivation, reactivation, deletion), and then a statement of where that
must leave the target. This module is that: replay_okta(client, tag) and
replay_entra(client, tag) send the requests with the bodies the IdP sends
(the same shapes as the IdP tests), check each status, and return a State
recording what the sequence means, kept by hand as the requests go out,
never read back from the server:

  st.users   {scim id: {"id", "userName", "externalId", "givenName",
              "familyName", "displayName", "email", "active",
              "department", "deleted"}}
  st.groups  {scim id: {"id", "displayName", "externalId",
              "members": set of user ids, "deleted"}}
  st.roles   {user id: set of roles} for every user not deleted, under
             mappings/roles.yaml (the daemon's mapping named "roles")
  st.events  the events the engine must emit, in order:
             (type, resource id) for user and group events,
             (type, user id, role) for role events

tag (lower-case letters and digits) makes names unique within a tenant,
so one daemon can take several replays. Group names start "Acme-" so that
roles.yaml grants roles: "Acme-Developers-<tag>" is team:developers-<tag>,
"Acme-Admins-<tag>" is org:admin-<tag>.
"""

import copy
import uuid

URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
URN_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADSCIM = ("http://schemas.microsoft.com/2006/11/ResourceManagement/"
          "ADSCIM/2.0/Group")
ENTRA_FLAG = "aadOptscim062020"


def roles_of(display_name):
    """The roles mappings/roles.yaml gives a group of this name."""
    g = display_name.lower()
    out = []
    if "acme-" in g:  # rule 1
        out.append(g.replace("acme-admins", "org:admin").replace(
            "acme-", "team:", 1))
    rule2 = {"acme-admins": "org:admin", "it-admins": "org:admin",
             "acme-developers": "org:developer", "auditors": "org:readonly"}
    if g in rule2:
        out.append(rule2[g])
    return set(x for x in out if x)


class ReplayError(AssertionError):
    pass


class State(object):
    def __init__(self):
        self.users = {}
        self.groups = {}
        self.events = []

    @property
    def roles(self):
        out = {}
        for uid, u in self.users.items():
            if u["deleted"]:
                continue
            have = set()
            for g in self.groups.values():
                if not g["deleted"] and uid in g["members"]:
                    have |= roles_of(g["displayName"])
            out[uid] = have
        return out

    def copy(self):
        return copy.deepcopy(self)


class Replay(object):
    """One IdP's requests, with the State and expected events kept as
    they go."""

    def __init__(self, client, tag):
        self.c = client
        self.tag = tag
        self.st = State()
        self.order = {}  # group id -> member ids in the order they came

    def _members_in_order(self, gid):
        g = self.st.groups[gid]
        return [u for u in self.order.get(gid, []) if u in g["members"]]

    # -- requests

    def _check(self, r, what, *ok):
        if r.status not in ok:
            raise ReplayError("%s: HTTP %s, expected %s: %s" % (
                what, r.status, ok, r.text[:500]))
        return r

    def find_user(self, user_name, expect):
        r = self._check(self.c.get("/Users", params=[
            ("filter", 'userName eq "%s"' % user_name),
            ("startIndex", 1), ("count", 100)]), "find user", 200)
        n = r.json["totalResults"]
        if n != expect:
            raise ReplayError("find %s: %d results, expected %d" % (
                user_name, n, expect))

    def find_group(self, name, expect):
        r = self._check(self.c.get("/Groups", params=[
            ("filter", 'displayName eq "%s"' % name),
            ("excludedAttributes", "members")]), "find group", 200)
        if r.json["totalResults"] != expect:
            raise ReplayError("find group %s: %d results" % (
                name, r.json["totalResults"]))

    def patch(self, path, ops, *ok, params=None):
        return self._check(self.c.patch(path, {
            "schemas": [URN_PATCH], "Operations": list(ops)},
            params=params), "PATCH " + path, *(ok or (200, 204)))

    # -- what the sequence means

    def user_created(self, body, r):
        u = r.json
        emails = body.get("emails") or []
        primary = [e["value"] for e in emails if e.get("primary")]
        ent = body.get(URN_ENTERPRISE) or {}
        self.st.users[u["id"]] = {
            "id": u["id"], "userName": body["userName"],
            "externalId": body.get("externalId"),
            "givenName": body["name"].get("givenName"),
            "familyName": body["name"].get("familyName"),
            "displayName": body.get("displayName"),
            "email": (primary or [e["value"] for e in emails] or [None])[0],
            "active": body.get("active", True) is not False,
            "department": ent.get("department"),
            "deleted": False}
        self.st.events.append(("user.created", u["id"]))
        return u["id"]

    def user_changed(self, uid, **fields):
        self.st.users[uid].update(fields)
        self.st.events.append(("user.updated", uid))

    def user_active(self, uid, active):
        self.st.users[uid]["active"] = active
        self.st.events.append(
            ("user.reactivated" if active else "user.deactivated", uid))

    def _role_events(self, uid, before, after):
        for role in sorted(before - after):
            self.st.events.append(("role.revoked", uid, role))
        for role in sorted(after - before):
            self.st.events.append(("role.granted", uid, role))

    def group_created(self, body, r, members=()):
        g = r.json
        self.st.groups[g["id"]] = {
            "id": g["id"], "displayName": body["displayName"],
            "externalId": body.get("externalId"),
            "members": set(members), "deleted": False}
        self.order[g["id"]] = list(members)
        self.st.events.append(("group.created", g["id"]))
        if members:
            # the members a group is created with are also an addition,
            # for sinks that follow membership events only
            self.st.events.append(("group.members_added", g["id"]))
        for uid in members:
            self._role_events(uid, set(), roles_of(body["displayName"]))
        return g["id"]

    def members_changed(self, gid, added=(), removed=()):
        g = self.st.groups[gid]
        roles = roles_of(g["displayName"])
        if removed:
            g["members"] -= set(removed)
            self.st.events.append(("group.members_removed", gid))
            for uid in removed:
                self._role_events(uid, roles, set())
        if added:
            g["members"] |= set(added)
            self.order.setdefault(gid, []).extend(added)
            self.st.events.append(("group.members_added", gid))
            for uid in added:
                self._role_events(uid, set(), roles)

    def group_renamed(self, gid, name):
        g = self.st.groups[gid]
        before, after = roles_of(g["displayName"]), roles_of(name)
        g["displayName"] = name
        self.st.events.append(("group.updated", gid))
        # every member loses the old roles, then every member gains the
        # new ones (in the order they joined)
        for uid in self._members_in_order(gid):
            self._role_events(uid, before - after, set())
        for uid in self._members_in_order(gid):
            self._role_events(uid, set(), after - before)

    def group_deleted(self, gid):
        g = self.st.groups[gid]
        roles = roles_of(g["displayName"])
        for uid in self._members_in_order(gid):
            self._role_events(uid, roles, set())
        g["deleted"] = True
        self.st.events.append(("group.deleted", gid))

    def user_deleted(self, uid):
        for gid in sorted(self.st.groups):
            g = self.st.groups[gid]
            if g["deleted"] or uid not in g["members"]:
                continue
            g["members"].discard(uid)
            self.st.events.append(("group.members_removed", gid))
            self._role_events(uid, roles_of(g["displayName"]), set())
        self.st.users[uid]["deleted"] = True
        self.st.events.append(("user.deleted", uid))


# ---- Okta ---------------------------------------------------------------

def okta_user_body(login, given, family):
    return {
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


def replay_okta(client, tag):
    """Okta: import check, create, profile PUT, Group Push with member
    PATCHes, a path-less rename, deactivation and reactivation through
    PATCH, a password push, and a pushed group unlinked (deleted). Okta
    never deletes users; it deactivates them."""
    x = Replay(client, tag)
    ids = {}
    bodies = {}
    for who, given, family in (("alice", "Alice", "Archer"),
                               ("bob", "Bob", "Baker"),
                               ("carol", "Carol", "Cole")):
        login = "%s.%s@okta.example" % (who, tag)
        x.find_user(login, 0)
        body = okta_user_body(login, given, family)
        r = x._check(client.post("/Users", body), "create " + who, 201)
        ids[who] = x.user_created(body, r)
        bodies[who] = dict(body, id=r.json["id"])

    # Profile update: Okta PUTs the whole user.
    a = ids["alice"]
    body = copy.deepcopy(bodies["alice"])
    body.pop("password")
    body["name"]["familyName"] = "Archer-Smith"
    body["displayName"] = "Alice Archer-Smith"
    x._check(client.put("/Users/" + a, body), "PUT alice", 200)
    x.user_changed(a, familyName="Archer-Smith",
                   displayName="Alice Archer-Smith")

    # Group Push: create empty, then add members.
    dev_name = "Acme-Developers-%s" % tag
    x.find_group(dev_name, 0)
    body = {"schemas": [URN_GROUP], "displayName": dev_name, "members": []}
    r = x._check(client.post("/Groups", body), "push group", 201)
    dev = x.group_created(body, r)
    x.patch("/Groups/" + dev, [{"op": "add", "path": "members", "value": [
        {"value": ids["alice"], "display": bodies["alice"]["userName"]},
        {"value": ids["bob"], "display": bodies["bob"]["userName"]}]}])
    x.members_changed(dev, added=[ids["alice"], ids["bob"]])

    adm_name = "Acme-Admins-%s" % tag
    body = {"schemas": [URN_GROUP], "displayName": adm_name, "members": [
        {"value": ids["carol"], "display": bodies["carol"]["userName"]}]}
    r = x._check(client.post("/Groups", body), "push admins", 201)
    adm = x.group_created(body, r, members=[ids["carol"]])

    # Rename, Okta's path-less form that repeats the id.
    eng_name = "Acme-Engineering-%s" % tag
    x.patch("/Groups/" + dev, [{"op": "replace", "value": {
        "id": dev, "displayName": eng_name}}])
    x.group_renamed(dev, eng_name)

    # Unassign bob from the pushed group.
    x.patch("/Groups/" + dev, [{"op": "remove",
                                "path": 'members[value eq "%s"]' % ids["bob"]}])
    x.members_changed(dev, removed=[ids["bob"]])

    # Deactivate bob, push alice's password, reactivate bob.
    x.patch("/Users/" + ids["bob"], [{"op": "replace",
                                      "value": {"active": False}}], 200)
    x.user_active(ids["bob"], False)
    x.patch("/Users/" + a, [{"op": "replace",
                             "value": {"password": "N3w-pa55word"}}], 200)
    x.patch("/Users/" + ids["bob"], [{"op": "replace",
                                      "value": {"active": True}}], 200)
    x.user_active(ids["bob"], True)

    # Carol leaves: deactivated, and the admins group is unlinked with
    # "delete the group in the app".
    x.patch("/Users/" + ids["carol"], [{"op": "replace",
                                        "value": {"active": False}}], 200)
    x.user_active(ids["carol"], False)
    x._check(client.delete("/Groups/" + adm), "delete admins", 204)
    x.group_deleted(adm)
    return x.st


# ---- Entra --------------------------------------------------------------

def entra_user_body(upn, given, family, dept):
    return {
        "schemas": [URN_USER, URN_ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": upn,
        "active": True,
        "displayName": "%s %s" % (given, family),
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "%s %s" % (given, family),
                 "familyName": family, "givenName": given},
        "phoneNumbers": [{"type": "work", "value": "+1 425-555-0100"}],
        "title": "Engineer",
        "roles": [],
        URN_ENTERPRISE: {"department": dept, "employeeNumber": "1001"},
    }


def replay_entra(client, tag):
    """Entra: query-then-create, PATCH updates in Entra's forms (capital
    ops, "False" as a string, the aadOptscim062020 flag), a userName
    change, groups created empty and filled with Add/Remove members, a
    rename, disable and re-enable, and hard deletes of a user and a
    group."""
    x = Replay(client, tag)
    ids = {}
    for who, given, family, dept in (("dan", "Dan", "Dole", "Sales"),
                                     ("erin", "Erin", "Eld", "Support"),
                                     ("frank", "Frank", "Fox", "Finance")):
        upn = "%s.%s@entra.example" % (who, tag)
        x.find_user(upn, 0)
        body = entra_user_body(upn, given, family, dept)
        r = x._check(client.post("/Users", body), "create " + who, 201)
        ids[who] = x.user_created(body, r)

    dan, erin, frank = ids["dan"], ids["erin"], ids["frank"]
    flag = [(ENTRA_FLAG, None)]

    # Attribute changes in one PATCH, Entra style.
    x.patch("/Users/" + dan, [
        {"op": "Replace", "path": "displayName", "value": "Daniel Dole"},
        {"op": "Replace", "path": "name.givenName", "value": "Daniel"},
        {"op": "Replace", "path": URN_ENTERPRISE + ":department",
         "value": "Engineering"}], 200, params=flag)
    x.user_changed(dan, displayName="Daniel Dole", givenName="Daniel",
                   department="Engineering")

    # Disable erin ("False" as a string, as Entra sends it).
    x.patch("/Users/" + erin, [{"op": "Replace", "path": "active",
                                "value": "False"}], 200)
    x.user_active(erin, False)

    # dan's UPN changes: userName and the work email.
    new_upn = "daniel.%s@entra.example" % tag
    x.patch("/Users/" + dan, [
        {"op": "Replace", "path": "userName", "value": new_upn},
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": new_upn}], 200)
    x.user_changed(dan, userName=new_upn, email=new_upn)

    # Groups: query, create empty, add members.
    adm_name = "Acme-Admins-%s" % tag
    sales_name = "Acme-Sales-%s" % tag
    gids = {}
    for name in (adm_name, sales_name):
        x.find_group(name, 0)
        body = {"schemas": [URN_GROUP, ADSCIM],
                "externalId": str(uuid.uuid4()), "displayName": name,
                "meta": {"resourceType": "Group"}}
        r = x._check(client.post("/Groups", body), "create " + name, 201)
        gids[name] = x.group_created(body, r)
    adm, sales = gids[adm_name], gids[sales_name]
    x.patch("/Groups/" + adm, [{"op": "Add", "path": "members", "value": [
        {"value": dan}, {"value": erin}]}], 204)
    x.members_changed(adm, added=[dan, erin])
    x.patch("/Groups/" + sales, [{"op": "Add", "path": "members",
                                  "value": [{"value": frank},
                                            {"value": erin}]}], 204,
            params=flag)
    x.members_changed(sales, added=[frank, erin])

    # erin leaves the admins; her department is cleared; she is
    # re-enabled.
    x.patch("/Groups/" + adm, [{"op": "Remove", "path": "members",
                                "value": [{"value": erin}]}], 204)
    x.members_changed(adm, removed=[erin])
    x.patch("/Users/" + erin, [{"op": "Remove", "path": URN_ENTERPRISE +
                                ":department"}], 200)
    x.user_changed(erin, department=None)
    x.patch("/Users/" + erin, [{"op": "Replace", "path": "active",
                                "value": "True"}], 200)
    x.user_active(erin, True)

    # Rename the sales group.
    rev_name = "Acme-Revenue-%s" % tag
    x.patch("/Groups/" + sales, [{"op": "Replace", "path": "displayName",
                                  "value": rev_name}], 204)
    x.group_renamed(sales, rev_name)

    # frank is deleted in Entra (hard delete after the soft-delete
    # window): he leaves his groups and loses his roles first.
    x._check(client.delete("/Users/" + frank), "delete frank", 204)
    x.user_deleted(frank)

    # The admins group is deleted: dan loses org:admin-<tag>.
    x._check(client.delete("/Groups/" + adm), "delete admins", 204)
    x.group_deleted(adm)
    return x.st
