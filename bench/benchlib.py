"""bench/benchlib.py: the bench's tools: a production-like private cluster, builds, wrk and
pgbench runners with their parsers, statistics and /proc sampling. Stdlib only."""

import argparse
import contextlib
import glob
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, "tests", "harness"))
import orderly_env as oe  # noqa: E402  (the harness lives outside this directory)

# Durability as in production: the harness's test settings (fsync off) would flatter both the
# service and its ceiling. Later lines in postgresql.conf win, so these override the harness's.
PRODUCTION_SETTINGS = """
# orderly bench: production-like durability
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 256MB
max_wal_size = 4GB
max_connections = 300
# Lost races on a hot stream are errors; logging each statement would cost more than the race.
log_min_error_statement = panic
"""


class BenchError(RuntimeError):
    pass


class BenchCluster(oe.Cluster):
    """The harness's cluster with production durability, written before the first start."""

    _tuned = False

    def start_server(self):
        if not self._tuned:
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write(PRODUCTION_SETTINGS)
            self._tuned = True
        super().start_server()

    def pg_args(self):
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", oe.DB_NAME]

    def postmaster_pid(self):
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            return int(f.readline())


class BenchEnv(oe.Environment):
    def start(self):
        self.cluster = BenchCluster().start()
        self.migrate()
        return self


def run(cmd, timeout=600, env=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise BenchError("%s exited %d: %s%s" % (" ".join(cmd[:3]), p.returncode,
                                                 p.stdout[-800:], p.stderr[-800:]))
    return p.stdout


def build_release(build_dir, skip=False):
    """`meson setup BUILD -Dbuildtype=release` once, then ninja (unless --no-build)."""
    if skip:
        return
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        run(["meson", "setup", build_dir, REPO, "-Dbuildtype=release"], timeout=300)
    run(["ninja", "-C", build_dir], timeout=900)


def build_tools(out_dir):
    """The fixed-body server and the statement printer, built outside meson: they are bench
    instruments, not part of the product."""
    cc = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
          "-D_GNU_SOURCE"]
    tools = os.path.join(BENCH, "tools")
    fixed = os.path.join(out_dir, "fixed_body")
    printer = os.path.join(out_dir, "print_sql")
    run(cc + ["-o", fixed, os.path.join(tools, "fixed_body.c"), "-lmicrohttpd"])
    run(cc + ["-I", os.path.join(REPO, "query-service"), "-o", printer,
              os.path.join(tools, "print_sql.c")])
    return fixed, printer


# --- wrk and pgbench ----------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else None


def parse_wrk(out):
    """wrk --latency output -> requests, secs, non2xx, errors, ok_per_s, p50_ms, p99_ms."""
    m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m)", out)
    if not m:
        raise BenchError("wrk printed no totals: %s" % out[-500:])
    r = {"requests": int(m.group(1)), "secs": _ms(m.group(2) + m.group(3)) / 1000.0}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        r["p%s_ms" % pct] = _ms(m.group(1)) if m else None
    r["ok_per_s"] = (r["requests"] - r["non2xx"]) / r["secs"] if r["secs"] else 0.0
    r["non2xx_per_s"] = r["non2xx"] / r["secs"] if r["secs"] else 0.0
    return r


def metric(url, name):
    """A series' value (name with its labels, as printed) from a service's /metrics at url;
    0 when the service does not have it."""
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def wrk(url, script, conns, secs, args=()):
    cmd = ["wrk", "-t", str(min(2, conns)), "-c", str(conns), "-d", "%ds" % secs, "--latency",
           "-s", script, url]
    if args:
        cmd += ["--"] + [str(a) for a in args]
    return parse_wrk(run(cmd, timeout=secs + 60))


def parse_pgbench(out):
    m = re.search(r"^tps = ([0-9.]+)", out, re.M)
    if not m:
        raise BenchError("pgbench printed no tps: %s" % out[-500:])
    r = {"tps": float(m.group(1))}
    m = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
    r["latency_avg_ms"] = float(m.group(1)) if m else None
    m = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
    r["transactions"] = int(m.group(1)) if m else 0
    m = re.search(r"^number of failed transactions: (\d+)", out, re.M)
    r["failed"] = int(m.group(1)) if m else 0
    return r


def pgbench(cluster, script, clients, secs=None, transactions=None, defines=None):
    """pgbench with prepared statements, as the services prepare theirs. Sessions set
    orderly.internal_writer=on like the services', so no NOTIFY runs inside a transaction.
    A deadlock (two opposite transfers inserting the same two streams) is retried, as the
    services' db layer retries it."""
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(2, clients)),
           "--max-tries", "10", "-f", script]
    cmd += ["-T", str(secs)] if secs else ["-t", str(transactions)]
    for k, v in (defines or {}).items():
        cmd += ["-D", "%s=%s" % (k, v)]
    env = dict(os.environ, PGOPTIONS="-c orderly.internal_writer=on")
    r = parse_pgbench(run(cmd + cluster.pg_args(), timeout=(secs or 600) + 120, env=env))
    if r["failed"]:
        raise BenchError("pgbench %s: %d failed transactions" % (script, r["failed"]))
    return r


# --- statistics ---------------------------------------------------------------------------


