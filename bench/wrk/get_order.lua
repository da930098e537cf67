-- GET /v1/orders/{id} of a random existing order. Args: order id prefix, number of orders.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "common.lua")
local prefix, count = "seed-", 100000

function init(args)
    seed_thread()
    prefix = args[1] or prefix
    count = tonumber(args[2]) or count
end

function request()
    return wrk.format("GET", "/v1/orders/" .. prefix .. math.random(1, count))
end
