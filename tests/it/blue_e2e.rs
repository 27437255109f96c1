//! The Blue issue end to end: the whole two-account tutorial through the real
//! AWS CLI and boto3 against moto_server with IAM enforcement on, with STS
//! calls counted at the endpoint.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

use common::{cmd_world as world, tutorial_commands};

#[test]
fn tutorial_with_aws_cli_keyutils_cache() {
    let w = world(TestEnv::keyutils(), &[]);
    // setup verified the role once and warmed the cache with that session.
    assert_eq!(w.proxy.assume_role_calls(), 1);
    tutorial_commands(&w);
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "cached session must be reused"
    );
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn tutorial_with_aws_cli_secret_service_only() {
    let mut env = TestEnv::secret_service();
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    let w = world(env, &[]);
    tutorial_commands(&w);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn boto3_through_credential_process() {
    let w = world(TestEnv::keyutils(), &[]);
    let script = format!(
        r#"
import boto3
s = boto3.Session(profile_name="blue")
print(s.client("sts").get_caller_identity()["Arn"])
s3 = s.client("s3")
s3.put_object(Bucket="{b}", Key="from-boto3", Body=b"x")
print([o["Key"] for o in s3.list_objects_v2(Bucket="{b}")["Contents"]])
try:
    s3.get_object(Bucket="other-bucket", Key="secret.txt")
    print("NOT DENIED")
except Exception as e:
    print("denied", type(e).__name__)
"#,
        b = w.t.bucket
    );
    let out = ok(&run_with_input(
        w.env.command("python3").args(["-c", &script]),
        None,
    ));
    assert!(
        out.contains("assumed-role/CrossAccountS3Access-Role"),
        "{out}"
    );
    assert!(out.contains("from-boto3"), "{out}");
    assert!(
        out.contains("denied ") && !out.contains("NOT DENIED"),
        "{out}"
    );
    assert_eq!(w.proxy.assume_role_calls(), 1);
}

#[test]
fn second_call_is_served_from_cache_and_cold_call_makes_one_request() {
    let w = world(TestEnv::keyutils(), &["--no-verify"]);
    assert_eq!(w.proxy.assume_role_calls(), 0);
    let first = ok(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let second = ok(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    assert_eq!(first, second);
    let v: serde_json::Value = serde_json::from_str(first.trim()).unwrap();
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(v["SessionToken"].as_str().is_some());
    assert!(v["Expiration"].as_str().unwrap().ends_with('Z'));
    w.env
        .assert_no_file_contains(v["SessionToken"].as_str().unwrap());
    w.env
        .assert_no_file_contains(v["SecretAccessKey"].as_str().unwrap());
}

#[test]
fn fifty_concurrent_cold_callers_make_one_assume_role() {
    let w = world(TestEnv::keyutils(), &["--no-verify"]);
    let children: Vec<_> = (0..50)
        .map(|_| {
            w.env
                .command(BIN)
                .args(["credential-process", "blue"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for o in &outputs {
        let doc = ok(o);
        let v: serde_json::Value = serde_json::from_str(doc.trim()).expect("valid JSON");
        keys.insert(v["AccessKeyId"].as_str().unwrap().to_string());
    }
    assert_eq!(w.proxy.assume_role_calls(), 1);
    assert_eq!(keys.len(), 1, "all callers got the one session");
}
