#!/usr/bin/env python3
"""Interleaved A/B of GET /v1/orders/{id} (wrk, 16 connections, random ids among the bench's
100 000 seeded orders) across query-service builds on one production-durability cluster: req/s,
p99, query-service CPU and PostgreSQL CPU per 1000 GETs. The variant value CEILING measures the
same-run ceiling instead, as bench/run does: 1/(1/a + 1/b), a = pgbench of ST_ORDER_GET with 16
clients, b = bench/tools/fixed_body answering the first order's body.
Usage: bench/ab_get_order.py [--rounds 3] [--secs 5] NAME=BUILD_DIR[:VAR=VALUE,...] ...
(e.g. base=/tmp/base/build-rel new=build-rel:DB_POOL_SIZE=16 ceil=CEILING)."""

import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_core  # noqa: E402
import benchlib as bl  # noqa: E402

LUA = os.path.join(HERE, "wrk", "get_random.lua")


class Setup:
    """The cluster, seeded once and caught up, shared by every run."""

    def __init__(self, first_build, secs):
        os.environ["ORDERLY_BUILD_DIR"] = first_build
        self.env = bl.BenchEnv()
        tools = bl.build_tools(self.env.run_dir)
        self.env.start()
        opts = bench_core.Options(False, reps=1, secs=secs, events=200000)
        self.b = bench_core.Bench(opts, self.env, tools, self.env.run_dir)
        self.b.seed()
        self.args = ["/v1/orders/seed-", 1, opts.orders, ""]
        self.secs = secs

    def service(self, build, extra):
        env = self.env.service_env()
        env.update(extra)
        binary = os.path.join(build, "query-service", "query-service")
        svc = bl.oe.Service("query-service", binary, env, bl.oe.free_port(), self.env.run_dir)
        svc.start(ready=True)
        head = self.b.scalar("SELECT coalesce(max(position), 0) FROM events")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status, raw = self.b.http(svc.port, "GET", "/v1/projections")
            if status == 200 and json.loads(raw)[0]["position"] >= head:
                return svc
            time.sleep(0.1)
        raise bl.BenchError("not caught up")

    def get_run(self, build, extra):
        svc = self.service(build, extra)
        try:
            w = bl.measure_wrk(svc.proc.pid, self.env.cluster.postmaster_pid(), svc.url, LUA, 16,
                               self.secs, self.args)
            if w["non2xx"] or w["errors"]:
                raise bl.BenchError("%d non-2xx, %d errors" % (w["non2xx"], w["errors"]))
            return {"req/s": w["ok_per_s"], "p99 ms": w["p99_ms"],
                    "service ms/k": w["cpu_ms_per_k"], "pg ms/k": w["pg_cpu_ms_per_k"]}
        finally:
            svc.stop()

    def ceiling_run(self, build):
        svc = self.service(build, {})
        try:
            status, body = self.b.http(svc.port, "GET", "/v1/orders/seed-1")
        finally:
            svc.stop()
        select = self.b.statement_sql("ST_ORDER_GET", {1: "('seed-' || :id)"})
        script = self.b.write_script("ab_get.sql", "\\set id random(1, %d)\n%s;\n"
                                     % (self.args[2], select))
        a = self.b.pgbench(script, 16)["tps"]
        proc, port = self.b.fixed_body_server(body)
        try:
            f = bl.wrk("http://127.0.0.1:%d" % port, LUA, 16, self.secs, self.args)["ok_per_s"]
        finally:
            proc.terminate()
            proc.wait()
        return {"req/s": 1.0 / (1.0 / a + 1.0 / f), "pgbench tx/s": a, "fixed req/s": f}


def main():
    ap = bl.ab_parser("NAME=BUILD_DIR[:VAR=VALUE,...]")
    ap.add_argument("--hold", type=int, default=0,
                    help="instead: start the first variant, print its pid and url, keep it up "
                    "this many seconds (for perf or strace by hand)")
    a = ap.parse_args()
    # A background run ignores SIGINT: SIGTERM ends it through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    builds = [v.partition("=")[2].partition(":")[0] for v in a.variants]
    first = os.path.abspath(next(b for b in builds if b != "CEILING"))
    setup = Setup(first, a.secs)

    def run(value):
        build, _, extra = value.partition(":")
        if build == "CEILING":
            return setup.ceiling_run(first)
        env = dict(kv.split("=", 1) for kv in extra.split(",") if kv)
        return setup.get_run(os.path.abspath(build), env)
    try:
        if a.hold:
            build, _, extra = a.variants[0].partition("=")[2].partition(":")
            svc = setup.service(os.path.abspath(build),
                                dict(kv.split("=", 1) for kv in extra.split(",") if kv))
            print("pid %d url %s" % (svc.proc.pid, svc.url), flush=True)
            time.sleep(a.hold)
            svc.stop()
            return
        bl.interleave_ab(a.variants, a.rounds, run, "rounds of %d s" % a.secs)
    finally:
        setup.env.destroy()


if __name__ == "__main__":
    main()
