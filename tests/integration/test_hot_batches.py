"""Batches on a hot stream (issue 15): the holder of a stream's turn decides the commands waiting
behind it in order of arrival over one loaded state and appends them in one statement. Each
answer is the one that command gets alone at its place in the stream: a refused withdrawal in
the middle of a run, a stale If-Match, keys replayed byte for byte. Each test runs its own
command-service so its /metrics count only its own batches."""

import threading

import harness
from harness import new_id
from cmd_support import CommandTest, account_balance_history, run_concurrently, stream_events
from db_support import Session, metric
from fault_support import private_command_service

BATCH_COUNT = "orderly_command_batch_size_count"
BATCH_SUM = "orderly_command_batch_size_sum"
ALONE = 'orderly_command_batch_size_bucket{le="1"}'
WAITING = "orderly_stream_queue_waiting"
STALE = 'orderly_command_retries_total{cause="stale_state"}'


def last_position():
    """The events sequence's last value: a position taken by an append that wrote nothing
    would show as a gap."""
    return int(harness.sql_value("SELECT last_value FROM events_position_seq"))


def metric_soon(port, name, wait_s=1.0):
    """metric(), or None when its connection was accepted by a worker thread that a queued
    command occupies (libmicrohttpd accepts several connections per thread at once): that
    request is answered once the queue moves, and a later call lands elsewhere."""
    box = []

    def read():
        try:
            box.append(metric(port, name))
        except OSError:
            pass

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(wait_s)
    return box[0] if box else None


def batches(port):
    """(batches, commands in them, batches of one) so far."""
    values = tuple(metric(port, name) for name in (BATCH_COUNT, BATCH_SUM, ALONE))
    if None in values:
        raise AssertionError("/metrics has no orderly_command_batch_size histogram")
    return values


class BlockedAppendTest(CommandTest):
    """A command-service of the test's own (SERVICE, with EXTRA_ENV), so its /metrics count only
    the test's commands, with long lock and write bounds: a first command waits on a table lock
    the test holds while others queue behind it."""
    SERVICE, EXTRA_ENV = "command-batch", {}

    def setUp(self):
        super().setUp()
        self.svc = private_command_service(self.SERVICE, DB_LOCK_TIMEOUT_MS=120000,
                                           DB_COMMIT_TIMEOUT_MS=120000, **self.EXTRA_ENV)
        self.port = self.svc.port

    def tearDown(self):
        self.svc.stop()
        super().tearDown()

    def post_to(self, path, body, headers=None):
        c = harness.Client(self.port, timeout=60)
        try:
            return c.post(path, body, headers=headers or {})
        finally:
            c.close()


