"""Times botocore's credential resolution alone, in one Python process.

    botocore_creds.py ROUNDS STATIC_ENV_FILE PROFILE... > result.json

What differs between `aws --profile blue` (credential_process -> crossrole),
`aws --profile native` (the CLI's own assume-role, warm ~/.aws/cli/cache) and
static credentials in the environment is only this step; the rest of an AWS
CLI run (about 600 ms of Python start-up, imports and the request) is the
same for all and varies by +-100 ms from run to run, which hides a few
milliseconds. Here each resolution is timed on its own: a new botocore
session (as each `aws` command makes), its credential chain set up the way
the AWS CLI sets it up (the assume-role provider gets the CLI's JSON file
cache), then `get_credentials().get_frozen_credentials()`.

The ways are interleaved round by round, so a change in the machine's load
hits them alike. "env" is the static session credentials from
STATIC_ENV_FILE (`export K=V` lines), present in os.environ only while that
way is timed; for the profiles they are absent, as in the CLI runs.

Prints JSON: {way: {"runs", "median_ms", "min_ms", "p90_ms", "mean_ms"}}.
"""

import json
import os
import statistics
import sys
import time

import botocore.session
from botocore.credentials import JSONFileCache

CLI_CACHE = os.path.expanduser(os.path.join("~", ".aws", "cli", "cache"))


def read_env_file(path):
    pairs = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" in line:
                key, value = line.split("=", 1)
                pairs[key] = value.strip("'\"")
    return pairs


def resolve(profile):
    session = botocore.session.Session(profile=profile)
    chain = session.get_component("credential_provider")
    chain.get_provider("assume-role").cache = JSONFileCache(CLI_CACHE)
    creds = session.get_credentials()
    if creds is None:
        raise SystemExit(f"no credentials for profile {profile!r}")
    frozen = creds.get_frozen_credentials()
    if not frozen.token:
        raise SystemExit(f"profile {profile!r} gave no session token")


def time_once(way, static_env):
    if way == "env":
        os.environ.update(static_env)
        try:
            start = time.perf_counter()
            resolve(None)
            return time.perf_counter() - start
        finally:
            for key in static_env:
                os.environ.pop(key, None)
    start = time.perf_counter()
    resolve(way)
    return time.perf_counter() - start


def main():
    rounds = int(sys.argv[1])
    static_env = read_env_file(sys.argv[2])
    ways = ["env"] + sys.argv[3:]
    for key in static_env:
        os.environ.pop(key, None)
    os.environ.pop("AWS_PROFILE", None)
    samples = {way: [] for way in ways}
    for way in ways:  # warm-up: imports, the CLI cache file, the page cache
        for _ in range(3):
            time_once(way, static_env)
    for _ in range(rounds):
        for way in ways:
            samples[way].append(time_once(way, static_env) * 1000.0)
    result = {}
    for way, xs in samples.items():
        xs.sort()
        result[way] = {
            "runs": len(xs),
            "median_ms": statistics.median(xs),
            "mean_ms": statistics.fmean(xs),
            "min_ms": xs[0],
            "p90_ms": xs[int(0.9 * (len(xs) - 1))],
        }
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
