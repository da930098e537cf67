"""Hostile JSON and headers: deep nesting, 10 MB strings, invalid UTF-8, NUL bytes, duplicate
keys, huge numbers and a wrong type in every field of every command. Each is a clear 4xx
problem+json and writes nothing."""

import json

from cmd_support import CommandTest, events_count
from harness import new_id

# One valid body per command: hostile variants change one thing and nothing else.
VALID = {
    "PlaceOrder": ("/v1/orders", {"customer_id": "c1", "currency": "EUR", "items": [
        {"sku": "s", "quantity": 1, "unit_price_cents": 100}]}),
    "PayOrder": ("/v1/orders/{order}/pay", {"account_id": "{account}", "amount_cents": 100}),
    "ShipOrder": ("/v1/orders/{order}/ship", {"carrier": "dhl", "tracking_number": "t1"}),
    "CancelOrder": ("/v1/orders/{order}/cancel", {"reason": "r"}),
    "OpenAccount": ("/v1/accounts", {"owner": "o", "currency": "EUR",
                                     "overdraft_limit_cents": 0}),
    "Deposit": ("/v1/accounts/{account}/deposit", {"amount_cents": 1, "reference": "r"}),
    "Withdraw": ("/v1/accounts/{account}/withdraw", {"amount_cents": 1, "reference": "r"}),
    "TransferFunds": ("/v1/transfers", {"from_account_id": "{account}",
                                        "to_account_id": "{account2}", "amount_cents": 1}),
    "CloseAccount": ("/v1/accounts/{account}/close", {}),
}
TEXT_FIELDS = {"customer_id", "currency", "account_id", "carrier", "tracking_number", "reason",
               "owner", "reference", "from_account_id", "to_account_id", "order_id",
               "transfer_id", "sku"}
# Values of every JSON type but the right one; money and counts also refuse reals and strings.
WRONG_FOR_TEXT = [1, 1.5, True, None, [], {}]
WRONG_FOR_INT = ["1", 1.5, 1.0, True, None, [], {}, -1]
# validate.c treats null as absent, so null in an optional field is a valid request.
OPTIONAL = {"order_id", "account_id", "transfer_id", "overdraft_limit_cents", "reference"}


