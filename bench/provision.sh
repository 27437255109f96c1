#!/usr/bin/env bash
# Wall time of `crossrole provision` against a local moto_server: from two
# empty accounts (an admin in each, IAM enforcement on) to both profiles
# written and checked, and of a second run that finds everything there.
#
#   bench/provision.sh [RUNS]      (default 10; needs target/release, so
#                                   `cargo build --release` first)
#
# Each timed first run gets a fresh world (hyperfine --prepare): moto reset,
# the two admins made again, the AWS files rewritten, the keyring emptied.
# Everything lives in a temp HOME and a private anonymous kernel session
# keyring; the real ~/.aws and keyrings are never used.
set -euo pipefail

if [ -z "${CROSSROLE_BENCH_IN_SESSION:-}" ]; then
  export CROSSROLE_BENCH_IN_SESSION=1
  exec keyctl session - bash "$0" "$@"
fi

RUNS=${1:-10}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for b in crossrole crossrole-admin; do
  [ -x "$ROOT/target/release/$b" ] || { echo "bench/provision.sh: build first: cargo build --release" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/home/.aws" "$TMP/run" "$TMP/bin"
chmod 700 "$TMP/run"
cp "$ROOT/target/release/crossrole" "$ROOT/target/release/crossrole-admin" "$TMP/bin/"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -p "$PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!
export HOME="$TMP/home" AWS_CONFIG_FILE="$TMP/home/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$TMP/home/.aws/credentials"
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_EC2_METADATA_DISABLED=true
export XDG_RUNTIME_DIR="$TMP/run" CROSSROLE_BACKEND=keyutils CROSSROLE_KEYUTILS_KEYRING=session
for _ in $(seq 50); do curl -s -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" && break; sleep 0.1; done

# A fresh world: moto emptied, the admins made again, the files rewritten.
cat >"$TMP/reset.sh" <<RESET
set -e
# Enforcement off first: a reset keeps it, and the fixture makes its admins as moto's root.
curl -sf -X POST -H 'Content-Type: text/plain' --data inf "$AWS_ENDPOINT_URL/moto-api/reset-auth" >/dev/null
curl -sf -X POST "$AWS_ENDPOINT_URL/moto-api/reset" >/dev/null
python3 "$ROOT/tests/fixtures/admins.py" "$AWS_ENDPOINT_URL" >"$TMP/admins.json"
python3 - "$TMP/admins.json" <<'PY'
import json, os, sys
k = json.load(open(sys.argv[1]))
with open(os.environ["AWS_SHARED_CREDENTIALS_FILE"], "w") as f:
    for side in ("green", "blue"):
        f.write("[%s-admin]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n" % (side, k[side]["access_key_id"], k[side]["secret_access_key"]))
with open(os.environ["AWS_CONFIG_FILE"], "w") as f:
    f.write("[profile green-admin]\nregion = eu-west-1\n\n[profile blue-admin]\nregion = eu-west-1\n")
PY
chmod 600 "\$AWS_SHARED_CREDENTIALS_FILE" "\$AWS_CONFIG_FILE"
keyctl clear @s >/dev/null
RESET

CMD="$TMP/bin/crossrole provision --green-admin-profile green-admin --blue-admin-profile blue-admin --bucket the-bucket --create-bucket --yes"
echo "provision from an empty world ($RUNS runs):"
bash "$TMP/reset.sh" || { echo "bench/provision.sh: the world could not be made:" >&2; bash -x "$TMP/reset.sh" >&2; exit 1; }
hyperfine --runs "$RUNS" --prepare "bash $TMP/reset.sh" --output=null "$CMD"
echo "provision again, everything there ($RUNS runs):"
hyperfine --runs "$RUNS" --output=null "$CMD"
ls -l "$TMP/bin"
