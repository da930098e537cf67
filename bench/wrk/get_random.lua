-- GET of a path with a random number in it. Args: the text before the number, the lowest and
-- highest number, the text after it (e.g. "/v1/orders?limit=20&customer_id=cust-" 0 999 "").
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "common.lua")
local before, lo, hi, after = "/v1/orders/seed-", 1, 100000, ""

function init(args)
    seed_thread()
    before = args[1] or before
    lo = tonumber(args[2]) or lo
    hi = tonumber(args[3]) or hi
    after = args[4] or after
end

function request()
    return wrk.format("GET", before .. math.random(lo, hi) .. after)
end
