//! Exit statuses scripts can tell apart: 1 for a failure, 2 for a wrong
//! command line (as clap's own errors), 3 when an MFA code or a passphrase
//! is needed and nobody can be asked.

use crate::common;

use std::process::Output;

use common::*;

const FAILURE: i32 = 1;
const USAGE: i32 = 2;
const NEEDS_PERSON: i32 = 3;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";
const SERIAL: &str = "arn:aws:iam::111111111111:mfa/s3-prod-user";
const KEY_ID: &str = "AKIAEXITCODES0000001";
const SECRET: &str = "exitCodesSecretKeyValue0123456789abcdefg";

#[track_caller]
fn exits(o: &Output, code: i32, parts: &[&str]) -> String {
    let err = fails_with(o, parts);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Green's key stored and role profile blue written, without STS (`extra`
/// adds setup flags). STS is a closed loopback port.
fn stored(env: TestEnv, extra: &[&str]) -> TestEnv {
    let mut env = env;
    env.endpoint = Some(closed_port_url());
    let mut args = vec![
        "setup",
        "--source-profile",
        "green",
        "--target-profile",
        "blue",
        "--role-arn",
        ROLE_ARN,
        "--region",
        "eu-west-1",
        "--access-key-id",
        KEY_ID,
        "--no-verify",
    ];
    args.extend_from_slice(extra);
    ok(&env.crossrole(&args, Some(&format!("{SECRET}\n"))));
    env
}

/// crossrole in a new session: no controlling terminal, stdin a pipe
/// (`input`, else empty), and (the environment being cleared) no DISPLAY.
fn detached(env: &TestEnv, vars: &[(&str, &str)], args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = env.command("setsid");
    cmd.arg("-w").arg(BIN).args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run_with_input(&mut cmd, input)
}

#[test]
fn a_wrong_command_line_exits_2() {
    let env = stored(TestEnv::keyutils(), &[]);
    // A PROFILE name no profile can have.
    exits(
        &env.crossrole(&["export", "bad name"], None),
        USAGE,
        &["PROFILE"],
    );
    exits(
        &env.crossrole(&["credential-process", "a;b"], None),
        USAGE,
        &["PROFILE"],
    );
    // Bad flag values, checked by crossrole rather than clap.
    exits(
        &env.crossrole(
            &["exec", "blue", "--region", "not a region", "--", "true"],
            None,
        ),
        USAGE,
        &["--region"],
    );
    exits(
        &env.crossrole(&["setup", "--role-arn", "arn:nope"], None),
        USAGE,
        &["--role-arn"],
    );
    exits(
        &crossrole_bare(&[
            "policy",
            "--green-account",
            "12345",
            "--blue-account",
            "222222222222",
            "--bucket",
            "the-bucket",
        ]),
        USAGE,
        &["--green-account", "12 digits"],
    );
    // clap's own: an unknown flag.
    exits(
        &env.crossrole(&["export", "blue", "--no-such-flag"], None),
        USAGE,
        &["--no-such-flag"],
    );
}

#[test]
fn a_failure_exits_1() {
    let env = stored(TestEnv::keyutils(), &[]);
    // STS unreachable.
    exits(
        &env.crossrole(&["credential-process", "blue"], None),
        FAILURE,
        &["cannot reach STS"],
    );
    // A well-formed profile that is not there.
    exits(
        &env.crossrole(&["credential-process", "nosuch"], None),
        FAILURE,
        &["profile `nosuch` is not in"],
    );
    // A bad crossrole_* value in the config.
    env.set_profile_key("blue", "crossrole_duration_seconds", Some("12"));
    exits(
        &env.crossrole(&["credential-process", "blue"], None),
        FAILURE,
        &["profile `blue`", "crossrole_duration_seconds"],
    );
}

#[test]
fn an_mfa_code_with_nobody_to_ask_exits_3() {
    let env = stored(TestEnv::keyutils(), &["--mfa-serial", SERIAL]);
    for args in [
        &["credential-process", "blue"][..],
        &["exec", "blue", "--", "true"][..],
    ] {
        exits(
            &detached(&env, &[], args, None),
            NEEDS_PERSON,
            &["needs an MFA code", SERIAL, "no terminal"],
        );
    }
    // Asking on the terminal only, with no terminal: the same.
    env.set_profile_key("blue", "crossrole_mfa_prompt", Some("terminal"));
    exits(
        &detached(&env, &[], &["credential-process", "blue"], None),
        NEEDS_PERSON,
        &["needs an MFA code", "no terminal"],
    );
    // A code program that is not installed is a broken setting, not a
    // question nobody can answer.
    env.set_profile_key("blue", "crossrole_mfa_prompt", Some("process"));
    env.set_profile_key(
        "blue",
        "crossrole_mfa_process",
        Some("no-such-otp-program-crossrole-test"),
    );
    exits(
        &detached(&env, &[], &["credential-process", "blue"], None),
        FAILURE,
        &["no-such-otp-program-crossrole-test", "not installed"],
    );
}

#[test]
fn a_keys_file_passphrase_with_nobody_to_ask_exits_3() {
    let mut env = TestEnv::keyutils();
    env.extra_env.extend([
        ("CROSSROLE_BACKEND".to_string(), "file".to_string()),
        ("CROSSROLE_FILE_UNLOCK_SECONDS".to_string(), "0".to_string()),
    ]);
    // A new keys file: its passphrase cannot be asked.
    exits(
        &detached(
            &env,
            &[],
            &[
                "setup",
                "--source-profile",
                "green",
                "--access-key-id",
                KEY_ID,
                "--role-arn",
                ROLE_ARN,
                "--region",
                "eu-west-1",
                "--no-verify",
            ],
            Some(&format!("{SECRET}\n")),
        ),
        NEEDS_PERSON,
        &["no terminal"],
    );
    assert!(!env.config.exists(), "nothing written");
    // An existing one, locked.
    let pass = ("CROSSROLE_FILE_PASSPHRASE", "correct horse battery staple");
    env.extra_env.push((pass.0.to_string(), pass.1.to_string()));
    let mut env = stored(env, &[]);
    env.extra_env.retain(|(k, _)| k != pass.0);
    exits(
        &detached(&env, &[], &["credential-process", "green"], None),
        NEEDS_PERSON,
        &["keys.age", "is locked and there is no terminal"],
    );
    // With the passphrase the same call opens the file: the key is there.
    let out = detached(&env, &[pass], &["credential-process", "green"], None);
    assert!(ok(&out).contains(KEY_ID));
}
