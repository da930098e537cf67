"""Reads from a hot standby (issue 14 item 1): query-service with READ_DATABASE_URL on a
streaming standby serves every GET there, while its projector leads on the primary; min_position
waits follow what the standby has replayed, so read-your-writes holds on it, and a standby whose
replay is paused makes them answer 503 at their deadline until replay resumes."""

import os
import subprocess
import threading
import time

# Its own shard: the shared environment of this process is the standby topology.
RUN_ALONE = True
os.environ["ORDERLY_TEST_READ_STANDBY"] = "1"

import harness  # noqa: E402
import test_query_model  # noqa: E402
import query_support  # noqa: E402
from harness import Client, free_port, new_id  # noqa: E402
from ops_support import ExtraService  # noqa: E402
from query_support import QueryTest  # noqa: E402

LATENCY_ROUNDS = 60


def standby():
    return harness.env().standby


def pool_backends(cluster):
    """The query pool's connections (application_name orderly-query) on cluster."""
    return int(cluster.psql("SELECT count(*) FROM pg_stat_activity "
                            "WHERE application_name = 'orderly-query'")[0][0])


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


class StandbyReadsTest(QueryTest):
    def setUp(self):
        super().setUp()
        self.assertIsNotNone(standby(), "the environment did not start a standby")

    def deposit_position(self, account_id, amount=100):
        return max(e["position"] for e in self.deposit(account_id, amount)["events"])

    def test_standby_reads_come_from_the_standby_and_the_projector_leads_on_the_primary(self):
        acc = new_id("sb")
        self.open_account(acc)
        position = self.deposit_position(acc)
        r = self.get_fresh("/v1/accounts/" + acc, position)
        self.assertEqual((r.status, r.body["balance_cents"]), (200, 100), r)
        self.assertGreaterEqual(int(r.headers["X-Projection-Position"]), position)
        self.assertEqual(standby().psql("SELECT pg_is_in_recovery()")[0][0], "t")
        # The pool that served the GET lives on the standby, none of it on the primary.
        self.assertGreater(pool_backends(standby()), 0)
        self.assertEqual(pool_backends(harness.env().cluster), 0)
        # The projector's session (advisory lock) is on the primary.
        leaders = harness.sql_value(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid IN "
            "(SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'orderly-query%')")
        self.assertEqual(leaders, "1")

    def test_standby_read_your_writes_latency(self):
        """Each deposit on the primary, then a GET with its min_position on the standby-backed
        service: always the new balance. Prints p50/p99 of write-acknowledged to read-answered."""
        acc = new_id("lat")
        self.open_account(acc)
        seconds = []
        for i in range(1, LATENCY_ROUNDS + 1):
            position = self.deposit_position(acc, 1)
            t0 = time.monotonic()
            r = self.q.get("/v1/accounts/%s?min_position=%d&wait_ms=10000" % (acc, position))
            seconds.append(time.monotonic() - t0)
            self.assertEqual((r.status, r.body["balance_cents"]), (200, i), r)
            self.assertGreaterEqual(int(r.headers["X-Projection-Position"]), position)
        print("\nread-your-writes on a standby over %d writes: p50 %.1f ms, p99 %.1f ms, max "
              "%.1f ms" % (len(seconds), 1000 * percentile(seconds, 50),
                           1000 * percentile(seconds, 99), 1000 * max(seconds)), flush=True)

    def test_standby_paused_replay_waits_answer_503_then_resume(self):
        acc = new_id("pz")
        self.open_account(acc)
        self.get_fresh("/v1/accounts/" + acc, self.deposit_position(acc))
        sb = standby()
        sb.psql("SELECT pg_wal_replay_pause()")
        self.addCleanup(sb.psql, "SELECT pg_wal_replay_resume()")
        self.assertTrue(harness.wait_until(lambda: sb.psql(
            "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused", interval=0.02))
        position = self.deposit_position(acc)
        self.wait_primary_projected(position)
        t0 = time.monotonic()
        r = self.q.get("/v1/accounts/%s?min_position=%d&wait_ms=1000" % (acc, position))
        waited = time.monotonic() - t0
        self.assert_problem(r, 503)
        self.assertIn("Retry-After", r.headers)
        self.assertGreaterEqual(waited, 0.9, "answered before its deadline")
        self.assertLess(int(r.headers["X-Projection-Position"]), position)
        lag = self.q.get("/v1/projections").body[0]["served_by"]["read_database"]
        self.assertGreater(lag["replay_lag_ms"], 0, lag)
        # A wait parked while replay is paused is answered once it resumes.
        answer = {}

        def parked_get():
            c = Client(self.q.port)
            try:
                answer["r"] = c.get("/v1/accounts/%s?min_position=%d&wait_ms=30000"
                                    % (acc, position))
            finally:
                c.close()
        t = threading.Thread(target=parked_get)
        t.start()
        self.assertTrue(harness.wait_until(lambda: self.parked() >= 1, interval=0.02))
        sb.psql("SELECT pg_wal_replay_resume()")
        t.join(harness.READY_TIMEOUT_S)
        self.assertFalse(t.is_alive())
        self.assertEqual((answer["r"].status, answer["r"].body["balance_cents"]), (200, 200),
                         answer["r"])

    def wait_primary_projected(self, position):
        """Until the primary's checkpoint row holds position (the projector ran there)."""
        self.assertTrue(harness.wait_until(lambda: int(harness.sql_value(
            "SELECT position FROM projections WHERE name = 'read_model'")) >= position,
            interval=0.02))

    def parked(self):
        for line in self.q.get("/metrics").raw.decode().splitlines():
            if line.startswith("orderly_min_position_parked "):
                return int(line.split()[1])
        return 0

    def test_standby_projections_name_instance_role_and_read_database(self):
        """/v1/projections and /readyz say who answers: the instance, its projector's role, the
        database its reads come from (a standby here, the primary without READ_DATABASE_URL)
        and that database's replay lag."""
        sb = standby()
        r = self.q.get("/v1/projections")
        self.assertEqual(r.status, 200, r)
        served = r.body[0]["served_by"]
        self.assertEqual(served["role"], "leader", r)
        self.assertTrue(served["instance"].endswith("/%d" % harness.env().service("query")
                                                    .proc.pid), served)
        self.assertEqual(served["read_database"]["role"], "standby", r)
        self.assertEqual(served["read_database"]["server"], "127.0.0.1:%d" % sb.port, r)
        self.assertGreaterEqual(served["read_database"]["replay_lag_ms"], 0, r)
        ready = self.q.get("/readyz")
        self.assertEqual((ready.status, ready.body["served_by"]["read_database"]["role"]),
                         (200, "standby"), ready)
        # A second instance on the primary alone: a standby projector reading the primary.
        other = ExtraService("query")
        other.start()
        self.addCleanup(other.stop)
        query_support.wait_ready(other.port)
        c = Client(other.port)
        self.addCleanup(c.close)
        served = c.get("/v1/projections").body[0]["served_by"]
        self.assertEqual((served["role"], served["read_database"]["role"],
                          served["read_database"]["replay_lag_ms"]),
                         ("standby", "primary", 0), served)

    def test_standby_bad_read_database_url_exits_2(self):
        e = dict(os.environ)
        e.update(harness.env().service_env())
        e.update({"READ_DATABASE_URL": "host=127.0.0.1 no_such_option=1",
                  "PORT": str(free_port())})
        p = subprocess.run([harness.env().binary("query")], env=e, capture_output=True,
                           text=True, timeout=harness.READY_TIMEOUT_S)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("READ_DATABASE_URL", p.stderr)
        self.assertNotIn("no_such_option", p.stderr)


class StandbyModelTest(test_query_model.ModelTest):
    """The model comparison, every view and list read from the standby."""
