"""The two shipped projections (projections/awaiting_shipment.sql and
projections/daily_money_movement.sql) answer what the audit trail says: real commands (and, for
times a test cannot wait for, plain-SQL events with their recorded_at set: a UTC day boundary, an
OrderPlaced of schema version 1) are read back through GET /v1/views and compared with a fold
of GET /v1/streams/{stream_id}/events."""

import json
import unittest
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import harness
from harness import new_id


def instant(text):
    """An RFC 3339 time as epoch milliseconds (the audit trail shows milliseconds)."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def insert_events(rows):
    """Appends (stream_id, version, type, schema_version, data, recorded_at) rows in one
    transaction, as a writer whose clock said recorded_at; returns the last position."""
    values = ", ".join("(%s, %d, %s, %d, %s::jsonb, %s::timestamptz)" % (
        harness.sql_literal(s), v, harness.sql_literal(t), sv,
        harness.sql_literal(json.dumps(d)), harness.sql_literal(at)) for s, v, t, sv, d, at in rows)
    return int(harness.sql_value(
        "WITH i AS (INSERT INTO events (stream_id, stream_version, type, schema_version, data, "
        "recorded_at) VALUES %s RETURNING position) SELECT max(position) FROM i" % values))


class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cmd = harness.command()
        cls.qry = harness.query()
        for name in ("awaiting_shipment", "daily_money_movement"):
            ok = harness.wait_until(lambda: cls.qry.get("/v1/views/%s?limit=1" % name).status
                                    == 200)
            if not ok:
                raise AssertionError("%s is not live: %s" % (name, harness.sql(
                    "SELECT state, status, error, position FROM orderly_views WHERE name = '%s'"
                    % name)))

    @classmethod
    def tearDownClass(cls):
        cls.cmd.close()
        cls.qry.close()

    def post(self, path, body, status=200):
        r = self.cmd.post(path, body)
        self.assertEqual(r.status, status, r)
        return r.body

    def trail(self, stream):
        r = self.qry.get("/v1/streams/%s/events?limit=1000" % stream)
        self.assertEqual(r.status, 200, r)
        return r.body["events"]

    def view(self, name, query, position):
        """Every row of a filtered list once the view has position, walked page by page."""
        rows, cursor = [], None
        while True:
            path = "/v1/views/%s?%s&limit=2&min_position=%d&wait_ms=30000" % (name, query,
                                                                               position)
            r = self.qry.get(path + ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(r.status, 200, r)
            self.assertGreaterEqual(int(r.headers.get("X-Projection-Position")), position)
            rows += r.body["items"]
            cursor = r.body["next_cursor"]
            if cursor is None:
                return rows

    # ---- orders awaiting shipment ----

    def awaiting_from_trail(self, order_ids):
        """Paid and neither shipped nor cancelled, as the audit trail tells, oldest paid first."""
        out = []
        for oid in order_ids:
            events = {e["type"]: e for e in self.trail("order-" + oid)}
            if "OrderPaid" not in events or "OrderShipped" in events or \
                    "OrderCancelled" in events:
                continue
            placed, paid = events["OrderPlaced"], events["OrderPaid"]
            out.append({"order_id": oid, "customer_id": placed["data"]["customer_id"],
                        "account_id": paid["data"]["account_id"],
                        "currency": placed["data"]["currency"],
                        "total_cents": placed["data"]["total_cents"],
                        "paid_cents": paid["data"]["amount_cents"],
                        "placed_at": instant(placed["recorded_at"]),
                        "paid_at": instant(paid["recorded_at"])})
        return sorted(out, key=lambda r: (r["paid_at"], r["order_id"]))

    def test_awaiting_shipment_equals_the_audit_trail(self):
        cust = new_id("cust-")
        acc = self.post("/v1/accounts", {"owner": "o", "currency": "EUR"}, 201)["id"]
        self.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": 100000})
        orders = []

        def place(n):
            body = {"customer_id": cust, "currency": "EUR",
                    "items": [{"sku": "s", "quantity": n, "unit_price_cents": 150}]}
            orders.append(self.post("/v1/orders", body, 201)["id"])
            return orders[-1], 150 * n

        def pay(oid, cents):
            return self.post("/v1/orders/%s/pay" % oid, {"account_id": acc,
                                                         "amount_cents": cents})
        place(1)                                    # placed only: not listed
        o2 = place(2)
        o3 = place(3)
        o4 = place(4)
        o5 = place(5)
        o6 = place(6)
        pay(*o6)                                    # paid first, so listed first
        pay(*o2)
        pay(*o3)
        self.post("/v1/orders/%s/ship" % o3[0], {"carrier": "DHL", "tracking_number": "T"})
        pay(*o4)
        self.post("/v1/orders/%s/cancel" % o4[0], {"reason": "r"})  # refunded: not listed
        self.post("/v1/orders/%s/cancel" % o5[0], {"reason": "r"})  # never paid
        # An order written before orders had a currency (OrderPlaced schema 1): US dollars.
        old = new_id()
        last = insert_events([
            ("order-" + old, 1, "OrderPlaced", 1,
             {"order_id": old, "customer_id": cust, "total_cents": 700,
              "items": [{"sku": "s", "quantity": 1, "unit_price_cents": 700}]},
             "2026-01-05T10:00:00Z"),
            ("order-" + old, 2, "OrderPaid", 1,
             {"order_id": old, "account_id": acc, "amount_cents": 700}, "2026-01-05T10:01:00Z")])
        orders.append(old)
        rows = self.view("awaiting_shipment", "customer_id=" + cust, last)
        for r in rows:
            r["placed_at"], r["paid_at"] = instant(r["placed_at"]), instant(r["paid_at"])
        want = self.awaiting_from_trail(orders)
        self.assertEqual([r["order_id"] for r in want], [old, o6[0], o2[0]])
        self.assertEqual(want[0]["currency"], "USD")
        self.assertEqual(rows, want)
        # Shipping the oldest takes it off the list; by key it is gone too.
        p = self.post("/v1/orders/%s/ship" % o6[0], {"carrier": "UPS",
                                                     "tracking_number": "U"})["position"]
        rows = self.view("awaiting_shipment", "customer_id=" + cust, p)
        self.assertEqual([r["order_id"] for r in rows], [old, o2[0]])
        r = self.qry.get("/v1/views/awaiting_shipment/%s?min_position=%d" % (o6[0], p))
        self.assertEqual(r.status, 404, r)
        r = self.qry.get("/v1/views/awaiting_shipment/%s?min_position=%d" % (o2[0], p))
        self.assertEqual((r.status, r.body["paid_cents"]), (200, 300))

    # ---- daily money movement ----

    def movement_from_trail(self, account):
        """{(account, UTC day): row} folded from the account's audit trail."""
        days = defaultdict(lambda: {
            "deposits_cents": 0, "deposits": 0, "withdrawals_cents": 0, "withdrawals": 0,
            "transfers_in_cents": 0, "transfers_in": 0, "transfers_out_cents": 0,
            "transfers_out": 0})
        field = {"FundsDeposited": "deposits", "FundsWithdrawn": "withdrawals",
                 "TransferReceived": "transfers_in", "TransferSent": "transfers_out"}
        currency = None
        for e in self.trail("account-" + account):
            if e["type"] == "AccountOpened":
                currency = e["data"]["currency"]
            if e["type"] not in field:
                continue
            day = datetime.fromtimestamp(instant(e["recorded_at"]) / 1000,
                                         timezone.utc).date().isoformat()
            row = days[(account, day)]
            row[field[e["type"]] + "_cents"] += e["data"]["amount_cents"]
            row[field[e["type"]]] += 1
        return [dict(row, account_id=a, day=d, currency=currency)
                for (a, d), row in sorted(days.items())]

    def test_daily_money_movement_equals_the_audit_trail(self):
        a = self.post("/v1/accounts", {"owner": "a", "currency": "EUR"}, 201)["id"]
        b = self.post("/v1/accounts", {"owner": "b", "currency": "EUR"}, 201)["id"]
        self.post("/v1/accounts/%s/deposit" % a, {"amount_cents": 10000})
        self.post("/v1/accounts/%s/deposit" % a, {"amount_cents": 55})
        self.post("/v1/accounts/%s/withdraw" % a, {"amount_cents": 500})
        self.post("/v1/transfers", {"from_account_id": a, "to_account_id": b,
                                    "amount_cents": 1000}, 201)
        self.post("/v1/transfers", {"from_account_id": b, "to_account_id": a,
                                    "amount_cents": 300}, 201)
        order = self.post("/v1/orders", {"customer_id": new_id("c-"), "currency": "EUR", "items": [
            {"sku": "s", "quantity": 1, "unit_price_cents": 2500}]}, 201)["id"]
        self.post("/v1/orders/%s/pay" % order, {"account_id": a, "amount_cents": 2500})
        self.post("/v1/orders/%s/cancel" % order, {"reason": "r"})  # the refund is a deposit
        self.post("/v1/accounts/%s/withdraw" % b, {"amount_cents": 200})
        # Two accounts whose money moved around midnight UTC (and in another currency).
        x, y = new_id(), new_id()
        opened = {"owner": "sql", "currency": "SEK", "overdraft_limit_cents": 0}
        t = {"transfer_id": new_id(), "from_account_id": x, "to_account_id": y,
             "amount_cents": 40}
        last = insert_events([
            ("account-" + x, 1, "AccountOpened", 1, dict(opened, account_id=x),
             "2026-03-01T23:00:00Z"),
            ("account-" + y, 1, "AccountOpened", 1, dict(opened, account_id=y),
             "2026-03-01T23:00:00Z"),
            ("account-" + x, 2, "FundsDeposited", 1,
             {"account_id": x, "amount_cents": 900, "reference": ""}, "2026-03-01T23:59:59.998Z"),
            ("account-" + x, 3, "TransferSent", 1, t, "2026-03-01T23:59:59.999Z"),
            ("account-" + y, 2, "TransferReceived", 1, t, "2026-03-01T23:59:59.999Z"),
            ("account-" + x, 4, "FundsWithdrawn", 1,
             {"account_id": x, "amount_cents": 60, "reference": ""}, "2026-03-02T00:00:00Z"),
            ("account-" + x, 5, "FundsDeposited", 1,
             {"account_id": x, "amount_cents": 7, "reference": ""}, "2026-03-02T00:00:00.001Z"),
        ])
        for acc in (a, b, x, y):
            with self.subTest(account=acc):
                got = self.view("daily_money_movement", "account_id=" + acc, last)
                self.assertEqual(got, self.movement_from_trail(acc))
        got = self.view("daily_money_movement", "account_id=" + x, last)
        self.assertEqual([(r["day"], r["deposits_cents"], r["transfers_out_cents"],
                           r["withdrawals_cents"]) for r in got],
                         [("2026-03-01", 900, 40, 0), ("2026-03-02", 7, 0, 60)])
        # One day by its two-column key; a day without movement is 404.
        r = self.qry.get("/v1/views/daily_money_movement/%s/2026-03-02" % x)
        self.assertEqual((r.status, r.body["currency"], r.body["deposits"]), (200, "SEK", 1))
        self.assertEqual(self.qry.get("/v1/views/daily_money_movement/%s/2026-03-03" % x).status,
                         404)
        self.assertEqual(self.qry.get("/v1/views/daily_money_movement/%s/2026-02-30" % x).status,
                         400)
        # The currency filter and the key filter combine.
        rows = self.view("daily_money_movement", "account_id=%s&currency=EUR" % x, last)
        self.assertEqual(rows, [])


if __name__ == "__main__":
    unittest.main()
