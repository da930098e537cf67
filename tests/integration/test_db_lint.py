"""One database layer: no C file but common/store/db.c connects, prepares or executes (tests/
and bench/ included: none of their C code needs libpq, so nothing is exempt), and the pgbench
scripts of bench/pgbench are exactly what bench/tools/pgbench_sql.c generates from the write
side's statement table, and run."""

import os
import re
import subprocess
import tempfile
import unittest

import harness
import orderly_env
from orderly_env import REPO
from db_support import PrivateCluster

MODULE = "common/store/db.c"
BANNED = re.compile(r"\bPQ(connect\w*|prepare|exec\w*|send\w*|setdbLogin|describePrepared)\s*\(")
HAND_WRITTEN = {"place_order_advisory.sql"}  # a rejected design, not the service's SQL


def c_files():
    """Every C source and header of the tree, meson build directories and .git left out (a
    walk, not git ls-files: the suite also runs from an exported tree)."""
    out = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in (".git", ".run") and
                   not os.path.exists(os.path.join(root, d, "meson-private"))]
        out += [os.path.relpath(os.path.join(root, f), REPO) for f in files
                if f.endswith((".c", ".h"))]
    return sorted(out)


def generator():
    return os.path.join(orderly_env.build_dir(), "tests", "pgbench_sql")


class LintTest(unittest.TestCase):
    maxDiff = None

    def test_db_lint_libpq_calls_only_in_the_module(self):
        offenders = []
        for path in c_files():
            if path == MODULE:
                continue
            with open(os.path.join(REPO, path), errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if BANNED.search(line):
                        offenders.append("%s:%d: %s" % (path, n, line.strip()))
        self.assertEqual(offenders, [], "connect/prepare/exec outside %s" % MODULE)
        with open(os.path.join(REPO, MODULE)) as f:
            self.assertTrue(BANNED.search(f.read()), "the lint no longer matches the module")

    def generated(self):
        out = tempfile.mkdtemp(prefix="orderly-pgbench-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", out]))
        subprocess.run([generator(), "--write", out], check=True, timeout=30)
        return out, sorted(os.listdir(out))

    def test_db_lint_pgbench_scripts_are_generated(self):
        out, names = self.generated()
        self.assertIn("place_order.sql", names)
        committed = set(os.listdir(os.path.join(REPO, "bench", "pgbench")))
        self.assertEqual(committed - set(names), HAND_WRITTEN,
                         "a script in bench/pgbench is neither generated nor known hand-written")
        for name in names:
            with open(os.path.join(out, name)) as f, \
                    open(os.path.join(REPO, "bench", "pgbench", name)) as g:
                self.assertEqual(g.read(), f.read(), "bench/pgbench/%s differs from the "
                                 "statement table: run %s --write bench/pgbench" % (
                                     name, generator()))

    def test_db_lint_pgbench_scripts_run(self):
        """Each script against a migrated cluster: the generated SQL is valid and appends.
        Two clients among 4 accounts can deadlock on opposite transfers; pgbench retries
        that, as the services do (and as bench/benchlib.py runs it)."""
        pc = PrivateCluster()
        try:
            pgbench = os.path.join(pc.cluster.bindir, "pgbench")
            for name in sorted(os.listdir(os.path.join(REPO, "bench", "pgbench"))):
                p = subprocess.run([pgbench, "-n", "-M", "prepared", "-c", "2", "-t", "3",
                                    "--max-tries", "10",
                                    "-D", "rep=1", "-D", "accounts=4",
                                    "-f", os.path.join(REPO, "bench", "pgbench", name),
                                    pc.cluster.url], capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, "%s: %s%s" % (name, p.stdout, p.stderr))
                self.assertIn("number of failed transactions: 0", p.stdout, name)
            self.assertGreater(int(pc.value("SELECT count(*) FROM events")), 0)
        finally:
            self.assertEqual(pc.destroy(), [])


if __name__ == "__main__":
    unittest.main()
