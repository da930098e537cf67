"""Query-side reads: keyset pagination (stable under concurrent inserts), temporal reads
(?as_of= and ?version=) against hand-computed states, and read-your-writes (min_position)."""

import time
import urllib.parse

from harness import new_id, sql_json, sql_literal
from query_support import QueryTest


class PaginationTest(QueryTest):
    def walk(self, path, limit, between=None):
        """Follows next_cursor from the first page; returns the pages' id lists. between(n)
        runs after page n is read (to insert concurrently)."""
        pages, cursor = [], None
        key = "order_id" if path.startswith("/v1/orders") else "account_id"
        for n in range(100):
            url = "%s&limit=%d" % (path, limit)
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor)
            r = self.q.get(url)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(set(r.body), {"items", "next_cursor"}, r.body)
            self.assertLessEqual(len(r.body["items"]), limit)
            pages.append([item[key] for item in r.body["items"]])
            cursor = r.body["next_cursor"]
            if cursor is None:
                return pages
            self.assertIsInstance(cursor, str)
            if between:
                between(n)
        self.fail("pagination never ended")

    def check_pages(self, path, created, limit, make_more):
        """created: ids in creation order. Walks twice: quietly, then with make_more(n)
        inserting between pages; both must list every created id once, newest first."""
        newest_first = list(reversed(created))
        pages = self.walk(path, limit)
        self.assertEqual([len(p) for p in pages[:-1]], [limit] * (len(pages) - 1))
        self.assertEqual(sum(pages, []), newest_first)
        self.assertEqual(len(pages), -(-len(created) // limit))
        added = []
        pages = self.walk(path, limit, lambda n: added.extend(make_more(n)))
        self.assertTrue(added)
        seen = sum(pages, [])
        self.assertEqual(len(seen), len(set(seen)), "an id repeated across pages: %s" % seen)
        # Keyset pages never skip an older row; newer rows may appear only before them.
        self.assertEqual([i for i in seen if i not in added], newest_first)

    def test_query_orders_pages_newest_first(self):
        prefix = new_id("g")[:9] + "-"
        customer = "cust-" + prefix
        created = []
        for i in range(25):
            created.append(prefix + "o%02d" % i)
            last = self.place_order(created[-1], customer)["position"]
        self.get_fresh("/v1/customers/" + customer, last)

        def more(n):
            oid = prefix + "new%d" % n
            pos = self.place_order(oid, customer)["position"]
            self.get_fresh("/v1/customers/" + customer, pos)
            return [oid]
        self.check_pages("/v1/orders?customer_id=" + customer, created, 7, more)

    def test_query_accounts_pages_newest_first(self):
        prefix = new_id("h")[:9] + "-"
        owner = "own-" + prefix
        created = []
        for i in range(15):
            created.append(prefix + "a%02d" % i)
            last = self.open_account(created[-1], owner=owner)["position"]
        self.get_fresh("/v1/accounts/" + created[-1], last)

        def more(n):
            aid = prefix + "new%d" % n
            pos = self.open_account(aid, owner=owner)["position"]
            self.get_fresh("/v1/accounts/" + aid, pos)
            return [aid]
        self.check_pages("/v1/accounts?owner=" + owner, created, 4, more)

    def test_query_bad_list_parameters(self):
        for path in ("/v1/orders", "/v1/accounts"):
            for query in ("limit=0", "limit=501", "limit=x", "limit=-1", "cursor=garbage",
                          "cursor=c-5"):
                with self.subTest(path=path, query=query):
                    self.assert_problem(self.q.get(path + "?" + query), 400)
            self.assertEqual(self.q.get(path + "?limit=500").status, 200)
            self.assertEqual(self.q.get(path + "?limit=1").status, 200)


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


class TemporalTest(QueryTest):
    def recorded_ms(self, stream_id):
        return [e["ms"] for e in sql_json(
            "SELECT json_agg(json_build_object('ms', floor(extract(epoch from recorded_at)"
            " * 1000)::bigint) ORDER BY stream_version) FROM events WHERE stream_id = %s"
            % sql_literal(stream_id))]

    def setup_account(self):
        acc = new_id("t")[:12]
        self.open_account(acc, owner="temporal")
        time.sleep(0.05)
        self.deposit(acc, 100)
        time.sleep(0.05)
        last = self.post_ok("/v1/accounts/%s/withdraw" % acc, {"amount_cents": 30})["position"]
        self.get_fresh("/v1/accounts/" + acc, last)
        return acc

    def test_query_account_by_version(self):
        acc = self.setup_account()
        for version, balance in ((1, 0), (2, 100), (3, 70)):
            r = self.q.get("/v1/accounts/%s?version=%d" % (acc, version))
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.body["version"], r.body["balance_cents"]), (version, balance))
            self.assertEqual(r.body["owner"], "temporal")
        self.assertEqual(self.q.get("/v1/accounts/%s?version=3" % acc).body,
                         self.q.get("/v1/accounts/" + acc).body)
        for bad in ("0", "-1", "x", "1.5"):
            with self.subTest(version=bad):
                self.assert_problem(self.q.get("/v1/accounts/%s?version=%s" % (acc, bad)), 400)
        self.assert_problem(self.q.get("/v1/accounts/%s?version=1" % new_id("none")), 404)

    def test_query_account_as_of(self):
        acc = self.setup_account()
        opened, deposited, withdrawn = self.recorded_ms("account-" + acc)
        self.assertLess(opened, deposited)
        self.assertLess(deposited, withdrawn)
        cases = [(opened, 0, 1), ((opened + deposited) // 2, 0, 1), (deposited, 100, 2),
                 ((deposited + withdrawn) // 2, 100, 2), (withdrawn, 70, 3),
                 (withdrawn + 86400000, 70, 3)]
        for ms, balance, version in cases:
            with self.subTest(as_of=iso_ms(ms)):
                r = self.q.get("/v1/accounts/%s?as_of=%s" % (acc, iso_ms(ms)))
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["balance_cents"], r.body["version"]), (balance, version))
                self.assertEqual(r.body, self.q.get("/v1/accounts/%s?version=%d"
                                                    % (acc, version)).body)
        # An explicit offset, '+' percent-encoded as a client must send it.
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((withdrawn // 1000) + 3600))
        r = self.q.get("/v1/accounts/%s?as_of=%s.%03d%%2B01:00" % (acc, at, withdrawn % 1000))
        self.assertEqual((r.status, r.body and r.body.get("version")), (200, 3), r)
        self.assert_problem(self.q.get("/v1/accounts/%s?as_of=%s" % (acc, iso_ms(opened - 1))),
                            404)
        for bad in ("yesterday", "2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z"):
            with self.subTest(as_of=bad):
                self.assert_problem(self.q.get("/v1/accounts/%s?as_of=%s" % (acc, bad)), 400)

    def test_query_order_by_version(self):
        prefix = new_id("u")[:9] + "-"
        acc, oid = prefix + "a", prefix + "o"
        self.open_account(acc)
        self.deposit(acc, 5000)
        self.place_order(oid, "cust-" + prefix, unit=1200, qty=2)
        pos = self.post_ok("/v1/orders/%s/pay" % oid,
                           {"account_id": acc, "amount_cents": 2400})["position"]
        self.get_fresh("/v1/orders/" + oid, pos)
        v1 = self.q.get("/v1/orders/%s?version=1" % oid)
        self.assertEqual(v1.status, 200, v1)
        self.assertEqual((v1.body["status"], v1.body["paid_cents"], v1.body["account_id"]),
                         ("placed", 0, None))
        v2 = self.q.get("/v1/orders/%s?version=2" % oid)
        self.assertEqual((v2.body["status"], v2.body["paid_cents"], v2.body["account_id"]),
                         ("paid", 2400, acc))
        self.assertEqual(v2.body, self.q.get("/v1/orders/" + oid).body)
        self.assert_problem(self.q.get("/v1/orders/%s?version=0" % oid), 400)
        self.assert_problem(self.q.get("/v1/orders/%s?as_of=1970-01-01T00:00:00.000Z" % oid),
                            404)


class MinPositionTest(QueryTest):
    def test_query_min_position_reads_own_write(self):
        acc = new_id("r")[:12]
        self.open_account(acc)
        for i in range(1, 6):
            body = self.deposit(acc, 10)
            pos = body["position"]
            r = self.q.get("/v1/accounts/%s?min_position=%d" % (acc, pos))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body["balance_cents"], 10 * i)
            self.assertEqual(r.body["version"], body["version"])
            self.assertGreaterEqual(int(r.headers["X-Projection-Position"]), pos)
        body = self.deposit(acc, 10)
        r = self.q.get("/v1/accounts/" + acc, headers={"X-Min-Position": str(body["position"])})
        self.assertEqual((r.status, r.body["balance_cents"]), (200, 60), r)
        self.assertGreaterEqual(int(r.headers["X-Projection-Position"]), body["position"])

    def test_query_every_answer_has_projection_position(self):
        for path in ("/v1/projections", "/v1/orders?limit=1", "/v1/accounts/" + new_id("none"),
                     "/v1/orders?limit=0"):
            with self.subTest(path=path):
                r = self.q.get(path)
                self.assertRegex(r.headers.get("X-Projection-Position", ""), r"^[0-9]+$", r)

    def test_query_min_position_beyond_head_is_503(self):
        far = 10 ** 15
        t0 = time.monotonic()
        r = self.q.get("/v1/projections?min_position=%d&wait_ms=200" % far)
        took = time.monotonic() - t0
        self.assert_problem(r, 503)
        self.assertRegex(r.headers.get("Retry-After", ""), r"^[0-9]+$", r.headers)
        self.assertGreaterEqual(took, 0.18)
        self.assertLess(took, 1.5)
        r = self.q.get("/v1/projections?wait_ms=200", headers={"X-Min-Position": str(far)})
        self.assert_problem(r, 503)
        self.assertIn("Retry-After", r.headers)
        for bad in ("min_position=x", "min_position=-1", "wait_ms=30001", "wait_ms=y"):
            with self.subTest(query=bad):
                self.assert_problem(self.q.get("/v1/projections?" + bad), 400)


class DocumentTest(QueryTest):
    def test_query_document_bytes_and_etag(self):
        """GET by id serves the stored document with its version as ETag (the command side's
        quoting); a list page is exactly those documents, newest first, plus next_cursor."""
        cust = new_id("dc")[:12]
        orders = [cust + "-o%d" % i for i in range(3)]
        for oid in orders:
            self.place_order(oid, cust)
        pos = self.post_ok("/v1/orders/%s/cancel" % orders[0], {"reason": "r"})["position"]
        docs = []
        for oid in reversed(orders):
            r = self.get_fresh("/v1/orders/" + oid, pos)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("ETag"), '"%d"' % r.body["version"], r)
            self.assertEqual(r.headers.get("Content-Type"), "application/json", r)
            docs.append(r.raw)
        self.assertEqual(self.q.get("/v1/orders/%s?version=1" % orders[0]).headers.get("ETag"),
                         None, "a temporal read is no stored document")
        page = self.q.get("/v1/orders?customer_id=%s&limit=2" % cust)
        cursor = page.body["next_cursor"]
        self.assertEqual(page.raw, b'{"items":[' + b",".join(docs[:2]) +
                         b'],"next_cursor":"' + cursor.encode() + b'"}')
        last = self.q.get("/v1/orders?customer_id=%s&limit=2&cursor=%s" % (cust, cursor))
        self.assertEqual(last.raw, b'{"items":[' + docs[2] + b'],"next_cursor":null}')
        empty = self.q.get("/v1/accounts?owner=%s" % new_id("nobody"))
        self.assertEqual(empty.raw, b'{"items":[],"next_cursor":null}')
