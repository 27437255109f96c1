#!/usr/bin/env bash
# crossrole benchmark suite.
#
#   bench/run.sh [--quick] [--cold-build] [--skip-peers] [--keep] [--only LIST]
#
#   --quick       few runs per case (CI smoke / validation of the suite); the
#                 report goes to bench/results/raw/quick/latest.md
#   --cold-build  also time a from-scratch release build of the whole
#                 dependency tree (separate CARGO_TARGET_DIR; takes minutes)
#   --skip-peers  skip case 5 (pip install of awsume into a private venv)
#   --keep        keep the temp world (HOME, keyrings, logs) for inspection
#   --only LIST   run only these cases (comma-separated numbers, e.g. 1,4;
#                 case 7, MFA, runs only when asked: --only 7)
#
# BENCH_HOOK, if set, is run with bash inside the world (daemons up, setup
# done; TMP BIN AWS PY MOTO_URL PROXY_URL ROLE_ARN NATIVE_CREDS BENCH_DIR set)
# before the cases: a way to poke at the world (e.g. with --only 0).
#
# Needs what `./install.sh --test` installs (hyperfine, moto_server, the AWS
# CLI, python3 + boto3, keyutils, dbus, gnome-keyring, secret-tool) and GNU
# time (`apt-get install time`; without it peak RSS is read through python's
# resource module instead).
#
# Everything runs in a private world made here and removed on exit: a temp
# HOME with its own AWS files, a private XDG_RUNTIME_DIR, a fresh anonymous
# kernel session keyring (`keyctl session -`), a private dbus-daemon with its
# own gnome-keyring, and moto_server on a free loopback port. The real ~/.aws,
# the user's keyrings and the user's session bus are never used.
#
# Results: hyperfine JSON / Markdown exports in bench/results/raw/<full|quick>/
# (gitignored), and the report bench/results/latest.md (full runs), written
# by bench/report.py from those exports.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
SELF="$BENCH_DIR/run.sh"
REAL_HOME="$HOME"

QUICK=0
COLD_BUILD=0
SKIP_PEERS=0
KEEP=0
ONLY=1,2,3,4,5,6,8,9
args=("$@")
for ((ai = 0; ai < ${#args[@]}; ai++)); do
  arg=${args[$ai]}
  case "$arg" in
    --only) ai=$((ai + 1)); ONLY=${args[$ai]:-} ;;
    --only=*) ONLY=${arg#--only=} ;;
    --quick) QUICK=1 ;;
    --cold-build) COLD_BUILD=1 ;;
    --skip-peers) SKIP_PEERS=1 ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,31p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
# Single-quotes a word for hyperfine's command lines (split like a shell's,
# with or without -N), so paths with spaces survive.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# --- 0. a private kernel session keyring ------------------------------------
# Kernel keys belong to the session keyring a process inherits: re-exec this
# script once inside a new anonymous one, so nothing lands in the caller's.
if [ "${CROSSROLE_BENCH_KEYRING:-}" != "private" ]; then
  command -v keyctl >/dev/null 2>&1 || die "keyctl not found: apt-get install keyutils (or ./install.sh --test)"
  export CROSSROLE_BENCH_KEYRING=private
  exec keyctl session - bash "$SELF" "$@"
fi
keyctl show @s >/dev/null 2>&1 || die "the kernel refuses keyctl here (seccomp?): the kernel keyring cases cannot run"

START_EPOCH=$(date +%s)
MODE=full
[ "$ONLY" = 1,2,3,4,5,6,8,9 ] || MODE=partial
[ "$QUICK" = 1 ] && MODE=quick
RESULTS="$BENCH_DIR/results"
RAW="$RESULTS/raw/$MODE"
if [ "$MODE" = full ]; then REPORT="$RESULTS/latest.md"; else REPORT="$RAW/latest.md"; fi
rm -rf "$RAW"
mkdir -p "$RAW"
VALUES="$RAW/values.tsv"
: >"$VALUES"
LOG="$RAW/run.log"
: >"$LOG"

# key<TAB>value facts for report.py (cases run in subshells: append only).
val() { printf '%s\t%s\n' "$1" "${*:2}" | tr -d '\r' >>"$VALUES"; }
val mode "$MODE"
val started "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
val loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# Run counts per kind of case: K rounds of W warmup + R timed runs per command.
if [ "$QUICK" = 1 ]; then
  K_FAST=2 W_FAST=2 R_FAST=10
  K_COLD=2 W_COLD=1 R_COLD=3
  K_BURST=1 W_BURST=1 R_BURST=3
  K_CLI=2 W_CLI=1 R_CLI=2
  BOTOCORE_ROUNDS=20
  RSS_REPS=2 BURST_CHECKS=1
  SERVER_FETCHES=200
else
  K_FAST=5 W_FAST=5 R_FAST=40   # 200 runs per command
  K_COLD=5 W_COLD=2 R_COLD=10   # 50
  K_BURST=4 W_BURST=1 R_BURST=5 # 20
  K_CLI=10 W_CLI=1 R_CLI=6      # 60
  BOTOCORE_ROUNDS=300
  RSS_REPS=5 BURST_CHECKS=3
  SERVER_FETCHES=2000
