"""What integration tests import: the shared environment (one cluster and one pair of services
per run), sql(), an HTTP client, small helpers. Stdlib only; see tests/harness/README.md."""

import atexit
import http.client
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "harness"))
from orderly_env import (READY_TIMEOUT_S, Cluster, Environment, HarnessError,  # noqa: E402
                         Service, free_port, log_tail, sanitizer_reports)

__all__ = ["READY_TIMEOUT_S", "Cluster", "Environment", "HarnessError", "Service", "free_port",
           "log_tail", "sanitizer_reports", "env", "sql", "sql_value", "sql_json", "sql_literal",
           "Client", "Response", "command", "query", "new_id", "problem_base", "shutdown_env",
           "outage", "wait_until"]

PROBLEM_BASE = "https://orderly.dev/problems/"
problem_base = PROBLEM_BASE

_env = None
_env_error = None  # a failed start is not retried: every test would redo initdb and fail again
_env_lock = threading.Lock()
last_run_dir = None  # where the latest environment's logs are, for failure reports


def env():
    """The run's shared Environment, created on first use and torn down at exit (run.py does it
    explicitly to report teardown problems)."""
    global _env, _env_error, last_run_dir
    with _env_lock:
        if _env_error is not None:
            raise HarnessError("environment failed to start: %s" % _env_error)
        if _env is None:
            e = Environment()
            last_run_dir = e.run_dir
            try:
                e.start()
            except BaseException as err:
                _env_error = err
                e.destroy()
                raise
            _env = e
            atexit.register(shutdown_env)
        return _env


def shutdown_env():
    """Stops services and the cluster; returns the teardown problems (empty when clean)."""
    global _env
    with _env_lock:
        if _env is None:
            return []
        e, _env = _env, None
    try:
        return e.teardown_problems()
    finally:
        e.destroy()


def sql(query):
    """Rows of query as lists of strings (psql -At); raises HarnessError if psql fails."""
    return env().cluster.psql(query)


def sql_json(query):
    """The single JSON value query returns (wrap it in json_agg/row_to_json); psql's column
    separator could appear inside JSON, so it is never split."""
    out = env().cluster.psql(query, raw=True).strip()
    return json.loads(out) if out else None


def sql_literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def sql_value(query):
    rows = sql(query)
    return rows[0][0] if rows else None


def new_id(prefix=""):
    return prefix + uuid.uuid4().hex


class Headers:
    """Case-insensitive view of response headers (last value wins)."""

    def __init__(self, pairs):
        self._d = {k.lower(): (k, v) for k, v in pairs}

    def get(self, name, default=None):
        item = self._d.get(name.lower())
        return item[1] if item else default

    def __getitem__(self, name):
        return self._d[name.lower()][1]

    def __contains__(self, name):
        return name.lower() in self._d

    def __repr__(self):
        return repr(dict(self._d.values()))


class Response:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def body(self):
        """Parsed JSON, or None when the body is not JSON."""
        try:
            return json.loads(self.raw)
        except ValueError:
            return None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:400].decode("utf-8", "replace"))


class Client:
    """One persistent keep-alive connection to a service. Not thread-safe: one per thread."""

    def __init__(self, port, timeout=READY_TIMEOUT_S):
        self.port, self.timeout = port, timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, raw=None):
        """body (any JSON value) is sent as application/json; raw (bytes/str) is sent as is
        with whatever Content-Type headers says."""
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(data, str):
            data = data.encode()
        for attempt in (0, 1):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server may close an idle keep-alive connection before reading the
                # request; only then is a retry on a new connection safe.
                self.close()
                if fresh or attempt:
                    raise
                continue
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return Response(resp.status, Headers(resp.getheaders()), payload)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)


def command():
    """A new client for the shared command-service."""
    return Client(env().service("command").port)


def query():
    """A new client for the shared query-service."""
    return Client(env().service("query").port)


class outage:
    """Context manager: PostgreSQL is stopped inside the block and always started again after,
    so one failing test cannot leave the database down for the rest of the run."""

    def __init__(self, mode="fast"):
        self.mode = mode

    def __enter__(self):
        env().cluster.stop_server(self.mode)
        return self

    def __exit__(self, *exc):
        cluster = env().cluster
        if not cluster.running:
            cluster.start_server()
        return False


def wait_until(predicate, timeout=READY_TIMEOUT_S, interval=0.1):
    """Polls predicate until it returns a truthy value; returns that value or the last falsy.
    The default deadline is generous (a loaded CI machine); a true predicate returns at once."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
