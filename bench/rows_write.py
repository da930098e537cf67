"""bench/rows_write.py: the write side's rows (PlaceOrder, hot Deposit, TransferFunds, each
beside pgbench of its SQL) and the projection lag probe under a steady command load."""

import http.client
import json
import os
import threading
import time

import benchlib as bl

PLACE_ORDER = ('{"order_id":"%s","customer_id":"bench-customer","currency":"EUR",'
               '"items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}]}')


def _lua(name):
    return os.path.join(bl.BENCH, "wrk", name)


def _sql(name):
    return os.path.join(bl.BENCH, "pgbench", name)


def measure_command(b, url_path, lua, args, conns):
    """One wrk run against command-service, with its CPU, PostgreSQL's CPU and peak RSS."""
    c = b.service("command")
    w = bl.measure_wrk(c.proc.pid, b.cluster.postmaster_pid(), c.url + url_path, lua, conns,
                       b.o.secs, args)
    b.check(w["errors"] == 0, "wrk saw %d socket errors" % w["errors"])
    b.check(w["requests"] > w["non2xx"], "no 2xx answer at all")
    return w


def place_order(b, conns, keyed=False):
    lua = _lua("place_order_key.lua" if keyed else "place_order.lua")
    sql = _sql("place_order_idem.sql" if keyed else "place_order.sql")
    runs, ceil = [], []
    for rep in range(b.o.reps):
        nonce = "%d%d" % (int(time.time()), rep)
        w = measure_command(b, "/v1/orders", lua, [nonce] if keyed else [], conns)
        b.check(w["non2xx"] == 0, "PlaceOrder: %d non-2xx answers" % w["non2xx"])
        runs.append(w)
        ceil.append(b.pgbench(sql, conns)["tps"])
    key = "place_order%s_%d" % ("_key" if keyed else "", conns)
    name = "PlaceOrder%s, %d conns" % (" + Idempotency-Key" if keyed else "", conns)
    how = ("wrk -c%d, new order per request%s vs pgbench -c%d of bench/pgbench/%s (no NOTIFY)"
           % (conns, ", unique key" if keyed else " (server-generated id)", conns,
              os.path.basename(sql)))
    b.row(key, name + " commands/s", "/s", [w["ok_per_s"] for w in runs], ceil, ("ratio", 0.8),
          how)
    b.row(key + "_p50", name + " p50 latency", "ms", [w["p50_ms"] for w in runs])
    b.row(key + "_p99", name + " p99 latency", "ms", [w["p99_ms"] for w in runs])
    b.row(key + "_cpu", name + ": command-service CPU per 1000 commands", "ms",
          [w["cpu_ms_per_k"] for w in runs])
    b.row(key + "_pgcpu", name + ": PostgreSQL CPU per 1000 commands", "ms",
          [w["pg_cpu_ms_per_k"] for w in runs])
    if conns == max(b.o.conns) and not keyed:
        b.row("rss_command_load", "command-service RSS peak under load (PlaceOrder, %d conns)"
              % conns, "MB", [w["rss_peak"] for w in runs], target=("below", 50))
    if conns == 16 and not keyed:
        b.data["place_order_16"] = bl.summary([w["ok_per_s"] for w in runs])["median"]
        b.data["place_order_16_p50"] = bl.summary([w["p50_ms"] for w in runs])["median"]


def _log_count(b, needle, offset):
    with open(b.cluster.logfile, "rb") as f:
        f.seek(offset)
        return f.read().count(needle)


def _log_size(b):
    return os.path.getsize(b.cluster.logfile)


BATCH_SERIES = ("orderly_command_batch_size_sum", "orderly_command_batch_size_count")


