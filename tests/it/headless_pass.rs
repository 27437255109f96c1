//! `CROSSROLE_BACKEND=pass`: long-term keys in a private password-store
//! (Debian's `pass` and `gnupg`), with a throwaway GPG key that has no
//! passphrase in a private GNUPGHOME.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Gpg {
    home: PathBuf,
    store: PathBuf,
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", &self.home)
            .output();
    }
}

/// A GNUPGHOME with one key (protected by `key_passphrase`, empty for
/// none) and a store, `pass init`-ed
/// unless `init` is false.
fn gpg_and_store_with(root: &Path, init: bool, key_passphrase: &str) -> Gpg {
    use std::os::unix::fs::PermissionsExt;
    let home = root.join("gnupg");
    let store = root.join("store");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    let gpg = Gpg { home, store };
    let out = Command::new("gpg")
        .env("GNUPGHOME", &gpg.home)
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            key_passphrase,
            "--quick-gen-key",
            "crossrole test <crossrole-test@example.invalid>",
            "default",
            "default",
            "never",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if init {
        let out = Command::new("pass")
            .env("GNUPGHOME", &gpg.home)
            .env("PASSWORD_STORE_DIR", &gpg.store)
            .args(["init", "crossrole-test@example.invalid"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    gpg
}

fn pass_env(init: bool) -> (TestEnv, Gpg) {
    pass_env_with(init, "")
}

fn pass_env_with(init: bool, key_passphrase: &str) -> (TestEnv, Gpg) {
    let mut env = TestEnv::keyutils();
    let gpg = gpg_and_store_with(env.tmp.path(), init, key_passphrase);
    env.extra_env.extend([
        ("CROSSROLE_BACKEND".to_string(), "pass".to_string()),
        ("GNUPGHOME".to_string(), gpg.home.display().to_string()),
        (
            "PASSWORD_STORE_DIR".to_string(),
            gpg.store.display().to_string(),
        ),
    ]);
    (env, gpg)
}

#[test]
fn tutorial_through_aws_with_pass() {
    let (env, gpg) = pass_env(true);
    let w = cmd_world(env, &[]);
    let env = &w.env;
    assert!(gpg.store.join("crossrole/key-green.gpg").is_file());
    tutorial_commands(&w);

    let list = ok(&env.crossrole(&["list"], None));
    assert!(list.contains("pass"), "{list}");
    // The store holds it under GPG; nothing under the temp HOME in clear.
    let shown = Command::new("pass")
        .env("GNUPGHOME", &gpg.home)
        .env("PASSWORD_STORE_DIR", &gpg.store)
        .args(["show", "crossrole/key-green"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&w.t.access_key_id));
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn a_store_without_gpg_id_names_the_fix() {
    let (env, _gpg) = pass_env(false);
    let out = env.crossrole(
        &[
            "setup",
            "--role-arn",
            "arn:aws:iam::123456789012:role/R",
            "--region",
            "eu-west-1",
            "--access-key-id",
            "AKIAHEADLESS00000001",
            "--no-verify",
        ],
        Some("0001headlessSecretKeyValue0123456789abc\n"),
    );
    fails_with(&out, &["no .gpg-id", "pass init"]);
}

#[test]
fn a_missing_pass_command_names_the_fix() {
    let (mut env, _gpg) = pass_env(true);
    let empty = env.tmp.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    env.extra_env
        .push(("PATH".into(), empty.display().to_string()));
    let out = env.crossrole(
        &[
            "setup",
            "--role-arn",
            "arn:aws:iam::123456789012:role/R",
            "--region",
            "eu-west-1",
            "--access-key-id",
            "AKIAHEADLESS00000001",
            "--no-verify",
        ],
        Some("0001headlessSecretKeyValue0123456789abc\n"),
    );
    fails_with(&out, &["`pass` command is not on PATH", "apt install pass"]);
}

#[test]
fn gpg_agent_without_a_terminal_for_pinentry_names_the_fix() {
    let (env, gpg) = pass_env_with(true, "gpg key passphrase");
    let setup = env.crossrole(
        &[
            "setup",
            "--role-arn",
            "arn:aws:iam::123456789012:role/R",
            "--region",
            "eu-west-1",
            "--access-key-id",
            "AKIAHEADLESS00000001",
            "--no-verify",
        ],
        Some("0001headlessSecretKeyValue0123456789abc\n"),
    );
    // Encrypting needs only the public key.
    ok(&setup);
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", &gpg.home)
        .output();
    // No controlling terminal at all: pinentry cannot ask.
    let mut cmd = env.command("setsid");
    cmd.args(["-w", BIN, "credential-process", "green"]);
    let out = run_with_input(&mut cmd, None);
    fails_with(&out, &["pinentry", "GPG_TTY"]);
    assert!(!stderr(&out).contains("0001headlessSecret"));
}
