"""The one test/dev environment: a private PostgreSQL 15 cluster, migrations, and the services.
Used by scripts/run (CLI `serve`), scripts/test and tests/integration/harness.py. Stdlib only."""

import argparse
import fcntl
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_USER = "postgres"  # the unprivileged OS user the server runs as when we are root
DB_NAME = "orderly"
# How long a process may take to come up or to recover. Generous: on a shared CI machine (load
# average 6) and in the ASan build a start takes seconds; every wait polls and returns as soon
# as its condition holds, so a quiet machine never waits this long.
READY_TIMEOUT_S = float(os.environ.get("ORDERLY_READY_TIMEOUT_S", "60"))
PORT_TRIES = 3  # a port picked free can be taken before the server binds it (parallel runs)


class HarnessError(RuntimeError):
    pass


def free_port(preferred=None):
    """A TCP port free on 127.0.0.1: `preferred` or the next free one after it, else the
    kernel's choice. Never hard-code ports: parallel runs would collide."""
    if preferred:
        for port in range(preferred, preferred + 100):
            if _port_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pg_bindir():
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        return explicit
    for d in ["/usr/lib/postgresql/15/bin"] + sorted(glob.glob("/usr/lib/postgresql/*/bin")):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise HarnessError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")


def build_dir():
    d = os.environ.get("ORDERLY_BUILD_DIR", os.path.join(REPO, "build"))
    return d if os.path.isabs(d) else os.path.join(REPO, d)


