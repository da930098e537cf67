-- TransferFunds of 1 cent between two distinct random accounts out of N (server-generated
-- transfer id). Args: account id prefix, number of accounts.
dofile((debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "") .. "common.lua")
local prefix, count = "xfer-", 1000
local headers = {["Content-Type"] = "application/json"}

function init(args)
    seed_thread()
    prefix = args[1] or prefix
    count = tonumber(args[2]) or count
end

function request()
    local a = math.random(1, count)
    local b = (a + math.random(1, count - 1) - 1) % count + 1
    local body = '{"from_account_id":"' .. prefix .. a .. '","to_account_id":"' .. prefix .. b ..
        '","amount_cents":1}'
    return wrk.format("POST", "/v1/transfers", headers, body)
end
