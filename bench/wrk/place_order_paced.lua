-- PlaceOrder (server-generated id) at a fixed rate, for a steady load below the maximum while
-- the lag probe runs. Args: total commands/s, wrk threads. Each thread keeps an absolute
-- schedule of send times (a pause after an answer would make the rate depend on latency), and
-- its idle connections take the next free slot; a late schedule sends at once.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer_id":"bench-customer","currency":"EUR",' ..
    '"items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}]}'
local interval_ms, next_ms = 1, nil

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

function init(args)
    local rate, threads = tonumber(args[1]) or 1000, tonumber(args[2]) or 2
    interval_ms = threads * 1000.0 / rate
end

function delay()
    local now = now_ms()
    next_ms = (next_ms or now) + interval_ms
    local wait = next_ms - now
    return wait > 0 and math.floor(wait + 0.5) or 0
end
