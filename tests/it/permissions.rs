//! File and folder permissions: the private runtime folder (0700) and its
//! lock files (0600), a new ~/.aws (0700) and config (0600) whatever the
//! umask, an existing file's mode kept, and a runtime folder that another
//! user owns or can write refused with the fix in the message.

#![cfg(target_os = "linux")]
use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";
const KEY_ID: &str = "AKIAIOSFODNN7PERMS01";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPERMSKEY01";

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn runtime_root(env: &TestEnv) -> PathBuf {
    env.tmp.path().join("run")
}

fn runtime_dir(env: &TestEnv) -> PathBuf {
    runtime_root(env).join("crossrole")
}

/// `crossrole ARGS` run under `umask UMASK`.
fn with_umask(env: &TestEnv, umask: &str, args: &[&str]) -> Command {
    let mut c = env.command("sh");
    c.arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    c
}

fn setup_from_env_keys(env: &TestEnv, umask: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "setup",
        "--no-verify",
        "--keys-from-env",
        "--role-arn",
        ROLE_ARN,
        "--region",
        "eu-west-1",
    ];
    args.extend_from_slice(extra);
    let mut c = with_umask(env, umask, &args);
    c.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    run_with_input(&mut c, None)
}

#[test]
fn new_folders_and_files_are_private_whatever_the_umask() {
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(closed_port_url());
    let aws = env.home.join(".aws");
    assert!(!aws.exists() && !runtime_root(&env).exists());

    // umask 000 would leave anything not set explicitly world-writable.
    ok(&setup_from_env_keys(&env, "000", &[]));
    assert_eq!(mode(&aws), 0o700, "new ~/.aws");
    assert_eq!(mode(&env.config), 0o600, "new config");
    assert!(
        !env.credentials.exists(),
        "setup created a credentials file"
    );
    assert_eq!(mode(&runtime_root(&env)), 0o700, "new $XDG_RUNTIME_DIR");
    assert_eq!(mode(&runtime_dir(&env)), 0o700, "runtime folder");

    // A cold Blue call takes the per-profile lock (then fails at the closed
    // STS port, which is not what is tested here).
    let o = run_with_input(
        &mut with_umask(&env, "000", &["credential-process", "blue"]),
        None,
    );
    fails_with(&o, &["cannot reach STS"]);
    let locks: Vec<PathBuf> = std::fs::read_dir(runtime_dir(&env))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        locks.len() >= 2,
        "expected the setup and blue lock files: {locks:?}"
    );
    for l in &locks {
        assert!(l.extension().is_some_and(|e| e == "lock"), "{l:?}");
        assert_eq!(mode(l), 0o600, "lock file {}", l.display());
        assert_eq!(
            std::fs::metadata(l).unwrap().len(),
            0,
            "a lock file holds data"
        );
    }
}

#[test]
fn an_existing_files_mode_is_kept() {
    let env = TestEnv::keyutils();
    env.write_config("[default]\nregion = us-east-1\n");
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.write_credentials(&format!(
        "[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    std::fs::set_permissions(&env.credentials, std::fs::Permissions::from_mode(0o640)).unwrap();
    // umask 077 would make a recreated file 0600: the mode must be copied.
    let o = run_with_input(
        &mut with_umask(&env, "077", &import_setup_args(ROLE_ARN, &["--no-verify"])),
        None,
    );
    ok(&o);
    assert!(env.read_config().contains("[profile blue]"));
    assert!(!env.read_credentials().contains("[green]"));
    assert_eq!(mode(&env.config), 0o644, "the config's mode changed");
    assert_eq!(
        mode(&env.credentials),
        0o640,
        "the credentials' mode changed"
    );
}

/// A Green key and both profiles, the runtime folder made by crossrole.
fn set_up(env: &TestEnv) {
    ok(&setup_from_env_keys(env, "022", &[]));
    assert_eq!(mode(&runtime_dir(env)), 0o700);
}

/// Refused, naming the folder and the command that fixes it.
#[track_caller]
fn refused(o: &std::process::Output, dir: &Path, why: &str) {
    let d = dir.display().to_string();
    let err = fails_with(o, &[&d, why, &format!("chmod 700 {d}")]);
    eprintln!("permissions: refused: {}", err.trim());
}

#[test]
fn a_runtime_folder_others_can_write_is_refused() {
    let mut env = TestEnv::keyutils();
    set_up(&env);
    env.endpoint = Some(closed_port_url());
    let dir = runtime_dir(&env);
    for bad in [0o777, 0o720, 0o702] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(bad)).unwrap();
        let why = format!("writable by other users (mode {bad:03o})");
        refused(
            &env.crossrole(&["credential-process", "blue"], None),
            &dir,
            &why,
        );
        refused(
            &setup_from_env_keys(&env, "022", &["--output", "text"]),
            &dir,
            &why,
        );
        assert_eq!(mode(&dir), bad, "crossrole changed the folder's mode");
    }
    assert!(
        !env.read_config().contains("output = text"),
        "a refused setup wrote"
    );
    // Fixed as the message says, it works again (up to the closed STS port).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    fails_with(
        &env.crossrole(&["credential-process", "blue"], None),
        &["cannot reach STS"],
    );
}

