"""Shared base for the query-side integration tests: clients for both services, waiting for the
projector, dumping a test's events and replaying them through build/tests/fold (the pure domain)
so read-model views can be compared with a full replay."""

import json
import os
import subprocess
import unittest

import harness
import orderly_env  # harness put tests/harness on sys.path
from harness import sql_json, sql_literal, sql_value

PROBLEM = harness.problem_base
FOLD_TIMEOUT_S = 120


def _fold_path():
    return os.path.join(orderly_env.build_dir(), "tests", "fold")


def dump_events(prefix, upto=None):
    """Every event of the streams whose id starts with order-<prefix> or account-<prefix>, in
    position order, in the shape build/tests/fold reads. Milliseconds are floored, as the query
    service prints them (so a printed time used as ?as_of= includes its own event). An
    AccountOpened carries its account's key, so fold opens the sealed owner as the projector does."""
    where = "(stream_id LIKE %s OR stream_id LIKE %s)" % (
        sql_literal("order-" + prefix + "%"), sql_literal("account-" + prefix + "%"))
    if upto is not None:
        where += " AND position <= %d" % upto
    return sql_json(fold_events_sql(where))


def fold_events_sql(where):
    """The query dump_events runs: the events matching the SQL condition `where` as one JSON
    array in the shape build/tests/fold reads."""
    return ("SELECT coalesce(json_agg(e ORDER BY (e->>'position')::bigint), '[]') FROM ("
            "SELECT json_build_object('stream_id',stream_id,'stream_version',stream_version,"
            "'position',position,'type',type,'schema_version',schema_version,'data',data,"
            "'recorded_at_ms',floor(extract(epoch from recorded_at)*1000)::bigint,"
            "'owner_key',(SELECT encode(k.key,'hex') FROM account_keys k "
            "WHERE type = 'AccountOpened' AND k.account_id = data->>'account_id')) AS e "
            "FROM events WHERE %s) x" % where)


def fold(events):
    """{"orders": {id: view}, "accounts": {id: view}} replayed by the pure domain code."""
    text = "".join(json.dumps(e) + "\n" for e in events)
    p = subprocess.run([_fold_path()], input=text, capture_output=True, text=True,
                       timeout=FOLD_TIMEOUT_S)
    if p.returncode != 0:
        raise AssertionError("fold failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def head_position():
    return int(sql_value("SELECT coalesce(max(position), 0) FROM events"))


def customer_summary(orders, customer_id):
    """The contract's customer summary computed from folded order views (None: no orders)."""
    mine = [o for o in orders.values() if o["customer_id"] == customer_id]
    if not mine:
        return None
    return {"customer_id": customer_id, "order_count": len(mine),
            "open_order_count": sum(o["status"] in ("placed", "paid") for o in mine),
            "lifetime_spend_cents": sum(o["paid_cents"] - o["refunded_cents"] for o in mine),
            "last_order_at": max(o["placed_at"] for o in mine)}


class QueryTest(unittest.TestCase):
    """A command client and a query client per test; ids are random per test."""

    maxDiff = 6000

    def setUp(self):
        self.cmd = harness.command()
        self.q = harness.query()

    def tearDown(self):
        self.cmd.close()
        self.q.close()

    # --- commands through the API; each asserts it worked so a broken setup fails loudly
    def post_ok(self, path, body, status=200, **kw):
        r = self.cmd.post(path, body, **kw)
        self.assertEqual(r.status, status, "%s %s -> %r" % (path, body, r))
        return r.body

    def open_account(self, account_id, owner="owner", currency="EUR", overdraft=0, **kw):
        return self.post_ok("/v1/accounts", {"account_id": account_id, "owner": owner,
                                             "currency": currency,
                                             "overdraft_limit_cents": overdraft}, 201, **kw)

    def deposit(self, account_id, amount, **kw):
        return self.post_ok("/v1/accounts/%s/deposit" % account_id, {"amount_cents": amount},
                            **kw)

    def place_order(self, order_id, customer_id, unit=1000, qty=1, currency="EUR"):
        return self.post_ok("/v1/orders", {
            "order_id": order_id, "customer_id": customer_id, "currency": currency,
            "items": [{"sku": "sku-" + order_id[-4:], "quantity": qty,
                       "unit_price_cents": unit}]}, 201)

    # --- reads
    def get_fresh(self, path, position, wait_ms=30000):
        """GET path once the read model has applied `position` (read-your-writes); the
        service waits up to wait_ms (its maximum) and answers at once when it is there."""
        sep = "&" if "?" in path else "?"
        r = self.q.get("%s%smin_position=%d&wait_ms=%d" % (path, sep, position, wait_ms))
        self.assertNotEqual(r.status, 503, "projector did not reach %d: %r" % (position, r))
        return r

    def wait_projected(self, position, timeout=harness.READY_TIMEOUT_S):
        """Polls /v1/projections until the read model is at `position` or beyond."""
        def reached():
            r = self.q.get("/v1/projections")
            if r.status != 200:
                return False
            return all(p["position"] >= position for p in r.body)
        self.assertTrue(harness.wait_until(reached, timeout, 0.05),
                        "projection did not reach position %d within %.0fs: %r" % (
                            position, timeout, self.q.get("/v1/projections")))

    def assert_problem(self, r, status, slug=None):
        self.assertEqual(r.status, status, r)
        ctype = r.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith("application/problem+json"), (ctype, r))
        body = r.body
        self.assertIsInstance(body, dict, r)
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, body, r)
        self.assertEqual(body["status"], status, r)
        if slug:
            self.assertEqual(body["type"], PROBLEM + slug, r)
        return body

    def assert_views_match_fold(self, prefix, order_ids=(), account_ids=(), position=None):
        """Every view of this test's aggregates equals the replay of its events; ids in
        order_ids/account_ids with no events must be 404. Returns the fold."""
        position = position or head_position()
        self.wait_projected(position)
        folded = fold(dump_events(prefix))
        for kind, ids, path in (("orders", order_ids, "/v1/orders/"),
                                ("accounts", account_ids, "/v1/accounts/")):
            for agg_id in sorted(set(ids) | set(folded[kind])):
                r = self.q.get(path + agg_id)
                want = folded[kind].get(agg_id)
                if want is None:
                    self.assertEqual(r.status, 404, "%s%s: %r" % (path, agg_id, r))
                    continue
                self.assertEqual(r.status, 200, "%s%s: %r" % (path, agg_id, r))
                self.assertEqual(r.body, want, "%s%s differs from the replay" % (path, agg_id))
                stream = ("order-" if kind == "orders" else "account-") + agg_id
                self.assertEqual(r.raw.decode("utf-8"), folded["docs"][stream],
                                 "%s%s: not the replay's document byte for byte" % (path, agg_id))
        return folded


def wait_ready(port, timeout=harness.READY_TIMEOUT_S):
    """True once GET /readyz answers 200 on port (a fresh connection per try)."""
    def ready():
        c = harness.Client(port, timeout=5)
        try:
            return c.get("/readyz").status == 200
        except OSError:
            return False
        finally:
            c.close()
    return bool(harness.wait_until(ready, timeout, 0.1))
