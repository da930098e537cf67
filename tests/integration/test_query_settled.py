"""The projector applies an event as soon as it is settled (docs/projector.md): at or below the
horizon, or above it with every position before it present. So a long transaction elsewhere no
longer holds projection back while appends commit in order; an append still in flight holds
back every event after it until it commits; a rolled-back append's gap is passed by the horizon
alone, once nothing older than it runs."""

import json

import harness
from harness import new_id, sql_literal
from db_support import Session
from query_support import QueryTest

BEHIND_MS = 1500  # a wait that must end 503: long past the projector's 100 ms gap patience


class SettledTest(QueryTest):
    def session(self):
        s = Session(harness.env().cluster.url, harness.env().cluster.bindir)
        self.addCleanup(s.close)
        return s

    def hold_xid(self):
        """A transaction elsewhere that holds an xid (as a long report or migration would)."""
        s = self.session()
        self.assertIsNotNone(s.run("BEGIN; SELECT pg_current_xact_id();"))
        return s

    def begin_append(self, s, account_id):
        """Appends an AccountOpened by plain SQL in s's open transaction; returns its position."""
        data = {"account_id": account_id, "owner": "sql", "currency": "EUR",
                "overdraft_limit_cents": 0}
        lines = s.run(
            "BEGIN; INSERT INTO events (stream_id, stream_version, type, schema_version, data,"
            " metadata) VALUES (%s, 1, 'AccountOpened', 1, %s, '{}') RETURNING position;"
            % (sql_literal("account-" + account_id), sql_literal(json.dumps(data))))
        numbers = [l for l in lines or [] if l.isdigit()]
        self.assertTrue(numbers, "the insert returned no position: %r" % lines)
        return int(numbers[0])

    def place(self):
        order_id = new_id("set-")
        return order_id, self.place_order(order_id, new_id("cust-"))["position"]

    def assert_behind(self, order_id, position):
        r = self.q.get("/v1/orders/%s?min_position=%d&wait_ms=%d" % (order_id, position,
                                                                     BEHIND_MS))
        self.assert_problem(r, 503, "projection-behind")

    def test_a_long_transaction_elsewhere_does_not_hold_projection_back(self):
        # Projected first: a gap an earlier test left (a retried append) is then behind the
        # checkpoint, not between it and this test's order, where only the horizon could pass it.
        warm_id, warm = self.place()
        self.assertEqual(self.get_fresh("/v1/orders/" + warm_id, warm).status, 200)
        held = self.hold_xid()
        order_id, position = self.place()
        r = self.get_fresh("/v1/orders/" + order_id, position, wait_ms=10000)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body["order_id"], order_id)
        held.run("COMMIT")

    def test_an_append_in_flight_holds_back_the_events_after_it(self):
        appending = self.session()
        account_id = new_id("acc-")
        in_flight = self.begin_append(appending, account_id)
        order_id, position = self.place()
        self.assertGreater(position, in_flight)
        self.assert_behind(order_id, position)
        read_model = [p for p in self.q.get("/v1/projections").body if p["name"] == "read_model"]
        self.assertLess(read_model[0]["position"], in_flight)
        appending.run("COMMIT")
        self.assertEqual(self.get_fresh("/v1/orders/" + order_id, position).status, 200)
        self.assertEqual(self.q.get("/v1/accounts/" + account_id).status, 200)

    def test_a_rolled_back_append_is_passed_once_the_horizon_settles(self):
        held = self.hold_xid()
        appending = self.session()
        gap = self.begin_append(appending, new_id("acc-"))
        appending.run("ROLLBACK")
        order_id, position = self.place()
        self.assertGreater(position, gap)
        # The gap could still be an append in flight as far as the projector can tell, and the
        # held transaction keeps the horizon below it.
        self.assert_behind(order_id, position)
        held.run("COMMIT")
        self.assertEqual(self.get_fresh("/v1/orders/" + order_id, position).status, 200)
