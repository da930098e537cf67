"""Write side under stress: the database refuses changes to events, an outage answers 503 and
writes nothing, and concurrent writers never overdraw, lose money or fork a stream."""

import json
import random
import unittest

import harness
from cmd_support import (PROBLEM, CommandTest, account_balance_history, events_count,
                         run_concurrently, stream_events)
from harness import new_id, outage, sql_json, sql_literal, wait_until


class ImmutableEventsTest(unittest.TestCase):
    """Needs only PostgreSQL: the row is inserted by plain SQL, which the contract allows."""

    def test_update_delete_truncate_refused(self):
        account_id = new_id("acc-")
        data = {"account_id": account_id, "owner": "sql", "currency": "EUR",
                "overdraft_limit_cents": 0}
        cluster = harness.env().cluster
        pos = harness.sql_value(
            "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
            " VALUES (%s, 1, 'AccountOpened', 1, %s, '{}') RETURNING position"
            % (sql_literal("account-" + account_id), sql_literal(json.dumps(data))))
        before = harness.sql("SELECT type, data::text FROM events WHERE position = %s" % pos)
        count = events_count()
        for stmt in ("UPDATE events SET type = 'Tampered' WHERE position = %s" % pos,
                     "UPDATE events SET data = '{}' WHERE position = %s" % pos,
                     "DELETE FROM events WHERE position = %s" % pos,
                     "TRUNCATE events",
                     "TRUNCATE events CASCADE"):
            with self.subTest(stmt=stmt):
                p = cluster.psql(stmt, check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn("immutable", p.stderr)
        self.assertEqual(harness.sql("SELECT type, data::text FROM events WHERE position = %s"
                                     % pos), before)
        self.assertEqual(events_count(), count)


class OutageTest(CommandTest):
    def deposit_until_ok(self, account_id, timeout=harness.READY_TIMEOUT_S):
        def attempt():
            r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 1})
            return r if 200 <= r.status < 300 else None
        return wait_until(attempt, timeout, 0.2)

    def test_outage_is_503_then_recovers(self):
        account_id = self.open_account()
        before = events_count()
        with outage():
            r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 7})
            self.assert_problem(r, 503, "db-unavailable")
            r = self.post("/v1/orders", {"customer_id": "c", "currency": "EUR", "items": [
                {"sku": "s", "quantity": 1, "unit_price_cents": 1}]})
            self.assert_problem(r, 503, "db-unavailable")
            ready = self.client.get("/readyz")
            self.assertEqual(ready.status, 503, ready)
            self.assertEqual(self.client.get("/healthz").status, 200)
        ok = self.deposit_until_ok(account_id)
        self.assertIsNotNone(ok, "no 2xx within %.0f s after PostgreSQL came back"
                             % harness.READY_TIMEOUT_S)
        self.assertEqual(events_count(), before + 1)
        self.assertEqual([e["type"] for e in stream_events("account-" + account_id)],
                         ["AccountOpened", "FundsDeposited"])
        self.assertEqual(wait_until(lambda: self.client.get("/readyz").status == 200), True)

    def test_every_request_succeeds_after_recovery(self):
        """Pooled connections broken by the outage must be replaced before use: once the
        service is ready again, every command succeeds, on every code path."""
        # One account per request: this test is about connections, not stream contention.
        accounts = [self.open_account() for _ in range(40)]

        def deposit(i):
            # The Idempotency-Key lookup is the first database call on its path.
            headers = {"Idempotency-Key": new_id("key-")}
            c = harness.command()
            try:
                return c.post("/v1/accounts/%s/deposit" % accounts[i], {"amount_cents": 1},
                              headers=headers)
            finally:
                c.close()

        # Concurrent requests first, so the service holds many pooled connections to break.
        # Earlier tests may have left broken ones too, so these answers are not checked.
        warm = run_concurrently(40, deposit)
        with outage():
            pass
        self.assertTrue(wait_until(lambda: self.client.get("/readyz").status == 200))
        results = run_concurrently(40, deposit)
        self.assertEqual([getattr(r, "status", r) for r in results], [200] * 40)
        for i in (0, 39):
            expected = 1 + (getattr(warm[i], "status", None) == 200)
            self.assertEqual(account_balance_history(accounts[i])[-1], expected)

    def test_503_is_not_stored_under_idempotency_key(self):
        account_id = self.open_account()
        key = new_id("key-")
        with outage():
            r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 7},
                          headers={"Idempotency-Key": key})
            self.assert_problem(r, 503, "db-unavailable")

        def attempt():
            r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 7},
                          headers={"Idempotency-Key": key})
            return r if r.status == 200 else None
        ok = wait_until(attempt, interval=0.2)
        self.assertIsNotNone(ok)
        self.assertNotEqual(ok.headers.get("Idempotent-Replayed", "").lower(), "true")
        self.assertEqual(account_balance_history(account_id), [0, 7])

    def test_crash_restart_recovers(self):
        account_id = self.open_account()
        harness.env().cluster.restart("immediate")
        self.assertIsNotNone(self.deposit_until_ok(account_id))
        harness.env().cluster.restart("fast")
        self.assertIsNotNone(self.deposit_until_ok(account_id))
        self.assertEqual(account_balance_history(account_id), [0, 1, 2])