def listens_on(pid, port):
    """Whether process pid holds the listening TCP socket of port (Linux /proc): a /healthz
    answer on a port proves nothing about who answered when parallel runs pick ports."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add("socket:[%s]" % cols[9])
        except OSError:
            continue
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            continue
    return False


def _read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


def log_tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(data[-lines:])
    except OSError:
        return "(no log)"


class Cluster:
    """A throwaway PostgreSQL cluster in a temp dir: Unix socket there and TCP on 127.0.0.1
    at a free port, trust auth, durability off (tests never need crash safety)."""

    def __init__(self, root=None):
        self.bindir = pg_bindir()
        self.root = root or tempfile.mkdtemp(prefix="orderly-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.logfile = os.path.join(self.root, "postgresql.log")
        self.port = None
        self.running = False
        self._as_other = os.geteuid() == 0

    @property
    def url(self):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, DB_NAME)

    def _run(self, args, check=True, timeout=2 * READY_TIMEOUT_S):
        """Runs a server binary as the unprivileged user: PostgreSQL refuses to run as root."""
        cmd = [os.path.join(self.bindir, args[0])] + list(args[1:])
        if self._as_other:
            cmd = ["runuser", "-u", PG_USER, "--"] + cmd
        # A new session keeps the postmaster out of the terminal's process group: Ctrl-C must
        # reach only the harness, which then stops everything in order.
        p = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                           start_new_session=True)
        if check and p.returncode != 0:
            raise HarnessError("%s failed (%d): %s%s\n%s" % (
                args[0], p.returncode, p.stdout, p.stderr, log_tail(self.logfile)))
        return p

    def start(self):
        if self._as_other:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, PG_USER, PG_USER)
        self._run(["initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust", "-E",
                   "UTF8", "--locale=C", "--no-sync"])
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# orderly test cluster\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 300\nlog_min_messages = warning\n"
                    "log_line_prefix = '%%m [%%p] '\n" % self.root)
        for attempt in range(PORT_TRIES):
            self.port = free_port()
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("port = %d\n" % self.port)  # the last setting wins
            try:
                self.start_server()
                break
            except HarnessError as e:
                if attempt + 1 == PORT_TRIES or "could not bind" not in str(e):
                    raise
        self.psql("CREATE DATABASE %s" % DB_NAME, db="postgres")
        return self

    def start_server(self):
        self._run(["pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t",
                   "%d" % READY_TIMEOUT_S, "start"])
        self.running = True

    def _flush_before_crash(self, mode):
        """With synchronous_commit=off an acknowledged commit may still sit in WAL buffers, and
        an immediate stop would lose it: an artifact of our test settings, not of the service
        under test, so the WAL is flushed first and a crash loses only uncommitted work."""
        if mode == "immediate" and self.running:
            self.psql("CHECKPOINT", db="postgres", check=False)

    def stop_server(self, mode="fast"):
        """Stops the server but keeps the cluster: with start_server, simulates an outage."""
        self._flush_before_crash(mode)
        self._run(["pg_ctl", "-D", self.datadir, "-m", mode, "-w", "-t",
                   "%d" % READY_TIMEOUT_S, "stop"])
        self.running = False

    def restart(self, mode="fast"):
        """mode 'fast' rolls back sessions cleanly; 'immediate' is a crash and recovery."""
        self._flush_before_crash(mode)
        self._run(["pg_ctl", "-D", self.datadir, "-l", self.logfile, "-m", mode, "-w",
                   "-t", "%d" % READY_TIMEOUT_S, "restart"])
        self.running = True

    def psql(self, query, db=DB_NAME, check=True, raw=False):
        """Runs one query via psql -At; returns rows as lists of strings (| separated), the
        CompletedProcess when check is False, or stdout as one string when raw."""
        url = "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)
        p = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-At", "-v",
                            "ON_ERROR_STOP=1", "-d", url, "-c", query],
                           capture_output=True, text=True, timeout=2 * READY_TIMEOUT_S)
        if check and p.returncode != 0:
            raise HarnessError("psql failed (%d): %s\nquery: %s" % (p.returncode, p.stderr, query))
        if not check:
            return p
        if raw:
            return p.stdout
        return [line.split("|") for line in p.stdout.splitlines() if line != ""]

    def apply_sql_files(self, directory):
        for path in sorted(glob.glob(os.path.join(directory, "*.sql"))):
            p = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-v",
                                "ON_ERROR_STOP=1", "-d", self.url, "-f", path],
                               capture_output=True, text=True, timeout=2 * READY_TIMEOUT_S)
            if p.returncode != 0:
                raise HarnessError("applying %s failed: %s" % (path, p.stderr))

    def start_standby(self, name="standby1"):
        """A streaming hot standby of this (running) primary in its own temp dir, as the same
        unprivileged user: pg_basebackup -R over loopback, then its own port and socket dir.
        Returns the standby Cluster once the primary reports it streaming."""
        sb = Cluster()
        if sb._as_other:
            os.chmod(sb.root, 0o755)
            shutil.chown(sb.root, PG_USER, PG_USER)
        source = "host=127.0.0.1 port=%d user=postgres application_name=%s" % (self.port, name)
        sb._run(["pg_basebackup", "-D", sb.datadir, "-d", source, "-R", "-X", "stream",
                 "-c", "fast", "--no-sync"])
        with open(os.path.join(sb.datadir, "postgresql.conf"), "a") as f:
            # hot_standby_feedback: the primary keeps rows a standby read still needs, so reads
            # are not cancelled by replay conflicts.
            f.write("\n# orderly test standby\nunix_socket_directories = '%s'\n"
                    "hot_standby = on\nhot_standby_feedback = on\n"
                    "wal_receiver_status_interval = 1s\n" % sb.root)
        for attempt in range(PORT_TRIES):
            sb.port = free_port()
            with open(os.path.join(sb.datadir, "postgresql.conf"), "a") as f:
                f.write("port = %d\n" % sb.port)
            try:
                sb.start_server()
                break
            except HarnessError as e:
                if attempt + 1 == PORT_TRIES or "could not bind" not in str(e):
                    sb.destroy()
                    raise
        sb.primary, sb.name = self, name
        self.wait_streaming(name)
        # WAL reaches a standby once flushed; with synchronous_commit=off the WAL writer
        # flushes only every wal_writer_delay (200 ms), which a standby's readers would wait
        # out. Production commits synchronously; fsync stays off, so it costs little here.
        self.psql("ALTER SYSTEM SET synchronous_commit = on", db="postgres")
        self.psql("SELECT pg_reload_conf()", db="postgres")
        return sb

    def wait_streaming(self, name, timeout=READY_TIMEOUT_S):
        """Until this primary reports the standby `name` streaming; HarnessError at the
        deadline."""
        deadline = time.monotonic() + timeout
        query = ("SELECT count(*) FROM pg_stat_replication WHERE application_name = '%s' "
                 "AND state = 'streaming'" % name)
        while time.monotonic() < deadline:
            if self.psql(query, db="postgres")[0][0] == "1":
                return
            time.sleep(0.05)
        raise HarnessError("standby %s not streaming within %.0fs" % (name, timeout))

    def wait_replayed(self, timeout=READY_TIMEOUT_S):
        """On a standby: until it has replayed everything its primary had written when called."""
        lsn = self.primary.psql("SELECT pg_current_wal_lsn()", db="postgres")[0][0]
        deadline = time.monotonic() + timeout
        query = "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % lsn
        while time.monotonic() < deadline:
            if self.psql(query, db="postgres")[0][0] == "t":
                return
            time.sleep(0.02)
        raise HarnessError("standby did not replay up to %s within %.0fs" % (lsn, timeout))

    def make_synchronous(self, standby):
        """Commits on this primary wait until `standby` has flushed them: a 2xx is then on two
        machines."""
        self.psql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % standby.name, db="postgres")
        self.psql("ALTER SYSTEM SET synchronous_commit = on", db="postgres")
        self.psql("SELECT pg_reload_conf()", db="postgres")
        query = ("SELECT count(*) FROM pg_stat_replication WHERE application_name = '%s' "
                 "AND sync_state = 'sync'" % standby.name)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self.psql(query, db="postgres")[0][0] != "1":
            if time.monotonic() > deadline:
                raise HarnessError("standby %s never became synchronous" % standby.name)
            time.sleep(0.05)

    def kill_postmaster(self):
        """The machine dies: SIGKILL to the postmaster (pid from postmaster.pid) and to every
        child it had, then waits until none of them exists. No checkpoint, no shutdown record."""
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            pid = int(f.readline())
        family = [pid] + _children(pid)
        for p in family:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.running = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        while any(_alive(p) for p in family):
            if time.monotonic() > deadline:
                raise HarnessError("postmaster %d or a child survived SIGKILL" % pid)
            time.sleep(0.01)

    def promote(self):
        """On a standby: pg_ctl promote, waiting until it accepts writes (what a failover
        manager such as Patroni does after it has fenced the old primary)."""
        self._run(["pg_ctl", "-D", self.datadir, "-w", "-t", "%d" % READY_TIMEOUT_S, "promote"])
        self.primary = None

    def destroy(self):
        if self.running:
            try:
                self.stop_server("immediate")
            except Exception:  # a wedged server must not keep the temp dir alive
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid):
    """Pids whose parent is pid (from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def _alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def multi_host_url(*clusters, attrs="read-write"):
    """A libpq multi-host URL over clusters: libpq tries them in order and keeps the first
    whose session matches target_session_attrs (read-write: the primary)."""
    hosts = ",".join("127.0.0.1:%d" % c.port for c in clusters)
    return "postgresql://postgres@%s/%s?target_session_attrs=%s" % (hosts, DB_NAME, attrs)


def http_get_status(port, path, timeout=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


class Service:
    """One service process: started with env, its stdout+stderr appended to a log file in the
    run dir (appended across restarts, so a test's kill -9 and restart stay in one story)."""

    def __init__(self, name, binary, env, port, log_dir):
        self.name, self.binary, self.port = name, binary, port
        self.env = dict(env)
        self.logfile = os.path.join(log_dir, name + ".log")
        self.proc = None
        self.exit_codes = []  # every exit we observed, for the teardown check

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=READY_TIMEOUT_S, ready=False):
        """Starts the process and waits for /healthz 200 (and /readyz 200 when ready: the
        database reachable, the projector leading or standing by). A port taken meanwhile by
        someone else is replaced by another free one."""
        if not os.access(self.binary, os.X_OK):
            raise HarnessError("%s: binary missing: %s (build first)" % (self.name, self.binary))
        for attempt in range(PORT_TRIES):
            offset = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
            self._spawn()
            try:
                self.wait_status("/healthz", 200, timeout, own_port=True)
                break
            except HarnessError:
                if attempt + 1 == PORT_TRIES or self.alive() or \
                        b"cannot listen on" not in _read_from(self.logfile, offset):
                    raise
                self.port = free_port()
        if ready:
            self.wait_ready(timeout)
        return self

    def _spawn(self):
        env = dict(os.environ)
        env.update(self.env)
        env["PORT"] = str(self.port)
        log = open(self.logfile, "ab")
        log.write(("--- start %s %s\n" % (self.name, time.strftime("%H:%M:%S"))).encode())
        log.flush()
        self.proc = subprocess.Popen([self.binary], env=env, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, cwd=REPO,
                                     start_new_session=True)
        log.close()

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Until /readyz answers 200; raises HarnessError at the deadline or if the process
        exits."""
        self.wait_status("/readyz", 200, timeout)

    def wait_status(self, path, status, timeout=READY_TIMEOUT_S, own_port=False):
        """own_port: the answer counts only once this process holds the port (listens_on)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_codes.append(self.proc.returncode)
                raise HarnessError("%s exited with %d during start; log tail:\n%s" % (
                    self.name, self.proc.returncode, log_tail(self.logfile)))
            try:
                last = http_get_status(self.port, path)
                if last == status and (not own_port or listens_on(self.proc.pid, self.port)):
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise HarnessError("%s: %s not %d within %.0fs (last: %s); log tail:\n%s" % (
            self.name, path, status, timeout, last, log_tail(self.logfile)))

    def stop(self, timeout=READY_TIMEOUT_S):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.exit_codes.append(code)
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.exit_codes.append("SIGKILL")

    def restart(self, hard=False, ready=False):
        self.kill() if hard else self.stop()
        return self.start(ready=ready)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")


def sanitizer_reports(logfile):
    """Lines where ASan/UBSan/LSan complained: a clean HTTP answer can hide a memory bug."""
    try:
        with open(logfile, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKERS)]


