"""The generated driver of a SQL projection (migrations/0012_views_driver.sql): a handler that
returns void is called as a PL/pgSQL simple expression instead of a PERFORM query per event,
any other handler keeps PERFORM, both apply exactly what a fold of the log says, and a view
registered before 0012 gets the new driver when 0012 runs."""

import os
import re
import subprocess
import unittest

from orderly_env import REPO
from views_support import ViewsDb, tally

# tally's handler returning a set: PERFORM is the only call that takes it.
SETOF_TALLY = tally().replace("RETURNS void LANGUAGE plpgsql", "RETURNS SETOF integer "
                              "LANGUAGE plpgsql").replace("END $$;", "RETURN NEXT 1;\nEND $$;")

# 0010's driver body: what a view registered before 0012 runs.
OLD_CALL = "PERFORM %s.handle(e);"


class DriverTest(unittest.TestCase):
    def setUp(self):
        self.views = ViewsDb()
        self.addCleanup(self.check_destroy)

    def check_destroy(self):
        self.assertEqual(self.views.destroy(), [])

    def register_and_build(self, text):
        """tally registered, 5 + 4 deposits on two accounts, built to live as orderly_query
        (the role the query service runs handlers as); returns its schema."""
        self.views.seed_deposits(2, 4)
        self.views.register("tally", text)
        schema = self.views.catalog("tally")[-1]["schema"]
        self.views.psql("UPDATE projections SET position = (SELECT max(position) FROM events) "
                        "WHERE name = 'read_model'")
        self.build(schema)
        return schema

    def build(self, schema):
        state = None
        for _ in range(100):
            url = self.views.url("orderly_query")
            p = subprocess.run([os.path.join(self.views.cluster.bindir, "psql"), "-X", "-At",
                                "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
                                "SELECT view_state, view_status FROM "
                                "orderly_view_build_step('%s', 3)" % schema],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            state = p.stdout.strip()
            if state != "building|running":
                break
        self.assertEqual(state, "live|running")

    def driver(self, schema):
        return self.views.cluster.psql("SELECT prosrc FROM pg_proc WHERE oid = "
                                       "'%s.orderly_apply(bigint, bigint)'::regprocedure"
                                       % schema, db=self.views.name, raw=True)[:-1]

    def assert_equals_fold(self, schema):
        self.assertEqual(self.views.tally_rows(schema), self.views.fold())

    def test_views_driver_calls_a_void_handler_without_perform(self):
        schema = self.register_and_build(tally())
        body = self.driver(schema)
        self.assertIn("IF %s.handle(e) IS NULL THEN END IF;" % schema, body)
        self.assertNotIn("PERFORM", body)
        self.assert_equals_fold(schema)

    def test_views_driver_keeps_perform_for_a_set_returning_handler(self):
        schema = self.register_and_build(SETOF_TALLY)
        self.assertIn(OLD_CALL % schema, self.driver(schema))
        self.assert_equals_fold(schema)

    def test_views_driver_migration_replaces_an_older_driver(self):
        schema = self.register_and_build(tally())
        new = self.driver(schema)
        old = re.sub(r"IF (\S+)\.handle\(e\) IS NULL THEN END IF;", r"PERFORM \1.handle(e);",
                     new)
        self.assertNotEqual(old, new)
        self.views.psql("CREATE OR REPLACE FUNCTION %s.orderly_apply(from_pos bigint, to_pos "
                        "bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = %s, public "
                        "AS $d$%s$d$" % (schema, schema, old))
        self.assertEqual(self.driver(schema), old)
        path = os.path.join(REPO, "migrations", "0012_views_driver.sql")
        p = subprocess.run([os.path.join(self.views.cluster.bindir, "psql"), "-X", "-q", "-v",
                            "ON_ERROR_STOP=1", "-d", self.views.url(), "-f", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.driver(schema), new)
        # Still the query role's to run, and still exact: a live batch over new deposits.
        before = int(self.views.value("SELECT position FROM orderly_views WHERE schema_name = "
                                      "'%s'" % schema))
        self.views.seed_deposits(1, 3, prefix="more")
        head = self.views.head()
        got = subprocess.run([os.path.join(self.views.cluster.bindir, "psql"), "-X", "-At",
                              "-v", "ON_ERROR_STOP=1", "-d", self.views.url("orderly_query"),
                              "-c", "SELECT orderly_views_apply_live(%d, %d)" % (before, head)],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual((got.returncode, got.stdout.strip()), (0, "3"), got.stderr)
        self.assert_equals_fold(schema)


if __name__ == "__main__":
    unittest.main()