class HotBatchTest(BlockedAppendTest):

    def queue_behind(self, calls):
        """Starts calls one by one, each once the one before waits for the stream's turn, so
        their order of arrival is the order of calls. Returns (threads, results)."""
        results = [None] * len(calls)
        threads = []
        for i, call in enumerate(calls):
            def run(i=i, call=call):
                try:
                    results[i] = call()
                except BaseException as e:  # reported by the caller's assertions
                    results[i] = e
            threads.append(threading.Thread(target=run))
            threads[-1].start()
            self.assertTrue(harness.wait_until(
                lambda: metric_soon(self.port, WAITING) == i + 1, 60, 0.005),
                "command %d never queued for its turn" % i)
        return threads, results

    def start_holder(self, path, body):
        """Starts the first command; returns once its append waits on the events lock."""
        results = []
        t = threading.Thread(target=lambda: results.append(self.post_to(path, body)))
        t.start()
        self.assertTrue(harness.wait_until(lambda: harness.sql_value(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
            "'events'::regclass") == "1", 60, 0.01), "the holder never reached its append")
        return [t], results

    def run_plan(self, account, plan):
        """plan: (kind, amount, headers) per command, on one account, one at a time."""
        return [self.post_to("/v1/accounts/%s/%s" % (account, kind), {"amount_cents": amount},
                             headers) for kind, amount, headers in plan]

    def batch_behind_holder(self, account, plan):
        """A deposit of 100 that holds the account's turn while it waits on a lock the test
        holds on events, and plan's (kind, body, headers) queued behind it in that order: the
        holder appends alone, then the next takes the rest into one batch. Returns the
        holder's answer and the plan's."""
        lock = Session(harness.env().cluster.url, harness.env().cluster.bindir)
        try:
            self.assertIsNotNone(lock.run("BEGIN; LOCK TABLE events IN SHARE MODE"))
            holder_threads, holder = self.start_holder("/v1/accounts/%s/deposit" % account,
                                                        {"amount_cents": 100})
            threads, results = self.queue_behind([
                (lambda kind=kind, body=body, h=h: self.post_to(
                    "/v1/accounts/%s/%s" % (account, kind), body, h))
                for kind, body, h in plan])
        finally:
            lock.run("COMMIT")
            lock.close()
        for t in holder_threads + threads:
            t.join(60)
        return holder[0], results

    def test_stale_hot_state_is_never_trusted(self):
        """After a batch the service keeps the stream's state for the next one. Another writer
        (here the shared service) makes it stale: a deposit decided over it proposes a taken
        version, writes nothing (no position taken: no gap) and is decided again from a load; a
        withdrawal it would refuse is decided again from a load and accepted."""
        account = self.open_account(balance=1000)  # v1, v2
        deposit = ("deposit", {"amount_cents": 1}, {})
        for stale_write, command, version, status in [
                (5, ("deposit", {"amount_cents": 7}), 7, 200),  # batch to v5, other writer v6
                (5000, ("withdraw", {"amount_cents": 6000}), 12, 200)]:
            holder, results = self.batch_behind_holder(account, [deposit, deposit])
            self.assertEqual([r.status for r in [holder] + results], [200] * 3)
            self.deposit(account, stale_write)  # through the shared service
            before, seq = metric(self.port, STALE), last_position()
            r = self.post_to("/v1/accounts/%s/%s" % (account, command[0]), command[1])
            self.assertEqual((r.status, r.body.get("version")), (status, version), r)
            if command[0] == "deposit":
                self.assertEqual(metric(self.port, STALE), before + 1,
                                 "the kept state was not used (or not found stale)")
                self.assertEqual(last_position(), seq + 1, "the stale append took a position")
        history = account_balance_history(account)
        self.assertEqual(history[-1], 1000 + 102 + 5 + 7 + 102 + 5000 - 6000)
        self.assertEqual(len(history), 12)

    def test_lone_commands_use_the_kept_state_until_another_writer_shows_up(self):
        """A command alone on its stream decides over the state the last one left (one round
        trip, no load). Each stale state has the stream's next batches load, twice as many as
        the last time (1, 2, 4, ...; STREAM_CACHE_STALE_LOADS), so a writer taking turns with
        this service soon costs no stale states, and a one-off write only one load."""
        account = self.open_account(balance=1000)  # v1, v2
        r = self.post_to("/v1/accounts/%s/deposit" % account, {"amount_cents": 1})  # v3, kept
        self.assertEqual(r.status, 200, r)
        before = metric(self.port, STALE)
        for i in range(6):
            self.deposit(account, 10)  # the shared service: v4, v6, ...
            seq = last_position()
            r = self.post_to("/v1/accounts/%s/withdraw" % account, {"amount_cents": 1})
            self.assertEqual((r.status, r.body.get("version")), (200, 5 + 2 * i), r)
            self.assertEqual(last_position(), seq + 1, "a stale append took a position")
        # Decided over a stale kept state: rounds 0, 2 (after 1 load) and 5 (after 2 loads).
        self.assertEqual(metric(self.port, STALE), before + 3)
        history = account_balance_history(account)
        self.assertEqual(history[-1], 1000 + 1 + 6 * (10 - 1))

    def test_transfers_decide_over_kept_states(self):
        """TransferFunds starts from the states its two accounts' last commands here left. One
        another writer made stale: the transfer writes nothing (no position taken) and is
        decided again from a load. A refusal over kept states (insufficient funds another
        writer has just mended) is decided again from a load, and accepted."""
        src, dst, dst2 = self.open_account(balance=100), self.open_account(), self.open_account()

        def here(path, body):
            r = self.post_to(path, body)
            self.assertIn(r.status, (200, 201), r)
            return r.body

        def transfer(to, cents):
            return self.post_to("/v1/transfers", {"from_account_id": src, "to_account_id": to,
                                                  "amount_cents": cents})

        for account in (src, dst, dst2):  # each account's state is kept here
            here("/v1/accounts/%s/deposit" % account, {"amount_cents": 1})
        self.deposit(dst, 5)  # the shared service: dst's kept state is stale
        before, seq = metric(self.port, STALE), last_position()
        r = transfer(dst, 50)
        self.assertEqual(r.status, 201, r)
        self.assertEqual([e["version"] for e in r.body["events"]], [4, 4], r.body)
        self.assertEqual(metric(self.port, STALE), before + 1, "the kept states were not used")
        self.assertEqual(last_position(), seq + 2, "the stale append took a position")
        self.deposit(src, 100)  # the shared service: src holds 151, its kept state says 51
        r = transfer(dst2, 120)
        self.assertEqual(r.status, 201, r)
        self.assertEqual([e["version"] for e in r.body["events"]], [6, 3], r.body)
        r = transfer(dst2, 40)  # over the states the last transfer left: 31 is too little
        self.assertEqual((r.status, r.body["type"]), (409, harness.PROBLEM_BASE +
                                                      "insufficient-funds"), r)
        self.assertEqual([account_balance_history(a)[-1] for a in (src, dst, dst2)],
                         [31, 56, 121])

    def test_orders_decide_over_kept_states(self):
        """PlaceOrder keeps the order it created; PayOrder and ShipOrder start from the kept
        states of their streams. One another writer made stale writes nothing and is decided
        again from a load; the fresh ones cost no load."""
        account = self.open_account(balance=10000)  # the shared service: v1, v2
        here = self.post_to("/v1/accounts/%s/deposit" % account, {"amount_cents": 1})  # v3
        self.assertEqual(here.status, 200, here)
        order_id = new_id("ord-")
        r = self.post_to("/v1/orders", {"order_id": order_id, "customer_id": new_id("cust-"),
                                        "currency": "EUR", "items": [
                                            {"sku": "s", "quantity": 2, "unit_price_cents": 1250}]})
        self.assertEqual(r.status, 201, r)
        self.deposit(account, 5)  # the shared service: v4; the account's kept state is stale
        before, seq = metric(self.port, STALE), last_position()
        r = self.post_to("/v1/orders/%s/pay" % order_id, {"account_id": account,
                                                         "amount_cents": 2500})
        self.assertEqual((r.status, [e["version"] for e in r.body["events"]]), (200, [2, 5]), r)
        self.assertEqual(metric(self.port, STALE), before + 1, "the kept states were not used")
        self.assertEqual(last_position(), seq + 2, "the stale append took a position")
        r = self.post_to("/v1/orders/%s/ship" % order_id, {"carrier": "c", "tracking_number": "t"})
        self.assertEqual((r.status, [e["version"] for e in r.body["events"]]), (200, [3]), r)
        self.assertEqual(metric(self.port, STALE), before + 1)
        self.assertEqual(account_balance_history(account)[-1], 10000 + 1 + 5 - 2500)
        self.assertEqual([e["type"] for e in stream_events("order-" + order_id)],
                         ["OrderPlaced", "OrderPaid", "OrderShipped"])

    def test_mixed_batch_answers_as_if_alone(self):
        batched, alone = self.open_account(balance=1000), self.open_account(balance=1000)
        # versions: opened 1, deposit 2; the holder's deposit makes 3. Then, in this order:
        plan = [("withdraw", 600, {}),                          # 400 left, v4
                ("withdraw", 500, {"Idempotency-Key": "k1"}),   # refused: insufficient funds
                ("deposit", 50, {"If-Match": '"4"'}),           # at v4: ok, v5
                ("withdraw", 300, {"Idempotency-Key": "k2"}),   # 150 left, v6
                ("deposit", 10, {"If-Match": '"4"'}),           # stale: 412
                ("withdraw", 200, {}),                          # refused
                ("withdraw", 150, {"Idempotency-Key": "k3"}),   # 0 left, v7
                ("deposit", 1, {})]                             # v8
        keyed = lambda who, h: {k: (who + v if k == "Idempotency-Key" else v)
                                for k, v in h.items()}
        before = batches(self.port)
        holder, results = self.batch_behind_holder(batched, [
            (kind, {"amount_cents": amount}, keyed(batched, h)) for kind, amount, h in plan])
        self.assertEqual(holder.status, 200, holder)
        after = batches(self.port)
        self.assertEqual((after[0] - before[0], after[1] - before[1]),
                         (2, 1 + len(plan)), "the holder alone, then one batch of the rest")
        # The same commands, alone and in the same order, on an account in the same state.
        self.deposit(alone, 100)
        solo = self.run_plan(alone, [(k, a, keyed(alone, h)) for k, a, h in plan])
        events = {e["stream_version"]: e for e in stream_events("account-" + batched)}
        for (kind, amount, h), got, want in zip(plan, results, solo):
            self.assert_same_answer(got, want, batched, alone, events)
        self.assertEqual(account_balance_history(batched), account_balance_history(alone))
        for (kind, amount, h), got in zip(plan, results):
            if "Idempotency-Key" in h:  # the stored answer is the one given
                again = self.post_to("/v1/accounts/%s/%s" % (batched, kind),
                                     {"amount_cents": amount}, keyed(batched, h))
                self.assertEqual((again.status, again.raw), (got.status, got.raw))
                self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")

    def assert_same_answer(self, got, want, batched, alone, events):
        self.assertEqual(got.status, want.status, (got, want))
        self.assertEqual(got.headers.get("Content-Type"), want.headers.get("Content-Type"))
        self.assertEqual(got.headers.get("ETag"), want.headers.get("ETag"), (got, want))
        self.assertEqual(got.headers.get("Location"), want.headers.get("Location"))
        if got.status != 200:
            self.assertEqual(got.raw.decode(), want.raw.decode().replace(alone, batched))
            return
        e = events[got.body["version"]]
        # Byte for byte what a lone command's append renders, at this event's position.
        expected = ('{"stream_id":"account-%s","id":"%s","version":%d,"position":%d,'
                    '"events":[{"type":"%s","stream_id":"account-%s","version":%d,'
                    '"position":%d}]}' % (batched, batched, e["stream_version"], e["position"],
                                          e["type"], batched, e["stream_version"],
                                          e["position"]))
        self.assertEqual(got.raw.decode(), expected)
        self.assertEqual(want.body["version"], got.body["version"])

    def test_concurrent_clients_on_hot_accounts_form_batches(self):
        """Clients that each send a run of keyed commands to three accounts (deposits and
        withdrawals, which batch, and transfers between them, which do not): batches of more
        than one form, each client's answers on a stream come in that stream's order of events,
        every success is its own events and each balance is the fold of the successes."""
        accounts = [self.open_account(balance=5000) for _ in range(3)]
        clients, per_client = 24, 6
        before = batches(self.port)

        def command(i, j):
            a = accounts[i % 3]
            amount = 1000 + 10 * (i * per_client + j)
            if j % 4 == 3:
                return "/v1/transfers", {"from_account_id": a, "amount_cents": amount,
                                         "to_account_id": accounts[(i + 1) % 3]}
            kind = "withdraw" if (i + j) % 3 == 0 else "deposit"
            return "/v1/accounts/%s/%s" % (a, kind), {"amount_cents": amount + 1}

        def client(i):
            out = []
            for j in range(per_client):
                path, body = command(i, j)
                out.append((path, body, self.post_to(
                    path, body, {"Idempotency-Key": "%s-%d-%d" % (accounts[0], i, j)})))
            return out

        results = run_concurrently(clients, client)
        self.assertEqual([r for r in results if isinstance(r, BaseException)], [])
        after = batches(self.port)
        self.assertGreater((after[0] - before[0]) - (after[2] - before[2]), 0,
                           "%d clients on three accounts never formed a batch of two" % clients)
        events = {}
        for a in accounts:
            stream = stream_events("account-" + a)
            self.assertEqual([e["stream_version"] for e in stream], list(range(1, len(stream) + 1)))
            events.update({(e["stream_id"], e["stream_version"]): e for e in stream})
        balance = {a: 5000 for a in accounts}
        for runs in results:
            seen = {}  # stream -> versions this client saw, in the order it saw them
            for path, body, r in runs:
                if r.status == 409:
                    self.assert_problem(r, 409, "insufficient-funds")
                    continue
                self.assertIn(r.status, (200, 201), r)
                for ev in r.body["events"]:
                    e = events[(ev["stream_id"], ev["version"])]
                    self.assertEqual((e["position"], e["data"]["amount_cents"]),
                                     (ev["position"], body["amount_cents"]))
                    seen.setdefault(ev["stream_id"], []).append(ev["version"])
                    a = ev["stream_id"][len("account-"):]
                    credit = e["type"] in ("FundsDeposited", "TransferReceived")
                    balance[a] += body["amount_cents"] * (1 if credit else -1)
            for stream, versions in seen.items():
                self.assertEqual(versions, sorted(versions), "answers out of order on " + stream)
        for a in accounts:
            history = account_balance_history(a)
            self.assertGreaterEqual(min(history), 0)
            self.assertEqual(history[-1], balance[a])
        keys = harness.sql_value("SELECT count(*) FROM idempotency_keys WHERE key LIKE %s"
                                 % harness.sql_literal(accounts[0] + "-%"))
        self.assertEqual(int(keys), clients * per_client, "a command's key row is missing")


if __name__ == "__main__":
    import unittest
    unittest.main()