fi
BURST_N=50

# --- 1. tools ---------------------------------------------------------------
# Resolve every tool to a real path now: HOME changes below, and pyenv shims
# need the real HOME (and add their own start-up time to every call).
resolve() {
  local p=""
  if command -v pyenv >/dev/null 2>&1; then p=$(pyenv which "$1" 2>/dev/null || true); fi
  [ -n "$p" ] || p=$(command -v "$1" 2>/dev/null || true)
  printf '%s' "$p"
}
missing=()
for t in cargo hyperfine python3 keyctl dbus-daemon dbus-send gnome-keyring-daemon secret-tool moto_server aws; do
  [ -n "$(resolve "$t")" ] || missing+=("$t")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (run ./install.sh --test first)"
PY=$(resolve python3)
PY=$("$PY" -c 'import sys; print(sys.executable)')
MOTO=$(resolve moto_server)
AWS=$(resolve aws)
HYPERFINE=$(resolve hyperfine)
SECRET_TOOL=$(resolve secret-tool)
"$PY" -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (run ./install.sh --test first)"
GNU_TIME=""
if [ -z "${BENCH_NO_GNU_TIME:-}" ] && [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then # BENCH_NO_GNU_TIME=1 tests the fallback
  GNU_TIME=/usr/bin/time
else
  say "note: GNU time (/usr/bin/time) is missing: install it with 'apt-get install time'; measuring peak RSS with python's resource module instead (an upper bound: it includes the forked Python's pages)"
fi
CURL=$(command -v curl 2>/dev/null || true)
# Python's user site (pip install --user) is found through HOME: keep it.
export PYTHONUSERBASE="${PYTHONUSERBASE:-$("$PY" -m site --user-base 2>/dev/null || echo "$HOME/.local")}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}"

# --- 2. machine facts and the build -----------------------------------------
val nproc "$(nproc)"
val cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
val mem "$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
val kernel "$(uname -sr)"
val rustc "$(rustc -V 2>/dev/null || echo unknown)"
val hyperfine "$("$HYPERFINE" --version)"
val awscli "$("$AWS" --version 2>&1 | head -1)"
val moto "$("$PY" -c 'import moto; print(moto.__version__)' 2>/dev/null || echo unknown)"
val commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
val dirty "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock build.rs 2>/dev/null | wc -l)"

say "building: cargo build --release --locked --bins --example burst (incremental, not timed)"
(cd "$ROOT" && cargo build --release --locked --bins --example burst) >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; die "cargo build --release --locked failed (log: $LOG)"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/crossrole-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[$i]}" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  keyctl clear @s >/dev/null 2>&1 # our private anonymous session keyring only
  if [ "$KEEP" = 1 ]; then
    say "kept the temp world in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A frozen copy: others may rebuild target/release while this runs, and the
# profiles written by setup point at the binary that ran setup.
mkdir -p "$TMP/bin"
cp "$ROOT/target/release/crossrole" "$TMP/bin/crossrole"
cp "$ROOT/target/release/examples/burst" "$TMP/bin/burst"
BIN="$TMP/bin/crossrole"
BURST="$TMP/bin/burst"
export CROSSROLE_BIN="$BIN"
val binary_sha256 "$(sha256sum "$BIN" | cut -c1-16)"
val binary_version "$("$BIN" --version 2>&1 | head -1)"
val binary_size "$(stat -c %s "$ROOT/target/release/crossrole")"
# provision / deprovision's companion (aws-config, IAM, S3), never on the credential path.
[ -f "$ROOT/target/release/crossrole-admin" ] && val admin_binary_size "$(stat -c %s "$ROOT/target/release/crossrole-admin")"
if command -v file >/dev/null 2>&1 && file "$BIN" | grep -q 'not stripped'; then
  strip -o "$TMP/crossrole.stripped" "$BIN"
  val binary_size_stripped "$(stat -c %s "$TMP/crossrole.stripped")"
  val binary_stripped_by_profile no
else
  val binary_size_stripped "$(stat -c %s "$BIN")"
  val binary_stripped_by_profile yes
fi

# --- 3. the private world ---------------------------------------------------
say "private world in $TMP"
export HOME="$TMP/home"
mkdir -p "$HOME/.aws" "$TMP/run" "$TMP/data" "$TMP/cache" "$TMP/tmp"
chmod 700 "$TMP" "$TMP/run" "$TMP/data" "$HOME"
export AWS_CONFIG_FILE="$HOME/.aws/config"
export AWS_SHARED_CREDENTIALS_FILE="$HOME/.aws/credentials"
export XDG_RUNTIME_DIR="$TMP/run"
export XDG_DATA_HOME="$TMP/data"
export XDG_CACHE_HOME="$TMP/cache"
export XDG_CONFIG_HOME="$HOME/.config"
export TMPDIR="$TMP/tmp"
export USER=bench LANG=C.UTF-8
export AWS_EC2_METADATA_DISABLED=true
export CROSSROLE_KEYUTILS_KEYRING=session # never link into the persistent keyring
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
  AWS_SECURITY_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS \
  AWS_CA_BUNDLE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_STS_REGIONAL_ENDPOINTS \
  CROSSROLE_BACKEND CROSSROLE_SESSION_CACHE DBUS_SESSION_BUS_ADDRESS \
  HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy || true
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

