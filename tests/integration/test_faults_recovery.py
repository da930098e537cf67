"""Faults: PostgreSQL restarted (fast, then immediate) under load, kill -9 of command-service
mid-burst, kill -9 of query-service during a 200 000-event catch-up. Afterwards every command a
client saw succeed is in events exactly once, retries appended nothing, both services are ready
without help, and the read model equals a replay of the events."""

import json
import random
import subprocess
import time

import harness
from fault_support import (Command, Load, events_by_correlation, idempotency_keys,
                           send_until_settled)
from harness import new_id, sql, sql_literal
from query_support import QueryTest, _fold_path, head_position, wait_ready

WORKERS = 6
CATCH_UP_ACCOUNTS = 20000  # x CATCH_UP_VERSIONS events
CATCH_UP_VERSIONS = 10
CATCH_UP_KILLS = 3
CATCH_UP_SAMPLE = 1000  # accounts whose whole view is compared with the replay


def command_port():
    return harness.env().service("command").port


class LoadedCommandTest(QueryTest):
    """A load of deposits and PlaceOrders, one account per worker, every id under one prefix so
    the replay can find exactly this test's events."""

    def start_load(self, prefix, port_fn=command_port, workers=WORKERS):
        self.accounts = ["%s-a%d" % (prefix, w) for w in range(workers)]
        for a in self.accounts:
            self.open_account(a)

        def make(w, i):
            key = "%s-w%d-%d" % (prefix, w, i)
            if i % 3 == 2:
                return Command("/v1/orders", {"order_id": key, "customer_id": prefix + "-c",
                                              "currency": "EUR", "items": [
                                                  {"sku": "s", "quantity": 1 + i % 5,
                                                   "unit_price_cents": 100 + w}]}, key)
            return Command("/v1/accounts/%s/deposit" % self.accounts[w],
                           {"amount_cents": 1 + i, "reference": key}, key)

        return Load(port_fn, make, workers).start()

    def assert_exactly_once(self, prefix, load):
        """Every command settled 2xx, its events are stored once, its key was kept, and at
        least one command had to be retried (else the fault never met the load)."""
        stuck = load.stop()
        self.assertEqual(stuck, [], "client threads still retrying after 90 s")
        cmds = load.commands
        self.assertGreater(len(cmds), 20, "the load barely ran")
        bad = [(c.key, c.status, c.response) for c in cmds if not 200 <= (c.status or 0) < 300]
        self.assertEqual(bad, [], "commands that never got a 2xx")
        counts = events_by_correlation(prefix)
        wrong = [(c.key, counts.get(c.correlation_id, 0), c.attempts) for c in cmds
                 if counts.get(c.correlation_id, 0) != c.expected_events]
        self.assertEqual(wrong, [], "(key, events stored, attempts) not exactly once")
        self.assertEqual(set(counts), {c.correlation_id for c in cmds},
                         "events from commands no client sent")
        missing = {c.key for c in cmds} - idempotency_keys(prefix)
        self.assertEqual(missing, set(), "keys without an idempotency row")
        retried = sum(c.attempts > 1 for c in cmds)
        self.assertGreater(retried, 0, "no command needed a retry: the fault missed the load")
        return cmds

    def assert_replays_match(self, cmds, sample=15):
        """A repeat of a settled command returns its first answer byte for byte."""
        for c in random.sample(cmds, min(sample, len(cmds))):
            again = send_until_settled(command_port(), Command(c.path, c.body, c.key))
            self.assertEqual(again.response.headers.get("Idempotent-Replayed"), "true", c.key)
            self.assertEqual((again.status, again.response.raw), (c.status, c.response.raw))

    def assert_ready_and_replayed(self, prefix, cmds):
        env = harness.env()
        for kind in ("command", "query"):
            self.assertTrue(wait_ready(env.service(kind).port), "%s not ready" % kind)
        orders = [c.key for c in cmds if c.path == "/v1/orders"]
        self.assert_views_match_fold(prefix, order_ids=orders, account_ids=self.accounts)


class PostgresRestartTest(LoadedCommandTest):
    def set_synchronous_commit(self, value):
        """The test cluster runs with synchronous_commit=off; an immediate stop would then drop
        acknowledged commits (our setting, not the service's fault), so it is on meanwhile."""
        stmt = ("ALTER SYSTEM RESET synchronous_commit" if value is None
                else "ALTER SYSTEM SET synchronous_commit = %s" % value)
        harness.sql(stmt)
        harness.sql("SELECT pg_reload_conf()")

    def test_restart_fast_then_immediate_under_load(self):
        prefix = new_id("pg")[:24]
        cluster = harness.env().cluster
        self.set_synchronous_commit("on")
        try:
            load = self.start_load(prefix)
            load.wait_settled(10)
            cluster.restart("fast")
            load.wait_settled(10)  # the load goes on after the restart
            cluster.restart("immediate")
            load.wait_settled(10)
            cmds = self.assert_exactly_once(prefix, load)
        finally:
            if not cluster.running:
                cluster.start_server()
            self.set_synchronous_commit(None)
        self.assert_replays_match(cmds)
        self.assert_ready_and_replayed(prefix, cmds)


class CommandServiceKillTest(LoadedCommandTest):
    def test_kill_9_mid_burst(self):
        prefix = new_id("k9")[:24]
        svc = harness.env().service("command")
        try:
            load = self.start_load(prefix, port_fn=lambda: svc.port, workers=8)
            for _ in range(2):
                load.wait_settled(10)
                svc.kill()
                time.sleep(0.2)  # down for a moment, so clients meet the refused connections
                svc.start()
            load.wait_settled(10)
            cmds = self.assert_exactly_once(prefix, load)
        finally:
            if not svc.alive():
                svc.start()
        self.assert_replays_match(cmds)
        self.assert_ready_and_replayed(prefix, cmds)


