"""Comments do not name metrics that do not exist: every orderly_*_total counter a C header
names is one some C file emits (appears in code, comments stripped). live.h once promised
orderly_live_fetches_total while live.c emitted orderly_live_queries_total (issue 16 item 6)."""

import os
import re
import unittest

from orderly_env import REPO

TOPS = ("common", "command-service", "query-service")
COUNTER = re.compile(r"\borderly_[a-z_]+_total\b")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def sources(ext):
    for top in TOPS:
        for root, _, files in os.walk(os.path.join(REPO, top)):
            for name in sorted(files):
                if name.endswith(ext):
                    path = os.path.join(root, name)
                    with open(path, errors="replace") as f:
                        yield os.path.relpath(path, REPO), f.read()


class MetricNamesLintTest(unittest.TestCase):
    def test_lint_metric_names_in_headers_are_emitted(self):
        emitted = set()
        for _, text in sources(".c"):
            emitted |= set(COUNTER.findall(COMMENT.sub(" ", text)))
        self.assertIn("orderly_live_queries_total", emitted, "the scan no longer finds metrics")
        named = {(path, n) for path, text in sources(".h") for n in COUNTER.findall(text)}
        self.assertTrue(named, "no header names a counter: the scan is stale")
        self.assertEqual(sorted(n for n in named if n[1] not in emitted), [])


if __name__ == "__main__":
    unittest.main()
