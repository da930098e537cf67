"""Several query-service instances on one database: all serve reads, exactly one projects (the
advisory lock of its projector connection), and another takes over within seconds when the
leader dies."""

import time

import harness
from harness import Client, new_id
from ops_support import ExtraService
from query_support import QueryTest, wait_ready

TAKEOVER_S = 10.0


def leader_gauge(port):
    """orderly_projector_leader from the instance's /metrics (None while unreachable)."""
    try:
        c = Client(port)
        r = c.get("/metrics")
        c.close()
    except OSError:
        return None
    for line in r.raw.decode().splitlines():
        if line.startswith("orderly_projector_leader "):
            return int(line.split()[1])
    return None


def wait_gauges(test, expected, timeout=TAKEOVER_S):
    """Waits until every port's leader gauge equals expected[port]."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {port: leader_gauge(port) for port in expected}
        if seen == expected:
            return
        time.sleep(0.1)
    test.fail("leader gauges %s, expected %s" % (seen, expected))


def projector_backends():
    return int(harness.sql_value(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid IN (SELECT pid FROM pg_stat_activity"
        "             WHERE application_name LIKE 'orderly-query%')"))


class LeadershipTest(QueryTest):
    def test_query_one_leader_and_takeover_after_kill_9(self):
        shared = harness.env().service("query")
        standby = ExtraService("query")
        standby.start()
        try:
            self.assertTrue(wait_ready(standby.port), "standby not ready")
            wait_gauges(self, {shared.port: 1, standby.port: 0}, harness.READY_TIMEOUT_S)

            # Both serve reads, and the standby follows the leader's progress.
            account = new_id("lead-")
            position = self.open_account(account)["position"]
            for port in (shared.port, standby.port):
                c = Client(port)
                got = c.get("/v1/accounts/%s?min_position=%d&wait_ms=30000" % (account, position))
                c.close()
                self.assertEqual(got.status, 200, got)

            shared.kill()
            wait_gauges(self, {standby.port: 1})
            position = self.deposit(account, 250)["position"]
            c = Client(standby.port)
            got = c.get("/v1/accounts/%s?min_position=%d&wait_ms=30000" % (account, position))
            c.close()
            self.assertEqual(got.status, 200, got)
            self.assertEqual(got.body["balance_cents"], 250)
        finally:
            if not shared.alive():
                shared.start()
            self.assertEqual(standby.stop(), 0)
        # The shared instance leads again once the standby is gone, and only one ever does (it
        # may have been restarted above: its start counts too).
        wait_gauges(self, {shared.port: 1}, harness.READY_TIMEOUT_S)
        self.assertEqual(projector_backends(), 1)
        position = self.deposit(account, 50)["position"]
        self.q.close()  # its connection went to the killed instance
        got = self.get_fresh("/v1/accounts/" + account, position)
        self.assertEqual(got.body["balance_cents"], 300)
