//! `crossrole exec PROFILE -- CMD…` end to end: the child's environment,
//! exit statuses and signals, nesting, a missing command, and the real AWS
//! CLI run under it (moto with IAM enforcement on).

#![cfg(target_os = "linux")]
use crate::common;

use std::collections::BTreeMap;

use common::*;

/// `env` output as a map.
fn env_map(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn status_code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

#[test]
fn exec_sets_the_environment_passes_statuses_and_refuses_nesting() {
    let mut w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    // Credentials and a profile inherited from the caller must not survive.
    w.env.extra_env.extend([
        (
            "AWS_ACCESS_KEY_ID".to_string(),
            "AKIAINHERITEDINHERIT".to_string(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            "inherited-secret-inherited-secret-000000".to_string(),
        ),
        (
            "AWS_SESSION_TOKEN".to_string(),
            "inherited-token".to_string(),
        ),
        (
            "AWS_SECURITY_TOKEN".to_string(),
            "inherited-token".to_string(),
        ),
        ("AWS_PROFILE".to_string(), "green".to_string()),
        ("AWS_DEFAULT_PROFILE".to_string(), "green".to_string()),
        (
            "AWS_CREDENTIAL_EXPIRATION".to_string(),
            "2000-01-01T00:00:00Z".to_string(),
        ),
        ("UNRELATED_VAR".to_string(), "kept as is".to_string()),
    ]);
    let env = &w.env;

    // The child's environment.
    let out = env.crossrole(&["exec", "blue", "--", "env"], None);
    let vars = env_map(&ok(&out));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let doc = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "exec cached the session it made"
    );
    let key = doc["AccessKeyId"].as_str().unwrap();
    assert!(key.starts_with("ASIA"), "{key}");
    assert_eq!(vars.get("AWS_ACCESS_KEY_ID").map(String::as_str), Some(key));
    assert_eq!(
        vars.get("AWS_SECRET_ACCESS_KEY").map(String::as_str),
        doc["SecretAccessKey"].as_str()
    );
    assert_eq!(
        vars.get("AWS_SESSION_TOKEN").map(String::as_str),
        doc["SessionToken"].as_str()
    );
    assert_eq!(
        vars.get("AWS_CREDENTIAL_EXPIRATION").map(String::as_str),
        doc["Expiration"].as_str()
    );
    assert_eq!(
        vars.get("AWS_REGION").map(String::as_str),
        Some("eu-west-1")
    );
    assert_eq!(
        vars.get("AWS_DEFAULT_REGION").map(String::as_str),
        Some("eu-west-1")
    );
    assert_eq!(
        vars.get("CROSSROLE_PROFILE").map(String::as_str),
        Some("blue")
    );
    for gone in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"] {
        assert!(!vars.contains_key(gone), "{gone} inherited: {vars:?}");
    }
    assert!(
        !ok(&out).contains("inherited"),
        "an inherited credential survived"
    );
    assert_eq!(
        vars.get("UNRELATED_VAR").map(String::as_str),
        Some("kept as is")
    );
    assert_eq!(
        vars.get("HOME").map(String::as_str),
        Some(env.home.to_str().unwrap())
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    // A key profile with --no-session: the long-term key, no session token,
    // and the inherited one is gone too (without it: a GetSessionToken
    // session, tests/mfa_session.rs).
    let vars = env_map(&ok(
        &env.crossrole(&["exec", "green", "--no-session", "--", "env"], None)
    ));
    assert_eq!(vars.get("AWS_ACCESS_KEY_ID"), Some(&w.t.access_key_id));
    assert_eq!(
        vars.get("AWS_SECRET_ACCESS_KEY"),
        Some(&w.t.secret_access_key)
    );
    assert!(!vars.contains_key("AWS_SESSION_TOKEN"), "{vars:?}");
    assert!(!vars.contains_key("AWS_CREDENTIAL_EXPIRATION"), "{vars:?}");
    assert_eq!(
        vars.get("CROSSROLE_PROFILE").map(String::as_str),
        Some("green")
    );

    // Exit statuses pass through.
    let out = env.crossrole(&["exec", "blue", "--", "sh", "-c", "exit 7"], None);
    assert_eq!(status_code(&out), Some(7), "{}", stderr(&out));
    let out = env.crossrole(&["exec", "blue", "--", "true"], None);
    assert_eq!(status_code(&out), Some(0), "{}", stderr(&out));

    // Arguments reach the command untouched, stdin too.
    let out = env.crossrole(
        &[
            "exec",
            "blue",
            "--",
            "sh",
            "-c",
            r#"printf '%s|' "$@"; cat"#,
            "sh",
            "a b",
            "--force",
            "$HOME",
            "",
        ],
        Some("from stdin"),
    );
    assert_eq!(ok(&out), "a b|--force|$HOME||from stdin");

    // A signal death shows to a calling shell as 128+n.
    let script = format!("'{BIN}' exec blue -- sh -c 'kill -TERM $$'; echo $?");
    let out = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert_eq!(out.trim(), "143");
    let script = format!("'{BIN}' exec blue -- sh -c 'kill -KILL $$'; echo $?");
    let out = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert_eq!(out.trim(), "137");

    // Nesting is refused, with a message; --force replaces the credentials.
    let nested = |args: &[&str]| {
        run_with_input(
            env.command(BIN)
                .env("CROSSROLE_PROFILE", "green")
                .args(args),
            None,
        )
    };
    let out = nested(&["exec", "blue", "--", "env"]);
    fails_with(&out, &["already inside", "crossrole exec green", "--force"]);
    let vars = env_map(&ok(&nested(&["exec", "--force", "blue", "--", "env"])));
    assert_eq!(
        vars.get("CROSSROLE_PROFILE").map(String::as_str),
        Some("blue")
    );
    assert_eq!(vars.get("AWS_ACCESS_KEY_ID").map(String::as_str), Some(key));
    // The nested refusal also holds from inside a real exec.
    let script = format!("'{BIN}' exec blue -- true");
    let out = env.crossrole(&["exec", "blue", "--", "sh", "-c", &script], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already inside"), "{}", stderr(&out));

    // A missing command: 127 and a message; one that cannot run: 126.
    let out = env.crossrole(
        &["exec", "blue", "--", "no-such-command-crossrole-test"],
        None,
    );
    assert_eq!(status_code(&out), Some(127));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("not found") && err.contains("no-such-command-crossrole-test"),
        "{err}"
    );
    let not_exec = env.home.join("not-executable.sh");
    std::fs::write(&not_exec, "#!/bin/sh\necho hi\n").unwrap();
    let out = env.crossrole(&["exec", "blue", "--", not_exec.to_str().unwrap()], None);
    assert_eq!(status_code(&out), Some(126), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not-executable.sh"),
        "{}",
        stderr(&out)
    );

    // An unknown profile fails before running anything.
    let out = env.crossrole(&["exec", "nope", "--", "sh", "-c", "echo ran"], None);
    fails_with(&out, &["nope"]);

    // The child starts with SIGPIPE at its default action (Rust ignores it
    // in its own process), so `cmd | head` pipelines behave as in a shell.
    let out = ok(&env.crossrole(
        &[
            "exec",
            "blue",
            "--",
            "grep",
            "^SigIgn:",
            "/proc/self/status",
        ],
        None,
    ));
    let mask = u64::from_str_radix(out.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    const SIGPIPE: u32 = 13;
    assert_eq!(
        mask & (1 << (SIGPIPE - 1)),
        0,
        "SIGPIPE ignored in the child: {out}"
    );

    // --refresh drops the cached session and asks STS for a new one.
    let vars = env_map(&ok(
        &env.crossrole(&["exec", "--refresh", "blue", "--", "env"], None)
    ));
    assert_eq!(w.proxy.assume_role_calls(), 2);
    assert_ne!(vars.get("AWS_ACCESS_KEY_ID").map(String::as_str), Some(key));
    let vars2 = env_map(&ok(&env.crossrole(&["exec", "blue", "--", "env"], None)));
    assert_eq!(
        vars["AWS_SESSION_TOKEN"], vars2["AWS_SESSION_TOKEN"],
        "the new session is cached"
    );
    assert_eq!(w.proxy.assume_role_calls(), 2);

    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "every other exec used the cached session"
    );
    env.assert_no_file_contains(&w.t.secret_access_key);
    env.assert_no_file_contains(doc["SessionToken"].as_str().unwrap());
}

#[test]
fn aws_cli_under_exec_is_the_assumed_role() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    let who = ok(&env.crossrole(
        &["exec", "blue", "--", "aws", "sts", "get-caller-identity"],
        None,
    ));
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role/crossrole-tester"),
        "{who}"
    );
    let who = ok(&env.crossrole(
        &[
            "exec",
            "green",
            "--no-session",
            "--",
            "aws",
            "sts",
            "get-caller-identity",
        ],
        None,
    ));
    assert!(who.contains("user/s3-prod-user"), "{who}");
    // S3 through the session in the environment, no profile involved.
    std::fs::write(env.home.join("foo"), "hello").unwrap();
    let bucket = format!("s3://{}/", w.t.bucket);
    ok(&env.crossrole(
        &["exec", "blue", "--", "aws", "s3", "cp", "foo", &bucket],
        None,
    ));
    let listing = ok(&env.crossrole(
        &[
            "exec",
            "blue",
            "--",
            "aws",
            "s3",
            "ls",
            "--recursive",
            &bucket,
        ],
        None,
    ));
    assert!(listing.contains("foo"), "{listing}");
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "setup's session served every exec"
    );
    env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn exec_under_secret_service() {
    let mut env = TestEnv::secret_service();
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    let w = cmd_world(env, &["--no-verify"]);
    let vars = env_map(&ok(&w.env.crossrole(&["exec", "blue", "--", "env"], None)));
    assert!(vars["AWS_ACCESS_KEY_ID"].starts_with("ASIA"), "{vars:?}");
    assert!(vars.contains_key("AWS_SESSION_TOKEN"));
    let again = env_map(&ok(&w.env.crossrole(&["exec", "blue", "--", "env"], None)));
    assert_eq!(vars["AWS_SESSION_TOKEN"], again["AWS_SESSION_TOKEN"]);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    w.env.assert_no_file_contains(&w.t.secret_access_key);
    w.env.assert_no_file_contains(&vars["AWS_SESSION_TOKEN"]);
}

