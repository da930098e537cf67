"""Projection rebuild with no downtime (issue 8): `query-service rebuild` replays the log into
shadow tables while commands and reads flow, swaps them in one transaction, survives a kill -9
midway; and a projection whose checkpoint row is missing builds itself from position 0."""

import json
import os
import signal
import subprocess
import threading
import time

import harness
from harness import new_id, sql, sql_literal, sql_value
from query_support import QueryTest, customer_summary, head_position

READ_TABLES = ("rm_accounts", "rm_customers", "rm_orders", "rm_revenue_daily")
SEED_EVENTS = 3000
REBUILD_LOCK_HELD = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                     "AND classid = 0 AND objid = 4242000002")


def table_oids():
    return dict(sql("SELECT relname, oid FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                    "AND relkind = 'r' AND relname LIKE 'rm\\_%'"))


def replaying():
    """A rebuild is writing its shadow tables: rows there (the bulk fill, which moves the
    shadow checkpoint only at its end) or a shadow checkpoint past 0 (the catch-up)."""
    try:
        return sql_value("SELECT (SELECT count(*) FROM orderly_rebuild.rm_accounts) + "
                         "(SELECT position FROM orderly_rebuild.projections)") not in ("0", "")
    except harness.HarnessError:  # the shadow schema does not exist (yet)
        return False


def index_defs():
    """Every index of the live read tables, by name: what a swap must leave as it found it."""
    return dict(sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                    "AND tablename LIKE 'rm\\_%'"))


def shadow_tables():
    """{table: (relpersistence, sorted index names)} of the shadow schema, now."""
    rows = sql("SELECT c.relname, c.relpersistence, coalesce(string_agg(x.relname, ' ' ORDER BY "
               "x.relname), '') FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid "
               "LEFT JOIN pg_class x ON x.oid = i.indexrelid WHERE c.relnamespace = "
               "'orderly_rebuild'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'rm\\_%' "
               "GROUP BY 1, 2")
    return {t: (p, ix.split()) for t, p, ix in rows}


class HeldLock:
    """A psql session holding ACCESS SHARE on a table in an open transaction: whatever wants the
    table exclusively (SET LOGGED, the swap) waits until release()."""

    def __init__(self, table):
        psql = os.path.join(harness.env().cluster.bindir, "psql")
        self.table = table
        self.proc = subprocess.Popen([psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                                      harness.env().cluster.url], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc.stdin.write("BEGIN; LOCK TABLE %s IN ACCESS SHARE MODE; SELECT 'locked';\n"
                              % table)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()  # psql answers or exits (ON_ERROR_STOP)
        if line.strip() != "locked":
            self.proc.kill()
            self.proc.communicate(timeout=30)
            raise AssertionError("could not lock %s: %r" % (table, line))

    def waited_on(self):
        return sql_value("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                         "to_regclass(%s)" % sql_literal(self.table)) != "0"

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
            self.proc.wait(30)
        self.proc.stdout.close()


def rebuild_cmd(*args, batch=None):
    env = dict(os.environ)
    env.update(harness.env().service_env())
    if batch:
        env["REBUILD_BATCH_EVENTS"] = str(batch)
    return [harness.env().binary("query"), "rebuild"] + list(args), env


def kill_rebuild_once(test, batch, ready, what):
    """Starts `query-service rebuild` in batches of batch, waits until ready() is true and kills
    it with SIGKILL while it still runs; what names the moment in the failure message."""
    cmd, env = rebuild_cmd(batch=batch)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        test.assertTrue(harness.wait_until(ready, 60, 0.01), "the rebuild was never seen " + what)
        test.assertIsNone(proc.poll(), "the rebuild finished before it could be killed")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
        proc.stdout.close()
    test.assertEqual(proc.returncode, -signal.SIGKILL)


def run_rebuild(*args, batch=None, timeout=120):
    cmd, env = rebuild_cmd(*args, batch=batch)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


class Readers:
    """Threads reading views that must never fail, go empty or go back in time: an account only
    receives deposits, the customer's order count is fixed, X-Projection-Position only grows."""

    def __init__(self, account_id, customer_id, orders):
        self.account_id, self.customer_id, self.orders = account_id, customer_id, orders
        self.stop = threading.Event()
        self.errors, self.reads = [], 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop) for _ in range(3)]

    def check(self, q, last):
        acc = q.get("/v1/accounts/" + self.account_id)
        lst = q.get("/v1/orders?customer_id=" + self.customer_id)
        cus = q.get("/v1/customers/" + self.customer_id)
        for r in (acc, lst, cus):
            if r.status != 200:
                return "status %r" % r, last
        pos = max(int(r.headers["X-Projection-Position"]) for r in (acc, lst, cus))
        pos_min = min(int(r.headers["X-Projection-Position"]) for r in (acc, lst, cus))
        if len(lst.body["items"]) != self.orders or cus.body["order_count"] != self.orders:
            return "orders went missing: %r %r" % (lst, cus), last
        if acc.body["balance_cents"] < last[1]:
            return "balance went back from %d: %r" % (last[1], acc), last
        if pos_min < last[0]:
            return "X-Projection-Position went back from %d to %d" % (last[0], pos_min), last
        return None, (pos, acc.body["balance_cents"])

    def loop(self):
        q = harness.query()
        last = (0, 0)
        try:
            while not self.stop.is_set():
                err, last = self.check(q, last)
                with self.lock:
                    self.reads += 1
                    if err:
                        self.errors.append(err)
        finally:
            q.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class RebuildTest(QueryTest):
    def setUp(self):
        super().setUp()
        self.prefix = new_id("rb")[:10] + "-"
        self.acc, self.cust = self.prefix + "acc", self.prefix + "cust"
        self.open_account(self.acc)
        self.orders = [self.prefix + "o%d" % i for i in range(3)]
        for oid in self.orders:
            self.place_order(oid, self.cust)
        self.post_ok("/v1/orders/%s/cancel" % self.orders[0], {"reason": "changed mind"})
        # A log long enough that a rebuild in small batches is still running when looked at.
        self.seed(SEED_EVENTS)
        self.indexes = index_defs()

    def seed(self, n):
        acc = self.prefix + "seeded"
        data = {"account_id": acc, "owner": "seed", "currency": "EUR",
                "overdraft_limit_cents": 0}
        sql("INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
            " VALUES (%s, 1, 'AccountOpened', 1, %s, '{}')"
            % (sql_literal("account-" + acc), sql_literal(json.dumps(data))))
        sql("INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
            " SELECT %s, g + 1, 'FundsDeposited', 1, jsonb_build_object('account_id', %s,"
            " 'amount_cents', g, 'reference', 'seed'), '{}' FROM generate_series(1, %d) g"
            " ORDER BY g" % (sql_literal("account-" + acc), sql_literal(acc), n - 1))
        self.seeded = acc

    def assert_matches_replay(self):
        folded = self.assert_views_match_fold(
            self.prefix, order_ids=self.orders, account_ids=[self.acc, self.seeded])
        r = self.q.get("/v1/customers/" + self.cust)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, customer_summary(folded["orders"], self.cust))
        self.assertEqual(folded["accounts"][self.seeded]["balance_cents"],
                         SEED_EVENTS * (SEED_EVENTS - 1) // 2)
        placed = int(sql_value("SELECT count(DISTINCT stream_id) FROM events "
                               "WHERE type = 'OrderPlaced'"))
        self.assertEqual(int(sql_value("SELECT count(*) FROM rm_orders")), placed)

    def assert_live_tables_sound(self):
        self.assertEqual(sql_value("SELECT to_regnamespace('orderly_rebuild') IS NULL"), "t")
        owners = dict(sql("SELECT tablename, tableowner FROM pg_tables "
                          "WHERE schemaname = 'public'"))
        for t in READ_TABLES + ("projections",):
            self.assertEqual(owners.get(t), "orderly_query", t)
        # The migration's index names survive the swap (a later migration may name them).
        for ix in ("rm_orders_customer", "rm_orders_status", "rm_accounts_owner"):
            self.assertEqual(sql_value("SELECT to_regclass(%s) IS NOT NULL" % sql_literal(ix)),
                             "t", ix)
        # The bulk fill's shortcuts are undone: every index as defined, every table logged.
        self.assertEqual(index_defs(), self.indexes)
        persistence = dict(sql("SELECT relname, relpersistence FROM pg_class WHERE "
                               "relnamespace = 'public'::regnamespace AND relkind = 'r' "
                               "AND relname LIKE 'rm\\_%'"))
        self.assertEqual(persistence, {t: "p" for t in READ_TABLES})

    def test_es_rebuild_while_commands_and_reads_flow(self):
        before = table_oids()
        stop = threading.Event()

        def write():
            c = harness.command()
            try:
                while not stop.is_set():
                    self.assertEqual(c.post("/v1/accounts/%s/deposit" % self.acc,
                                            {"amount_cents": 7}).status, 200)
            finally:
                c.close()

        self.wait_projected(head_position())
        writer = threading.Thread(target=write)
        with Readers(self.acc, self.cust, len(self.orders)) as readers:
            writer.start()
            time.sleep(0.2)
            p = run_rebuild(batch=100)
            time.sleep(0.2)
            reads_during = readers.reads
        stop.set()
        writer.join(30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("swapped in at position", p.stdout)
        self.assertEqual(readers.errors[:5], [])
        self.assertGreater(reads_during, 10)
        after = table_oids()
        for t in READ_TABLES:  # new tables really replaced the old ones
            self.assertNotEqual(after[t], before[t], t)
        self.assert_live_tables_sound()
        self.assertEqual(self.q.get("/v1/projections").body[0]["status"], "running")
        # The live projector carries on after the swap.
        pos = self.deposit(self.acc, 1)["position"]
        self.assertEqual(self.get_fresh("/v1/accounts/" + self.acc, pos).status, 200)
        self.assert_matches_replay()

    def test_es_rebuild_kill_midway_leaves_live_tables(self):
        self.wait_projected(head_position())
        before = table_oids()
        checkpoint = sql_value("SELECT position FROM projections")
        kill_rebuild_once(self, 5, replaying, "replaying")
        self.assertEqual(table_oids(), before)
        self.assertGreaterEqual(int(sql_value("SELECT position FROM projections")),
                                int(checkpoint))
        self.assert_matches_replay()  # live views untouched and still right
        # Its session (and the rebuild lock) ends once the server notices the client is gone.
        self.assertTrue(harness.wait_until(lambda: sql_value(REBUILD_LOCK_HELD) == "0", 10))
        p = run_rebuild("read_model")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotEqual(table_oids()["rm_orders"], before["rm_orders"])
        self.assert_live_tables_sound()
        self.assert_matches_replay()

    def test_es_rebuild_fills_shadow_with_primary_keys_and_indexes_after(self):
        """The fill writes shadow tables with only their primary keys (the batch looks rows up
        by them); the other indexes, unique keyset positions included, are built once, after
        the fill. The tables are logged all along (migrations/0011 says why)."""
        during, returncode, out = self.look_mid_rebuild(shadow_tables)
        self.assertEqual(during["rm_orders"], ("p", ["rm_orders_pkey"]))
        self.assertEqual(during["rm_accounts"], ("p", ["rm_accounts_pkey"]))
        self.assertEqual(returncode, 0, out)
        self.assertIn("shadow tables indexed", out)
        self.assert_live_tables_sound()
        self.assert_matches_replay()

    def test_es_rebuild_calls_the_migrations_functions(self):
        """Its server-side steps are migrations/0009's functions, created once: the shadow
        schema holds tables only, and no rebuild replaces or adds a function."""
        functions = ("SELECT proname, oid FROM pg_proc WHERE pronamespace = "
                     "'public'::regnamespace AND proname LIKE 'rebuild\\_%'")
        in_shadow = ("SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = "
                     "'orderly_rebuild'), (SELECT count(*) FROM pg_proc p JOIN pg_namespace n "
                     "ON n.oid = p.pronamespace WHERE n.nspname = 'orderly_rebuild')")
        before = dict(sql(functions))
        self.assertIn("rebuild_swap_in", before)
        during, returncode, out = self.look_mid_rebuild(lambda: sql(in_shadow))
        self.assertEqual(during, [["1", "0"]])
        self.assertEqual(returncode, 0, out)
        self.assertEqual(dict(sql(functions)), before)
        self.assert_live_tables_sound()
        self.assert_matches_replay()

    def look_mid_rebuild(self, look):
        """Runs a rebuild in small batches and calls look() once it is replaying into the
        shadow tables; returns what look returned, the rebuild's exit code and its output."""
        self.wait_projected(head_position())
        cmd, env = rebuild_cmd(batch=5)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            self.assertTrue(harness.wait_until(replaying, 30, 0.02),
                            "the rebuild never started replaying")
            during = look()
            self.assertIsNone(proc.poll(), "the rebuild finished before it could be looked at")
            out = proc.communicate(timeout=120)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
        return during, proc.returncode, out

    def kill_while_blocked(self, table, lock_first=False):
        """kill -9 while the rebuild waits for a lock on table, then a rebuild that completes.
        lock_first: the lock is taken before the rebuild starts (a live table, which only the
        swap locks against readers); else once it replays (a shadow table), a race a quick
        rebuild can win."""
        self.wait_projected(head_position())
        before = table_oids()
        held = HeldLock(table) if lock_first else None
        cmd, env = rebuild_cmd(batch=50)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            if not held:
                self.assertTrue(harness.wait_until(replaying, 30, 0.02),
                                "the rebuild never started replaying")
                held = HeldLock(table)
            self.assertTrue(harness.wait_until(held.waited_on, 60, 0.02),
                            "the rebuild never waited on %s" % table)
            self.assertIsNone(proc.poll())
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            # Its server session sees the client gone only once the lock is granted; until
            # then the queued request would hold up readers of the table too.
            if held:
                held.release()
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
            proc.stdout.close()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertTrue(harness.wait_until(lambda: sql_value(REBUILD_LOCK_HELD) == "0", 30))
        self.assertEqual(table_oids(), before)
        self.assert_matches_replay()  # live views untouched and still right
        p = run_rebuild()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotEqual(table_oids()["rm_orders"], before["rm_orders"])
        self.assert_live_tables_sound()
        self.assert_matches_replay()

    def test_es_rebuild_kill_while_indexing_leaves_live_tables(self):
        """Blocked in the step after the fill (setting the shadow logged, building indexes)."""
        self.kill_while_blocked("orderly_rebuild.rm_accounts")

    def test_es_rebuild_kill_at_swap_leaves_live_tables(self):
        """Blocked on the live tables' lock: shadow complete, nothing swapped yet. (Taking the
        lock once it replayed lost the race in a CI run: the rebuild swapped first.)"""
        self.kill_while_blocked("public.rm_orders", lock_first=True)

    def test_es_rebuild_unknown_name_is_usage_error(self):
        before = table_oids()
        p = run_rebuild("no_such_projection")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("unknown projection", p.stderr)
        p = run_rebuild("read_model", "extra")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(table_oids(), before)

    def test_es_view_documents_migration_rebuilds_existing_rows(self):
        """0007 (view documents) on a database whose read rows predate documents: the read
        model is emptied and rebuilt from the log, so every GET serves the same bytes as before,
        each row has its document, and the customer and revenue deltas are not counted twice."""
        self.wait_projected(head_position())
        paths = (["/v1/orders/" + o for o in self.orders] +
                 ["/v1/accounts/" + self.acc, "/v1/accounts/" + self.seeded,
                  "/v1/customers/" + self.cust, "/v1/orders?customer_id=" + self.cust])
        before = {p: self.q.get(p) for p in paths}
        for p, r in before.items():
            self.assertEqual(r.status, 200, "%s: %r" % (p, r))
        svc = harness.env().service("query")
        svc.stop()
        try:
            sql("BEGIN; ALTER TABLE rm_orders DROP COLUMN doc; "
                "ALTER TABLE rm_accounts DROP COLUMN doc; "
                "DELETE FROM schema_migrations WHERE version LIKE '0007%'; COMMIT")
            harness.env().migrate()
        finally:
            svc.start(ready=True)
        self.q.close()
        self.q = harness.query()
        self.wait_projected(head_position())
        for p, r in before.items():
            self.assertEqual(self.q.get(p).raw, r.raw, p)
        self.assert_matches_replay()

    def test_es_missing_checkpoint_builds_from_zero(self):
        """A projection added by a later release has no row yet: the service creates it at 0
        and builds the tables from the whole log. Shown with read_model, reset by hand."""
        self.wait_projected(head_position())
        sql("BEGIN; DELETE FROM projections WHERE name = 'read_model'; TRUNCATE %s; COMMIT"
            % ", ".join(READ_TABLES))
        self.assertEqual(sql_value("SELECT count(*) FROM rm_orders"), "0")
        # The leader notices on its next batch (its checkpoint update finds no row).
        pos = self.deposit(self.acc, 3)["position"]
        self.assertEqual(self.get_fresh("/v1/accounts/" + self.acc, pos, 20000).status, 200)
        self.assertEqual(sql_value("SELECT status FROM projections WHERE name = 'read_model'"),
                         "running")
        self.assert_matches_replay()
