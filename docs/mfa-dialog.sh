#!/usr/bin/env bash
# Captures crossrole's real MFA dialog (zenity) under a private Xvfb, for the
# README: crossrole runs with no controlling terminal (setsid) and DISPLAY
# set, as an IDE would run it; the screen is grabbed with `xwd -root` and
# converted with ImageMagick; then the dialog is cancelled.
#
# Needs: Xvfb, zenity, xdotool, xwd (x11-apps), convert (imagemagick),
# keyctl (keyutils), setsid. Everything lives in a temp HOME and a private
# session keyring; STS is never contacted (the dialog comes first).
#
# usage: docs/mfa-dialog.sh [OUT.png]   (default docs/mfa-dialog.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/mfa-dialog.png}
bin=${CROSSROLE_BIN:-$PWD/target/debug/crossrole}
[ -x "$bin" ] || cargo build --quiet
tmp=$(mktemp -d)
xpid=""
cleanup() { [ -n "$xpid" ] && kill "$xpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

Xvfb -displayfd 3 -screen 0 640x360x24 -nolisten tcp 3>"$tmp/display" 2>/dev/null &
xpid=$!
for _ in $(seq 50); do [ -s "$tmp/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -n1 "$tmp/display")"

export HOME="$tmp/home" AWS_CONFIG_FILE="$tmp/home/.aws/config"
export AWS_SHARED_CREDENTIALS_FILE="$tmp/home/.aws/credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=http://127.0.0.1:9
export CROSSROLE_BACKEND=keyutils CROSSROLE_KEYUTILS_KEYRING=session
export XDG_RUNTIME_DIR="$tmp/run" USER=ana
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

keyctl session crossrole-screenshot bash -euo pipefail -c '
  printf "%s\n" exampleSecretexampleSecretexampleSecret00 |
    "$0" setup --access-key-id AKIAEXAMPLEEXAMPLE01 --no-verify \
      --role-arn arn:aws:iam::222222222222:role/CrossAccountS3Access-Role \
      --region eu-west-1 --mfa-serial arn:aws:iam::111111111111:mfa/ana >/dev/null
  setsid "$0" credential-process blue >/dev/null 2>&1 &
  win=$(xdotool search --sync --onlyvisible --name crossrole | head -n1)
  sleep 1   # let GTK finish drawing
  xwd -root -silent | convert xwd:- -trim +repage "$1"
  xdotool windowfocus --sync "$win" key Escape
  wait || true   # crossrole fails: the dialog was cancelled
' "$bin" "$out"
[ -s "$out" ] && echo "wrote $out"
