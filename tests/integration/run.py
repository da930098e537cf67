"""Integration test entry point: runs tests/integration/test_*.py in parallel shards, each a
process with its own environment (PostgreSQL cluster and services); a module that stops or
restarts PostgreSQL gets a shard of its own. Each shard's output is printed when it ends, then
`integration: N passed, N failed (T s)` (per test method; a bad teardown adds one failure)."""

import argparse
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from orderly_env import REPO  # noqa: E402

# A module that takes PostgreSQL down (or restarts it) runs alone: its outage must not meet
# another module's test, and its long fault tests then run beside the rest. So does one that
# says `RUN_ALONE = True` (it builds its own shared environment, e.g. with a standby).
STOPS_POSTGRES = re.compile(r"\boutage\(|cluster\.(restart|stop_server)\(|^RUN_ALONE = True$",
                            re.M)
DEFAULT_JOBS = 3
SECONDS_PER_TEST = 2.0  # a module's weight before its duration was ever measured


class CountingResult(unittest.TextTestResult):
    """Counts test methods, not subtests: a method with three failing subtests is one failure."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.failed_ids = set()
        self.run_ids = set()
        self.skipped_ids = set()

    def startTest(self, test):
        self.run_ids.add(test.id())
        super().startTest(test)

    def addSkip(self, test, reason):
        self.skipped_ids.add(test.id())
        super().addSkip(test, reason)

    def addFailure(self, test, err):
        self.failed_ids.add(test.id())
        super().addFailure(test, err)

    def addError(self, test, err):
        self.failed_ids.add(getattr(test, "id", lambda: str(test))())
        super().addError(test, err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.failed_ids.add(test.id())
        super().addSubTest(test, subtest, err)

    def addUnexpectedSuccess(self, test):
        self.failed_ids.add(test.id())
        super().addUnexpectedSuccess(test)


# --- one shard (a worker process) ------------------------------------------------------------


def run_shard(modules, patterns, verbose, result_path):
    """Runs modules one after the other against one environment; writes the counts, teardown
    problems and per-module seconds to result_path as JSON."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the environment is torn down
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    stream = unittest.runner._WritelnDecorator(sys.stdout)
    result = CountingResult(stream, True, 2 if verbose else 1)
    seconds = {}
    t0 = time.monotonic()
    result.startTestRun()
    try:
        for name in modules:
            start = time.monotonic()
            try:
                suite = loader.loadTestsFromName(name)
            except Exception:  # noqa: BLE001  (a module that cannot load is a failure)
                traceback.print_exc()
                result.failed_ids.add(name + " (import)")
                continue
            suite.run(result)
            seconds[name] = time.monotonic() - start
    finally:
        result.stopTestRun()
        problems = harness.shutdown_env()
    result.printErrors()
    stream.writeln("Ran %d tests in %.1fs" % (result.testsRun, time.monotonic() - t0))
    for p in problems:
        print("teardown FAIL: %s" % p)
    failed = sorted(result.failed_ids) + (["teardown"] if problems else [])
    if failed and harness.last_run_dir:
        print("service logs are in %s" % harness.last_run_dir)
        if os.environ.get("CI") == "true":  # CI keeps no files: show the logs' ends
            for name in sorted(os.listdir(harness.last_run_dir)):
                path = os.path.join(harness.last_run_dir, name)
                if os.path.isfile(path) and not name.startswith("."):
                    print("--- tail of %s\n%s" % (name, harness.log_tail(path, 60)))
    counts = {"passed": sorted(result.run_ids - result.failed_ids - result.skipped_ids),
              "failed": failed, "skipped": sorted(result.skipped_ids), "seconds": seconds}
    with open(result_path, "w") as f:
        json.dump(counts, f)
    return 1 if failed else 0


# --- the parent: shards, scheduling, the summary ---------------------------------------------


def module_names(pattern, patterns):
    """Test modules matching the file glob; with -k, those that may hold a matching test."""
    names = []
    for f in sorted(os.listdir(HERE)):
        if not fnmatch.fnmatch(f, pattern) or not f.endswith(".py"):
            continue
        with open(os.path.join(HERE, f)) as src:
            text = src.read()
        if patterns and not any(p in f or p in text for p in patterns):
            continue
        names.append((f[:-3], text))
    return names


def durations_path(label):
    return os.path.join(REPO, ".run", "durations-%s.json" % label)


