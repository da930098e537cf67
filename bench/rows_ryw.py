"""bench/rows_ryw.py: read-your-writes latency on the query replicas that do not project
(issue 14): one reading the primary's tables, written by the leader's projector, and one with
READ_DATABASE_URL at a streaming standby. A probe is a Deposit on command-service, then a GET of
the account with its min_position on the replica, timed from the 2xx to the answer."""

import http.client
import json
import random
import time

import benchlib as bl

GOAL_P99_MS = 50  # issue 14: within 50 ms p99 of the primary's projection, on any replica
# Probes start at random gaps, so both a projector still polling after a recent move and one
# idle since (woken only by the notification) are measured.
GAP_MAX_S = 0.15


def _replica(b, name, extra_env):
    """A second query-service on the same primary, ready; registered with the environment so
    that its teardown checks and destroy() cover it."""
    env = b.env.service_env()
    env.update(extra_env)
    svc = bl.oe.Service(name, b.env.binary("query"), env, bl.oe.free_port(), b.run_dir)
    b.env.services[name] = svc
    return svc.start(ready=True)


def _json(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.getheader("X-Projection-Position"), r.read()


def _timer_moves(port):
    """orderly_projector_moves_total{woken_by="timer"}: work the projector found only when its
    idle timer fired, i.e. a notification it missed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, _, raw = _json(conn, "GET", "/metrics")
    finally:
        conn.close()
    for line in raw.decode().splitlines():
        if line.startswith('orderly_projector_moves_total{woken_by="timer"}'):
            return int(line.split()[-1])
    raise bl.BenchError("no orderly_projector_moves_total in /metrics (status %d)" % status)


def _probe(b, replica, account):
    """Sequential probes for one measurement's duration; latencies in ms."""
    cc = http.client.HTTPConnection("127.0.0.1", b.service("command").port, timeout=30)
    qc = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=30)
    status, _, raw = _json(cc, "POST", "/v1/accounts", json.dumps(
        {"account_id": account, "owner": "bench", "currency": "EUR"}))
    b.check(status == 201, "OpenAccount %s answered %d: %s" % (account, status, raw[:200]))
    lags, balance, end = [], 0, time.monotonic() + b.o.secs
    while time.monotonic() < end:
        time.sleep(random.uniform(0, GAP_MAX_S))
        status, _, raw = _json(cc, "POST", "/v1/accounts/%s/deposit" % account,
                               '{"amount_cents":1}')
        b.check(status == 200, "Deposit answered %d: %s" % (status, raw[:200]))
        t0 = time.perf_counter()
        position = json.loads(raw)["position"]
        status, seen, raw = _json(qc, "GET", "/v1/accounts/%s?min_position=%d&wait_ms=10000"
                                  % (account, position))
        lags.append((time.perf_counter() - t0) * 1000.0)
        balance += 1
        b.check(status == 200 and int(seen) >= position, "GET answered %d at position %s, "
                "wanted %d: %s" % (status, seen, position, raw[:200]))
        b.check(json.loads(raw)["balance_cents"] == balance, "a stale balance: %s" % raw[:200])
    cc.close()
    qc.close()
    b.check(lags, "no probe finished")
    return sorted(lags)


def _rows(b, key, what, runs, missed, how):
    b.row(key + "_p50", "read-your-writes p50 on %s (2xx -> GET min_position answered)" % what,
          "ms", [bl.percentile(r, 50) for r in runs], None, None, how)
    b.row(key + "_p99", "read-your-writes p99 on %s" % what, "ms",
          [bl.percentile(r, 99) for r in runs], None, ("below", GOAL_P99_MS), how)
    b.row(key + "_max", "read-your-writes max on %s" % what, "ms", [r[-1] for r in runs])
    b.row(key + "_missed", "read-your-writes on %s: notifications missed (leader + it)" % what,
          "count", missed, None, ("below", 1), "orderly_projector_moves_total{woken_by=\"timer\"} on both, "
          "before and after the probes: a miss costs up to the 250 ms fallback timer, so a "
          "slow probe with none is the machine, not the wake-up")


def replicas(b):
    """The shared query-service leads; a follower on the primary and one reading a standby of
    it are measured in turn, each for reps x secs."""
    b.service("query")
    b.wait_caught_up(timeout=1800)
    follower = _replica(b, "query-follower", {})
    standby = b.cluster.start_standby("bench_ryw")
    b.env.standby = standby  # destroy() removes it whatever happens here
    on_standby = _replica(b, "query-on-standby", {"READ_DATABASE_URL": standby.url})
    for key, what, svc in (("ryw_follower", "a non-leader replica", follower),
                           ("ryw_standby", "a replica reading a standby", on_standby)):
        ports = (b.service("query").port, svc.port)
        runs, missed = [], []
        for rep in range(b.o.reps):
            before = sum(_timer_moves(p) for p in ports)
            runs.append(_probe(b, svc, "ryw-%s-%d-%d" % (key, rep, time.time_ns())))
            missed.append(sum(_timer_moves(p) for p in ports) - before)
        how = ("Deposit, then GET ?min_position on %s, one probe at a time 0-%d ms apart at "
               "random, no other load; %s samples" % (
                   what, GAP_MAX_S * 1000, "+".join(str(len(r)) for r in runs)))
        _rows(b, key, what, runs, missed, how)
    for svc in (on_standby, follower):
        b.check(svc.stop() == 0, "%s did not exit 0 on SIGTERM" % svc.name)
        del b.env.services[svc.name]
    standby.destroy()
    b.env.standby = None
