"""The rebuild's bulk fill (issue 13): below a settled horizon `query-service rebuild` reads the
log stream by stream and writes each row once. What it swaps in must equal, byte for byte,
what the projector writes batch by batch in position order: documents, customers, revenue, on
a log with every event type, streams longer than a page, and commands flowing meanwhile. A
kill -9 mid-fill leaves the live tables as they were, and a rerun converges."""

import itertools
import json
import re
import threading

import harness
from harness import new_id, sql, sql_literal, sql_value
from query_support import QueryTest, head_position
from test_es_rebuild import (REBUILD_LOCK_HELD, READ_TABLES, kill_rebuild_once, run_rebuild,
                             table_oids)

# Every column of every read table, in a fixed order: the documents as stored text.
DUMPS = {
    "rm_orders": "SELECT order_id, customer_id, status, version, placed_position, doc "
                 "FROM rm_orders ORDER BY order_id",
    "rm_accounts": "SELECT account_id, owner, version, opened_position, doc FROM rm_accounts "
                   "ORDER BY account_id",
    "rm_customers": "SELECT customer_id, order_count, open_order_count, lifetime_spend_cents, "
                    "last_order_at, doc FROM rm_customers ORDER BY customer_id",
    "rm_revenue_daily": "SELECT day, currency, orders_paid, revenue_cents, refunds_cents, doc "
                        "FROM rm_revenue_daily ORDER BY day, currency",
}
PAGE = 7  # REBUILD_BATCH_EVENTS: long streams and many orders cross pages
MID_FILL = ("SELECT (SELECT count(*) FROM orderly_rebuild.rm_orders) + (SELECT count(*) FROM "
            "orderly_rebuild.rm_accounts) > 0 AND (SELECT position FROM "
            "orderly_rebuild.projections) = 0")


def dump():
    return {t: sql(q) for t, q in DUMPS.items()}


def first_difference(a, b):
    """(table, row number, row of a, row of b) where dumps a and b first differ, else None:
    the assertion names one row rather than printing two whole tables."""
    for t in DUMPS:
        for i in range(max(len(a[t]), len(b[t]))):
            ra = a[t][i] if i < len(a[t]) else None
            rb = b[t][i] if i < len(b[t]) else None
            if ra != rb:
                return t, i, ra, rb
    return None


def mid_fill():
    """Rows in the shadow tables while the shadow checkpoint is still 0: the bulk fill runs."""
    try:
        return sql_value(MID_FILL) == "t"
    except harness.HarnessError:  # no shadow schema (yet)
        return False


