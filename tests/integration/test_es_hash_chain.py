"""The tamper-evident audit trail (migrations/0005_hash_chain.sql): every event's hash chains to
its stream's previous event, GET /v1/streams/{id}/verify and `query-service verify` find the first
broken link. Tampering breaks its database for good, so those tests run in a private one."""

import hashlib
import os
import subprocess
import time
import unittest

import harness
from harness import Client, Environment, new_id, sql, sql_literal
from query_support import QueryTest
from views_support import ViewsDb

ZERO = b"\x00" * 32


def stream_rows(psql, stream):
    """(position, canonical text, stored hash) per event of stream, in version order."""
    rows = psql(
        "SELECT position, jsonb_build_array(stream_id, stream_version, type, schema_version,"
        " data, metadata, (extract(epoch FROM recorded_at) * 1000000)::bigint)::text,"
        " encode(hash, 'hex') FROM events WHERE stream_id = %s ORDER BY stream_version"
        % sql_literal(stream))
    return [(int(p), text, bytes.fromhex(h)) for p, text, h in rows]


def expected_chain(rows):
    """The chain as the migration documents it, recomputed outside the database."""
    prev, out = ZERO, []
    for _, text, _ in rows:
        prev = hashlib.sha256(prev + text.encode("utf-8")).digest()
        out.append(prev)
    return out


def copy_last_event(stream, copies):
    """Plain SQL, as an operator would: appends `copies` copies of the stream's last event
    (a valid event of the stream's own schema) in one INSERT, with a bogus client hash."""
    return sql(
        "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata,"
        " hash) SELECT e.stream_id, e.stream_version + g, e.type, e.schema_version, e.data,"
        " e.metadata, '\\x00'::bytea FROM generate_series(1, %d) g, (SELECT * FROM events"
        " WHERE stream_id = %s ORDER BY stream_version DESC LIMIT 1) e RETURNING position"
        % (copies, sql_literal(stream)))


class HashChainTest(QueryTest):
    def verify(self, stream, q=None):
        return (q or self.q).get("/v1/streams/%s/verify" % stream)

    def test_es_chain_clean_stream_verifies(self):
        acc = new_id("h")[:12]
        self.open_account(acc)
        for amount in (5, 6, 7):
            self.deposit(acc, amount)
        stream = "account-" + acc
        r = self.verify(stream)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, {"stream_id": stream, "ok": True, "checked": 4,
                                  "first_broken_position": None})
        self.assertIn("X-Projection-Position", r.headers)
        rows = stream_rows(harness.sql, stream)
        self.assertEqual([h for _, _, h in rows], expected_chain(rows))

    def test_es_chain_unknown_stream_is_404(self):
        self.assert_problem(self.verify("account-" + new_id("none")), 404)
        self.assert_problem(self.verify("x" * 101), 404)

    def test_es_chain_plain_sql_insert_is_chained(self):
        acc = new_id("p")[:12]
        self.open_account(acc)
        self.deposit(acc, 3)
        stream = "account-" + acc
        # Two rows of one stream in one statement: the second must chain to the first.
        positions = [int(p[0]) for p in copy_last_event(stream, 2) if p[0].isdigit()]
        self.assertEqual(len(positions), 2)
        rows = stream_rows(harness.sql, stream)
        self.assertEqual(len(rows), 4)
        self.assertEqual([h for _, _, h in rows], expected_chain(rows))
        r = self.verify(stream)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.body["ok"], r.body["checked"]), (True, 4), r)
        # The copies are real deposits: the projector applies them like any other event.
        view = self.get_fresh("/v1/accounts/" + acc, max(positions))
        self.assertEqual(view.body["balance_cents"], 9, view)


