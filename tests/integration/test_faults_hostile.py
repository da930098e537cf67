"""Hostile request inputs an external probe found mishandled (issue 11): path ids and query
values that are not UTF-8 or hold a NUL, integers past int64, header fields over 16 KiB, HEAD,
and the query service's CONNECTION_TIMEOUT_S. Each answer is problem+json with the contract's status,
and neither service logs an error for any of them."""

import re
import socket
import threading
import time

import harness
from harness import new_id
from live_support import SSE, status_of
from ops_support import OpsTest, run_binary
from query_support import QueryTest

INT64_MAX = 9223372036854775807
PAST_INT64 = ("9223372036854775808", "9999999999999999999", "18446744073709551616",
              "9" * 30)
ERROR_LINE = re.compile(r"^\S+ error ")
HEADER_CAP = 16 * 1024  # HTTP_HEADER_BYTES_MAX in common/http/http.h
CONN_MEMORY = 32 * 1024  # HTTP_CONN_MEMORY: libmicrohttpd's pool, the whole head must fit


class LogWatch:
    """The lines a shared service logs from now on, to show no error-level line was written."""

    def __init__(self, svc):
        self.svc = svc
        with open(svc.logfile, "rb") as f:
            f.seek(0, 2)
            self.offset = f.tell()

    def lines(self):
        with open(self.svc.logfile, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace").splitlines()

    def errors_until(self, cid):
        """Error lines, once the access line of the request tagged cid is written (the lines of
        the requests before it are then written too); None if it never is."""
        if not harness.wait_until(lambda: any(cid in l for l in self.lines()), 30, 0.05):
            return None
        return [l for l in self.lines() if ERROR_LINE.match(l)]


def raw_exchange(port, request, timeout=20.0):
    """Sends request bytes (from a thread, so a server answering before it has read them all
    cannot deadlock us) and returns everything the server sends until it closes or the
    deadline passes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sender = threading.Thread(target=lambda: _send_quietly(s, request), daemon=True)
    sender.start()
    data, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    finally:
        s.close()
        sender.join(5)
    return data


def _send_quietly(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server answered and closed before reading everything


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (l.partition(":") for l in lines[1:])}
    return status, headers, body


class HostileTest(QueryTest):
    """One account and one order per test, projected; both services' logs are watched."""

    def setUp(self):
        super().setUp()
        self.account, self.owner = new_id("h-acc-"), new_id("h-own-")
        self.order, self.customer = new_id("h-ord-"), new_id("h-cus-")
        self.open_account(self.account, owner=self.owner)
        position = self.place_order(self.order, self.customer)["position"]
        self.wait_projected(position)
        self.logs = [LogWatch(harness.env().service(k)) for k in ("command", "query")]
        self.cid = new_id("hostile-")

    def call(self, client, path, method="GET", headers=None, body=None):
        hdrs = {"X-Correlation-ID": self.cid}
        hdrs.update(headers or {})
        if method == "POST":
            return client.post(path, body if body is not None else {}, headers=hdrs)
        return client.request(method, path, headers=hdrs)

    def assert_cases(self, cases):
        """cases: (client, method, path, status, slug, detail substring or None)."""
        for client, method, path, status, slug, detail in cases:
            with self.subTest(method=method, path=path):
                r = self.call(client, path, method)
                body = self.assert_problem(r, status, slug)
                if detail:
                    self.assertIn(detail, body["detail"], r)
        self.assert_no_error_logs()

    def assert_no_error_logs(self):
        """Neither service logged an error since setUp: a last tagged request to each marks
        where its log is complete."""
        last = new_id("hostile-last-")
        for client in (self.cmd, self.q):  # a 404 is always logged; a 200 GET may be sampled
            client.get("/hostile-log-marker", headers={"X-Correlation-ID": last})
        for watch in self.logs:
            errors = watch.errors_until(last)
            self.assertIsNotNone(errors, "%s logged no access line" % watch.svc.name)
            self.assertEqual(errors, [], "%s logged errors" % watch.svc.name)


class HostileTextTest(HostileTest):
    def test_not_utf8_in_path_ids_and_query_values(self):
        q, c = self.q, self.cmd
        a = self.account
        not_found = [(q, "GET", p, 404, "not-found", None) for p in (
            "/v1/streams/%FF/events", "/v1/streams/%FF/verify", "/v1/orders/%FF",
            "/v1/accounts/%FF", "/v1/customers/%FF", "/v1/orders/%C0%AF",
            "/v1/streams/order-%ED%A0%80/events", "/v1/accounts/a%E2%82")]
        not_found += [(c, "POST", p, 404, "not-found", None) for p in (
            "/v1/accounts/%FF/deposit", "/v1/orders/%FF/pay", "/v1/accounts/%FE/forget")]
        bad = [(q, "GET", p, 400, "bad-parameter", name) for p, name in (
            ("/v1/orders?customer_id=%FF", "customer_id"),
            ("/v1/accounts?owner=%FF", "owner"),
            ("/v1/accounts?owner=%ED%A0%80", "owner"),
            ("/v1/orders?status=%FF", "status"),
            ("/v1/orders?cursor=c1%FF", "cursor"),
            ("/v1/accounts/%s?as_of=%%FF" % a, "as_of"),
            ("/v1/stats/revenue?from=%FF&to=2020-01-01", "from"),
            ("/v1/events?after_position=%FF", "after_position"),
            ("/v1/events/live?after_position=%FF", "after_position"),
            ("/v1/streams/account-%s/events?limit=1%%C3" % a, "limit"),
            ("/v1/projections?anything=%FF", "anything"),
            ("/v1/accounts?%FF=1", "names"))]
        bad.append((c, "POST", "/v1/accounts/%s/deposit?x=%%FF" % a, 400, "bad-parameter", "x"))
        self.assert_cases(not_found + bad)

    def test_nul_in_path_ids_and_query_values(self):
        q, c, a = self.q, self.cmd, self.account
        # Before: a C string ends at the NUL, so "owner=%00" was no filter (every account)
        # and "/v1/accounts/A%00junk" read account A.
        cases = [(q, "GET", p, 400, "bad-parameter", name) for p, name in (
            ("/v1/accounts?owner=%00", "owner"),
            ("/v1/accounts?owner=%s%%00junk" % self.owner, "owner"),
            ("/v1/orders?customer_id=%s%%00" % self.customer, "customer_id"),
            ("/v1/orders?status=placed%00", "status"),
            ("/v1/events?limit=5%00", "limit"),
            ("/v1/accounts?limit=1&%00=1", "names"))]
        cases += [(q, "GET", p, 404, "not-found", None) for p in (
            "/v1/accounts/%s%%00junk" % a, "/v1/orders/%s%%00" % self.order,
            "/v1/customers/%s%%00x" % self.customer, "/v1/streams/account-%s%%00/events" % a,
            "/v1/streams/account-%s%%00/verify" % a)]
        cases.append((c, "POST", "/v1/accounts/%s%%00x/deposit" % a, 404, "not-found", None))
        self.assert_cases(cases)
        events = harness.sql_value("SELECT count(*) FROM events WHERE stream_id = %s"
                                   % harness.sql_literal("account-" + a))
        self.assertEqual(events, "1", "a deposit reached %s through %%00" % a)

    def test_database_data_exception_is_a_bad_request(self):
        # PostgreSQL has no year 0: the date parses here, then the database refuses it
        # (SQLSTATE 22008). A read answers 400, not 500 internal-error.
        self.assert_cases([(self.q, "GET", "/v1/stats/revenue?from=0000-01-01&to=0000-01-02",
                            400, "bad-parameter", None)])


class HostileIntegerTest(HostileTest):
    def integer_cases(self):
        a = self.account
        return [("/v1/events?after_position=%s", "after_position"),
                ("/v1/events?limit=%s", "limit"),
                ("/v1/accounts/%s?min_position=%%s" % a, "min_position"),
                ("/v1/accounts/%s?min_position=1&wait_ms=%%s" % a, "wait_ms"),
                ("/v1/accounts/%s?version=%%s" % a, "version"),
                ("/v1/orders/%s?version=%%s" % self.order, "version"),
                ("/v1/streams/account-%s/events?from_version=%%s" % a, "from_version"),
                ("/v1/accounts?cursor=c%s", "cursor"),
                ("/v1/events/live?after_position=%s", "after_position")]

    def test_integers_past_int64_answer_400_naming_the_parameter(self):
        cases = [(self.q, "GET", template % v, 400, "bad-parameter", name)
                 for template, name in self.integer_cases() for v in PAST_INT64]
        self.assert_cases(cases)
        for name, path in (("X-Min-Position", "/v1/accounts/%s" % self.account),
                           ("Last-Event-ID", "/v1/events/live")):
            for v in PAST_INT64:
                with self.subTest(header=name, value=v):
                    r = self.call(self.q, path, headers={name: v})
                    body = self.assert_problem(r, 400, "bad-parameter")
                    self.assertIn(name, body["detail"])
        for v in PAST_INT64:  # the command side's one request integer
            with self.subTest(header="If-Match", value=v):
                r = self.cmd.post("/v1/accounts/%s/deposit" % self.account, {"amount_cents": 1},
                                  headers={"If-Match": '"%s"' % v, "X-Correlation-ID": self.cid})
                body = self.assert_problem(r, 422, "validation-error")
                self.assertEqual([e["field"] for e in body["errors"]], ["If-Match"])
        self.assert_no_error_logs()

    def test_int64_max_itself_is_accepted_where_the_range_allows(self):
        a, m = self.account, INT64_MAX
        for path in ("/v1/events?after_position=%d" % m, "/v1/accounts/%s?version=%d" % (a, m),
                     "/v1/orders/%s?version=%d" % (self.order, m),
                     "/v1/streams/account-%s/events?from_version=%d" % (a, m),
                     "/v1/accounts?cursor=c%d" % m):
            with self.subTest(path=path):
                self.assertEqual(self.call(self.q, path).status, 200)
        r = self.call(self.q, "/v1/accounts/%s?min_position=%d&wait_ms=0" % (a, m))
        self.assert_problem(r, 503, "projection-behind")  # accepted; the model is not there
        r = self.call(self.q, "/v1/accounts/%s?wait_ms=0" % a, headers={"X-Min-Position": str(m)})
        self.assert_problem(r, 503, "projection-behind")
        port = self.q.port
        self.assertEqual(status_of(port, "/v1/events/live?after_position=%d" % m), 200)
        s = SSE(port, "/v1/events/live", headers={"Last-Event-ID": str(m)})
        try:
            self.assertTrue(s.read_until(lambda s: s.status is not None))
            self.assertEqual(s.status, 200)
        finally:
            s.close()
        r = self.cmd.post("/v1/accounts/%s/deposit" % a, {"amount_cents": 1},
                          headers={"If-Match": '"%d"' % m, "X-Correlation-ID": self.cid})
        self.assert_problem(r, 412, "precondition-failed")
        self.assert_no_error_logs()


class HeadTest(HostileTest):
    def get_and_head(self, client, path):
        return self.call(client, path), self.call(client, path, "HEAD")

    def test_head_answers_as_get_without_a_body(self):
        a, o, cus = self.account, self.order, self.customer
        q, c = self.q, self.cmd
        stable = [(q, p) for p in (
            "/v1/orders/%s" % o, "/v1/accounts/%s" % a, "/v1/orders/%s?version=1" % o,
            "/v1/accounts?owner=%s" % self.owner, "/v1/orders?customer_id=%s" % cus,
            "/v1/customers/%s" % cus, "/v1/streams/account-%s/events" % a,
            "/v1/streams/account-%s/verify" % a, "/v1/events?after_position=1&limit=1",
            "/v1/stats/revenue?from=2001-01-01&to=2001-01-02", "/v1/orders/%s" % new_id(),
            "/v1/orders?limit=0", "/healthz")] + [(c, "/healthz")]
        for client, path in stable:
            with self.subTest(path=path):
                get, head = self.get_and_head(client, path)
                self.assertEqual(head.status, get.status, (get, head))
                self.assertEqual(head.raw, b"")
                self.assertEqual(head.headers.get("Content-Length"), str(len(get.raw)))
                self.assertEqual(head.headers.get("Content-Type"), get.headers.get("Content-Type"))
                if client is q:
                    self.assertIn("X-Projection-Position", head.headers)
        # Answers that change between two calls: the same status and type, no body.
        for client, path in ((q, "/v1/projections"), (q, "/readyz"), (q, "/metrics"),
                             (c, "/readyz"), (c, "/metrics")):
            with self.subTest(path=path):
                get, head = self.get_and_head(client, path)
                self.assertEqual((head.status, head.raw), (get.status, b""))
                self.assertEqual(head.headers.get("Content-Type"), get.headers.get("Content-Type"))
        self.assert_no_error_logs()

    def test_405_lists_head_where_get_is_allowed(self):
        for client, method, path, allow in (
                (self.q, "POST", "/v1/projections", "GET, HEAD"),
                (self.q, "DELETE", "/v1/accounts/%s" % self.account, "GET, HEAD"),
                (self.cmd, "POST", "/healthz", "GET, HEAD"),
                (self.cmd, "HEAD", "/v1/orders", "POST"),
                (self.cmd, "GET", "/v1/accounts/%s/deposit" % self.account, "POST")):
            with self.subTest(method=method, path=path):
                r = self.call(client, path, method)
                self.assertEqual(r.status, 405, r)
                self.assertEqual(r.headers.get("Allow"), allow)

    def test_head_on_the_live_feed_answers_headers_and_closes(self):
        port = self.q.port
        for path in ("/v1/events/live", "/v1/events/live?after_position=0"):
            with self.subTest(path=path):
                data = raw_exchange(port, b"HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
                status, headers, body = split_response(data)
                self.assertEqual(status, 200, data[:300])
                self.assertEqual(headers.get("content-type"), "text/event-stream")
                self.assertIn("x-projection-position", headers)
                self.assertEqual(body, b"", "body bytes after a HEAD answer")
        data = raw_exchange(port, b"HEAD /v1/events/live?after_position=x HTTP/1.1\r\n"
                                  b"Host: t\r\nConnection: close\r\n\r\n")
        self.assertEqual(split_response(data)[0], 400)


class HeaderTooLargeTest(HostileTest):
    def big_header_request(self, size, path="/healthz"):
        return (b"GET %s HTTP/1.1\r\nHost: t\r\nX-Correlation-ID: %s\r\nX-Big: %s\r\n\r\n"
                % (path.encode(), self.cid.encode(), b"a" * size))

    def test_header_fields_over_16k_get_a_problem_431(self):
        for kind in ("command", "query"):
            port = harness.env().service(kind).port
            for size in (HEADER_CAP + 1, 24 * 1024, CONN_MEMORY - 2048):
                with self.subTest(service=kind, size=size):
                    status, headers, body = split_response(
                        raw_exchange(port, self.big_header_request(size)))
                    self.assertEqual(status, 431, body[:200])
                    self.assertEqual(headers.get("content-type"), "application/problem+json")
                    self.assertIn(b"/header-too-large", body)
            with self.subTest(service=kind, size="under the cap"):
                status, _, _ = split_response(
                    raw_exchange(port, self.big_header_request(HEADER_CAP - 1024)))
                self.assertEqual(status, 200)
            # A head past the connection's memory pool never reaches the server's code:
            # libmicrohttpd answers a plain 431 itself and closes (documented in http.h and
            # docs/openapi.yaml). The service stays up and keeps answering.
            for size in (100 * 1000, 1 << 20):
                with self.subTest(service=kind, size=size):
                    status, _, _ = split_response(raw_exchange(port, self.big_header_request(size)))
                    self.assertEqual(status, 431)
                    c = harness.Client(port)
                    self.assertEqual(c.get("/healthz").status, 200)
                    c.close()
        self.assert_no_error_logs()


class QueryConnectionTimeoutTest(OpsTest):
    def test_query_service_honours_connection_timeout(self):
        svc = self.start_service("query", {"CONNECTION_TIMEOUT_S": "1",
                                           "LIVE_HEARTBEAT_MS": "300"})
        s = socket.create_connection(("127.0.0.1", svc.port), timeout=30)
        try:
            t0 = time.monotonic()
            s.settimeout(30)  # the old hard-coded 60 s would run past this deadline
            try:
                closed = s.recv(1) == b""
            except (ConnectionResetError, socket.timeout) as e:
                closed = not isinstance(e, socket.timeout)
            self.assertTrue(closed, "an idle connection stayed open for 30 s")
            self.assertGreater(time.monotonic() - t0, 0.5)
        finally:
            s.close()
        # A live stream is not idle: heartbeats keep it open past the timeout.
        stream = SSE(svc.port, "/v1/events/live")
        try:
            beats = lambda st: sum(f.get("comment") == "heartbeat" for f in st.frames()) >= 8
            self.assertTrue(stream.read_until(beats, 20), stream.body[-200:])
            self.assertFalse(stream.ended, "the live stream was cut")
        finally:
            stream.close()
        p = run_binary("query", env_overrides={"CONNECTION_TIMEOUT_S": "0"})
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("CONNECTION_TIMEOUT_S", lines[0])
