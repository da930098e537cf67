"""bench/rows_read.py: the read side's rows: replay from position 0 against a plain SELECT of
the same rows; GET of an order, of a customer's orders and of an account, each against pgbench
of its statement + a fixed-body server; idle RSS."""

import time

import benchlib as bl


def reset_read_model(b):
    """Empties every read table and rewinds the checkpoint, as a rebuild from scratch would."""
    tables = [r[0] for r in b.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                  "AND tablename LIKE 'rm\\_%'")]
    if tables:
        b.sql("TRUNCATE %s" % ", ".join(tables))
    b.sql("UPDATE projections SET position = 0, status = 'running', error = NULL")


def replay_once(b):
    """Seconds from starting query-service at position 0 to lag 0, its CPU and peak RSS."""
    b.stop("query")
    reset_read_model(b)
    t0 = time.monotonic()
    svc = b.service("query")
    with bl.RssSampler({"query": svc.proc.pid}) as rss:
        b.wait_caught_up(timeout=1800, poll=0.05)
        secs = time.monotonic() - t0
    return secs, bl.cpu_seconds(svc.proc.pid), rss.peaks["query"]


def replay(b):
    events = b.scalar("SELECT count(*) FROM events")
    head = b.scalar("SELECT max(position) FROM events")
    select = b.statement_sql("ST_PROJ_EVENTS", {1: "0", 2: str(head), 3: str(head)})
    script = b.write_script("replay_select.sql", select + ";\n")
    rates, ceil, cpu_per_k, peaks = [], [], [], []
    for _ in range(b.o.reps):
        secs, cpu, peak = replay_once(b)
        rates.append(events / secs)
        cpu_per_k.append(cpu * 1000.0 / events * 1000.0)
        peaks.append(peak)
        r = bl.pgbench(b.cluster, script, 1, transactions=1)
        ceil.append(events * r["tps"])
    b.row("replay", "Replay from position 0 (%d events), events/s" % events, "events/s", rates,
          ceil, ("ratio", 0.5),
          "query-service started on an emptied read model until /v1/projections shows lag 0 "
          "(includes process start) vs pgbench running the projector's own SELECT "
          "(ST_PROJ_EVENTS) over all rows in position order")
    b.row("replay_cpu", "query-service CPU per 1000 events replayed", "ms", cpu_per_k)
    b.row("rss_query_replay", "query-service RSS peak during replay", "MB", peaks,
          target=("below", 50))


def idle_rss(b):
    """Both services up, caught up and unloaded: three samples 300 ms apart (smoke: 10)."""
    for kind in ("command", "query"):
        pid = b.service(kind).proc.pid
        samples = []
        for _ in range(3):
            samples.append(bl.rss_mb(pid))
            time.sleep(0.01 if b.o.smoke else 0.3)
        b.row("rss_%s_idle" % kind, "%s RSS idle" % b.env.SERVICES[kind][0], "MB", samples,
              target=("below", 50))


def _get_row(b, key, title, path, ids, statement, params, target, unit_desc):
    """One GET row against its same-run ceiling 1/(1/a + 1/b): a = pgbench of the service's
    own statement (params: $n -> pgbench expressions of :id), b = a fixed-body libmicrohttpd
    server (the services' flags and thread count) answering the body of the first id.
    path: (text before the id, text after it); ids: (lowest, highest)."""
    q = b.service("query")
    b.wait_caught_up()
    status, body = b.http(q.port, "GET", path[0] + str(ids[0]) + path[1])
    b.check(status == 200, "GET %s%d%s answered %d" % (path[0], ids[0], path[1], status))
    select = b.statement_sql(statement, params)
    script = b.write_script(key + ".sql",
                            "\\set id random(%d, %d)\n%s;\n" % (ids[0], ids[1], select))
    lua = bl.os.path.join(bl.BENCH, "wrk", "get_random.lua")
    args = [path[0], ids[0], ids[1], path[1]]
    proc, port = b.fixed_body_server(body)
    svc, pgb, fixed, ceil, p50, p99, cpu_per_k, peaks = ([] for _ in range(8))
    try:
        for _ in range(b.o.reps):
            cpu0 = bl.cpu_seconds(q.proc.pid)
            with bl.RssSampler({"query": q.proc.pid}) as rss:
                w = bl.wrk(q.url, lua, 16, b.o.secs, args)
            b.check(w["non2xx"] == 0 and w["errors"] == 0,
                    "%s: %d non-2xx, %d socket errors" % (key, w["non2xx"], w["errors"]))
            cpu_per_k.append((bl.cpu_seconds(q.proc.pid) - cpu0) * 1e6 / max(1, w["requests"]))
            peaks.append(rss.peaks["query"])
            svc.append(w["ok_per_s"])
            p50.append(w["p50_ms"])
            p99.append(w["p99_ms"])
            a = b.pgbench(script, 16)["tps"]
            f = bl.wrk("http://127.0.0.1:%d" % port, lua, 16, b.o.secs, args)
            pgb.append(a)
            fixed.append(f["ok_per_s"])
            ceil.append(1.0 / (1.0 / a + 1.0 / f["ok_per_s"]))
    finally:
        proc.terminate()
        proc.wait()
    how = ("wrk, 16 connections, %s; ceiling 1/(1/a+1/b) with a = pgbench of %s, b = a "
           "libmicrohttpd server with the same flags and thread count answering the same "
           "%d-byte body" % (unit_desc, statement, len(body)))
    b.row(key, "%s req/s, 16 conns" % title, "req/s", svc, ceil, target, how)
    b.row(key + "_p50", "%s p50 latency" % title, "ms", p50)
    b.row(key + "_p99", "%s p99 latency" % title, "ms", p99)
    b.row(key + "_ceiling_pg", "ceiling part a: pgbench %s, 16 clients" % statement, "tx/s", pgb)
    b.row(key + "_ceiling_http", "ceiling part b: fixed-body libmicrohttpd, 16 conns", "req/s",
          fixed)
    b.row(key + "_cpu", "query-service CPU per 1000 requests (%s)" % title, "ms", cpu_per_k)
    return peaks


def get_order(b):
    n = b.o.orders
    peaks = _get_row(b, "get_order", "GET /v1/orders/{id}", ("/v1/orders/seed-", ""), (1, n),
                     "ST_ORDER_GET", {1: "('seed-' || :id)"}, ("ratio", 0.85),
                     "random ids among %d orders" % n)
    b.row("rss_query_load", "query-service RSS peak under GET load", "MB", peaks,
          target=("below", 50))


def get_order_list(b):
    """A customer's newest 20 orders (the seed gives 1000 customers ~n/1000 orders each)."""
    _get_row(b, "get_orders_customer", "GET /v1/orders?customer_id=…&limit=20",
             ("/v1/orders?limit=20&customer_id=cust-", ""), (0, 999), "ST_ORDERS_CUSTOMER",
             {1: "9223372036854775807", 2: "21", 3: "('cust-' || :id)"}, ("ratio", 0.6),
             "random customers among 1000, first page of 20")


def get_account(b):
    n = b.o.transfer_accounts
    _get_row(b, "get_account", "GET /v1/accounts/{id}", ("/v1/accounts/xfer-", ""), (1, n),
             "ST_ACCOUNT_GET", {1: "('xfer-' || :id)"}, ("ratio", 0.6),
             "random ids among %d accounts" % n)
