#!/usr/bin/env bash
# N concurrent `crossrole credential-process PROFILE` calls; waits for all and
# fails unless every one printed a credential_process document.
#
#   burst.sh N PROFILE OUT_DIR
#
# The environment (AWS_*, CROSSROLE_*, ...) is the caller's; CROSSROLE_BIN is
# the binary. Timed by hyperfine as a whole (wall time of the burst).
set -uo pipefail
n=${1:?usage: burst.sh N PROFILE OUT_DIR}
profile=${2:?usage: burst.sh N PROFILE OUT_DIR}
out=${3:?usage: burst.sh N PROFILE OUT_DIR}
bin=${CROSSROLE_BIN:?CROSSROLE_BIN is not set}

# Only builtins besides the calls themselves (a mkdir, rm or grep here would
# add process starts to the timed burst). Every output file is truncated by
# its own redirection, so files left from an earlier burst are never read as
# this one's. They live in run.sh's private temp folder, removed at its exit.
[ -d "$out" ] || mkdir -p "$out"
pids=()
for ((i = 0; i < n; i++)); do
  "$bin" credential-process "$profile" >"$out/call.$i.out" 2>"$out/call.$i.err" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=$((failed + 1))
done
for ((i = 0; i < n; i++)); do
  line=""
  IFS= read -r line <"$out/call.$i.out" || true
  [[ "$line" == *'"SessionToken"'* ]] || failed=$((failed + 1))
done
if [ "$failed" -ne 0 ]; then
  echo "burst.sh: $failed of $n calls failed; first errors:" >&2
  for ((i = 0; i < n; i++)); do cat "$out/call.$i.err"; done 2>/dev/null | head -5 >&2
  exit 1
fi
