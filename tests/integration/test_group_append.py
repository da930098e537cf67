"""Group append (issue 15): commands on different streams (and hot streams' batches) that find
every append slot busy (APPEND_GROUPS) wait and share one statement and commit. Each answer is the one the command
gets alone: its own body at its own position, Location, ETag, a key's stored answer; a group the
database refuses as a whole (one member's stream exists, one member's key is stored) falls back
to each member alone, so a neighbour's conflict never fails a command. Each test runs its own
command-service with one append slot, so a command queued behind a blocked append waits."""

import threading

import harness
from cmd_support import account_balance_history, new_id, stream_events
from db_support import Session, metric
from test_hot_batches import BlockedAppendTest, metric_soon

GROUPS = "orderly_command_append_group_size_count"
GROUPED = "orderly_command_append_group_size_sum"
WAITING = "orderly_command_append_waiting"


def groups(port):
    """(appends, commands they carried) so far."""
    values = (metric(port, GROUPS), metric(port, GROUPED))
    if None in values:
        raise AssertionError("/metrics has no orderly_command_append_group_size histogram")
    return values


def order_body(order_id=None):
    body = {"customer_id": new_id("cust-"), "currency": "EUR",
            "items": [{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}]}
    if order_id:
        body["order_id"] = order_id
    return body


