//! A full kernel key quota (EDQUOT). A non-root UID holds 20,000 bytes of
//! keys by default (/proc/sys/kernel/keys/maxbytes). crossrole must then make
//! room by dropping its own stale sessions, and failing that keep sessions in
//! the long-term keyring with one warning, so that calls do not all become
//! AssumeRole calls.
//!
//! The tests run as root, and root's quota (root_maxbytes) is shared with
//! every other test running on the machine, so they do not lower a sysctl:
//! crossrole runs as a spare non-root UID (`setpriv`), inside the test
//! thread's session keyring, and the test fills that UID's quota first by
//! adding keys as that UID. Each test uses its own UID, since the quota is
//! per UID and tests run in parallel.
#![cfg(target_os = "linux")]

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::keyring_env::chown_tree;
use common::*;

/// Whether this process may start another UID's processes (`setpriv`
/// needs root); the tests say SKIPPED otherwise, as permissions.rs does.
fn can_switch_uid(test: &str) -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    let root = String::from_utf8_lossy(&out.stdout).trim() == "0";
    if !root {
        eprintln!("{test}: SKIPPED: running another UID with setpriv needs root");
    }
    root
}

/// A command run as `uid` (and gid) with no supplementary groups.
fn as_uid(uid: u32, program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".to_string(),
        program.to_string(),
    ]);
    c
}

fn crossrole_as(env: &TestEnv, uid: u32, args: &[&str]) -> Output {
    let mut c = as_uid(uid, BIN);
    c.args(args)
        .env_clear()
        .envs(env.env_vars())
        .current_dir(&env.home);
    run_with_input(&mut c, None)
}

/// Adds a `user` key `name` of `size` bytes to the session keyring as `uid`;
/// false when the kernel refuses it for quota.
fn add_key_as(uid: u32, name: &str, payload: &[u8]) -> bool {
    let mut child = as_uid(uid, "keyctl")
        .args(["padd", "user", name, "@s"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv keyctl");
    child.stdin.take().unwrap().write_all(payload).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("quota"), "keyctl padd {name}: {err}");
    false
}

/// Fills `uid`'s key quota to the last few bytes with keys named by `name`;
/// returns how many were added.
fn fill_quota(uid: u32, name: impl Fn(usize) -> String) -> usize {
    let mut n = 0;
    for size in [900usize, 100, 10, 1] {
        let payload = vec![b'x'; size];
        while add_key_as(uid, &name(n), &payload) {
            n += 1;
            assert!(n < 400, "the quota never filled");
        }
    }
    n
}

/// Moto, the tutorial, a counting proxy, and `setup` run as `uid` in a temp
/// HOME owned by `uid`.
fn world_as(env: TestEnv, uid: u32) -> CmdWorld {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let proxy = CountingProxy::start(moto.port);
    let mut env = env;
    env.endpoint = Some(proxy.url());
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    let _ = env.env_vars(); // creates TMPDIR
    chown_tree(env.tmp.path(), uid);
    let out = crossrole_as(&env, uid, &import_setup_args(&t.role_arn, &[]));
    ok(&out);
    CmdWorld {
        env,
        proxy,
        t,
        moto,
    }
}

#[test]
fn a_full_quota_is_made_room_for_by_dropping_stale_sessions() {
    if !can_switch_uid("a_full_quota_is_made_room_for_by_dropping_stale_sessions") {
        return;
    }
    const UID: u32 = 64101;
    let w = world_as(TestEnv::keyutils(), UID);
    ok(&crossrole_as(&w.env, UID, &["clear"]));
    let before = w.proxy.assume_role_calls();
    // Sessions of Blue under settings it no longer has fill the quota.
    let filled = fill_quota(UID, |i| format!("crossrole:session:blue:{i:032x}"));
    assert!(filled > 10, "{filled}");

    let first = crossrole_as(&w.env, UID, &["credential-process", "blue"]);
    let doc = process_doc(&first);
    assert!(!stderr(&first).contains("warning"), "{}", stderr(&first));
    assert_eq!(w.proxy.assume_role_calls(), before + 1);
    let second = process_doc(&crossrole_as(&w.env, UID, &["credential-process", "blue"]));
    assert_eq!(second["AccessKeyId"], doc["AccessKeyId"]);
    assert_eq!(
        w.proxy.assume_role_calls(),
        before + 1,
        "the second call is served from the cache"
    );
    // The current session is owner-only (the test, as root, cannot see it);
    // the stale ones are gone.
    let left = session_keyring_keys("crossrole:session:blue:0000");
    assert!(left.is_empty(), "stale sessions left: {left:?}");
}

/// The UID of the account `name` in /etc/passwd.
fn system_uid(name: &str) -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[0] == name)
        .and_then(|f| f[2].parse().ok())
        .unwrap_or_else(|| panic!("no account {name} in /etc/passwd"))
}

#[test]
fn a_quota_full_of_other_keys_moves_sessions_to_the_secret_service_with_one_warning() {
    if !can_switch_uid(
        "a_quota_full_of_other_keys_moves_sessions_to_the_secret_service_with_one_warning",
    ) {
        return;
    }
    // dbus-daemon needs its uid in the password database: a system account
    // that nothing else on a test machine runs as.
    let uid = system_uid("irc");
    let w = world_as(TestEnv::secret_service_as(uid), uid);
    let Keyring::SecretService(ss) = &w.env.keyring else {
        unreachable!()
    };
    ok(&crossrole_as(&w.env, uid, &["clear"]));
    let before = w.proxy.assume_role_calls();
    // Keys that are not crossrole's fill the quota: nothing to drop.
    fill_quota(uid, |i| format!("other-program:{i}"));

    let first = crossrole_as(&w.env, uid, &["credential-process", "blue"]);
    let doc = process_doc(&first);
    let warnings = stderr(&first);
    assert_eq!(warnings.matches("warning").count(), 1, "{warnings}");
    assert!(warnings.contains("quota is full"), "{warnings}");
    assert!(warnings.contains("Secret Service"), "{warnings}");
    assert_eq!(w.proxy.assume_role_calls(), before + 1);
    let search = ss
        .secret_tool()
        .args(["search", "--all", "service", "crossrole"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&search.stdout).contains("crossrole: session:blue:"),
        "the session is in the Secret Service"
    );

    // Later calls find it there, without STS and without another warning.
    for _ in 0..2 {
        let again = crossrole_as(&w.env, uid, &["credential-process", "blue"]);
        assert_eq!(process_doc(&again)["AccessKeyId"], doc["AccessKeyId"]);
        assert!(stderr(&again).is_empty(), "{}", stderr(&again));
    }
    assert_eq!(
        w.proxy.assume_role_calls(),
        before + 1,
        "served from the Secret Service"
    );

    let list = ok(&crossrole_as(&w.env, uid, &["list"]));
    assert!(
        list.contains("valid, "),
        "list sees the moved session: {list}"
    );

    // `clear` empties it too.
    let cleared = ok(&crossrole_as(&w.env, uid, &["clear"]));
    assert!(cleared.contains("cleared 1 cached session"), "{cleared}");
    let search = ss
        .secret_tool()
        .args(["search", "--all", "service", "crossrole"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&search.stdout).contains("session:blue:"));
}
