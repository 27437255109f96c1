//! What `credential-process blue` says when it cannot get a session: STS
//! refusals from moto_server with IAM enforcement on, a dead or silent
//! endpoint, a missing key and broken crossrole_* settings. Every failure:
//! non-zero exit, nothing on stdout, a message with what to do, no panic and
//! no secret in the output or on disk.

#![cfg(target_os = "linux")]
use crate::common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::cmd_world as world;
use common::*;

const GREEN: &str = "111111111111";

type World = CmdWorld;

impl World {
    /// `credential-process blue`, which must fail saying all of `parts`.
    fn blue_fails(&self, parts: &[&str]) -> String {
        let o = self.env.crossrole(&["credential-process", "blue"], None);
        let err = fails_with(&o, parts);
        assert_output_has_no(&o, &[&self.t.secret_access_key]);
        // The key id is shown masked only.
        assert!(
            !err.contains(&self.t.access_key_id),
            "unmasked key id: {err}"
        );
        err
    }

    fn assert_nothing_on_disk(&self) {
        self.env.assert_no_file_contains(&self.t.secret_access_key);
    }
}

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[test]
fn access_denied_names_the_role_the_trust_policy_and_the_permission() {
    let w = world(TestEnv::keyutils(), &[]);
    let other = "arn:aws:iam::222222222222:role/Other";
    w.env
        .set_profile_key("blue", "crossrole_role_arn", Some(other));
    let calls = w.proxy.assume_role_calls();
    let err = w.blue_fails(&[
        "access denied",
        other,
        "`blue`",
        "`green`",
        "trust policy",
        "sts:AssumeRole",
        "crossrole policy",
    ]);
    assert!(
        err.contains(&w.t.access_key_id[..4]),
        "masked key id shown: {err}"
    );
    assert_eq!(
        w.proxy.assume_role_calls(),
        calls + 1,
        "one AssumeRole, no retry storm"
    );
    // The first role's cached session is not served for the other role.
    w.blue_fails(&["access denied", other]);
    w.assert_nothing_on_disk();
}

#[test]
fn a_deleted_key_says_so_and_to_rerun_setup() {
    // --no-verify: no session is cached, so the next call must ask STS.
    let w = world(TestEnv::keyutils(), &["--no-verify"]);
    moto_admin(
        &w.moto,
        GREEN,
        &format!(
            "iam.delete_access_key(UserName='s3-prod-user', AccessKeyId={:?})",
            w.t.access_key_id
        ),
    );
    w.blue_fails(&[
        "does not know the access key",
        "`green`",
        "deleted",
        "rotated",
        "crossrole setup --source-profile green",
    ]);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    w.assert_nothing_on_disk();
}

#[test]
fn a_wrong_secret_says_the_stored_secret_is_wrong() {
    let w = world(TestEnv::keyutils(), &["--no-verify"]);
    let wrong = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGWRONG";
    let o = w.env.crossrole(
        &[
            "setup",
            "--access-key-id",
            &w.t.access_key_id,
            "--no-verify",
        ],
        Some(&format!("{wrong}\n")),
    );
    ok(&o);
    assert_output_has_no(&o, &[wrong, &w.t.secret_access_key]);
    let o = w.env.crossrole(&["credential-process", "blue"], None);
    fails_with(
        &o,
        &[
            "rejected the signature",
            "`green`",
            "secret access key stored for it is wrong",
            "crossrole setup --source-profile green",
        ],
    );
    assert_output_has_no(&o, &[wrong, &w.t.secret_access_key]);
    w.assert_nothing_on_disk();
    w.env.assert_no_file_contains(wrong);
}

#[test]
fn an_unreachable_endpoint_fails_fast_saying_so() {
    let mut w = world(TestEnv::keyutils(), &["--no-verify"]);
    let port = closed_port();
    w.env.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = w.blue_fails(&[
        "cannot reach STS",
        &format!("127.0.0.1:{port}"),
        "AWS_ENDPOINT_URL",
    ]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    w.assert_nothing_on_disk();
}

#[test]
fn an_endpoint_that_never_answers_fails_within_15_seconds() {
    let mut w = world(TestEnv::keyutils(), &["--no-verify"]);
    // Accepts every connection, reads nothing, answers nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            match conn {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
    });
    w.env.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = w.blue_fails(&["did not answer in time", &format!("127.0.0.1:{port}")]);
    let took = started.elapsed();
    eprintln!("a silent endpoint failed after {took:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    w.assert_nothing_on_disk();
}

