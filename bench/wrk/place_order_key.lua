-- PlaceOrder with a unique Idempotency-Key per request, so the key row is written with the
-- event (as in bench/pgbench/place_order_idem.sql). Args: a run nonce keeping keys unique.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "common.lua")
local body = '{"customer_id":"bench-customer","currency":"EUR",' ..
    '"items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}]}'
local nonce, n = "", 0

function init(args)
    seed_thread()
    nonce = args[1] or tostring(os.time())
end

function request()
    n = n + 1
    local headers = {["Content-Type"] = "application/json",
                     ["Idempotency-Key"] = "bench-" .. nonce .. "-" .. tid .. "-" .. n}
    return wrk.format("POST", "/v1/orders", headers, body)
end
