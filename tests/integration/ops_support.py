"""Helpers for the operations tests (test_ops_*.py): extra service processes with their own
environment, psql as a given role, the compose file with .env interpolation, a strict
Prometheus text-format parser. Stdlib only, plus PyYAML for the compose file."""

import os
import re
import subprocess
import time
import unittest

import harness
from orderly_env import REPO

COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(REPO, ".env.example")


def binary(kind):
    """Path of the built command-service or query-service binary."""
    return harness.env().binary(kind)


def run_binary(kind, args=(), env_overrides=None, timeout=30, base_env=True):
    """Runs a binary to completion (config errors, --help, migrate); returns CompletedProcess
    with text stdout/stderr. base_env adds the harness's working service environment."""
    env = {k: v for k, v in os.environ.items()}
    if base_env:
        env.update(harness.env().service_env())
    env.update(env_overrides or {})
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([binary(kind)] + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout)


_service_seq = [0]


class ExtraService(harness.Service):
    """A private service process (its own env, port and log file in the run dir) for a test
    that must change configuration; the shared pair is never restarted with other settings."""

    def __init__(self, kind, env_overrides=None, argv=None):
        """argv set: run exactly that command line (argv[0] mapped to the built binary) with
        exactly env_overrides plus PATH, as a container would; else the harness's env plus
        env_overrides."""
        e = harness.env()
        _service_seq[0] += 1
        name = "%s-ops%d" % (e.SERVICES[kind][0], _service_seq[0])
        env = {} if argv is not None else e.service_env()
        env.update(env_overrides or {})
        super().__init__(name, e.binary(kind), env, harness.free_port(), e.run_dir)
        self.kind = kind
        self.argv = argv

    def start(self, timeout=15.0):
        if self.argv is None:
            return super().start(timeout)
        # The compose file's exact argv: the image's binary with its arguments.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(self.env)
        env["PORT"] = str(self.port)  # the one rewrite: a fixed port could be taken here
        log = open(self.logfile, "ab")
        log.write(("--- start %s %s\n" % (self.name, time.strftime("%H:%M:%S"))).encode())
        log.flush()
        self.proc = subprocess.Popen([self.binary] + list(self.argv[1:]), env=env, stdout=log,
                                     stderr=log, stdin=subprocess.DEVNULL, cwd=REPO,
                                     start_new_session=True)
        log.close()
        self.wait_status("/healthz", 200, timeout)
        return self

    def log_lines(self):
        with open(self.logfile, "rb") as f:
            return [l for l in f.read().decode("utf-8", "replace").splitlines()
                    if not l.startswith("--- start ")]


class OpsTest(unittest.TestCase):
    """Base: services started by a test are stopped at its end, and must exit 0 on SIGTERM
    without sanitizer reports."""

    maxDiff = 4000

    def start_service(self, kind, env_overrides=None, argv=None):
        svc = ExtraService(kind, env_overrides, argv)
        self.addCleanup(self._stop, svc)
        svc.start()
        return svc

    def _stop(self, svc):
        code = svc.stop()
        self.assertEqual(code, 0, "%s exited %s on SIGTERM" % (svc.name, code))
        self.assertEqual(harness.sanitizer_reports(svc.logfile), [])


# --- PostgreSQL as a role -------------------------------------------------------------------

def role_url(role, db=None, password=None):
    """A URL for role on the test cluster (trust auth: a password is accepted and ignored)."""
    cl = harness.env().cluster
    auth = role + (":" + password if password else "")
    return "postgresql://%s@127.0.0.1:%d/%s" % (auth, cl.port, db or "orderly")


def psql_as(role, query, db=None):
    """Runs query as role; returns CompletedProcess (returncode, stdout, stderr)."""
    psql = os.path.join(harness.env().cluster.bindir, "psql")
    return subprocess.run([psql, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                           role_url(role, db), "-c", query],
                          capture_output=True, text=True, timeout=60)


# --- compose --------------------------------------------------------------------------------

def read_env_file(path=ENV_EXAMPLE):
    """KEY=VALUE lines of an .env file (comments and blanks skipped), as compose reads them."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError("bad .env line: %r" % line)
            out[key.strip()] = value.strip()
    return out


_VAR = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


class InterpolationError(ValueError):
    pass


def interpolate(value, variables):
    """Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m):
        if m.group(1) == "$":
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4)
        val = variables.get(name)
        unset_or_empty = val is None or (op is not None and op.startswith(":") and val == "")
        if op and op.endswith("-"):
            return arg if unset_or_empty else val
        if op and op.endswith("?"):
            if unset_or_empty:
                raise InterpolationError("%s: %s" % (name, arg))
            return val
        return val or ""

    return _VAR.sub(sub, value)


def load_compose(variables=None):
    """The compose file after YAML merge keys and interpolation with .env.example values
    (overridden by variables), like `docker compose --env-file .env.example config`."""
    import yaml  # Debian's python3-yaml; scripts/test installs it
    with open(COMPOSE_FILE) as f:
        doc = yaml.safe_load(f)
    env = read_env_file()
    env.update(variables or {})
    return interpolate(doc, env)


