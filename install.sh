#!/usr/bin/env bash
# crossrole installer; `./install.sh --help` says what it does.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '%s\n' "install.sh: $*" >&2; }

usage() {
  cat <<'EOF'
crossrole installer

Usage:
  ./install.sh              build (release, --locked), install to ~/.local/bin
                            (or $PREFIX/bin), then run `crossrole setup` when
                            stdin is a terminal
  ./install.sh --no-setup   the same, without running `crossrole setup`
  ./install.sh --uninstall [--keep-profiles]
                            remove the installed binary. Profiles that still
                            call it are named with the `crossrole remove`
                            commands that delete them and their keyring
                            entries, and the binary stays until they are gone
                            (--keep-profiles removes it anyway)
  ./install.sh --test [NEXTEST ARGS]
                            install what the tests need (Python tools pinned in
                            tests/requirements.txt), then run cargo fmt --check,
                            clippy -D warnings, the test suite inside a private
                            D-Bus session, gnome-keyring and kernel session
                            keyring, and clippy for Windows
                            (x86_64-pc-windows-gnu), or say why it was skipped
  ./install.sh --windows-lint
                            only the Windows clippy check of --test
  ./install.sh --help       this text
EOF
}

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
  want_cmd setsid util-linux        # MFA desktop tests: callers with no terminal
  want_cmd Xvfb xvfb
  want_cmd zenity zenity
  want_cmd xdotool xdotool
  want_cmd xwd x11-apps             # the README's MFA dialog screenshot
  want_cmd convert imagemagick
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
  if ! python_pins_met || ! command -v moto_server >/dev/null 2>&1 || ! command -v aws >/dev/null 2>&1; then
    say "installing the pinned Python test tools (tests/requirements.txt)"
    python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    hash -r
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "cargo-nextest not found; installing it"
    cargo install --locked cargo-nextest >/dev/null
  fi
}

# Whether every `name==version` line of tests/requirements.txt is installed at
# exactly that version (names the ones that are not).
python_pins_met() {
  python3 - tests/requirements.txt <<'EOF'
import re, sys
from importlib.metadata import PackageNotFoundError, version
ok = True
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    name = re.sub(r"\[.*\]", "", name)
    try:
        have = version(name)
    except PackageNotFoundError:
        have = "missing"
    if have != want:
        ok = False
        print(f"install.sh: {name} is {have}; tests/requirements.txt pins {want}", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# Clippy for Windows (x86_64-pc-windows-gnu). Adds the Rust target and the
# MinGW cross compiler (aws-lc-sys compiles C for the target) where missing;
# when either cannot be had, one line says the check was skipped and why.
windows_lint() {
  local target=x86_64-pc-windows-gnu
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    if ! command -v rustup >/dev/null 2>&1; then
      say "SKIPPED the Windows clippy check: rustup is not installed, so the $target target cannot be added"
      return 0
    fi
    if ! rustup target add "$target" >/dev/null 2>&1; then
      say "SKIPPED the Windows clippy check: \`rustup target add $target\` failed"
      return 0
    fi
  fi
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian package: gcc-mingw-w64-x86-64"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 >/dev/null 2>&1 || true
  fi
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    say "SKIPPED the Windows clippy check: no x86_64-w64-mingw32-gcc (Debian package gcc-mingw-w64-x86-64) to compile aws-lc-sys's C for $target"
    return 0
  fi
  say "cargo clippy --target $target --all-targets -- -D warnings"
  cargo clippy --locked --target "$target" --all-targets -- -D warnings
}

run_tests() {
  install_test_deps
  say "cargo fmt --check"
  cargo fmt --all -- --check
  say "cargo clippy --all-targets -- -D warnings"
  cargo clippy --locked --all-targets -- -D warnings
  # The Windows lint comes after the Linux checks and before the suite, so
  # that nextest's summary stays the last word of the run.
  windows_lint
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
  # crossrole-admin (provision, deprovision) goes next to crossrole, which hands over to it.
  for b in crossrole-admin crossrole; do
    install -m 0755 "target/release/$b" "$bindir/$b.tmp.$$"
    mv -f "$bindir/$b.tmp.$$" "$bindir/$b"
  done
  say "installed $bindir/crossrole and $bindir/crossrole-admin"
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

# Removes the installed binary. Profiles that still call it would be left
# pointing at a missing file, their keys in the keyring, so they are named with
# the commands that remove them, and the binary stays unless --keep-profiles.
uninstall() {
  local keep=0
  case "${1:-}" in
    "") ;;
    --keep-profiles) keep=1 ;;
    *) say "unknown option $1 for --uninstall (see ./install.sh --help)"; exit 2 ;;
  esac
  local bin="${PREFIX:-$HOME/.local}/bin/crossrole"
  if [ ! -e "$bin" ]; then
    say "nothing to remove: $bin does not exist (set PREFIX to where you installed it)"
    exit 1
  fi
  local json line name="" roles=() keys=()
  if json=$("$bin" list --json 2>/dev/null); then
    while IFS= read -r line; do
      case "$line" in
        *'"profile": "'*) name=${line#*'"profile": "'}; name=${name%%\"*} ;;
        *'"type": "role"'*) roles+=("$name") ;;
        *'"type": "key"'*) keys+=("$name") ;;
      esac
    done <<<"$json"
  elif [ "$keep" = 0 ]; then
    say "cannot tell which profiles use $bin (\`$bin list\` failed); run it to see them, or use --uninstall --keep-profiles"
    exit 1
  fi
  local left=("${roles[@]}" "${keys[@]}")
  if ((${#left[@]})); then
    say "profiles that still call $bin (their keys and cached sessions stay in the keyring until removed): ${left[*]}"
    say "remove them, role profiles first, with:"
    local p
    for p in "${left[@]}"; do say "  $bin remove $p"; done
    if [ "$keep" = 0 ]; then
      say "then run ./install.sh --uninstall again (--keep-profiles removes only the binary)"
      exit 1
    fi
  fi
  rm -f -- "$bin" "$bin-admin"
  say "removed $bin and $bin-admin"
  if ((${#left[@]})); then
    say "kept those profiles: they fail until crossrole is installed again (./install.sh); then \`crossrole remove PROFILE\` removes them"
  fi
}

case "${1:-}" in
  --test) shift; run_tests "$@" ;;
  --no-setup) install_binary 1 ;;
  --uninstall) shift; uninstall "$@" ;;
  --windows-lint) windows_lint ;;
  "") install_binary 0 ;;
  -h|--help) usage ;;
  *) say "unknown option $1 (see ./install.sh --help)"; exit 2 ;;
esac
