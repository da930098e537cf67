"""The live feed, GET /v1/events/live: Server-Sent Events that match the global feed, resume
from Last-Event-ID, heartbeats, and 1 000 idle subscribers that cost no thread and no CPU."""

import json
import os
import selectors
import time

import harness
from db_support import metric
from fault_support import is_sanitized, raise_open_files, rss_kb
from live_support import SSE, pump
from query_support import QueryTest, head_position

SUBSCRIBERS = 1000


def feed_between(q, after, upto):
    """The global feed's events in (after, upto], paging through /v1/events."""
    out = []
    while after < upto:
        r = q.get("/v1/events?after_position=%d&limit=1000&min_position=%d&wait_ms=30000"
                  % (after, upto))
        assert r.status == 200, r
        page = [e for e in r.body["events"] if e["position"] <= upto]
        out += page
        if len(r.body["events"]) < 1000:
            break
        after = r.body["events"][-1]["position"]
    return out


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def worker_cpu_seconds(pid):
    """utime + stime of the HTTP worker threads, the ones that would poll idle streams."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                comm, fields = f.read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        if comm.startswith("MHD"):
            fields = fields.split()
            total += int(fields[11]) + int(fields[12])
    return total / float(os.sysconf("SC_CLK_TCK"))


def idle_cpu(pid, subs, sel, seconds=1.0, tries=3):
    """Worker CPU over a window in which no stream received an event (events still being
    projected from earlier tests would be real work, not idling)."""
    for _ in range(tries):
        count = sum(len(s.events()) for s in subs)
        cpu0 = worker_cpu_seconds(pid)
        pump(sel, lambda: False, seconds)
        cpu = worker_cpu_seconds(pid) - cpu0
        if sum(len(s.events()) for s in subs) == count:
            return cpu
    return cpu


def private_query_service(name, **extra_env):
    e = harness.env()
    env = e.service_env()
    env.update({k: str(v) for k, v in extra_env.items()})
    svc = harness.Service(name, e.binary("query"), env, harness.free_port(), e.run_dir)
    return svc.start()


class LiveFeedTest(QueryTest):
    def port(self):
        return harness.env().service("query").port

    def assert_matches_feed(self, stream, after, upto):
        """The stream's events are exactly the global feed's in (after, upto], byte for byte."""
        want = feed_between(self.q, after, upto)
        got = [f for f in stream.events() if int(f["id"]) <= upto]
        self.assertEqual([int(f["id"]) for f in got], [e["position"] for e in want])
        for f, e in zip(got, want):
            self.assertEqual(f["event"], e["type"])
            self.assertEqual(json.loads(f["data"]), e)
            self.assertEqual(f["data"], json.dumps(e, separators=(",", ":")))

    def test_es_live_streams_new_events_in_order(self):
        acc = harness.new_id("live")[:16]
        start = self.open_account(acc)["position"]
        self.wait_projected(start)
        s = SSE(self.port(), "/v1/events/live?after_position=%d" % start)
        try:
            self.assertTrue(s.read_until(lambda s: s.frames()), "no opening comment")
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers["content-type"].startswith("text/event-stream"))
            self.assertEqual(s.headers.get("cache-control"), "no-cache")
            last = start
            for amount in (11, 12, 13, 14, 15):
                last = self.deposit(acc, amount)["position"]
            self.assertTrue(s.read_until(lambda s: any(int(f["id"]) >= last
                                                       for f in s.events())),
                            "events up to %d did not arrive: %r" % (last, s.body[-500:]))
            self.assert_matches_feed(s, start, last)
            mine = [json.loads(f["data"]) for f in s.events()
                    if json.loads(f["data"])["stream_id"] == "account-" + acc]
            self.assertEqual([e["data"]["amount_cents"] for e in mine], [11, 12, 13, 14, 15])
        finally:
            s.close()

    def test_es_live_resumes_from_last_event_id(self):
        acc = harness.new_id("resume")[:16]
        start = self.open_account(acc)["position"]
        first = [self.deposit(acc, a)["position"] for a in (1, 2)]
        s = SSE(self.port(), "/v1/events/live?after_position=%d" % start)
        self.assertTrue(s.read_until(lambda s: any(int(f["id"]) >= first[-1]
                                                   for f in s.events())))
        seen = int(s.events()[0]["id"])
        self.assertEqual(seen, first[0])
        s.close()
        missed = [self.deposit(acc, a)["position"] for a in (3, 4, 5)]
        # The header wins over the URL, as a reconnecting EventSource keeps its first URL.
        s = SSE(self.port(), "/v1/events/live?after_position=%d" % start,
                headers={"Last-Event-ID": str(seen)})
        try:
            self.assertTrue(s.read_until(lambda s: any(int(f["id"]) >= missed[-1]
                                                       for f in s.events())))
            self.assert_matches_feed(s, seen, missed[-1])
            self.assertEqual(int(s.events()[0]["id"]), first[1])
        finally:
            s.close()
        for bad in ({"Last-Event-ID": "x1"}, {"Last-Event-ID": "-3"}):
            r = self.q.get("/v1/events/live", headers=bad)
            self.assert_problem(r, 400)
        self.assert_problem(self.q.get("/v1/events/live?after_position=abc"), 400)

    def test_es_live_heartbeats_catch_up_and_drain(self):
        """A private instance: 150 ms heartbeats, a 4-event ring so a stream starting 40 events
        back reads them from the database, and SIGTERM ends open streams cleanly."""
        h0 = head_position()
        svc = private_query_service("query-live-beat", LIVE_HEARTBEAT_MS=150, LIVE_RING_EVENTS=4)
        streams = []
        try:
            # Opened before the projector loaded its checkpoint: "now" must still mean now,
            # not position 0.
            early = SSE(svc.port, "/v1/events/live")
            acc = harness.new_id("beat")[:16]
            self.open_account(acc)
            last = [self.deposit(acc, 1 + i)["position"] for i in range(40)][-1]
            r = harness.Client(svc.port).get("/v1/projections?min_position=%d&wait_ms=30000"
                                             % last)
            self.assertEqual(r.status, 200, r)
            after = max(0, last - 60)
            idle = SSE(svc.port, "/v1/events/live")
            back = SSE(svc.port, "/v1/events/live?after_position=%d" % after)
            streams = [early, idle, back]
            self.assertTrue(idle.read_until(
                lambda s: sum(f.get("comment") == "heartbeat" for f in s.frames()) >= 3, 5),
                "fewer than 3 heartbeats in 5 s: %r" % idle.body)
            self.assertEqual(idle.events(), [])
            self.assertTrue(early.read_until(lambda s: any(int(f["id"]) >= last
                                                           for f in s.events())))
            got = [int(f["id"]) for f in early.events()]
            want = [e["position"] for e in feed_between(self.q, h0, last)]
            self.assertEqual(got, want[len(want) - len(got):], "not a suffix of the feed")
            self.assertTrue(back.read_until(lambda s: any(int(f["id"]) >= last
                                                          for f in s.events())))
            self.assert_matches_feed(back, after, last)
            t0 = time.monotonic()
            code = svc.stop()
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - t0, 5)
            for s in streams:
                self.assertTrue(s.read_until(lambda s: s.ended, 5), "stream not ended")
        finally:
            for s in streams:
                s.close()
            if svc.alive():
                svc.kill()

class LiveManySubscribersTest(QueryTest):
    """1 000 open streams on a private instance while commands flow."""

    def test_es_live_thousand_subscribers(self):
        raise_open_files(SUBSCRIBERS + 500)
        svc = private_query_service("query-live-many", CONNECTION_LIMIT=SUBSCRIBERS + 200)
        subs, sel = [], selectors.DefaultSelector()
        try:
            acc = harness.new_id("many")[:16]
            opened = self.open_account(acc)["position"]
            r = harness.Client(svc.port).get("/v1/projections?min_position=%d&wait_ms=30000"
                                             % opened)
            self.assertEqual(r.status, 200, r)
            pid = svc.proc.pid
            threads0, rss0 = proc_status(pid, "Threads"), rss_kb(pid)
            for _ in range(SUBSCRIBERS):
                s = SSE(svc.port, "/v1/events/live")
                s.sock.setblocking(False)
                sel.register(s.sock, selectors.EVENT_READ, s)
                subs.append(s)
            pump(sel, lambda: all(s.frames() for s in subs), 20)
            self.assertTrue(all(s.status == 200 for s in subs))
            self.assertEqual(metric(svc.port, "orderly_live_subscribers"), SUBSCRIBERS)
            queries0 = metric(svc.port, "orderly_live_queries_total")
            idle = idle_cpu(pid, subs, sel)  # paused streams are out of the event loop
            positions = [self.deposit(acc, 1 + i)["position"] for i in range(3)]
            t0 = time.monotonic()
            worst = 0.0
            q = harness.Client(svc.port)
            while not all(any(int(f["id"]) >= positions[-1] for f in s.events()) for s in subs):
                self.assertLess(time.monotonic() - t0, 20, "not every subscriber got the events")
                g0 = time.monotonic()
                r = q.get("/v1/accounts/" + acc)
                worst = max(worst, time.monotonic() - g0)
                self.assertIn(r.status, (200, 404))
                pump(sel, lambda: False, 0.05)
            delivered_s = time.monotonic() - t0
            for s in subs[:: SUBSCRIBERS // 10]:
                self.assertEqual([int(f["id"]) for f in s.events()], positions,
                                 (opened, s.headers, subs.index(s)))
            threads1, rss = proc_status(pid, "Threads"), rss_kb(pid)
            queries = metric(svc.port, "orderly_live_queries_total") - queries0
            print("\n  live: %d subscribers, threads %d -> %d, RSS %d -> %d KiB, idle CPU %.3f s/s, "
                  "3 events to all in %.3f s, %d feed queries, worst GET %.3f s"
                  % (SUBSCRIBERS, threads0, threads1, rss0, rss, idle, delivered_s, queries,
                     worst))
            self.assertEqual(threads1, threads0, "thread count moved with subscribers")
            self.assertLess(idle, 0.2, "idle subscribers burn CPU")
            self.assertLessEqual(queries, 6, "queries grew with subscribers")
            if not is_sanitized(svc.binary):  # ASan's shadow memory inflates RSS
                self.assertLess(rss - rss0, 64 * 1024, "1 000 subscribers cost over 64 MiB")
            self.assertLess(worst, 1.0)
        finally:
            for s in subs:
                s.close()
            code = svc.stop()
            self.assertEqual(code, 0)

