"""Write side, refusals: every error status of the command contract is an RFC 9457 problem with
the right type and writes nothing; a 422 names each bad field."""

import json
import unittest

from cmd_support import CommandTest, stream_events
from harness import new_id

ITEM = {"sku": "sku-1", "quantity": 1, "unit_price_cents": 100}


def order_body(**over):
    body = {"customer_id": new_id("cust-"), "currency": "EUR", "items": [dict(ITEM)]}
    body.update(over)
    return body


class MalformedRequestTest(CommandTest):
    def test_malformed_json_is_400(self):
        for raw in ('{"customer_id": ', "not json", '{"a":1}{"b":2}', ""):
            with self.subTest(raw=raw):
                r = self.assert_writes_nothing(lambda: self.post(
                    "/v1/orders", raw=raw, headers={"Content-Type": "application/json"}))
                self.assert_problem(r, 400, "malformed-json")

    def test_body_that_is_not_an_object(self):
        r = self.assert_writes_nothing(lambda: self.post("/v1/accounts", [1, 2]))
        self.assertIn(r.status, (400, 422), r)
        self.assert_problem(r, r.status)

    def test_unknown_route_is_404(self):
        r = self.assert_writes_nothing(lambda: self.post("/v1/nothing-here", {}))
        self.assert_problem(r, 404)

    def test_wrong_method_is_405(self):
        for method, path in (("DELETE", "/v1/orders"), ("PUT", "/v1/accounts"),
                             ("GET", "/v1/transfers")):
            with self.subTest(method=method, path=path):
                r = self.assert_writes_nothing(lambda: self.client.request(method, path))
                self.assert_problem(r, 405, "method-not-allowed")

    def test_body_over_64k_is_413(self):
        big = json.dumps(order_body(customer_id="x" * (70 * 1024)))
        r = self.assert_writes_nothing(lambda: self.post(
            "/v1/orders", raw=big, headers={"Content-Type": "application/json"}))
        self.assert_problem(r, 413, "payload-too-large")

    def test_text_plain_is_415(self):
        r = self.assert_writes_nothing(lambda: self.post(
            "/v1/orders", raw=json.dumps(order_body()), headers={"Content-Type": "text/plain"}))
        self.assert_problem(r, 415, "unsupported-media-type")

    def test_json_with_charset_is_accepted(self):
        r = self.post("/v1/orders", raw=json.dumps(order_body()),
                      headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 201, r)


class ValidationTest(CommandTest):
    """Each case: path, body, the field the 422 must name."""

    def cases(self):
        account_id = self.open_account()
        many = [dict(ITEM, sku="s%d" % i) for i in range(101)]
        deposit = "/v1/accounts/%s/deposit" % account_id
        return [
            ("float money", "/v1/orders",
             order_body(items=[dict(ITEM, unit_price_cents=1.5)]), "unit_price_cents"),
            ("float money integral", deposit, {"amount_cents": 100.0}, "amount_cents"),
            ("string money", deposit, {"amount_cents": "100"}, "amount_cents"),
            ("negative money", deposit, {"amount_cents": -5}, "amount_cents"),
            ("zero deposit", deposit, {"amount_cents": 0}, "amount_cents"),
            ("money over 2^53-1", deposit, {"amount_cents": 2 ** 53}, "amount_cents"),
            ("unknown field", deposit, {"amount_cents": 5, "bogus": 1}, "bogus"),
            ("missing field", "/v1/orders", {"currency": "EUR", "items": [ITEM]},
             "customer_id"),
            ("bad currency", "/v1/orders", order_body(currency="eur"), "currency"),
            ("bad currency length", "/v1/accounts", {"owner": "o", "currency": "EURO"},
             "currency"),
            ("101 items", "/v1/orders", order_body(items=many), "items"),
            ("no items", "/v1/orders", order_body(items=[]), "items"),
            ("quantity 0", "/v1/orders", order_body(items=[dict(ITEM, quantity=0)]),
             "quantity"),
            ("quantity over 10000", "/v1/orders",
             order_body(items=[dict(ITEM, quantity=10001)]), "quantity"),
            ("price over 10^9", "/v1/orders",
             order_body(items=[dict(ITEM, unit_price_cents=10 ** 9 + 1)]), "unit_price_cents"),
            ("empty sku", "/v1/orders", order_body(items=[dict(ITEM, sku="")]), "sku"),
            ("bad id", "/v1/orders", order_body(order_id="has space"), "order_id"),
            ("id too long", "/v1/accounts",
             {"account_id": "a" * 65, "owner": "o", "currency": "EUR"}, "account_id"),
            ("unknown item field", "/v1/orders",
             order_body(items=[dict(ITEM, colour="red")]), "colour"),
            ("transfer missing amount", "/v1/transfers",
             {"from_account_id": account_id, "to_account_id": new_id()}, "amount_cents"),
        ]

    def test_each_bad_field_is_named(self):
        for name, path, body, field in self.cases():
            with self.subTest(name):
                r = self.assert_writes_nothing(lambda: self.post(path, body))
                problem = self.assert_problem(r, 422, "validation-error")
                errors = problem.get("errors")
                self.assertIsInstance(errors, list, problem)
                self.assertTrue(any(field in e.get("field", "") for e in errors), problem)
                for e in errors:
                    self.assertTrue(e.get("message"), e)

    def test_every_bad_field_in_one_answer(self):
        body = {"customer_id": "", "currency": "eu", "items": [dict(ITEM, quantity=-1)],
                "extra": True}
        r = self.assert_writes_nothing(lambda: self.post("/v1/orders", body))
        problem = self.assert_problem(r, 422, "validation-error")
        fields = " ".join(e["field"] for e in problem["errors"])
        for name in ("customer_id", "currency", "quantity", "extra"):
            self.assertIn(name, fields, problem)


