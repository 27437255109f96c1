//! Another UID that shares the user's session keyring (`su` without
//! pam_keyinit, `setpriv`, some `sudo -u` setups) can neither read nor
//! replace crossrole's kernel keys, and a forged session is never served.
//!
//! The tests run as root (as CI does): the helper process of the other UID
//! is started with `setpriv --reuid=65534 --regid=65534 --clear-groups` from
//! the test thread, so it inherits (possesses) the thread's session keyring.
#![cfg(target_os = "linux")]

use crate::common;

use std::process::{Command, Output};

use common::*;

const NOBODY: &str = "65534";

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

/// Runs `keyctl ARGS` as uid/gid 65534 inside the calling thread's session keyring.
fn keyctl_as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "keyctl",
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("setpriv (util-linux) and keyctl (keyutils)")
}

/// `type;uid;gid;perm;description` of key `id`, as the test (root) sees it.
fn rdescribe(id: &str) -> String {
    let out = keyctl(&["rdescribe", id]);
    assert!(out.status.success(), "rdescribe {id}: {}", stderr(&out));
    stdout(&out).trim_end().to_string()
}

/// A Blue session document expiring at `expiration` (RFC 3339).
fn forged_session(expiration: &str) -> String {
    format!(
        r#"{{"AccessKeyId":"ASIAFORGEDFORGED0000","SecretAccessKey":"forged-secret","SessionToken":"forged-token","Expiration":"{expiration}"}}"#
    )
}

fn blue_world() -> CmdWorld {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    w
}

/// The one cached session of Blue and the Green key, as (id, description).
fn crossrole_keys() -> (String, String) {
    let sessions = session_keyring_keys("crossrole:session:blue:");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let keys = session_keyring_keys("crossrole:key:green");
    assert_eq!(keys.len(), 1, "{keys:?}");
    (sessions[0].0.clone(), keys[0].0.clone())
}

#[test]
fn keys_are_owner_only_and_another_uid_cannot_read_or_change_them() {
    if !can_switch_uid("keys_are_owner_only_and_another_uid_cannot_read_or_change_them") {
        return;
    }
    let w = blue_world();
    let (session, green) = crossrole_keys();
    let mut all = session_keyring_keys("crossrole:");
    assert!(all.len() >= 3, "session, key and key-id index: {all:?}");
    all.sort();
    for (id, desc) in &all {
        let d = rdescribe(id);
        // user;uid;gid;perm;description: all rights for the owner, none for
        // possessors, group or others.
        let fields: Vec<&str> = d.splitn(5, ';').collect();
        assert_eq!(fields[1], "0", "owned by the test's uid: {d}");
        assert_eq!(fields[3], "003f0000", "{desc}: {d}");
    }
    for (id, desc) in &all {
        let print = keyctl_as_nobody(&["print", id]);
        assert!(
            !print.status.success(),
            "uid {NOBODY} read {desc}: {}",
            stdout(&print)
        );
        let update = keyctl_as_nobody(&["update", id, "evil"]);
        assert!(!update.status.success(), "uid {NOBODY} rewrote {desc}");
        let search = keyctl_as_nobody(&["search", "@s", "user", desc]);
        assert!(!search.status.success(), "uid {NOBODY} found {desc}");
    }
    // Adding a key of the same name updates the existing one: refused too.
    let session_desc = rdescribe(&session)
        .splitn(5, ';')
        .nth(4)
        .unwrap()
        .to_string();
    let add = keyctl_as_nobody(&[
        "add",
        "user",
        &session_desc,
        &forged_session("2099-01-01T00:00:00Z"),
        "@s",
    ]);
    assert!(!add.status.success(), "uid {NOBODY} replaced the session");
    // The owner still reads them.
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_ne!(doc["AccessKeyId"], "ASIAFORGEDFORGED0000");
    assert_eq!(w.proxy.assume_role_calls(), 1, "served from the cache");
    let green_print = keyctl(&["print", &green]);
    assert!(green_print.status.success());
}

