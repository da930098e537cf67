#!/usr/bin/env python3
"""bench/rebuild_replay.py: replay speed of `query-service rebuild` (issue 8) on a plain-SQL
seeded log, with query-service running and serving the live tables meanwhile. Prints the
rebuild's own summary line and events/s; a private production-like cluster, stdlib only.

    bench/rebuild_replay.py [--events 1000000] [--build-dir build-release] [--no-build]
"""

import argparse
import os
import re
import subprocess
import sys
import time

import benchlib as bl

METADATA = '{"command_type":"%s","actor":"bench"}'
CHUNK = 100000
ACCOUNTS = 1000


def seed_sql(events):
    """Half OrderPlaced on fresh orders, the rest AccountOpened + FundsDeposited on ACCOUNTS
    accounts: every event valid, as an operator's INSERT ... SELECT generate_series would be."""
    ins = ("INSERT INTO events (stream_id, stream_version, type, schema_version, data, "
           "metadata) ")
    orders = events // 2
    deposits = events - orders - ACCOUNTS
    lines = [ins + "SELECT 'account-acc-' || g, 1, 'AccountOpened', 1, jsonb_build_object("
             "'account_id', 'acc-' || g, 'owner', 'bench', 'currency', 'EUR', "
             "'overdraft_limit_cents', 0), '%s'::jsonb FROM generate_series(1, %d) g;"
             % (METADATA % "OpenAccount", ACCOUNTS)]
    for lo in range(1, orders + 1, CHUNK):
        hi = min(orders, lo + CHUNK - 1)
        lines.append(
            ins + "SELECT 'order-o' || g, 1, 'OrderPlaced', 1, jsonb_build_object("
            "'order_id', 'o' || g, 'customer_id', 'cust-' || (g %% 1000), 'currency', 'EUR', "
            "'items', '[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price_cents\":1250}]'::jsonb, "
            "'total_cents', 2500), '%s'::jsonb FROM generate_series(%d, %d) g ORDER BY g;"
            % (METADATA % "PlaceOrder", lo, hi))
    for lo in range(0, deposits, CHUNK):
        hi = min(deposits, lo + CHUNK) - 1
        lines.append(
            ins + "SELECT 'account-acc-' || (g %% %d + 1), 2 + g / %d, 'FundsDeposited', 1, "
            "jsonb_build_object('account_id', 'acc-' || (g %% %d + 1), 'amount_cents', 100, "
            "'reference', 'seed'), '%s'::jsonb FROM generate_series(%d, %d) g ORDER BY g;"
            % (ACCOUNTS, ACCOUNTS, ACCOUNTS, METADATA % "Deposit", lo, hi))
    return "\n".join(lines) + "\nANALYZE;\n"


def wait_caught_up(env, timeout=1800):
    head = env.cluster.psql("SELECT max(position) FROM events")[0][0]
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if env.cluster.psql("SELECT position FROM projections")[0][0] == head:
            return time.monotonic() - t0
        time.sleep(0.2)
    raise bl.BenchError("query-service did not reach %s" % head)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--build-dir", default=os.path.join(bl.REPO, "build-release"))
    ap.add_argument("--no-build", action="store_true")
    o = ap.parse_args()
    bl.build_release(o.build_dir, skip=o.no_build)
    os.environ["ORDERLY_BUILD_DIR"] = os.path.abspath(o.build_dir)
    env = bl.BenchEnv()
    env.build = os.path.abspath(o.build_dir)
    try:
        env.start()
        path = os.path.join(env.run_dir, "seed.sql")
        with open(path, "w") as f:
            f.write(seed_sql(o.events))
        t0 = time.monotonic()
        bl.run([os.path.join(env.cluster.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-d", env.cluster.url, "-f", path], timeout=1800)
        print("seeded %d events in %.1f s" % (o.events, time.monotonic() - t0))
        env.service("query")
        print("live projector caught up in %.1f s" % wait_caught_up(env))
        run_env = dict(os.environ)
        run_env.update(env.service_env())
        t0 = time.monotonic()
        p = subprocess.run([env.binary("query"), "rebuild"], env=run_env, capture_output=True,
                           text=True, timeout=3600)
        wall = time.monotonic() - t0
        sys.stdout.write(p.stdout + p.stderr)
        if p.returncode != 0:
            raise bl.BenchError("rebuild exited %d" % p.returncode)
        m = re.search(r"done: (\d+) events .* in ([\d.]+) s \((\d+) events/s\)", p.stdout)
        print("rebuild: %s events, %s s, %s events/s (process wall %.1f s)" % (
            m.group(1), m.group(2), m.group(3), wall) if m else "no summary line")
        print("machine: %s" % bl.machine_info())
    finally:
        env.destroy()


if __name__ == "__main__":
    main()
