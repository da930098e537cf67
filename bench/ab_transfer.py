#!/usr/bin/env python3
"""Interleaved A/B of TransferFunds (issue 15) across command-service builds and settings, each
run on a fresh production-durability cluster seeded as bench/run seeds it (query-service not
started): Deposit on the 1000 transfer accounts first (as bench/run's row before it does, so
streams are as long), then TransferFunds among them at 16 connections: commands/s, p50, p99,
CPU per 1000 commands of the service and of PostgreSQL. The variant value CEILING measures
bench/run's ceiling instead: pgbench -c16 of bench/pgbench/transfer.sql on the same accounts,
counting the transfers it appended.
Usage: bench/ab_transfer.py [--rounds 3] [--secs 5] NAME=BUILD_DIR[:VAR=VALUE,...] ...
(e.g. base=/tmp/base/build-rel new=build-release ceil=CEILING)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_core  # noqa: E402
import benchlib as bl  # noqa: E402
import rows_write  # noqa: E402

ACCOUNTS = 1000


def lua(name):
    return os.path.join(HERE, "wrk", name)


def one_run(build, secs, first, deposit_secs):
    env = bl.BenchEnv()
    env.build = build or first
    try:
        env.start()
        b = bench_core.Bench(bench_core.Options(False, reps=1, secs=secs, events=20000), env,
                             (None, None), env.run_dir)
        b.seed()
        c = env.service("command")
        c.wait_ready()
        pm = env.cluster.postmaster_pid()
        if deposit_secs:
            bl.measure_wrk(c.proc.pid, pm, c.url + "/", lua("deposit_hot.lua"), 16,
                           deposit_secs, ["xfer-", ACCOUNTS])
        if build is None:
            pg = bl.TreeCpu(pm)  # pgbench's backends exit at its end
            rate = rows_write.transfers_by_pgbench(b, ACCOUNTS)
            return {"/s": rate, "pg cpu ms/k": pg.stop() * 1e6 / max(1.0, rate * secs)}
        w = bl.measure_wrk(c.proc.pid, pm, c.url + "/", lua("transfer.lua"), 16, secs,
                           ["xfer-", ACCOUNTS])
        return {"/s": w["ok_per_s"], "non2xx/s": w["non2xx_per_s"], "p50": w["p50_ms"],
                "p99": w["p99_ms"], "svc cpu ms/k": w["cpu_ms_per_k"],
                "pg cpu ms/k": w["pg_cpu_ms_per_k"]}
    finally:
        env.destroy()


def main():
    ap = bl.ab_parser("NAME=BUILD_DIR[:VAR=VALUE,...]")
    ap.add_argument("--deposit-secs", type=int,
                    help="seconds of Deposit first (default --secs, as bench/run; 0: none; "
                    "more: longer streams)")
    a = ap.parse_args()
    builds = [v.partition("=")[2].partition(":")[0] for v in a.variants]
    first = os.path.abspath(next(b for b in builds if b != "CEILING"))

    def run(value):
        build, _, extra = value.partition(":")
        with bl.settings(dict(kv.split("=", 1) for kv in extra.split(",") if kv)):
            return one_run(None if build == "CEILING" else os.path.abspath(build), a.secs,
                           first, a.secs if a.deposit_secs is None else a.deposit_secs)
    bl.interleave_ab(a.variants, a.rounds, run, "rounds of %d s" % a.secs)


if __name__ == "__main__":
    main()