def insert_catch_up_events(prefix, owner):
    """CATCH_UP_ACCOUNTS accounts, each opened then deposited into CATCH_UP_VERSIONS - 1
    times, by plain SQL in one statement; streams interleave (version-major order)."""
    sql("INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata) "
        "SELECT 'account-' || %(p)s || a, v, "
        "CASE WHEN v = 1 THEN 'AccountOpened' ELSE 'FundsDeposited' END, 1, "
        "CASE WHEN v = 1 THEN jsonb_build_object('account_id', %(p)s || a, 'owner', %(o)s, "
        "'currency', 'EUR', 'overdraft_limit_cents', a %% 7) "
        "ELSE jsonb_build_object('account_id', %(p)s || a, 'amount_cents', a * 10 + v, "
        "'reference', 'r' || v) END, '{\"actor\": \"sql\"}' "
        "FROM generate_series(1, %(v)d) v, generate_series(1, %(n)d) a ORDER BY v, a"
        % {"p": sql_literal(prefix), "o": sql_literal(owner), "v": CATCH_UP_VERSIONS,
           "n": CATCH_UP_ACCOUNTS})


def fold_accounts(account_ids):
    """The views a full replay of these accounts' events gives, via build/tests/fold.
    Milliseconds are floored, as the read model stores them."""
    streams = ",".join(sql_literal("account-" + a) for a in account_ids)
    lines = harness.env().cluster.psql(
        "SELECT json_build_object('stream_id', stream_id, 'stream_version', stream_version, "
        "'position', position, 'type', type, 'schema_version', schema_version, 'data', data, "
        "'recorded_at_ms', floor(extract(epoch FROM recorded_at) * 1000)::bigint) "
        "FROM events WHERE stream_id IN (%s) ORDER BY position" % streams, raw=True)
    p = subprocess.run([_fold_path()], input=lines, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("fold failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)["accounts"]


def stream_totals(prefix):
    """{account_id: (balance, version)} for every account of prefix, summed in SQL."""
    rows = sql("SELECT substr(stream_id, 9), coalesce(sum((data->>'amount_cents')::bigint), 0), "
               "max(stream_version) FROM events WHERE stream_id LIKE %s GROUP BY stream_id"
               % sql_literal("account-" + prefix + "%"))
    return {a: (int(b), int(v)) for a, b, v in rows}


class ProjectorKillTest(QueryTest):
    def projection_position(self):
        c = harness.query()
        try:
            r = c.get("/v1/projections")
            return min(p["position"] for p in r.body) if r.status == 200 else None
        except (OSError, ValueError, TypeError):
            return None
        finally:
            c.close()

    def kill_mid_catch_up(self, svc, head, rng):
        """Starts the service and kills it once the projector has done a random share of what
        was left; returns True if it was still behind at the kill."""
        svc.start()
        start = harness.wait_until(self.projection_position) or 0
        target = start + rng.uniform(0.1, 0.8) * max(head - start, 0)
        deadline = time.monotonic() + 60
        pos = start
        while time.monotonic() < deadline:
            pos = self.projection_position()
            if pos is not None and pos >= target:
                break
            time.sleep(0.01)
        svc.kill()
        return pos is not None and pos < head

    def list_accounts(self, owner):
        views, cursor = {}, None
        while True:
            path = "/v1/accounts?owner=%s&limit=500" % owner + (
                "&cursor=%s" % cursor if cursor else "")
            r = self.q.get(path)
            self.assertEqual(r.status, 200, r)
            for item in r.body["items"]:
                views[item["account_id"]] = item
            cursor = r.body.get("next_cursor")
            if not cursor:
                return views

    def test_kill_9_during_catch_up(self):
        prefix = new_id("cu")[:20]
        owner = prefix + "-owner"
        seed = random.randrange(1 << 30)
        rng = random.Random(seed)
        svc = harness.env().service("query")
        try:
            self.assertEqual(svc.stop(), 0, "query-service did not stop cleanly")
            insert_catch_up_events(prefix, owner)
            head = head_position()
            behind = [self.kill_mid_catch_up(svc, head, rng) for _ in range(CATCH_UP_KILLS)]
        finally:
            if not svc.alive():
                svc.start()
        self.q.close()
        self.assertTrue(any(behind), "no kill landed mid catch-up (seed %d)" % seed)
        self.assertTrue(wait_ready(svc.port))
        self.wait_projected(head, timeout=180)
        # Every account's balance and version against SQL sums; a sample's whole view against
        # the replay (folding all 20 000 is too slow in the sanitizer build).
        totals = stream_totals(prefix)
        self.assertEqual(len(totals), CATCH_UP_ACCOUNTS)
        got = self.list_accounts(owner)
        self.assertEqual(sorted(got), sorted(totals), "listed accounts differ (seed %d)" % seed)
        diff = [(k, (got[k]["balance_cents"], got[k]["version"]), totals[k])
                for k in sorted(totals) if (got[k]["balance_cents"], got[k]["version"]) !=
                totals[k]]
        self.assertEqual(diff[:3], [], "%d accounts differ from SQL sums (seed %d)"
                         % (len(diff), seed))
        sample = rng.sample(sorted(totals), CATCH_UP_SAMPLE)
        want = fold_accounts(sample)
        self.assertEqual(sorted(want), sorted(sample))
        for agg_id in sample:
            self.assertEqual(got[agg_id], want[agg_id], "listed %s (seed %d)" % (agg_id, seed))
        for agg_id in sample[:50]:
            r = self.q.get("/v1/accounts/" + agg_id)
            self.assertEqual((r.status, r.body), (200, want[agg_id]), agg_id)
