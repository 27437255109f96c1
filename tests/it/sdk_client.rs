//! The AWS SDK for Rust as a second real client: its default credential
//! chain, with AWS_PROFILE=blue, runs crossrole through `credential_process`
//! (`sh -c`, no stdin) and calls STS GetCallerIdentity in moto as Blue. A
//! second SDK process reuses the session crossrole cached.
//!
//! The SDK runs in a child process (this test binary run again, for the
//! ignored `sdk_identity_child`), so its environment is set on the child.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

/// Marks the child run; never set by anything but the parent test below.
const CHILD_MARK: &str = "CROSSROLE_TEST_SDK_CHILD";

/// The SDK side: the default chain and GetCallerIdentity, printing the ARN.
/// Run only by `sdk_default_chain_runs_crossrole_and_reuses_the_cache`.
#[test]
#[ignore = "run as a child process by sdk_default_chain_runs_crossrole_and_reuses_the_cache"]
fn sdk_identity_child() {
    assert!(
        std::env::var_os(CHILD_MARK).is_some(),
        "run by sdk_default_chain_runs_crossrole_and_reuses_the_cache only"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let arn = rt.block_on(async {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let id = aws_sdk_sts::Client::new(&conf)
            .get_caller_identity()
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "GetCallerIdentity: {}",
                    aws_sdk_sts::error::DisplayErrorContext(e)
                )
            });
        id.arn().unwrap_or_default().to_string()
    });
    println!("SDK-ARN={arn}");
}

/// Runs `sdk_identity_child` in a new process with `env`'s environment and
/// AWS_PROFILE=blue; returns the ARN it printed.
fn sdk_identity(env: &TestEnv) -> String {
    let me = std::env::current_exe().expect("test binary path");
    let mut cmd = env.command(me.to_str().unwrap());
    cmd.args([
        "sdk_client::sdk_identity_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("AWS_PROFILE", "blue")
    .env(CHILD_MARK, "1");
    let out = run_with_input(&mut cmd, None);
    let text = ok(&out);
    // libtest prints the test's name on the same line as its output.
    text.split("SDK-ARN=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ARN from the SDK child:\n{text}\n{}", stderr(&out)))
        .to_string()
}

#[test]
fn sdk_default_chain_runs_crossrole_and_reuses_the_cache() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    assert_eq!(w.proxy.assume_role_calls(), 0);

    let arn = sdk_identity(&w.env);
    assert!(
        arn.starts_with("arn:aws:sts::222222222222:assumed-role/CrossAccountS3Access-Role/"),
        "the SDK is not Blue: {arn}"
    );
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "crossrole assumed the role once"
    );
    assert_eq!(
        w.proxy.caller_identity_calls(),
        1,
        "the SDK's call went to moto"
    );

    // A new SDK process: the cached session is served, no new AssumeRole.
    let again = sdk_identity(&w.env);
    assert_eq!(again, arn);
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "the second process reused the cache"
    );
    assert_eq!(w.proxy.caller_identity_calls(), 2);

    w.env.assert_no_file_contains(&w.t.secret_access_key);
}