class BusinessRuleTest(CommandTest):
    def refused(self, path, body, status, slug, **kw):
        r = self.assert_writes_nothing(lambda: self.post(path, body, **kw))
        return self.assert_problem(r, status, slug)

    def test_unknown_order_and_account_are_404(self):
        account_id = self.open_account(balance=1000)
        order_id, total = self.place_order()
        ghost = new_id("ghost-")
        for path, body in (
                ("/v1/orders/%s/pay" % ghost, {"account_id": account_id, "amount_cents": 1}),
                ("/v1/orders/%s/ship" % ghost, {"carrier": "c", "tracking_number": "t"}),
                ("/v1/orders/%s/cancel" % ghost, {"reason": "r"}),
                ("/v1/orders/%s/pay" % order_id, {"account_id": ghost, "amount_cents": total}),
                ("/v1/accounts/%s/deposit" % ghost, {"amount_cents": 1}),
                ("/v1/accounts/%s/withdraw" % ghost, {"amount_cents": 1}),
                ("/v1/accounts/%s/close" % ghost, {}),
                ("/v1/transfers", {"from_account_id": account_id, "to_account_id": ghost,
                                   "amount_cents": 1}),
                ("/v1/transfers", {"from_account_id": ghost, "to_account_id": account_id,
                                   "amount_cents": 1})):
            with self.subTest(path=path, body=body):
                self.refused(path, body, 404, "not-found")

    def test_order_state(self):
        placed, _ = self.place_order()
        shipped, _, _ = self.paid_order()
        r = self.post("/v1/orders/%s/ship" % shipped, {"carrier": "c", "tracking_number": "t"})
        self.assertEqual(r.status, 200, r)
        cancelled, total = self.place_order()
        self.assertEqual(self.post("/v1/orders/%s/cancel" % cancelled, {"reason": "x"}).status,
                         200)
        account_id = self.open_account(balance=10000)
        for path, body in (
                ("/v1/orders/%s/ship" % placed, {"carrier": "c", "tracking_number": "t"}),
                ("/v1/orders/%s/cancel" % shipped, {"reason": "late"}),
                ("/v1/orders/%s/ship" % shipped, {"carrier": "c", "tracking_number": "t"}),
                ("/v1/orders/%s/pay" % cancelled, {"account_id": account_id,
                                                    "amount_cents": total}),
                ("/v1/orders/%s/cancel" % cancelled, {"reason": "again"})):
            with self.subTest(path=path):
                self.refused(path, body, 409, "order-state")

    def test_insufficient_funds(self):
        account_id = self.open_account(balance=100, overdraft=50)
        self.refused("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 151}, 409,
                     "insufficient-funds")
        other = self.open_account()
        self.refused("/v1/transfers", {"from_account_id": account_id, "to_account_id": other,
                                       "amount_cents": 151}, 409, "insufficient-funds")
        order_id, total = self.place_order(items=[dict(ITEM, unit_price_cents=1000)])
        self.refused("/v1/orders/%s/pay" % order_id,
                     {"account_id": account_id, "amount_cents": total}, 409, "insufficient-funds")

    def test_already_exists(self):
        order_id, _ = self.place_order()
        self.refused("/v1/orders", order_body(order_id=order_id), 409, "already-exists")
        account_id = self.open_account()
        self.refused("/v1/accounts", {"account_id": account_id, "owner": "o", "currency": "EUR"},
                     409, "already-exists")

    def test_account_closed(self):
        account_id = self.open_account()
        self.assertEqual(self.post("/v1/accounts/%s/close" % account_id, {}).status, 200)
        other = self.open_account(balance=100)
        for path, body in (
                ("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 1}),
                ("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 1}),
                ("/v1/accounts/%s/close" % account_id, {}),
                ("/v1/transfers", {"from_account_id": other, "to_account_id": account_id,
                                   "amount_cents": 1})):
            with self.subTest(path=path):
                self.refused(path, body, 409, "account-closed")

    def test_account_not_empty(self):
        account_id = self.open_account(balance=1)
        self.refused("/v1/accounts/%s/close" % account_id, {}, 409, "account-not-empty")

    def test_currency_mismatch(self):
        eur, usd = self.open_account("EUR", balance=10000), self.open_account("USD")
        self.refused("/v1/transfers", {"from_account_id": eur, "to_account_id": usd,
                                       "amount_cents": 1}, 409, "currency-mismatch")
        order_id, total = self.place_order(currency="USD")
        self.refused("/v1/orders/%s/pay" % order_id, {"account_id": eur, "amount_cents": total},
                     409, "currency-mismatch")

    def test_pay_wrong_amount(self):
        account_id = self.open_account(balance=10000)
        order_id, total = self.place_order()
        self.refused("/v1/orders/%s/pay" % order_id,
                     {"account_id": account_id, "amount_cents": total - 1}, 409,
                     "amount-mismatch")

    def test_transfer_to_self_is_refused(self):
        account_id = self.open_account(balance=100)
        r = self.assert_writes_nothing(lambda: self.post("/v1/transfers", {
            "from_account_id": account_id, "to_account_id": account_id, "amount_cents": 1}))
        self.assertIn(r.status, (409, 422), r)
        self.assert_problem(r, r.status)
        self.assertEqual(len(stream_events("account-" + account_id)), 2)


if __name__ == "__main__":
    unittest.main()