#[test]
fn a_runtime_folder_owned_by_another_user_is_refused() {
    let mut env = TestEnv::keyutils();
    set_up(&env);
    env.endpoint = Some(closed_port_url());
    let dir = runtime_dir(&env);
    let chown = Command::new("chown")
        .args(["65534:65534"])
        .arg(&dir)
        .output()
        .unwrap();
    if !chown.status.success() {
        eprintln!(
            "permissions: SKIPPED another user's runtime folder: chown needs root here ({})",
            stderr(&chown).trim()
        );
        return;
    }
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 65534);
    let why = "owned by another user (uid 65534)";
    refused(
        &env.crossrole(&["credential-process", "blue"], None),
        &dir,
        why,
    );
    refused(
        &setup_from_env_keys(&env, "022", &["--output", "text"]),
        &dir,
        why,
    );
    assert!(
        !env.read_config().contains("output = text"),
        "a refused setup wrote"
    );
}

#[test]
fn a_runtime_folder_that_is_a_symlink_or_a_file_is_refused() {
    let mut env = TestEnv::keyutils();
    set_up(&env);
    env.endpoint = Some(closed_port_url());
    let dir = runtime_dir(&env);
    // A symlink to a private folder of ours: still refused, since in a shared
    // /tmp fallback someone else could have planted it.
    let elsewhere = env.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    let err = fails_with(
        &env.crossrole(&["credential-process", "blue"], None),
        &[&dir.display().to_string(), "not a folder"],
    );
    eprintln!("permissions: symlinked runtime folder: {}", err.trim());
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    std::fs::remove_file(&dir).unwrap();
    std::fs::write(&dir, "").unwrap();
    fails_with(
        &env.crossrole(&["credential-process", "blue"], None),
        &[&dir.display().to_string()],
    );
}

#[test]
fn an_edited_files_owner_and_group_are_kept() {
    let env = TestEnv::keyutils();
    env.write_config("[default]\nregion = us-east-1\n");
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n[other]\nregion = x\n"
    ));
    let chown = Command::new("chown")
        .arg("65534:65534")
        .args([&env.config, &env.credentials])
        .output()
        .unwrap();
    if !chown.status.success() {
        eprintln!(
            "permissions: SKIPPED owner kept: chown needs root here ({})",
            stderr(&chown).trim()
        );
        return;
    }
    ok(&env.crossrole(&import_setup_args(ROLE_ARN, &["--no-verify"]), None));
    assert!(env.read_config().contains("[profile blue]"));
    assert!(!env.read_credentials().contains(SECRET));
    for f in [&env.config, &env.credentials] {
        let m = std::fs::metadata(f).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "{}", f.display());
    }
}

#[test]
fn a_hard_linked_credentials_file_is_warned_about() {
    let env = TestEnv::keyutils();
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    let other = env.home.join("creds-copy");
    std::fs::hard_link(&env.credentials, &other).unwrap();
    let out = ok(&env.crossrole(&import_setup_args(ROLE_ARN, &["--no-verify"]), None));
    assert!(out.contains("2 hard links"), "{out}");
    assert!(
        out.contains(&env.credentials.display().to_string()),
        "{out}"
    );
    // The warning is the point: the other name still holds the key.
    assert!(std::fs::read_to_string(&other).unwrap().contains(SECRET));
}

/// Without XDG_RUNTIME_DIR (cron, `su`, ssh without pam_systemd) the lock
/// folder is `$XDG_CACHE_HOME/crossrole`, else `~/.cache/crossrole`: never
/// `/tmp/crossrole-UID`, which another local user could create first.
#[test]
fn without_xdg_runtime_dir_locks_live_in_the_cache_folder_not_tmp() {
    let mut env = TestEnv::keyutils();
    set_up(&env);
    env.endpoint = Some(closed_port_url());
    // Another user got there first, in the temp folder crossrole used to use.
    let uid = std::fs::metadata(&env.home).unwrap().uid();
    let squatted = env.tmp.path().join("tmp").join(format!("crossrole-{uid}"));
    std::fs::create_dir_all(&squatted).unwrap();
    std::fs::set_permissions(&squatted, std::fs::Permissions::from_mode(0o700)).unwrap();
    let chown = Command::new("chown")
        .args(["65534:65534"])
        .arg(&squatted)
        .output()
        .unwrap();
    assert!(chown.status.success(), "chown: {}", stderr(&chown));

    let cache = env.tmp.path().join("cache").join("crossrole");
    let home_cache = env.home.join(".cache").join("crossrole");
    for (unset, dir) in [
        (&["XDG_RUNTIME_DIR"][..], &cache),
        (&["XDG_RUNTIME_DIR", "XDG_CACHE_HOME"][..], &home_cache),
    ] {
        let mut c = env.command(BIN);
        c.args(["credential-process", "blue"]);
        for var in unset {
            c.env_remove(var);
        }
        // Past the lock, up to the closed STS port.
        fails_with(&run_with_input(&mut c, None), &["cannot reach STS"]);
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        let locks = std::fs::read_dir(dir).unwrap().count();
        assert!(locks > 0, "no lock file in {}", dir.display());
    }
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0);
}
