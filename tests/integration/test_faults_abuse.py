"""Connection abuse against a private command-service with a short CONNECTION_TIMEOUT_S: 2 000
idle keep-alive connections, slowloris, a 1 GB body and 10 000 random paths. Throughout, a
normal client keeps getting answers within 1 s and the service's RSS stays under a cap."""

import random
import threading
import time
import unittest
import urllib.parse

import harness
from fault_support import (memory_cap_kb, open_files_limit, private_command_service,
                           raise_open_files, raw_connect, rss_kb, service_log_reports,
                           wait_closed)
from harness import new_id

TIMEOUT_S = 3  # CONNECTION_TIMEOUT_S of the private service
IDLE_CONNECTIONS = 2000
SLOWLORIS_CONNECTIONS = 200
RANDOM_REQUESTS = 10000
LATENCY_S = 1.0
GIB = 1 << 30


class Prober:
    """A normal client in the background: deposits and health checks, one at a time, each on a
    fresh connection; records the slowest answer and any failure."""

    def __init__(self, port, account_id):
        self.port, self.account_id = port, account_id
        self.worst, self.count, self.failures = 0.0, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _once(self, i):
        c = harness.Client(self.port, timeout=5)
        t0 = time.monotonic()
        try:
            if i % 2:
                r = c.post("/v1/accounts/%s/deposit" % self.account_id, {"amount_cents": 1})
                ok = r.status == 200
            else:
                r = c.get("/healthz")
                ok = r.status == 200
        except OSError as e:
            ok, r = False, e
        finally:
            c.close()
        took = time.monotonic() - t0
        self.worst = max(self.worst, took)
        self.count += 1
        if not ok:
            self.failures.append(repr(r))

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self._once(i)
            i += 1
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        return False


class ConnectionAbuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_open_files(IDLE_CONNECTIONS + SLOWLORIS_CONNECTIONS + 500)
        cls.svc = private_command_service("command-service-abuse",
                                          CONNECTION_TIMEOUT_S=TIMEOUT_S, CONNECTION_LIMIT=4096)
        cls.cap_kb = memory_cap_kb(cls.svc.binary)
        cls.account_id = new_id("abuse-")
        c = harness.Client(cls.svc.port)
        r = c.post("/v1/accounts", {"account_id": cls.account_id, "owner": "abuse",
                                    "currency": "EUR"})
        c.close()
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        code = cls.svc.stop()
        reports = service_log_reports(cls.svc)
        assert code == 0, "abuse service exit %s on SIGTERM" % code
        assert not reports, reports[:5]

    def setUp(self):
        self.assertTrue(self.svc.alive())

    def assert_healthy(self, prober):
        self.assertTrue(self.svc.alive(), "the service died")
        self.assertGreater(prober.count, 0)
        self.assertEqual(prober.failures, [])
        self.assertLess(prober.worst, LATENCY_S, "a normal request took %.2fs" % prober.worst)
        rss = rss_kb(self.svc.proc.pid)
        self.assertLess(rss, self.cap_kb, "RSS %d kB over the cap %d kB" % (rss, self.cap_kb))

    def test_idle_keep_alive_connections(self):
        self.assertGreaterEqual(open_files_limit(self.svc.proc.pid), IDLE_CONNECTIONS + 100,
                                "the service could not hold the connections")
        socks = []
        try:
            with Prober(self.svc.port, self.account_id) as prober:
                for i in range(IDLE_CONNECTIONS):
                    s = raw_connect(self.svc.port)
                    socks.append(s)
                    if i % 4 == 0:  # some made a request and stay open after it
                        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                        self.assertIn(b"200", s.recv(4096).split(b"\r\n")[0])
                # A second's worth of probes while the connections are held, however slow.
                harness.wait_until(lambda: prober.count >= 40, interval=0.05)
                self.assert_healthy(prober)
            # The limit is configurable and honoured: idle connections are closed after it.
            closed = wait_closed(socks, int(IDLE_CONNECTIONS * 0.95) + 1,
                                 TIMEOUT_S + harness.READY_TIMEOUT_S)
            self.assertGreater(closed, IDLE_CONNECTIONS * 0.95,
                               "only %d idle connections closed after %ds" % (closed, TIMEOUT_S))
        finally:
            for s in socks:
                s.close()

    def test_slowloris(self):
        socks = []
        try:
            with Prober(self.svc.port, self.account_id) as prober:
                for _ in range(SLOWLORIS_CONNECTIONS):
                    s = raw_connect(self.svc.port)
                    s.sendall(b"POST /v1/accounts HTTP/1.1\r\nHost: t\r\nX-Slow: ")
                    socks.append(s)
                # Trickle a header byte every half timeout, for longer than one timeout.
                for _ in range(4):
                    time.sleep(TIMEOUT_S / 2)
                    for s in socks:
                        try:
                            s.sendall(b"a")
                        except OSError:
                            pass
                self.assert_healthy(prober)
            # Once they stall, they are dropped after the timeout.
            closed = wait_closed(socks, len(socks), TIMEOUT_S + harness.READY_TIMEOUT_S)
            self.assertEqual(closed, len(socks), "stalled slowloris connections kept open")
        finally:
            for s in socks:
                s.close()

    def send_huge_body(self, head, chunk_fn):
        """Streams up to 1 GiB after head; returns (bytes sent, first response bytes or b'')
        once the server answers or closes, whichever comes first."""
        s = raw_connect(self.svc.port, timeout=10)
        s.sendall(head)
        sent, peak = 0, 0
        answer = b""
        try:
            while sent < GIB:
                s.settimeout(0)
                try:
                    answer = s.recv(4096)
                    break  # an answer, or b"" for a close
                except BlockingIOError:
                    pass
                s.settimeout(10)
                chunk = chunk_fn()
                s.sendall(chunk)
                sent += len(chunk)
                if sent % (64 << 20) < len(chunk):
                    peak = max(peak, rss_kb(self.svc.proc.pid))
        except OSError:
            pass  # reset by the server: it stopped reading
        finally:
            s.close()
        peak = max(peak, rss_kb(self.svc.proc.pid))
        self.assertLess(peak, self.cap_kb, "RSS %d kB while receiving the body" % peak)
        return sent, answer

    def test_one_gigabyte_body(self):
        with Prober(self.svc.port, self.account_id) as prober:
            head = (b"POST /v1/orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % GIB)
            block = b" " * (1 << 20)
            sent, answer = self.send_huge_body(head, lambda: block)
            self.assertLess(sent, GIB, "the service read the whole 1 GiB body")
            if answer:
                self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:100])
            # Chunked: no length to refuse up front; it is cut off once past the drain limit.
            head = (b"POST /v1/orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (len(block), block)
            sent, answer = self.send_huge_body(head, lambda: chunk)
            self.assertLess(sent, GIB, "the service read the whole chunked 1 GiB body")
            if answer:
                self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:100])
            self.assert_healthy(prober)

    def random_path(self, rng):
        kind = rng.randrange(6)
        if kind == 0:
            return "/" + "/".join(new_id()[:rng.randrange(1, 12)] for _ in range(rng.randrange(8)))
        if kind == 1:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            return "/v1/orders/" + urllib.parse.quote(raw, safe="") + "/pay"
        if kind == 2:
            return "/v1/accounts/%" + "".join(rng.choice("0123456789abcdefXYZ%")
                                              for _ in range(rng.randrange(4))) + "/deposit"
        if kind == 3:
            return "/v1/" + "a" * rng.randrange(1, 3000)
        if kind == 4:
            return rng.choice(["/v1/orders/", "//v1//orders", "/v1/orders/../accounts",
                               "/healthz?x=" + "%ff" * 20, "/v1/transfers/x", "/metrics/"])
        return "/v1/accounts/" + new_id() + "/" + rng.choice(["close", "open", "deposit/x"])

    def test_random_paths(self):
        rng = random.Random(7)
        statuses = {}
        lock = threading.Lock()

        def worker(n):
            c = harness.Client(self.svc.port, timeout=5)
            local_rng = random.Random(rng.random())
            try:
                for _ in range(n):
                    method = local_rng.choice(["GET", "POST", "PUT", "DELETE"])
                    path = self.random_path(local_rng)
                    r = c.request(method, path, raw=b"{}", headers={
                        "Content-Type": "application/json"})
                    with lock:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
            finally:
                c.close()

        with Prober(self.svc.port, self.account_id) as prober:
            threads = [threading.Thread(target=worker, args=(RANDOM_REQUESTS // 4,))
                       for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assert_healthy(prober)
        self.assertEqual(sum(statuses.values()), RANDOM_REQUESTS, statuses)
        server_errors = {s: n for s, n in statuses.items() if s >= 500}
        self.assertEqual(server_errors, {}, statuses)
