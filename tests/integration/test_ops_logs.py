"""Operations: structured logs. JSON lines with the contract's fields, LOG_FORMAT=text for
humans, and no secret (API token, DATABASE_URL password) in any line, even on errors."""

import json
import re
import time

import harness
from harness import Client, new_id
from ops_support import OpsTest, role_url, run_binary

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUEST_KEYS = {"ts", "level", "msg", "service", "correlation_id", "method", "route", "status",
                "duration_ms"}


def order_body(order_id=None):
    return {"order_id": order_id or new_id("ord-"), "customer_id": new_id("c-"),
            "currency": "EUR", "items": [{"sku": "a", "quantity": 1, "unit_price_cents": 5}]}


def wait_for_line(svc, predicate, timeout=harness.READY_TIMEOUT_S):
    """Access lines are written when libmicrohttpd reports completion, just after the answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [l for l in svc.log_lines() if predicate(l)]
        if hits:
            return hits
        time.sleep(0.05)
    return []


def access_status(line):
    """The status of a JSON access line (None for any other line)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj.get("status") if isinstance(obj, dict) else None


class JsonLogTest(OpsTest):
    TOKEN = "tok-" + new_id()
    PASSWORD = "pw" + new_id()

    def secret_env(self, **extra):
        env = {"LOG_FORMAT": "json", "LOG_LEVEL": "debug", "API_TOKENS": self.TOKEN,
               "DATABASE_URL": role_url("postgres", password=self.PASSWORD)}
        env.update(extra)
        return env

    def assert_no_secrets(self, lines):
        for line in lines:
            self.assertNotIn(self.TOKEN, line)
            self.assertNotIn(self.PASSWORD, line)

    def assert_json_lines(self, svc, service_name):
        lines = svc.log_lines()
        self.assertTrue(lines)
        parsed = []
        for line in lines:
            obj = json.loads(line)  # every line is one JSON object
            self.assertIsInstance(obj, dict, line)
            for key in ("ts", "level", "msg", "service"):
                self.assertIn(key, obj, line)
            self.assertRegex(obj["ts"], TS_RE)
            self.assertIn(obj["level"], ("debug", "info", "warn", "error"))
            self.assertEqual(obj["service"], service_name)
            parsed.append(obj)
        return parsed

    def test_command_json_lines_and_no_secrets(self):
        svc = self.start_service("command", self.secret_env())
        c = Client(svc.port)
        corr = new_id("corr-")
        auth = {"Authorization": "Bearer " + self.TOKEN, "X-Correlation-ID": corr}
        r = c.post("/v1/orders", order_body(), headers=auth)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("X-Correlation-ID"), corr)
        denied = c.post("/v1/orders", order_body(),
                        headers={"Authorization": "Bearer " + self.TOKEN + "x"})
        self.assertEqual(denied.status, 401)
        svc.wait_ready()
        c.close()
        # Each line is written just after its answer: wait for the refusal's too.
        self.assertTrue(wait_for_line(svc, lambda l: corr in l))
        self.assertTrue(wait_for_line(svc, lambda l: access_status(l) == 401))
        parsed = self.assert_json_lines(svc, "command-service")
        (access,) = [o for o in parsed if o.get("correlation_id") == corr]
        self.assertTrue(REQUEST_KEYS <= set(access), access)
        self.assertEqual((access["method"], access["route"], access["status"]),
                         ("POST", "/v1/orders", 201))
        self.assertIsInstance(access["duration_ms"], (int, float))
        self.assertGreaterEqual(access["duration_ms"], 0)
        self.assertTrue(any(o.get("status") == 401 for o in parsed))
        # Same correlation id in the stored event's metadata.
        stored = harness.sql_value("SELECT metadata->>'correlation_id' FROM events WHERE "
                                   "stream_id = 'order-%s'" % r.body["id"])
        self.assertEqual(stored, corr)
        self.assert_no_secrets(svc.log_lines())

    def test_query_json_lines_and_no_secrets(self):
        svc = self.start_service("query", self.secret_env())
        svc.wait_ready()
        c = Client(svc.port)
        corr = new_id("corr-")
        self.assertEqual(c.get("/v1/projections", headers={"X-Correlation-ID": corr}).status, 200)
        self.assertEqual(c.get("/v1/orders/" + new_id()).status, 404)
        c.close()
        # Access lines are written once a response is sent, so wait for both requests' lines.
        self.assertTrue(wait_for_line(svc, lambda l: corr in l))
        self.assertTrue(wait_for_line(svc, lambda l: '"/v1/orders/{id}"' in l and '404' in l))
        parsed = self.assert_json_lines(svc, "query-service")
        (access,) = [o for o in parsed if o.get("correlation_id") == corr]
        self.assertTrue(REQUEST_KEYS <= set(access), access)
        self.assertEqual((access["route"], access["status"]), ("/v1/projections", 200))
        self.assertTrue(any(o.get("route") == "/v1/orders/{id}" and o.get("status") == 404
                            for o in parsed))
        self.assert_no_secrets(svc.log_lines())

    def test_database_errors_never_log_the_password(self):
        """libpq's connection errors are the likeliest leak: point both services and migrate
        at a port where nothing listens."""
        dead = "postgresql://postgres:%s@127.0.0.1:%d/orderly" % (self.PASSWORD,
                                                                  harness.free_port())
        for kind in ("command", "query"):
            svc = self.start_service(kind, self.secret_env(DATABASE_URL=dead))
            c = Client(svc.port)
            self.assertEqual(c.get("/readyz").status, 503)
            if kind == "command":
                r = c.post("/v1/orders", order_body(),
                           headers={"Authorization": "Bearer " + self.TOKEN})
                self.assertEqual(r.status, 503, r)
            c.close()
            self.assertTrue(wait_for_line(svc, lambda l: json.loads(l)["level"] in (
                "warn", "error")), svc.log_lines())
            lines = svc.log_lines()
            self.assert_no_secrets(lines)
        p = run_binary("command", ["migrate"], {"DATABASE_URL": dead, "LOG_FORMAT": "json"})
        self.assertNotEqual(p.returncode, 0)
        self.assert_no_secrets([p.stdout, p.stderr])


class TextLogTest(OpsTest):
    def test_text_format_is_readable(self):
        svc = self.start_service("command", {"LOG_FORMAT": "text"})
        c = Client(svc.port)
        corr = new_id("corr-")
        r = c.post("/v1/orders", order_body(), headers={"X-Correlation-ID": corr})
        self.assertEqual(r.status, 201, r)
        c.close()
        (line,) = wait_for_line(svc, lambda l: corr in l)
        with self.assertRaises(ValueError):
            json.loads(line)
        for part in ("info", "command-service", "POST", "/v1/orders", "201", corr):
            self.assertIn(part, line)
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