/// A config written by hand (no setup, no keyring entry), STS at a closed
/// port so that nothing can leave the machine.
fn hand_written(env: TestEnv, blue_body: &str) -> TestEnv {
    let mut env = env;
    env.endpoint = Some(format!("http://127.0.0.1:{}", closed_port()));
    env.write_config(&format!(
        "[profile green]\ncredential_process = \"{bin}\" credential-process green\nregion = eu-west-1\n\n[profile blue]\ncredential_process = \"{bin}\" credential-process blue\nregion = eu-west-1\n{blue_body}",
        bin = BIN
    ));
    env
}

const ROLE: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";

fn missing_key(env: TestEnv) {
    let env = hand_written(
        env,
        &format!("crossrole_source_profile = nokey\ncrossrole_role_arn = {ROLE}\n"),
    );
    let o = env.crossrole(&["credential-process", "blue"], None);
    fails_with(
        &o,
        &[
            "no key for profile `nokey`",
            "crossrole setup --source-profile nokey --access-key-id",
        ],
    );
}

#[test]
fn a_missing_source_key_says_how_to_store_it_keyutils() {
    missing_key(TestEnv::keyutils());
}

#[test]
fn a_missing_source_key_says_how_to_store_it_secret_service() {
    missing_key(TestEnv::secret_service());
}

#[test]
fn broken_crossrole_settings_are_explained() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("crossrole_role_arn = {ROLE}\n"),
            vec!["profile `blue` has no crossrole_source_profile", "crossrole_source_profile = PROFILE"],
        ),
        (
            "crossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::2222:role/R\n".to_string(),
            vec!["profile `blue`", "crossrole_role_arn", "`2222` is not a 12-digit account id"],
        ),
        (
            "crossrole_source_profile = green\ncrossrole_role_arn = not-an-arn\n".to_string(),
            vec!["profile `blue`", "crossrole_role_arn", "not-an-arn", "is not a role ARN"],
        ),
        (
            format!("crossrole_source_profile = green\ncrossrole_role_arn = {ROLE}\ncrossrole_duration_seconds = 10\n"),
            vec!["profile `blue`", "crossrole_duration_seconds", "`10`", "900", "43200"],
        ),
        (
            format!("crossrole_source_profile = green\ncrossrole_role_arn = {ROLE}\ncrossrole_duration_seconds = one hour\n"),
            vec!["crossrole_duration_seconds", "900"],
        ),
        (
            format!("crossrole_source_profile = blue\ncrossrole_role_arn = {ROLE}\n"),
            vec!["crossrole_source_profile names the profile itself"],
        ),
        (
            "crossrole_source_profile = green\n".to_string(),
            vec!["profile `blue` has crossrole_* settings but no crossrole_role_arn"],
        ),
        (
            format!("crossrole_source_profile = green\ncrossrole_role_arn = {ROLE}\ncrossrole_mfa_serial = 123456\n"),
            vec!["profile `blue`", "crossrole_mfa_serial"],
        ),
    ];
    for (body, parts) in cases {
        let env = hand_written(TestEnv::keyutils(), &body);
        let started = Instant::now();
        let o = env.crossrole(&["credential-process", "blue"], None);
        fails_with(&o, &parts);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{body}: no network needed"
        );
    }

    // A profile that does not exist.
    let env = hand_written(
        TestEnv::keyutils(),
        &format!("crossrole_source_profile = green\ncrossrole_role_arn = {ROLE}\n"),
    );
    let o = env.crossrole(&["credential-process", "purple"], None);
    let config = env.config.display().to_string();
    fails_with(
        &o,
        &["profile `purple` is not in", &config, "crossrole setup"],
    );
    // No config file at all.
    std::fs::remove_file(&env.config).unwrap();
    let o = env.crossrole(&["credential-process", "blue"], None);
    fails_with(&o, &["profile `blue`", "crossrole setup"]);
}
