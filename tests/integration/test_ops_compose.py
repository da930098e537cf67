"""Operations: the deployment files without a container engine. The compose file's services,
healthchecks, dependencies, restart policies, ports and .env secrets; the Dockerfile's stages
and runtime libraries; the deploy docs; and the exact commands and environment compose gives
each container, run here against the test PostgreSQL, proving the entrypoints work.
scripts/compose-test runs the same files on a real engine."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
from urllib.parse import urlsplit

import harness
from harness import Client, new_id, wait_until
from ops_support import (COMPOSE_FILE, ENV_EXAMPLE, InterpolationError, OpsTest, interpolate,
                         load_compose, read_env_file)
from orderly_env import PG_USER, REPO

SERVICES = {"postgres", "postgres-replica", "migrate", "db-roles", "command-service",
            "query-service"}
APP = {"command-service": ("command", 8081, "orderly_command"),
       "query-service": ("query", 8082, "orderly_query")}
DOCKERFILE = os.path.join(REPO, "Dockerfile")
REPLICA_2_FILE = os.path.join(REPO, "ops", "compose", "replica-2.yml")
RUNTIME_BASE_PACKAGES = {"libc6", "libgcc-s1"}  # already in debian:12-slim
# The official postgres image declares this VOLUME: a container of it that does not cover the
# path gets an anonymous volume, left dangling after every `down`.
POSTGRES_IMAGE_VOLUME = "/var/lib/postgresql/data"
# Compose healthchecks retry (interval 10 s, 3 retries, after a 10 s start period): a test waits
# as long before it calls a container unhealthy, never checks once.
HEALTH_DEADLINE_S = 60
# The replica's first start copies the whole test cluster (every database of the shard).
CLONE_DEADLINE_S = 2 * HEALTH_DEADLINE_S


def depends(svc):
    return {k: v.get("condition") for k, v in svc.get("depends_on", {}).items()}


class ComposeFileTest(unittest.TestCase):
    def setUp(self):
        self.doc = load_compose()
        self.svcs = self.doc["services"]

    def max_connections(self, name):
        command = " ".join(self.svcs[name]["command"])
        return int(re.search(r"max_connections=(\d+)", command).group(1))

    def test_max_connections_fit_the_scale_example(self):
        """README's rule for the README's `--scale query-service=3` with one command-service:
        on the primary, command replicas x (DB_POOL_SIZE + 1) + one projector session per
        query replica + one-shots <= max_connections - 3; on the replica the query replicas'
        pools and pollers, 3 x (DB_POOL_SIZE + 1); a hot standby needs at least the primary's
        max_connections."""
        primary, replica = self.max_connections("postgres"), self.max_connections(
            "postgres-replica")
        pools = {n: int(self.svcs[n]["environment"]["DB_POOL_SIZE"]) for n in APP}
        self.assertLessEqual((pools["command-service"] + 1) + 3 + 2, primary - 3)
        self.assertLessEqual(3 * (pools["query-service"] + 1), replica - 3)
        self.assertGreaterEqual(replica, primary)

    def test_services(self):
        self.assertEqual(set(self.svcs), SERVICES)

    def test_postgres(self):
        pg = self.svcs["postgres"]
        self.assertRegex(pg["image"], r"^postgres:1[56]\b")
        volume = pg["volumes"][0].split(":")[0]
        self.assertIn(volume, self.doc["volumes"])  # a named volume, not a bind mount
        self.assertIn("pg_isready", " ".join(pg["healthcheck"]["test"]))
        self.assertIn(pg["restart"], ("always", "unless-stopped"))

    def test_migrate_is_one_shot_after_healthy_postgres(self):
        m = self.svcs["migrate"]
        self.assertEqual(m["command"], ["command-service", "migrate"])
        self.assertEqual(depends(m), {"postgres": "service_healthy"})
        self.assertEqual(m["restart"], "no")
        self.assertEqual(depends(self.svcs["db-roles"]),
                         {"migrate": "service_completed_successfully"})

    def test_app_services(self):
        for name, (_, port, role) in APP.items():
            with self.subTest(name):
                s = self.svcs[name]
                self.assertEqual(s["command"], [name])
                # postgres (and the replica it reads from) directly, so `stop` drains the
                # service before PostgreSQL stops.
                want = {"postgres": "service_healthy",
                        "migrate": "service_completed_successfully",
                        "db-roles": "service_completed_successfully"}
                if name == "query-service":
                    want["postgres-replica"] = "service_healthy"
                self.assertEqual(depends(s), want)
                self.assertIn("/readyz", s["healthcheck"]["test"])
                self.assertIn(s["restart"], ("always", "unless-stopped", "on-failure"))
                env = s["environment"]
                self.assertEqual(env["BIND_ADDRESS"], "0.0.0.0")
                self.assertEqual(env["PORT"], str(port))
                # The query side publishes a range so it can be scaled to several replicas.
                published = "%d-%d" % (port, port + 2) if name == "query-service" else str(port)
                self.assertEqual(s["ports"], ["%s:%d" % (published, port)])
                url = urlsplit(env["DATABASE_URL"])
                self.assertEqual((url.username, url.hostname, url.port), (role, "postgres", 5432))
                self.assertEqual(s["image"], self.svcs["migrate"]["image"])
                # Writes and the projector on the primary; only the query side's GETs read the
                # standby.
                if name == "command-service":
                    self.assertNotIn("READ_DATABASE_URL", env)
                    continue
                read = urlsplit(env["READ_DATABASE_URL"])
                self.assertEqual((read.username, read.hostname, read.port, read.path),
                                 (role, "postgres-replica", 5432, url.path))

    def test_replica(self):
        """postgres-replica: the same image as postgres, its own named volume, both servers
        with the committed pg_hba (replication for orderly_replication only), cloned once
        postgres is healthy and the replication role exists, healthy only in recovery."""
        pg, rep = self.svcs["postgres"], self.svcs["postgres-replica"]
        self.assertEqual(rep["image"], pg["image"])
        volumes = [v.split(":")[0] for v in rep["volumes"]]
        self.assertIn(volumes[0], self.doc["volumes"])
        self.assertNotEqual(volumes[0], pg["volumes"][0].split(":")[0])
        self.assertEqual(depends(rep), {"postgres": "service_healthy",
                                        "db-roles": "service_completed_successfully"})
        self.assertIn("pg_is_in_recovery()", " ".join(rep["healthcheck"]["test"]))
        self.assertIn(rep["restart"], ("always", "unless-stopped"))
        for svc in (pg, rep):
            self.assertIn("hba_file=/orderly/pg_hba.conf", svc["command"])
            self.assertIn("./ops/compose/pg_hba.conf:/orderly/pg_hba.conf:ro", svc["volumes"])
        with open(os.path.join(REPO, "ops", "compose", "pg_hba.conf")) as f:
            rules = [l.split() for l in f if l.strip() and not l.startswith("#")]
        self.assertIn(["host", "replication", "orderly_replication", "all", "scram-sha-256"],
                      rules)
        self.assertEqual([r for r in rules if r[0] == "host" and "trust" in r], [])

    def test_second_replica_file_repeats_the_first_pair(self):
        """ops/compose/replica-2.yml (the README's "More replicas") repeats postgres-replica and
        query-service, since compose cannot extend a service that has depends_on: they may
        differ only in the names, the replica's volume and the published ports."""
        import yaml
        with open(REPLICA_2_FILE) as f:
            extra = interpolate(yaml.safe_load(f), read_env_file())
        self.assertEqual(set(extra["volumes"]), {"pgdata-replica-2"})

        def as_first(svc):
            text = json.dumps(svc, sort_keys=True)
            for second, first in (("pgdata-replica-2", "pgdata-replica"),
                                  ("postgres-replica-2", "postgres-replica"),
                                  ("replica2", "replica1")):
                text = text.replace(second, first)
            return json.loads(text)

        self.assertEqual(as_first(extra["services"]["postgres-replica-2"]),
                         self.svcs["postgres-replica"])
        second, first = as_first(extra["services"]["query-service-2"]), dict(
            self.svcs["query-service"])
        self.assertEqual(second.pop("ports"), ["8085-8087:8082"])
        first.pop("ports")
        first.pop("build")  # the image docker-compose.yml builds
        self.assertEqual(second, first)

    def test_no_anonymous_volume_from_the_postgres_image(self):
        """Every container made from the postgres image covers its VOLUME with a named volume
        or a tmpfs."""
        for name, svc in self.svcs.items():
            if not svc.get("image", "").startswith("postgres:"):
                continue
            with self.subTest(name):
                covered = {v.split(":")[1] for v in svc.get("volumes", [])
                           if v.split(":")[0] in self.doc["volumes"]}
                covered |= set(svc.get("tmpfs", []))
                self.assertIn(POSTGRES_IMAGE_VOLUME, covered)

    def test_secrets_come_from_env_file(self):
        with open(COMPOSE_FILE) as f:
            raw = f.read()
        example = read_env_file()
        for key in ("POSTGRES_PASSWORD", "ORDERLY_COMMAND_DB_PASSWORD",
                    "ORDERLY_QUERY_DB_PASSWORD", "ORDERLY_REPLICATION_PASSWORD", "API_TOKENS"):
            self.assertIn(key, example)
            self.assertIn("${" + key, raw)
            self.assertNotIn(example[key], raw, "a secret value is hard-coded")
        for key in ("POSTGRES_PASSWORD", "ORDERLY_COMMAND_DB_PASSWORD",
                    "ORDERLY_REPLICATION_PASSWORD"):
            with self.subTest(missing=key):
                with self.assertRaises(InterpolationError):
                    load_compose({key: ""})
        # Every variable compose requires has a line in .env.example.
        required = set(re.findall(r"\$\{([A-Z_]+):\?", raw))
        self.assertEqual(required - set(example), set())
        with open(os.path.join(REPO, ".dockerignore")) as f:
            ignored = f.read().split()
        self.assertIn(".env", ignored)

    def test_docker_compose_config(self):
        tool = shutil.which("docker-compose")
        if not tool:
            self.skipTest("docker-compose not installed (scripts/test installs it)")
        base = [tool, "--project-directory", REPO, "-f", COMPOSE_FILE]
        p = subprocess.run(base + ["--env-file", ENV_EXAMPLE, "config", "-q"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        empty = os.path.join(harness.env().run_dir, "empty.env")
        open(empty, "w").close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "ORDERLY_"))}
        p = subprocess.run(base + ["--env-file", empty, "config", "-q"], capture_output=True,
                           text=True, timeout=60, env=env)
        self.assertNotEqual(p.returncode, 0, "config passes without the secrets")
        self.assertIn("POSTGRES_PASSWORD", p.stderr)