class HostileJsonTest(CommandTest):
    def setUp(self):
        super().setUp()
        self.account = self.open_account(balance=1000)
        self.account2 = self.open_account()
        self.order, _ = self.place_order()

    def fill(self, text):
        return (text.replace("{order}", self.order).replace("{account2}", self.account2)
                .replace("{account}", self.account))

    def body_of(self, name):
        path, body = VALID[name]
        return self.fill(path), json.loads(self.fill(json.dumps(body)))

    def post_raw(self, path, raw, **kw):
        return self.client.post(path, raw=raw, headers=dict(
            {"Content-Type": "application/json"}, **kw))

    def assert_refused(self, r, status, slug=None):
        body = self.assert_problem(r, status, slug)
        self.assertTrue(body["detail"], body)
        return body

    def test_deep_nesting(self):
        before = events_count()
        r = self.post_raw("/v1/orders", b"[" * 100000)
        self.assert_refused(r, 413, "payload-too-large")
        r = self.post_raw("/v1/orders", b"[" * 30000 + b"]" * 30000)  # under the 64 KiB cap
        self.assert_refused(r, 400, "malformed-json")
        r = self.post_raw("/v1/orders", b'{"items":' + b"[" * 20000 + b"]" * 20000 + b"}")
        self.assertIn(r.status, (400, 422), r)
        self.assertEqual(events_count(), before)

    def test_ten_megabyte_string(self):
        before = events_count()
        path, body = self.body_of("OpenAccount")
        raw = json.dumps(dict(body, owner="x" * (10 << 20))).encode()
        self.assert_refused(self.post_raw(path, raw), 413, "payload-too-large")
        # Under the cap but over the field limit: a 422 naming the field.
        raw = json.dumps(dict(body, owner="x" * 60000)).encode()
        problem = self.assert_refused(self.post_raw(path, raw), 422, "validation-error")
        self.assertIn("owner", [e["field"] for e in problem["errors"]])
        self.assertEqual(events_count(), before)

    def test_invalid_utf8_and_nul(self):
        before = events_count()
        path, body = self.body_of("OpenAccount")
        text = json.dumps(body)
        cases = [
            text.replace('"o"', '"\xff\xfe"').encode("latin-1"),  # not UTF-8 at all
            text.replace('"o"', '"a').encode() + b"\xc3\"}",  # truncated sequence
            text.replace('"o"', '"\xed\xa0\x80"').encode("latin-1"),  # a UTF-16 surrogate
            text.replace('"o"', '"a\\u0000b"').encode(),  # escaped NUL
            text.replace('"o"', '"a').encode() + b"\x00b\"}",  # raw NUL byte
            text.replace('"o"', '"\\ud800"').encode(),  # lone surrogate escape
        ]
        for raw in cases:
            with self.subTest(raw=raw[:60]):
                r = self.post_raw(path, raw)
                self.assertIn(r.status, (400, 422), r)
                self.assert_refused(r, r.status)
        self.assertEqual(events_count(), before)

    def test_duplicate_keys(self):
        before = events_count()
        path, _ = self.body_of("Deposit")
        r = self.post_raw(path, b'{"amount_cents": 1, "amount_cents": 1000000}')
        self.assert_refused(r, 400, "malformed-json")
        self.assertEqual(events_count(), before)

    def test_huge_and_inexact_numbers(self):
        before = events_count()
        path, _ = self.body_of("Deposit")
        for raw, status in ((b'{"amount_cents": 1e400}', 400),
                            (b'{"amount_cents": -1e400}', 400),
                            (b'{"amount_cents": 9007199254740993}', 422),
                            (b'{"amount_cents": 99999999999999999999999}', 400),
                            (b'{"amount_cents": 1e3}', 422),
                            (b'{"amount_cents": 10.0}', 422),
                            (b'{"amount_cents": -0}', 422),
                            (b'{"amount_cents": NaN}', 400)):
            with self.subTest(raw=raw):
                self.assert_refused(self.post_raw(path, raw), status)
        self.assertEqual(events_count(), before)

    def test_wrong_type_in_every_field(self):
        before = events_count()
        for name in VALID:
            path, body = self.body_of(name)
            for field in body:
                wrong = WRONG_FOR_TEXT if field in TEXT_FIELDS else WRONG_FOR_INT
                if field == "items":
                    wrong = ["x", 1, {}, None, [1], [[]], [{"sku": 1, "quantity": "1",
                                                           "unit_price_cents": 1.5}]]
                for value in wrong:
                    if value is None and field in OPTIONAL and name != "PayOrder":
                        continue
                    with self.subTest(command=name, field=field, value=value):
                        r = self.post(path, dict(body, **{field: value}))
                        problem = self.assert_refused(r, 422, "validation-error")
                        fields = [e["field"] for e in problem.get("errors", [])]
                        self.assertTrue(any(f.split("[")[0].split(".")[0] == field
                                            for f in fields), (field, fields))
            with self.subTest(command=name, field="(unknown)"):
                r = self.post(path, dict(body, **{"unknown_" + new_id()[:6]: 1}))
                self.assert_refused(r, 422, "validation-error")
            with self.subTest(command=name, field="(not an object)"):
                for raw in (b"[]", b'"x"', b"1", b"null", b"true"):
                    self.assert_refused(self.post_raw(path, raw), 400, "malformed-json")
        self.assertEqual(events_count(), before)

    def test_hostile_metadata_headers_are_not_fatal(self):
        """Bytes that are not UTF-8 in X-Causation-ID/X-Actor once made metadata NULL and the
        command a 500; they are now ignored like an over-long value."""
        path, body = self.body_of("Deposit")
        before = events_count()
        r = self.post(path, body, headers={"X-Causation-ID": "\xff\xfe",
                                           "X-Actor": "\xe9" * 10})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(events_count(), before + 1)
