"""Helpers for the fault and abuse tests: clients that retry one command under one
Idempotency-Key until it settles, counting a command's events, process memory and fd limits from
/proc, and a private command-service with its own limits so abuse never touches the shared one."""

import http.client
import os
import resource
import socket
import subprocess
import threading
import time

import harness
from harness import sql

# A command has settled once it has an answer a client would not retry: 2xx or a 4xx other
# than 409 idempotency-in-progress (which says "retry later", as 503 does).
RETRY_PAUSE_S = 0.05


def settled(status, body):
    if 200 <= status < 300:
        return True
    if status == 409 and isinstance(body, dict) and str(body.get("type", "")).endswith(
            "/idempotency-in-progress"):
        return False
    return 400 <= status < 500


class Command:
    """One logical command: its key and correlation id stay the same across every retry, so the
    events it wrote can be found by metadata.correlation_id."""

    def __init__(self, path, body, key, expected_events=1):
        self.path, self.body, self.key = path, body, key
        self.correlation_id = "corr-" + key
        self.expected_events = expected_events
        self.attempts = 0
        self.replays = 0  # answers that carried Idempotent-Replayed: true
        self.status = None
        self.response = None


def send_until_settled(port, cmd, deadline_s=60.0):
    """Posts cmd with its key until it settles (retrying 503, 409 in-progress and connection
    errors, each time on a fresh connection); records the final answer on cmd."""
    headers = {"Idempotency-Key": cmd.key, "X-Correlation-ID": cmd.correlation_id}
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        cmd.attempts += 1
        client = harness.Client(port, timeout=10)
        try:
            r = client.post(cmd.path, cmd.body, headers=headers)
        except (OSError, http.client.HTTPException):
            time.sleep(RETRY_PAUSE_S)
            continue
        finally:
            client.close()
        if r.headers.get("Idempotent-Replayed") == "true":
            cmd.replays += 1
        if settled(r.status, r.body):
            cmd.status, cmd.response = r.status, r
            return cmd
        time.sleep(RETRY_PAUSE_S)
    return cmd


def events_by_correlation(prefix):
    """{correlation_id: number of events} for every event whose correlation id starts with
    'corr-' + prefix: what each logical command really appended."""
    rows = sql("SELECT metadata->>'correlation_id', count(*) FROM events "
               "WHERE metadata->>'correlation_id' LIKE %s GROUP BY 1"
               % harness.sql_literal("corr-" + prefix + "%"))
    return {cid: int(n) for cid, n in rows}


def idempotency_keys(prefix):
    return {k for (k,) in sql("SELECT key FROM idempotency_keys WHERE key LIKE %s"
                              % harness.sql_literal(prefix + "%"))}


class Load:
    """Threads that each send their own stream of commands (made by make(worker, i)) until
    stop(); every command is retried until it settles, so after stop() each one has an
    answer."""

    def __init__(self, port_fn, make, workers=6):
        self.port_fn, self.make, self.workers = port_fn, make, workers
        self.commands = []
        self.settled = 0  # commands that got their final answer so far
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def _run(self, w):
        i = 0
        while not self._stop.is_set():
            cmd = self.make(w, i)
            i += 1
            with self._lock:
                self.commands.append(cmd)
            send_until_settled(self.port_fn(), cmd)
            with self._lock:
                self.settled += cmd.status is not None

    def start(self):
        self._threads = [threading.Thread(target=self._run, args=(w,), daemon=True)
                         for w in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def wait_settled(self, more, timeout=harness.READY_TIMEOUT_S):
        """Until `more` further commands have settled: the load really runs (on a loaded
        machine it may take a while), instead of sleeping and hoping it did."""
        target = self.settled + more
        if not harness.wait_until(lambda: self.settled >= target, timeout, 0.02):
            raise AssertionError("the load settled %d commands, not %d, within %.0f s"
                                 % (self.settled, target, timeout))

    def stop(self, timeout=90.0):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        return [t for t in self._threads if t.is_alive()]


# --- processes


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_files_limit(pid):
    """The soft RLIMIT_NOFILE of a running process."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def raise_open_files(n):
    """Raises this process's soft fd limit to at least n (up to the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(max(soft, n), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def is_sanitized(binary):
    """True for an ASan build: its RSS includes shadow memory, so memory caps differ."""
    try:
        out = subprocess.run(["nm", "-D", binary], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "__asan_init" in out


def memory_cap_kb(binary, normal_mb=64, sanitized_mb=1024):
    return (sanitized_mb if is_sanitized(binary) else normal_mb) * 1024


def private_command_service(name, **extra_env):
    """A command-service of its own (own port, own log, the shared database) started with
    extra environment; the caller stops it."""
    e = harness.env()
    env = e.service_env()
    env.update({k: str(v) for k, v in extra_env.items()})
    svc = harness.Service(name, e.binary("command"), env, harness.free_port(), e.run_dir)
    return svc.start()


def timed_get(port, path, timeout=5.0):
    """(status, seconds) of one GET on a fresh connection."""
    t0 = time.monotonic()
    c = harness.Client(port, timeout=timeout)
    try:
        r = c.get(path)
        return r.status, time.monotonic() - t0
    finally:
        c.close()


def raw_connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(sock, wait_s=0.0):
    """True when the server has closed sock (EOF or reset) within wait_s seconds; any bytes it
    sends first (a 408, say) are read and skipped."""
    deadline = time.monotonic() + wait_s
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            if sock.recv(65536) == b"":
                return True
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True


def _peer_closed_now(sock):
    """closed_by_peer without waiting: bytes the server sent first are read and skipped."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_closed(socks, want, timeout):
    """Polls until the server has closed at least `want` of socks (a connection timeout fires
    late on a loaded machine) or the deadline passes; returns how many it closed."""
    closed = set()

    def enough():
        closed.update(i for i, s in enumerate(socks) if i not in closed and _peer_closed_now(s))
        return len(closed) >= want
    harness.wait_until(enough, timeout, 0.2)
    return len(closed)


def service_log_reports(svc):
    """Sanitizer complaints in a service log (a private service is not in teardown's list)."""
    return harness.sanitizer_reports(svc.logfile)


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default
