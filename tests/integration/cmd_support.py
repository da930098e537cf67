"""Shared base for the command-side integration tests: a client per test, builders for orders
and accounts through the real API, and assertions on responses, problems and stored events."""

import re
import threading
import unittest

import harness
from harness import new_id, sql_json, sql_literal, sql_value

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
PROBLEM = harness.problem_base


def events_count():
    return int(sql_value("SELECT count(*) FROM events"))


def stream_events(stream_id):
    """Every stored event of a stream, in version order, as dicts (data/metadata parsed)."""
    return sql_json(
        "SELECT coalesce(json_agg(e ORDER BY e.stream_version), '[]') FROM ("
        "SELECT position, stream_id, stream_version, type, schema_version, data, metadata, "
        "tx_id::text AS tx_id FROM events WHERE stream_id = %s) e" % sql_literal(stream_id))


def account_balance_history(account_id):
    """Running balances after each event of the account stream, from the events alone."""
    balance, history = 0, []
    for e in stream_events("account-" + account_id):
        d = e["data"]
        if e["type"] in ("FundsDeposited", "TransferReceived"):
            balance += d["amount_cents"]
        elif e["type"] in ("FundsWithdrawn", "TransferSent"):
            balance -= d["amount_cents"]
        history.append(balance)
    return history


def run_concurrently(n, fn):
    """Runs fn(i) in n threads released together; returns the results in index order. Threads
    that raise put the exception in their slot so a test sees it instead of hanging."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(30)
            results[i] = fn(i)
        except BaseException as e:  # reported by the caller's assertions
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def joined_results(results):
    """run_concurrently's per-thread lists joined in index order; a thread's exception is
    raised here instead."""
    out = []
    for res in results:
        if isinstance(res, BaseException):
            raise res
        out += res
    return out


class CommandTest(unittest.TestCase):
    """A fresh keep-alive client per test; ids are random so tests never share aggregates."""

    maxDiff = 4000

    def setUp(self):
        self.client = harness.command()

    def tearDown(self):
        self.client.close()

    def post(self, path, body=None, **kw):
        return self.client.post(path, body, **kw)

    # --- builders through the API; each asserts it worked so a broken setup fails loudly
    def open_account(self, currency="EUR", balance=0, overdraft=None, owner=None):
        account_id = new_id("acc-")
        body = {"account_id": account_id, "owner": owner or new_id("owner-"),
                "currency": currency}
        if overdraft is not None:
            body["overdraft_limit_cents"] = overdraft
        r = self.post("/v1/accounts", body)
        self.assertEqual(r.status, 201, r)
        if balance:
            self.deposit(account_id, balance)
        return account_id

    def deposit(self, account_id, amount, **kw):
        r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": amount}, **kw)
        self.assertEqual(r.status, 200, r)
        return r

    def place_order(self, currency="EUR", items=None, **kw):
        order_id = new_id("ord-")
        items = items or [{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}]
        r = self.post("/v1/orders", {"order_id": order_id, "customer_id": new_id("cust-"),
                                     "currency": currency, "items": items}, **kw)
        self.assertEqual(r.status, 201, r)
        total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
        return order_id, total

    def paid_order(self, balance=10000):
        account_id = self.open_account(balance=balance)
        order_id, total = self.place_order()
        r = self.post("/v1/orders/%s/pay" % order_id,
                      {"account_id": account_id, "amount_cents": total})
        self.assertEqual(r.status, 200, r)
        return order_id, account_id, total

    # --- assertions
    def assert_problem(self, r, status, slug=None):
        """r is an RFC 9457 problem with this status (and type slug when given)."""
        self.assertEqual(r.status, status, r)
        ctype = r.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith("application/problem+json"), ctype)
        body = r.body
        self.assertIsInstance(body, dict, r)
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, body, r)
        self.assertEqual(body["status"], status, r)
        self.assertTrue(body["type"].startswith(PROBLEM), body["type"])
        if slug:
            self.assertEqual(body["type"], PROBLEM + slug, r)
        return body

    def assert_success(self, r, status, stream_id, version, event_types):
        """The contract's success body: stream_id, id, version, position and the events
        written, whose highest position is `position`; ETag is the stream version."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r)
        b = r.body
        self.assertEqual(b["stream_id"], stream_id, b)
        self.assertEqual(b["version"], version, b)
        self.assertIsInstance(b["id"], str)
        self.assertIsInstance(b["position"], int)
        self.assertEqual([e["type"] for e in b["events"]], event_types, b)
        for e in b["events"]:
            self.assertEqual(set(e), {"type", "stream_id", "version", "position"}, e)
        self.assertEqual(b["position"], max(e["position"] for e in b["events"]), b)
        self.assertEqual(r.headers.get("ETag"), '"%d"' % version, r.headers)
        return b

    def assert_stored(self, body, command_type, correlation_id=None):
        """Each event of the success body is in `events` at that position, stream and version,
        with the command's metadata; returns the stored rows in body order."""
        rows = []
        command_ids = set()
        for e in body["events"]:
            row = sql_json("SELECT row_to_json(e) FROM (SELECT position, stream_id, "
                           "stream_version, type, schema_version, data, metadata, "
                           "tx_id::text AS tx_id FROM events WHERE position = %d) e"
                           % e["position"])
            self.assertIsNotNone(row, "event at position %d not stored" % e["position"])
            self.assertEqual((row["stream_id"], row["stream_version"], row["type"]),
                             (e["stream_id"], e["version"], e["type"]))
            # Written at the type's current schema_version (docs/event-versioning.md).
            self.assertEqual(row["schema_version"], 2 if row["type"] == "OrderPlaced" else 1)
            md = row["metadata"]
            for key in ("command_id", "command_type", "correlation_id", "causation_id", "actor"):
                self.assertIn(key, md, md)
            self.assertEqual(md["command_type"], command_type, md)
            self.assertTrue(md["command_id"], md)
            self.assertTrue(md["correlation_id"], md)
            if correlation_id:
                self.assertEqual(md["correlation_id"], correlation_id, md)
            command_ids.add(md["command_id"])
            rows.append(row)
        # One command: one command_id, one transaction.
        self.assertEqual(len(command_ids), 1, rows)
        self.assertEqual(len({row["tx_id"] for row in rows}), 1, rows)
        return rows

    def assert_writes_nothing(self, fn):
        """Calls fn() and checks the event log did not grow; returns fn's result."""
        before = events_count()
        result = fn()
        self.assertEqual(events_count(), before, "events were written: %r" % (result,))
        return result
