//! Against a working, unlocked gnome-keyring, the Secret Service's direct
//! client serves every read and write of the ordinary flows (setup,
//! credential-process of the key and the role profile, sessions kept in the
//! Secret Service): it never falls back to the slower keyring-core store.
//! `CROSSROLE_DEBUG_DIRECT=1` makes crossrole print its fallback count.
#![cfg(target_os = "linux")]

use crate::common;

use std::process::Output;

use common::*;

const REPORT: &str = "crossrole: debug: direct Secret Service client fallbacks: ";

/// The fallback count the run reported.
#[track_caller]
fn fallbacks(o: &Output) -> usize {
    let err = stderr(o);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix(REPORT))
        .unwrap_or_else(|| panic!("no fallback report on stderr: {err}"));
    line.trim().parse().unwrap()
}

fn world() -> (TestEnv, Tutorial, CountingProxy, Moto) {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let proxy = CountingProxy::start(moto.port);
    let mut env = TestEnv::secret_service();
    env.endpoint = Some(proxy.url());
    env.extra_env
        .push(("CROSSROLE_DEBUG_DIRECT".into(), "1".into()));
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    (env, t, proxy, moto)
}

#[test]
fn the_direct_client_never_falls_back_against_a_working_keyring() {
    let (mut env, t, proxy, _moto) = world();
    let setup = env.crossrole(&import_setup_args(&t.role_arn, &[]), None);
    ok(&setup);
    assert_eq!(fallbacks(&setup), 0, "setup: {}", stderr(&setup));

    let green = env.crossrole(&["credential-process", "green"], None);
    process_doc(&green);
    assert_eq!(fallbacks(&green), 0, "green");
    ok(&env.crossrole(&["clear"], None));
    for round in ["cold", "warm"] {
        let blue = env.crossrole(&["credential-process", "blue"], None);
        process_doc(&blue);
        assert_eq!(fallbacks(&blue), 0, "blue, {round}");
    }

    // Sessions kept in the Secret Service (no kernel keyring): written and
    // read through the direct client too.
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    let before = proxy.assume_role_calls();
    for round in ["cold", "warm"] {
        let blue = env.crossrole(&["credential-process", "blue"], None);
        process_doc(&blue);
        assert_eq!(fallbacks(&blue), 0, "blue in the Secret Service, {round}");
    }
    assert_eq!(
        proxy.assume_role_calls(),
        before + 1,
        "the warm call was cached"
    );
}

/// The count is real: a locked keyring makes the direct client hand the
/// read to the store (which then fails with the unlock message).
#[test]
fn a_locked_keyring_counts_as_a_fallback() {
    let (mut env, t, _proxy, _moto) = world();
    ok(&env.crossrole(&import_setup_args(&t.role_arn, &[]), None));
    let Keyring::SecretService(ss) = &mut env.keyring else {
        unreachable!()
    };
    ss.restart_locked();
    let green = env.crossrole(&["credential-process", "green"], None);
    assert!(!green.status.success());
    assert!(fallbacks(&green) >= 1, "{}", stderr(&green));
}