# --- Prometheus text format -----------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)( -?\d+)?$" % _NAME)
_LABEL_PAIR = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % _LABEL)
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class PromError(ValueError):
    pass


def _parse_value(text, lineno):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf"))
    if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", text):
        raise PromError("line %d: bad value %r" % (lineno, text))
    return float(text)


def _parse_labels(text, lineno):
    labels, pos = {}, 0
    while pos < len(text):
        m = _LABEL_PAIR.match(text, pos)
        if not m:
            raise PromError("line %d: bad labels %r" % (lineno, text))
        if m.group(1) in labels:
            raise PromError("line %d: duplicate label %s" % (lineno, m.group(1)))
        labels[m.group(1)] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace(
            "\\\\", "\\")
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise PromError("line %d: expected ',' in labels %r" % (lineno, text))
            pos += 1
    return labels


def _family_of(name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and families.get(base, {}).get("type") in ("histogram", "summary"):
            return base
    return name


def parse_prometheus(text):
    """Parses the text exposition format (0.0.4) strictly: every line a HELP/TYPE comment or a
    sample; TYPE at most once per family and before its samples; samples of a family
    contiguous; no duplicate series; histograms with le buckets in increasing order,
    non-decreasing cumulative counts, a +Inf bucket equal to _count, and a _sum.
    Returns {family: {"type", "help", "samples": [(name, labels, value)]}}; raises PromError."""
    if not text.endswith("\n"):
        raise PromError("output does not end with a newline")
    families, seen_series, order = {}, set(), []
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                if not re.match("^%s$" % _NAME, parts[2]):
                    raise PromError("line %d: bad metric name %r" % (lineno, parts[2]))
                fam = families.setdefault(parts[2], {"type": "untyped", "help": None,
                                                     "samples": [], "typed": False})
                if parts[1] == "TYPE":
                    if fam["typed"] or fam["samples"]:
                        raise PromError("line %d: TYPE repeated or after samples" % lineno)
                    if len(parts) != 4 or parts[3] not in _TYPES:
                        raise PromError("line %d: bad TYPE %r" % (lineno, line))
                    fam["type"], fam["typed"] = parts[3], True
                else:
                    if fam["help"] is not None:
                        raise PromError("line %d: HELP repeated" % lineno)
                    fam["help"] = parts[3] if len(parts) == 4 else ""
            continue
        if line == "":
            raise PromError("line %d: empty line" % lineno)
        m = _SAMPLE.match(line)
        if not m:
            raise PromError("line %d: not a sample: %r" % (lineno, line))
        name, labels = m.group(1), _parse_labels(m.group(3) or "", lineno)
        value = _parse_value(m.group(4), lineno)
        fname = _family_of(name, families)
        fam = families.setdefault(fname, {"type": "untyped", "help": None, "samples": [],
                                          "typed": False})
        if order and order[-1] != fname and fname in order:
            raise PromError("line %d: samples of %s are not contiguous" % (lineno, fname))
        if not order or order[-1] != fname:
            order.append(fname)
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise PromError("line %d: duplicate series %r" % (lineno, key))
        seen_series.add(key)
        if fam["type"] == "counter" and (value < 0 or value != value):
            raise PromError("line %d: counter %s is %r" % (lineno, name, value))
        fam["samples"].append((name, labels, value))
    for fname, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(fname, fam["samples"])
    return families


def _check_histogram(fname, samples):
    series = {}
    for name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == fname + "_bucket":
            if "le" not in labels:
                raise PromError("%s: bucket without le" % fname)
            s["buckets"].append((_parse_value(labels["le"], 0), value))
        elif name == fname + "_sum":
            s["sum"] = value
        elif name == fname + "_count":
            s["count"] = value
        else:
            raise PromError("%s: unexpected sample %s in a histogram" % (fname, name))
    for rest, s in series.items():
        les = [le for le, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        if not les or les[-1] != float("inf"):
            raise PromError("%s%r: no +Inf bucket last" % (fname, rest))
        if les != sorted(les) or len(set(les)) != len(les):
            raise PromError("%s%r: le values not increasing: %r" % (fname, rest, les))
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise PromError("%s%r: bucket counts decrease: %r" % (fname, rest, counts))
        if s["count"] is None or s["sum"] is None:
            raise PromError("%s%r: missing _count or _sum" % (fname, rest))
        if counts[-1] != s["count"]:
            raise PromError("%s%r: +Inf bucket %r != _count %r" % (fname, rest, counts[-1],
                                                                   s["count"]))


def sample_value(families, name, **labels):
    """The value of one series (0.0 when absent: a counter not yet incremented)."""
    fam = families.get(_family_of(name, families), {"samples": []})
    for n, l, v in fam["samples"]:
        if n == name and all(l.get(k) == str(val) for k, val in labels.items()):
            return v
    return 0.0