def read_dockerfile():
    """The Dockerfile with continuation lines joined."""
    with open(DOCKERFILE) as f:
        return re.sub(r"\\\n", " ", f.read())


def runtime_packages(dockerfile):
    """The packages the Dockerfile's last stage installs."""
    final = dockerfile[dockerfile.rindex("\nFROM "):]
    m = re.search(r"apt-get install ([^&]*)", final)
    return {w for w in m.group(1).split() if not w.startswith("-")}


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.text = read_dockerfile()
        self.lines = [l.strip() for l in self.text.splitlines()
                      if l.strip() and not l.strip().startswith("#")]

    def runtime_packages(self):
        return runtime_packages(self.text)

    def test_no_frontend_to_pull(self):
        """A `# syntax=` parser directive makes every BuildKit build pull a frontend image, which
        fails on a host that reaches no registry."""
        with open(DOCKERFILE) as f:
            head = []
            for line in f:
                if not line.startswith("#"):
                    break
                head.append(line)
        for line in head:
            self.assertNotRegex(line.lower(), r"^#\s*syntax\s*=", "parser directive: " + line)

    def test_stages(self):
        froms = [l.split()[1] for l in self.lines if l.startswith("FROM ")]
        self.assertEqual(froms, ["debian:12", "debian:12-slim"])
        build = self.text[: self.text.rindex("\nFROM ")]
        # The same install/build path as scripts/run.
        for needle in ("scripts/lib.sh", "orderly_ensure_packages", "ORDERLY_RUN_PACKAGES",
                       "orderly_build"):
            self.assertIn(needle, build)
        self.assertEqual(self.runtime_packages(),
                         {"libmicrohttpd12", "libjansson4", "libpq5", "libsodium23"})
        user = [l.split()[1] for l in self.lines if l.startswith("USER ")]
        self.assertTrue(user and not user[-1].startswith(("root", "0")), user)
        self.assertIn("STOPSIGNAL SIGTERM", self.lines)
        self.assertTrue(any(l.startswith("HEALTHCHECK") and "/readyz" in l for l in self.lines))
        self.assertIn("MIGRATIONS_DIR=/usr/share/orderly/migrations", self.text)
        self.assertIn("migrations /out/usr/share/orderly/migrations", self.text)

    def test_runtime_packages_cover_the_binaries(self):
        """Every library the binaries link comes from a package the runtime stage installs
        (sanitizer runtimes of an ASan build aside)."""
        if not shutil.which("readelf") or not shutil.which("dpkg"):
            self.skipTest("readelf or dpkg missing")
        wanted = self.runtime_packages() | RUNTIME_BASE_PACKAGES
        for kind in ("command", "query"):
            path = harness.env().binary(kind)
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                subprocess.run(["readelf", "-d", path], capture_output=True,
                                               text=True, check=True).stdout)
            resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(
                ["ldd", path], capture_output=True, text=True, check=True).stdout, re.M))
            for lib in needed:
                if re.match(r"lib(asan|ubsan|lsan|tsan)\b", lib):
                    continue
                with self.subTest(binary=kind, lib=lib):
                    self.assertIn(lib, resolved)
                    real = os.path.realpath(resolved[lib])
                    candidates = {resolved[lib], real}
                    candidates |= {c.replace("/usr/lib/", "/lib/", 1) for c in set(candidates)}
                    candidates |= {c.replace("/lib/", "/usr/lib/", 1) for c in set(candidates)
                                   if not c.startswith("/usr/")}
                    pkgs = set()
                    for c in candidates:
                        p = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
                        if p.returncode == 0:
                            pkgs |= {x.split(":")[0].strip() for x in
                                     p.stdout.split(":", 1)[0].split(",")}
                    self.assertTrue(pkgs, "no package owns %s" % lib)
                    self.assertTrue(pkgs & wanted, "%s comes from %s" % (lib, pkgs))


