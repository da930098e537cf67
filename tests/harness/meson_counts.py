"""Turns a meson test log (meson-logs/<logbase>.json) into `LABEL: N passed, N failed`, counting
Check test cases from each binary's "Checks: N, Failures: F, Errors: E" line."""

import json
import re
import sys

CHECKS_RE = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def count(path):
    """Returns (passed, failed, notes). A meson test that failed without a Check failure to show
    for it (crash, valgrind error, sanitizer report, timeout) adds one failure of its own."""
    passed = failed = seen = 0
    notes = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            seen += 1
            ok = t.get("result") in ("OK", "EXPECTEDFAIL")
            checks = CHECKS_RE.findall(t.get("stdout") or "")
            n = sum(int(c[0]) for c in checks)
            bad = sum(int(c[1]) + int(c[2]) for c in checks)
            if checks:
                passed += n - bad
                failed += bad
                if not ok and bad == 0:
                    failed += 1
                    notes.append("%s: %s with every check passing" % (t.get("name"),
                                                                       t.get("result")))
            elif ok:
                passed += 1
            else:
                failed += 1
                notes.append("%s: %s" % (t.get("name"), t.get("result")))
    if seen == 0:
        failed, notes = 1, ["no tests ran"]
    return passed, failed, notes


def main():
    label, path = sys.argv[1], sys.argv[2]
    try:
        passed, failed, notes = count(path)
    except (OSError, ValueError) as e:
        print("%s: cannot read %s: %s" % (label, path, e), file=sys.stderr)
        passed, failed, notes = 0, 1, []
    for n in notes:
        print("  %s" % n, file=sys.stderr)
    print("%s: %d passed, %d failed" % (label, passed, failed))


if __name__ == "__main__":
    main()