wait_until() { # seconds, description, command...
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not come up within ${limit}s"
    sleep 0.1
  done
}
port_open() { "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Private D-Bus session bus (no service activation) + gnome-keyring on it.
cat >"$TMP/session-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$TMP/run/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$TMP/session-bus.conf" --nofork --print-address=1 >"$TMP/bus.address" 2>>"$LOG" </dev/null &
PIDS+=($!)
wait_until 10 "dbus-daemon" test -s "$TMP/bus.address"
export DBUS_SESSION_BUS_ADDRESS="$(head -1 "$TMP/bus.address")"
KEYRING_PASSWORD=bench-password
printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets --foreground >/dev/null 2>>"$LOG" &
PIDS+=($!)
secrets_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}
wait_until 15 "gnome-keyring (org.freedesktop.secrets)" secrets_owned
say "private D-Bus + gnome-keyring up"

# moto_server on a free loopback port, and the counting proxy in front of it.
MOTO_PORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >>"$TMP/moto.log" 2>&1 </dev/null &
PIDS+=($!)
wait_until 30 "moto_server" port_open "$MOTO_PORT"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"
COUNTS="$TMP/counts.json"
"$PY" "$BENCH_DIR/count_proxy.py" "$MOTO_PORT" "$COUNTS" --port-file "$TMP/proxy.port" 2>>"$LOG" </dev/null &
PIDS+=($!)
wait_until 10 "count_proxy.py" test -s "$TMP/proxy.port"
PROXY_URL="http://127.0.0.1:$(cat "$TMP/proxy.port")"
assume_count() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["AssumeRole"])' "$COUNTS"; }
say "moto_server at $MOTO_URL, counting proxy at $PROXY_URL"

# The two-account tutorial, IAM enforcement on (as a user's real IAM).
"$PY" "$ROOT/tests/fixtures/tutorial.py" "$MOTO_URL" >"$TMP/tutorial.json" 2>>"$LOG" || die "tests/fixtures/tutorial.py failed (log: $LOG)"
tut() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/tutorial.json" "$1"; }
ROLE_ARN=$(tut role_arn)
GREEN_KEY_ID=$(tut access_key_id)
GREEN_SECRET=$(tut secret_access_key)
export AWS_ENDPOINT_URL="$MOTO_URL"

# `aws configure --profile green` as the user would have done, then setup.
umask 077
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<EOF
[green]
aws_access_key_id = $GREEN_KEY_ID
aws_secret_access_key = $GREEN_SECRET
EOF
say "crossrole setup --import-credentials (Secret Service)"
CROSSROLE_BACKEND=secret-service "$BIN" setup --import-credentials --role-arn "$ROLE_ARN" --region eu-west-1 \
  >>"$LOG" 2>&1 </dev/null || { tail -20 "$LOG" >&2; die "crossrole setup failed (log: $LOG)"; }
if grep -qF "$GREEN_SECRET" "$AWS_SHARED_CREDENTIALS_FILE" 2>/dev/null; then
  die "setup left the plaintext secret in the credentials file"
fi

# The same key also in the kernel keyring, for the keyutils-only variant.
HAVE_KEYUTILS_KEY=0
if AWS_ACCESS_KEY_ID="$GREEN_KEY_ID" AWS_SECRET_ACCESS_KEY="$GREEN_SECRET" CROSSROLE_BACKEND=keyutils \
  "$BIN" setup --keys-from-env --role-arn "$ROLE_ARN" --region eu-west-1 --no-verify >>"$LOG" 2>&1 </dev/null; then
  HAVE_KEYUTILS_KEY=1
else
  val keyutils_setup_error "$(tail -1 "$LOG")"
  say "note: storing the key in the kernel keyring failed; the keyutils-only variant is skipped"
fi

# Storage variants, as environment settings.
#   kernel : key in the Secret Service, sessions in the kernel keyring (Linux default)
#   ss     : Secret Service only (CROSSROLE_SESSION_CACHE=keyring)
#   keyutils: key and sessions in the kernel keyring (CROSSROLE_BACKEND=keyutils)
use_variant() {
  case "$1" in
    kernel) export CROSSROLE_BACKEND=secret-service; unset CROSSROLE_SESSION_CACHE ;;
    ss) export CROSSROLE_BACKEND=secret-service CROSSROLE_SESSION_CACHE=keyring ;;
    keyutils) export CROSSROLE_BACKEND=keyutils; unset CROSSROLE_SESSION_CACHE ;;
  esac
}

# A credential_process document to `cat` (same size as the real answer).
(use_variant kernel && "$BIN" credential-process blue >"$TMP/creds.json" 2>>"$LOG") || die "crossrole credential-process blue failed: $(tail -3 "$LOG")"
grep -q '"SessionToken"' "$TMP/creds.json" || die "credential-process blue printed no session"

NATIVE_CREDS="$TMP/native-credentials"
# For cases 4 and 5. The CLI's own assume-role: a profile with role_arn +
# source_profile whose plaintext keys are in a separate credentials file
# (AWS_SHARED_CREDENTIALS_FILE points there in those cases only).
cat >"$NATIVE_CREDS" <<EOF
[native-src]
aws_access_key_id = $GREEN_KEY_ID
aws_secret_access_key = $GREEN_SECRET
EOF
cat >>"$AWS_CONFIG_FILE" <<EOF

