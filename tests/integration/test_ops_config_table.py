"""One configuration table (common/config_table.c): the README's table is what
build/tests/config_table prints from it, each service's --help lists exactly its rows, every
variable the C code reads is a row, and every integer is parsed strictly everywhere (a value
config.c refuses, like "+5", is refused by the query service's LIVE_* and by rebuild too).

Regenerate the README's table after changing a row:
    python3 tests/integration/test_ops_config_table.py --write
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import orderly_env  # noqa: E402
from orderly_env import REPO  # noqa: E402

README = os.path.join(REPO, "README.md")
BEGIN = re.compile(r"<!-- config-table:.*?-->\n", re.S)
END = "<!-- end config-table -->"
# A call that reads a variable by name: the parser's lookups and any direct getenv.
READS = re.compile(r"\b(?:getenv|env|config_int|config_conninfo|choice_value|row|config_find)\(\s*\"([A-Z_]+)\"")
C_DIRS = ("common", "command-service", "query-service")


def generated():
    tool = os.path.join(orderly_env.build_dir(), "tests", "config_table")
    return subprocess.run([tool], capture_output=True, text=True, check=True, timeout=30).stdout


def readme_table(text):
    """(start, end) of the generated block in the README text."""
    m = BEGIN.search(text)
    end = text.index(END, m.end()) if m else -1
    return (m.end(), end) if m and end >= 0 else None


def rows(markdown):
    """{name: service} from the Markdown table."""
    return dict(re.findall(r"^\| `([A-Z_]+)` \| (\w+) \|", markdown, re.M))


def write_readme():
    with open(README) as f:
        text = f.read()
    start, end = readme_table(text)
    with open(README, "w") as f:
        f.write(text[:start] + generated() + text[end:])


if __name__ == "__main__" and "--write" in sys.argv:
    write_readme()
    sys.exit(0)

import harness  # noqa: E402
from ops_support import OpsTest, run_binary  # noqa: E402

KINDS = {"command": "command", "query": "query"}


class ConfigTableTest(OpsTest):
    maxDiff = None

    def test_config_table_readme_is_generated(self):
        with open(README) as f:
            text = f.read()
        span = readme_table(text)
        self.assertIsNotNone(span, "README has no generated configuration table")
        self.assertEqual(text[span[0]:span[1]], generated(),
                         "README's table differs from common/config_table.c: run "
                         "python3 tests/integration/test_ops_config_table.py --write")

    def test_config_table_help_lists_each_services_rows(self):
        table = rows(generated())
        self.assertIn("LIVE_RING_EVENTS", table)
        for kind in KINDS:
            with self.subTest(kind=kind):
                h = run_binary(kind, ["--help"], base_env=False, timeout=10)
                self.assertEqual(h.returncode, 0, h.stderr)
                listed = re.findall(r"^  ([A-Z][A-Z_]+) ", h.stdout, re.M)
                want = [n for n, s in table.items() if s in ("both", kind)]
                self.assertEqual(listed, want, h.stdout)

    def test_config_table_names_every_variable_read(self):
        table = rows(generated())
        read = {}
        for d in C_DIRS:
            for root, _, files in os.walk(os.path.join(REPO, d)):
                for name in files:
                    if name.endswith((".c", ".h")):
                        path = os.path.join(root, name)
                        with open(path, errors="replace") as f:
                            for var in READS.findall(f.read()):
                                read.setdefault(var, os.path.relpath(path, REPO))
        self.assertIn("DATABASE_URL", read, "the scan no longer matches the parser")
        self.assertEqual({v: p for v, p in read.items() if v not in table}, {},
                         "variables read but not in common/config_table.c")
        self.assertEqual(sorted(set(table) - set(read)), [], "rows nothing reads")

    def test_config_table_integers_are_strict_everywhere(self):
        nowhere = "host=/nonexistent-orderly dbname=none connect_timeout=1"
        cases = [
            (["serve"], "LIVE_HEARTBEAT_MS", "+5"),
            (["serve"], "LIVE_HEARTBEAT_MS", " 5"),
            (["serve"], "LIVE_RING_EVENTS", "8x"),
            (["rebuild"], "REBUILD_BATCH_EVENTS", "abc"),
            (["rebuild"], "REBUILD_BATCH_EVENTS", "0"),
        ]
        for args, var, value in cases:
            with self.subTest(args=args, var=var, value=value):
                env = {"DATABASE_URL": nowhere, "PORT": str(harness.free_port()), var: value}
                p = run_binary("query", args, env, timeout=20)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                lines = [l for l in p.stderr.splitlines() if l.strip()]
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertIn(var + ": must be an integer between", lines[0])
