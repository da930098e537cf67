"""Helpers for the SQL-defined projections' runtime tests (test_views_runtime*.py): a private
database on the shared cluster, migrated with a projections folder of the test's own, with the
real services on it, each connecting as the role it runs as in production; bulk-loaded events;
a fold of the events computed in Python to compare a view with."""

import os
import shutil
import subprocess
import tempfile

import harness
from harness import Client, Service, free_port, new_id
from orderly_env import REPO

# Counts and sums per account of the money events: a sum doubles if anything applies twice.
TALLY = """
CREATE TABLE tally (account_id text PRIMARY KEY, events bigint NOT NULL,
                    cents bigint NOT NULL, last_position bigint NOT NULL);
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    %(before)s
    INSERT INTO tally AS t VALUES (e.data->>'account_id', 1,
        CASE e.type WHEN 'FundsWithdrawn' THEN -1 ELSE 1 END * (e.data->>'amount_cents')::bigint,
        e.position)
    ON CONFLICT (account_id) DO UPDATE
        SET events = t.events + 1, cents = t.cents + excluded.cents,
            last_position = excluded.last_position;
END $$;
SELECT orderly_view_declare(event_types => ARRAY['FundsDeposited', 'FundsWithdrawn'],
                            view_table => 'tally', key_columns => ARRAY['account_id']);
"""


def tally(before=""):
    """The tally file; before: plpgsql run first for every event (a slower handler, one that
    raises on some event, a version 2)."""
    return TALLY % {"before": before}


def fold_tally(rows):
    """tally's rows computed in Python from events rows (type, account_id, amount, position),
    as the view stores them: {account_id: [events, cents, last_position]}."""
    out = {}
    for typ, account, amount, position in rows:
        if typ not in ("FundsDeposited", "FundsWithdrawn"):
            continue
        t = out.setdefault(account, [0, 0, 0])
        t[0] += 1
        t[1] += -int(amount) if typ == "FundsWithdrawn" else int(amount)
        t[2] = max(t[2], int(position))
    return out


class ViewsDb:
    """CREATE DATABASE on the shared cluster + `command-service migrate` with PROJECTIONS_DIR a
    temporary folder; services on it as orderly_query / orderly_command. destroy() stops them
    (each must exit 0 on SIGTERM, no sanitizer reports) and drops the database."""

    def __init__(self):
        self.cluster = harness.env().cluster
        self.name = "views_" + new_id()[:12].replace("-", "_")
        self.cluster.psql("CREATE DATABASE %s" % self.name, db="postgres")
        self.dir = tempfile.mkdtemp(prefix="views-")
        self.services = []
        self.migrate(check=True)

    def url(self, role="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (role, self.cluster.port, self.name)

    def env(self, role="postgres"):
        e = dict(os.environ)
        e.update(harness.env().service_env())
        e.update(DATABASE_URL=self.url(role), PROJECTIONS_DIR=self.dir,
                 MIGRATIONS_DIR=os.path.join(REPO, "migrations"))
        return e

    def psql(self, query):
        return self.cluster.psql(query, db=self.name)

    def value(self, query):
        rows = self.psql(query)
        return rows[0][0] if rows else None

    def write(self, name, text):
        with open(os.path.join(self.dir, name + ".sql"), "w") as f:
            f.write(text)

    def migrate(self, check=False):
        """`command-service migrate` as the migrating role (the superuser here)."""
        p = subprocess.run([harness.env().binary("command"), "migrate"], env=self.env(),
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise harness.HarnessError("migrate: %s%s" % (p.stdout, p.stderr))
        return p

    def register(self, name, text):
        self.write(name, text)
        self.migrate(check=True)

    def rebuild(self, *args, timeout=300):
        """`query-service rebuild ARGS` as the migrating role."""
        return subprocess.run([harness.env().binary("query"), "rebuild"] + list(args),
                              env=self.env(), capture_output=True, text=True, timeout=timeout)

    def start(self, kind, role=None):
        """A service on this database as role (default its own: orderly_<kind>)."""
        e = harness.env()
        svc_env = e.service_env()
        svc_env["DATABASE_URL"] = self.url(role or "orderly_" + kind)
        label = "%s-%s-%d" % (e.SERVICES[kind][0], self.name, len(self.services) + 1)
        svc = Service(label, e.binary(kind), svc_env, free_port(), e.run_dir)
        self.services.append(svc)
        svc.start(ready=True)
        return svc

    def seed_deposits(self, accounts, per_account, prefix="seed"):
        """accounts x (AccountOpened + per_account FundsDeposited of 1..per_account cents), in
        bulk SQL (as test_es_rebuild and bench seed), interleaved across accounts."""
        self.psql(
            "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata) "
            "SELECT 'account-%(p)s' || a, 1, 'AccountOpened', 1, jsonb_build_object("
            "'account_id', '%(p)s' || a, 'owner', 'seed', 'currency', 'EUR', "
            "'overdraft_limit_cents', 0), '{}' FROM generate_series(1, %(a)d) a ORDER BY a"
            % {"p": prefix, "a": accounts})
        self.psql(
            "INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata) "
            "SELECT 'account-%(p)s' || a, v + 1, 'FundsDeposited', 1, jsonb_build_object("
            "'account_id', '%(p)s' || a, 'amount_cents', v, 'reference', 'seed'), '{}' "
            "FROM generate_series(1, %(v)d) v, generate_series(1, %(a)d) a ORDER BY v, a"
            % {"p": prefix, "a": accounts, "v": per_account})
        return [prefix + str(a) for a in range(1, accounts + 1)]

    def head(self):
        return int(self.value("SELECT coalesce(max(position), 0) FROM events"))

    def fold(self):
        """tally as a Python fold of the whole events table."""
        rows = self.psql("SELECT type, data->>'account_id', coalesce(data->>'amount_cents', '0'),"
                         " position FROM events WHERE type IN ('FundsDeposited', "
                         "'FundsWithdrawn')")
        return fold_tally(rows)

    def tally_rows(self, schema):
        return {a: [int(n), int(c), int(p)] for a, n, c, p in
                self.psql("SELECT account_id, events, cents, last_position FROM %s.tally"
                          % schema)}

    def catalog(self, name):
        """[{schema, generation, state, status, position, error}] oldest first."""
        rows = self.psql("SELECT schema_name, generation, state, status, position, "
                         "coalesce(error, '') FROM orderly_views WHERE name = '%s' "
                         "ORDER BY generation" % name)
        return [{"schema": s, "generation": int(g), "state": st, "status": ss,
                 "position": int(p), "error": e} for s, g, st, ss, p, e in rows]

    def destroy(self):
        problems = []
        for svc in self.services:
            code = svc.stop()
            if code not in (0, None):
                problems.append("%s exited %s on SIGTERM" % (svc.name, code))
            problems += ["%s: %s" % (svc.name, l) for l in harness.sanitizer_reports(svc.logfile)]
        self.cluster.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name, db="postgres",
                          check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems


def projections(port):
    """GET /v1/projections as {name or (name, generation): row}: the read model by its name,
    each SQL view by (name, generation)."""
    c = Client(port, timeout=30)
    try:
        r = c.get("/v1/projections")
    finally:
        c.close()
    assert r.status == 200, r
    return {(p["name"], p["generation"]) if "generation" in p else p["name"]: p for p in r.body}