class ChainLookupTest(unittest.TestCase):
    """The predecessor lookup stays an index lookup when statistics say events is tiny."""

    def test_es_chain_bulk_insert_never_scans_the_table(self):
        db = ViewsDb()
        try:
            db.psql("INSERT INTO events (stream_id, stream_version, type, schema_version, data,"
                    " metadata) SELECT 'account-b' || a, 1, 'AccountOpened', 1, '{}', '{}'"
                    " FROM generate_series(1, 100) a")
            db.psql("VACUUM ANALYZE events")  # what autovacuum does after the first 50 rows
            rows = db.psql(
                "BEGIN; INSERT INTO events (stream_id, stream_version, type, schema_version, data,"
                " metadata) SELECT 'account-b' || a, v, 'FundsDeposited', 1, '{}', '{}'"
                " FROM generate_series(2, 21) v, generate_series(1, 100) a ORDER BY v, a;"
                " SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'events';"
                " COMMIT;")
            scans = [r[0] for r in rows if r[0].isdigit()]  # psql also echoes BEGIN, INSERT...
            self.assertEqual(scans, ["0"], "2 000 chained rows scanned events sequentially")
        finally:
            self.assertEqual(db.destroy(), [])


class TamperTest(QueryTest):
    """Edits history as a superuser with triggers off, in a private environment."""

    def setUp(self):
        parent = os.path.dirname(harness.env().run_dir)
        self.env = Environment(run_dir=os.path.join(parent, time.strftime("%Y%m%d-%H%M%S")
                                                    + "-%d-tamper" % os.getpid()))
        self.addCleanup(self.env.destroy)
        self.env.start()
        self.cmd = Client(self.env.service("command").port)
        self.q = Client(self.env.service("query").port)

    def cli(self):
        env = dict(os.environ, DATABASE_URL=self.env.cluster.url, LOG_FORMAT="text")
        return subprocess.run([self.env.binary("query"), "verify"], env=env,
                              capture_output=True, text=True, timeout=60)

    def tamper(self, stmt):
        self.env.cluster.psql("SET session_replication_role = replica; " + stmt)

    def position(self, stream, version):
        return int(self.env.cluster.psql(
            "SELECT position FROM events WHERE stream_id = %s AND stream_version = %d"
            % (sql_literal(stream), version))[0][0])

    def assert_broken(self, stream, position, checked):
        r = self.q.get("/v1/streams/%s/verify" % stream)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, {"stream_id": stream, "ok": False, "checked": checked,
                                  "first_broken_position": position})
        p = self.cli()
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("broken: stream %s, first broken position %d" % (stream, position),
                      p.stdout)
        self.assertIn("1 broken", p.stdout)

    def test_es_chain_tampering_is_found(self):
        victim, bystander = new_id("v")[:12], new_id("b")[:12]
        for acc in (victim, bystander):
            self.open_account(acc)
            for amount in (10, 20, 30):
                self.deposit(acc, amount)
        stream = "account-" + victim
        p = self.cli()
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("2 streams, 8 events checked, every chain intact", p.stdout)
        # The immutability trigger still stands for everyone who leaves triggers on.
        refused = self.env.cluster.psql("UPDATE events SET data = '{}' WHERE position = 1",
                                        check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("immutable", refused.stderr)

        where = "e.stream_id = %s AND e.stream_version = 3" % sql_literal(stream)
        self.tamper("UPDATE events e SET data = jsonb_set(data, '{amount_cents}', '2000')"
                    " WHERE " + where)
        self.assert_broken(stream, self.position(stream, 3), 4)
        # Recomputing the edited row's own hash only moves the break to the next link.
        self.tamper("UPDATE events e SET hash = events_chain_hash(p.hash, e.stream_id,"
                    " e.stream_version, e.type, e.schema_version, e.data, e.metadata,"
                    " e.recorded_at) FROM events p WHERE p.stream_id = e.stream_id"
                    " AND p.stream_version = 2 AND " + where)
        self.assert_broken(stream, self.position(stream, 4), 4)
        # A deleted event breaks the link after it.
        self.tamper("DELETE FROM events WHERE stream_id = %s AND stream_version = 2"
                    % sql_literal(stream))
        self.assert_broken(stream, self.position(stream, 3), 3)
        ok = self.q.get("/v1/streams/account-%s/verify" % bystander)
        self.assertEqual((ok.body["ok"], ok.body["checked"]), (True, 4), ok)
        self.q.close()
        self.cmd.close()
        self.assertEqual(self.env.teardown_problems(), [])
