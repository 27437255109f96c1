#!/usr/bin/env bash
# Empties crossrole's cached role sessions of one profile, for hyperfine's
# --prepare (not timed). Only session entries are removed: the long-term key
# and the key-id index (`crossrole:keyid:...`) stay, as after a session expired.
#
#   clear_sessions.sh PROFILE
#
# How, from BENCH_CLEAR_METHOD (run.sh picks it once and checks it works):
#   crossrole    `$CROSSROLE_BIN clear PROFILE` (the real command)
#   keyctl       invalidate the `user` keys `crossrole:session:PROFILE:*` linked
#                in the session keyring (run.sh runs under a private one)
#   secret-tool  delete the Secret Service items service=crossrole,
#                username=session:PROFILE:* (private gnome-keyring of run.sh)
# The environment (CROSSROLE_*, DBUS_SESSION_BUS_ADDRESS, ...) is the caller's.
set -euo pipefail
profile=${1:?usage: clear_sessions.sh PROFILE}
method=${BENCH_CLEAR_METHOD:-keyctl}

case "$method" in
  crossrole)
    "${CROSSROLE_BIN:?CROSSROLE_BIN is not set}" clear "$profile" >/dev/null
    ;;
  keyctl)
    for id in $(keyctl rlist @s 2>/dev/null || true); do
      desc=$(keyctl rdescribe "$id" 2>/dev/null) || continue
      # type;uid;gid;perm;description
      type=${desc%%;*}
      description=${desc#*;*;*;*;}
      if [ "$type" = user ] && [[ "$description" == "crossrole:session:$profile:"* ]]; then
        keyctl invalidate "$id" >/dev/null 2>&1 || keyctl unlink "$id" @s >/dev/null 2>&1 || true
      fi
    done
    ;;
  secret-tool)
    # `secret-tool search` prints each item's attributes as
    # `attribute.username = NAME` lines (on stdout or stderr, by version).
    names=$(secret-tool search --all service crossrole 2>&1 | sed -n 's/^attribute\.username = //p' | sort -u)
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      if [[ "$name" == "session:$profile:"* ]]; then
        secret-tool clear service crossrole username "$name"
      fi
    done <<<"$names"
    ;;
  *)
    echo "clear_sessions.sh: unknown BENCH_CLEAR_METHOD=$method" >&2
    exit 2
    ;;
esac
