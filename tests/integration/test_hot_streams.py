"""Hot streams on one command-service: commands on the same stream take turns instead of racing
to a unique violation, each answer describes its own events, and a refused command in the
middle of a run does not disturb its neighbours."""

import harness
from cmd_support import CommandTest, account_balance_history, run_concurrently, stream_events
from db_support import metric

CLIENTS = 32
RETRIES = 'orderly_command_retries_total{cause="concurrent_writer"}'
WAITS = "orderly_stream_queue_waits_total"


def command_metric(name):
    return metric(harness.env().service("command").port, name)


class HotStreamTest(CommandTest):

    def post_alone(self, path, body):
        c = harness.command()
        try:
            return c.post(path, body)
        finally:
            c.close()

    def test_hot_accounts_take_turns_without_retries(self):
        accounts = [self.open_account() for _ in range(2)]
        retries, waits = command_metric(RETRIES), command_metric(WAITS)
        # A distinct amount per command, so each answer can be matched to its own event.
        plan = [(accounts[i % 2], 100 + i) for i in range(CLIENTS)]
        results = run_concurrently(CLIENTS, lambda i: self.post_alone(
            "/v1/accounts/%s/deposit" % plan[i][0], {"amount_cents": plan[i][1]}))
        self.assertEqual([r for r in results if isinstance(r, BaseException)], [])
        self.assertEqual([r.status for r in results], [200] * CLIENTS, results)
        self.assertEqual(command_metric(RETRIES), retries,
                         "commands on one stream in one process collided and were retried")
        self.assertGreater(command_metric(WAITS), waits,
                           "%d concurrent deposits on 2 accounts never queued" % CLIENTS)
        self.assertEqual(command_metric("orderly_stream_queue_waiting"), 0)
        for account in accounts:
            events = stream_events("account-" + account)
            by_version = {e["stream_version"]: e for e in events}
            self.assertEqual(sorted(by_version), list(range(1, len(events) + 1)))
            for i, r in enumerate(results):
                if plan[i][0] != account:
                    continue
                e = by_version[r.body["version"]]
                self.assertEqual(e["data"]["amount_cents"], plan[i][1], r.body)
                self.assertEqual(e["position"], r.body["position"], r.body)
            self.assertEqual(account_balance_history(account)[-1],
                             sum(a for acc, a in plan if acc == account))

    def test_refused_withdrawal_mid_run_leaves_neighbours_alone(self):
        """Withdrawals of 300 on 1000 with deposits of 100 interleaved: whatever order the
        turns come in, each answer is what that command alone would get at its place in the
        stream, and the balance never goes below zero."""
        account = self.open_account(balance=1000)
        ops = [("withdraw", 300) if i % 2 == 0 else ("deposit", 100) for i in range(16)]
        results = run_concurrently(len(ops), lambda i: self.post_alone(
            "/v1/accounts/%s/%s" % (account, ops[i][0]), {"amount_cents": ops[i][1]}))
        self.assertEqual([r for r in results if isinstance(r, BaseException)], [])
        for (kind, _), r in zip(ops, results):
            if kind == "deposit":
                self.assertEqual(r.status, 200, r)
            elif r.status != 200:
                self.assert_problem(r, 409, "insufficient-funds")
        history = account_balance_history(account)
        self.assertGreaterEqual(min(history), 0)
        ok = sum(1 for r in results if r.status == 200)
        self.assertEqual(len(history), 2 + ok)  # opened, first deposit, then each success
        withdrawn = sum(300 for (k, _), r in zip(ops, results) if k == "withdraw"
                        and r.status == 200)
        self.assertEqual(history[-1], 1000 + 8 * 100 - withdrawn)


if __name__ == "__main__":
    import unittest
    unittest.main()
