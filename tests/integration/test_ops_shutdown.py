"""Operations: SIGTERM during a burst of concurrent commands. Every request gets a complete
HTTP answer or no answer at all (refused, or reset before a byte came back, and then nothing
of it was written); every 2xx is in `events`; the process exits 0."""

import http.client
import json
import signal
import threading

import harness
from harness import new_id, sql_json
from ops_support import OpsTest

CLIENTS = 16


def place_order(port, order_id):
    """One command on a fresh connection. Returns ("answer", status, body) for a complete
    answer, ("refused",), ("no-answer", why) when the connection closed before any byte of
    a response, or ("truncated", why)."""
    body = json.dumps({"order_id": order_id, "customer_id": "c-shutdown", "currency": "EUR",
                       "items": [{"sku": "a", "quantity": 1, "unit_price_cents": 5}]})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError:
            return ("refused",)
        try:
            conn.request("POST", "/v1/orders", body=body,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
            return ("no-answer", repr(e))
        try:
            raw = resp.read()
            declared = resp.getheader("Content-Length")
            if declared is not None and int(declared) != len(raw):
                return ("truncated", "length %s != %d" % (declared, len(raw)))
            return ("answer", resp.status, json.loads(raw))
        except (http.client.IncompleteRead, ConnectionResetError, ValueError) as e:
            return ("truncated", repr(e))
    finally:
        conn.close()


class ShutdownTest(OpsTest):
    def test_sigterm_during_burst(self):
        svc = self.start_service("command", {"WORKER_THREADS": "8",
                                             "SHUTDOWN_TIMEOUT_MS": "10000"})
        results = []  # (order_id, outcome)
        lock = threading.Lock()
        stop = threading.Event()

        def client():
            while not stop.is_set():
                order_id = new_id("sd-")
                outcome = place_order(svc.port, order_id)
                with lock:
                    results.append((order_id, outcome))
                if outcome[0] == "refused":
                    return

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        # Let the burst reach full speed: every client has had answers (however slow the machine).
        harness.wait_until(lambda: len(results) >= 2 * CLIENTS, interval=0.01)
        svc.proc.send_signal(signal.SIGTERM)
        code = svc.proc.wait(30)
        svc.exit_codes.append(code)
        stop.set()
        for t in threads:
            t.join(60)
        self.assertEqual(code, 0)

        answered = [(oid, o) for oid, o in results if o[0] == "answer"]
        truncated = [(oid, o) for oid, o in results if o[0] == "truncated"]
        lost = [oid for oid, o in results if o[0] == "no-answer"]
        self.assertEqual(truncated, [])
        self.assertGreater(len(answered), CLIENTS, "burst too small to mean anything")
        self.assertTrue(any(o[0] == "refused" for _, o in results), "never refused after stop")
        for oid, o in answered:
            self.assertIn(o[1], (201, 503), o)  # 503 only if the database went away
        ok_ids = [oid for oid, o in answered if o[1] == 201]
        stored = set(sql_json("SELECT coalesce(json_agg(stream_id), '[]') FROM events WHERE "
                              "stream_id LIKE 'order-sd-%%' AND stream_id = ANY(ARRAY[%s])"
                              % ",".join("'order-%s'" % i for i in ok_ids + lost)))
        self.assertEqual({"order-" + i for i in ok_ids} - stored, set(), "2xx not stored")
        # A request whose connection closed before any answer must not have been carried out:
        # "finish requests in flight" means no committed command loses its answer.
        self.assertEqual(stored & {"order-" + i for i in lost}, set(), "answer lost")
        # Only the last requests may go unanswered: the ones that raced the listener closing.
        self.assertLessEqual(len(lost), CLIENTS, lost)