def load_durations(label):
    try:
        with open(durations_path(label)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_durations(label, measured):
    known = load_durations(label)
    known.update(measured)
    os.makedirs(os.path.dirname(durations_path(label)), exist_ok=True)
    tmp = durations_path(label) + ".%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(known, f, indent=1, sort_keys=True)
    os.replace(tmp, durations_path(label))


def plan_lanes(modules, jobs, weights):
    """`jobs` lanes, each a list of shards (lists of modules) run one after the other: every
    module, heaviest first, goes to the lightest lane; in a lane, each PostgreSQL-stopping
    module is a shard alone and the others share one."""
    lanes = [[0.0, []] for _ in range(min(jobs, len(modules)))]
    for name, text in sorted(modules, key=lambda m: -weights[m[0]]):
        lightest = min(lanes, key=lambda lane: lane[0])
        lightest[0] += weights[name]
        lightest[1].append((name, text))
    plans = []
    for _, mods in lanes:
        shared = sorted(name for name, text in mods if not STOPS_POSTGRES.search(text))
        alone = [[name] for name, text in mods if STOPS_POSTGRES.search(text)]
        plans.append(alone + ([shared] if shared else []))
    return plans


class Shard:
    def __init__(self, index, total, modules, args):
        self.index, self.total, self.modules = index, total, modules
        self.out = tempfile.TemporaryFile(mode="w+")
        fd, self.result_path = tempfile.mkstemp(prefix="orderly-shard-", suffix=".json")
        os.close(fd)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", self.result_path]
        cmd += ["-k" + p for p in args.patterns or []] + (["-v"] if args.verbose else [])
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd + modules, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=REPO)

    def finish(self):
        """Prints the shard's output; returns its counts (a shard without any: one failure)."""
        secs = time.monotonic() - self.t0
        try:
            with open(self.result_path) as f:
                counts = json.load(f)
        except (OSError, ValueError):
            counts = {"passed": [], "failed": ["shard %d (exit %s, no result)" % (
                self.index, self.proc.returncode)], "skipped": [], "seconds": {}}
        os.unlink(self.result_path)
        self.out.seek(0)
        print("--- shard %d/%d: %s: %d passed, %d failed (%.0f s)" % (
            self.index, self.total, " ".join(self.modules), len(counts["passed"]),
            len(counts["failed"]), secs))
        sys.stdout.write(self.out.read())
        sys.stdout.flush()
        self.out.close()
        return counts


def run_parallel(args):
    t0 = time.monotonic()
    modules = module_names(args.pattern, args.patterns)
    known = load_durations(args.label)
    weights = {name: known.get(name, SECONDS_PER_TEST * text.count("def test"))
               for name, text in modules}
    lanes = plan_lanes(modules, args.jobs, weights)
    total = sum(len(lane) for lane in lanes)
    numbered, n = [], 0
    for lane in lanes:
        numbered.append([(n + i + 1, mods) for i, mods in enumerate(lane)])
        n += len(lane)
    running = {}  # lane index -> its running Shard
    totals = {"passed": set(), "failed": set(), "skipped": set()}
    seconds = {}
    try:
        while any(numbered) or running:
            for i, lane in enumerate(numbered):
                if lane and i not in running:
                    index, mods = lane.pop(0)
                    running[i] = Shard(index, total, mods, args)
            time.sleep(0.2)
            for i, shard in [(i, s) for i, s in running.items() if s.proc.poll() is not None]:
                del running[i]
                counts = shard.finish()
                for key in totals:
                    totals[key].update(counts[key])
                seconds.update(counts["seconds"])
    finally:
        for shard in running.values():  # interrupted: each worker tears its environment down
            shard.proc.terminate()
            shard.proc.wait()
    if seconds and not args.patterns:
        save_durations(args.label, seconds)
    failed = len(totals["failed"])
    for name in sorted(totals["failed"]):
        print("FAILED: %s" % name)
    if totals["skipped"]:
        print("(%d skipped)" % len(totals["skipped"]))
    print("%s: %d passed, %d failed (%.0f s)" % (args.label, len(totals["passed"]), failed,
                                                  time.monotonic() - t0))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only tests whose name contains this substring (repeatable)")
    ap.add_argument("-p", "--pattern", default="test_*.py", help="test file glob")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int,
                    default=int(os.environ.get("ORDERLY_TEST_JOBS", DEFAULT_JOBS)),
                    help="shards run at once (default $ORDERLY_TEST_JOBS or %d)" % DEFAULT_JOBS)
    ap.add_argument("--label", default="integration", help="name printed on the summary line")
    ap.add_argument("--worker", metavar="RESULT", help=argparse.SUPPRESS)
    ap.add_argument("modules", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return run_shard(args.modules, args.patterns, args.verbose, args.worker)
    args.jobs = max(1, args.jobs)
    return run_parallel(args)


if __name__ == "__main__":
    sys.exit(main())
