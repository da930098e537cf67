"""Write side, Idempotency-Key: byte-for-byte replays, key reuse with another body, one run under
50 concurrent duplicates, refusals replayed, validation errors not stored."""

import unittest

import harness
from cmd_support import CommandTest, events_count, run_concurrently, stream_events
from harness import new_id, sql_literal, sql_value


class IdempotencyTest(CommandTest):
    def test_replay_returns_first_response(self):
        account_id = self.open_account()
        key = new_id("key-")
        path = "/v1/accounts/%s/deposit" % account_id
        first = self.post(path, {"amount_cents": 40}, headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 200, first)
        self.assertNotEqual(first.headers.get("Idempotent-Replayed", "").lower(), "true")
        before = events_count()
        again = self.post(path, {"amount_cents": 40}, headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.raw, first.raw)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(again.headers.get("ETag"), first.headers.get("ETag"))
        self.assertEqual(events_count(), before)
        self.assertEqual(len(stream_events("account-" + account_id)), 2)

    def test_replay_of_created_keeps_location(self):
        key = new_id("key-")
        body = {"owner": "idem", "currency": "EUR"}  # no id: a second run would make another
        first = self.post("/v1/accounts", body, headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        again = self.assert_writes_nothing(
            lambda: self.post("/v1/accounts", body, headers={"Idempotency-Key": key}))
        self.assertEqual((again.status, again.raw), (201, first.raw))
        self.assertEqual(again.headers.get("Location"), first.headers.get("Location"))
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")

    def test_same_key_other_request_is_422(self):
        account_id = self.open_account()
        key = new_id("key-")
        path = "/v1/accounts/%s/deposit" % account_id
        self.assertEqual(self.post(path, {"amount_cents": 1},
                                   headers={"Idempotency-Key": key}).status, 200)
        for other_path, body in ((path, {"amount_cents": 2}),
                                 ("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 1})):
            with self.subTest(path=other_path, body=body):
                r = self.assert_writes_nothing(lambda: self.post(
                    other_path, body, headers={"Idempotency-Key": key}))
                self.assert_problem(r, 422)

    def test_concurrent_duplicates_run_once(self):
        key, customer_id = new_id("key-"), new_id("cust-")
        body = {"customer_id": customer_id, "currency": "EUR",
                "items": [{"sku": "s", "quantity": 1, "unit_price_cents": 5}]}

        def send(_):
            c = harness.command()
            try:
                return c.post("/v1/orders", body, headers={"Idempotency-Key": key})
            finally:
                c.close()

        results = run_concurrently(50, send)
        errors = [r for r in results if isinstance(r, BaseException)]
        self.assertEqual(errors, [])
        self.assertEqual([r.status for r in results], [201] * 50,
                         [r for r in results if r.status != 201][:3])
        self.assertEqual(len({r.raw for r in results}), 1, "answers differ")
        replayed = [r for r in results if r.headers.get("Idempotent-Replayed") == "true"]
        self.assertEqual(len(replayed), 49)
        n = sql_value("SELECT count(*) FROM events WHERE data->>'customer_id' = %s"
                      % sql_literal(customer_id))
        self.assertEqual(n, "1")

    def test_refusal_is_replayed(self):
        account_id = self.open_account(balance=10)
        key = new_id("key-")
        path = "/v1/accounts/%s/withdraw" % account_id
        first = self.post(path, {"amount_cents": 50}, headers={"Idempotency-Key": key})
        self.assert_problem(first, 409, "insufficient-funds")
        self.deposit(account_id, 1000)  # now it would succeed if it ran again
        again = self.assert_writes_nothing(
            lambda: self.post(path, {"amount_cents": 50}, headers={"Idempotency-Key": key}))
        self.assertEqual((again.status, again.raw), (409, first.raw))
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")

    def test_validation_error_is_not_stored(self):
        account_id = self.open_account()
        key = new_id("key-")
        path = "/v1/accounts/%s/deposit" % account_id
        bad = self.post(path, {"amount_cents": -5}, headers={"Idempotency-Key": key})
        self.assert_problem(bad, 422, "validation-error")
        good = self.post(path, {"amount_cents": 5}, headers={"Idempotency-Key": key})
        self.assert_success(good, 200, "account-" + account_id, 2, ["FundsDeposited"])
        self.assertNotEqual(good.headers.get("Idempotent-Replayed", "").lower(), "true")

    def test_key_is_stored_with_the_events(self):
        account_id = self.open_account()
        key = new_id("key-")
        r = self.deposit(account_id, 3, headers={"Idempotency-Key": key})
        # The stored key may be scoped (e.g. by actor), so match it as a substring.
        row = harness.sql("SELECT status, body FROM idempotency_keys WHERE strpos(key, %s) > 0"
                          % sql_literal(key))
        self.assertEqual(len(row), 1)
        self.assertEqual(int(row[0][0]), 200)
        self.assertEqual(row[0][1].encode(), r.raw)


if __name__ == "__main__":
    unittest.main()
