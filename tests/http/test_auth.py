"""Bearer token authentication (RFC 7644 §2, RFC 6750)."""

import unittest

from scimtest import ScimTestCase, Client, user_body, make_token


class AuthTest(ScimTestCase):

    def assertUnauthorized(self, r):
        self.assertScimError(r, 401)
        www = r.header("WWW-Authenticate")
        self.assertIsNotNone(www, "401 without WWW-Authenticate: %r" % r)
        self.assertTrue(www.lower().startswith("bearer"), www)

    def test_no_token_get_users(self):
        self.assertUnauthorized(self.c.get("/Users", auth=False))

    def test_no_token_post_user(self):
        r = self.c.post("/Users", user_body(), auth=False)
        self.assertUnauthorized(r)

    def test_no_token_each_protected_endpoint(self):
        for method, path in (("GET", "/Users/abc"), ("GET", "/Groups"),
                             ("GET", "/Groups/abc"), ("PUT", "/Users/abc"),
                             ("PATCH", "/Users/abc"), ("DELETE", "/Users/abc"),
                             ("POST", "/Users/.search"),
                             ("POST", "/Groups/.search"), ("POST", "/Bulk")):
            with self.subTest(method=method, path=path):
                r = self.c.request(method, path, body={}, auth=False)
                self.assertUnauthorized(r)

    def test_wrong_token(self):
        c = Client(self.srv, token=make_token())
        self.assertUnauthorized(c.get("/Users"))

    def test_token_prefix_only(self):
        # The stored secret is a hash of the whole token; a prefix or a
        # token with something appended must not match.
        for tok in (self.srv.token[:-1], self.srv.token + "x",
                    self.srv.token.upper(), ""):
            with self.subTest(tok=tok[:20]):
                r = self.c.get("/Users", auth=False,
                               headers={"Authorization": "Bearer " + tok})
                self.assertUnauthorized(r)

    def test_basic_scheme_rejected(self):
        r = self.c.get("/Users", auth=False,
                       headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertUnauthorized(r)

    def test_token_without_scheme_rejected(self):
        r = self.c.get("/Users", auth=False,
                       headers={"Authorization": self.srv.token})
        self.assertUnauthorized(r)

    def test_scheme_case_insensitive(self):
        # RFC 7235 §2.1: the auth-scheme is case-insensitive.
        r = self.c.get("/Users", auth=False, params={"count": 1},
                       headers={"Authorization": "bearer " + self.srv.token})
        self.assertStatus(r, 200)

    def test_good_token(self):
        r = self.c.get("/Users", params={"count": 1})
        self.assertStatus(r, 200)

    def test_discovery_needs_no_token(self):
        for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas",
                     "/ResourceTypes/User"):
            with self.subTest(path=path):
                self.assertStatus(self.c.get(path, auth=False), 200)

    def test_discovery_with_bad_token_still_ok_or_401(self):
        # A wrong token on a public endpoint: either ignored or refused,
        # but never a 5xx.
        c = Client(self.srv, token=make_token())
        r = c.get("/ServiceProviderConfig")
        self.assertStatus(r, 200, 401)


if __name__ == "__main__":
    unittest.main()
