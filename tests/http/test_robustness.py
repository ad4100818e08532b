"""Limits and hostile input: oversized and malformed bodies, deep JSON,
invalid UTF-8, huge or deep filters, unknown endpoints and methods, garbage
on the socket. Each must be a 4xx (a SCIM error where the request got that
far) and the server must still answer afterwards."""

import http.client
import json
import socket
import unittest
import urllib.parse

from scimtest import (ScimTestCase, URN_USER, MAX_BODY_BYTES, MAX_JSON_DEPTH,
                      raw_exchange, uniq, user_body)


class RobustnessTest(ScimTestCase):

    def tearDown(self):
        self.assertAlive()

    def assertAlive(self):
        r = self.c.get("/ServiceProviderConfig")
        self.assertStatus(r, 200)

    # ---- bodies

    def test_body_too_large(self):
        body = user_body(displayName="x" * (MAX_BODY_BYTES + 10))
        r = self.c.post("/Users", body)
        self.assertScimError(r, 413)
        self.assertAlive()
        lst = self.c.get("/Users", params={
            "filter": 'userName eq "%s"' % body["userName"]}).json
        self.assertEqual(lst["totalResults"], 0)

    def test_body_too_large_on_put_and_patch(self):
        u = self.create_user()
        big = "y" * (MAX_BODY_BYTES + 10)
        r = self.c.put("/Users/" + u["id"], user_body(u["userName"],
                                                      displayName=big))
        self.assertScimError(r, 413)
        r = self.c.patch("/Users/" + u["id"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName",
                            "value": big}]})
        self.assertScimError(r, 413)

    def test_body_well_below_limit_ok(self):
        r = self.c.post("/Users", user_body(displayName="z" * 100000))
        self.assertStatus(r, 201)

    def test_json_too_deep(self):
        depth = MAX_JSON_DEPTH + 5
        nested = "[" * depth + "]" * depth
        raw = ('{"schemas":["%s"],"userName":"%s","x":%s}'
               % (URN_USER, uniq("deep"), nested))
        r = self.c.post("/Users", raw=raw)
        self.assertScimError(r, 400, "invalidSyntax")

    def test_json_extremely_deep(self):
        # 150000 levels stay under max_body_bytes, so this is about depth
        for depth in (10000, 150000):
            with self.subTest(depth=depth):
                r = self.c.post("/Users", raw="[" * depth + "]" * depth)
                self.assertScimError(r, 400, "invalidSyntax")
                r = self.c.post("/Users", raw='{"a":' * depth + "1"
                                + "}" * depth)
                self.assertScimError(r, 400, "invalidSyntax")
                self.assertAlive()

    def test_json_depth_within_limit(self):
        depth = MAX_JSON_DEPTH // 2
        nested = "[" * depth + "]" * depth
        raw = ('{"schemas":["%s"],"userName":"%s","x":%s}'
               % (URN_USER, uniq("notdeep"), nested))
        r = self.c.post("/Users", raw=raw)
        self.assertStatus(r, 201)

    def test_malformed_json(self):
        for raw in (b'{', b'{"userName":}', b'not json at all',
                    b'{"userName":"a",}', b"{'userName':'a'}",
                    b'{"userName":"a"} trailing', b'{"a":1}{"b":2}'):
            with self.subTest(raw=raw):
                r = self.c.post("/Users", raw=raw)
                self.assertScimError(r, 400, "invalidSyntax")

    def test_not_an_object(self):
        for raw in (b'null', b'[]', b'"string"', b'42', b'true'):
            with self.subTest(raw=raw):
                r = self.c.post("/Users", raw=raw)
                self.assertScimError(r, 400)

    def test_empty_body(self):
        r = self.c.post("/Users", raw=b"")
        self.assertScimError(r, 400)
        r = self.c.request("POST", "/Users", content_type=None,
                           headers={"Content-Length": "0"})
        self.assertScimError(r, 400)

    def test_invalid_utf8_in_body(self):
        for bad in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80",
                    b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"):
            raw = (b'{"schemas":["' + URN_USER.encode() + b'"],"userName":"'
                   + uniq("utf").encode() + bad + b'"}')
            with self.subTest(bad=bad):
                r = self.c.post("/Users", raw=raw)
                self.assertScimError(r, 400)

    def test_lone_surrogate_escape(self):
        raw = ('{"schemas":["%s"],"userName":"%s\\ud800"}'
               % (URN_USER, uniq("sur")))
        r = self.c.post("/Users", raw=raw)
        self.assertScimError(r, 400)

    def test_nul_escape(self):
        raw = ('{"schemas":["%s"],"userName":"%s\\u0000x"}'
               % (URN_USER, uniq("nul")))
        r = self.c.post("/Users", raw=raw)
        # Either refused, or stored and returned intact.
        self.assertLess(r.status, 500, repr(r))
        if r.status == 201:
            self.assertIn("\u0000", r.json["userName"])
        else:
            self.assertScimError(r, 400)

    def test_duplicate_keys(self):
        raw = ('{"schemas":["%s"],"userName":"%s","userName":"%s"}'
               % (URN_USER, uniq("k1"), uniq("k2")))
        r = self.c.post("/Users", raw=raw)
        self.assertLess(r.status, 500, repr(r))

    def test_huge_numbers(self):
        raw = ('{"schemas":["%s"],"userName":"%s","x":1e999999,'
               '"y":123456789012345678901234567890}' % (URN_USER, uniq("num")))
        r = self.c.post("/Users", raw=raw)
        self.assertLess(r.status, 500, repr(r))

    # ---- filters

    def test_invalid_utf8_in_filter(self):
        path = "/Users?filter=" + urllib.parse.quote('userName eq "') \
            + "%FF%FE" + urllib.parse.quote('"')
        r = self.c.get(path)
        self.assertScimError(r, 400)

    def test_huge_filter(self):
        flt = 'userName eq "%s"' % ("a" * 6000)
        r = self.c.get("/Users", params={"filter": flt})
        self.assertScimError(r, 400, statuses=(400, 414))
        if r.status == 400:
            self.assertEqual(r.json.get("scimType"), "invalidFilter", r)

    def test_huge_filter_via_search(self):
        flt = " or ".join('userName eq "%d"' % i for i in range(2000))
        r = self.c.post("/Users/.search", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": flt})
        self.assertScimError(r, 400, "invalidFilter")

    def test_deeply_nested_filter(self):
        for depth in (100, 1000):
            with self.subTest(depth=depth):
                flt = "(" * depth + 'userName eq "x"' + ")" * depth
                r = self.c.post("/Users/.search", {
                    "schemas": [
                        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": flt})
                self.assertScimError(r, 400, "invalidFilter")
                flt = "not (" * depth + 'userName eq "x"' + ")" * depth
                r = self.c.post("/Users/.search", {
                    "schemas": [
                        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": flt})
                self.assertScimError(r, 400, "invalidFilter")

    def test_long_or_chain_within_limits(self):
        flt = " or ".join('userName eq "%s"' % uniq("or") for _ in range(60))
        r = self.c.get("/Users", params={"filter": flt})
        # Either evaluated (nothing matches) or refused as too complex.
        if r.status == 200:
            self.assertEqual(r.json["totalResults"], 0)
        else:
            self.assertScimError(r, 400, "invalidFilter")

    def test_injection_in_filter_value(self):
        u = self.create_user()
        for v in ("x' OR '1'='1", 'x" or userName pr or "', "%", "_", "*",
                  "\\", "'); DROP TABLE resources; --"):
            with self.subTest(v=v):
                flt = "userName eq %s" % json.dumps(v)
                r = self.c.get("/Users", params={"filter": flt})
                body = self.assertListResponse(r)
                self.assertEqual(body["totalResults"], 0)
        # "co" with LIKE metacharacters must be literal
        for v in ("%", "_"):
            r = self.c.get("/Users", params={
                "filter": 'userName eq "%s" and userName co "%s"'
                % (u["userName"], v)})
            self.assertEqual(r.json["totalResults"], 0, v)
        self.get_user(u["id"])

    # ---- endpoints and methods

    def test_unknown_endpoints(self):
        for path in ("/Printers", "/Users/a/b", "/Groups/x/members",
                     "/ServiceProviderConfigs", "/users/../Users/../Bulk/x",
                     "/Schemas/urn:x/y/z"):
            with self.subTest(path=path):
                r = self.c.get(path)
                self.assertScimError(r, 404)

    def test_outside_prefix(self):
        for path in ("/", "/scim", "/scim/v1/Users", "/etc/passwd",
                     "/../../etc/passwd"):
            with self.subTest(path=path):
                conn = http.client.HTTPConnection(self.srv.host, self.srv.port,
                                                  timeout=10)
                conn.request("GET", path, headers={
                    "Authorization": "Bearer " + self.srv.token})
                r = conn.getresponse()
                r.read()
                conn.close()
                self.assertIn(r.status, (301, 308, 400, 404), path)

    def test_weird_ids(self):
        for rid in ("%00", "'%20OR%201=1%20--", "%2e%2e", "a%2Fb",
                    "x" * 2000, "%E2%98%83"):
            with self.subTest(rid=rid[:20]):
                r = self.c.get("/Users/" + rid)
                self.assertScimError(r, 404, statuses=(400, 404))

    WRONG_METHODS = (("DELETE", "/Users"), ("PUT", "/Users"),
                     ("PATCH", "/Users"), ("POST", "/Users/{uid}"),
                     ("DELETE", "/ServiceProviderConfig"),
                     ("POST", "/Schemas"), ("PUT", "/ResourceTypes"),
                     ("DELETE", "/Bulk"), ("PATCH", "/Groups"))

    def test_wrong_methods(self):
        u = self.create_user()
        for method, path in self.WRONG_METHODS:
            path = path.format(uid=u["id"])
            with self.subTest(method=method, path=path):
                r = self.c.request(method, path, body={"schemas": []})
                self.assertScimError(r, r.status, statuses=(404, 405, 501))
        self.get_user(u["id"])

    def test_405_has_allow_header(self):
        # RFC 9110 §15.5.6: a 405 response MUST carry Allow.
        u = self.create_user()
        for method, path in self.WRONG_METHODS:
            path = path.format(uid=u["id"])
            with self.subTest(method=method, path=path):
                r = self.c.request(method, path, body={"schemas": []})
                if r.status == 405:
                    self.assertTrue(r.header("Allow"),
                                    "405 without Allow: %r" % r)

    def test_unknown_http_method(self):
        r = self.c.request("FROB", "/Users")
        self.assertGreaterEqual(r.status, 400, repr(r))
        self.assertLess(r.status, 600, repr(r))

    # ---- the socket

    def test_garbage_request(self):
        for data in (b"GARBAGE\r\n\r\n", b"\x00\x01\x02\x03" * 100 + b"\r\n\r\n",
                     b"GET /scim/v2/Users HTTP/9.9\r\n\r\n",
                     b"GET " + b"/x" * 20000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"):
            with self.subTest(data=data[:20]):
                out = raw_exchange(self.srv, data, timeout=3)
                if out:
                    self.assertRegex(out[:12], rb"^HTTP/1\.[01] [45]\d\d")
                self.assertAlive()

    def test_huge_header(self):
        data = (b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n"
                b"X-Big: " + b"a" * 200000 + b"\r\n\r\n")
        try:
            out = raw_exchange(self.srv, data, timeout=3)
        except (BrokenPipeError, ConnectionResetError):
            out = b""
        if out:
            self.assertRegex(out[:12], rb"^HTTP/1\.[01] (4\d\d|200)")

    def test_request_line_split_across_segments(self):
        # libevhtp used to see only the part of a long query string that
        # arrived in the first read: the filter came out truncated, or the
        # connection closed without an answer. Each split point must give
        # the same, complete answer.
        un = "split-" + "a" * 3000
        r = self.c.post("/Users", {"schemas": [URN_USER], "userName": un})
        self.assertEqual(r.status, 201, r)
        q = urllib.parse.urlencode({"filter": 'userName eq "%s"' % un,
                                    "attributes": "userName"})
        req = ("GET %s/Users?%s HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\nConnection: close\r\n\r\n"
               % (self.srv.prefix, q, self.srv.token)).encode()
        for split in (5, 40, 1000, 2500, len(req) - 3):
            with self.subTest(split=split):
                s = socket.create_connection((self.srv.host, self.srv.port),
                                             timeout=10)
                try:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    s.sendall(req[:split])
                    # Give the server a chance to read the first part on
                    # its own; the answer must not depend on whether it did.
                    s.settimeout(0.02)
                    try:
                        early = s.recv(1)
                    except socket.timeout:
                        early = b""
                    self.assertEqual(early, b"")
                    s.settimeout(10)
                    s.sendall(req[split:])
                    out = b""
                    while True:
                        b = s.recv(65536)
                        if not b:
                            break
                        out += b
                finally:
                    s.close()
                head, _, body = out.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:40])
                doc = json.loads(body)
                self.assertEqual(doc["totalResults"], 1, doc)
                self.assertEqual(doc["Resources"][0]["userName"], un)

    def test_overlong_lines_get_an_answer(self):
        # libevhtp's parser cannot hold a line over 8 KiB and used to close
        # the connection silently; the server answers first.
        for data, status in (
                (b"GET /scim/v2/Users?filter=" + b"a" * 9000 +
                 b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
                (b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x"
                 b"\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", b"431")):
            with self.subTest(status=status):
                try:
                    out = raw_exchange(self.srv, data, timeout=5)
                except (BrokenPipeError, ConnectionResetError):
                    out = b""
                self.assertTrue(out.startswith(b"HTTP/1.1 " + status),
                                out[:60])
                body = json.loads(out.partition(b"\r\n\r\n")[2])
                self.assertEqual(body["status"], status.decode())
                self.assertAlive()

    def test_truncated_body_then_close(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=5)
        s.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + self.srv.token.encode() +
                  b"\r\nContent-Type: application/scim+json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"userName\":")
        s.close()
        self.assertAlive()

    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.srv.host, self.srv.port,
                                          timeout=10)
        h = {"Authorization": "Bearer " + self.srv.token}
        try:
            for i in range(3):
                conn.request("GET", self.srv.prefix + "/Users?count=1",
                             headers=h)
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            body = json.dumps(user_body()).encode()
            conn.request("POST", self.srv.prefix + "/Users", body=body,
                         headers=dict(h, **{"Content-Type":
                                            "application/scim+json"}))
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
        finally:
            conn.close()

    def test_many_connections_left_open(self):
        socks = []
        try:
            for _ in range(50):
                socks.append(socket.create_connection(
                    (self.srv.host, self.srv.port), timeout=5))
            self.assertAlive()
        finally:
            for s in socks:
                s.close()
        self.assertAlive()


if __name__ == "__main__":
    unittest.main()