[profile native]
role_arn = $ROLE_ARN
source_profile = native-src
region = eu-west-1
output = json

[profile native-src]
region = eu-west-1
output = json
EOF
# Static session credentials in the environment (the same session).
"$PY" - "$TMP/creds.json" >"$TMP/static.env" <<'EOF'
import json, shlex, sys
d = json.load(open(sys.argv[1]))
for k, v in (("AWS_ACCESS_KEY_ID", d["AccessKeyId"]), ("AWS_SECRET_ACCESS_KEY", d["SecretAccessKey"]),
           ("AWS_SESSION_TOKEN", d["SessionToken"]), ("AWS_DEFAULT_REGION", "eu-west-1")):
  print(f"export {k}={shlex.quote(v)}")
EOF
# The same session as static keys of a profile (in the case-4 credentials
# file): separates botocore's profile resolution from credential_process.
"$PY" - "$TMP/creds.json" >>"$NATIVE_CREDS" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"\n[static-session]\naws_access_key_id = {d['AccessKeyId']}\naws_secret_access_key = {d['SecretAccessKey']}\n"
      f"aws_session_token = {d['SessionToken']}")
EOF
printf '\n[profile static-session]\nregion = eu-west-1\noutput = json\n' >>"$AWS_CONFIG_FILE"
# The same session through credential_process = cat: botocore's own cost of
# running a credential_process, without crossrole.
printf '\n[profile cat-process]\ncredential_process = "%s" "%s"\nregion = eu-west-1\noutput = json\n' \
  "$(command -v cat)" "$TMP/creds.json" >>"$AWS_CONFIG_FILE"

# The floor of a cold call: one SigV4-signed AssumeRole to moto with curl
# (curl >= 7.75), no crossrole. The key goes in a curl config file, not argv.
CURL_FLOOR=""
if [ -n "$CURL" ] && "$CURL" --help all 2>/dev/null | grep -q -- --aws-sigv4; then
  printf 'user = "%s:%s"\n' "$GREEN_KEY_ID" "$GREEN_SECRET" >"$TMP/curlrc"
  # URL-encoded, as an SDK sends it (moto checks the signature over the re-encoded form).
  enc_arn=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$ROLE_ARN")
  body="Action=AssumeRole&Version=2011-06-15&RoleArn=$enc_arn&RoleSessionName=bench-curl"
  if "$CURL" -sS -K "$TMP/curlrc" --aws-sigv4 "aws:amz:eu-west-1:sts" -d "$body" "$MOTO_URL/" >"$TMP/curl.out" 2>&1 &&
    grep -q SessionToken "$TMP/curl.out"; then
    CURL_FLOOR="$(q "$CURL") -sf -o /dev/null -K $(q "$TMP/curlrc") --aws-sigv4 aws:amz:eu-west-1:sts -d $(q "$body") $MOTO_URL/"
  else
    val curl_note "a SigV4-signed AssumeRole with curl failed against moto ($(head -c 200 "$TMP/curl.out" | tr '\n' ' ')): floor row left out"
  fi
else
  val curl_note "curl with --aws-sigv4 (>= 7.75) not found: floor row left out"
fi

# --- 4. how to empty the session cache (hyperfine --prepare) ----------------
# Prefer `crossrole clear blue`; where it fails (e.g. not implemented yet) or
# leaves the session cached, remove the session entries directly. Each method
# is checked through the counting proxy: after it, one call makes exactly one
# AssumeRole, and the next call none.
clear_works() { # variant method
  (
    use_variant "$1"
    export BENCH_CLEAR_METHOD=$2 AWS_ENDPOINT_URL="$PROXY_URL"
    "$BIN" credential-process blue >/dev/null 2>>"$LOG" || exit 1
    bash "$BENCH_DIR/clear_sessions.sh" blue >>"$LOG" 2>&1 || exit 1
    before=$(assume_count)
    "$BIN" credential-process blue >/dev/null 2>>"$LOG" || exit 1
    mid=$(assume_count)
    "$BIN" credential-process blue >/dev/null 2>>"$LOG" || exit 1
    after=$(assume_count)
    [ "$mid" -eq $((before + 1)) ] && [ "$after" -eq "$mid" ]
  )
}
pick_clear_method() { # variant -> prints the method, or nothing
  local variant=$1 direct=keyctl out
  [ "$variant" = ss ] && direct=secret-tool
  if out=$(use_variant "$variant" && "$BIN" clear blue 2>&1 </dev/null); then
    if clear_works "$variant" crossrole; then
      echo crossrole
      return
    fi
    val "clear_note_$variant" "\`crossrole clear blue\` exited 0 but the session stayed cached; used $direct instead"
  else
    val "clear_note_$variant" "\`crossrole clear blue\` failed ($(printf '%s' "$out" | head -1)); used $direct instead"
  fi
  if clear_works "$variant" "$direct"; then echo "$direct"; fi
}
declare -A CLEAR
VARIANTS=(kernel ss)
[ "$HAVE_KEYUTILS_KEY" = 1 ] && VARIANTS+=(keyutils)
for v in "${VARIANTS[@]}"; do
  CLEAR[$v]=$(pick_clear_method "$v")
  val "clear_method_$v" "${CLEAR[$v]:-none}"
  say "cache clearing for variant $v: ${CLEAR[$v]:-NONE WORKS (cold cases skipped)}"
