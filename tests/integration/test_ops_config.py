"""Operations: configuration is validated at start (one line naming the variable, exit 2) and
both binaries answer --help and --version."""

import os
import re

from ops_support import OpsTest, run_binary
from orderly_env import REPO

KINDS = ("command", "query")
NAMES = {"command": "command-service", "query": "query-service"}


def project_version():
    with open(os.path.join(REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


class ConfigTest(OpsTest):
    SECRET = "pw-Secret-7f3a"

    CASES = [
        ("PORT", {"PORT": "abc"}),
        ("PORT", {"PORT": "70000"}),
        ("PORT", {"PORT": "0"}),
        ("PORT", {"PORT": " 80"}),
        ("DATABASE_URL", {"DATABASE_URL": "host=db password=%s bogus" % SECRET}),
        ("DATABASE_URL", {"DATABASE_URL": "postgresql://u:%s@db/x?nosuchoption=1" % SECRET}),
        ("DATABASE_URL", {"DATABASE_URL": None}),
        ("LOG_LEVEL", {"LOG_LEVEL": "verbose"}),
        ("LOG_FORMAT", {"LOG_FORMAT": "xml"}),
        ("BIND_ADDRESS", {"BIND_ADDRESS": "not-an-ip"}),
    ]

    def test_bad_values_exit_2_with_one_line(self):
        for kind in KINDS:
            for var, overrides in self.CASES:
                with self.subTest(kind=kind, var=var, value=overrides.get(var)):
                    p = run_binary(kind, env_overrides=overrides, timeout=10)
                    self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                    lines = [l for l in p.stderr.splitlines() if l.strip()]
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertIn(var, lines[0])
                    self.assertNotIn(self.SECRET, p.stdout + p.stderr)

    def test_migrate_validates_too(self):
        p = run_binary("command", ["migrate"], {"LOG_LEVEL": "loud"}, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("LOG_LEVEL", p.stderr)

    def test_help_and_version(self):
        version = project_version()
        for kind in KINDS:
            with self.subTest(kind=kind):
                h = run_binary(kind, ["--help"], base_env=False, timeout=10)
                self.assertEqual(h.returncode, 0, h.stderr)
                self.assertIn("usage", h.stdout.lower())
                self.assertIn("DATABASE_URL", h.stdout)
                v = run_binary(kind, ["--version"], base_env=False, timeout=10)
                self.assertEqual(v.returncode, 0, v.stderr)
                self.assertEqual(v.stdout.strip(), "%s %s" % (NAMES[kind], version))

    def test_unknown_argument_is_a_usage_error(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                p = run_binary(kind, ["--frobnicate"], timeout=10)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("usage", p.stderr.lower())

    def test_port_in_use_fails_to_start(self):
        """A taken port is not a silent success: the process exits non-zero and says so."""
        busy = self.start_service("command")
        p = run_binary("command", env_overrides={"PORT": str(busy.port)}, timeout=20)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(str(busy.port), p.stdout + p.stderr)
