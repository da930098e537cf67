#!/usr/bin/env bash
# Deposit latency on one 100 000-event account stream, with snapshots (SNAPSHOT_EVERY=100) and
# without (SNAPSHOT_EVERY=0: every command replays the whole stream). A private cluster from
# tests/harness/orderly_env.py, seeded with plain SQL (generate_series); sequential deposits over
# one keep-alive connection; prints p50/p99/mean per mode as a Markdown table.
# Usage: bench/snapshots.sh [events (100000)] [deposits per mode (300)]
# ORDERLY_BUILD_DIR picks the build (default build/; build-release for release figures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
EVENTS=${1:-100000} DEPOSITS=${2:-300} exec python3 - "$here/.." <<'PY'
import http.client, json, os, statistics, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "harness"))
import orderly_env as oe

events, deposits = int(os.environ["EVENTS"]), int(os.environ["DEPOSITS"])
env = oe.Environment(run_dir=os.path.join(oe.REPO, ".run", "bench-snapshots-%d" % os.getpid()))
try:
    env.start()
    env.cluster.psql(
        "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
        " VALUES ('account-hot', 1, 'AccountOpened', 1, '{\"account_id\":\"hot\",\"owner\":\"b\","
        "\"currency\":\"EUR\",\"overdraft_limit_cents\":0}', '{}');"
        " INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
        " SELECT 'account-hot', g + 1, 'FundsDeposited', 1, jsonb_build_object('account_id',"
        " 'hot', 'amount_cents', 1, 'reference', 'seed'), '{}'"
        " FROM generate_series(1, %d) g ORDER BY g; ANALYZE events;" % (events - 1))
    print("| SNAPSHOT_EVERY | deposits | p50 ms | p99 ms | mean ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for every in ("100", "0"):
        env.cluster.psql("DELETE FROM snapshots")
        svc_env = dict(env.service_env(), SNAPSHOT_EVERY=every, LOG_LEVEL="warn")
        svc = oe.Service("command-service", env.binary("command"), svc_env, oe.free_port(),
                         env.run_dir).start()
        conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=120)
        body = json.dumps({"amount_cents": 1})
        lat = []
        for i in range(deposits + 3):
            t0 = time.perf_counter()
            conn.request("POST", "/v1/accounts/hot/deposit", body,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit("deposit answered %d" % r.status)
            if i >= 3:  # the first ones connect, prepare and (with snapshots) write the first
                lat.append((time.perf_counter() - t0) * 1000)
        conn.close()
        svc.stop()
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (
            every, len(lat), p(0.50), p(0.99), statistics.mean(lat), lat[-1]))
    snaps = env.cluster.psql("SELECT count(*) FROM snapshots")[0][0]
    print("\n%d-event stream; snapshots rows after the SNAPSHOT_EVERY=0 run: %s" % (events, snaps))
finally:
    env.destroy()
PY
