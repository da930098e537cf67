"""The projector passes a batch's documents and indexed columns as PostgreSQL array literals
(common/store/param_array.c): free text that means something in that syntax (quotes,
backslashes, braces, commas, the word NULL) must reach the read tables as it was sent, on the
insert path (new rows) and the update path (rows the batch found stored)."""

import urllib.parse

from harness import new_id
from query_support import QueryTest

# Each one breaks an array literal if a step of its quoting is missing.
TEXTS = ['NULL', 'a "quoted", {braced} word', 'back\\slash \\" and \\\\', '{1,2}', ' spaced ',
         'caf\u00e9 \u2713 \\u0041']


class BatchTextTest(QueryTest):
    def test_query_batch_text_survives_array_literals(self):
        prefix = new_id("bt")[:12] + "-"
        accounts = [prefix + "a%d" % i for i in range(len(TEXTS))]
        orders = [prefix + "o%d" % i for i in range(len(TEXTS))]
        for acc, text in zip(accounts, TEXTS):
            self.open_account(acc, owner=text)
            self.deposit(acc, 500)  # the row stored by the batch before, or by this one
        for i, (order, text) in enumerate(zip(orders, TEXTS)):
            self.post_ok("/v1/orders", {"order_id": order, "customer_id": prefix + "c",
                                        "currency": "EUR", "items": [
                                            {"sku": text, "quantity": 1,
                                             "unit_price_cents": 100}]}, 201)
            if i % 2:
                self.post_ok("/v1/orders/%s/cancel" % order, {"reason": text})
            else:
                self.post_ok("/v1/orders/%s/pay" % order,
                             {"account_id": accounts[i], "amount_cents": 100})
                self.post_ok("/v1/orders/%s/ship" % order,
                             {"carrier": text, "tracking_number": text})
        folded = self.assert_views_match_fold(prefix, orders, accounts)
        self.assertEqual(sorted(a["owner"] for a in folded["accounts"].values()), sorted(TEXTS))
        for acc, text in zip(accounts, TEXTS):
            r = self.q.get("/v1/accounts?owner=" + urllib.parse.quote(text, safe=""))
            self.assertEqual(r.status, 200, r)
            self.assertIn(acc, [a["account_id"] for a in r.body["items"]], text)
        r = self.q.get("/v1/orders?customer_id=%s&limit=50" % (prefix + "c"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(o["order_id"] for o in r.body["items"]), sorted(orders))
