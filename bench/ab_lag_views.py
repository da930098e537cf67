#!/usr/bin/env python3
"""A/B of bench/run's "projection lag under load" row across sets of SQL-defined projections:
each variant is a PROJECTIONS_DIR (an empty folder for none), each run a fresh production-
durability cluster with the release build, PlaceOrder 16 conns for the maximum, then the paced
PlaceOrder load at 67% of it with the lag probe (bench/rows_write.py).
Usage: bench/ab_lag_views.py [--rounds 1] NAME=PROJECTIONS_DIR[:BUILD_DIR] ...
(--max N: every run takes its share of N instead of measuring its own maximum; the build
defaults to build-release; e.g. base=projections:/tmp/base/build-rel
new=projections)."""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_core  # noqa: E402
import benchlib as bl  # noqa: E402
import rows_write  # noqa: E402

KEYS = ("place_order_16", "lag_load", "lag_p50", "lag_p99")


def one_run(projections_dir, build, events, fixed_max=None):
    os.environ["PROJECTIONS_DIR"] = projections_dir
    env = bl.BenchEnv()
    env.build = build
    try:
        tools = bl.build_tools(env.run_dir)
        env.start()
        b = bench_core.Bench(bench_core.Options(False, 2, 5, events), env, tools, env.run_dir)
        b.seed()
        if fixed_max:  # the same load for every variant: the maximum varies from run to run
            b.data["place_order_16"] = fixed_max
        else:
            b.stop("query")
            rows_write.place_order(b, 16)
        rows_write.lag(b)
        return {r["key"]: r["service"]["median"] for r in b.rows if r["key"] in KEYS}
    finally:
        env.destroy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--events", type=int, default=2000,
                    help="seeded events (bench/run seeds 1000000 before its lag row)")
    ap.add_argument("--max", type=float,
                    help="PlaceOrder maximum to take the lag row's share of, instead of measuring "
                    "it in each run")
    ap.add_argument("variants", nargs="+", metavar="NAME=PROJECTIONS_DIR[:BUILD_DIR]")
    a = ap.parse_args()

    def run(value):
        path, _, build = value.partition(":")
        return one_run(os.path.abspath(path),
                       os.path.abspath(build or os.path.join(bl.REPO, "build-release")),
                       a.events, a.max)
    bl.interleave_ab(a.variants, a.rounds, run)


if __name__ == "__main__":
    main()
