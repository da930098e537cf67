"""An event the projector cannot apply stops it visibly: /v1/projections says `failed` and
/readyz is 503. It breaks its environment for good, so it runs in a private one."""

import json
import os
import time
import unittest

import harness
from harness import Client, Environment, new_id, sql_literal
from query_support import PROBLEM


class UnknownEventTest(unittest.TestCase):
    def setUp(self):
        parent = os.path.dirname(harness.env().run_dir)
        self.env = Environment(run_dir=os.path.join(parent, time.strftime("%Y%m%d-%H%M%S")
                                                    + "-%d-unknown-event" % os.getpid()))
        self.addCleanup(self.env.destroy)
        self.env.start()
        self.q = Client(self.env.service("query").port)
        self.addCleanup(self.q.close)

    def insert(self, stream_id, version, type_, data, schema_version=1):
        rows = self.env.cluster.psql(
            "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
            " VALUES (%s, %d, %s, %d, %s, '{}') RETURNING position"
            % (sql_literal(stream_id), version, sql_literal(type_), schema_version,
               sql_literal(json.dumps(data))))
        return int(rows[0][0])

    def test_query_unsupported_schema_version_fails_projection(self):
        """No upcaster knows schema_version 99: the projector stops on it and says why, rather
        than guessing (versions 1 and 2 of OrderPlaced are both readable)."""
        oid = new_id("sv")[:12]
        data = {"order_id": oid, "customer_id": "c", "currency": "EUR", "total_cents": 1,
                "items": [{"sku": "A", "quantity": 1, "unit_price_cents": 1}]}
        good = self.insert("order-" + oid, 1, "OrderPlaced", data, schema_version=2)
        r = self.q.get("/v1/orders/%s?min_position=%d&wait_ms=30000" % (oid, good))
        self.assertEqual(r.status, 200, r)
        bad = self.insert("order-" + oid + "x", 1, "OrderPlaced", data, schema_version=99)
        failed = harness.wait_until(lambda: self.projection()["status"] == "failed")
        self.assertTrue(failed, self.projection())
        p = self.projection()
        self.assertEqual(p["position"], good, p)
        self.assertIn("unsupported schema_version 99 for OrderPlaced", p.get("error", ""), p)
        self.assertIn(str(bad), p.get("error", ""), p)
        self.assertEqual(self.q.get("/readyz").status, 503)
        self.q.close()
        self.assertEqual(self.env.teardown_problems(), [])

    def projection(self):
        r = self.q.get("/v1/projections")
        self.assertEqual(r.status, 200, r)
        return r.body[0]

    def test_query_unknown_event_type_fails_projection(self):
        acc = new_id("x")[:12]
        good = self.insert("account-" + acc, 1, "AccountOpened", {
            "account_id": acc, "owner": "o", "currency": "EUR", "overdraft_limit_cents": 0})
        r = self.q.get("/v1/accounts/%s?min_position=%d&wait_ms=30000" % (acc, good))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.q.get("/readyz").status, 200)
        bad = self.insert("account-" + acc, 2, "FundsTeleported", {"account_id": acc})
        failed = harness.wait_until(lambda: self.projection()["status"] == "failed")
        self.assertTrue(failed, self.projection())
        p = self.projection()
        self.assertEqual(p["position"], good, p)
        self.assertGreaterEqual(p["head_position"], bad, p)
        self.assertEqual(p["lag_events"], p["head_position"] - p["position"], p)
        ready = self.q.get("/readyz")
        self.assertEqual(ready.status, 503, ready)
        self.assertTrue(ready.headers.get("Content-Type", "").startswith(
            "application/problem+json"), ready)
        self.assertTrue(ready.body["type"].startswith(PROBLEM), ready)
        self.assertEqual(self.q.get("/healthz").status, 200)
        # Reads keep answering from what was applied; waiting past the bad event cannot succeed.
        self.assertEqual(self.q.get("/v1/accounts/" + acc).body["version"], 1)
        self.assertEqual(self.q.get("/v1/accounts/%s?min_position=%d&wait_ms=100"
                                    % (acc, bad)).status, 503)
        self.q.close()
        self.assertEqual(self.env.teardown_problems(), [])
