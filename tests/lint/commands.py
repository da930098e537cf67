#!/usr/bin/env python3
"""Lint: every external command (and third-party Python module) that a suite, bench or script
calls comes from a Debian package that scripts/lib.sh installs, so a new machine runs them all.

Scans scripts/, .ci/, bench/ and tests/ (shell command words, Python subprocess argv[0] and
shutil.which literals, imports; bench/wrk/*.lua need wrk, bench/pgbench/*.sql pgbench),
resolves each name to its package (tests/lint/packages.txt, and dpkg -S where installed), and
fails naming the command and the file when that package is in no ORDERLY_*_PACKAGES array of
scripts/lib.sh, nor pulled in by one (Depends, first alternative), nor Essential or
priority required. Prints `commands: N passed, N failed` (one per command). Stdlib only.

    tests/lint/commands.py [--lib scripts/lib.sh] [-v]
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import pyscan  # noqa: E402
import shellscan  # noqa: E402

ROOTS = ["scripts", ".ci", "bench", "tests"]
SKIP_DIRS = {"corpus", "__pycache__", "results"}
# Files a tool runs: they need the tool, though no line of ours names it next to them.
RUN_BY = {"bench/wrk": ("lua", "wrk"), "bench/pgbench": ("sql", "pgbench")}


def files():
    """(path relative to the repo, kind) of every file to scan: kind is sh, py or a RUN_BY tool."""
    for root in ROOTS:
        for dirpath, dirs, names in os.walk(os.path.join(REPO, root)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            rel_dir = os.path.relpath(dirpath, REPO)
            for name in sorted(names):
                rel = os.path.join(rel_dir, name)
                kind = file_kind(rel)
                if kind:
                    yield rel, kind


def file_kind(rel):
    ext, run_by = rel.rsplit(".", 1)[-1], RUN_BY.get(os.path.dirname(rel))
    if run_by and ext == run_by[0]:
        return "tool:" + run_by[1]
    if ext == "py":
        return "py"
    if ext == "sh":
        return "sh"
    try:
        with open(os.path.join(REPO, rel), "rb") as f:
            first = f.readline(200).decode("utf-8", "replace")
    except OSError:
        return None
    if first.startswith("#!"):
        return "py" if "python" in first else ("sh" if re.search(r"\b(ba)?sh\b", first) else None)
    return None


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def uses():
    """(name, file:line) for every command and 'python:module' the scanned files use."""
    found, scripts, local = [], {}, set()
    for rel, kind in files():
        if kind == "py":
            local.add(os.path.basename(rel)[:-3])
        elif kind == "sh":
            scripts[rel] = shellscan.Script(read(rel))
        else:
            found.append((kind.split(":", 1)[1], rel))
    functions = set().union(*(s.functions() for s in scripts.values()))
    for rel, script in scripts.items():
        found += [(c, "%s:%d" % (rel, n)) for c, n in script.commands() if c not in functions]
        for line, body, first in script.heredocs:
            if re.search(r"\bpython3?\s+-(\s|$)", line):
                found += python_uses(body, rel, first - 1, local)
    for rel, kind in files():
        if kind == "py":
            found += python_uses(read(rel), rel, 0, local)
    return found


def python_uses(source, rel, offset, local):
    try:
        scan = pyscan.Scan(source, offset)
    except SyntaxError as e:
        return [("python:<syntax error %s>" % e.msg, "%s:%s" % (rel, e.lineno))]
    found = [(c, "%s:%d" % (rel, n)) for c, n in scan.commands() if "/" not in c]
    found += [("python:" + m, "%s:%d" % (rel, n)) for m, n in scan.imports() if m not in local]
    return found


# --- packages ---------------------------------------------------------------------------


def package_arrays(lib):
    """{array name: [packages]} for every ORDERLY_*_PACKAGES array lib defines (bash reads it)."""
    script = ('. "$1" >/dev/null; for v in $(compgen -A variable | '
              'grep -E "^ORDERLY_[A-Z0-9_]*PACKAGES$"); do n="$v[@]"; echo "$v ${!n}"; done')
    out = subprocess.run(["bash", "-c", script, "lint", lib], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}


def dependencies(packages):
    """packages and what installing them installs: Depends and Pre-Depends, the first of each
    alternative (a virtual package: its first provider), as one `apt-cache depends --recurse`
    knows them."""
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--important"] + list(packages),
                         capture_output=True, text=True).stdout.splitlines()
    graph, current, alternative = {}, None, False
    for i, line in enumerate(out):
        if line and not line[0].isspace():
            current, alternative = line.strip(), False
            graph.setdefault(current, [])
            continue
        m = re.match(r"^\s(\|?)\s*(?:Pre)?Depends: (\S+)", line)
        if not m or current is None:
            continue
        first, alternative = not alternative, m.group(1) == "|"
        dep = m.group(2)
        if first and dep.startswith("<"):  # virtual: its providers follow, indented
            nxt = out[i + 1] if i + 1 < len(out) else ""
            dep = nxt.strip() if re.match(r"^\s{4}\S", nxt) else None
        if first and dep:
            graph[current].append(dep)
    seen, todo = set(packages), list(packages)
    while todo:
        for dep in graph.get(todo.pop(), []):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def is_base(package):
    """Essential or priority required: on every Debian system, no list needs to name it."""
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Essential} ${Priority}", package],
                       capture_output=True, text=True)
    return p.returncode == 0 and ("yes" in p.stdout.split() or "required" in p.stdout.split())


def dpkg_owners(commands):
    """{command: package that installed it here}, for the commands dpkg knows (one dpkg -S)."""
    paths = {}
    for command in commands:
        found = shutil.which(command) or (glob.glob("/usr/lib/postgresql/*/bin/" + command) or
                                          [None])[0]
        if found:
            real = os.path.realpath(found)
            merged = real[4:] if real.startswith("/usr/") else "/usr" + real  # usrmerge
            paths[real] = paths[merged] = command
    if not paths:
        return {}
    out = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True).stdout
    owners = {}
    for line in out.splitlines():
        package, _, path = line.partition(": ")
        if not line.startswith("diversion") and path.strip() in paths:
            owners[paths[path.strip()]] = package.split(",")[0].split(":")[0].strip()
    return owners


def known_packages():
    table = {}
    for line in read(os.path.relpath(os.path.join(HERE, "packages.txt"), REPO)).splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) == 2:
            table[parts[0]] = parts[1]
    return table


def verdict(name, table, owners, allowed):
    """None when name is provided, else why not."""
    mapped = table.get(name)
    if mapped and mapped.startswith("@"):
        fetcher = mapped[1:]
        ok = os.path.exists(os.path.join(REPO, fetcher)) and name in read(fetcher)
        return None if ok else "%s is said to fetch it but does not" % fetcher
    candidates = [p for p in (mapped, owners.get(name)) if p]
    if not candidates:
        return "no Debian package known for it: add it to tests/lint/packages.txt"
    if any(p in allowed for p in candidates) or any(is_base(p) for p in candidates):
        return None
    return "its package %s is in no ORDERLY_*_PACKAGES array of scripts/lib.sh" % (
        " / ".join(dict.fromkeys(candidates)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default=os.path.join(REPO, "scripts", "lib.sh"),
                    help="the lib.sh whose package arrays count (default scripts/lib.sh)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every command found")
    args = ap.parse_args()
    arrays = package_arrays(args.lib)
    allowed = dependencies(sorted({p for pkgs in arrays.values() for p in pkgs}))
    table = known_packages()
    by_name = {}
    for name, where in uses():
        by_name.setdefault(name, []).append(where)
    owners = dpkg_owners(n for n in by_name if not n.startswith("python:"))
    failed = 0
    for name in sorted(by_name):
        why = verdict(name, table, owners, allowed)
        if args.verbose or why:
            print("%s %s (%s%s)" % ("FAIL" if why else "ok  ", name, ", ".join(
                by_name[name][:4]), ", ..." if len(by_name[name]) > 4 else ""))
        if why:
            print("     %s" % why)
            failed += 1
    print("commands: %d passed, %d failed" % (len(by_name) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
