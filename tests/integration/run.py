"""Integration test entry point: discovers tests/integration/test_*.py, runs them against ONE
shared environment, and prints `integration: N passed, N failed` (per test method)."""

import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


class CountingResult(unittest.TextTestResult):
    """Counts test methods, not subtests: a method with three failing subtests is one failure."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.failed_ids = set()
        self.run_ids = set()
        self.skipped_ids = set()

    def startTest(self, test):
        self.run_ids.add(test.id())
        super().startTest(test)

    def addSkip(self, test, reason):
        self.skipped_ids.add(test.id())
        super().addSkip(test, reason)

    def addFailure(self, test, err):
        self.failed_ids.add(test.id())
        super().addFailure(test, err)

    def addError(self, test, err):
        self.failed_ids.add(getattr(test, "id", lambda: str(test))())
        super().addError(test, err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.failed_ids.add(test.id())
        super().addSubTest(test, subtest, err)

    def addUnexpectedSuccess(self, test):
        self.failed_ids.add(test.id())
        super().addUnexpectedSuccess(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only tests whose name contains this substring (repeatable)")
    ap.add_argument("-p", "--pattern", default="test_*.py", help="test file glob")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--label", default="integration", help="name printed on the summary line")
    args = ap.parse_args()

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern=args.pattern, top_level_dir=HERE)
    runner = unittest.TextTestRunner(resultclass=CountingResult, verbosity=2 if args.verbose
                                     else 1, stream=sys.stdout)
    try:
        result = runner.run(suite)
    finally:
        problems = harness.shutdown_env()
    failed = len(result.failed_ids)
    skipped = len(result.skipped_ids)
    # Errors outside a test (setUpClass, imports) are failures too but never "ran".
    passed = len(result.run_ids - result.failed_ids - result.skipped_ids)
    # Bad shutdown or sanitizer reports are a failure of the run even if every test passed.
    for p in problems:
        print("teardown FAIL: %s" % p)
    if problems:
        failed += 1
    if failed and harness.last_run_dir:
        print("service logs are in %s" % harness.last_run_dir)
        if os.environ.get("CI") == "true":  # CI keeps no files: show the logs' ends
            for name in sorted(os.listdir(harness.last_run_dir)):
                path = os.path.join(harness.last_run_dir, name)
                print("--- tail of %s\n%s" % (name, harness.log_tail(path, 60)))
    if skipped:
        print("(%d skipped)" % skipped)
    print("%s: %d passed, %d failed" % (args.label, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