#[test]
fn a_session_planted_by_another_uid_is_never_served() {
    if !can_switch_uid("a_session_planted_by_another_uid_is_never_served") {
        return;
    }
    let w = blue_world();
    let (session, _) = crossrole_keys();
    let desc = rdescribe(&session)
        .splitn(5, ';')
        .nth(4)
        .unwrap()
        .to_string();
    // The other uid cannot touch the key, but can unlink it from the shared
    // session keyring and link its own in its place.
    let unlink = keyctl_as_nobody(&["unlink", &session, "@s"]);
    assert!(unlink.status.success(), "unlink: {}", stderr(&unlink));
    let add = keyctl_as_nobody(&[
        "add",
        "user",
        &desc,
        &forged_session("2099-01-01T00:00:00Z"),
        "@s",
    ]);
    assert!(add.status.success(), "plant: {}", stderr(&add));
    let planted = stdout(&add).trim().to_string();
    assert!(rdescribe(&planted).starts_with(&format!("user;{NOBODY};")));

    let out = w.env.crossrole(&["credential-process", "blue"], None);
    let doc = process_doc(&out);
    assert_ne!(
        doc["AccessKeyId"], "ASIAFORGEDFORGED0000",
        "the forged session was served"
    );
    assert_eq!(w.proxy.assume_role_calls(), 2, "a new session from STS");
    assert!(seconds_left(&doc) < 13 * 3600);
    // The new session is crossrole's own again, owner-only, and not readable by the other uid.
    let (session, _) = crossrole_keys();
    assert!(rdescribe(&session).starts_with("user;0;0;003f0000;"));
    assert!(!keyctl_as_nobody(&["print", &session]).status.success());
}

#[test]
fn a_green_key_planted_by_another_uid_is_refused() {
    if !can_switch_uid("a_green_key_planted_by_another_uid_is_refused") {
        return;
    }
    let w = blue_world();
    let (_, green) = crossrole_keys();
    let unlink = keyctl_as_nobody(&["unlink", &green, "@s"]);
    assert!(unlink.status.success(), "unlink: {}", stderr(&unlink));
    let add = keyctl_as_nobody(&[
        "add",
        "user",
        "crossrole:key:green",
        r#"{"AccessKeyId":"AKIAFORGEDFORGED0000","SecretAccessKey":"forged"}"#,
        "@s",
    ]);
    assert!(add.status.success(), "plant: {}", stderr(&add));
    let out = w.env.crossrole(&["credential-process", "green"], None);
    fails_with(&out, &["belongs to uid 65534", "not to you"]);
}

#[test]
fn a_session_claiming_more_than_twelve_hours_is_never_served() {
    let w = blue_world();
    let (session, _) = crossrole_keys();
    // Rewritten in place by its owner (as an older crossrole's loose key let
    // any possessor do): the 2099 expiry alone gets it refused.
    let update = keyctl(&["update", &session, &forged_session("2099-01-01T00:00:00Z")]);
    assert!(update.status.success(), "{}", stderr(&update));
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_ne!(doc["AccessKeyId"], "ASIAFORGEDFORGED0000");
    assert_eq!(w.proxy.assume_role_calls(), 2);

    // A key of ours with loose permissions (another possessor could have
    // written it) is dropped too, whatever its expiry.
    let (session, _) = crossrole_keys();
    let desc = rdescribe(&session)
        .splitn(5, ';')
        .nth(4)
        .unwrap()
        .to_string();
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(keyctl(&["unlink", &session, "@s"]).status.success());
    let add = keyctl(&["add", "user", &desc, &forged_session(&soon), "@s"]);
    assert!(add.status.success());
    let planted = stdout(&add).trim().to_string();
    assert!(
        !rdescribe(&planted).contains(";003f0000;"),
        "default permissions"
    );
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_ne!(doc["AccessKeyId"], "ASIAFORGEDFORGED0000");
    assert_eq!(w.proxy.assume_role_calls(), 3);
}
