"""Browser suite entry point: runs tests/browser/test_*.py in one process against one harness
environment (PostgreSQL and both services) and one headless Chromium, then prints
`browser: N passed, N failed (T s)` (per test method; a bad teardown adds one failure).
Screenshots and the list of every request the pages made are left in <run dir>/browser/.

    ORDERLY_BUILD_DIR=$PWD/build python3 tests/browser/run.py [-k substring] [-v]
"""

import argparse
import importlib.util
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path[:0] = [HERE, INTEGRATION]

import harness  # noqa: E402


def counting_result():
    """The integration runner's result class (counts methods, not subtests)."""
    spec = importlib.util.spec_from_file_location("integration_run",
                                                  os.path.join(INTEGRATION, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CountingResult


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only tests whose name contains this substring (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--label", default="browser", help="name printed on the summary line")
    args = ap.parse_args()
    t0 = time.monotonic()
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    stream = unittest.runner._WritelnDecorator(sys.stdout)
    result = counting_result()(stream, True, 2 if args.verbose else 1)
    result.startTestRun()
    try:
        suite.run(result)
    finally:
        result.stopTestRun()
        problems = harness.shutdown_env()
    result.printErrors()
    for p in problems:
        print("teardown FAIL: %s" % p)
    failed = sorted(result.failed_ids) + (["teardown"] if problems else [])
    passed = result.run_ids - result.failed_ids - result.skipped_ids
    if harness.last_run_dir:
        print("screenshots and service logs are in %s" % harness.last_run_dir)
    for name in failed:
        print("FAILED: %s" % name)
    print("%s: %d passed, %d failed (%.0f s)" % (args.label, len(passed), len(failed),
                                                  time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
