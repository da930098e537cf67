#!/usr/bin/env python3
"""Interleaved A/B of hot Deposit (issue 15) across builds, each run on a fresh
production-durability cluster with query-service not started: Deposit on 4 hot accounts at 16
connections (commands/s, internal retries/s from orderly_command_retries_total, p50, p99, CPU
per 1000 commands of the service and of PostgreSQL, the mean batch from
orderly_command_batch_size when the build has it), after Deposit and PlaceOrder on one
connection (p50, p99: a lone command must not wait for company), then Deposit on WIDE accounts
at 16 connections (commands/s, p99: streams no other connection shares for long).
Usage: bench/ab_deposit_hot.py [--rounds 3] [--secs 5] NAME=BUILD_DIR[:APPEND_GROUPS][,VAR=VALUE...]
A build dir of another commit: see bench/ab_place_order.py."""

import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

HOT = 4
WIDE = 1000


def post(url, path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


SERIES = ('orderly_command_retries_total{cause="concurrent_writer"}',
          "orderly_command_batch_size_sum", "orderly_command_batch_size_count",
          "orderly_command_append_group_size_sum", "orderly_command_append_group_size_count")


def one_run(build, secs):
    with bl.command_env(build) as (env, c):
        accounts = (["hot-%d" % k for k in range(1, HOT + 1)] + ["solo-1"]
                    + ["wide-%d" % k for k in range(1, WIDE + 1)])
        for a in accounts:
            post(c.url, "/v1/accounts", {"account_id": a, "owner": "bench", "currency": "EUR"})
        pm = env.cluster.postmaster_pid()
        lua = lambda name: os.path.join(HERE, "wrk", name)  # noqa: E731
        # One connection first: the hot run's many more events (and their vacuum and
        # checkpoint) would otherwise weigh on whichever build appended more.
        solo = bl.measure_wrk(c.proc.pid, pm, c.url + "/", lua("deposit_hot.lua"), 1, secs,
                              ["solo-", 1])
        order = bl.measure_wrk(c.proc.pid, pm, c.url + "/v1/orders", lua("place_order.lua"), 1,
                               secs, [])
        before = [bl.metric(c.url, s) for s in SERIES]
        hot = bl.measure_wrk(c.proc.pid, pm, c.url + "/", lua("deposit_hot.lua"), 16, secs,
                             ["hot-", HOT])
        after = [bl.metric(c.url, s) for s in SERIES]
        wide = bl.measure_wrk(c.proc.pid, pm, c.url + "/", lua("deposit_hot.lua"), 16, secs,
                              ["wide-", WIDE])
        batches, groups = after[2] - before[2], after[4] - before[4]
        return {"hot/s": hot["ok_per_s"], "retries/s": (after[0] - before[0]) / hot["secs"],
                "hot non2xx/s": hot["non2xx_per_s"], "hot p50": hot["p50_ms"],
                "hot p99": hot["p99_ms"], "svc cpu ms/k": hot["cpu_ms_per_k"],
                "pg cpu ms/k": hot["pg_cpu_ms_per_k"],
                "batch mean": (after[1] - before[1]) / batches if batches else 1.0,
                "group mean": (after[3] - before[3]) / groups if groups else 1.0,
                "dep1 p50": solo["p50_ms"], "dep1 p99": solo["p99_ms"],
                "po1 p50": order["p50_ms"], "po1 p99": order["p99_ms"],
                "wide/s": wide["ok_per_s"], "wide p99": wide["p99_ms"],
                "wide pg ms/k": wide["pg_cpu_ms_per_k"]}


def main():
    ap = bl.ab_parser("NAME=BUILD_DIR[:APPEND_GROUPS][,VAR=VALUE...]")
    a = ap.parse_args()

    def run(value):
        build, _, rest = value.partition(":")
        items = [i for i in rest.split(",") if i]
        values = dict(i.split("=", 1) if "=" in i else ("APPEND_GROUPS", i) for i in items)
        with bl.settings(values):
            return one_run(os.path.abspath(build), a.secs)
    bl.interleave_ab(a.variants, a.rounds, run, "rounds of %d s" % a.secs)


if __name__ == "__main__":
    main()
