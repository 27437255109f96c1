#!/usr/bin/env bash
# crossrole installer.
#
#   ./install.sh            build (release, --locked), install to ~/.local/bin
#                           (or $PREFIX/bin), then run `crossrole setup` when
#                           stdin is a terminal (--no-setup skips it)
#   ./install.sh --test     install what the tests need (where missing), then
#                           run cargo fmt --check, clippy -D warnings and the
#                           whole test suite inside a private D-Bus session,
#                           gnome-keyring and kernel session keyring
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '%s\n' "install.sh: $*" >&2; }

need_apt=()
want_cmd() { command -v "$1" >/dev/null 2>&1 || need_apt+=("$2"); }

install_test_deps() {
  want_cmd dbus-daemon dbus
  want_cmd dbus-run-session dbus
  want_cmd dbus-send dbus
  want_cmd gnome-keyring-daemon gnome-keyring
  want_cmd secret-tool libsecret-tools
  want_cmd keyctl keyutils
  want_cmd hyperfine hyperfine
  want_cmd script bsdutils
  want_cmd pass pass
  want_cmd gpg gnupg
  [ -x /usr/bin/time ] || need_apt+=(time)   # peak RSS in bench/run.sh
  if ((${#need_apt[@]})); then
    if command -v apt-get >/dev/null 2>&1; then
      local sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      say "installing Debian packages: ${need_apt[*]}"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    else
      say "missing: ${need_apt[*]} (install them with your package manager)"; exit 1
    fi
  fi
  if ! python3 -c 'import moto, boto3, awscli, flask' >/dev/null 2>&1 || ! command -v moto_server >/dev/null 2>&1 || ! command -v aws >/dev/null 2>&1; then
    say "installing Python packages: awscli boto3 moto[server]"
    python3 -m pip install --quiet --disable-pip-version-check awscli boto3 'moto[server]'
    hash -r
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "cargo-nextest not found; installing it"
    cargo install --locked cargo-nextest >/dev/null
  fi
}

run_tests() {
  install_test_deps
  say "cargo fmt --check"
  cargo fmt --all -- --check
  say "cargo clippy --all-targets -- -D warnings"
  cargo clippy --locked --all-targets -- -D warnings
  say "running the test suite (private D-Bus, gnome-keyring and session keyring)"
  test_tmp="$(mktemp -d)"
  trap 'rm -rf "$test_tmp"' EXIT
  local tmp=$test_tmp
  mkdir -p "$tmp/run" "$tmp/data"
  chmod 700 "$tmp/run"
  # Every test starts its own private daemons and session keyring as it needs;
  # this outer session only makes sure nothing reaches the caller's own bus or keyrings.
  env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data" \
    AWS_EC2_METADATA_DISABLED=true \
    keyctl session crossrole-tests \
    dbus-run-session -- cargo nextest run --locked --no-fail-fast --profile ci "$@"
}

install_binary() {
  local no_setup=$1
  command -v cargo >/dev/null 2>&1 || { say "cargo not found: install Rust from https://rustup.rs first"; exit 1; }
  say "building crossrole (release)"
  cargo build --release --locked
  local prefix="${PREFIX:-$HOME/.local}"
  local bindir="$prefix/bin"
  mkdir -p "$bindir"
  install -m 0755 target/release/crossrole "$bindir/crossrole.tmp.$$"
  mv -f "$bindir/crossrole.tmp.$$" "$bindir/crossrole"
  say "installed $bindir/crossrole"
  case ":$PATH:" in
    *":$bindir:"*) ;;
    *) say "warning: $bindir is not on your PATH; add it, e.g. echo 'export PATH=\"$bindir:\$PATH\"' >> ~/.bashrc" ;;
  esac
  if [ "$no_setup" = 0 ] && [ -t 0 ]; then
    say "running: crossrole setup (Ctrl-C to skip; run it again any time)"
    "$bindir/crossrole" setup
  else
    say "next: crossrole setup --import-credentials --role-arn arn:aws:iam::ACCOUNT:role/NAME"
  fi
}

case "${1:-}" in
  --test) shift; run_tests "$@" ;;
  --no-setup) install_binary 1 ;;
  "") install_binary 0 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) say "unknown option $1 (use --test, --no-setup or --help)"; exit 2 ;;
esac
