"""Operations: successful GET/HEAD access lines are sampled (LOG_SAMPLE_GETS=N writes 1 in N per
route, the route's first included), while errors and writes are always logged."""

import json
import time

import harness
from harness import Client, new_id
from ops_support import OpsTest, run_binary


def order_body():
    return {"order_id": new_id("ord-"), "customer_id": new_id("c-"), "currency": "EUR",
            "items": [{"sku": "a", "quantity": 1, "unit_price_cents": 5}]}


def access_lines(svc, route, status=None):
    out = []
    for line in svc.log_lines():
        obj = json.loads(line)
        if obj.get("msg") == "request" and obj.get("route") == route and \
                (status is None or obj.get("status") == status):
            out.append(obj)
    return out


def wait_for_count(svc, route, status, want, timeout=harness.READY_TIMEOUT_S):
    """Lines are written as libmicrohttpd reports completion, just after each answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(access_lines(svc, route, status)) >= want:
            return
        time.sleep(0.05)


class LogSamplingTest(OpsTest):
    def gets_then_errors(self, svc, gets, errors):
        """gets successful GETs of /v1/projections, then errors 404s on one connection: once
        the last 404's line is there, every earlier request's line has been decided."""
        c = Client(svc.port)
        for _ in range(gets):
            self.assertEqual(c.get("/v1/projections").status, 200)
        for _ in range(errors):
            self.assertEqual(c.get("/v1/orders/" + new_id()).status, 404)
        c.close()
        wait_for_count(svc, "/v1/orders/{id}", 404, errors)

    def test_one_in_n_successful_gets_every_error(self):
        svc = self.start_service("query", {"LOG_FORMAT": "json", "LOG_SAMPLE_GETS": "10"})
        self.gets_then_errors(svc, 50, 20)
        ok = access_lines(svc, "/v1/projections", 200)
        self.assertEqual(len(ok), 5, ok)  # a fresh route counter: requests 1, 11, 21, 31, 41
        self.assertTrue(all(o["sample_1_in"] == 10 for o in ok), ok)
        errors = access_lines(svc, "/v1/orders/{id}", 404)
        self.assertEqual(len(errors), 20)
        self.assertTrue(all("sample_1_in" not in o for o in errors), errors)

    def test_default_is_one_in_100_and_1_logs_all(self):
        svc = self.start_service("query", {"LOG_FORMAT": "json"})
        self.gets_then_errors(svc, 50, 1)
        self.assertEqual(len(access_lines(svc, "/v1/projections", 200)), 1)
        every = self.start_service("query", {"LOG_FORMAT": "json", "LOG_SAMPLE_GETS": "1"})
        self.gets_then_errors(every, 50, 1)
        lines = access_lines(every, "/v1/projections", 200)
        self.assertEqual(len(lines), 50)
        self.assertTrue(all("sample_1_in" not in o for o in lines))

    def test_writes_always_logged(self):
        svc = self.start_service("command", {"LOG_FORMAT": "json", "LOG_SAMPLE_GETS": "10"})
        c = Client(svc.port)
        for _ in range(12):
            self.assertEqual(c.post("/v1/orders", order_body()).status, 201)
        c.close()
        wait_for_count(svc, "/v1/orders", 201, 12)
        self.assertEqual(len(access_lines(svc, "/v1/orders", 201)), 12)

    def test_bad_value_exits_2(self):
        for kind in ("command", "query"):
            for value in ("0", "-1", "ten"):
                with self.subTest(kind=kind, value=value):
                    p = run_binary(kind, env_overrides={"LOG_SAMPLE_GETS": value}, timeout=10)
                    self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                    self.assertIn("LOG_SAMPLE_GETS", p.stderr)
