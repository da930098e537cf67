"""SQL-defined projections at run time (issue 17, docs/views-runtime.md): the query service's
leader builds a newly registered view from position 0 in steps while commands flow, swaps it in,
then moves it inside every projector batch; kill -9 mid-build converges exactly once; a handler
that raises, or tries to write events, fails only its own view. Each test has a database of its
own (views_support.ViewsDb) with the real services on it."""

import hashlib
import threading
import time
import unittest

import harness
from harness import Client
from views_support import ViewsDb, fold_tally, projections, tally

SLOW = "PERFORM pg_sleep(0.0002);"  # a handler slow enough to be caught mid-build


class Writers:
    """Deposits through command-service to the given accounts from one thread until stopped;
    .count is how many succeeded."""

    def __init__(self, port, accounts):
        self.port, self.accounts = port, accounts
        self.count, self.errors = 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        c = Client(self.port, timeout=30)
        try:
            while not self.stop.is_set():
                acc = self.accounts[self.count % len(self.accounts)]
                r = c.post("/v1/accounts/%s/deposit" % acc, {"amount_cents": 3 + self.count % 7})
                if r.status != 200:
                    self.errors.append(r)
                    return
                self.count += 1
        finally:
            c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)


class ViewsRuntimeTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.db = ViewsDb()
        self.addCleanup(lambda: self.assertEqual(self.db.destroy(), []))

    def start(self, query_role=None):
        self.qry = self.db.start("query", query_role)
        self.cmd = self.db.start("command")

    def deposit(self, account, cents):
        c = Client(self.cmd.port, timeout=30)
        try:
            r = c.post("/v1/accounts/%s/deposit" % account, {"amount_cents": cents})
        finally:
            c.close()
        self.assertEqual(r.status, 200, r)
        return r.body["position"]

    def wait(self, what, fn, timeout=harness.READY_TIMEOUT_S * 2):
        self.assertTrue(harness.wait_until(fn, timeout, 0.02), what)

    def view(self, name, generation=1):
        return projections(self.qry.port).get((name, generation))

    def wait_view(self, name, generation=1, **want):
        def matches():
            v = self.view(name, generation)
            return v is not None and all(v.get(k) == w for k, w in want.items())
        self.wait("%s generation %d never had %s: %s" % (name, generation, want,
                                                        self.db.catalog(name)), matches)
        return self.view(name, generation)

    def wait_settled(self):
        """Read model at the head, and every live running view with it: the projector moves
        them in the same transaction."""
        head = self.db.head()
        self.wait("the read model never reached %d" % head,
                  lambda: projections(self.qry.port)["read_model"]["position"] >= head)
        return head

    def assert_equals_fold(self, name, generation=1):
        [v] = [v for v in self.db.catalog(name) if v["generation"] == generation]
        self.assertEqual(self.db.tally_rows(v["schema"]), self.db.fold())

    def test_views_runtime_added_view_catches_up_while_commands_flow(self):
        accounts = self.db.seed_deposits(100, 1000)  # 100 000 deposits (+ 100 opens)
        self.start()
        self.wait_settled()
        with Writers(self.cmd.port, accounts[:5]) as w:
            self.db.register("tally", tally())
            before = w.count
            building = self.wait_view("tally", state="building", status="running")
            seen = []

            def live():
                v = self.view("tally")
                seen.append((v["state"], v["position"], v["head_position"]))
                return v["state"] == "live" or v["status"] != "running"
            self.wait("never went live", live)
            live = self.wait_view("tally", state="live", status="running")
            during = w.count - before
            self.wait("no commands after it went live", lambda: w.count > before + during + 20)
        self.assertEqual(w.errors, [])
        self.assertGreater(during, 0, "no command went through while it caught up")
        self.assertTrue(any(st == "building" and 0 < pos < head for st, pos, head in seen),
                        "never seen mid-build: %s" % seen[:10])
        head = self.wait_settled()
        self.wait_view("tally", position=head)
        self.assert_equals_fold("tally")
        source = tally().encode()
        self.assertEqual(building["version"], hashlib.sha256(source).hexdigest())
        self.assertEqual(live["generation"], 1)
        p = projections(self.qry.port)
        self.assertEqual(p["read_model"]["status"], "running")
        self.assertEqual(p[("tally", 1)]["lag_events"], p[("tally", 1)]["head_position"] - head)

    def test_views_runtime_kill_during_catch_up_converges_exactly_once(self):
        self.db.seed_deposits(20, 500)  # two steps of SLOW handler calls
        self.start()
        self.wait_settled()
        self.db.register("tally", tally(SLOW))
        self.wait("the build never started",
                  lambda: self.db.catalog("tally")[0]["position"] > 0)
        self.qry.kill()
        [v] = self.db.catalog("tally")
        self.assertEqual(v["state"], "building", "finished before the kill: %s" % v)
        self.assertLess(v["position"], self.db.head())
        self.qry.start(ready=True)
        self.deposit("seed1", 11)
        self.wait_view("tally", state="live", status="running")
        head = self.wait_settled()
        self.wait_view("tally", position=head)
        self.assert_equals_fold("tally")

    def test_views_runtime_raising_handler_fails_only_its_view(self):
        self.db.seed_deposits(3, 20)
        self.start()
        self.db.register("tally", tally())
        self.db.register("boom", tally("IF (e.data->>'amount_cents')::bigint = 666 THEN "
                                       "RAISE EXCEPTION 'boom at %', e.position; END IF;"))
        self.wait_view("tally", state="live")
        good = self.wait_view("boom", state="live")
        bad = self.deposit("seed1", 666)
        failed = self.wait_view("boom", status="failed")
        self.assertIn("boom at %d" % bad, failed["error"])
        self.assertLess(failed["position"], bad)
        self.assertGreaterEqual(failed["position"], good["position"])
        after = self.deposit("seed2", 5)
        head = self.wait_settled()
        self.assertGreaterEqual(head, after)
        self.wait_view("tally", position=head, status="running")
        self.assert_equals_fold("tally")
        p = projections(self.qry.port)
        self.assertEqual(p["read_model"]["status"], "running")
        self.assertEqual(p[("boom", 1)]["position"], failed["position"])  # stays where it failed
        # Nothing of the failed batch stayed in boom: its rows are the events before it.
        [b] = self.db.catalog("boom")
        self.assertEqual(self.db.tally_rows(b["schema"]),
                         fold_tally(self.db.psql(
                             "SELECT type, data->>'account_id', data->>'amount_cents', position "
                             "FROM events WHERE position <= %d" % failed["position"])))

    def test_views_runtime_handler_cannot_write_events(self):
        """Even with a superuser DATABASE_URL, handlers run as orderly_query."""
        self.db.seed_deposits(2, 5)
        self.start(query_role="postgres")
        forge = ("IF (e.data->>'amount_cents')::bigint = 777 THEN INSERT INTO events "
                 "(stream_id, stream_version, type, schema_version, data, metadata) VALUES "
                 "('account-forged', 1, 'AccountOpened', 1, '{}', '{}'); END IF;")
        self.db.register("forger", tally(forge))
        self.wait_view("forger", state="live")
        self.deposit("seed1", 777)  # live: inside a projector batch
        failed = self.wait_view("forger", status="failed")
        self.assertIn("permission denied for table events", failed["error"])
        self.db.register("forger_late", tally(forge))  # building: the builder's step
        failed = self.wait_view("forger_late", status="failed")
        self.assertEqual(failed["state"], "building")
        self.assertIn("permission denied for table events", failed["error"])
        self.assertEqual(self.db.value("SELECT count(*) FROM events "
                                       "WHERE stream_id = 'account-forged'"), "0")
        self.wait_settled()
        self.assertEqual(projections(self.qry.port)["read_model"]["status"], "running")

    def test_views_runtime_new_version_and_rebuild_swap_in(self):
        self.db.seed_deposits(20, 200)
        self.start()
        self.db.register("tally", tally())
        self.wait_view("tally", state="live")
        self.db.register("tally", tally(SLOW + " -- version 2"))
        self.wait_view("tally", 2, state="building")
        old = self.db.catalog("tally")[0]
        served = self.db.tally_rows(old["schema"])
        reads, deadline = 0, time.monotonic() + harness.READY_TIMEOUT_S * 2
        c = Client(self.qry.port, timeout=30)
        self.addCleanup(c.close)
        while True:  # the old one serves meanwhile (no events come: the rows stay as they are)
            self.assertLess(time.monotonic(), deadline, self.db.catalog("tally"))
            p = projections(self.qry.port)
            if p[("tally", 2)]["state"] != "building":
                break
            self.assertEqual((p[("tally", 1)]["state"], p[("tally", 1)]["status"]),
                             ("live", "running"))
            r = c.get("/v1/views/tally?limit=500")
            self.assertEqual(r.status, 200, r)
            self.assertEqual({i["account_id"]: [i["events"], i["cents"], i["last_position"]]
                              for i in r.body["items"]}, served)
            reads += 1
        self.assertGreater(reads, 0)
        self.wait_view("tally", 2, state="live", status="running")
        self.assertIsNone(self.view("tally", 1), "the replaced version is still listed")
        self.assertEqual([v["state"] for v in self.db.catalog("tally")], ["retired", "live"])
        self.deposit("seed3", 9)
        self.wait_view("tally", 2, position=self.wait_settled())
        self.assert_equals_fold("tally", 2)

        p = self.db.rebuild("tally")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual([v["state"] for v in self.db.catalog("tally")],
                         ["retired", "retired", "live"])
        self.wait_view("tally", 3, position=self.wait_settled())
        self.assert_equals_fold("tally", 3)
        p = self.db.rebuild("no_such_view")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("unknown projection", p.stderr)


if __name__ == "__main__":
    unittest.main()
