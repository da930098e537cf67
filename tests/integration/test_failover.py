"""Failover with zero acknowledged loss (issue 14 item 2). A primary with one synchronous
standby; both services on a multi-host DATABASE_URL with target_session_attrs=read-write.
kill -9 of the primary under keyed, retrying clients, then pg_ctl promote: every command ever
answered 2xx is in the new primary's events exactly once, writes resume within 10 s, the
projector follows. The synchronous standby lost: commands answer 503 with Retry-After within
their deadline and none is acknowledged; the standby back: they succeed again, no restart."""

import random
import threading
import time

# Its own shard: this module kills and promotes servers of its own environment.
RUN_ALONE = True

import harness  # noqa: E402
import orderly_env  # noqa: E402
from harness import Client, new_id  # noqa: E402
from query_support import QueryTest  # noqa: E402

CLIENTS = 6
ACCOUNTS = 4
COMMAND_DEADLINE_S = 60  # a client retries one command (same key) at most this long
RESUME_LIMIT_S = 10
COMMIT_TIMEOUT_MS = 2000  # the services' DB_COMMIT_TIMEOUT_MS here
ACKS_BEFORE_KILL = 40
ACKS_AFTER_PROMOTION = 40


class FailoverEnvironment(orderly_env.Environment):
    """Primary + synchronous standby; services connect through both hosts. After a failover
    `cluster` is the new primary and `dead` holds the old one's cluster, for cleanup."""

    def __init__(self):
        super().__init__(read_standby=False)
        self.sync_standby = None
        self.hosts = []
        self.dead = []

    def start(self):
        super().start()
        self.add_sync_standby()
        self.hosts = [self.cluster, self.sync_standby]
        return self

    def add_sync_standby(self):
        self.sync_standby = self.cluster.start_standby(new_id("sync").replace("-", "_"))
        self.cluster.make_synchronous(self.sync_standby)

    def service_env(self):
        env = super().service_env()
        if self.hosts:
            env["DATABASE_URL"] = orderly_env.multi_host_url(*self.hosts)
        env["DB_COMMIT_TIMEOUT_MS"] = str(COMMIT_TIMEOUT_MS)
        return env

    def destroy(self):
        super().destroy()
        for c in self.dead + ([self.sync_standby] if self.sync_standby else []):
            c.destroy()


def setUpModule():
    # This module's environment is the process's environment (harness.sql and the clients use
    # it): the shard runs this module alone.
    e = FailoverEnvironment()
    harness.last_run_dir = e.run_dir
    try:
        e.start()
    except BaseException:
        e.destroy()
        raise
    harness._env = e


def env():
    return harness.env()


class Load:
    """CLIENTS threads sending keyed commands, each retried with the same key on 503 or a
    connection error until it is answered or COMMAND_DEADLINE_S passes."""

    def __init__(self, accounts, prefix):
        self.accounts, self.prefix = accounts, prefix
        self.acked = []  # (monotonic time answered, key, path, body sent, response body)
        self.gave_up = []
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def count(self):
        with self.lock:
            return len(self.acked)

    def command(self, rng, n, i):
        key = "%s-c%d-%d" % (self.prefix, i, n)
        if rng.random() < 0.6:
            acc = rng.choice(self.accounts)
            return key, "/v1/accounts/%s/deposit" % acc, {"amount_cents": rng.randint(1, 500)}
        return key, "/v1/orders", {"order_id": "%s-o%d-%d" % (self.prefix, i, n),
                                   "customer_id": self.prefix + "-cust", "currency": "EUR",
                                   "items": [{"sku": "SKU-1", "quantity": 1,
                                              "unit_price_cents": 700}]}

    def send(self, client, key, path, body):
        headers = {"Idempotency-Key": key, "X-Causation-ID": key}
        deadline = time.monotonic() + COMMAND_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                r = client.post(path, body, headers=headers)
            except OSError:
                client.close()
                time.sleep(0.05)
                continue
            if r.status == 503:
                time.sleep(0.05)
                continue
            return r
        return None

    def run(self, i):
        rng = random.Random(i)
        client = Client(env().service("command").port, timeout=COMMAND_DEADLINE_S)
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                key, path, body = self.command(rng, n, i)
                r = self.send(client, key, path, body)
                with self.lock:
                    if r is None:
                        self.gave_up.append(key)
                    elif r.status in (200, 201):
                        self.acked.append((time.monotonic(), key, path, body, r.body))
                    else:
                        self.errors.append((key, r.status, r.raw[:300]))
        finally:
            client.close()


