"""The query side's event endpoints and operational views: a stream's audit trail, the global
feed against the events table, /v1/projections and the daily revenue statistics."""

import json
import re

from harness import new_id, sql, sql_json, sql_literal, sql_value
from query_support import QueryTest, head_position

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class AuditTrailTest(QueryTest):
    def test_query_stream_events_with_metadata(self):
        acc = new_id("e")[:12]
        corr = new_id("corr-")
        self.open_account(acc, owner="audit", headers={"X-Correlation-ID": corr})
        for amount in (5, 6, 7):
            last = self.deposit(acc, amount, headers={"X-Correlation-ID": corr})["position"]
        stream = "account-" + acc
        r = self.get_fresh("/v1/streams/%s/events" % stream, last)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body["stream_id"], stream)
        stored = sql_json(
            "SELECT json_agg(json_build_object('position', position, 'stream_version',"
            " stream_version, 'type', type, 'schema_version', schema_version, 'data', data,"
            " 'metadata', metadata) ORDER BY stream_version) FROM events WHERE stream_id = %s"
            % sql_literal(stream))
        events = r.body["events"]
        # The stored owner is sealed; the audit trail shows it opened (docs/forgetting.md).
        self.assertTrue(stored[0]["data"]["owner"].startswith("enc:v1:"), stored[0])
        stored[0]["data"]["owner"] = "audit"
        self.assertEqual([{k: e[k] for k in stored[0]} for e in events], stored)
        self.assertEqual([e["stream_version"] for e in events], [1, 2, 3, 4])
        for e in events:
            self.assertEqual(e["metadata"]["correlation_id"], corr)
            self.assertRegex(e["recorded_at"], RFC3339_MS)
        page = self.q.get("/v1/streams/%s/events?from_version=2&limit=2" % stream)
        self.assertEqual(page.status, 200, page)
        self.assertEqual([e["stream_version"] for e in page.body["events"]], [2, 3])
        self.assertEqual([e["data"]["amount_cents"] for e in page.body["events"]], [5, 6])
        tail = self.q.get("/v1/streams/%s/events?from_version=4" % stream)
        self.assertEqual([e["type"] for e in tail.body["events"]], ["FundsDeposited"])
        self.assert_problem(self.q.get("/v1/streams/account-%s/events" % new_id("no")), 404)
        for bad in ("limit=0", "limit=x", "from_version=x"):
            with self.subTest(query=bad):
                self.assert_problem(self.q.get("/v1/streams/%s/events?%s" % (stream, bad)), 400)

    def test_query_feed_matches_table_without_gaps(self):
        acc = new_id("f")[:12]
        self.open_account(acc)
        for i in range(30):
            last = self.deposit(acc, 1 + i)["position"]
        start = max(0, last - 120)
        self.get_fresh("/v1/projections", last)
        first = self.q.get("/v1/events?after_position=%d&limit=25" % start)
        self.assertEqual(first.status, 200, first)
        upto = int(first.headers["X-Projection-Position"])
        self.assertGreaterEqual(upto, last)
        seen, after, page = [], start, first
        for _ in range(50):
            self.assertEqual(page.status, 200, page)
            events = page.body["events"]
            self.assertLessEqual(len(events), 25)
            if not events:
                break
            seen.extend(events)
            after = events[-1]["position"]
            if after >= upto:
                break
            page = self.q.get("/v1/events?after_position=%d&limit=25" % after)
        positions = [e["position"] for e in seen if e["position"] <= upto]
        table = [int(row[0]) for row in sql("SELECT position FROM events WHERE position > %d"
                                            " AND position <= %d ORDER BY position"
                                            % (start, upto))]
        self.assertEqual(positions, table)
        mine = [e for e in seen if e.get("stream_id") == "account-" + acc]
        self.assertEqual([e["stream_version"] for e in mine][-30:], list(range(2, 32)))
        self.assertEqual(mine[-1]["data"]["amount_cents"], 30)
        for bad in ("after_position=x", "after_position=-1", "limit=0"):
            with self.subTest(query=bad):
                self.assert_problem(self.q.get("/v1/events?" + bad), 400)


class ProjectionsTest(QueryTest):
    def test_query_projections_shape(self):
        head = head_position()
        self.wait_projected(head)
        r = self.q.get("/v1/projections")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.body, list)
        self.assertGreaterEqual(len(r.body), 1)
        for p in r.body:
            for key in ("name", "position", "head_position", "lag_events", "updated_at",
                        "status"):
                self.assertIn(key, p, p)
            self.assertIsInstance(p["name"], str)
            self.assertEqual(p["status"], "running", p)
            self.assertGreaterEqual(p["position"], head)
            self.assertGreaterEqual(p["head_position"], p["position"])
            self.assertEqual(p["lag_events"], p["head_position"] - p["position"])
            self.assertRegex(p["updated_at"], RFC3339_MS)


class RevenueTest(QueryTest):
    def revenue_today(self, today, position=0):
        r = self.get_fresh("/v1/stats/revenue?from=%s&to=%s" % (today, today), position)
        self.assertEqual(r.status, 200, r)
        rows = [d for d in r.body["days"] if d["currency"] == "EUR"]
        self.assertLessEqual(len(rows), 1, r.body)
        for d in r.body["days"]:
            self.assertEqual(d["date"], today)
            self.assertEqual(list(d), ["date", "currency", "orders_paid", "revenue_cents",
                                       "refunds_cents"])
        # The stored documents' bytes (migrations/0014): compact, as jansson wrote them.
        self.assertEqual(r.raw.decode("utf-8"), json.dumps(r.body, separators=(",", ":")))
        if not rows:
            return (0, 0, 0)
        return rows[0]["orders_paid"], rows[0]["revenue_cents"], rows[0]["refunds_cents"]

    def test_query_revenue_counts_payments_and_refunds(self):
        prefix = new_id("v")[:9] + "-"
        acc = prefix + "a"
        self.open_account(acc)
        pos = self.deposit(acc, 100000)["position"]
        orders = [(prefix + "o1", 1500), (prefix + "o2", 2700)]
        for oid, total in orders:
            pos = self.place_order(oid, "cust-" + prefix, unit=total)["position"]
        today = sql_value("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        before = self.revenue_today(today, pos)
        for oid, total in orders:
            self.post_ok("/v1/orders/%s/pay" % oid, {"account_id": acc, "amount_cents": total})
        pos = self.post_ok("/v1/orders/%s/cancel" % orders[0][0], {"reason": "r"})["position"]
        after = self.revenue_today(today, pos)
        self.assertEqual([a - b for a, b in zip(after, before)], [2, 4200, 1500])
        ranged = self.q.get("/v1/stats/revenue?from=2000-01-01&to=%s" % today)
        self.assertEqual(ranged.status, 200, ranged)
        self.assertIn(today, [d["date"] for d in ranged.body["days"]])
        dates = [(d["date"], d["currency"]) for d in ranged.body["days"]]
        self.assertEqual(len(dates), len(set(dates)), dates)

    def test_query_revenue_bad_dates(self):
        for query in ("from=2024-13-01&to=2024-12-31", "from=x&to=2024-01-01",
                      "from=2024-01-01", "to=2024-01-01", "from=2024-02-30&to=2024-03-01",
                      "from=2024-1-1&to=2024-01-02", "from=2024-01-01T00:00:00Z&to=2024-01-02"):
            with self.subTest(query=query):
                self.assert_problem(self.q.get("/v1/stats/revenue?" + query), 400)
        r = self.q.get("/v1/stats/revenue?from=1999-01-01&to=1999-01-31")
        self.assertEqual((r.status, r.body), (200, {"days": []}))