class RebuildBulkTest(QueryTest):
    def setUp(self):
        super().setUp()
        self.p = new_id("bk")[:10] + "-"
        self.every_event_type()
        self.seed_sql("s", orders=150, deposits=120)

    def every_event_type(self):
        """Through the command API: each of the eleven event types at least once."""
        p = self.p
        a, b, c = p + "a", p + "b", p + "c"
        self.open_account(a, owner="Ada Lovelace")
        self.open_account(b, owner="Bob Tables", currency="EUR")
        self.open_account(c, owner="Cy Closed")
        self.deposit(a, 100000)
        self.post_ok("/v1/accounts/%s/withdraw" % a, {"amount_cents": 123})
        self.post_ok("/v1/transfers", {"from_account_id": a, "to_account_id": b,
                                       "amount_cents": 250}, 201)
        self.post_ok("/v1/accounts/%s/close" % c, {})
        self.post_ok("/v1/accounts/%s/forget" % b, {})
        for i, (cust, fate) in enumerate([("c1", "ship"), ("c1", "refund"), ("c2", "cancel"),
                                          ("c2", None), ("c3", "pay")]):
            oid = p + "o%d" % i
            self.place_order(oid, p + cust, unit=1000 + i, qty=i + 1)
            total = (1000 + i) * (i + 1)
            if fate in ("ship", "refund", "pay"):
                self.post_ok("/v1/orders/%s/pay" % oid, {"account_id": a, "amount_cents": total})
            if fate == "ship":
                self.post_ok("/v1/orders/%s/ship" % oid,
                             {"carrier": "DHL", "tracking_number": "JD014600003SE"})
            if fate in ("refund", "cancel"):
                self.post_ok("/v1/orders/%s/cancel" % oid,
                             {"reason": "changed | mind \"x\" \u00e9"})
        self.acc = a

    def seed_sql(self, tag, orders, deposits):
        """Volume as an operator's SQL would add it: fresh orders over a few customers (deltas
        summed across pages) and one account stream many pages long."""
        ins = ("INSERT INTO events (stream_id, stream_version, type, schema_version, data, "
               "metadata) ")
        acc = self.p + tag + "long"
        sql(ins + "VALUES (%s, 1, 'AccountOpened', 1, %s, '{}')" % (
            sql_literal("account-" + acc), sql_literal(json.dumps(
                {"account_id": acc, "owner": "long", "currency": "EUR",
                 "overdraft_limit_cents": 0}))))
        sql(ins + "SELECT %s, g + 1, 'FundsDeposited', 1, jsonb_build_object('account_id', %s, "
            "'amount_cents', g, 'reference', 'seed'), '{}' FROM generate_series(1, %d) g "
            "ORDER BY g" % (sql_literal("account-" + acc), sql_literal(acc), deposits))
        sql(ins + "SELECT %s || g, 1, 'OrderPlaced', 1, jsonb_build_object('order_id', %s || g, "
            "'customer_id', %s || (g %% 7), 'currency', 'EUR', 'items', "
            "'[{\"sku\":\"S-1\",\"quantity\":2,\"unit_price_cents\":1250}]'::jsonb, "
            "'total_cents', 2500), '{}' FROM generate_series(1, %d) g ORDER BY g" % (
                sql_literal("order-" + self.p + tag), sql_literal(self.p + tag),
                sql_literal(self.p + tag + "c"), orders))

    def replay_batch_by_batch(self):
        """The reference: query-service restarted on an emptied read model replays the whole
        log in position order, batch by batch."""
        svc = harness.env().service("query")
        svc.stop()
        try:
            sql("BEGIN; TRUNCATE %s; UPDATE projections SET position = 0 "
                "WHERE name = 'read_model'; COMMIT" % ", ".join(READ_TABLES))
        finally:
            svc.start(ready=True)
        self.q.close()
        self.q = harness.query()
        self.wait_projected(head_position())
        return dump()

    def test_rebuild_bulk_fill_equals_batch_replay_while_commands_flow(self):
        self.wait_projected(head_position())
        stop = threading.Event()
        errors = []

        def write():
            c = harness.command()
            try:
                for n in itertools.count():
                    if stop.is_set():
                        break
                    r = c.post("/v1/accounts/%s/deposit" % self.acc, {"amount_cents": 7})
                    o = c.post("/v1/orders", {"order_id": self.p + "w%d" % n,
                                              "customer_id": self.p + "c1", "currency": "EUR",
                                              "items": [{"sku": "W", "quantity": 1,
                                                         "unit_price_cents": 99}]})
                    if r.status != 200 or o.status != 201:
                        errors.append((r, o))
            finally:
                c.close()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            p = run_rebuild(batch=PAGE)
        finally:
            stop.set()
            writer.join(30)
        self.assertEqual(errors[:3], [])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # Commands landed during the rebuild: it went past the fill's horizon.
        horizon = re.search(r"bulk fill: \d+ events to position (\d+)", p.stdout)
        swapped = re.search(r"swapped in at position (\d+)", p.stdout)
        self.assertTrue(horizon and swapped, p.stdout)
        self.assertGreater(int(swapped.group(1)), int(horizon.group(1)))
        self.wait_projected(head_position())
        rebuilt = dump()
        placed = int(sql_value("SELECT count(DISTINCT stream_id) FROM events "
                               "WHERE type = 'OrderPlaced'"))
        self.assertEqual(len(rebuilt["rm_orders"]), placed)
        self.assertIsNone(first_difference(rebuilt, self.replay_batch_by_batch()))

    def test_rebuild_bulk_kill_mid_fill_leaves_live_tables_and_rerun_converges(self):
        self.seed_sql("t", orders=600, deposits=600)  # a fill long enough to be caught midway
        self.wait_projected(head_position())
        before, oids = dump(), table_oids()
        kill_rebuild_once(self, 3, mid_fill, "filling")
        self.assertEqual(table_oids(), oids)
        self.assertIsNone(first_difference(before, dump()), "the live tables changed")
        self.assertTrue(harness.wait_until(lambda: sql_value(REBUILD_LOCK_HELD) == "0", 30))
        p = run_rebuild(batch=PAGE)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotEqual(table_oids()["rm_orders"], oids["rm_orders"])
        self.wait_projected(head_position())
        self.assertIsNone(first_difference(before, dump()), "the rerun did not converge")
