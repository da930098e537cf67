"""The command scanners of tests/lint/commands.py find what a script runs and nothing else: a
scanner that silently found nothing would pass every lint. `python3 tests/lint/test_scanners.py`."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyscan  # noqa: E402
import shellscan  # noqa: E402

SHELL = r"""#!/bin/bash
f() { echo hi; }
case "$1" in
  --quick) QUICK=1 ;;
  wrk | "link docker0" | nat\ -A*) echo ;;
  *) usage ;;
esac
X=$(psql -At <<<"$y") && curl -s http://x | sed 's/a/b/' >/dev/null 2>&1
CC="${FUZZ_CC:-clang}"
"$CC" -o x
"${sudo[@]}" apt-get update
command -v npm >/dev/null || npm install
JANSSON=($(pkg-config --cflags jansson))
declare -A S=([a]="b c" [d]="e")
meson test --wrap='valgrind --quiet'
cat <<EOF
notacommand here
EOF
[[ $a =~ ^(x|y)$ ]] && true
if ! grep -q x f; then env A=1 timeout 5 iptables -L; fi
for i in $(seq 3); do :; done
echo "$(date +%s)" `hostname`
( cd /tmp && tar c . ) | xz
"$OUT/fuzz_$t" -x
scripts/ops-check --tools
"""

PYTHON = """import subprocess, shutil, os, yaml
import http.client
def f(bindir):
    cmd = ["a1", "x"]
    subprocess.run(cmd + ["y"])
    subprocess.Popen([os.path.join(bindir, "initdb")])
    shutil.which("b2")
    subprocess.check_output("c3 -x", shell=True)
    g = ["d4"]
    run(g + [1])
    sorted(["notme"])
    session.run("SELECT 1", timeout=15)
"""


class ShellScanTest(unittest.TestCase):
    def test_command_words(self):
        found = {c for c, _ in shellscan.Script(SHELL).commands()}
        self.assertEqual(found, {"apt-get", "cat", "clang", "curl", "date", "grep", "hostname",
                                 "iptables", "meson", "npm", "pkg-config", "psql", "sed", "seq",
                                 "tar", "usage", "valgrind", "xz"})

    def test_functions_and_heredocs(self):
        s = shellscan.Script(SHELL + "python3 - <<'PY'\nimport os\nPY\n")
        self.assertEqual(s.functions(), {"f"})
        self.assertEqual([(b, n) for _, b, n in s.heredocs],
                         [("notacommand here", 17), ("import os", 27)])

    def test_line_numbers(self):
        lines = dict((c, n) for c, n in shellscan.Script(SHELL).commands())
        self.assertEqual(lines["valgrind"], 15)
        self.assertEqual(lines["xz"], 23)


class PythonScanTest(unittest.TestCase):
    def test_argv0_which_and_bindir(self):
        self.assertEqual(pyscan.Scan(PYTHON).commands(),
                         [("a1", 5), ("initdb", 6), ("b2", 7), ("c3", 8), ("d4", 10)])

    def test_third_party_imports(self):
        self.assertEqual(pyscan.Scan(PYTHON).imports(), [("yaml", 1)])


if __name__ == "__main__":
    unittest.main()