class ServiceRestartTest(CommandTest):
    def test_kill_9_and_restart_keeps_every_acknowledged_write(self):
        account_id = self.open_account(balance=300)
        self.client.close()
        harness.env().service("command").restart(hard=True, ready=True)
        self.deposit(account_id, 5)
        self.assertEqual(account_balance_history(account_id), [0, 300, 305])
        self.assert_contiguous_versions("account-" + account_id)

    def assert_contiguous_versions(self, stream_id):
        versions = [e["stream_version"] for e in stream_events(stream_id)]
        self.assertEqual(versions, list(range(1, len(versions) + 1)))


class ConcurrencyTest(CommandTest):
    def assert_contiguous(self, stream_id):
        versions = [e["stream_version"] for e in stream_events(stream_id)]
        self.assertEqual(versions, list(range(1, len(versions) + 1)), stream_id)

    def test_concurrent_withdrawals_never_overdraw(self):
        account_id = self.open_account(balance=2000)

        def withdraw(_):
            c = harness.command()
            try:
                return c.post("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 100})
            finally:
                c.close()

        results = run_concurrently(40, withdraw)
        self.assertEqual([r for r in results if isinstance(r, BaseException)], [])
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200] * 20 + [409] * 20, results)
        for r in results:
            if r.status == 409:
                self.assert_problem(r, 409, "insufficient-funds")
        history = account_balance_history(account_id)
        self.assertEqual(history[-1], 0)
        self.assertGreaterEqual(min(history), 0)
        self.assertEqual(len(history), 22)
        self.assert_contiguous("account-" + account_id)

    def test_random_transfers_conserve_money(self):
        accounts = [self.open_account(balance=1000) for _ in range(4)]
        rng = random.Random(7)
        plan = []
        for _ in range(60):
            src, dst = rng.sample(accounts, 2)
            plan.append((src, dst, rng.randint(1, 400)))

        def transfer(i):
            src, dst, amount = plan[i]
            c = harness.command()
            try:
                return c.post("/v1/transfers", {"from_account_id": src, "to_account_id": dst,
                                                "amount_cents": amount})
            finally:
                c.close()

        results = run_concurrently(60, transfer)
        self.assertEqual([r for r in results if isinstance(r, BaseException)], [])
        refusals = [(r.status, (r.body or {}).get("type", "")) for r in results
                    if r.status != 201]
        # API.md: without If-Match a concurrent write is retried internally, so the only
        # acceptable refusal is a real lack of funds (not concurrency-conflict).
        other = [t for t in refusals if t != (409, PROBLEM + "insufficient-funds")]
        self.assertEqual(other, [], "%d of 60 transfers refused, not for funds" % len(other))
        succeeded = sum(1 for r in results if r.status == 201)
        self.assertGreater(succeeded, 0)
        total = 0
        for a in accounts:
            history = account_balance_history(a)
            self.assertGreaterEqual(min(history), 0, a)
            total += history[-1]
            self.assert_contiguous("account-" + a)
        self.assertEqual(total, 4000)
        streams = ",".join(sql_literal("account-" + a) for a in accounts)
        dupes = sql_json("SELECT count(*) FROM (SELECT stream_id, stream_version FROM events "
                         "WHERE stream_id IN (%s) GROUP BY 1, 2 HAVING count(*) > 1) d"
                         % streams)
        self.assertEqual(dupes, 0)
        pairs = sql_json(
            "SELECT json_agg(json_build_array(s.tx_id = r.tx_id, s.data = r.data)) FROM events s "
            "JOIN events r ON r.type = 'TransferReceived' AND "
            "r.data->>'transfer_id' = s.data->>'transfer_id' "
            "WHERE s.type = 'TransferSent' AND s.stream_id IN (%s)" % streams)
        self.assertEqual(len(pairs), succeeded)
        self.assertTrue(all(same_tx and same_data for same_tx, same_data in pairs), pairs)


if __name__ == "__main__":
    unittest.main()
