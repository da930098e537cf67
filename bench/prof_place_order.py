#!/usr/bin/env python3
"""Deterministic counts of command-service's work per PlaceOrder (issue 15): starts a bench
cluster and command-service (under callgrind with --callgrind), sends a warm-up of 200 and then
N PlaceOrders (the body of wrk/place_order.lua) from 4 keep-alive clients, and prints the
instructions per command (callgrind counters zeroed after the warm-up, dumped after the load)
or the service's user and system CPU per command from /proc.
Usage: bench/prof_place_order.py [--callgrind] [--n 2000] [--log-format text|json] [--out DIR] BUILD_DIR
`callgrind_annotate --inclusive=yes DIR/cg.out.1` then shows where they go."""

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "harness"))
import benchlib as bl  # noqa: E402
import orderly_env as oe  # noqa: E402

BODY = ('{"customer_id":"bench-customer","currency":"EUR",'
        '"items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}]}')
CLIENTS = 4


def send(port, k, failures):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(k):
        c.request("POST", "/v1/orders", BODY, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            failures.append(r.status)
    c.close()


def load(port, n):
    failures = []
    threads = [threading.Thread(target=send, args=(port, n // CLIENTS, failures))
               for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise bl.BenchError("%d PlaceOrders not answered 201 (first %d)" % (len(failures),
                                                                             failures[0]))
    return n // CLIENTS * CLIENTS


def cpu_ticks(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def wait_ready(proc, port, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise bl.BenchError("command-service exited %d" % proc.returncode)
        try:
            if oe.http_get_status(port, "/readyz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise bl.BenchError("command-service not ready within %d s" % timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--log-format", default="text", choices=["text", "json"])
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="prof-place-order-")
    os.makedirs(out, exist_ok=True)
    env = bl.BenchEnv()
    env.build = os.path.abspath(a.build)
    env.start()
    proc = None
    try:
        senv = dict(os.environ)
        senv.update(env.service_env())
        port = oe.free_port()
        senv.update({"PORT": str(port), "LOG_FORMAT": a.log_format})
        prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s/cg.out" % out] \
            if a.callgrind else []
        with open(os.path.join(out, "service.log"), "wb") as log:
            proc = subprocess.Popen(prefix + [env.binary("command")], env=senv, stdout=log,
                                    stderr=log, start_new_session=True)
        wait_ready(proc, port)
        load(port, 200)
        if a.callgrind:
            bl.run(["callgrind_control", "-z", str(proc.pid)])
        before = cpu_ticks(proc.pid)
        n = load(port, a.n)
        after = cpu_ticks(proc.pid)
        if a.callgrind:
            bl.run(["callgrind_control", "-d", str(proc.pid)])
            with open(os.path.join(out, "cg.out.1")) as f:
                total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
            print("instructions per PlaceOrder: %.0f (%d commands, %s/cg.out.1)" % (
                total / n, n, out))
        else:
            hz = os.sysconf("SC_CLK_TCK")
            print("CPU per PlaceOrder: user %.1f us, system %.1f us (%d commands)" % (
                (after[0] - before[0]) * 1e6 / hz / n, (after[1] - before[1]) * 1e6 / hz / n, n))
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(120)
        env.destroy()


if __name__ == "__main__":
    main()
