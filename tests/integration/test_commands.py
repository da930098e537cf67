"""Write side, happy paths: every command of API.md over real HTTP, checking status, body,
Location, ETag and the rows stored in `events` (data and metadata)."""

import unittest

from cmd_support import UUID_RE, CommandTest, account_balance_history, stream_events
from harness import new_id

ITEMS = [{"sku": "sku-a", "quantity": 2, "unit_price_cents": 1250},
         {"sku": "sku-b", "quantity": 1, "unit_price_cents": 99}]
ITEMS_TOTAL = 2 * 1250 + 99


class PlaceOrderTest(CommandTest):
    def test_place_order_with_id(self):
        order_id, customer_id, corr = new_id("ord-"), new_id("cust-"), new_id("corr-")
        r = self.post("/v1/orders", {"order_id": order_id, "customer_id": customer_id,
                                     "currency": "EUR", "items": ITEMS},
                      headers={"X-Correlation-ID": corr})
        b = self.assert_success(r, 201, "order-" + order_id, 1, ["OrderPlaced"])
        self.assertEqual(b["id"], order_id)
        self.assertEqual(r.headers.get("Location"), "/v1/orders/" + order_id)
        self.assertEqual(b["events"][0]["stream_id"], "order-" + order_id)
        self.assertEqual(b["events"][0]["version"], 1)
        (row,) = self.assert_stored(b, "PlaceOrder", corr)
        self.assertEqual(row["data"], {"order_id": order_id, "customer_id": customer_id,
                                       "currency": "EUR", "items": ITEMS,
                                       "total_cents": ITEMS_TOTAL})

    def test_place_order_generates_uuid(self):
        customer_id = new_id("cust-")
        r = self.post("/v1/orders", {"customer_id": customer_id, "currency": "USD",
                                     "items": ITEMS[:1]})
        self.assertEqual(r.status, 201, r)
        order_id = r.body["id"]
        self.assertRegex(order_id, UUID_RE)
        b = self.assert_success(r, 201, "order-" + order_id, 1, ["OrderPlaced"])
        self.assertEqual(r.headers.get("Location"), "/v1/orders/" + order_id)
        (row,) = self.assert_stored(b, "PlaceOrder")
        self.assertEqual(row["data"]["order_id"], order_id)
        self.assertEqual(row["data"]["customer_id"], customer_id)
        self.assertEqual(row["data"]["total_cents"], 2500)

    def test_correlation_id_generated_when_absent(self):
        order_id, _ = self.place_order()
        (event,) = stream_events("order-" + order_id)
        self.assertTrue(event["metadata"]["correlation_id"])


class OrderLifecycleTest(CommandTest):
    def test_pay_order_writes_paid_and_withdrawn(self):
        account_id = self.open_account(balance=10000)
        order_id, total = self.place_order(items=ITEMS)
        corr = new_id("corr-")
        r = self.post("/v1/orders/%s/pay" % order_id,
                      {"account_id": account_id, "amount_cents": total},
                      headers={"X-Correlation-ID": corr})
        b = self.assert_success(r, 200, "order-" + order_id, 2, ["OrderPaid", "FundsWithdrawn"])
        self.assertEqual(b["id"], order_id)
        self.assertEqual([(e["stream_id"], e["version"]) for e in b["events"]],
                         [("order-" + order_id, 2), ("account-" + account_id, 3)])
        paid, withdrawn = self.assert_stored(b, "PayOrder", corr)
        self.assertEqual(paid["data"], {"order_id": order_id, "account_id": account_id,
                                        "amount_cents": total})
        self.assertEqual(withdrawn["data"], {"account_id": account_id, "amount_cents": total,
                                             "reference": "order:" + order_id})
        self.assertEqual(account_balance_history(account_id)[-1], 10000 - total)

    def test_ship_order(self):
        order_id, _, _ = self.paid_order()
        r = self.post("/v1/orders/%s/ship" % order_id,
                      {"carrier": "DHL", "tracking_number": "JD014600003SE"})
        b = self.assert_success(r, 200, "order-" + order_id, 3, ["OrderShipped"])
        (row,) = self.assert_stored(b, "ShipOrder")
        self.assertEqual(row["data"], {"order_id": order_id, "carrier": "DHL",
                                       "tracking_number": "JD014600003SE"})

    def test_cancel_placed_order_refunds_nothing(self):
        order_id, _ = self.place_order()
        r = self.post("/v1/orders/%s/cancel" % order_id, {"reason": "changed my mind"})
        b = self.assert_success(r, 200, "order-" + order_id, 2, ["OrderCancelled"])
        (row,) = self.assert_stored(b, "CancelOrder")
        self.assertEqual(row["data"], {"order_id": order_id, "reason": "changed my mind",
                                       "refunded_cents": 0})

    def test_cancel_paid_order_refunds_account(self):
        order_id, account_id, total = self.paid_order(balance=5000)
        r = self.post("/v1/orders/%s/cancel" % order_id, {"reason": "out of stock"})
        b = self.assert_success(r, 200, "order-" + order_id, 3,
                                ["OrderCancelled", "FundsDeposited"])
        self.assertEqual(b["events"][1]["stream_id"], "account-" + account_id)
        cancelled, refund = self.assert_stored(b, "CancelOrder")
        self.assertEqual(cancelled["data"], {"order_id": order_id, "reason": "out of stock",
                                             "refunded_cents": total})
        self.assertEqual(refund["data"], {"account_id": account_id, "amount_cents": total,
                                          "reference": "refund:" + order_id})
        self.assertEqual(account_balance_history(account_id)[-1], 5000)


