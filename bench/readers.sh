#!/usr/bin/env bash
# The long run of tests/it/awsfile_readers.rs: N generated setup cases (default
# 200,000) against the real botocore and the AWS SDK for Rust's parser.
# A failure prints its shrunk case as a JSON line: add it to
# tests/fixtures/readers_corpus.jsonl, which every normal test run replays.
#
#   bench/readers.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
start=$(date +%s)
# cargo test, not nextest: nextest's per-test timeout would end a long run.
CROSSROLE_READER_CASES="$n" cargo test --locked --test it awsfile_readers::setup_edits -- --nocapture 2>&1 |
  grep -v '^\s*$'
echo "bench/readers.sh: $n cases in $(($(date +%s) - start)) s wall (including the build)"
