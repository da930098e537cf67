#!/usr/bin/env python3
"""Interleaved A/B of an order's life on one connection (issue 15: kept states): PlaceOrder,
PayOrder from an account, ShipOrder, one after the other, FLOWS times per run, each run on a
fresh production-durability cluster with query-service not started. Per command p50 and p99
in ms, and PostgreSQL's CPU per 1000 flows.
Usage: bench/ab_order_flow.py [--rounds 3] NAME=BUILD_DIR ... (--secs is not used)
A build dir of another commit: see bench/ab_place_order.py."""

import http.client
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

FLOWS = 400
ITEMS = [{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}]


def timed_post(conn, path, body):
    t0 = time.perf_counter()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    raw = r.read()
    if r.status not in (200, 201):
        raise bl.BenchError("POST %s answered %d: %s" % (path, r.status, raw[:200]))
    return (time.perf_counter() - t0) * 1000.0


def one_run(build):
    with bl.command_env(build) as (env, c):
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
        timed_post(conn, "/v1/accounts", {"account_id": "payer", "owner": "bench",
                                          "currency": "EUR"})
        timed_post(conn, "/v1/accounts/payer/deposit", {"amount_cents": 10 ** 12})
        pg = bl.TreeCpu(env.cluster.postmaster_pid())
        lat = {"place": [], "pay": [], "ship": []}
        for i in range(FLOWS):
            oid = "flow-%d" % i
            lat["place"].append(timed_post(conn, "/v1/orders", {
                "order_id": oid, "customer_id": "c", "currency": "EUR", "items": ITEMS}))
            lat["pay"].append(timed_post(conn, "/v1/orders/%s/pay" % oid,
                                         {"account_id": "payer", "amount_cents": 2500}))
            lat["ship"].append(timed_post(conn, "/v1/orders/%s/ship" % oid,
                                          {"carrier": "c", "tracking_number": "t"}))
        pg_ms = pg.stop() * 1000.0
        out = {}
        for k, v in lat.items():
            v.sort()
            out[k + " p50"] = bl.percentile(v, 50)
            out[k + " p99"] = bl.percentile(v, 99)
        out["pg cpu ms/k flows"] = pg_ms * 1000.0 / FLOWS
        return out


def main():
    a = bl.ab_parser("NAME=BUILD_DIR").parse_args()
    bl.interleave_ab(a.variants, a.rounds, lambda v: one_run(os.path.abspath(v)),
                     "rounds of %d flows" % FLOWS)


if __name__ == "__main__":
    main()
