"""A clone is complete: no file points outside the repository, every relative link in the
README and docs/ resolves, and docs/api.md names every path docs/openapi.yaml describes."""

import os
import re
import subprocess
import unittest

import harness  # noqa: F401 (puts tests/harness on the path)
from orderly_env import REPO

TEXT_SUFFIXES = (".md", ".yaml", ".yml", ".c", ".h", ".py", ".sh", ".sql", ".build", ".lua")
MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_files():
    """The files a clone has: git's list when there is one, else a walk without build output."""
    try:
        out = subprocess.run(["git", "-C", REPO, "ls-files"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return [f for f in out.splitlines() if f]
    except (OSError, subprocess.SubprocessError):
        found = []
        for root, dirs, files in os.walk(REPO):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            found += [os.path.relpath(os.path.join(root, f), REPO) for f in files]
        return found


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


class CloneIsCompleteTest(unittest.TestCase):
    def test_nothing_points_outside_the_repository(self):
        outside = re.compile(r"\.\./(\.\./)*shared/|\.\./\.\./[A-Za-z]")
        offenders = []
        for rel in tracked_files():
            if not rel.endswith(TEXT_SUFFIXES) and os.path.basename(rel) not in ("Dockerfile",):
                continue
            for n, line in enumerate(read(rel).splitlines(), 1):
                if outside.search(line):
                    offenders.append("%s:%d: %s" % (rel, n, line.strip()))
        self.assertEqual(offenders, [], "files refer to paths outside the clone")

    def test_relative_links_in_docs_resolve(self):
        docs = ["README.md"] + [f for f in tracked_files()
                                if f.startswith("docs/") and f.endswith(".md")]
        broken = []
        for rel in docs:
            base = os.path.dirname(os.path.join(REPO, rel))
            for target in MD_LINK.findall(read(rel)):
                if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                    continue
                if not os.path.exists(os.path.normpath(os.path.join(base, target))):
                    broken.append("%s -> %s" % (rel, target))
        self.assertEqual(broken, [])

    def test_human_contract_names_every_path(self):
        spec_paths = re.findall(r"^  (/[^:]*):$", read("docs/openapi.yaml"), re.M)
        self.assertGreater(len(spec_paths), 10)
        api = read("docs/api.md")
        missing = [p for p in spec_paths if p not in api]
        self.assertEqual(missing, [], "docs/api.md does not describe these paths")

    def test_readme_names_the_contract(self):
        readme = read("README.md")
        self.assertIn("docs/api.md", readme)
        self.assertIn("docs/openapi.yaml", readme)


if __name__ == "__main__":
    unittest.main()
