"""GETs by id share queries (query-service/read_batch.h): while one lookup runs, the GETs that
arrive queue and the next query answers all of them, each with its own document, ETag or 404,
byte for byte what it gets alone. A lock on the read tables holds the first query, so the
queue and the batches are exact."""

import threading

import harness
from harness import Client, new_id
from db_support import Session, metric
from query_support import QueryTest


def counters(port):
    return {k: int(metric(port, "orderly_read_batch" + k))
            for k in ("es_total", "_lookups_total")}


class SharedLookupsTest(QueryTest):
    def test_query_queued_gets_share_one_query_each_answered_as_alone(self):
        p = new_id("sl")[:10] + "-"
        orders = [p + "o%d" % i for i in range(5)]
        for i, oid in enumerate(orders):
            self.place_order(oid, p + "c", unit=100 + i)
        accounts = [p + "a%d" % i for i in range(3)]
        for a in accounts:
            self.open_account(a)
        position = max(self.deposit(a, 7)["events"][0]["position"] for a in accounts)
        self.get_fresh("/v1/accounts/" + accounts[0], position)
        paths = (["/v1/orders/" + o for o in orders] + ["/v1/orders/" + p + "none"] +
                 ["/v1/accounts/" + a for a in accounts])
        alone = {path: self.q.get(path) for path in paths}
        self.assertEqual([alone[x].status for x in paths], [200] * 5 + [404] + [200] * 3)

        port = harness.env().service("query").port
        before = counters(port)
        lock = Session(harness.env().cluster.url, harness.env().cluster.bindir)
        self.addCleanup(lock.close)
        self.assertIsNotNone(lock.run("BEGIN; LOCK TABLE rm_orders IN ACCESS EXCLUSIVE MODE;"))
        answers, threads = {}, []

        def get(path):
            c = Client(port, timeout=60)
            answers[path] = c.get(path)
            c.close()
        try:
            first = threading.Thread(target=get, args=(paths[0],))
            first.start()  # leads the first query, which waits on the lock
            self.assertTrue(harness.wait_until(lambda: self.lookups_on_lock() == 1, 30))
            for path in paths[1:]:
                threads.append(threading.Thread(target=get, args=(path,)))
                threads[-1].start()
            self.assertTrue(harness.wait_until(
                lambda: metric(port, "orderly_read_batch_queued") == len(paths) - 1, 30),
                metric(port, "orderly_read_batch_queued"))
        finally:
            lock.run("COMMIT;")
        for t in [first] + threads:
            t.join(60)
        after = counters(port)
        # One query for the first GET, then one per kind for the queue: orders (5 ids, one of
        # them unknown) and accounts (3).
        self.assertEqual(after["es_total"] - before["es_total"], 3)
        self.assertEqual(after["_lookups_total"] - before["_lookups_total"], len(paths))
        for path in paths:
            a, b = answers[path], alone[path]
            self.assertEqual((a.status, a.raw, a.headers.get("ETag")),
                             (b.status, b.raw, b.headers.get("ETag")), path)

    def lookups_on_lock(self):
        return int(harness.sql_value("SELECT count(*) FROM pg_stat_activity WHERE "
                                     "wait_event_type = 'Lock' AND query LIKE "
                                     "'SELECT order_id, doc, version FROM rm_orders%'"))
