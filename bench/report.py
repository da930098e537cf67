"""bench/report.py: writes a run's rows as bench/results/<date>-<host>.md and the same data as
.json next to it, and prints the table."""

import json
import os
import time


def _num(v, unit):
    if v is None:
        return "—"
    if unit in ("ms", "MB"):
        return "%.2f" % v if v < 10 else "%.1f" % v
    return "%.0f" % v if v >= 100 else "%.1f" % v


def _cell(s, unit):
    if not s:
        return "—"
    if len(s["runs"]) == 1:
        return _num(s["median"], unit)
    return "%s (%s–%s)" % (_num(s["median"], unit), _num(s["min"], unit), _num(s["max"], unit))


def _target(t):
    if not t:
        return "—"
    return "≥ %d%% of ceiling" % round(t[1] * 100) if t[0] == "ratio" else "< %g" % t[1]


def table(rows):
    out = ["| figure | unit | orderly median (min–max) | ceiling median (min–max) | ratio | "
           "target | result |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = "%.0f%%" % (r["ratio"] * 100) if r["ratio"] is not None else "—"
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["figure"], r["unit"], _cell(r["service"], r["unit"]),
            _cell(r["ceiling"], r["unit"]), ratio, _target(r["target"]), r["verdict"]))
    return "\n".join(out)


def markdown(run):
    m, o = run["machine"], run["options"]
    busy = max(m["loadavg_start"], run["loadavg_end"]) > 1.0
    lines = [
        "# orderly bench, %s on %s" % (run["date"], m["host"]), "",
        "**The machine was busy during this run (load average above 1): these numbers are "
        "not findings; rerun `%s` on a quiet machine.**\n" % run["command"] if busy else "",
        "Machine: %s, %s cores, %s GiB, Linux %s. %s (fsync=on, synchronous_commit=on, "
        "shared_buffers=256MB). Commit %s%s, binaries from `%s`." % (
            m.get("cpu"), m["cores"], m.get("mem_gib"), m["kernel"], run["postgres"],
            m["commit"], " with uncommitted changes" if m["dirty"] else "",
            os.path.relpath(run["build"], run["repo"])),
        "",
        "wrk, pgbench, both services and PostgreSQL share these %s cores: each figure and its "
        "ceiling compete with their own load generator for the same CPUs. Load average "
        "before the run %.2f, after %.2f; a busy machine (other builds) widens every spread "
        "and lowers every figure, so only a quiet run's numbers are findings." % (
            m["cores"], m["loadavg_start"], run["loadavg_end"]),
        "",
        "Mode: %s; %d repetition(s) of %d s per figure; replay set %d events; command: `%s`"
        % ("smoke" if o["smoke"] else "full", o["reps"], o["secs"], o["events"],
           run["command"]),
        "", table(run["rows"]), "", "## How each figure was measured", "",
    ]
    for r in run["rows"]:
        if r["how"]:
            lines.append("- **%s**: %s" % (r["figure"], r["how"]))
    lines += ["", "## Steps", ""]
    for name, ok, detail in run["steps"]:
        lines.append("- %s %s (%s)" % ("ok" if ok else "FAILED", name, detail))
    for w in run["warnings"]:
        lines.append("- warning: %s" % w)
    return "\n".join(lines) + "\n"


def output_paths(results_dir, host, date):
    """<date>-<host>.md, or -2, -3 ... when today's run on this host is already there."""
    os.makedirs(results_dir, exist_ok=True)
    base = os.path.join(results_dir, "%s-%s" % (date, host))
    path, n = base, 2
    while os.path.exists(path + ".md"):
        path, n = "%s-%d" % (base, n), n + 1
    return path + ".md", path + ".json"


def write(run, results_dir):
    md, js = output_paths(results_dir, run["machine"]["host"], run["date"])
    with open(md, "w") as f:
        f.write(markdown(run))
    with open(js, "w") as f:
        json.dump(run, f, indent=1, sort_keys=True)
        f.write("\n")
    return md, js


def today():
    return time.strftime("%Y-%m-%d")
