"""GETs by id share queries (query-service/read_batch.h): while one lookup of a kind runs, the
GETs of that kind that arrive queue and the next query answers all of them, each with its own
document, ETag or 404, byte for byte what it gets alone; a GET queued longer than
DB_POOL_WAIT_MS answers 503. A lock on the read tables holds the first queries, so the queues
and the batches are exact. Each test runs a query-service of its own (a follower on the shared
database) for its settings and counters."""

import re
import threading

import harness
from harness import Client, new_id
from db_support import Session, metric, problem
from ops_support import ExtraService
from query_support import QueryTest

LOOKUP = "SELECT %s_id, doc, version FROM rm_%ss%%"


def queued(port):
    """orderly_read_batch_queued, or None when the answer does not come within 1 s: a new
    connection can be accepted by an HTTP thread that then blocks in a queued GET, and waits
    for it (a fresh connection next time lands on a free thread)."""
    c = Client(port, timeout=1)
    try:
        text = c.get("/metrics").raw.decode()
    except OSError:
        return None
    finally:
        c.close()
    m = re.search(r"^orderly_read_batch_queued (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class SharedLookupsTest(QueryTest):
    def service(self, **env):
        svc = ExtraService("query", env)
        svc.start(harness.READY_TIMEOUT_S)
        self.addCleanup(lambda: self.assertEqual(svc.stop(), 0))
        return svc.port

    def lock(self, tables):
        s = Session(harness.env().cluster.url, harness.env().cluster.bindir)
        self.addCleanup(s.close)
        self.assertIsNotNone(s.run("BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE;" % tables))
        return s

    def on_lock(self, kind):
        """Lookups of kind ('order' or 'account') waiting on a lock now."""
        return int(harness.sql_value(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query "
            "LIKE '%s'" % (LOOKUP % (kind, kind))))

    def start_get(self, port, path, answers):
        def get():
            c = Client(port, timeout=120)
            answers[path] = c.get(path)
            c.close()
        t = threading.Thread(target=get)
        t.start()
        return t

    def seed(self):
        p = new_id("sl")[:10] + "-"
        orders = [p + "o%d" % i for i in range(5)]
        for i, oid in enumerate(orders):
            self.place_order(oid, p + "c", unit=100 + i)
        accounts = [p + "a%d" % i for i in range(3)]
        for a in accounts:
            self.open_account(a)
        position = max(self.deposit(a, 7)["events"][0]["position"] for a in accounts)
        self.get_fresh("/v1/accounts/" + accounts[0], position)
        return (["/v1/orders/" + o for o in orders] + ["/v1/orders/" + p + "none"],
                ["/v1/accounts/" + a for a in accounts])

    def test_query_queued_gets_share_one_query_each_answered_as_alone(self):
        orders, accounts = self.seed()
        port = self.service(DB_LOCK_TIMEOUT_MS="120000", DB_POOL_WAIT_MS="120000")
        c = Client(port)
        alone = {path: c.get(path) for path in orders + accounts}
        c.close()
        self.assertEqual([alone[x].status for x in orders + accounts],
                         [200] * 5 + [404] + [200] * 3)
        before = [metric(port, "orderly_read_batch_size_" + k) for k in ("count", "sum")]
        lock = self.lock("rm_orders, rm_accounts")
        answers, threads = {}, []
        try:
            # The first GET of each kind leads its lane's query, which waits on the lock; the
            # others queue one by one (one at a time, so none waits behind a busy HTTP thread).
            for kind, path in (("order", orders[0]), ("account", accounts[0])):
                threads.append(self.start_get(port, path, answers))
                self.assertTrue(harness.wait_until(lambda: self.on_lock(kind) == 1, 60), kind)
            for n, path in enumerate(orders[1:] + accounts[1:], 1):
                threads.append(self.start_get(port, path, answers))
                self.assertTrue(harness.wait_until(lambda: queued(port) == n, 60), path)
        finally:
            lock.run("COMMIT;")
        for t in threads:
            t.join(120)
        after = [metric(port, "orderly_read_batch_size_" + k) for k in ("count", "sum")]
        # Per lane, one query for its first GET and one for its queue.
        self.assertEqual([a - b for a, b in zip(after, before)], [4, len(orders + accounts)])
        for path in orders + accounts:
            a, b = answers[path], alone[path]
            self.assertEqual((a.status, a.raw, a.headers.get("ETag")),
                             (b.status, b.raw, b.headers.get("ETag")), path)

    def test_query_get_queued_past_pool_wait_is_503(self):
        orders, accounts = self.seed()
        port = self.service(DB_LOCK_TIMEOUT_MS="120000", DB_POOL_WAIT_MS="300")
        lock = self.lock("rm_orders")
        answers = {}
        try:
            first = self.start_get(port, orders[-1], answers)
            self.assertTrue(harness.wait_until(lambda: self.on_lock("order") == 1, 60))
            c = Client(port, timeout=60)
            problem(self, c.get(orders[0]), 503, "db-unavailable")  # queued, never taken
            self.assertEqual(c.get(accounts[0]).status, 200)  # the other lane is free
            c.close()
        finally:
            lock.run("COMMIT;")
        first.join(120)
        self.assertEqual(answers[orders[-1]].status, 404)
