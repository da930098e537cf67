"""No cycles, no edge that points the wrong way (issue 16 item 2), checked two ways:

- #include lines. A module is a subdirectory of common/ (domain, codec, store, http: one
  module each, its files may include each other freely), or one file stem elsewhere (common/log.c
  and common/log.h are the module common/log; query-service/waits.{c,h} is query-service/waits;
  query-service/console/ is one module). "x.h" resolves against the including file's directory,
  then common/ (the include directory), then the service directory. The module graph must have
  no cycle, and common's modules must respect their layers: base files (err, log, config,
  metrics...) < domain, pii < codec < store < http < services. So the store cannot include
  http/http.h just to count an error; it includes metrics.h, as http does.
- Symbols. Within one module files can still call each other in a circle through a shared
  header (http/metrics.c and http/server.c did). So the objects of the build (the common
  libraries plus each service's own) are read with nm: a file that uses a symbol another file
  defines depends on it, and that file graph must have no cycle either.
Both print every cycle found, as a path of modules or files."""

import glob
import os
import re
import subprocess
import unittest
from collections import defaultdict

import orderly_env
from orderly_env import REPO

TOPS = ("common", "command-service", "query-service")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Ranks of common's modules: an include may point to the same rank or lower, never higher.
# Every other file of common/ is a base module (rank 0); services are above all of common.
RANKS = {"common/domain": 1, "common/pii": 1, "common/codec": 2, "common/store": 3,
         "common/http": 4}
SERVICE_RANK = 5


def module_of(rel):
    parts = rel.split("/")
    if len(parts) > 2:
        return "/".join(parts[:2])
    return os.path.splitext(rel)[0]


def rank(module):
    if not module.startswith("common/"):
        return SERVICE_RANK
    return RANKS.get(module, 0)


def include_graph(repo=REPO):
    """{module: {module it includes: "file:line" of the first such include}}"""
    graph = defaultdict(dict)
    for top in TOPS:
        for root, _, files in os.walk(os.path.join(repo, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, repo)
                with open(path, errors="replace") as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    bases = (root, os.path.join(repo, "common"),
                             os.path.join(repo, rel.split("/")[0]))
                    target = next((os.path.normpath(os.path.join(b, m.group(1))) for b in bases
                                   if os.path.exists(os.path.join(b, m.group(1)))), None)
                    if target is None:
                        continue  # generated at build time (console files)
                    to = module_of(os.path.relpath(target, repo))
                    if to != module_of(rel):
                        line = text.count("\n", 0, m.start()) + 1
                        graph[module_of(rel)].setdefault(to, "%s:%d" % (rel, line))
    return graph


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def symbol_graph(objects):
    """{object: {object defining a symbol it uses}} over the given object files."""
    defines, uses = {}, defaultdict(set)
    for obj in objects:
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True,
                             timeout=60).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defines[f[2]] = obj
            elif len(f) == 2 and f[0] == "U":
                uses[obj].add(f[1])
    graph = defaultdict(set)
    for obj, names in uses.items():
        for n in names:
            if n in defines and defines[n] != obj:
                graph[obj].add(defines[n])
    return graph


class DepsLintTest(unittest.TestCase):
    maxDiff = None

    def test_lint_deps_include_graph_has_no_cycle(self):
        graph = include_graph()
        self.assertIn("common/store", graph, "the scan no longer finds the modules")
        self.assertEqual(cycles(graph), [])

    def test_lint_deps_common_layers_point_down(self):
        graph = include_graph()
        wrong = ["%s -> %s (%s)" % (a, b, where) for a, tos in sorted(graph.items())
                 for b, where in sorted(tos.items()) if rank(b) > rank(a)]
        self.assertEqual(wrong, [], "an include points up the layers")

    def test_lint_deps_cycle_finder_finds_one(self):
        self.assertEqual(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}),
                         [["a", "b", "c"]])
        self.assertEqual(cycles({"a": {"b"}, "b": set()}), [])

    def test_lint_deps_no_file_calls_back(self):
        build = orderly_env.build_dir()
        common = sorted(glob.glob(os.path.join(build, "common", "*.a.p", "*.o")))
        self.assertTrue(common, "no objects under %s/common: build first" % build)
        for service in ("command-service", "query-service"):
            # The service's library (its modules) and its executable (main.c).
            own = sorted(glob.glob(os.path.join(build, service, "*.p", "*.o")))
            self.assertGreater(len(own), 3, "%s: only %s" % (service, own))
            graph = symbol_graph(common + own)
            named = [[os.path.relpath(o, build) for o in c] for c in cycles(graph)]
            with self.subTest(service=service):
                self.assertEqual(named, [], "files that call each other")


if __name__ == "__main__":
    unittest.main()