def readme_deploy_section():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    start = text.index("## Deploying with docker compose")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def shell_commands(markdown):
    """The commands of every ```sh block, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", markdown, re.S)
    return [c.strip() for b in blocks for c in b.replace("\\\n", " ").splitlines() if c.strip()]


class DeployDocsTest(unittest.TestCase):
    def test_readme_names_both_compose_tools_and_how_to_install(self):
        section = readme_deploy_section()
        self.assertIn("apt-get install docker.io docker-compose", section)
        self.assertIn("docker-compose up --build -d", section)
        self.assertIn("docker compose up --build -d", section)
        self.assertNotIn("There is no container engine", section)
        self.assertIn("scripts/compose-test", section)
        self.assertIn("org.orderly.standin=true", section)

    def test_readme_requests_carry_the_token(self):
        """.env.example sets API_TOKENS, so every request of the deploy section sends one."""
        self.assertTrue(read_env_file()["API_TOKENS"])
        commands = shell_commands(readme_deploy_section())
        header_vars = {m.group(1) for c in commands
                       for m in [re.match(r'^(\w+)="Authorization: Bearer ', c)] if m}
        curls = [c for c in commands if re.search(r"\bcurl\b", c)]
        self.assertTrue(curls)
        for c in curls:
            with self.subTest(c):
                self.assertTrue("Authorization: Bearer" in c or
                                any('-H "$%s"' % v in c for v in header_vars), c)

    def test_architecture_lists_the_runtime_libraries(self):
        with open(os.path.join(REPO, "docs", "architecture.md")) as f:
            text = f.read()
        para = text[text.index("The image (`Dockerfile`)"):]
        para = para[: para.index("\n\n")]
        named = set(re.findall(r"`(lib[a-z0-9.+-]+)`", para))
        self.assertEqual(named, runtime_packages(read_dockerfile()))


class ComposeEntrypointsTest(OpsTest):
    """Runs what compose runs, in order, with the environment compose computes from
    .env.example. Rewrites only what differs outside a container: the host:port of `postgres`
    (the test cluster) and of `postgres-replica` (a clone of it made by the replica's own
    entrypoint), PORT (a free one), the binaries' and scripts' paths; the stand-in image's
    entrypoint (scripts/standin) plays the postgres image's."""

    def setUp(self):
        cl = harness.env().cluster
        self.cluster = cl
        self.db = "orderly_compose_" + new_id()[:12]
        cl.psql("CREATE DATABASE %s" % self.db, db="postgres")
        self.addCleanup(cl.psql, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db,
                        db="postgres", check=False)
        self.compose = load_compose({"POSTGRES_DB": self.db})["services"]
        admin = urlsplit(self.compose["migrate"]["environment"]["DATABASE_URL"]).username
        # The postgres image creates POSTGRES_USER as a superuser; do the same here.
        cl.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
                "CREATE ROLE %s SUPERUSER LOGIN; END IF; END $$" % (admin, admin), db="postgres")
        self.addCleanup(cl.psql, "ALTER ROLE orderly_command PASSWORD NULL; "
                        "ALTER ROLE orderly_query PASSWORD NULL; "
                        "DROP ROLE IF EXISTS orderly_replication", db="postgres", check=False)
        self.replica_port = None

    def container_env(self, name):
        env = {k: str(v) for k, v in self.compose[name]["environment"].items()}
        if "DATABASE_URL" in env:
            env["DATABASE_URL"] = env["DATABASE_URL"].replace(
                "@postgres:5432/", "@127.0.0.1:%d/" % self.cluster.port)
        if "READ_DATABASE_URL" in env:
            env["READ_DATABASE_URL"] = env["READ_DATABASE_URL"].replace(
                "@postgres-replica:5432/", "@127.0.0.1:%d/" % self.replica_port)
        # The image's ENV (Dockerfile): migrations under /usr/share/orderly, i.e. migrations/.
        env.setdefault("MIGRATIONS_DIR", os.path.join(REPO, "migrations"))
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        return env

    def run_one_shot(self, name, argv):
        p = subprocess.run(argv, env=self.container_env(name), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, "%s: %s%s" % (name, p.stdout, p.stderr))
        return p

    def psql_db(self, query):
        return self.cluster.psql(query, db=self.db)

    def mounted(self, name, path):
        """The repository file compose bind-mounts at path in the service's container."""
        mounts = dict(reversed(v.split(":")[:2]) for v in self.compose[name]["volumes"])
        return os.path.join(REPO, os.path.relpath(mounts[path], "."))

    def start_replica(self):
        """postgres-replica's entrypoint with its command and environment: clones the test
        cluster (pg_basebackup -R as orderly_replication) into a temp dir and starts the
        standby there, with the compose pg_hba (password auth over TCP). Stopped (fast) at
        cleanup. Returns the directory."""
        svc = self.compose["postgres-replica"]
        root = tempfile.mkdtemp(prefix="orderly-replica-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        if os.geteuid() == 0:  # the entrypoints drop to the postgres user, as in the image
            os.chmod(root, 0o755)
            shutil.chown(root, PG_USER, PG_USER)
        bindir = os.path.join(root, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.join(REPO, "scripts", "standin", "postgres-entrypoint"),
                   os.path.join(bindir, "docker-entrypoint.sh"))
        env = {k: str(v) for k, v in svc["environment"].items()}
        env.update(PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=str(self.cluster.port),
                   PGDATA=os.path.join(root, "data"),
                   REPLICATION_PASSFILE=os.path.join(root, "replication.pgpass"),
                   PATH=":".join([bindir, self.cluster.bindir, os.environ.get("PATH", "")]))
        argv = [self.mounted("postgres-replica", a) if a.startswith("/orderly/") else a
                for a in svc["entrypoint"]]
        command = [a.replace("/orderly/pg_hba.conf",
                             self.mounted("postgres-replica", "/orderly/pg_hba.conf"))
                   for a in svc["command"]]
        # A standby needs the primary's max_connections at least: the test cluster's.
        primary_max = self.cluster.psql("SHOW max_connections", db="postgres")[0][0]
        self.replica_port = harness.free_port()
        command += ["-c", "max_connections=" + primary_max, "-p", str(self.replica_port),
                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + root]
        log = open(os.path.join(root, "replica.log"), "wb")
        proc = subprocess.Popen(argv + command, env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, cwd=root, start_new_session=True)
        log.close()
        self.addCleanup(self.stop_replica, proc)
        health = svc["healthcheck"]["test"]
        self.assertEqual(health[0], "CMD-SHELL")
        check = dict(env, PGHOST=root, PGPORT=str(self.replica_port))
        healthy = wait_until(lambda: proc.poll() is None and subprocess.run(
            ["sh", "-c", health[1]], env=check, capture_output=True, timeout=30).returncode == 0,
                             CLONE_DEADLINE_S, 0.2)
        with open(os.path.join(root, "replica.log"), errors="replace") as f:
            self.assertTrue(healthy, "postgres-replica unhealthy:\n" + f.read()[-3000:])
        return root

    def stop_replica(self, proc):
        proc.send_signal(signal.SIGINT)  # the image's STOPSIGNAL: a fast shutdown
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def healthcheck(self, name, port):
        test = self.compose[name]["healthcheck"]["test"]
        self.assertEqual(test[:2], ["CMD", "orderly-healthcheck"])
        env = self.container_env(name)
        env["PORT"] = str(port)
        return subprocess.run([os.path.join(REPO, "scripts", "healthcheck")] + test[2:], env=env,
                              capture_output=True, text=True, timeout=10).returncode

    def test_compose_sequence(self):
        # postgres: its healthcheck command, pointed at the test cluster.
        pg = self.compose["postgres"]
        env = dict(os.environ, POSTGRES_USER=pg["environment"]["POSTGRES_USER"],
                   POSTGRES_DB=self.db, PGHOST="127.0.0.1", PGPORT=str(self.cluster.port),
                   PATH=self.cluster.bindir + ":" + os.environ.get("PATH", ""))
        p = subprocess.run(["sh", "-c", pg["healthcheck"]["test"][1]], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # migrate: twice, as every `up` does; the second run applies nothing.
        argv = self.compose["migrate"]["command"]
        self.run_one_shot("migrate", [harness.env().binary("command")] + argv[1:])
        files = sorted(f for f in os.listdir(os.path.join(REPO, "migrations"))
                       if f.endswith(".sql"))
        applied = [r[0] for r in self.psql_db("SELECT version FROM schema_migrations ORDER BY 1")]
        self.assertEqual(applied, files)
        self.run_one_shot("migrate", [harness.env().binary("command")] + argv[1:])

        # db-roles: the entrypoint script from its bind mount.
        roles = self.compose["db-roles"]
        mounts = dict(reversed(v.split(":")[:2]) for v in roles["volumes"])
        script = os.path.join(REPO, os.path.relpath(mounts[roles["entrypoint"][1]], "."))
        self.run_one_shot("db-roles", roles["entrypoint"][:1] + [script])
        rows = self.psql_db("SELECT rolname FROM pg_authid WHERE rolpassword IS NOT NULL AND "
                            "rolname IN ('orderly_command', 'orderly_query') ORDER BY 1")
        self.assertEqual(rows, [["orderly_command"], ["orderly_query"]])
        # The replication role: login and replication, nothing more; a second run keeps it.
        self.run_one_shot("db-roles", roles["entrypoint"][:1] + [script])
        rows = self.psql_db("SELECT rolcanlogin, rolreplication, rolsuper, rolcreaterole, "
                            "rolcreatedb, rolpassword IS NOT NULL FROM pg_authid "
                            "WHERE rolname = 'orderly_replication'")
        self.assertEqual(rows, [["t", "t", "f", "f", "f", "t"]])

        # postgres-replica: streams from the primary as orderly_replication, in recovery.
        self.start_replica()
        streaming = ("SELECT count(*) FROM pg_stat_replication WHERE usename = "
                     "'orderly_replication' AND application_name = '%s' AND state = 'streaming'"
                     % self.compose["postgres-replica"]["environment"]["REPLICA_NAME"])
        self.assertTrue(wait_until(lambda: self.psql_db(streaming) == [["1"]],
                                   HEALTH_DEADLINE_S, 0.2))

        # The services, as their roles, with compose's environment.
        svcs = {}
        for name, (kind, _, _) in APP.items():
            env = self.container_env(name)
            env.pop("PATH")
            svcs[name] = self.start_service(kind, env, argv=self.compose[name]["command"])
            # /readyz may answer 503 for a while after start on a busy machine.
            self.assertTrue(wait_until(lambda: self.healthcheck(name, svcs[name].port) == 0,
                                       HEALTH_DEADLINE_S, 0.5),
                            "%s unhealthy for %d s" % (name, HEALTH_DEADLINE_S))
        token = read_env_file()["API_TOKENS"].split(",")[0]
        c = Client(svcs["command-service"].port)
        q = Client(svcs["query-service"].port)
        try:
            body = {"owner": new_id("o-"), "currency": "EUR"}
            self.assertEqual(c.post("/v1/accounts", body).status, 401)
            r = c.post("/v1/accounts", body, headers={"Authorization": "Bearer " + token})
            self.assertEqual(r.status, 201, r)
            got = q.get("/v1/accounts/%s?min_position=%d" % (r.body["id"], r.body["position"]))
            self.assertEqual(got.status, 200, got)
            # ... answered by the standby: the write reached query-service through replication.
            self.assertGreaterEqual(int(got.headers["X-Projection-Position"]),
                                    r.body["position"])
            served = q.get("/v1/projections").body[0]["served_by"]["read_database"]
            self.assertEqual((served["role"], served["server"]),
                             ("standby", "127.0.0.1:%d" % self.replica_port))
            stored = self.psql_db("SELECT count(*) FROM events WHERE stream_id = '%s'"
                                  % r.body["stream_id"])
            self.assertEqual(stored, [["1"]])  # in the compose database, not the shared one
        finally:
            c.close()
            q.close()
        port = svcs["command-service"].port
        svcs["command-service"].stop()
        self.assertNotEqual(self.healthcheck("command-service", port), 0)


if __name__ == "__main__":
    unittest.main()
