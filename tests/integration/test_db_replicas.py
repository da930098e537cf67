"""20 replicas on one PostgreSQL with max_connections=100: 10 command-services and 10
query-services with small pools, commands round-robin over the command replicas and reads with
min_position over the query replicas. No 5xx but documented 503s, never more connections than
the sizing rule allows, money conserved, and every query replica equal to a fold of the events."""

import itertools
import json
import threading
import unittest

import harness
from harness import Client, new_id
from cmd_support import joined_results, run_concurrently
from db_support import PrivateCluster, problem, ready
from query_support import fold, fold_events_sql

REPLICAS = 10
POOL = 3
FIXED = 1  # the command side's notifier, the query side's projector
MAX_CONNECTIONS = 100
ACCOUNTS = 8
START_CENTS = 10000
CLIENTS = 8
OPS = 16  # per client: a command, then a read of it


def dump_events(pc, prefix):
    where = "stream_id LIKE %s" % harness.sql_literal("account-" + prefix + "%")
    return json.loads(pc.cluster.psql(fold_events_sql(where), raw=True))


class ReplicasTest(unittest.TestCase):
    maxDiff = 6000

    def test_db_twenty_replicas_on_one_postgres(self):
        pc = PrivateCluster(max_connections=MAX_CONNECTIONS)
        try:
            self.run_replicas(pc)
        finally:
            self.assertEqual(pc.destroy(), [])

    def start_all(self, pc):
        env = {"DB_POOL_SIZE": str(POOL), "WORKER_THREADS": "4"}
        kinds = ["command"] * REPLICAS + ["query"] * REPLICAS
        started = run_concurrently(len(kinds), lambda i: pc.start(
            kinds[i], env, name="%s-r%d" % (kinds[i], i % REPLICAS)))
        for s in started:
            if isinstance(s, BaseException):
                raise s
        for s in started[REPLICAS:]:
            self.assertTrue(harness.wait_until(lambda: ready(s.port) == 200, 30), s.name)
        return started[:REPLICAS], started[REPLICAS:]

    def run_replicas(self, pc):
        commands, queries = self.start_all(pc)
        prefix = new_id("rep")[:12] + "-"
        accounts = [prefix + str(i) for i in range(ACCOUNTS)]
        next_cmd = itertools.cycle(commands).__next__
        lock = threading.Lock()
        for a in accounts:
            c = Client(next_cmd().port)
            self.assertEqual(c.post("/v1/accounts", {"account_id": a, "owner": "r",
                                                     "currency": "EUR"}).status, 201)
            self.assertEqual(c.post("/v1/accounts/%s/deposit" % a,
                                    {"amount_cents": START_CENTS}).status, 200)
            c.close()
        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], pc.connections("orderly-"))
        sampler = threading.Thread(target=sample)
        sampler.start()

        def client(i):
            out = []
            for k in range(OPS):
                with lock:
                    cmd, qry = next_cmd(), queries[(i * OPS + k) % REPLICAS]
                src, dst = accounts[(i + k) % ACCOUNTS], accounts[(i + 3 * k + 1) % ACCOUNTS]
                if src == dst:
                    dst = accounts[(i + k + 1) % ACCOUNTS]
                c = Client(cmd.port, timeout=60)
                r = c.post("/v1/transfers", {"from_account_id": src, "to_account_id": dst,
                                             "amount_cents": 1 + (i * 7 + k) % 500})
                c.close()
                out.append(("POST", r))
                if r.status != 201:
                    continue
                q = Client(qry.port, timeout=60)
                out.append(("GET", q.get("/v1/accounts/%s?min_position=%d&wait_ms=20000" %
                                         (src, r.body["position"]))))
                q.close()
            return out
        try:
            results = run_concurrently(CLIENTS, client)
        finally:
            stop.set()
            sampler.join(30)
        self.assert_answers(joined_results(results))
        # The sizing rule: replicas x (pool + fixed) <= max_connections - reserved.
        self.assertLessEqual(peak[0], 2 * REPLICAS * (POOL + FIXED), peak)
        self.assert_replicas_equal_fold(pc, queries, prefix, accounts)

    def assert_answers(self, answers):
        ok = {"POST": {201, 409}, "GET": {200}}
        for method, r in answers:
            if r.status == 503:
                problem(self, r, 503, "db-unavailable")  # documented, with Retry-After
            else:
                self.assertIn(r.status, ok[method], r)
            if r.status == 409:
                self.assertEqual(r.body["type"], harness.problem_base + "insufficient-funds", r)
        self.assertGreater(sum(1 for m, r in answers if m == "POST" and r.status == 201), 0)

    def assert_replicas_equal_fold(self, pc, queries, prefix, accounts):
        events = dump_events(pc, prefix)
        head = max(e["position"] for e in events)
        folded = fold(events)["accounts"]
        self.assertEqual(sorted(folded), sorted(accounts))
        self.assertEqual(sum(a["balance_cents"] for a in folded.values()),
                         START_CENTS * len(accounts), "money was created or lost")
        for q in queries:
            c = Client(q.port, timeout=60)
            for a in accounts:
                r = c.get("/v1/accounts/%s?min_position=%d&wait_ms=20000" % (a, head))
                self.assertEqual(r.status, 200, "%s %s: %r" % (q.name, a, r))
                self.assertEqual(r.body, folded[a], "%s differs from the fold on %s" % (
                    q.name, a))
            c.close()


if __name__ == "__main__":
    unittest.main()
