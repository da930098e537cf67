"""Snapshots (SNAPSHOT_EVERY=20, the default): a long account stream gets one; it is a cache,
so deleting it, or a row of another snapshot_schema or with garbage state, changes no answer of
either service; temporal reads on the long stream start from it and equal a full replay."""

import json

from harness import new_id, sql, sql_json, sql_literal, sql_value
from query_support import PROBLEM, QueryTest, dump_events, fold

DEPOSITS = 260

# common/codec/snapshot_codec.h (2 since owners are stored sealed, docs/forgetting.md)
SNAPSHOT_SCHEMA = 2
# command-service/stream_cache.h
STREAM_CACHE_USES = 16


class SnapshotTest(QueryTest):
    def setUp(self):
        super().setUp()
        self.acc = new_id("snap")[:20]
        self.stream = "account-" + self.acc
        self.open_account(self.acc, currency="EUR")
        for i in range(DEPOSITS):
            last = self.deposit(self.acc, 100 + i)
        self.version, self.position = last["version"], last["position"]
        self.balance = sum(100 + i for i in range(DEPOSITS))
        self.wait_projected(self.position)

    def snapshot(self):
        return sql_json("SELECT row_to_json(s) FROM (SELECT version, snapshot_schema, state"
                        " FROM snapshots WHERE stream_id = %s) s" % sql_literal(self.stream))

    def replay(self, keep):
        """The account view folded by the pure domain from the events keep() accepts."""
        events = [e for e in dump_events(self.acc) if e["stream_id"] == self.stream and keep(e)]
        return fold(events)["accounts"][self.acc]

    def answers(self):
        """What both services say about the account: a refused withdrawal (it names the
        balance), temporal reads across the snapshot and the view."""
        r = self.cmd.post("/v1/accounts/%s/withdraw" % self.acc,
                          {"amount_cents": self.balance + 1})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.body["type"], PROBLEM + "insufficient-funds", r.body)
        out = [r.body["detail"]]
        for v in (50, 200, 230, self.version):
            got = self.q.get("/v1/accounts/%s?version=%d" % (self.acc, v))
            self.assertEqual(got.status, 200, got)
            out.append(got.body)
        return out

    def test_es_snapshot_written_and_used(self):
        snap = self.snapshot()
        self.assertIsNotNone(snap, "no snapshot after %d events" % self.version)
        self.assertEqual(snap["snapshot_schema"], SNAPSHOT_SCHEMA)
        self.assertGreaterEqual(snap["version"], 200)
        self.assertEqual(snap["state"]["version"], snap["version"])
        want = sum(100 + i for i in range(snap["version"] - 1))
        self.assertEqual(snap["state"]["balance_cents"], want, snap)
        self.assertEqual(snap["state"]["status"], "open")
        # Temporal reads on both sides of the snapshot equal the full fold.
        for v in (1, 50, snap["version"] - 1, snap["version"], 230, self.version):
            got = self.q.get("/v1/accounts/%s?version=%d" % (self.acc, v))
            self.assertEqual(got.status, 200, got)
            self.assertEqual(got.body, self.replay(lambda e: e["stream_version"] <= v), v)
        times = sql("SELECT stream_version, to_char(recorded_at AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                    " floor(extract(epoch FROM recorded_at) * 1000)::bigint FROM events"
                    " WHERE stream_id = %s AND stream_version IN (10, %d, %d) ORDER BY 1"
                    % (sql_literal(self.stream), snap["version"] + 5, self.version))
        for _, printed, ms in times:
            got = self.q.get("/v1/accounts/%s?as_of=%s" % (self.acc, printed))
            self.assertEqual(got.status, 200, got)
            self.assertEqual(got.body, self.replay(lambda e: e["recorded_at_ms"] <= int(ms)))
        # The read really starts from the snapshot: a (deliberately) different state there
        # shows through for versions at or after it, never before it.
        sql("UPDATE snapshots SET state = jsonb_set(state, '{owner}', '\"from-snapshot\"')"
            " WHERE stream_id = %s" % sql_literal(self.stream))
        after = self.q.get("/v1/accounts/%s?version=%d" % (self.acc, snap["version"] + 1)).body
        before = self.q.get("/v1/accounts/%s?version=%d" % (self.acc, snap["version"] - 1)).body
        self.assertEqual((after["owner"], before["owner"]), ("from-snapshot", "owner"))
        sql("DELETE FROM snapshots WHERE stream_id = %s" % sql_literal(self.stream))

    def test_es_deleting_snapshots_changes_nothing(self):
        self.assertIsNotNone(self.snapshot())
        with_snap = self.answers()
        sql("DELETE FROM snapshots WHERE stream_id = %s" % sql_literal(self.stream))
        self.assertEqual(self.answers(), with_snap)
        # The next command replays in full, answers the same, and writes a fresh snapshot.
        r = self.deposit(self.acc, 1)
        self.assertEqual(r["version"], self.version + 1)
        self.assertEqual(self.snapshot()["version"], self.version)

    def test_es_bad_snapshots_are_ignored(self):
        real = self.answers()
        poisoned = dict(self.snapshot()["state"], balance_cents=10 ** 12)
        cases = [  # (snapshot_schema, state): another code version's row, then garbage rows
            (999, json.dumps(poisoned)),
            (SNAPSHOT_SCHEMA, json.dumps({"garbage": True})),
            (SNAPSHOT_SCHEMA, json.dumps(dict(poisoned, balance_cents="lots"))),
            (SNAPSHOT_SCHEMA, json.dumps(dict(poisoned, account_id="someone-else"))),
            (SNAPSHOT_SCHEMA, json.dumps("just a string")),
        ]
        for schema, state in cases:
            with self.subTest(schema=schema, state=state[:60]):
                sql("UPDATE snapshots SET snapshot_schema = %d, state = %s WHERE stream_id = %s"
                    % (schema, sql_literal(state), sql_literal(self.stream)))
                self.assertEqual(self.answers(), real)
        r = self.deposit(self.acc, 5)
        self.assertEqual(r["version"], self.version + 1)
        view = self.get_fresh("/v1/accounts/" + self.acc, r["position"])
        self.assertEqual(view.body["balance_cents"], self.balance + 5)
        # The write side replaced the ignored row with a good one of its own schema.
        self.assertEqual(sql_value("SELECT snapshot_schema FROM snapshots WHERE stream_id = %s"
                                   % sql_literal(self.stream)), str(SNAPSHOT_SCHEMA))
        self.assertEqual(self.snapshot()["state"]["balance_cents"], self.balance)
        # Even garbage claiming a far-future version is replaced, not kept for ever: by the
        # next command that loads the stream. The write side keeps an account's state between
        # commands (command-service/stream_cache.h) and loads it at least every
        # STREAM_CACHE_USES + 1 commands.
        sql("UPDATE snapshots SET version = 1000000, state = '[]' WHERE stream_id = %s"
            % sql_literal(self.stream))
        for n in range(1, STREAM_CACHE_USES + 2):
            r = self.deposit(self.acc, 5)
            self.assertEqual(r["version"], self.version + 1 + n)
            if self.snapshot()["version"] != 1000000:
                break
        self.assertEqual(self.snapshot()["version"], r["version"] - 1, "never replaced")
