//! Keyring messages name the real state of a Secret Service that cannot
//! serve crossrole (no default keyring, or locked) and give the fix for it;
//! none suggests a command that would start a second gnome-keyring-daemon;
//! `list` shows "locked" or "unavailable" for a keyring it cannot read.
#![cfg(target_os = "linux")]

use crate::common;

use std::process::Output;

use common::*;

const KEY_ID: &str = "AKIAIOSFODNN7MESSAGE";
const SECRET: &str = "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";

/// Commands that would start another gnome-keyring-daemon (beside the
/// desktop's, on the same keyring files) if a user ran them.
const SECOND_DAEMON: [&str; 2] = ["gnome-keyring-daemon", "dbus-run-session"];

#[track_caller]
fn no_second_daemon(o: &Output) {
    for text in [stdout(o), stderr(o)] {
        for bad in SECOND_DAEMON {
            assert!(!text.contains(bad), "suggests {bad}: {text}");
        }
    }
}

fn run(env: &TestEnv, args: &[&str]) -> Output {
    let mut c = env.command(BIN);
    c.args(args)
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let o = run_with_input(&mut c, None);
    no_second_daemon(&o);
    assert_output_has_no(&o, &[SECRET]);
    o
}

const SETUP: [&str; 7] = [
    "setup",
    "--keys-from-env",
    "--no-verify",
    "--role-arn",
    "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
    "--region",
    "eu-west-1",
];

#[test]
fn a_locked_keyring_is_named_with_its_fix() {
    let mut env = TestEnv::secret_service();
    ok(&run(&env, &SETUP));
    let Keyring::SecretService(ss) = &mut env.keyring else {
        unreachable!()
    };
    ss.restart_locked();

    let locked = [
        "default keyring is locked",
        "Seahorse",
        "log in to a desktop session",
        "CROSSROLE_BACKEND=",
    ];
    fails_with(&run(&env, &["credential-process", "green"]), &locked);
    fails_with(&run(&env, &SETUP), &locked);

    let list = ok(&run(&env, &["list"]));
    assert!(list.contains("secret-service (locked)"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&run(&env, &["list", "--json"]))).unwrap();
    for row in json.as_array().unwrap() {
        assert_eq!(row["keyring"], "locked", "{row}");
    }

    let doctor = run(&env, &["doctor", "--offline"]);
    assert!(!doctor.status.success());
    let text = stdout(&doctor);
    assert!(text.contains("default keyring is locked"), "{text}");
    assert!(text.contains("fix: unlock the keyring"), "{text}");
}

#[test]
fn a_secret_service_without_a_default_keyring_is_named_with_its_fix() {
    // gnome-keyring on a bus, outside any login: no login keyring, no default.
    let tmp = tempfile::tempdir().unwrap();
    let mut ss = PrivateSecretService::start_bus_only(tmp.path());
    ss.restart_locked();
    let mut env = TestEnv::keyutils();
    env.keyring = Keyring::SecretService(ss);

    let o = run(&env, &SETUP);
    fails_with(
        &o,
        &[
            "no default keyring",
            "Log in to a desktop session",
            "Seahorse",
            "CROSSROLE_BACKEND=",
        ],
    );
    assert!(!stderr(&o).contains("is locked"), "{}", stderr(&o));

    env.write_config(&hand_written_config(
        "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
    ));
    let list = ok(&run(&env, &["list"]));
    assert!(list.contains("secret-service (unavailable)"), "{list}");
    assert!(!list.contains("(locked)"), "{list}");
}

#[test]
fn a_bus_without_a_secret_service_suggests_no_second_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let ss = PrivateSecretService::start_bus_only(tmp.path());
    let mut env = TestEnv::keyutils();
    env.keyring = Keyring::SecretService(ss);
    fails_with(
        &run(&env, &SETUP),
        &["No Secret Service is running", "CROSSROLE_BACKEND=keyutils"],
    );
    env.write_config(&hand_written_config(
        "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
    ));
    let list = ok(&run(&env, &["list"]));
    assert!(list.contains("secret-service (unavailable)"), "{list}");
    // No bus at all (the message once suggested `dbus-run-session`).
    let mut env = TestEnv::keyutils();
    env.extra_env
        .push(("CROSSROLE_BACKEND".into(), "secret-service".into()));
    fails_with(
        &run(&env, &SETUP),
        &[
            "No D-Bus session bus was found",
            "CROSSROLE_BACKEND=keyutils",
        ],
    );
}
