"""The projector under adversity: a plain-SQL event whose transaction commits after later
positions, a kill -9 of query-service mid-burst, PostgreSQL restarted under both services."""

import json
import os
import subprocess
import threading
import time

import harness
from harness import new_id, sql_literal, sql_value
from query_support import QueryTest, wait_ready



class LateCommit:
    """psql in a background thread: BEGIN; INSERT an AccountOpened; wait until the stream
    `release` has an event (the test appends it once its own commands committed; a fixed
    pg_sleep could end first on a loaded machine); COMMIT."""

    def __init__(self, account_id, release):
        self.account_id = account_id
        self.result = None
        data = {"account_id": account_id, "owner": "late-owner", "currency": "EUR",
                "overdraft_limit_cents": 0}
        self.script = (
            "BEGIN;\n"
            "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
            " VALUES (%s, 1, 'AccountOpened', 1, %s, '{\"actor\": \"late-sql\"}');\n"
            "DO $$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM events WHERE stream_id = %s) AND "
            "clock_timestamp() < now() + interval '%d s' LOOP PERFORM pg_sleep(0.01); "
            "END LOOP; END $$;\nCOMMIT;\n" % (
                sql_literal("account-" + account_id), sql_literal(json.dumps(data)),
                sql_literal(release), harness.READY_TIMEOUT_S))
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        cluster = harness.env().cluster
        self.result = subprocess.run(
            [os.path.join(cluster.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
             cluster.url, "-f", "-"], input=self.script, capture_output=True, text=True,
            timeout=2 * harness.READY_TIMEOUT_S)

    def start(self):
        self.thread.start()
        # Wait until the row holds its position inside the open transaction.
        sleeping = harness.wait_until(lambda: sql_value(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'") != "0",
            interval=0.01)
        if not sleeping:
            raise AssertionError("the late transaction never reached pg_sleep")

    def join(self):
        self.thread.join(2 * harness.READY_TIMEOUT_S)
        return self.result


class LateCommitTest(QueryTest):
    def test_query_late_commit_is_projected(self):
        prefix = new_id("l")[:9] + "-"
        late_id, busy_id = prefix + "late", prefix + "busy"
        release_id = new_id("release")
        self.open_account(busy_id)
        late = LateCommit(late_id, "account-" + release_id)
        late.start()
        positions = [self.deposit(busy_id, 10 + i)["position"] for i in range(5)]
        # Otherwise the later positions did not commit first and the scenario was not tested.
        self.assertTrue(late.thread.is_alive(), "commands waited for the plain-SQL transaction")
        self.open_account(release_id)
        self.assertEqual(late.join().returncode, 0, late.result.stderr)
        late_pos = int(sql_value("SELECT position FROM events WHERE stream_id = %s"
                                 % sql_literal("account-" + late_id)))
        self.assertLess(late_pos, min(positions))
        r = self.get_fresh("/v1/accounts/" + late_id, positions[-1])
        self.assertEqual(r.status, 200, "late plain-SQL event was never projected: %r" % r)
        self.assertEqual(r.body["owner"], "late-owner")
        self.assert_views_match_fold(prefix, account_ids=[late_id, busy_id], position=positions[-1])


class BurstTracker:
    """Deposits and withdrawals from several threads until stopped, remembering what was
    acknowledged so balances can be checked against the answers, not only the replay."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {a: 0 for a in accounts}
        self.acks = 0  # 2xx answers so far
        self.orders = []
        self.errors = []

    def worker(self, i):
        client = harness.command()
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                self.one(client, i, n)
        finally:
            client.close()

    def one(self, client, i, n):
        acc = self.accounts[(i + n) % len(self.accounts)]
        try:
            if n % 4 == 0:
                oid = "%s-t%d-%d" % (acc, i, n)
                r = client.post("/v1/orders", {"order_id": oid, "customer_id": acc,
                                               "currency": "EUR", "items": [
                                                   {"sku": "x", "quantity": 1,
                                                    "unit_price_cents": 5}]})
                if r.status == 201:
                    with self.lock:
                        self.orders.append(oid)
                        self.acks += 1
                return
            amount = 1 + n % 97
            kind = "withdraw" if n % 3 == 0 else "deposit"
            r = client.post("/v1/accounts/%s/%s" % (acc, kind), {"amount_cents": amount})
        except OSError as e:  # the service is up; a broken connection is just retried
            client.close()
            with self.lock:
                self.errors.append(repr(e))
            time.sleep(0.05)
            return
        if r.status == 200:
            with self.lock:
                self.acked[acc] += amount if kind == "deposit" else -amount
                self.acks += 1
        elif r.status not in (409, 503):
            with self.lock:
                self.errors.append("%s %s -> %r" % (kind, acc, r))

    def wait_acks(self, more):
        """Until `more` further commands were acknowledged: the burst really runs."""
        target = self.acks + more
        if not harness.wait_until(lambda: self.acks >= target, interval=0.02):
            raise AssertionError("the burst got %d answers, not %d" % (self.acks, target))

    def run(self, threads, during):
        workers = [threading.Thread(target=self.worker, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        try:
            during()
        finally:
            self.stop.set()
            for w in workers:
                w.join(60)


class KillTest(QueryTest):
    def test_query_kill9_during_burst_replays_exactly(self):
        prefix = new_id("k")[:9] + "-"
        accounts = [prefix + "a%d" % i for i in range(4)]
        for a in accounts:
            self.open_account(a, overdraft=100000)
        tracker = BurstTracker(accounts)
        svc = harness.env().service("query")

        def kill_and_restart():
            tracker.wait_acks(20)
            svc.restart(hard=True)
            harness.wait_until(lambda: len(tracker.orders) > 10, interval=0.02)
        tracker.run(6, kill_and_restart)
        self.q.close()
        self.assertEqual(tracker.errors, [])
        self.assertTrue(wait_ready(svc.port), "query-service not ready after kill -9")
        folded = self.assert_views_match_fold(prefix, account_ids=accounts)
        for a in accounts:
            self.assertEqual(folded["accounts"][a]["balance_cents"], tracker.acked[a], a)
        for oid in tracker.orders:
            self.assertIn(oid, folded["orders"])
        self.assertGreater(len(tracker.orders), 10)


class PostgresRestartTest(QueryTest):
    def restart_under_load(self, mode):
        prefix = new_id("p")[:9] + "-"
        accounts = [prefix + "a%d" % i for i in range(3)]
        for a in accounts:
            self.open_account(a, overdraft=100000)
        tracker = BurstTracker(accounts)

        def restart():
            tracker.wait_acks(10)
            harness.env().cluster.restart(mode)
            tracker.wait_acks(10)  # the burst goes on through the recovery
        if mode == "fast":
            tracker.run(4, restart)
        else:
            # With the test cluster's synchronous_commit=off, a commit acknowledged between the
            # harness's CHECKPOINT and the crash may be lost: the burst ends before the crash.
            tracker.run(4, lambda: tracker.wait_acks(20))
            harness.env().cluster.restart(mode)
        env = harness.env()
        for kind in ("command", "query"):
            self.assertTrue(wait_ready(env.service(kind).port),
                            "%s /readyz not 200 within %.0f s after a %s restart"
                            % (kind, harness.READY_TIMEOUT_S, mode))
        self.q.close()
        self.cmd.close()
        # One more acknowledged write after recovery: the projector must follow new events too.
        self.deposit(accounts[0], 1)
        tracker.acked[accounts[0]] += 1
        folded = self.assert_views_match_fold(prefix, account_ids=accounts)
        for a in accounts:
            self.assertEqual(folded["accounts"][a]["balance_cents"], tracker.acked[a], a)
        for oid in tracker.orders:
            r = self.q.get("/v1/orders/" + oid)
            self.assertEqual(r.status, 200, "acknowledged order %s missing: %r" % (oid, r))

    def test_query_postgres_fast_restart(self):
        self.restart_under_load("fast")

    def test_query_postgres_immediate_restart(self):
        self.restart_under_load("immediate")
