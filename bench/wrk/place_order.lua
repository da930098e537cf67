-- PlaceOrder with a server-generated order id, so every request creates a new order.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer_id":"bench-customer","currency":"EUR",' ..
    '"items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}]}'
