"""The Okta and Entra sequences of idp_replay give exactly the events
idp_replay says they mean, in order, to a sink (the example sink writes
each event it receives as a JSON line). The sink suites (tests/ldap,
tests/postgres, tests/webhook) replay the same sequences into real
targets and trust this list."""

import unittest

import idp_replay
from test_outbox import SinkDaemonTest


def seen(evs):
    out = []
    for e in evs:
        if e["type"].startswith("role."):
            out.append((e["type"], e["user_id"], e["role"]))
        else:
            out.append((e["type"], e["resource_id"]))
    return out


class ReplayEventsTest(SinkDaemonTest):
    maxDiff = None

    def check(self, replay):
        tenant, c = self.new_tenant()
        st = replay(c, "r1")
        evs = self.wait_events(tenant, lambda e: len(e) >= len(st.events),
                               "%d events" % len(st.events))
        self.wait_drained()
        evs = self.events(tenant)
        self.assertEqual(seen(evs), st.events)
        # versions never go back per resource
        last = {}
        for e in evs:
            self.assertGreaterEqual(e["version"],
                                    last.get(e["resource_id"], 0), e)
            last[e["resource_id"]] = e["version"]
        return st, evs

    def test_okta(self):
        st, evs = self.check(idp_replay.replay_okta)
        self.assertEqual(sorted(st.roles.values(), key=sorted),
                         [set(), set(), {"team:engineering-r1"}])
        active = sorted(u["active"] for u in st.users.values())
        self.assertEqual(active, [False, True, True])

    def test_entra(self):
        st, evs = self.check(idp_replay.replay_entra)
        live = [u for u in st.users.values() if not u["deleted"]]
        self.assertEqual(len(live), 2)
        self.assertEqual(sorted(map(sorted, st.roles.values())),
                         [[], ["team:revenue-r1"]])


if __name__ == "__main__":
    unittest.main()