#[test]
fn exec_without_a_command_starts_a_shell_and_region_overrides() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    let doc = process_doc(&env.crossrole(&["credential-process", "blue"], None));

    // No SHELL: /bin/sh, reading its commands from stdin; its status passes through.
    let out = env.crossrole(
        &["exec", "blue"],
        Some("echo \"profile=$CROSSROLE_PROFILE key=$AWS_ACCESS_KEY_ID region=$AWS_REGION\"; exit 3\n"),
    );
    assert_eq!(status_code(&out), Some(3), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "profile=blue key={} region=eu-west-1",
            doc["AccessKeyId"].as_str().unwrap()
        )
    );

    // $SHELL is the one started.
    let shell = env.home.join("my-shell");
    std::fs::write(
        &shell,
        "#!/bin/sh\necho \"my-shell as $CROSSROLE_PROFILE\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = run_with_input(
        env.command(BIN)
            .env("SHELL", &shell)
            .args(["exec", "--no-session", "green"]),
        None,
    );
    assert_eq!(ok(&out).trim(), "my-shell as green");

    // Inside that shell, another exec is refused and names the profile the shell holds.
    let out = env.crossrole(
        &["exec", "blue"],
        Some(&format!("'{BIN}' exec --no-session green\n")),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("this shell holds profile `blue`") && err.contains("--force"),
        "{err}"
    );

    // --region replaces both region variables, for a command or a shell.
    let vars = env_map(&ok(&env.crossrole(
        &["exec", "--region", "cn-north-1", "blue", "--", "env"],
        None,
    )));
    assert_eq!(vars["AWS_REGION"], "cn-north-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "cn-north-1");
    assert_eq!(
        vars["AWS_ACCESS_KEY_ID"],
        doc["AccessKeyId"].as_str().unwrap()
    );
    let out = env.crossrole(
        &["exec", "--no-session", "--region", "us-gov-west-1", "green"],
        Some("echo $AWS_DEFAULT_REGION\n"),
    );
    assert_eq!(ok(&out).trim(), "us-gov-west-1");
    let out = env.crossrole(&["exec", "--region", "EU WEST", "blue", "--", "true"], None);
    fails_with(&out, &["--region", "not a region name"]);
    assert_eq!(w.proxy.assume_role_calls(), 1);
}
