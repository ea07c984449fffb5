#!/usr/bin/env python3
"""Cache hit ratio under a Zipfian get-or-set workload, Ember and a real
redis-server side by side on this machine. A benchmark, never a test.

    scripts/bench-hitratio.py [--keys 250000] [--requests 400000]
                              [--maxmemory 16mb] [--policies allkeys-lru,allkeys-lfu]

For each policy and server (each a fresh process with `maxmemory` and the
policy): draw keys from a Zipf distribution (s = 0.99) over `keys` keys
(about 5x what fits), GET each, SET a 256-byte value on a miss; the first
quarter of the requests warms the cache and is not counted. Prints the hit
ratio of each server and ember/redis. Needs redis-py (`pip install redis`).
Set EMBER_BIN to choose the binary (default target/release/ember-server).
"""
import argparse
import bisect
import os
import random
import socket
import subprocess
import sys
import time

import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c = redis.Redis(port=port)
    for _ in range(100):
        try:
            c.ping()
            return p, c
        except redis.ConnectionError:
            time.sleep(0.1)
    p.kill()
    sys.exit(f"server {cmd[0]} did not start")


def zipf_cdf(n, s):
    w = [1.0 / (i ** s) for i in range(1, n + 1)]
    total = sum(w)
    acc, cdf = 0.0, []
    for x in w:
        acc += x / total
        cdf.append(acc)
    return cdf


def run(client, draws, warm, batch=200):
    value = b"v" * 256
    hits = counted = 0
    for start_i in range(0, len(draws), batch):
        keys = draws[start_i:start_i + batch]
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.get(k)
        got = pipe.execute()
        pipe = client.pipeline(transaction=False)
        for j, (k, v) in enumerate(zip(keys, got)):
            if start_i + j >= warm:
                counted += 1
                hits += v is not None
            if v is None:
                pipe.set(k, value)
        pipe.execute()
    return hits / counted


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=250000)
    ap.add_argument("--requests", type=int, default=400000)
    ap.add_argument("--maxmemory", default="16mb")
    ap.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ember = os.environ.get("EMBER_BIN", os.path.join(root, "target/release/ember-server"))
    cdf = zipf_cdf(a.keys, 0.99)
    rng = random.Random(a.seed)
    draws = [b"key:%d" % bisect.bisect_left(cdf, rng.random()) for _ in range(a.requests)]
    warm = a.requests // 4
    print(f"zipf s=0.99 over {a.keys} keys, {a.requests} requests, maxmemory {a.maxmemory}")
    for policy in a.policies.split(","):
        ratios = {}
        for name in ("ember", "redis"):
            port = free_port()
            common = ["--port", str(port), "--save", "", "--maxmemory", a.maxmemory,
                      "--maxmemory-policy", policy]
            cmd = [ember] + common if name == "ember" else \
                ["redis-server"] + common + ["--appendonly", "no"]
            p, c = start(cmd, port)
            try:
                ratios[name] = run(c, draws, warm)
            finally:
                p.kill()
                p.wait()
        print(f"{policy:12} ember {ratios['ember']:.4f}  redis {ratios['redis']:.4f}  "
              f"ratio {ratios['ember'] / ratios['redis']:.3f}")


if __name__ == "__main__":
    main()