done

# --- 5. the cases -----------------------------------------------------------
# hf NAME ROUNDS WARMUP RUNS hyperfine-args...
# Runs the same hyperfine invocation ROUNDS times (WARMUP + RUNS each; each
# round exported to raw/NAME.rN.json and .md) and merges the rounds into
# raw/NAME.json. Hyperfine runs all runs of one command before the next; a
# few rounds spread every command over the whole period, so a change in the
# machine's load (other builds) hits all commands of a table alike.
hf() {
  local name=$1 rounds=$2 warmup=$3 runs=$4 r parts=()
  shift 4
  say "hyperfine: $name ($rounds rounds of $warmup warmup + $runs runs per command)"
  for ((r = 1; r <= rounds; r++)); do
    printf '\n=== %s round %s\n' "$name" "$r" >>"$LOG"
    timeout 1800 "$HYPERFINE" --style basic --output=pipe --warmup "$warmup" --runs "$runs" \
      --export-json "$RAW/$name.r$r.json" --export-markdown "$RAW/$name.r$r.md" "$@" >>"$LOG" 2>&1 ||
      { tail -15 "$LOG" >&2; return 1; }
    parts+=("$RAW/$name.r$r.json")
  done
  "$PY" -B "$BENCH_DIR/report.py" merge "$RAW/$name.json" "${parts[@]}" >&2
}
run_case() { # id, function: runs it in a subshell under set -e; a failure is recorded, not fatal
  local id=$1 rc
  shift
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    val "failed_$id" "exit $rc; see $LOG"
    say "case $id FAILED (exit $rc); continuing"
  fi
}

CAT=$(command -v cat)
# preflight ID command...: runs it once; on failure records its first error
# line for the report (hyperfine itself only says "non-zero exit code").
preflight() {
  local id=$1 err
  shift
  if ! err=$("$@" 2>&1 >/dev/null </dev/null); then
    val "error_$id" "$(printf '%s' "$err" | grep -v '^\s*$' | head -1)"
    return 1
  fi
}

case1() { # warm helper vs --version vs cat [vs one libsecret lookup]
  local v=$1
  use_variant "$v"
  preflight "case1-warm-$v" "$BIN" credential-process blue # also warms the cache
  local extra=()
  if [ "$v" = ss ]; then
    # What "one Secret Service lookup" costs the reference client, libsecret.
    preflight "case1-secret-tool" "$SECRET_TOOL" lookup service crossrole username key:green
    extra=(-n "secret-tool lookup (libsecret: one Secret Service lookup)" "$(q "$SECRET_TOOL") lookup service crossrole username key:green")
  fi
  hf "case1-warm-$v" "$K_FAST" "$W_FAST" "$R_FAST" -N \
    -n "crossrole credential-process blue (warm)" "$(q "$BIN") credential-process blue" \
    -n "crossrole --version" "$(q "$BIN") --version" \
    -n "cat creds.json" "$(q "$CAT") $(q "$TMP/creds.json")" \
    "${extra[@]}"
}

case2() { # cold helper (empty cache each run) vs --version vs cat [vs a raw signed AssumeRole]
  local v=$1
  use_variant "$v"
  [ -n "${CLEAR[$v]:-}" ] || { val "skipped_case2-cold-$v" "no working way to empty the cache"; return 0; }
  export BENCH_CLEAR_METHOD="${CLEAR[$v]}"
  bash "$BENCH_DIR/clear_sessions.sh" blue
  preflight "case2-cold-$v" "$BIN" credential-process blue
  local extra=()
  if [ "$v" = kernel ] && [ -n "$CURL_FLOOR" ]; then
    extra=(-n "curl: one signed AssumeRole (moto's own latency)" "$CURL_FLOOR")
  fi
  hf "case2-cold-$v" "$K_COLD" "$W_COLD" "$R_COLD" -N \
    --prepare "bash $(q "$BENCH_DIR/clear_sessions.sh") blue" \
    -n "crossrole credential-process blue (cold)" "$(q "$BIN") credential-process blue" \
    -n "crossrole --version" "$(q "$BIN") --version" \
    -n "cat creds.json" "$(q "$CAT") $(q "$TMP/creds.json")" \
    "${extra[@]}"
}

