#!/usr/bin/env python3
"""bench/rebuild_replay.py: replay speed of `query-service rebuild` (issue 8) on a plain-SQL
seeded log, with query-service running and serving the live tables meanwhile. Prints the
rebuild's own summary line and events/s, and for the live replay from 0 and the rebuild the CPU
seconds per 1000 events of the replaying process and of PostgreSQL (postmaster and children):
unlike events/s, CPU per event barely moves with the machine's load. A private production-like
cluster, stdlib only.

    bench/rebuild_replay.py [--events 1000000] [--build-dir build-release] [--no-build]
                            [--only replay|rebuild]

--only rebuild skips the live replay: query-service is not started, so the rebuild swaps its
tables in over an empty read model (quicker to iterate on; the figures of record run both).
"""

import argparse
import os
import re
import resource
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


def cpu_line(what, events, proc_cpu, pg_cpu):
    per = 1000.0 / events if events else 0.0
    print("%s cpu per 1000 events: service %.1f ms, postgres %.1f ms" % (
        what, proc_cpu * per * 1000.0, pg_cpu * per * 1000.0))


def scan_ceiling(env, events):
    """events/s of one ordered scan of the whole log with the projector's own statement
    (ST_PROJ_EVENTS, printed by bench/tools/print_sql.c), as bench/run's replay ceiling."""
    _, printer = bl.build_tools(env.run_dir)
    head = env.cluster.psql("SELECT max(position) FROM events")[0][0]
    sql = bl.run([printer, "ST_PROJ_EVENTS"]).strip()
    for i, v in ((3, head), (2, head), (1, "0")):
        sql = sql.replace("$%d" % i, str(v))
    script = os.path.join(env.run_dir, "scan.sql")
    with open(script, "w") as f:
        f.write(sql + ";\n")
    return events * bl.pgbench(env.cluster, script, 1, transactions=1)["tps"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--build-dir", default=os.path.join(bl.REPO, "build-release"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", choices=("replay", "rebuild"))
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
        events = env.cluster.psql("SELECT count(*) FROM events")[0][0]
        pg = env.cluster.postmaster_pid()
        scan = scan_ceiling(env, int(events))
        print("ordered scan ceiling: %.0f events/s" % scan)
        if o.only != "rebuild":
            live_replay(env, pg, int(events), scan)
        if o.only != "replay":
            rebuild(env, pg, int(events), scan)
        print("machine: %s" % bl.machine_info())
    finally:
        env.destroy()


def live_replay(env, pg, events, scan):
    """query-service started on an empty read model replays the whole log."""
    pg_cpu = bl.TreeCpu(pg)
    t0 = time.monotonic()
    query = env.service("query")
    with bl.RssSampler({"query": query.proc.pid}) as rss:
        wait_caught_up(env)
    secs = time.monotonic() - t0
    print("live replay from 0: %.1f s, %.0f events/s = %.0f%% of the scan, RSS peak %.0f MB"
          % (secs, events / secs, 100.0 * events / secs / scan, rss.peaks["query"]))
    cpu_line("live replay", events, bl.cpu_seconds(query.proc.pid), pg_cpu.stop())


def rebuild(env, pg, events, scan):
    """`query-service rebuild`, with query-service running unless --only rebuild."""
    run_env = dict(os.environ)
    run_env.update(env.service_env())
    t0 = time.monotonic()
    pg_cpu = bl.TreeCpu(pg)
    rusage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen([env.binary("query"), "rebuild"], env=run_env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with bl.RssSampler({"rebuild": p.pid}) as rss:
        out, err = p.communicate(timeout=3600)
    wall = time.monotonic() - t0
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rebuild_cpu = (rusage.ru_utime - rusage0.ru_utime) + (rusage.ru_stime - rusage0.ru_stime)
    sys.stdout.write(out + err)
    if p.returncode != 0:
        raise bl.BenchError("rebuild exited %d" % p.returncode)
    m = re.search(r"done: (\d+) events .* in ([\d.]+) s \((\d+) events/s\)", out)
    print("rebuild: %s events, %s s, %s events/s = %.0f%% of the scan (process wall %.1f s, "
          "RSS peak %.0f MB)" % (m.group(1), m.group(2), m.group(3),
                                 100.0 * int(m.group(3)) / scan, wall, rss.peaks["rebuild"])
          if m else "no summary line")
    cpu_line("rebuild", events, rebuild_cpu, pg_cpu.stop())


if __name__ == "__main__":
    main()