class GroupAppendTest(BlockedAppendTest):
    # One append in flight, so a command behind the blocked one waits for the slot.
    SERVICE, EXTRA_ENV = "command-group", {"APPEND_GROUPS": 1, "DB_POOL_SIZE": 16}

    def start(self, call, results, i):
        def run():
            try:
                results[i] = call()
            except BaseException as e:  # reported by the caller's assertions
                results[i] = e
        t = threading.Thread(target=run)
        t.start()
        return t

    def group_behind_blocked_append(self, plan):
        """A PlaceOrder whose append waits on a lock the test holds on events, and plan's
        (path, body, headers) queued for the append slot behind it in that order: the first
        appends alone, then the next free leader takes the rest as one group. Returns the
        plan's answers."""
        lock = Session(harness.env().cluster.url, harness.env().cluster.bindir)
        results = [None] * (len(plan) + 1)
        try:
            self.assertIsNotNone(lock.run("BEGIN; LOCK TABLE events IN SHARE MODE"))
            threads = [self.start(lambda: self.post_to("/v1/orders", order_body()), results, 0)]
            self.assertTrue(harness.wait_until(lambda: harness.sql_value(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                "'events'::regclass") == "1", 60, 0.01), "the first append never started")
            for i, (path, body, h) in enumerate(plan):
                threads.append(self.start(lambda p=path, b=body, h=h: self.post_to(p, b, h),
                                          results, i + 1))
                self.assertTrue(harness.wait_until(
                    lambda: metric_soon(self.port, WAITING) == i + 1, 60, 0.005),
                    "command %d never queued for the append slot" % i)
        finally:
            lock.run("COMMIT")
            lock.close()
        for t in threads:
            t.join(60)
        self.assertEqual(results[0].status, 201, results[0])
        return results[1:]

    def assert_own_body(self, r, stream_id, aggregate_id):
        """Byte for byte what a lone command's append renders, listing the events stored at the
        positions it names: its own, on its own streams."""
        positions = [e["position"] for e in r.body["events"]]
        rows = harness.sql_json(
            "SELECT json_agg(json_build_array(type, stream_id, stream_version, position) "
            "ORDER BY position) FROM events WHERE position IN (%s)"
            % ",".join(str(p) for p in positions))
        self.assertEqual([row[3] for row in rows], positions)
        version = max(row[2] for row in rows if row[1] == stream_id)
        listed = ",".join('{"type":"%s","stream_id":"%s","version":%d,"position":%d}' % tuple(row)
                          for row in rows)
        expected = '{"stream_id":"%s","id":"%s","version":%d,"position":%d,"events":[%s]}' % (
            stream_id, aggregate_id, version, positions[-1], listed)
        self.assertEqual(r.raw.decode(), expected)
        self.assertEqual(r.headers.get("ETag"), '"%d"' % version)

    def test_a_group_answers_each_command_as_if_alone(self):
        payer = self.open_account(balance=100000)
        to_pay, total = self.place_order()
        source, target = self.open_account(balance=5000), self.open_account()
        other = self.open_account()
        ids = [new_id("ord-") for _ in range(3)]
        plan = [("/v1/orders", order_body(ids[0]), {}),
                ("/v1/orders", order_body(ids[1]), {"Idempotency-Key": new_id("k-")}),
                ("/v1/orders/%s/pay" % to_pay, {"account_id": payer, "amount_cents": total}, {}),
                ("/v1/transfers", {"from_account_id": source, "to_account_id": target,
                                   "amount_cents": 1234}, {}),
                ("/v1/orders", order_body(ids[2]), {}),
                ("/v1/accounts/%s/deposit" % other, {"amount_cents": 5}, {})]
        before = groups(self.port)
        results = self.group_behind_blocked_append(plan)
        after = groups(self.port)
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (2, 1 + len(plan)),
                         "the first alone, then one group of the rest")
        for order_id, r in zip(ids[:2], results[:2]):
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.headers.get("Location"), "/v1/orders/" + order_id)
            self.assert_own_body(r, "order-" + order_id, order_id)
        self.assertEqual(results[2].status, 200, results[2])
        self.assert_own_body(results[2], "order-" + to_pay, to_pay)
        self.assertEqual(results[3].status, 201, results[3])
        self.assertEqual(results[3].headers.get("Location"), "/v1/accounts/" + source)
        self.assert_own_body(results[3], "account-" + source, results[3].body["id"])
        self.assert_own_body(results[4], "order-" + ids[2], ids[2])
        self.assertEqual(results[5].status, 200, results[5])  # a hot stream's batch of one
        self.assert_own_body(results[5], "account-" + other, other)
        # One commit: the group's events are consecutive positions.
        positions = sorted(e["position"] for r in results for e in r.body["events"])
        self.assertEqual(positions, list(range(positions[0], positions[0] + len(positions))))
        again = self.post_to(*plan[1])
        self.assertEqual((again.status, again.raw), (results[1].status, results[1].raw))
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(account_balance_history(payer)[-1], 100000 - total)
        self.assertEqual(account_balance_history(target)[1:], [1234])

    def test_a_refused_group_falls_back_to_each_alone(self):
        """One member's stream exists and another's key is stored: the statement is refused as
        a whole, nothing of it written; alone, each gets its own answer."""
        taken, _ = self.place_order()
        key, keyed = new_id("k-"), order_body()
        first = self.post_to("/v1/orders", keyed, {"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        fresh = [new_id("ord-") for _ in range(3)]
        plan = [("/v1/orders", order_body(fresh[0]), {}),
                ("/v1/orders", order_body(taken), {}),
                ("/v1/orders", order_body(fresh[1]), {}),
                ("/v1/orders", keyed, {"Idempotency-Key": key}),
                ("/v1/orders", order_body(fresh[2]), {})]
        retries = 'orderly_command_retries_total{cause="stream_exists"}'
        before = metric(self.port, retries)
        results = self.group_behind_blocked_append(plan)
        self.assertEqual([r.status for r in results], [201, 409, 201, 201, 201], results)
        self.assertEqual(metric(self.port, retries), before + 1,
                         "only the member whose stream exists was decided again")
        self.assertEqual(results[1].body.get("type", "").rsplit("/", 1)[-1], "already-exists",
                         results[1])
        self.assertEqual((results[3].raw, results[3].headers.get("Idempotent-Replayed")),
                         (first.raw, "true"))
        for order_id, r in zip(fresh, (results[0], results[2], results[4])):
            self.assertEqual(len(stream_events("order-" + order_id)), 1)
            self.assert_own_body(r, "order-" + order_id, order_id)
        self.assertEqual(len(stream_events("order-" + taken)), 1)

    def test_a_lone_command_never_waits_for_company(self):
        """With a slot free a command appends at once, alone: nothing waits, groups of one."""
        before = groups(self.port)
        for _ in range(3):
            r = self.post_to("/v1/orders", order_body())
            self.assertEqual(r.status, 201, r)
        after = groups(self.port)
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (3, 3))
        self.assertEqual(metric(self.port, WAITING), 0)


if __name__ == "__main__":
    harness.main()
