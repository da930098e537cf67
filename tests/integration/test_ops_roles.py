"""Operations: least privilege (migrations/0003_roles.sql). orderly_command may only append and
read events and its idempotency keys; orderly_query reads events and owns the read tables.
Each role is shown what it cannot do, and both services are shown to work as their role."""

import os
import subprocess

import harness
from harness import Client, new_id
from ops_support import OpsTest, psql_as, role_url
from orderly_env import REPO

READ_TABLES = ("projections", "rm_orders", "rm_accounts", "rm_customers", "rm_revenue_daily")
DENIED = ("permission denied", "must be owner")

# query-service rebuild's server-side steps (migrations/0009_rebuild_functions.sql and
# 0011_rebuild_unique_keys.sql).
REBUILD_FUNCTIONS = ("rebuild_add_unique", "rebuild_bulk_finish", "rebuild_bulk_start",
                     "rebuild_create_shadow", "rebuild_fill_start", "rebuild_index_body",
                     "rebuild_lock_live", "rebuild_plain_indexes", "rebuild_read_tables",
                     "rebuild_swap_in", "rebuild_swap_table", "rebuild_unique_keys")

EVENT_INSERT = ("INSERT INTO events (stream_id, stream_version, type, schema_version, data, "
                "metadata) VALUES ('account-%s', 1, 'AccountOpened', 1, '{}', '{}')")


