-- Deposit of 1 cent on one of a few hot accounts (contention: writers race for each stream's
-- next version). Args: account id prefix, number of accounts.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "common.lua")
local prefix, count = "hot-", 4
local body = '{"amount_cents":1,"reference":"bench"}'
local headers = {["Content-Type"] = "application/json"}

function init(args)
    seed_thread()
    prefix = args[1] or prefix
    count = tonumber(args[2]) or count
end

function request()
    local path = "/v1/accounts/" .. prefix .. math.random(1, count) .. "/deposit"
    return wrk.format("POST", path, headers, body)
end
