"""Event schema versioning: OrderPlaced rows of schema_version 1 (no currency, read as USD)
inserted with plain SQL are understood by every reader: the projector's view, the command side
(PayOrder checks the currency), the audit trail and feed (data upcast, schema_version as stored)
and temporal reads. New OrderPlaced events are written as schema_version 2."""

import json

from harness import new_id, sql, sql_json, sql_literal, sql_value
from query_support import PROBLEM, QueryTest


class OrderPlacedV1Test(QueryTest):
    def insert_v1(self, order_id, currency=None):
        data = {"order_id": order_id, "customer_id": "legacy-" + order_id[:8],
                "items": [{"sku": "OLD-1", "quantity": 3, "unit_price_cents": 700}],
                "total_cents": 2100}
        if currency:
            data["currency"] = currency
        rows = sql("INSERT INTO events (stream_id, stream_version, type, schema_version, data,"
                   " metadata) VALUES (%s, 1, 'OrderPlaced', 1, %s, '{}') RETURNING position"
                   % (sql_literal("order-" + order_id), sql_literal(json.dumps(data))))
        return int(rows[0][0])

    def test_es_v1_order_reads_usd_everywhere(self):
        oid = new_id("v1")[:20]
        pos = self.insert_v1(oid)
        view = self.get_fresh("/v1/orders/" + oid, pos)
        self.assertEqual(view.status, 200, view)
        self.assertEqual((view.body["currency"], view.body["total_cents"], view.body["status"]),
                         ("USD", 2100, "placed"), view.body)
        # Temporal reads fold through the same chain.
        for q in ("version=1", "as_of=" + view.body["placed_at"]):
            r = self.q.get("/v1/orders/%s?%s" % (oid, q))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body["currency"], "USD", (q, r.body))
        # Audit trail and feed: data in today's shape, schema_version as stored.
        trail = self.q.get("/v1/streams/order-%s/events" % oid)
        self.assertEqual(trail.status, 200, trail)
        (ev,) = trail.body["events"]
        self.assertEqual((ev["schema_version"], ev["data"]["currency"]), (1, "USD"), ev)
        feed = self.q.get("/v1/events?after_position=%d&limit=1" % (pos - 1))
        self.assertEqual(feed.status, 200, feed)
        (fe,) = feed.body["events"]
        self.assertEqual((fe["position"], fe["schema_version"], fe["data"]["currency"]),
                         (pos, 1, "USD"), fe)
        # The stored row itself is never rewritten.
        self.assertIsNone(sql_json("SELECT data->'currency' FROM events WHERE position = %d" % pos))

    def test_es_v1_order_pays_in_usd_only(self):
        oid, usd, eur = new_id("v1p")[:20], new_id("usd")[:20], new_id("eur")[:20]
        self.insert_v1(oid)
        self.open_account(usd, currency="USD")
        self.open_account(eur, currency="EUR")
        self.deposit(usd, 5000)
        self.deposit(eur, 5000)
        r = self.cmd.post("/v1/orders/%s/pay" % oid, {"account_id": eur, "amount_cents": 2100})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.body["type"], PROBLEM + "currency-mismatch", r.body)
        self.assertIn("USD", r.body["detail"], r.body)
        paid = self.post_ok("/v1/orders/%s/pay" % oid, {"account_id": usd, "amount_cents": 2100})
        self.assertEqual(paid["version"], 2, paid)
        view = self.get_fresh("/v1/orders/" + oid, paid["position"])
        self.assertEqual((view.body["status"], view.body["paid_cents"], view.body["account_id"]),
                         ("paid", 2100, usd), view.body)
        acc = self.get_fresh("/v1/accounts/" + usd, paid["position"])
        self.assertEqual(acc.body["balance_cents"], 2900, acc.body)

    def test_es_v1_with_currency_keeps_it(self):
        """Releases before the evolution wrote version 1 with a currency: it is kept."""
        oid = new_id("v1e")[:20]
        pos = self.insert_v1(oid, currency="EUR")
        view = self.get_fresh("/v1/orders/" + oid, pos)
        self.assertEqual(view.body["currency"], "EUR", view.body)

    def test_es_new_orders_written_as_v2(self):
        oid = new_id("v2")[:20]
        b = self.place_order(oid, "c-" + oid[:8], currency="GBP")
        self.assertEqual(sql_value("SELECT schema_version FROM events WHERE position = %d"
                                   % b["position"]), "2")
        view = self.get_fresh("/v1/orders/" + oid, b["position"])
        self.assertEqual(view.body["currency"], "GBP", view.body)
