"""Benchmark helper (case 7): run as CMD under `crossrole exec --server
PROFILE`, it fetches credentials from the endpoint N times in this one
process and prints per-request latencies as JSON:

    crossrole exec --server blue -- python3 bench/server_fetch.py N

Two ways an SDK may ask: on one kept-alive connection (botocore keeps a
connection pool per fetcher), and on a new connection per request. Both
after warm-up, so the session is cached (this measures the endpoint, not
STS). Process start-up is not in the figures.
"""
import http.client
import json
import os
import statistics
import sys
import time
from urllib.parse import urlsplit

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
u = urlsplit(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
headers = {"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}


def get(conn):
    conn.request("GET", u.path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or b"AccessKeyId" not in body:
        sys.exit(f"server_fetch: HTTP {r.status}")


def summary(samples):
    s = sorted(samples)
    return {
        "n": len(s),
        "median_ms": statistics.median(s) * 1000,
        "p90_ms": s[int(len(s) * 0.9)] * 1000,
        "min_ms": s[0] * 1000,
        "mean_ms": statistics.fmean(s) * 1000,
    }


def keepalive(count):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        get(conn)
        out.append(time.perf_counter() - t0)
    conn.close()
    return out


def fresh(count):
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        get(conn)
        conn.close()
        out.append(time.perf_counter() - t0)
    return out


keepalive(20)
fresh(20)
print(json.dumps({"keepalive": summary(keepalive(n)), "fresh_connection": summary(fresh(n))}))
