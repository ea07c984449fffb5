#!/usr/bin/env python3
"""BGSAVE under a concurrent write load: Ember vs a real redis-server.

For each server (one at a time, pinned to CPU 0; the load generator on
CPU 1): load N keys (100-byte values) with redis-cli --pipe, run a writer
load (redis-benchmark SET over the same keys) once without a save and once
with BGSAVE issued after one second, and report

  * the writers' p50/p99/max latency without and with the save,
  * the save's duration (polled from INFO every 10 ms),
  * peak memory during the save relative to before: total PSS of the server
    and (for Redis) its fork child, sampled every 10 ms from /proc,
  * the dump file's size.

Only ratios between the two servers mean anything on a shared machine.
Bounded: N keys (default 1,000,000) and a fixed number of writer requests.

usage: scripts/bench-save.py [--keys N] [--requests R] [--ember PATH]
"""

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args],
                          capture_output=True, text=True, check=True).stdout


def info(port, field):
    for line in cli(port, "INFO", "persistence").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def total_pss(pid):
    return pss_kb(pid) + sum(pss_kb(c) for c in children(pid))


def wait_port(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    sys.exit(f"server on {port} did not start")


def load(port, n):
    value = "v" * 100
    buf = io.StringIO()
    for i in range(n):
        k = f"key:{i:012d}"
        buf.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${len(value)}\r\n{value}\r\n")
    subprocess.run(["taskset", "-c", "1", "redis-cli", "-p", str(port), "--pipe"],
                   input=buf.getvalue().encode(), capture_output=True, check=True)


def writers(port, n, requests):
    # __rand_int__ with -r n picks keys key:000000000000..n-1: the loaded keys.
    out = subprocess.run(
        ["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests),
         "-c", "20", "-r", str(n), "-d", "100", "--csv"],
        capture_output=True, text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    head, row = rows[0], rows[1]
    get = lambda name: float(row[head.index(name)])
    return {"rps": get("rps"), "p50": get("p50_latency_ms"), "p99": get("p99_latency_ms"),
            "max": get("max_latency_ms")}


def run(name, argv, port, workdir, n, requests, dumpname):
    proc = subprocess.Popen(["taskset", "-c", "0", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        wait_port(port)
        load(port, n)
        time.sleep(1)
        base = writers(port, n, requests)
        before = total_pss(proc.pid)
        result = {}
        peak = [before]
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                peak[0] = max(peak[0], total_pss(proc.pid))
                time.sleep(0.01)

        def saver():
            time.sleep(1.0)
            t0 = time.time()
            cli(port, "BGSAVE")
            while info(port, "rdb_bgsave_in_progress") != "0":
                time.sleep(0.01)
            result["save_s"] = time.time() - t0
            result["status"] = info(port, "rdb_last_bgsave_status")

        ts = threading.Thread(target=sampler)
        tv = threading.Thread(target=saver)
        ts.start()
        tv.start()
        during = writers(port, n, requests)
        tv.join()
        stop.set()
        ts.join()
        size = os.path.getsize(os.path.join(workdir, dumpname))
        return {"name": name, "base": base, "during": during, "save_s": result.get("save_s"),
                "status": result.get("status"), "pss_before_mb": before / 1024,
                "pss_peak_mb": peak[0] / 1024, "dump_mb": size / 1e6}
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=600_000)
    ap.add_argument("--ember", default="target/release/ember-server")
    a = ap.parse_args()
    for tool in ("redis-server", "redis-cli", "redis-benchmark", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required")
    ember = os.path.abspath(a.ember)
    results = []
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        results.append(run("ember", [ember, "--port", "7601", "--save", "", "--dir", d1,
                                     "--worker-threads", "1"], 7601, d1, a.keys, a.requests,
                           "dump.rdb"))
        results.append(run("redis", ["redis-server", "--port", "7602", "--save", "", "--dir", d2,
                                     "--appendonly", "no"], 7602, d2, a.keys, a.requests,
                           "dump.rdb"))
    for r in results:
        b, d = r["base"], r["during"]
        print(f"{r['name']}: save {r['save_s']:.2f}s ({r['status']}), dump {r['dump_mb']:.1f} MB, "
              f"PSS {r['pss_before_mb']:.0f} -> peak {r['pss_peak_mb']:.0f} MB "
              f"(x{r['pss_peak_mb'] / r['pss_before_mb']:.3f}); writers p50/p99/max ms "
              f"{b['p50']}/{b['p99']}/{b['max']} without, {d['p50']}/{d['p99']}/{d['max']} with "
              f"the save; rps {b['rps']:.0f} / {d['rps']:.0f}")
    e, r = results
    print("ratios ember/redis: save duration %.2f, peak/before %.3f vs %.3f, "
          "p99 during save %.2f, p99 during/without %.2f vs %.2f"
          % (e["save_s"] / r["save_s"], e["pss_peak_mb"] / e["pss_before_mb"],
             r["pss_peak_mb"] / r["pss_before_mb"], e["during"]["p99"] / r["during"]["p99"],
             e["during"]["p99"] / e["base"]["p99"], r["during"]["p99"] / r["base"]["p99"]))


if __name__ == "__main__":
    main()