case3() { # burst of 50 concurrent cold calls, through the counting proxy
  use_variant kernel
  [ -n "${CLEAR[kernel]:-}" ] || { val "skipped_case3-burst" "no working way to empty the cache"; return 0; }
  export BENCH_CLEAR_METHOD="${CLEAR[kernel]}" AWS_ENDPOINT_URL="$PROXY_URL"
  local i before after counts=()
  # Exact AssumeRole count per burst, outside hyperfine.
  for ((i = 0; i < BURST_CHECKS; i++)); do
    bash "$BENCH_DIR/clear_sessions.sh" blue
    before=$(assume_count)
    "$BURST" "$BURST_N" blue
    after=$(assume_count)
    counts+=($((after - before)))
  done
  val burst_n "$BURST_N"
  val burst_assume_counts "${counts[*]}"
  say "AssumeRole calls per burst of $BURST_N: ${counts[*]}"
  before=$(assume_count)
  hf "case3-burst" "$K_BURST" "$W_BURST" "$R_BURST" -N \
    --prepare "bash $(q "$BENCH_DIR/clear_sessions.sh") blue" \
    --prepare "bash $(q "$BENCH_DIR/clear_sessions.sh") blue" \
    --prepare "$(q "$BIN") credential-process blue" \
    --prepare true \
    -n "burst 1 (single cold call)" "$(q "$BURST") 1 blue" \
    -n "burst $BURST_N ($BURST_N concurrent cold calls)" "$(q "$BURST") $BURST_N blue" \
    -n "burst $BURST_N warm ($BURST_N concurrent calls, cache warm: process start-up only)" "$(q "$BURST") $BURST_N blue" \
    -n "burst 0 (the launcher alone: its fixed overhead)" "$(q "$BURST") 0 blue"
  after=$(assume_count)
  val burst_hyperfine_assume_total "$((after - before))"
  val burst_hyperfine_bursts "$((2 * K_BURST * (W_BURST + R_BURST)))"
}

