"""bench/rows_read.py: the read side's rows: replay from position 0 against a plain SELECT of
the same rows, GET /v1/orders/{id} against pgbench + a fixed-body server, idle RSS."""

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


def get_order(b):
    q = b.service("query")
    b.wait_caught_up()
    n = b.o.orders
    status, body = b.http(q.port, "GET", "/v1/orders/seed-1")
    b.check(status == 200, "GET /v1/orders/seed-1 answered %d" % status)
    select = b.statement_sql("ST_ORDER_GET", {1: "('seed-' || :id)"})
    script = b.write_script("get_order.sql", "\\set id random(1, %d)\n%s;\n" % (n, select))
    lua = bl.os.path.join(bl.BENCH, "wrk", "get_order.lua")
    proc, port = b.fixed_body_server(body)
    svc, pgb, fixed, ceil, p50, p99, cpu_per_k, peaks = ([] for _ in range(8))
    try:
        for _ in range(b.o.reps):
            cpu0 = bl.cpu_seconds(q.proc.pid)
            with bl.RssSampler({"query": q.proc.pid}) as rss:
                w = bl.wrk(q.url, lua, 16, b.o.secs, ["seed-", n])
            b.check(w["non2xx"] == 0 and w["errors"] == 0,
                    "GET: %d non-2xx, %d socket errors" % (w["non2xx"], w["errors"]))
            cpu_per_k.append((bl.cpu_seconds(q.proc.pid) - cpu0) * 1e6 / max(1, w["requests"]))
            peaks.append(rss.peaks["query"])
            svc.append(w["ok_per_s"])
            p50.append(w["p50_ms"])
            p99.append(w["p99_ms"])
            a = b.pgbench(script, 16)["tps"]
            f = bl.wrk("http://127.0.0.1:%d" % port, lua, 16, b.o.secs, ["seed-", n])
            pgb.append(a)
            fixed.append(f["ok_per_s"])
            ceil.append(1.0 / (1.0 / a + 1.0 / f["ok_per_s"]))
    finally:
        proc.terminate()
        proc.wait()
    how = ("wrk, 16 connections, random ids among %d orders; ceiling 1/(1/a+1/b) with a = "
           "pgbench of ST_ORDER_GET, b = a libmicrohttpd server with the same flags and thread "
           "count answering the same %d-byte body" % (n, len(body)))
    b.row("get_order", "GET /v1/orders/{id} req/s, 16 conns", "req/s", svc, ceil, ("ratio", 0.7),
          how)
    b.row("get_order_p50", "GET /v1/orders/{id} p50 latency", "ms", p50)
    b.row("get_order_p99", "GET /v1/orders/{id} p99 latency", "ms", p99)
    b.row("get_ceiling_pg", "ceiling part a: pgbench ST_ORDER_GET, 16 clients", "tx/s", pgb)
    b.row("get_ceiling_http", "ceiling part b: fixed-body libmicrohttpd, 16 conns", "req/s",
          fixed)
    b.row("get_cpu", "query-service CPU per 1000 GETs", "ms", cpu_per_k)
    b.row("rss_query_load", "query-service RSS peak under GET load", "MB", peaks,
          target=("below", 50))
