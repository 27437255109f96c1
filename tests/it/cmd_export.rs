//! `crossrole export PROFILE [--format env|json]` end to end: the env format
//! evaluated by a real shell, then used by the real AWS CLI; the JSON format.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

#[test]
fn export_env_evaluated_by_a_shell_and_json() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;

    let json = ok(&env.crossrole(&["export", "blue", "--format", "json"], None));
    assert_eq!(json.lines().count(), 1, "{json}");
    let doc: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(doc["Version"], 1);
    let token = doc["SessionToken"].as_str().unwrap();
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(doc["Expiration"].as_str().unwrap().ends_with('Z'));
    assert!(seconds_left(&doc) > 15 * 60);
    assert_eq!(w.proxy.assume_role_calls(), 1);

    // The default format is env: `export NAME='value'` lines.
    let text = ok(&env.crossrole(&["export", "blue"], None));
    assert_eq!(
        text,
        ok(&env.crossrole(&["export", "blue", "--format", "env"], None))
    );
    for line in text.lines() {
        assert!(line.starts_with("export AWS_"), "{line}");
    }

    let script = format!(r#"eval "$('{BIN}' export blue)"; printf %s "$AWS_SESSION_TOKEN""#);
    let out = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert_eq!(out, token);
    let script = format!(
        r#"eval "$('{BIN}' export blue)"; printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_CREDENTIAL_EXPIRATION" "$AWS_REGION" "$AWS_DEFAULT_REGION""#
    );
    let out = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            doc["AccessKeyId"].as_str().unwrap(),
            doc["SecretAccessKey"].as_str().unwrap(),
            doc["Expiration"].as_str().unwrap(),
            "eu-west-1",
            "eu-west-1"
        ]
    );
    // bash evaluates it the same way.
    let script = format!(r#"eval "$('{BIN}' export blue)"; printf %s "$AWS_SESSION_TOKEN""#);
    let out = ok(&run_with_input(
        env.command("bash").args(["-c", &script]),
        None,
    ));
    assert_eq!(out, token);

    // The shell, with only what eval set, is the assumed role for the AWS CLI.
    let script = format!(r#"eval "$('{BIN}' export blue)" && aws sts get-caller-identity"#);
    let who = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role/crossrole-tester"),
        "{who}"
    );
    // --no-session: moto under IAM enforcement rejects its own
    // GetSessionToken keys, so the key profile's own key is checked here.
    let script =
        format!(r#"eval "$('{BIN}' export green --no-session)" && aws sts get-caller-identity"#);
    let who = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert!(who.contains("user/s3-prod-user"), "{who}");
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "every export used the cached session"
    );

    // A key profile with --no-session: no session token or expiration in either format.
    let green = ok(&env.crossrole(
        &["export", "green", "--format", "json", "--no-session"],
        None,
    ));
    let g: serde_json::Value = serde_json::from_str(green.trim()).unwrap();
    assert_eq!(g["Version"], 1);
    assert_eq!(g["AccessKeyId"], w.t.access_key_id.as_str());
    assert!(
        g.get("SessionToken").is_none() && g.get("Expiration").is_none(),
        "{green}"
    );
    let text = ok(&env.crossrole(&["export", "green", "--no-session"], None));
    assert!(!text.contains("AWS_SESSION_TOKEN"), "{text}");

    // Failures: nothing on stdout, a message on stderr.
    fails_with(&env.crossrole(&["export", "nope"], None), &["nope"]);
    let out = env.crossrole(&["export", "blue", "--format", "yaml"], None);
    assert!(!out.status.success() && out.stdout.is_empty());

    env.assert_no_file_contains(&w.t.secret_access_key);
    env.assert_no_file_contains(token);
}

#[test]
fn export_under_secret_service() {
    let mut env = TestEnv::secret_service();
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    let w = cmd_world(env, &[]);
    let doc = process_doc(
        &w.env
            .crossrole(&["export", "blue", "--format", "json"], None),
    );
    let script = format!(r#"eval "$('{BIN}' export blue)"; printf %s "$AWS_SESSION_TOKEN""#);
    let out = ok(&run_with_input(
        w.env.command("sh").args(["-c", &script]),
        None,
    ));
    assert_eq!(out, doc["SessionToken"].as_str().unwrap());
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "setup's session served both"
    );
    w.env.assert_no_file_contains(&w.t.secret_access_key);
    w.env
        .assert_no_file_contains(doc["SessionToken"].as_str().unwrap());
}
