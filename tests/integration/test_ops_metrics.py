"""Operations: /metrics on both services is valid Prometheus text (a strict parser, plus
promtool when scripts/test fetched it) and its counters move with real traffic; the probes."""

import os
import shutil
import subprocess
import unittest

import harness
from harness import new_id
from ops_support import PromError, parse_prometheus, sample_value
from orderly_env import REPO

METRICS_CTYPE = "text/plain; version=0.0.4"


def promtool():
    path = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not path:
        local = os.path.join(REPO, ".run", "tools", "usr", "bin", "promtool")
        path = local if os.access(local, os.X_OK) else None
    return path


def scrape(client):
    r = client.get("/metrics")
    if r.status != 200:
        raise AssertionError("GET /metrics: %r" % r)
    if not r.headers.get("Content-Type", "").startswith(METRICS_CTYPE):
        raise AssertionError("Content-Type %r" % r.headers.get("Content-Type"))
    text = r.raw.decode("utf-8")
    return text, parse_prometheus(text)


class PrometheusParserTest(unittest.TestCase):
    """The parser itself must reject what Prometheus rejects, or the tests below prove nothing."""

    GOOD = ("# HELP h_seconds latency\n# TYPE h_seconds histogram\n"
            'h_seconds_bucket{route="/a",le="0.1"} 1\nh_seconds_bucket{route="/a",le="+Inf"} 2\n'
            'h_seconds_sum{route="/a"} 0.3\nh_seconds_count{route="/a"} 2\n'
            "# TYPE c_total counter\nc_total 3\n")

    def test_accepts_valid(self):
        fams = parse_prometheus(self.GOOD)
        self.assertEqual(sample_value(fams, "h_seconds_count", route="/a"), 2)
        self.assertEqual(sample_value(fams, "c_total"), 3)

    def test_rejects_invalid(self):
        bad = {
            "inf != count": self.GOOD.replace('h_seconds_count{route="/a"} 2',
                                              'h_seconds_count{route="/a"} 3'),
            "decreasing buckets": self.GOOD.replace('le="0.1"} 1', 'le="0.1"} 5'),
            "no newline": self.GOOD.rstrip("\n"),
            "bad label": self.GOOD.replace("c_total 3", 'c_total{a=b} 3'),
            "bad value": self.GOOD.replace("c_total 3", "c_total three"),
            "duplicate": self.GOOD + "c_total 4\n",
            "type after sample": self.GOOD + "# TYPE c_total counter\n",
            "negative counter": self.GOOD.replace("c_total 3", "c_total -1"),
            "bad name": self.GOOD.replace("c_total 3", "1c_total 3"),
        }
        for why, text in bad.items():
            with self.subTest(why):
                with self.assertRaises(PromError):
                    parse_prometheus(text)


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.cmd = harness.command()
        self.qry = harness.query()

    def tearDown(self):
        self.cmd.close()
        self.qry.close()

    def test_command_metrics_move(self):
        _, before = scrape(self.cmd)
        order_id = new_id("ord-")
        ok = self.cmd.post("/v1/orders", {"order_id": order_id, "customer_id": new_id("c-"),
                                          "currency": "EUR",
                                          "items": [{"sku": "a", "quantity": 1,
                                                     "unit_price_cents": 5}]})
        self.assertEqual(ok.status, 201, ok)
        bad = self.cmd.post("/v1/orders", {"customer_id": "c", "currency": "eur", "items": []})
        self.assertEqual(bad.status, 422, bad)
        text, after = scrape(self.cmd)

        def delta(name, **labels):
            return sample_value(after, name, **labels) - sample_value(before, name, **labels)

        self.assertEqual(delta("orderly_http_requests_total", route="/v1/orders", method="POST",
                               status=201), 1, text)
        self.assertEqual(delta("orderly_http_requests_total", route="/v1/orders", method="POST",
                               status=422), 1, text)
        self.assertGreaterEqual(delta("orderly_http_request_duration_seconds_count",
                                      route="/v1/orders"), 2, text)
        self.assertGreater(delta("orderly_http_request_duration_seconds_sum",
                                 route="/v1/orders"), 0, text)
        self.assertGreaterEqual(delta("orderly_commands_total", type="PlaceOrder",
                                      outcome="ok"), 1, text)
        self.assertGreaterEqual(delta("orderly_commands_total", type="PlaceOrder",
                                      outcome="invalid"), 1, text)
        self.assertGreaterEqual(delta("orderly_events_appended_total"), 1, text)
        for fam in ("orderly_http_requests_total", "orderly_http_request_duration_seconds",
                    "orderly_commands_total", "orderly_events_appended_total",
                    "orderly_db_errors_total"):
            self.assertIn(fam, after, text)
        self.assertEqual(after["orderly_http_request_duration_seconds"]["type"], "histogram")
        self.assertEqual(after["orderly_commands_total"]["type"], "counter")

    def test_query_metrics_move(self):
        order_id = new_id("ord-")
        placed = self.cmd.post("/v1/orders", {"order_id": order_id, "customer_id": new_id("c-"),
                                              "currency": "EUR",
                                              "items": [{"sku": "a", "quantity": 1,
                                                         "unit_price_cents": 5}]})
        self.assertEqual(placed.status, 201, placed)
        _, before = scrape(self.qry)
        r = self.qry.get("/v1/orders/%s?min_position=%d" % (order_id, placed.body["position"]))
        self.assertEqual(r.status, 200, r)
        missing = self.qry.get("/v1/orders/" + new_id("nope-"))
        self.assertEqual(missing.status, 404, missing)
        text, after = scrape(self.qry)

        def delta(name, **labels):
            return sample_value(after, name, **labels) - sample_value(before, name, **labels)

        self.assertEqual(delta("orderly_http_requests_total", route="/v1/orders/{id}",
                               method="GET", status=200), 1, text)
        self.assertEqual(delta("orderly_http_requests_total", route="/v1/orders/{id}",
                               method="GET", status=404), 1, text)
        self.assertGreaterEqual(delta("orderly_http_request_duration_seconds_count",
                                      route="/v1/orders/{id}"), 2, text)
        position = sample_value(after, "orderly_projection_position")
        self.assertGreaterEqual(position, placed.body["position"], text)
        for fam in ("orderly_projection_position", "orderly_projection_lag_events",
                    "orderly_db_errors_total"):
            self.assertIn(fam, after, text)
            self.assertEqual(after[fam]["type"], "gauge" if "projection" in fam else "counter")

    def test_unmatched_routes_share_one_label(self):
        """Metrics label by route, not URL: random 404 paths must not create new series."""
        for _ in range(3):
            self.assertEqual(self.cmd.get("/nope/" + new_id()).status, 404)
        _, fams = scrape(self.cmd)
        routes = {l.get("route") for _, l, _ in fams["orderly_http_requests_total"]["samples"]}
        self.assertIn("unmatched", routes)
        self.assertFalse([r for r in routes if r and r.startswith("/nope/")], routes)

    def test_promtool_accepts_both(self):
        tool = promtool()
        if not tool:
            self.skipTest("promtool not available (scripts/test fetches it from Debian)")
        for client in (self.cmd, self.qry):
            text, _ = scrape(client)
            p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
            # Exit 0 means it parsed and had no lint hint (naming, HELP) either.
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class ProbeTest(unittest.TestCase):
    def test_health_and_ready_both(self):
        for client in (harness.command(), harness.query()):
            try:
                h = client.get("/healthz")
                self.assertEqual(h.status, 200, h)
                # An earlier test may have stopped PostgreSQL: ready again within the deadline.
                r = harness.wait_until(lambda: (lambda r: r if r.status == 200 else None)(
                    client.get("/readyz")))
                self.assertIsNotNone(r, "/readyz not 200 within %.0f s" % harness.READY_TIMEOUT_S)
                self.assertTrue(h.headers.get("X-Correlation-ID"))
            finally:
                client.close()

    def test_readyz_503_when_database_down(self):
        cmd, qry = harness.command(), harness.query()
        try:
            with harness.outage():
                self.assertEqual(cmd.get("/readyz").status, 503)
                self.assertEqual(qry.get("/readyz").status, 503)
                self.assertEqual(cmd.get("/healthz").status, 200)  # alive, just not ready
            self.assertTrue(harness.wait_until(lambda: cmd.get("/readyz").status == 200))
            self.assertTrue(harness.wait_until(lambda: qry.get("/readyz").status == 200))
        finally:
            cmd.close()
            qry.close()


if __name__ == "__main__":
    unittest.main()
