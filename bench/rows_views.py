"""bench/rows_views.py: projections defined in SQL (issue 17, docs/views.md). How fast a new
view catches up with the whole log (events/s from its registration by `command-service
migrate` until the leader's builder swaps it in), beside the built-in projector's replay of
the same run; and the projection lag at rest of a SQL view and of the built-in read model: a
Deposit, then a GET with its min_position, timed from the 2xx to the answer."""

import http.client
import json
import os
import random
import tempfile
import time

import benchlib as bl

GOAL_P99_MS = 50  # issue 17: projection lag p99 < 50 ms at rest for both
GAP_MAX_S = 0.15  # probes start at random gaps, as rows_ryw's
TYPES = ["OrderPlaced", "AccountOpened", "FundsDeposited"]  # everything bench_core.seed wrote

# Counts and sums per stream: one row written per event, a handler as plain as a view gets.
TALLY = """-- rep %(rep)d
CREATE TABLE tally (stream_id text PRIMARY KEY, events bigint NOT NULL, cents bigint NOT NULL);
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally AS t
    VALUES (e.stream_id, 1, coalesce((e.data->>'amount_cents')::bigint,
                                     (e.data->>'total_cents')::bigint, 0))
    ON CONFLICT (stream_id) DO UPDATE SET events = t.events + 1, cents = t.cents + excluded.cents;
END $$;
SELECT orderly_view_declare(event_types => ARRAY[%(types)s], view_table => 'tally',
                            key_columns => ARRAY['stream_id']);
"""


def _register(b, name, text):
    """projections/NAME.sql registered the operator's way: migrate with a folder holding it."""
    folder = tempfile.mkdtemp(prefix="views-", dir=b.run_dir)
    with open(os.path.join(folder, name + ".sql"), "w") as f:
        f.write(text)
    env = dict(os.environ, **b.env.service_env())
    env["PROJECTIONS_DIR"] = folder
    bl.run([b.env.binary("command"), "migrate"], env=env, timeout=600)


def _wait_live(b, name, timeout=1800.0):
    """Seconds until GET /v1/views/NAME answers 200 (the first version of a name is 404 until
    the builder swaps it in)."""
    port, t0 = b.service("query").port, time.monotonic()
    while time.monotonic() - t0 < timeout:
        status, raw = b.http(port, "GET", "/v1/views/%s?limit=1" % name)
        if status == 200:
            return time.monotonic() - t0
        b.check(status == 404, "GET /v1/views/%s answered %d: %s" % (name, status, raw[:200]))
        state = b.sql("SELECT status, coalesce(error, '') FROM orderly_views WHERE name = '%s' "
                      "AND state <> 'retired'" % name)
        b.check(not state or state[0][0] == "running", "%s failed: %s" % (name, state))
        time.sleep(0.02)
    raise bl.BenchError("%s not live within %.0f s" % (name, timeout))


def catch_up(b):
    """reps new views (a name each) over the seeded log at rest, each from registration to
    live; the built-in replay row of this run is the figure beside it."""
    b.service("query")
    b.wait_caught_up(timeout=1800)
    types = ", ".join("'%s'" % t for t in TYPES)
    events = b.scalar("SELECT count(*) FROM events WHERE type IN (%s)" % types)
    rates = []
    for rep in range(b.o.reps):
        name = "bench_tally_%d_%d" % (rep, time.time_ns() % 10 ** 9)
        _register(b, name, TALLY % {"rep": rep, "types": types})
        secs = _wait_live(b, name)
        rates.append(events / secs)
        folded = b.scalar("SELECT sum(events) FROM %s.tally" % b.sql(
            "SELECT schema_name FROM orderly_views WHERE name = '%s' AND state = 'live'"
            % name)[0][0])
        b.check(folded == events, "%s holds %d events, the log %d" % (name, folded, events))
    replay = next((r for r in b.rows if r["key"] == "replay"), None)
    built_in = replay["service"]["runs"] if replay and replay["service"] else []
    b.row("view_catch_up", "SQL projection catch-up (%d events), events/s; beside: the built-in "
          "replay of this run" % events, "events/s", rates, built_in, None,
          "a one-row-per-stream tally (PL/pgSQL upsert) over %s registered by `command-service "
          "migrate` on a log at rest, timed from migrate's exit until GET /v1/views/NAME answers "
          "200 (the builder swapped it in; polled every 20 ms); its rows checked against the "
          "log. The ceiling column is the built-in projector's replay (row `replay`), so the "
          "ratio is SQL view / built-in" % "+".join(TYPES))


def _json(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.getheader("X-Projection-Position"), r.read()


def _probe(b, account):
    """Sequential probes for one measurement's duration, each read both ways in turn:
    (built-in read model lags, SQL view lags) in ms."""
    cc = http.client.HTTPConnection("127.0.0.1", b.service("command").port, timeout=30)
    qc = http.client.HTTPConnection("127.0.0.1", b.service("query").port, timeout=30)
    status, _, raw = _json(cc, "POST", "/v1/accounts", json.dumps(
        {"account_id": account, "owner": "bench", "currency": "EUR"}))
    b.check(status == 201, "OpenAccount %s answered %d: %s" % (account, status, raw[:200]))
    lags = ([], [])
    end = time.monotonic() + b.o.secs
    while time.monotonic() < end:
        for i in (0, 1):
            time.sleep(random.uniform(0, GAP_MAX_S))
            status, _, raw = _json(cc, "POST", "/v1/accounts/%s/deposit" % account,
                                   '{"amount_cents":1}')
            b.check(status == 200, "Deposit answered %d: %s" % (status, raw[:200]))
            t0 = time.perf_counter()
            position = json.loads(raw)["position"]
            day = time.strftime("%Y-%m-%d", time.gmtime())  # the deposit's, but at midnight
            path = ("/v1/views/daily_money_movement/%s/%s" % (account, day) if i else
                    "/v1/accounts/%s" % account) + "?min_position=%d&wait_ms=10000" % position
            status, seen, raw = _json(qc, "GET", path)
            lags[i].append((time.perf_counter() - t0) * 1000.0)
            b.check(status in (200, 404) and int(seen) >= position, "GET %s answered %d at %s: "
                    "%s" % (path, status, seen, raw[:200]))
    cc.close()
    qc.close()
    b.check(lags[1], "no probe finished")
    return sorted(lags[0]), sorted(lags[1])


def lag(b):
    """The leader, at rest but for the probes: reps x secs each way."""
    b.service("query")
    b.wait_caught_up(timeout=1800)
    runs = ([], [])
    for rep in range(b.o.reps):
        built_in, view = _probe(b, "lag-views-%d-%d" % (rep, time.time_ns()))
        runs[0].append(built_in)
        runs[1].append(view)
    how = ("Deposit, then GET ?min_position on the leader, one probe at a time 0-%d ms apart at "
           "random, the two reads alternating; %s samples" % (
               GAP_MAX_S * 1000, "+".join(str(len(r)) for r in runs[1])))
    for key, what, r in (("lag_rest_view", "the SQL view daily_money_movement (by key)", runs[1]),
                         ("lag_rest_read_model", "the built-in read model (GET /v1/accounts/{id})",
                          runs[0])):
        b.row(key + "_p50", "projection lag at rest p50, %s" % what, "ms",
              [bl.percentile(x, 50) for x in r], None, None, how)
        b.row(key + "_p99", "projection lag at rest p99, %s" % what, "ms",
              [bl.percentile(x, 99) for x in r], None, ("below", GOAL_P99_MS), how)
