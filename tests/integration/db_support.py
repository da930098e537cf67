"""Helpers for the database-layer tests (test_db_*.py): a private PostgreSQL cluster with its own
max_connections, services on it connecting as their least-privilege roles (which, unlike the
superuser, cannot use the reserved connection slots), psql sessions that hold a connection or a
lock, counting a service's connections in pg_stat_activity, and small HTTP helpers."""

import json
import os
import re
import subprocess
import threading
import time

import harness
from harness import Client, Cluster, Service, free_port

PROBLEM = harness.problem_base


class PrivateCluster:
    """initdb + migrate on a cluster of our own, so connection counts and max_connections are
    this test's alone. Stop it with destroy()."""

    def __init__(self, max_connections=100):
        self.cluster = Cluster().start()
        try:
            if max_connections != 300:
                with open(os.path.join(self.cluster.datadir, "postgresql.conf"), "a") as f:
                    f.write("max_connections = %d\n" % max_connections)
                self.cluster.restart()
            self._migrate()
        except BaseException:
            self.cluster.destroy()
            raise
        self.services = []

    def _migrate(self):
        e = harness.env()
        env = dict(os.environ)
        env.update(e.service_env())
        env["DATABASE_URL"] = self.cluster.url
        p = subprocess.run([e.binary("command"), "migrate"], env=env, capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise harness.HarnessError("migrate: %s%s" % (p.stdout, p.stderr))

    def url(self, role):
        return "postgresql://%s@127.0.0.1:%d/orderly" % (role, self.cluster.port)

    def psql(self, query):
        return self.cluster.psql(query)

    def value(self, query):
        rows = self.cluster.psql(query)
        return rows[0][0] if rows else None

    def start(self, kind, env=None, name=None):
        """A service on this cluster as its role (orderly_command / orderly_query)."""
        e = harness.env()
        svc_env = e.service_env()
        svc_env["DATABASE_URL"] = self.url("orderly_%s" % kind)
        svc_env.update(env or {})
        label = name or "%s-db%d" % (e.SERVICES[kind][0], len(self.services) + 1)
        svc = Service(label, e.binary(kind), svc_env, free_port(), e.run_dir)
        self.services.append(svc)
        svc.start(timeout=30)
        return svc

    def connections(self, app_prefix):
        """Backends whose application_name starts with app_prefix."""
        return int(self.value("SELECT count(*) FROM pg_stat_activity WHERE application_name "
                              "LIKE '%s%%'" % app_prefix))

    def destroy(self):
        """Stops the services (each must exit 0 without sanitizer reports) and the cluster;
        returns the problems found."""
        problems = []
        for svc in self.services:
            code = svc.stop()
            if code != 0:
                problems.append("%s exited %s on SIGTERM" % (svc.name, code))
            problems += ["%s: %s" % (svc.name, l) for l in harness.sanitizer_reports(svc.logfile)]
        self.cluster.destroy()
        return problems


class Session:
    """One interactive psql session (its own connection) that runs statements on demand and
    keeps its transaction open between them, e.g. to hold a lock."""

    def __init__(self, url, bindir):
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.lock = threading.Lock()

    def run(self, sql, timeout=30.0):
        """Sends sql and waits for its marker line; returns the lines before it, or None when the
        session died (e.g. it could not connect)."""
        marker = "done-%d" % id(sql)
        sql = sql.strip()
        if not sql.endswith(";"):
            sql += ";"
        try:
            self.proc.stdin.write("%s\nSELECT '%s';\n" % (sql, marker))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                return None
            line = line.rstrip("\n")
            if line == marker:
                return lines
            lines.append(line)
        raise AssertionError("psql session did not answer within %.0fs" % timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def error(self):
        """What a session that ended printed on stderr (its exit is waited for)."""
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            return ""
        return self.proc.stderr.read()


def fill_connections(pc, role="holder", limit=400):
    """Opens sessions as a non-superuser role until PostgreSQL refuses one (53300); returns the
    open sessions and the refusal's message."""
    pc.psql("DO $$ BEGIN CREATE ROLE %s LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            % role)
    sessions = []
    for _ in range(limit):
        s = Session(pc.url(role), pc.cluster.bindir)
        if s.run("SELECT 1", timeout=15) is None:
            message = s.error()
            s.close()
            return sessions, message
        sessions.append(s)
    raise AssertionError("PostgreSQL accepted %d connections" % limit)


def problem(test, r, status, slug, retry_after=True):
    """Asserts r is a problem+json of status/slug (with Retry-After when asked)."""
    test.assertEqual(r.status, status, r)
    test.assertTrue(r.headers.get("Content-Type", "").startswith("application/problem+json"), r)
    test.assertEqual((r.body or {}).get("type"), PROBLEM + slug, r)
    if retry_after:
        test.assertRegex(r.headers.get("Retry-After", ""), r"^[0-9]+$", r.headers)


def metric(port, name):
    """The value of an unlabelled series in the service's /metrics (None when absent)."""
    c = Client(port, timeout=10)
    try:
        text = c.get("/metrics").raw.decode()
    finally:
        c.close()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def ready(port):
    c = Client(port, timeout=10)
    try:
        return c.get("/readyz").status
    except OSError:
        return None
    finally:
        c.close()


def open_account(port, account_id, amount=0):
    """OpenAccount (+ a deposit); returns the last answer's position."""
    c = Client(port)
    try:
        r = c.post("/v1/accounts", {"account_id": account_id, "owner": "db-test",
                                    "currency": "EUR"})
        assert r.status == 201, r
        position = r.body["position"]
        if amount:
            r = c.post("/v1/accounts/%s/deposit" % account_id, {"amount_cents": amount})
            assert r.status == 200, r
            position = r.body["position"]
        return position
    finally:
        c.close()


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


def body_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None
