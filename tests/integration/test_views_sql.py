"""SQL-defined projections, the database side (migrations/0010_views.sql, common/store/
migrate_views.c): `command-service migrate` registers projections/NAME.sql files, refuses bad
ones whole, and the catalog functions build, swap and fail views exactly as docs/views.md says.
Each test gets a database of its own with no services running: the query service's calls
(build steps, the batch's live apply) are made here as orderly_query, the role it runs as."""

import os
import re
import subprocess
import unittest

from orderly_env import REPO
from views_support import ViewsDb, tally

class ViewsDatabase(unittest.TestCase):
    """A private database, migrated with the files this test writes into its own folder."""

    def setUp(self):
        self.views = ViewsDb()
        self.addCleanup(self.views.destroy)
        self.cluster = self.views.cluster
        self.dir = self.views.dir

    def url(self, role="postgres"):
        return self.views.url(role)

    def write(self, name, text):
        self.views.write(name[:-len(".sql")] if name.endswith(".sql") else name, text)

    def migrate(self):
        return self.views.migrate()

    def sql(self, query, role="postgres", check=True):
        p = subprocess.run([os.path.join(self.cluster.bindir, "psql"), "-X", "-At", "-v",
                            "ON_ERROR_STOP=1", "-d", self.url(role), "-c", query],
                           capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
            return [line.split("|") for line in p.stdout.splitlines() if line]
        return p

    def catalog(self, name):
        return self.sql("SELECT schema_name, state, status, position, coalesce(error, '') "
                        "FROM orderly_views WHERE name = '%s' ORDER BY generation" % name)

    def deposit(self, account, cents, n=1):
        """n plain-SQL deposits on account-<account>, and the read model's checkpoint moved
        over them as a projector batch would."""
        self.sql("INSERT INTO events (stream_id, stream_version, type, data) "
                 "SELECT 'account-%s', coalesce((SELECT max(stream_version) FROM events "
                 "WHERE stream_id = 'account-%s'), 0) + g, 'FundsDeposited', "
                 "jsonb_build_object('account_id', '%s', 'amount_cents', %d, 'reference', 'r') "
                 "FROM generate_series(1, %d) g" % (account, account, account, cents, n))
        self.sql("UPDATE projections SET position = (SELECT max(position) FROM events) "
                 "WHERE name = 'read_model'")

    def build(self, schema, step=3):
        """Build steps as the query service makes them, until the view leaves 'building'."""
        for _ in range(1000):
            pos, state, status = self.sql("SELECT * FROM orderly_view_build_step('%s', %d)"
                                          % (schema, step), role="orderly_query")[0]
            if state != "building" or status != "running":
                return state, status
        self.fail("the view never left building")

    def fold(self):
        """tally's rows as a fold of the log: events, signed cents, last position."""
        return self.sql("SELECT data->>'account_id', count(*), sum(CASE type WHEN "
                        "'FundsWithdrawn' THEN -1 ELSE 1 END * (data->>'amount_cents')::bigint), "
                        "max(position) FROM events WHERE type IN ('FundsDeposited', "
                        "'FundsWithdrawn') GROUP BY 1 ORDER BY 1")

    def rows(self, schema):
        return self.sql("SELECT * FROM %s.tally ORDER BY account_id" % schema)


class RegistrationTest(ViewsDatabase):
    def test_registers_builds_and_goes_live_equal_to_a_fold(self):
        self.deposit("a", 100, 5)
        self.deposit("b", 7, 4)
        self.write("tally.sql", tally())
        p = self.migrate()
        self.assertEqual(p.returncode, 0, p.stderr)
        [(schema, state, status, position, _)] = self.catalog("tally")
        self.assertEqual((state, status, position), ("building", "running", "0"))
        self.assertRegex(schema, r"^v_tally_[0-9a-f]{8}_1$")
        self.assertEqual(self.build(schema), ("live", "running"))
        self.assertEqual(self.rows(schema), self.fold())
        # Live: the projector's batch moves it with the checkpoint, inside the batch.
        checkpoint = int(self.catalog("tally")[0][3])
        self.deposit("a", 1, 3)
        to = self.sql("SELECT max(position) FROM events")[0][0]
        handled = self.sql("SELECT orderly_views_apply_live(%d, %s)" % (checkpoint, to),
                           role="orderly_query")
        self.assertEqual(handled, [["3"]])
        self.assertEqual(self.catalog("tally")[0][3], to)
        self.assertEqual(self.rows(schema), self.fold())

    def test_migrate_again_registers_nothing_new(self):
        self.write("tally.sql", tally())
        self.assertEqual(self.migrate().returncode, 0)
        self.assertEqual(self.migrate().returncode, 0)
        self.assertEqual(len(self.catalog("tally")), 1)

    def test_a_changed_file_builds_beside_the_live_one_and_replaces_it(self):
        self.deposit("a", 5, 3)
        self.write("tally.sql", tally())
        self.migrate()
        old = self.catalog("tally")[0][0]
        self.build(old)
        self.write("tally.sql", tally("-- version 2"))
        self.assertEqual(self.migrate().returncode, 0)
        states = [(r[1], r[3]) for r in self.catalog("tally")]
        self.assertEqual(states[0][0], "live")
        self.assertEqual(states[1], ("building", "0"))
        new = self.catalog("tally")[1][0]
        self.assertNotEqual(new, old)
        self.assertEqual(self.rows(old), self.fold())  # still served while the new one builds
        self.deposit("a", 5, 2)
        self.assertEqual(self.build(new), ("live", "running"))
        self.assertEqual([r[1] for r in self.catalog("tally")], ["retired", "live"])
        self.assertEqual(self.rows(new), self.fold())
        self.assertEqual(self.migrate().returncode, 0)  # drops the retired schema
        self.assertEqual(self.sql("SELECT count(*) FROM pg_namespace WHERE nspname = '%s'"
                                  % old), [["0"]])

    def test_upcast_matches_the_c_readers(self):
        v1 = self.sql("SELECT orderly_event_data('OrderPlaced', 1, '{\"order_id\": \"o\"}')")
        self.assertEqual(v1, [['{"currency": "USD", "order_id": "o"}']])
        kept = self.sql("SELECT orderly_event_data('OrderPlaced', 1, '{\"currency\": \"EUR\"}')")
        self.assertEqual(kept, [['{"currency": "EUR"}']])
        for args in ("'OrderPlaced', 2, '{}'", "'FundsDeposited', 1, '{}'"):
            self.assertEqual(self.sql("SELECT orderly_event_data(%s)" % args), [["{}"]])

    def test_event_types_mirror_the_c_codec(self):
        domain = open(os.path.join(REPO, "common/domain/domain.h")).read()
        codec = open(os.path.join(REPO, "common/codec/event_codec.c")).read()
        names = dict(re.findall(r'X\((EV_[A-Z_]+), "([A-Za-z]+)"\)', domain))
        versions = dict(re.findall(r"\[(EV_[A-Z_]+)\] = \{[a-z_]+, (\d+),", codec))
        self.assertEqual(set(names), set(versions))
        expected = sorted([names[k], versions[k]] for k in names)
        self.assertEqual(self.sql("SELECT type, schema_version FROM orderly_event_types "
                                  "ORDER BY type"), expected)


class RefusalTest(ViewsDatabase):
    BAD = {
        "no_declare": "CREATE TABLE t (k text PRIMARY KEY);\n"
                      "CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE sql AS '';",
        "no_handler": tally().replace("CREATE FUNCTION handle(", "CREATE FUNCTION other("),
        "definer": tally().replace("LANGUAGE plpgsql AS", "LANGUAGE plpgsql SECURITY DEFINER AS"),
        "bad_column": tally().replace("key_columns => ARRAY['account_id']",
                                      "key_columns => ARRAY['account_id'], "
                                      "filter_columns => ARRAY['nope']"),
        "bad_type": tally().replace("'FundsWithdrawn'", "'FundsStolen'"),
        "not_unique": tally().replace("ARRAY['account_id']", "ARRAY['events']"),
        "syntax": tally().replace("CREATE TABLE", "CREATE TABEL"),
    }
    WHY = {"no_declare": "must call orderly_view_declare", "no_handler": "handle(orderly_event)",
           "definer": "SECURITY DEFINER", "bad_column": "no column nope",
           "bad_type": "unknown event types: FundsStolen", "not_unique": "unique index",
           "syntax": "syntax error"}

    def test_a_bad_file_fails_migrate_and_changes_nothing(self):
        for name, text in self.BAD.items():
            with self.subTest(name):
                for f in os.listdir(self.dir):
                    os.unlink(os.path.join(self.dir, f))
                self.write("good.sql", tally())
                self.write("%s.sql" % name, text)
                p = self.migrate()
                log = p.stdout + p.stderr
                self.assertEqual(p.returncode, 1, log)
                self.assertIn("%s.sql" % name, log)
                self.assertIn(self.WHY[name], log)
                self.assertEqual(self.catalog(name), [])
                self.assertEqual(self.sql("SELECT count(*) FROM pg_namespace "
                                          "WHERE nspname LIKE 'v\\_%s\\_%%'" % name), [["0"]])

    def test_a_file_name_a_view_may_not_have_fails_migrate(self):
        self.write("Bad-Name.sql", tally())
        p = self.migrate()
        self.assertEqual(p.returncode, 1)
        self.assertIn("Bad-Name.sql", p.stdout + p.stderr)

    def test_only_the_migrating_role_registers(self):
        self.write("tally.sql", tally())
        self.migrate()
        for role in ("orderly_query", "orderly_command"):
            for q in ("SELECT orderly_view_prepare('x', 'SELECT 1', true)",
                      "SELECT orderly_view_finish()",
                      "SELECT orderly_views_drop_retired()",
                      "INSERT INTO orderly_views (schema_name, name, version, generation, "
                      "source, state) VALUES ('s', 'x', 'v', 9, '', 'building')",
                      "DELETE FROM orderly_views",
                      "UPDATE orderly_views SET source = ''"):
                with self.subTest(role=role, q=q):
                    p = self.sql(q, role=role, check=False)
                    self.assertNotEqual(p.returncode, 0)
                    self.assertIn("permission denied", p.stderr)
        p = self.sql("SELECT orderly_views_apply_live(0, 1)", role="orderly_command", check=False)
        self.assertIn("permission denied", p.stderr)


class FailureTest(ViewsDatabase):
    def live(self, name, text):
        self.write("%s.sql" % name, text)
        self.assertEqual(self.migrate().returncode, 0)
        schema = self.catalog(name)[-1][0]
        self.assertEqual(self.build(schema), ("live", "running"))
        return schema

    def test_a_raising_handler_fails_only_its_view(self):
        self.deposit("a", 1)
        good = self.live("good", tally())
        self.live("bad", tally("IF e.data->>'amount_cents' = '13' THEN "
                               "RAISE EXCEPTION 'unlucky %', e.position; END IF;"))
        cp = int(self.catalog("good")[0][3])
        self.deposit("a", 13)
        self.deposit("a", 2)
        to = int(self.sql("SELECT max(position) FROM events")[0][0])
        self.sql("SELECT orderly_views_apply_live(%d, %d)" % (cp, to), role="orderly_query")
        [(_, _, status, position, error)] = self.catalog("bad")
        self.assertEqual((status, int(position)), ("failed", cp))
        self.assertIn("unlucky %d" % (to - 1), error)
        self.assertEqual(self.catalog("good")[0][2:4], ["running", str(to)])
        self.assertEqual(self.rows(good), self.fold())

    def test_a_handler_cannot_write_events(self):
        self.write("writer.sql", tally(
            "INSERT INTO events (stream_id, stream_version, type, data) "
            "VALUES ('x-' || e.position, 1, 'FundsDeposited', '{}');"))
        self.deposit("a", 1)
        self.assertEqual(self.migrate().returncode, 0)
        schema = self.catalog("writer")[0][0]
        self.assertEqual(self.build(schema), ("building", "failed"))
        [(_, _, _, position, error)] = self.catalog("writer")
        self.assertEqual(position, "0")
        self.assertIn("permission denied for table events", error)
        self.assertEqual(self.sql("SELECT count(*) FROM events WHERE stream_id LIKE 'x-%'"),
                         [["0"]])


if __name__ == "__main__":
    unittest.main()