RUN_DIR_NAME = re.compile(r"^\d{8}-\d{6}-\d+$")


def _prune_runs(parent, keep):
    """Keeps the newest `keep` run dirs (logs of old runs are rarely read, and pile up), and
    every dir an environment still holds: parallel shards and other runs share the parent."""
    try:
        # Only run dirs (YYYYMMDD-HHMMSS-PID): .run/tools and other caches live beside them.
        dirs = sorted((d for d in os.listdir(parent) if RUN_DIR_NAME.match(d)
                       and os.path.isdir(os.path.join(parent, d))),
                      key=lambda d: os.path.getmtime(os.path.join(parent, d)))
    except OSError:
        return
    for d in dirs[:-keep]:
        path = os.path.join(parent, d)
        if not _in_use(path):
            shutil.rmtree(path, ignore_errors=True)


def _in_use(run_dir):
    """True while a live Environment holds the run dir's lock (released when it exits)."""
    try:
        fd = os.open(os.path.join(run_dir, LOCK_NAME), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


LOCK_NAME = ".in-use"


class Environment:
    """Cluster + migrations + services. Services start lazily, so a suite that only needs the
    command side does not depend on the query side working (and vice versa)."""

    SERVICES = {"command": ("command-service", 8081), "query": ("query-service", 8082)}

    def __init__(self, run_dir=None, preferred_ports=False, log_level="info", read_standby=None):
        self.build = build_dir()
        # A streaming standby that query-service reads from (READ_DATABASE_URL); the default
        # comes from ORDERLY_TEST_READ_STANDBY=1, which runs a whole suite in that topology.
        if read_standby is None:
            read_standby = os.environ.get("ORDERLY_TEST_READ_STANDBY") == "1"
        self.read_standby = read_standby
        self.standby = None
        label = time.strftime("%Y%m%d-%H%M%S") + "-%d" % os.getpid()
        self.run_dir = run_dir or os.path.join(REPO, ".run", label)
        os.makedirs(self.run_dir, exist_ok=True)
        # A shared lock for as long as this process lives: pruning leaves the dir alone.
        self._lock_fd = os.open(os.path.join(self.run_dir, LOCK_NAME),
                                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        _prune_runs(os.path.dirname(self.run_dir), keep=20)
        self.preferred_ports = preferred_ports
        self.log_level = log_level
        self.cluster = None
        self.services = {}
        self._failed = {}  # kind -> error: a service that failed to start is not retried
        self._lock = threading.Lock()

    def start(self):
        self.cluster = Cluster().start()
        self.migrate()
        if self.read_standby:
            self.standby = self.cluster.start_standby()
        return self

    def binary(self, kind):
        name = self.SERVICES[kind][0]
        return os.path.join(self.build, name, name)

    def service_env(self):
        return {"DATABASE_URL": self.cluster.url, "BIND_ADDRESS": "127.0.0.1",
                "LOG_LEVEL": self.log_level, "LOG_FORMAT": "text",
                "WORKER_THREADS": os.environ.get("WORKER_THREADS", "16"),
                "MIGRATIONS_DIR": os.path.join(REPO, "migrations")}

    def migrate(self):
        """`command-service migrate`, then a check it really made the schema. Set
        ORDERLY_PSQL_MIGRATE=1 to apply migrations/*.sql with psql instead (bootstrap only)."""
        if os.environ.get("ORDERLY_PSQL_MIGRATE") == "1":
            self.cluster.apply_sql_files(os.path.join(REPO, "migrations"))
        else:
            env = dict(os.environ)
            env.update(self.service_env())
            p = subprocess.run([self.binary("command"), "migrate"], env=env,
                               capture_output=True, text=True, timeout=120)
            with open(os.path.join(self.run_dir, "migrate.log"), "w") as f:
                f.write(p.stdout + p.stderr)
            if p.returncode != 0:
                raise HarnessError("migrate exited %d: %s%s" % (p.returncode, p.stdout, p.stderr))
        if not self.cluster.psql("SELECT to_regclass('public.events') IS NOT NULL")[0][0] == "t":
            raise HarnessError("migrate exited 0 but there is no events table")

    def service(self, kind):
        with self._lock:
            if kind in self._failed:
                raise HarnessError("%s failed to start earlier: %s" % (kind, self._failed[kind]))
            svc = self.services.get(kind)
            if svc is None:
                name, default_port = self.SERVICES[kind]
                port = free_port(default_port if self.preferred_ports else None)
                service_env = self.service_env()
                if kind == "query" and self.standby:
                    service_env["READ_DATABASE_URL"] = self.standby.url
                svc = Service(name, self.binary(kind), service_env, port, self.run_dir)
                try:
                    # Ready, not only alive, unless the test has stopped PostgreSQL.
                    svc.start(ready=self.cluster is not None and self.cluster.running)
                except HarnessError as e:
                    self._failed[kind] = e
                    svc.kill()
                    raise
                self.services[kind] = svc
            return svc

    def teardown_problems(self):
        """Stops every service and returns what went wrong at the end: a SIGTERM that did not
        exit 0 (the contract says it must) or sanitizer reports in a log."""
        problems = []
        for kind, svc in sorted(self.services.items()):
            code = svc.stop()
            if code != 0:
                problems.append("%s: exit %s on SIGTERM (want 0)" % (svc.name, code))
            for line in sanitizer_reports(svc.logfile)[:5]:
                problems.append("%s: %s" % (svc.name, line.strip()))
        return problems

    def destroy(self):
        for svc in self.services.values():
            svc.kill()
        if self.standby:
            self.standby.destroy()
            self.standby = None
        if self.cluster:
            self.cluster.destroy()
            self.cluster = None


def _serve(args):
    """Foreground dev environment for scripts/run: Ctrl-C (or SIGTERM) stops everything."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    env = Environment(preferred_ports=True, log_level=args.log_level)
    try:
        env.start()
        cmd, qry = env.service("command"), env.service("query")
        print("orderly is running (Ctrl-C stops everything)")
        print("  command-service  %s" % cmd.url)
        print("  query-service    %s" % qry.url)
        print("  DATABASE_URL     %s" % env.cluster.url)
        print("  logs             %s" % env.run_dir, flush=True)
        while not stop.is_set():
            for svc in (cmd, qry):
                if not svc.alive():
                    print("%s exited (%s); log tail:\n%s" % (
                        svc.name, svc.proc.returncode, log_tail(svc.logfile)), file=sys.stderr)
                    return 1
            stop.wait(0.5)
        print("\nstopping...", flush=True)
        problems = env.teardown_problems()
        for p in problems:
            print("warning: " + p, file=sys.stderr)
        return 0
    except HarnessError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        env.destroy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="cluster + migrate + both services, in the foreground")
    s.add_argument("--log-level", default="info")
    args = ap.parse_args(argv)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