def deposit_hot(b):
    """Fresh hot accounts each repetition, so every run starts from equally short streams."""
    n = b.o.hot_accounts
    runs, retries, ceil, lost, batch = [], [], [], [], []
    for rep in range(1, b.o.reps + 1):
        off = _log_size(b)
        url = b.service("command").url
        before = [bl.metric(url, s) for s in BATCH_SERIES]
        w = measure_command(b, "/", _lua("deposit_hot.lua"), ["hot%d-" % rep, n], 16)
        after = [bl.metric(url, s) for s in BATCH_SERIES]
        batches = after[1] - before[1]
        batch.append((after[0] - before[0]) / batches if batches else 1.0)
        time.sleep(0.2)  # the server log is written asynchronously by the backends
        retries.append(_log_count(b, b"events_stream_version_key", off) / w["secs"])
        runs.append(w)
        streams = "stream_id LIKE 'account-hotpg%d-%%'" % rep
        before = b.scalar("SELECT count(*) FROM events WHERE " + streams)
        p = b.pgbench(_sql("deposit_hot.sql"), 16, {"rep": rep, "accounts": n})
        appended = b.scalar("SELECT count(*) FROM events WHERE " + streams) - before
        ceil.append(appended / p["secs"])
        lost.append(max(0, p["transactions"] - appended) / p["secs"])
    how = ("wrk -c16 on %d hot accounts (fresh ones each repetition) vs pgbench -c16 of "
           "bench/pgbench/deposit_hot.sql counting appended rows" % n)
    b.row("deposit_hot", "Deposit, %d hot accounts, 16 conns, commands/s" % n, "/s",
          [w["ok_per_s"] for w in runs], ceil, None, how)
    b.row("deposit_hot_retries", "Deposit hot: internal retries/s (pgbench: lost races/s)",
          "/s", retries, lost, None,
          "service: unique violations on events_stream_version_key in the server log")
    b.row("deposit_hot_409", "Deposit hot: 409 answers/s (retries exhausted)", "/s",
          [w["non2xx_per_s"] for w in runs])
    b.row("deposit_hot_p99", "Deposit hot p99 latency", "ms", [w["p99_ms"] for w in runs])
    b.row("deposit_hot_batch", "Deposit hot: commands per append (mean batch)", "", batch, None,
          None, "orderly_command_batch_size_sum / _count over the run (1 before issue 15's "
          "batches)")


def deposit_spread(b):
    """The same Deposit on 1000 accounts (no stream shared for long): what a hot stream's
    figure is compared with (issue 15: hot >= 50% of this)."""
    n = b.o.transfer_accounts
    runs = [measure_command(b, "/", _lua("deposit_hot.lua"), ["xfer-", n], 16)
            for _ in range(b.o.reps)]
    b.row("deposit_spread", "Deposit, %d accounts, 16 conns, commands/s" % n, "/s",
          [w["ok_per_s"] for w in runs], None, None,
          "wrk -c16, bench/wrk/deposit_hot.lua over the %d transfer accounts" % n)
    b.row("deposit_spread_p99", "Deposit on %d accounts p99 latency" % n, "ms",
          [w["p99_ms"] for w in runs])


def place_order_one_connection(b):
    """Latency with no company: what batching or queueing must not make worse."""
    runs = [measure_command(b, "/v1/orders", _lua("place_order.lua"), [], 1)
            for _ in range(b.o.reps)]
    b.row("place_order_1", "PlaceOrder, 1 conn, commands/s", "/s", [w["ok_per_s"] for w in runs])
    b.row("place_order_1_p50", "PlaceOrder, 1 conn p50 latency", "ms", [w["p50_ms"] for w in runs])
    b.row("place_order_1_p99", "PlaceOrder, 1 conn p99 latency", "ms", [w["p99_ms"] for w in runs])


def transfers_by_pgbench(b, accounts):
    """Transfers/s that pgbench of transfer.sql appended. It runs on the service's own accounts
    (each load as long as the service's: on separate accounts, without the Deposit row's
    events, it read 2-3x fewer rows and the ratio fell from ~80% to ~65%); only pgbench appends
    meanwhile, so every TransferSent past the head is its."""
    head = b.scalar("SELECT coalesce(max(position), 0) FROM events")
    p = b.pgbench(_sql("transfer.sql"), 16, {"accounts": accounts})
    done = b.scalar("SELECT count(*) FROM events WHERE position > %d AND type = 'TransferSent'"
                    % head)
    return done / p["secs"]


