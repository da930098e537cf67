"""kill -9 of command-service while the holders of two hot streams append batches, or while
commands on many streams share group appends, under keyed clients that retry until their
command settles: every command answered 2xx is in events exactly once, and a batch's or a
group's events and idempotency rows committed together or not at all (no event without its
key's row, no success row without its event)."""

import time

import harness
import test_faults_recovery as recovery
from cmd_support import CommandTest, account_balance_history
from fault_support import Command, Load, private_command_service
from harness import new_id, sql, sql_literal
from test_hot_batches import metric_soon

WORKERS = 16  # keyed clients, all on two accounts
KILLS = 2
GROUPED = ('orderly_command_batch_size_count', 'orderly_command_batch_size_bucket{le="1"}')
GROUP_APPENDS = ('orderly_command_append_group_size_count',
                 'orderly_command_append_group_size_bucket{le="1"}')


class HotBatchKillTest(CommandTest):

    def grouped_batches(self, port, names=GROUPED):
        """Batches (or groups) of two or more this process appended (None while /metrics is
        held up)."""
        total, alone = (metric_soon(port, name) for name in names)
        return None if total is None or alone is None else total - alone

    def wait_for_batches(self, svc, names=GROUPED):
        self.assertTrue(harness.wait_until(
            lambda: (self.grouped_batches(svc.port, names) or 0) > 0, 60, 0.05),
            "no batch of two or more formed before the kill")

    def kill_under_load(self, svc, make, names):
        """Keyed clients run make's commands while svc is killed KILLS times, each time once
        batches of two or more formed; returns the commands, each checked exactly once."""
        load = Load(lambda: svc.port, make, WORKERS).start()
        for _ in range(KILLS):
            load.wait_settled(20)
            self.wait_for_batches(svc, names)
            svc.kill()
            time.sleep(0.2)  # down for a moment, so clients meet the refused connections
            svc.start()
        load.wait_settled(20)
        self.wait_for_batches(svc, names)
        return recovery.LoadedCommandTest.assert_exactly_once(self, self.prefix, load)

    def assert_all_or_nothing(self, prefix):
        """Events and key rows of this test's commands pair up one to one."""
        like = sql_literal("corr-" + prefix + "%")
        orphans = sql("SELECT e.metadata->>'correlation_id' FROM events e "
                      "WHERE e.metadata->>'correlation_id' LIKE %s AND NOT EXISTS ("
                      "SELECT 1 FROM idempotency_keys k "
                      "WHERE 'corr-' || k.key = e.metadata->>'correlation_id')" % like)
        self.assertEqual(orphans, [], "events whose batch's key rows are missing")
        empty = sql("SELECT k.key FROM idempotency_keys k WHERE k.key LIKE %s AND k.status = 200"
                    " AND NOT EXISTS (SELECT 1 FROM events e WHERE "
                    "e.metadata->>'correlation_id' = 'corr-' || k.key)"
                    % sql_literal(prefix + "%"))
        self.assertEqual(empty, [], "stored successes whose events are missing")

    def test_kill_9_mid_batch(self):
        prefix = self.prefix = new_id("hb")[:24]
        accounts = [self.open_account() for _ in range(2)]
        svc = private_command_service("command-hot-k9")
        try:
            def make(w, i):
                key = "%s-w%d-%d" % (prefix, w, i)
                return Command("/v1/accounts/%s/deposit" % accounts[w % 2],
                               {"amount_cents": 1 + w * 1000 + i, "reference": key}, key)

            cmds = self.kill_under_load(svc, make, GROUPED)
        finally:
            svc.stop()
        self.assert_all_or_nothing(prefix)
        for a in accounts:
            paid = sum(c.body["amount_cents"] for c in cmds if accounts.index(a) == int(
                c.key.rsplit("-w", 1)[1].split("-")[0]) % 2)
            self.assertEqual(account_balance_history(a)[-1], paid)

    def test_kill_9_mid_group_append(self):
        """PlaceOrders on fresh streams from keyed clients, one append slot so that groups
        form: each order is in events once, with its key's row."""
        prefix = self.prefix = new_id("ga")[:24]
        svc = private_command_service("command-group-k9", APPEND_GROUPS=1, DB_POOL_SIZE=16)
        try:
            def make(w, i):
                key = "%s-w%d-%d" % (prefix, w, i)
                return Command("/v1/orders", {
                    "order_id": "o-" + key, "customer_id": "c-" + prefix, "currency": "EUR",
                    "items": [{"sku": "s", "quantity": 1, "unit_price_cents": 1 + i}]}, key)

            cmds = self.kill_under_load(svc, make, GROUP_APPENDS)
        finally:
            svc.stop()
        self.assert_all_or_nothing(prefix)
        placed = sql("SELECT stream_id, count(*) FROM events WHERE stream_id LIKE %s "
                     "GROUP BY stream_id HAVING count(*) <> 1" % sql_literal("order-o-" + prefix + "%"))
        self.assertEqual(placed, [], "an order placed twice")
        self.assertEqual(int(sql("SELECT count(*) FROM events WHERE stream_id LIKE %s"
                                 % sql_literal("order-o-" + prefix + "%"))[0][0]), len(cmds))


if __name__ == "__main__":
    import unittest
    unittest.main()