class RolesTest(OpsTest):
    def assert_denied(self, role, query):
        p = psql_as(role, query)
        self.assertNotEqual(p.returncode, 0, "%s may run: %s" % (role, query))
        self.assertTrue(any(d in p.stderr for d in DENIED), p.stderr)

    def assert_allowed(self, role, query):
        p = psql_as(role, query)
        self.assertEqual(p.returncode, 0, "%s may not run %s: %s" % (role, query, p.stderr))
        return p.stdout

    def test_roles_are_plain_logins(self):
        rows = harness.sql("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, "
                           "rolpassword IS NULL FROM pg_authid WHERE rolname LIKE 'orderly\\_%' "
                           "ORDER BY rolname")
        # No password from the migration: it comes from the environment (scripts/db-roles).
        self.assertIn(["orderly_command", "f", "f", "f", "t", "t"], rows)
        self.assertIn(["orderly_query", "f", "f", "f", "t", "t"], rows)

    def test_command_role_cannot(self):
        for q in ("UPDATE events SET type = type WHERE position = 1",
                  "DELETE FROM events WHERE position = 1",
                  "TRUNCATE events",
                  "DROP TABLE events",
                  "DROP TABLE idempotency_keys",
                  "ALTER TABLE events DISABLE TRIGGER USER",
                  "UPDATE idempotency_keys SET status = 200",
                  "CREATE TABLE scratch (x int)",
                  "SELECT * FROM schema_migrations"):
            with self.subTest(q):
                self.assert_denied("orderly_command", q)
        for t in READ_TABLES:
            with self.subTest(table=t):
                self.assert_denied("orderly_command", "SELECT count(*) FROM %s" % t)
                self.assert_denied("orderly_command", "DELETE FROM %s" % t)
                self.assert_denied("orderly_command", "DROP TABLE %s" % t)

    def test_command_role_can(self):
        self.assert_allowed("orderly_command", "SELECT count(*) FROM events")
        self.assert_allowed("orderly_command", "SELECT count(*) FROM idempotency_keys")
        # Inside a rolled-back transaction: proves the privilege without leaving a row behind.
        self.assert_allowed("orderly_command", "BEGIN; " + EVENT_INSERT % new_id() +
                            "; INSERT INTO idempotency_keys (key, request_hash, status, "
                            "content_type, body) VALUES ('k-%s', 'h', 200, 'x', 'y'); "
                            "DELETE FROM idempotency_keys WHERE key = 'none'; ROLLBACK"
                            % new_id())

    def test_query_role_cannot(self):
        for q in (EVENT_INSERT % new_id(),
                  "UPDATE events SET type = type WHERE position = 1",
                  "DELETE FROM events WHERE position = 1",
                  "TRUNCATE events",
                  "DROP TABLE events",
                  "SELECT count(*) FROM idempotency_keys",
                  "DELETE FROM idempotency_keys",
                  "DROP TABLE idempotency_keys",
                  "CREATE TABLE scratch (x int)"):
            with self.subTest(q):
                self.assert_denied("orderly_query", q)

    def test_query_role_owns_read_tables(self):
        owners = dict(harness.sql("SELECT tablename, tableowner FROM pg_tables WHERE "
                                  "schemaname = 'public'"))
        for t in READ_TABLES:
            self.assertEqual(owners.get(t), "orderly_query", t)
        self.assertNotEqual(owners["events"], "orderly_query")
        self.assert_allowed("orderly_query", "SELECT count(*) FROM events")
        self.assert_allowed("orderly_query",
                            "SELECT pg_sequence_last_value('events_position_seq'::regclass)")
        self.assert_allowed("orderly_query", "BEGIN; UPDATE projections SET updated_at = "
                            "updated_at; DELETE FROM rm_customers WHERE customer_id = 'none'; "
                            "ROLLBACK")

    def test_rebuild_functions_belong_to_the_migrator(self):
        """`query-service rebuild` runs as the migrating role, which owns its functions; they
        run with their caller's rights (SECURITY INVOKER), and neither service role may call
        one: orderly_query owns the read tables and could otherwise lock or swap them away."""
        migrator = harness.sql("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' "
                               "AND tablename = 'events'")[0][0]
        rows = harness.sql("SELECT proname, prosecdef, proowner::regrole::text, "
                           "has_function_privilege(proowner, oid, 'EXECUTE'), "
                           "has_function_privilege('orderly_query', oid, 'EXECUTE'), "
                           "has_function_privilege('orderly_command', oid, 'EXECUTE') "
                           "FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                           "AND proname LIKE 'rebuild\\_%' ORDER BY proname")
        self.assertEqual(rows, [[f, "f", migrator, "t", "f", "f"] for f in REBUILD_FUNCTIONS])
        for role in ("orderly_query", "orderly_command"):
            with self.subTest(role):
                self.assert_denied(role, "SELECT rebuild_lock_live('public', 'read_model')")
                self.assert_denied(role, "SELECT rebuild_read_tables('public')")

    def test_migration_is_rerunnable(self):
        """Roles are cluster-wide: running 0003 again (a second database, a re-run) is safe."""
        path = os.path.join(REPO, "migrations", "0003_roles.sql")
        cl = harness.env().cluster
        p = subprocess.run([os.path.join(cl.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-1", "-d", cl.url, "-f", path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_services_work_as_their_roles(self):
        cmd = self.start_service("command", {"DATABASE_URL": role_url("orderly_command")})
        qry = self.start_service("query", {"DATABASE_URL": role_url("orderly_query")})
        # Ready (connected as the role; the projector leading or standing by) comes a while
        # after alive on a loaded machine: wait for it, with a deadline.
        cmd.wait_ready()
        qry.wait_ready()
        c, q = Client(cmd.port), Client(qry.port)
        try:
            key = new_id("idem-")
            body = {"owner": new_id("o-"), "currency": "EUR"}
            hdrs = {"Idempotency-Key": key}
            r = c.post("/v1/accounts", body, headers=hdrs)
            self.assertEqual(r.status, 201, r)
            again = c.post("/v1/accounts", body, headers=hdrs)
            self.assertEqual((again.status, again.raw), (r.status, r.raw))
            self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
            got = q.get("/v1/accounts/%s?min_position=%d" % (r.body["id"], r.body["position"]))
            self.assertEqual(got.status, 200, got)
            self.assertEqual(got.body["account_id"], r.body["id"])
            self.assertEqual(q.get("/v1/projections").body[0]["status"], "running")
        finally:
            c.close()
            q.close()