def summary(values):
    """Median with min and max of one figure's repetitions (None values are dropped)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "runs": vals}


def percentile(sorted_vals, pct):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(pct / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


# --- /proc --------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU of one process (all its threads) so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def children(ppid):
    """Pids whose parent is ppid: the postmaster's backends and auxiliary processes."""
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == ppid:
                out.append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_of_tree(ppid):
    """CPU so far of a postmaster and each of its current children, by pid."""
    return {p: cpu_seconds(p) for p in [ppid] + children(ppid)}


def cpu_delta(before, after):
    """CPU spent between two cpu_of_tree samples. A process gone by the second sample (a
    backend whose client left) is dropped rather than counted negative; a new one counts from
    zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def ab_parser(variants_metavar):
    """The command line every bench/ab_*.py shares: --rounds, --secs and the variants."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("variants", nargs="+", metavar=variants_metavar)
    return ap


@contextlib.contextmanager
def settings(values):
    """Environment variables (service settings) set for the span of a with block, then removed."""
    os.environ.update(values)
    try:
        yield
    finally:
        for k in values:
            os.environ.pop(k, None)


class TreeCpu:
    """CPU of a postmaster and its children over a span, sampled every 50 ms in a thread so a
    backend that exits before the end (the rebuild's) still counts, up to its last sample."""

    def __init__(self, ppid):
        self.ppid = ppid
        self.before = cpu_of_tree(ppid)
        self.seen = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            # CPU only grows: a backend that exits between the listing and the read of its
            # /proc stat reads as 0, and must not erase its last sample (seen as 3 ms instead
            # of ~20 ms per 1000 events).
            for pid, cpu in cpu_of_tree(self.ppid).items():
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))
            if self._stop.wait(0.05):
                return

    def stop(self):
        self._stop.set()
        self._thread.join()
        return cpu_delta(self.before, self.seen)


def measure_wrk(pid, postmaster, url, lua, conns, secs, args):
    """One wrk run against the process pid, with its CPU and PostgreSQL's per 1000 2xx answers
    (cpu_ms_per_k, pg_cpu_ms_per_k) and its peak RSS (rss_peak)."""
    cpu0, pg0 = cpu_seconds(pid), cpu_of_tree(postmaster)
    with RssSampler({"svc": pid}) as rss:
        w = wrk(url, lua, conns, secs, args)
    ok = max(1, w["requests"] - w["non2xx"])
    w["cpu_ms_per_k"] = (cpu_seconds(pid) - cpu0) * 1e6 / ok
    w["pg_cpu_ms_per_k"] = cpu_delta(pg0, cpu_of_tree(postmaster)) * 1e6 / ok
    w["rss_peak"] = rss.peaks["svc"]
    return w


class RssSampler:
    """Samples the RSS of some pids every 100 ms in a thread; peak() per pid afterwards."""

    def __init__(self, pids):
        self.pids = dict(pids)  # name -> pid
        self.peaks = {name: 0.0 for name in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                v = rss_mb(pid)
                if v is not None and v > self.peaks[name]:
                    self.peaks[name] = v
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def machine_info():
    """What the report names: the box, its load and the versions of everything measured."""
    info = {"host": os.uname().nodename, "kernel": os.uname().release, "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        info["cpu"] = m.group(1) if m else "unknown"
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 1048576.0, 1)
    except OSError:
        pass
    info["loadavg_start"] = os.getloadavg()[0]
    git = ["git", "-C", REPO]
    info["commit"] = run(git + ["rev-parse", "--short", "HEAD"], check=False).strip()
    info["dirty"] = bool(run(git + ["status", "--porcelain"], check=False).strip())
    info["wrk"] = (run(["wrk", "-v"], check=False).splitlines() or ["wrk ?"])[0]
    return info


@contextlib.contextmanager
def command_env(build):
    """A fresh production-durability cluster and a ready command-service of build (query-service
    not started), destroyed after the block: where a write-side bench/ab_*.py run starts.
    Yields (env, the command service)."""
    env = BenchEnv()
    env.build = build
    env.start()
    try:
        c = env.service("command")
        c.wait_ready()
        yield env, c
    finally:
        env.destroy()


def interleave_ab(variants, rounds, one_run, what="rounds"):
    """The interleaved A/B of bench/ab_*.py: variants are "NAME=VALUE" arguments, one_run(VALUE)
    returns {figure: number}; each round runs every variant once, in turn, so a drift of the
    machine's load falls on all of them. Prints every run, then the medians."""
    pairs = [(v.partition("=")[0], v.partition("=")[2]) for v in variants]
    print("load average before: %.2f" % os.getloadavg()[0], flush=True)
    res = {}
    for r in range(rounds):
        for name, value in pairs:
            row = one_run(value)
            res.setdefault(name, []).append(row)
            print("round %d %-12s " % (r, name) +
                  ", ".join("%s %.1f" % kv for kv in row.items()), flush=True)
    print("load average after: %.2f\nmedians of %d %s:" % (os.getloadavg()[0], rounds, what))
    for name, rows in res.items():
        print("%-12s " % name + ", ".join(
            "%s %.1f" % (k, statistics.median(r[k] for r in rows)) for k in rows[0]))
    return res
