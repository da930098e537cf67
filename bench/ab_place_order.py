#!/usr/bin/env python3
"""Interleaved A/B of PlaceOrder throughput and CPU across builds and pool sizes, each run on a
fresh production-durability cluster, with query-service not started (the write path alone).
Usage: bench/ab_place_order.py [--rounds 3] [--secs 5]
       NAME=BUILD_DIR[:DB_POOL_SIZE[:APPEND_GROUPS[:WORKER_THREADS]]] ...
A build dir of another commit: `git worktree add /tmp/base <commit>`, then
`meson setup /tmp/base/build-rel /tmp/base --buildtype=release && ninja -C /tmp/base/build-rel`."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402


def one_run(build, secs):
    with bl.command_env(build) as (env, c):
        pm = env.cluster.postmaster_pid()
        out = {}
        for conns in (1, 16, 64):
            w = bl.measure_wrk(c.proc.pid, pm, c.url + "/v1/orders",
                               os.path.join(HERE, "wrk", "place_order.lua"), conns, secs, [])
            out.update({"c%d /s" % conns: w["ok_per_s"], "c%d p50 ms" % conns: w["p50_ms"],
                        "c%d p99 ms" % conns: w["p99_ms"],
                        "c%d service ms/k" % conns: w["cpu_ms_per_k"],
                        "c%d pg ms/k" % conns: w["pg_cpu_ms_per_k"]})
        return out


def main():
    ap = bl.ab_parser("NAME=BUILD_DIR[:POOL[:APPEND_GROUPS[:THREADS]]]")
    a = ap.parse_args()

    def run(value):
        build, *values = (value.split(":") + ["", "", ""])[:4]
        names = ("DB_POOL_SIZE", "APPEND_GROUPS", "WORKER_THREADS")
        with bl.settings({k: v for k, v in zip(names, values) if v}):
            return one_run(os.path.abspath(build), a.secs)
    bl.interleave_ab(a.variants, a.rounds, run, "rounds of %d s" % a.secs)


if __name__ == "__main__":
    main()