def transfer(b):
    n = b.o.transfer_accounts
    runs, ceil = [], []
    for _ in range(b.o.reps):
        runs.append(measure_command(b, "/", _lua("transfer.lua"), ["xfer-", n], 16))
        ceil.append(transfers_by_pgbench(b, n))
    how = ("wrk -c16, random distinct pairs among %d accounts, vs pgbench -c16 of "
           "bench/pgbench/transfer.sql on the same accounts, counting appended transfers; "
           "non-2xx: %s" % (n, ",".join(str(w["non2xx"]) for w in runs)))
    b.row("transfer", "TransferFunds among %d accounts, 16 conns, commands/s" % n, "/s",
          [w["ok_per_s"] for w in runs], ceil, ("ratio", 0.8), how)
    b.row("transfer_p99", "TransferFunds p99 latency", "ms", [w["p99_ms"] for w in runs])


def _probe(b, rep, stop, lags, errors):
    """Command, then a read of it with min_position: the read's wait is the lag a client sees
    (plus one GET round trip), measured from the moment the command's 2xx arrived."""
    cc = http.client.HTTPConnection("127.0.0.1", b.service("command").port, timeout=30)
    qc = http.client.HTTPConnection("127.0.0.1", b.service("query").port, timeout=30)
    i = 0
    while not stop.is_set():
        i += 1
        oid = "lag-%d-%d" % (rep, i)
        cc.request("POST", "/v1/orders", PLACE_ORDER % oid, {"Content-Type": "application/json"})
        r = cc.getresponse()
        raw = r.read()
        if r.status != 201:
            errors.append("POST %d" % r.status)
            continue
        t0 = time.perf_counter()
        qc.request("GET", "/v1/orders/%s?min_position=%d&wait_ms=10000" % (
            oid, json.loads(raw)["position"]))
        r = qc.getresponse()
        r.read()
        if r.status == 200:
            lags.append((time.perf_counter() - t0) * 1000.0)
        else:
            errors.append("GET %d" % r.status)
        stop.wait(0.02)
    cc.close()
    qc.close()


# More connections than the max row's 16, so that a slow answer never leaves the schedule
# without a free connection.
PACED_CONNS = 32
# Issue 13's condition for the lag: p99 < 50 ms at 67% of the PlaceOrder maximum. (Until
# 2026-11-30 the probe aimed at 80% and reached 72-74%: a harder condition than the issue's.)
LAG_LOAD_SHARE = 0.67


def _paced(b, rate, secs):
    c = b.service("command")
    return bl.wrk(c.url + "/v1/orders", _lua("place_order_paced.lua"), PACED_CONNS, secs,
                  ["%.1f" % rate, min(2, PACED_CONNS)])


def lag(b):
    b.service("query")
    b.wait_caught_up(timeout=1800)
    top = b.data.get("place_order_16")
    b.check(top, "no PlaceOrder 16-connection rate to take a share of")
    target = LAG_LOAD_SHARE * top
    rates, p50, p99, worst, behind = [], [], [], [], []
    for rep in range(b.o.reps):
        lags, errors, stop = [], [], threading.Event()
        t = threading.Thread(target=_probe, args=(b, rep, stop, lags, errors))
        t.start()
        try:
            w = _paced(b, target, b.o.secs)
        finally:
            stop.set()
            t.join()
        b.check(not errors, "lag probe: %s" % errors[:5])
        b.check(lags, "lag probe made no sample")
        lags.sort()
        rates.append(w["ok_per_s"])
        p50.append(bl.percentile(lags, 50))
        p99.append(bl.percentile(lags, 99))
        worst.append(lags[-1])
        behind.append(b.projection()["lag_events"])  # steady falling behind shows here
    how = ("probe: PlaceOrder, then GET with min_position, ~40/s, while wrk -c%d sends "
           "PlaceOrder at a fixed %.0f/s (bench/wrk/place_order_paced.lua)"
           % (PACED_CONNS, target))
    b.row("lag_load", "command load during the lag probe vs max (PlaceOrder 16 conns)", "/s",
          rates, [top], None,
          "target %.0f%% of the max measured above" % (100 * LAG_LOAD_SHARE))
    b.row("lag_p50", "projection lag p50 (2xx -> view shows it)", "ms", p50, None, None, how)
    b.row("lag_p99", "projection lag p99", "ms", p99, None, ("below", 50), how)
    b.row("lag_max", "projection lag max", "ms", worst)
    b.row("lag_end", "events not yet projected when the load stops", "events", behind)
