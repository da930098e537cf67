"""Model-based check of the whole read model: thousands of random valid and invalid commands from
concurrent clients, then every view, summary and list must equal a replay of the events."""

import json
import random

import harness
from harness import new_id
from cmd_support import joined_results, run_concurrently
from query_support import QueryTest, customer_summary, dump_events

THREADS = 8
COMMANDS_PER_THREAD = 250
ACCOUNTS = 6
ORDERS = 40
CUSTOMERS = 5
OK_OR_REFUSED = {200, 201, 400, 404, 409, 422}


class Model:
    """The small id universe the random commands fight over, and deterministic order contents
    so a client can pay the right total without reading anything."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.accounts = ["%sa%d" % (prefix, i) for i in range(ACCOUNTS)]
        self.orders = ["%so%02d" % (prefix, i) for i in range(ORDERS)]
        self.customers = ["c%s%d" % (prefix, i) for i in range(CUSTOMERS)]
        self.owners = ["w%s%d" % (prefix, i) for i in range(2)]

    def account_currency(self, i):
        return "USD" if i >= ACCOUNTS - 2 else "EUR"

    def order_body(self, i, customer):
        items = [{"sku": "s%d" % k, "quantity": 1 + (i + k) % 3,
                  "unit_price_cents": 100 * (1 + (i * 3 + k) % 7)} for k in range(1 + i % 3)]
        return {"order_id": self.orders[i], "customer_id": customer,
                "currency": "USD" if i % 5 == 0 else "EUR", "items": items}

    def order_total(self, i):
        return sum(it["quantity"] * it["unit_price_cents"]
                   for it in self.order_body(i, "")["items"])


def random_command(m, rnd):
    """(method, path, json body or None, raw body or None) of one random command."""
    kind = rnd.choices(["open", "deposit", "withdraw", "transfer", "place", "pay", "ship",
                        "cancel", "close", "bad"], [8, 20, 15, 12, 15, 15, 8, 8, 1, 5])[0]
    a = rnd.randrange(ACCOUNTS)
    o = rnd.randrange(ORDERS)
    acc, order = m.accounts[a], m.orders[o]
    if kind == "open":
        return "/v1/accounts", {"account_id": acc, "owner": m.owners[a % 2],
                                "currency": m.account_currency(a),
                                "overdraft_limit_cents": rnd.choice([0, 2000])}, None
    if kind in ("deposit", "withdraw"):
        return "/v1/accounts/%s/%s" % (acc, kind), {"amount_cents": rnd.randint(1, 6000)}, None
    if kind == "transfer":
        return "/v1/transfers", {"from_account_id": acc,
                                 "to_account_id": rnd.choice(m.accounts),
                                 "amount_cents": rnd.randint(1, 4000)}, None
    if kind == "place":
        return "/v1/orders", m.order_body(o, rnd.choice(m.customers)), None
    if kind == "pay":
        amount = m.order_total(o) + (1 if rnd.random() < 0.1 else 0)
        return "/v1/orders/%s/pay" % order, {"account_id": acc, "amount_cents": amount}, None
    if kind == "ship":
        return "/v1/orders/%s/ship" % order, {"carrier": "dhl",
                                              "tracking_number": "t%d" % rnd.randrange(999)}, None
    if kind == "cancel":
        return "/v1/orders/%s/cancel" % order, {"reason": "r%d" % rnd.randrange(9)}, None
    if kind == "close":
        return "/v1/accounts/%s/close" % acc, {}, None
    return rnd.choice([
        ("/v1/accounts/%s/deposit" % acc, None, "{not json"),
        ("/v1/accounts/%s/deposit" % acc, {"amount_cents": -5}, None),
        ("/v1/accounts/%s/withdraw" % acc, {"amount_cents": 1.5}, None),
        ("/v1/accounts/%s/deposit" % acc, {"amount_cents": 5, "extra": 1}, None),
        ("/v1/orders", dict(m.order_body(o, "c"), currency="euro"), None),
        ("/v1/orders/%s/pay" % order, {"account_id": acc}, None),
    ])


class ModelTest(QueryTest):
    def send_burst(self, m, seed):
        """Each thread sends its commands; returns [(path, status, body)] of all threads."""
        def worker(i):
            rnd = random.Random(seed * 100 + i)
            client = harness.command()
            out = []
            try:
                for _ in range(COMMANDS_PER_THREAD):
                    path, body, raw = random_command(m, rnd)
                    hdrs = {"Content-Type": "application/json"} if raw else None
                    r = client.post(path, body, headers=hdrs, raw=raw)
                    out.append((path, r.status, r.body))
            finally:
                client.close()
            return out
        return joined_results(run_concurrently(THREADS, worker))

    def assert_acknowledged_events_stored(self, sent, events):
        """The events of the streams are exactly those the 2xx answers reported: refusals and
        bad bodies wrote nothing, and nothing acknowledged is missing."""
        acked = {}
        for path, status, body in sent:
            self.assertIn(status, OK_OR_REFUSED, "%s -> %d %s" % (path, status, body))
            if status in (200, 201):
                for e in body["events"]:
                    acked[e["position"]] = (e["stream_id"], e["version"], e["type"])
        stored = {e["position"]: (e["stream_id"], e["stream_version"], e["type"]) for e in events}
        self.assertEqual(stored, acked)

    def assert_customers_and_lists(self, m, folded):
        orders = folded["orders"]
        for c in m.customers:
            want = customer_summary(orders, c)
            r = self.q.get("/v1/customers/" + c)
            if want is None:
                self.assertEqual(r.status, 404, r)
                continue
            self.assertEqual((r.status, r.body), (200, want), "customer %s" % c)
            # The stored document's bytes (migrations/0014), as the contract spells them.
            self.assertEqual(r.raw.decode("utf-8"), json.dumps(want, separators=(",", ":")),
                             "customer %s" % c)
            listed = self.q.get("/v1/orders?customer_id=%s&limit=500" % c)
            self.assertEqual(listed.status, 200, listed)
            ids = [o["order_id"] for o in listed.body["items"]]
            self.assertEqual(sorted(ids), sorted(k for k, o in orders.items()
                                                 if o["customer_id"] == c), "list of " + c)
            for item in listed.body["items"]:
                self.assertEqual(item, orders[item["order_id"]])
            self.assertIsNone(listed.body["next_cursor"])
            paid = self.q.get("/v1/orders?customer_id=%s&status=paid&limit=500" % c)
            self.assertEqual(sorted(o["order_id"] for o in paid.body["items"]),
                             sorted(k for k, o in orders.items()
                                    if o["customer_id"] == c and o["status"] == "paid"))
        for w in m.owners:
            listed = self.q.get("/v1/accounts?owner=%s&limit=500" % w)
            self.assertEqual(listed.status, 200, listed)
            ids = [a["account_id"] for a in listed.body["items"]]
            self.assertEqual(sorted(ids), sorted(k for k, a in folded["accounts"].items()
                                                 if a["owner"] == w), "accounts of " + w)
            for item in listed.body["items"]:
                self.assertEqual(item, folded["accounts"][item["account_id"]])

    def test_query_random_commands_match_replay(self):
        m = Model(new_id("m")[:9] + "-")
        sent = self.send_burst(m, random.randrange(1 << 30))
        self.assertEqual(len(sent), THREADS * COMMANDS_PER_THREAD)
        events = dump_events(m.prefix)
        self.assert_acknowledged_events_stored(sent, events)
        # The mix must really exercise the interesting paths, or the comparison proves little.
        statuses = {s for _, s, _ in sent}
        self.assertTrue({200, 201, 404, 409}.issubset(statuses), statuses)
        types = {e["type"] for e in events}
        self.assertTrue({"OrderPaid", "OrderShipped", "OrderCancelled", "TransferSent",
                         "FundsWithdrawn"}.issubset(types), types)
        folded = self.assert_views_match_fold(m.prefix, m.orders, m.accounts,
                                              max(e["position"] for e in events))
        self.assert_customers_and_lists(m, folded)
