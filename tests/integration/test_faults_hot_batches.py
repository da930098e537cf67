"""kill -9 of command-service while the holders of two hot streams append batches, under keyed
clients that retry until their command settles: every command answered 2xx is in events exactly
once, and a batch's events and idempotency rows committed together or not at all (no event
without its key's row, no success row without its event)."""

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


class HotBatchKillTest(CommandTest):

    def grouped_batches(self, port):
        """Batches of two or more this process appended (None while /metrics is held up)."""
        total, alone = (metric_soon(port, name) for name in GROUPED)
        return None if total is None or alone is None else total - alone

    def wait_for_batches(self, svc):
        self.assertTrue(harness.wait_until(
            lambda: (self.grouped_batches(svc.port) or 0) > 0, 60, 0.05),
            "no batch of two or more formed before the kill")

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
        prefix = new_id("hb")[:24]
        accounts = [self.open_account() for _ in range(2)]
        svc = private_command_service("command-hot-k9")
        try:
            def make(w, i):
                key = "%s-w%d-%d" % (prefix, w, i)
                return Command("/v1/accounts/%s/deposit" % accounts[w % 2],
                               {"amount_cents": 1 + w * 1000 + i, "reference": key}, key)

            load = Load(lambda: svc.port, make, WORKERS).start()
            for _ in range(KILLS):
                load.wait_settled(20)
                self.wait_for_batches(svc)
                svc.kill()
                time.sleep(0.2)  # down for a moment, so clients meet the refused connections
                svc.start()
            load.wait_settled(20)
            self.wait_for_batches(svc)
            cmds = recovery.LoadedCommandTest.assert_exactly_once(self, prefix, load)
        finally:
            svc.stop()
        self.assert_all_or_nothing(prefix)
        for a in accounts:
            paid = sum(c.body["amount_cents"] for c in cmds if accounts.index(a) == int(
                c.key.rsplit("-w", 1)[1].split("-")[0]) % 2)
            self.assertEqual(account_balance_history(a)[-1], paid)


if __name__ == "__main__":
    import unittest
    unittest.main()