class FailoverTest(QueryTest):
    def setUp(self):
        super().setUp()
        self.prefix = new_id("fo")

    def open_accounts(self):
        ids = ["%s-a%d" % (self.prefix, i) for i in range(ACCOUNTS)]
        for acc in ids:
            self.open_account(acc)
        return ids

    def wait_acks(self, load, n, what):
        self.assertTrue(harness.wait_until(lambda: load.count() >= n or load.errors,
                                           harness.READY_TIMEOUT_S, 0.02),
                        "only %d commands answered %s" % (load.count(), what))
        self.assertEqual(load.errors, [])

    def test_kill_primary_promote_standby_loses_no_acknowledged_command(self):
        e = env()
        accounts = self.open_accounts()
        e.service("query")  # the projector leads on the primary before the kill
        load = Load(accounts, self.prefix)
        load.start()
        try:
            self.wait_acks(load, ACKS_BEFORE_KILL, "before the kill")
            old, new = e.cluster, e.sync_standby
            old.kill_postmaster()
            killed_at = time.monotonic()
            new.promote()  # pg_ctl -w notices the promotion up to 0.1 s after it happened
            promoted_at = time.monotonic()
            e.cluster, e.sync_standby, e.dead = new, None, e.dead + [old]
            self.wait_acks(load, load.count() + ACKS_AFTER_PROMOTION, "after the promotion")
        finally:
            load.finish()
        self.assertEqual((load.errors, load.gave_up), ([], []))
        first_after = min(t for t, *_ in load.acked if t > killed_at)
        resumed_s = first_after - promoted_at
        print("\nfailover: first write acknowledged %.2f s after the kill, %.2f s after pg_ctl "
              "promote returned (kill -> promoted %.2f s); %d commands acknowledged" % (
                  first_after - killed_at, resumed_s, promoted_at - killed_at, len(load.acked)),
              flush=True)
        self.assertLess(resumed_s, RESUME_LIMIT_S)
        self.assert_each_acknowledged_once(load)
        self.assert_balances(load, accounts)
        orders = [b["order_id"] for _, _, p, b, _ in load.acked if p == "/v1/orders"]
        self.assert_views_match_fold(self.prefix, order_ids=orders, account_ids=accounts)

    def assert_each_acknowledged_once(self, load):
        rows = harness.sql("SELECT metadata->>'causation_id', count(*) FROM events "
                           "WHERE metadata->>'causation_id' LIKE %s GROUP BY 1"
                           % harness.sql_literal(self.prefix + "-c%"))
        stored = {key: int(n) for key, n in rows}
        for _, key, path, _, body in load.acked:
            self.assertEqual(stored.get(key), len(body["events"]),
                             "%s %s acknowledged %r" % (key, path, body))

    def assert_balances(self, load, accounts):
        want = {acc: 0 for acc in accounts}
        for _, _, path, body, _ in load.acked:
            if path.endswith("/deposit"):
                want[path.split("/")[3]] += body["amount_cents"]
        position = int(harness.sql_value("SELECT max(position) FROM events"))
        for acc in accounts:
            r = self.get_fresh("/v1/accounts/" + acc, position)
            self.assertEqual((r.status, r.body["balance_cents"]), (200, want[acc]), acc)


class SyncStandbyLostTest(QueryTest):
    """The only synchronous standby stopped: a commit cannot reach two machines, so commands
    answer 503 with Retry-After at their deadline and nothing is acknowledged, not even a
    retry whose first attempt committed on the primary alone."""

    ANSWER_WITHIN_S = COMMIT_TIMEOUT_MS / 1000.0 + 10  # slack for a loaded machine

    def setUp(self):
        super().setUp()
        e = env()
        if e.sync_standby is None:  # the failover test promoted it
            e.add_sync_standby()
        self.standby = e.sync_standby
        self.cmd.close()
        self.cmd = Client(e.service("command").port, timeout=3 * self.ANSWER_WITHIN_S)

    def deposit_keyed(self, acc, key, amount):
        t0 = time.monotonic()
        r = self.cmd.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": amount},
                          headers={"Idempotency-Key": key, "X-Causation-ID": key})
        return r, time.monotonic() - t0

    def assert_unavailable(self, acc, key, amount):
        r, seconds = self.deposit_keyed(acc, key, amount)
        self.assert_problem(r, 503, "db-unavailable")
        self.assertIn("Retry-After", r.headers)
        self.assertLess(seconds, self.ANSWER_WITHIN_S, r)

    def stored(self, key):
        return int(harness.sql_value("SELECT count(*) FROM events WHERE metadata->>'causation_id'"
                                     " = %s" % harness.sql_literal(key)))

    def test_commands_answer_503_while_the_sync_standby_is_down_and_succeed_after(self):
        acc = new_id("sl")
        self.open_account(acc)
        self.standby.stop_server("fast")
        try:
            first, second = new_id("k1"), new_id("k2")
            self.assert_unavailable(acc, first, 100)
            # The first attempt committed on the primary alone: its retry must not replay it
            # as a 2xx while it is on one machine.
            self.assert_unavailable(acc, first, 100)
            self.assert_unavailable(acc, second, 20)
        finally:
            self.standby.start_server()
        env().cluster.wait_streaming(self.standby.name)

        def acknowledged(key, amount):
            r = self.deposit_keyed(acc, key, amount)[0]
            return r if r.status == 200 else None
        for key, amount in ((first, 100), (second, 20), (new_id("k3"), 3)):
            r = harness.wait_until(lambda: acknowledged(key, amount), harness.READY_TIMEOUT_S)
            self.assertTrue(r, "%s not acknowledged after the standby came back" % key)
            self.assertEqual(self.stored(key), 1, key)
        position = int(harness.sql_value("SELECT max(position) FROM events"))
        r = self.get_fresh("/v1/accounts/" + acc, position)
        self.assertEqual((r.status, r.body["balance_cents"]), (200, 123), r)


class CommitTimeoutConfigTest(QueryTest):
    def test_bad_commit_timeout_exits_2_with_one_line(self):
        from ops_support import run_binary
        for value in ("abc", "0", "-5", "1e3", "99999999"):
            with self.subTest(value=value):
                p = run_binary("command", env_overrides={
                    "DB_COMMIT_TIMEOUT_MS": value, "PORT": str(harness.free_port())}, timeout=30)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                lines = [line for line in p.stderr.splitlines() if line.strip()]
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertIn("DB_COMMIT_TIMEOUT_MS", lines[0])