class AccountCommandsTest(CommandTest):
    def test_open_account_with_id(self):
        account_id, owner = new_id("acc-"), new_id("owner-")
        r = self.post("/v1/accounts", {"account_id": account_id, "owner": owner,
                                       "currency": "GBP", "overdraft_limit_cents": 500})
        b = self.assert_success(r, 201, "account-" + account_id, 1, ["AccountOpened"])
        self.assertEqual(b["id"], account_id)
        self.assertEqual(r.headers.get("Location"), "/v1/accounts/" + account_id)
        (row,) = self.assert_stored(b, "OpenAccount")
        # The owner is stored sealed with the account's key (docs/forgetting.md).
        sealed = row["data"].pop("owner")
        self.assertTrue(sealed.startswith("enc:v1:") and owner not in sealed, sealed)
        self.assertEqual(row["data"], {"account_id": account_id,
                                       "currency": "GBP", "overdraft_limit_cents": 500})

    def test_open_account_generates_uuid_and_default_overdraft(self):
        r = self.post("/v1/accounts", {"owner": "someone", "currency": "EUR"})
        self.assertEqual(r.status, 201, r)
        account_id = r.body["id"]
        self.assertRegex(account_id, UUID_RE)
        b = self.assert_success(r, 201, "account-" + account_id, 1, ["AccountOpened"])
        self.assertEqual(r.headers.get("Location"), "/v1/accounts/" + account_id)
        (row,) = self.assert_stored(b, "OpenAccount")
        self.assertEqual(row["data"]["overdraft_limit_cents"], 0)

    def test_deposit_and_withdraw(self):
        account_id = self.open_account()
        corr = new_id("corr-")
        r = self.post("/v1/accounts/%s/deposit" % account_id,
                      {"amount_cents": 700, "reference": "salary"},
                      headers={"X-Correlation-ID": corr})
        b = self.assert_success(r, 200, "account-" + account_id, 2, ["FundsDeposited"])
        self.assertEqual(b["id"], account_id)
        (row,) = self.assert_stored(b, "Deposit", corr)
        self.assertEqual(row["data"], {"account_id": account_id, "amount_cents": 700,
                                       "reference": "salary"})
        r = self.post("/v1/accounts/%s/withdraw" % account_id,
                      {"amount_cents": 300, "reference": "atm"})
        b = self.assert_success(r, 200, "account-" + account_id, 3, ["FundsWithdrawn"])
        (row,) = self.assert_stored(b, "Withdraw")
        self.assertEqual(row["data"], {"account_id": account_id, "amount_cents": 300,
                                       "reference": "atm"})
        self.assertEqual(account_balance_history(account_id), [0, 700, 400])

    def test_withdraw_into_overdraft(self):
        account_id = self.open_account(overdraft=1000, balance=100)
        r = self.post("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 1100})
        self.assert_success(r, 200, "account-" + account_id, 3, ["FundsWithdrawn"])
        self.assertEqual(account_balance_history(account_id)[-1], -1000)

    def test_transfer_funds(self):
        src, dst = self.open_account(balance=1000), self.open_account()
        transfer_id = new_id("tr-")
        r = self.post("/v1/transfers", {"transfer_id": transfer_id, "from_account_id": src,
                                        "to_account_id": dst, "amount_cents": 250})
        b = self.assert_success(r, 201, "account-" + src, 3, ["TransferSent", "TransferReceived"])
        self.assertEqual(r.headers.get("Location"), "/v1/accounts/" + src)
        self.assertIn(b["id"], (transfer_id, src))
        self.assertEqual([(e["stream_id"], e["version"]) for e in b["events"]],
                         [("account-" + src, 3), ("account-" + dst, 2)])
        sent, received = self.assert_stored(b, "TransferFunds")
        data = {"transfer_id": transfer_id, "from_account_id": src, "to_account_id": dst,
                "amount_cents": 250}
        self.assertEqual(sent["data"], data)
        self.assertEqual(received["data"], data)
        self.assertEqual(account_balance_history(src)[-1], 750)
        self.assertEqual(account_balance_history(dst)[-1], 250)

    def test_transfer_generates_id(self):
        src, dst = self.open_account(balance=10), self.open_account()
        r = self.post("/v1/transfers", {"from_account_id": src, "to_account_id": dst,
                                        "amount_cents": 10})
        b = self.assert_success(r, 201, "account-" + src, 3, ["TransferSent", "TransferReceived"])
        sent, received = self.assert_stored(b, "TransferFunds")
        self.assertRegex(sent["data"]["transfer_id"], UUID_RE)
        self.assertEqual(sent["data"]["transfer_id"], received["data"]["transfer_id"])

    def test_close_account(self):
        account_id = self.open_account(balance=100)
        self.post("/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 100})
        r = self.post("/v1/accounts/%s/close" % account_id, {})
        b = self.assert_success(r, 200, "account-" + account_id, 4, ["AccountClosed"])
        (row,) = self.assert_stored(b, "CloseAccount")
        self.assertEqual(row["data"], {"account_id": account_id})


class ConditionalWriteTest(CommandTest):
    def test_if_match_current_version_succeeds(self):
        account_id = self.open_account()
        r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 5},
                      headers={"If-Match": '"1"'})
        self.assert_success(r, 200, "account-" + account_id, 2, ["FundsDeposited"])
        r = self.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": 5},
                      headers={"If-Match": r.headers["ETag"]})
        self.assert_success(r, 200, "account-" + account_id, 3, ["FundsDeposited"])

    def test_if_match_mismatch_is_412(self):
        account_id = self.open_account(balance=50)
        r = self.assert_writes_nothing(lambda: self.post(
            "/v1/accounts/%s/withdraw" % account_id, {"amount_cents": 5},
            headers={"If-Match": '"1"'}))
        self.assert_problem(r, 412, "precondition-failed")
        self.assertEqual(len(stream_events("account-" + account_id)), 2)


if __name__ == "__main__":
    unittest.main()
