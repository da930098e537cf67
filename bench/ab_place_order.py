#!/usr/bin/env python3
"""Interleaved A/B of PlaceOrder throughput and CPU across builds and pool sizes, each run on a
fresh production-durability cluster, with query-service not started (the write path alone).
Usage: bench/ab_place_order.py [--rounds 3] [--secs 5] NAME=BUILD_DIR[:DB_POOL_SIZE] ...
A build dir of another commit: `git worktree add /tmp/base <commit>`, then
`meson setup /tmp/base/build-rel /tmp/base --buildtype=release && ninja -C /tmp/base/build-rel`."""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402


def one_run(build, pool, secs):
    if pool:
        os.environ["DB_POOL_SIZE"] = pool
    else:
        os.environ.pop("DB_POOL_SIZE", None)
    env = bl.BenchEnv()
    env.build = build
    env.start()
    try:
        c = env.service("command")
        c.wait_ready()
        pm = env.cluster.postmaster_pid()
        out = {}
        for conns in (16, 64):
            w = bl.measure_wrk(c.proc.pid, pm, c.url + "/v1/orders",
                               os.path.join(HERE, "wrk", "place_order.lua"), conns, secs, [])
            out[conns] = (w["ok_per_s"], w["p99_ms"], w["cpu_ms_per_k"], w["pg_cpu_ms_per_k"])
        return out
    finally:
        env.destroy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("variants", nargs="+", metavar="NAME=BUILD_DIR[:POOL]")
    a = ap.parse_args()
    variants = []
    for v in a.variants:
        name, _, rest = v.partition("=")
        build, _, pool = rest.partition(":")
        variants.append((name, os.path.abspath(build), pool))
    print("load average before: %.2f" % os.getloadavg()[0])
    res = {}
    for r in range(a.rounds):
        for name, build, pool in variants:
            for conns, row in one_run(build, pool, a.secs).items():
                res.setdefault((name, conns), []).append(row)
                print("round %d %-14s %2d conns: %6.0f/s p99 %5.1f ms, CPU per 1000: service "
                      "%4.0f ms, PostgreSQL %4.0f ms" % ((r, name, conns) + row), flush=True)
    print("load average after: %.2f\nmedians of %d rounds of %d s:" % (
        os.getloadavg()[0], a.rounds, a.secs))
    for (name, conns), rows in sorted(res.items()):
        med = [statistics.median(x[i] for x in rows) for i in range(4)]
        print("%-14s %2d conns: %6.0f/s p99 %5.1f ms, service %4.0f ms, PostgreSQL %4.0f ms"
              % ((name, conns) + tuple(med)))


if __name__ == "__main__":
    main()