case4() { # through the AWS CLI
  use_variant kernel
  export AWS_SHARED_CREDENTIALS_FILE="$NATIVE_CREDS"
  local arn
  for p in blue native static-session cat-process; do
    arn=$("$AWS" --profile "$p" sts get-caller-identity --query Arn --output text)
    [[ "$arn" == *assumed-role/* ]] || { echo "aws --profile $p: unexpected identity $arn" >&2; return 1; }
  done
  arn=$(. "$TMP/static.env" && "$AWS" sts get-caller-identity --query Arn --output text)
  [[ "$arn" == *assumed-role/* ]] || { echo "static env: unexpected identity $arn" >&2; return 1; }
  [ -n "$(ls -A "$HOME/.aws/cli/cache" 2>/dev/null)" ] && val cli_cache_warm yes || val cli_cache_warm no
  # Shell mode (hyperfine subtracts the shell's own start-up) so that the
  # static variant can source its variables; the same shell for all three.
  hf "case4-awscli" "$K_CLI" "$W_CLI" "$R_CLI" \
    -n "aws --profile blue (crossrole, warm cache)" "$(q "$AWS") --profile blue sts get-caller-identity" \
    -n "aws with static session credentials in env" ". $(q "$TMP/static.env"); $(q "$AWS") sts get-caller-identity" \
    -n "aws --profile native (CLI's own assume-role, warm ~/.aws/cli/cache)" "$(q "$AWS") --profile native sts get-caller-identity" \
    -n "aws --profile static-session (the same session as static keys in the credentials file)" "$(q "$AWS") --profile static-session sts get-caller-identity" \
    -n "aws --profile cat-process (the same session from credential_process = cat creds.json)" "$(q "$AWS") --profile cat-process sts get-caller-identity"
  # The step that differs, timed inside one Python process (no start-up noise).
  say "botocore credential resolution in-process ($BOTOCORE_ROUNDS interleaved rounds)"
  "$PY" -B "$BENCH_DIR/botocore_creds.py" "$BOTOCORE_ROUNDS" "$TMP/static.env" \
    blue native static-session cat-process >"$RAW/case4-botocore.json"
}

case5() { # peers
  val peer_aws_vault "not available: not on the package registries reachable here (GitHub release binaries only)"
  val peer_granted "not available: not on the package registries reachable here (GitHub release binaries only)"
  if [ "$SKIP_PEERS" = 1 ]; then
    val peer_awsume "not measured: --skip-peers"
    return 0
  fi
  use_variant kernel
  export AWS_SHARED_CREDENTIALS_FILE="$NATIVE_CREDS"
  local venv="$TMP/venv" out
  say "pip install awsume into a private venv"
  if ! "$PY" -m venv "$venv" >>"$LOG" 2>&1; then
    val peer_awsume "not available: python3 -m venv failed"
    return 0
  fi
  if ! out=$(timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check awsume 2>&1); then
    val peer_awsume "not available: pip install awsume failed: $(printf '%s' "$out" | grep -v '^\s*$' | tail -1)"
    return 0
  fi
  val peer_awsume_version "$("$venv/bin/pip" show awsume 2>/dev/null | sed -n 's/^Version: //p')"
  local awsume="$venv/bin/awsumepy"
  [ -x "$awsume" ] || { val peer_awsume "not available: awsumepy not found in the venv"; return 0; }
  # awsume's shell wrapper runs `awsumepy PROFILE` and reads one stdout line
  # `Awsume KEY SECRET TOKEN REGION PROFILE EXPIRY`: measure awsumepy itself.
  # native: awsume's own AssumeRole, its ~/.awsume/cache warm after one call.
  # blue: crossrole's profile. awsume 4.5 runs credential_process with
  # str.split() (no shell quoting), so the double-quoted binary path crossrole
  # writes fails there; `blue-unquoted` is the same command without quotes.
  cat >>"$AWS_CONFIG_FILE" <<EOF

[profile blue-unquoted]
credential_process = $BIN credential-process blue
region = eu-west-1
EOF
  local rows=() p
  for p in native blue blue-unquoted; do
    if out=$("$awsume" "$p" 2>>"$LOG" </dev/null) && [[ "$out" == "Awsume "*ASIA* ]]; then
      case "$p" in
        native) rows+=(-n "awsumepy native (awsume's own assume-role, warm ~/.awsume/cache)" "$(q "$awsume") native") ;;
        blue-unquoted) rows+=(-n "awsumepy blue-unquoted (crossrole credential_process via awsume)" "$(q "$awsume") blue-unquoted") ;;
        *) rows+=(-n "awsumepy $p" "$(q "$awsume") $p") ;;
      esac
    else
      val "peer_awsume_$p" "\`awsumepy $p\` printed no credentials: $(grep -v '^\s*$' "$LOG" | tail -1)"
    fi
  done
  ((${#rows[@]})) || { val peer_awsume "not available: awsumepy printed no credentials (see $LOG)"; return 0; }
  local export_row=()
  if "$BIN" export blue >/dev/null 2>&1 </dev/null; then
    export_row=(-n "crossrole export blue (warm)" "$(q "$BIN") export blue")
  else
    val crossrole_export_note "crossrole export blue failed ($("$BIN" export blue 2>&1 </dev/null | head -1)): row left out"
  fi
  hf "case5-peers" "$K_CLI" "$W_CLI" "$R_CLI" -N \
    -n "crossrole credential-process blue (warm)" "$(q "$BIN") credential-process blue" \
    "${export_row[@]}" "${rows[@]}"
  val peer_awsume ok
}

case8() { # the file backend (headless): warm with keys.age unlocked; first call after the unlock expired
  use_variant kernel
  export CROSSROLE_BACKEND=file XDG_DATA_HOME="$TMP/data-file" CROSSROLE_FILE_PASSPHRASE="bench passphrase"
  mkdir -p "$XDG_DATA_HOME"
  chmod 700 "$XDG_DATA_HOME"
  # Green's key in keys.age under a key profile of its own: a key profile is
  # served from the long-term store on every call (no session in between).
  printf '%s\n' "$GREEN_SECRET" | "$BIN" setup --source-profile headless --target-profile headless-role \
    --role-arn "$ROLE_ARN" --region eu-west-1 --access-key-id "$GREEN_KEY_ID" --no-verify >>"$LOG" 2>&1
  preflight case8-file-warm "$BIN" credential-process headless
  hf "case8-file-warm" "$K_FAST" "$W_FAST" "$R_FAST" -N \
    -n "crossrole credential-process headless (file backend, unlocked)" "$(q "$BIN") credential-process headless" \
    -n "crossrole --version" "$(q "$BIN") --version"
  # Dropping the cached unlock is what its expiry does.
  hf "case8-file-expired" "$K_COLD" "$W_COLD" "$R_COLD" -N \
    --prepare "keyctl purge -p user crossrole:file-unlock:" \
    -n "crossrole credential-process headless (file backend, unlock expired, passphrase from env)" \
    "$(q "$BIN") credential-process headless"
  keyctl purge -p user crossrole:file-unlock: >/dev/null 2>&1 || true
  val rss_file_expired "$(peak_rss_kb "$BIN" credential-process headless)"
}

peak_rss_kb() { # command... -> KiB
  if [ -n "$GNU_TIME" ]; then
    "$GNU_TIME" -f %M -o "$TMP/rss" "$@" >/dev/null 2>>"$LOG" </dev/null
    tail -1 "$TMP/rss"
  else
    "$PY" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r.returncode)' "$@"
  fi
}

case6() { # size and memory
  local i what v
  val rss_tool "${GNU_TIME:-python resource.getrusage(RUSAGE_CHILDREN)}"
  for what in warm-kernel warm-ss cold-kernel version cat true; do
    local samples=()
    for ((i = 0; i < RSS_REPS; i++)); do
      case "$what" in
        warm-kernel) (use_variant kernel && "$BIN" credential-process blue >/dev/null) && samples+=("$(use_variant kernel && peak_rss_kb "$BIN" credential-process blue)") ;;
        warm-ss) (use_variant ss && "$BIN" credential-process blue >/dev/null) && samples+=("$(use_variant ss && peak_rss_kb "$BIN" credential-process blue)") ;;
        cold-kernel)
          [ -n "${CLEAR[kernel]:-}" ] || break
          (use_variant kernel && BENCH_CLEAR_METHOD="${CLEAR[kernel]}" bash "$BENCH_DIR/clear_sessions.sh" blue)
          samples+=("$(use_variant kernel && peak_rss_kb "$BIN" credential-process blue)")
          ;;
        version) samples+=("$(peak_rss_kb "$BIN" --version)") ;;
        cat) samples+=("$(peak_rss_kb "$CAT" "$TMP/creds.json")") ;;
        true) samples+=("$(peak_rss_kb "$(command -v true)")") ;;
      esac
    done
    val "rss_$what" "${samples[*]}"
  done
}

# Turns moto's IAM enforcement on (0) or off (inf).
moto_auth() {
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset-auth", data=sys.argv[2].encode(), headers={"Content-Type": "text/plain"}, method="POST")).read()' "$MOTO_URL" "$1"
}

case7() { # cold role session signed with a cached MFA session vs today's cold case
  use_variant kernel
  [ -n "${CLEAR[kernel]:-}" ] || { val "skipped_case7-mfa-cold" "no working way to empty the cache"; return 0; }
  export BENCH_CLEAR_METHOD="${CLEAR[kernel]}"
  # bluemfa: the same role, with an MFA serial; its code comes from a program.
  printf '#!/bin/sh\necho 123456\n' >"$TMP/mfa-code"
  chmod 700 "$TMP/mfa-code"
  "$BIN" setup --target-profile bluemfa --role-arn "$ROLE_ARN" --region eu-west-1 --no-verify \
    --mfa-serial arn:aws:iam::111111111111:mfa/bench --mfa-process "$TMP/mfa-code" >>"$LOG" 2>&1 </dev/null
  printf '#!/bin/sh\nbash %s blue && bash %s bluemfa\n' "$(q "$BENCH_DIR/clear_sessions.sh")" "$(q "$BENCH_DIR/clear_sessions.sh")" >"$TMP/clear-both"
  # moto rejects its own GetSessionToken keys under IAM enforcement: both
  # commands run without it, so the comparison stays fair.
  moto_auth inf
  trap 'moto_auth 0' EXIT
  bash "$TMP/clear-both"
  preflight "case7-mfa-cold" "$BIN" credential-process bluemfa # gets and caches the MFA session
  hf "case7-mfa-cold" "$K_COLD" "$W_COLD" "$R_COLD" -N \
    --prepare "bash $(q "$TMP/clear-both")" \
    -n "crossrole credential-process blue (cold)" "$(q "$BIN") credential-process blue" \
    -n "crossrole credential-process bluemfa (cold, from the cached MFA session)" "$(q "$BIN") credential-process bluemfa"
}

case9() { # one credential fetch from `exec --server`'s endpoint (loopback HTTP, warm cache)
  use_variant kernel
  preflight "case9-server" "$BIN" credential-process blue # warms the cache
  "$BIN" exec --server blue -- "$PY" -B "$BENCH_DIR/server_fetch.py" "$SERVER_FETCHES" >"$RAW/case9-server.json"
  local keep fresh
  local pick='import json, sys; d = json.load(open(sys.argv[1]))[sys.argv[2]]; print("%.3f %.3f" % (d["median_ms"], d["p90_ms"]))'
  keep=$("$PY" -c "$pick" "$RAW/case9-server.json" keepalive)
  fresh=$("$PY" -c "$pick" "$RAW/case9-server.json" fresh_connection)
  val server_fetches "$SERVER_FETCHES"
  val server_keepalive_median_p90_ms "$keep"
  val server_fresh_median_p90_ms "$fresh"
  say "exec --server fetch, median/p90 ms: kept-alive $keep; new connection $fresh"
}

if [ -n "${BENCH_HOOK:-}" ]; then
  say "running BENCH_HOOK"
  TMP="$TMP" BIN="$BIN" AWS="$AWS" PY="$PY" MOTO_URL="$MOTO_URL" PROXY_URL="$PROXY_URL" ROLE_ARN="$ROLE_ARN" \
    NATIVE_CREDS="$NATIVE_CREDS" BENCH_DIR="$BENCH_DIR" bash -c "$BENCH_HOOK" || say "BENCH_HOOK exited $?"
fi
val only "$ONLY"
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }
if wanted 1; then for v in kernel ss; do run_case "case1-warm-$v" case1 "$v"; done; fi
if wanted 2; then for v in "${VARIANTS[@]}"; do run_case "case2-cold-$v" case2 "$v"; done; fi
if wanted 3; then run_case case3 case3; fi
if wanted 4; then run_case case4 case4; fi
if wanted 5; then run_case case5 case5; fi
if wanted 6; then run_case case6 case6; fi
if wanted 7; then run_case case7 case7; fi
if wanted 8; then run_case case8 case8; fi
if wanted 9; then run_case case9 case9; fi

# --- 6. optional cold build (last: it loads the machine for minutes) ---------
if [ "$COLD_BUILD" = 1 ]; then
  say "cold build: cargo build --release --locked in an empty CARGO_TARGET_DIR (takes minutes)"
  t0=$(date +%s.%N)
  # Back to the real HOME for cargo / rustup.
  if (cd "$ROOT" && HOME="$REAL_HOME" CARGO_TARGET_DIR="$TMP/cold-target" cargo build --release --locked) >>"$LOG" 2>&1; then
    t1=$(date +%s.%N)
    val cold_build_seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
  else
    val cold_build_seconds "failed (see $LOG)"
  fi
  rm -rf "$TMP/cold-target"
fi

val loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
val duration_seconds "$(($(date +%s) - START_EPOCH))"
"$PY" -B "$BENCH_DIR/report.py" "$RAW" "$REPORT"
chmod 0644 "$REPORT" # umask 077 above is for the private world, not the report
say "report: $REPORT (raw exports: $RAW)"
