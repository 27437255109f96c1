//! `crossrole list` and `crossrole clear` end to end: session state before
//! and after a cached session, masked key ids, no network for `list`, and
//! `clear` forcing the next call to make a new AssumeRole.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

fn list_json(env: &TestEnv) -> Vec<serde_json::Value> {
    let out = env.crossrole(&["list", "--json"], None);
    let text = ok(&out);
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap_or_else(|e| panic!("list --json is not JSON ({e}): {text}"))
        .as_array()
        .cloned()
        .unwrap()
}

fn row<'a>(rows: &'a [serde_json::Value], profile: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["profile"] == profile)
        .unwrap_or_else(|| panic!("no row for {profile}: {rows:?}"))
}

/// The table line of `profile`.
fn table_line(text: &str, profile: &str) -> String {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(profile))
        .unwrap_or_else(|| panic!("no line for {profile}:\n{text}"))
        .to_string()
}

fn masked(id: &str) -> String {
    format!("{}…{}", &id[..4], &id[id.len() - 4..])
}

#[test]
fn list_shows_session_state_masked_keys_and_needs_no_network() {
    let mut w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let sts = w.env.endpoint.clone();
    // No network: STS is a closed port while listing.
    w.env.endpoint = Some(closed_port_url());
    let secrets = [w.t.access_key_id.as_str(), w.t.secret_access_key.as_str()];

    let rows = list_json(&w.env);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let blue = row(&rows, "blue");
    assert_eq!(blue["type"], "role");
    assert_eq!(blue["session"], "none");
    assert_eq!(blue["source_profile"], "green");
    assert_eq!(blue["role_arn"], w.t.role_arn.as_str());
    assert_eq!(blue["key_id"], masked(&w.t.access_key_id).as_str());
    assert!(blue["problem"].is_null(), "{blue}");
    let green = row(&rows, "green");
    assert_eq!(green["type"], "key");
    assert_eq!(green["session"], "n/a");
    assert_eq!(green["backend"], "keyutils");
    assert_eq!(green["key_id"], masked(&w.t.access_key_id).as_str());

    let out = w.env.crossrole(&["list"], None);
    let table = ok(&out);
    assert!(table.starts_with("PROFILE"), "{table}");
    let line = table_line(&table, "blue");
    assert!(
        line.contains("none") && line.contains(&masked(&w.t.access_key_id)),
        "{line}"
    );
    assert!(line.contains(&w.t.role_arn), "{line}");
    assert_output_has_no(&out, &secrets);
    assert_eq!(
        w.proxy.assume_role_calls() + w.proxy.caller_identity_calls(),
        0
    );

    // A cached session.
    w.env.endpoint = sts.clone();
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    w.env.endpoint = Some(closed_port_url());

    let rows = list_json(&w.env);
    let blue = row(&rows, "blue");
    assert_eq!(blue["session"], "valid", "{blue}");
    let minutes = blue["minutes_left"].as_i64().unwrap();
    assert!(minutes > 15 && minutes <= 60, "{blue}");
    assert_eq!(blue["expires"], doc["Expiration"]);
    let out = w.env.crossrole(&["list", "--json"], None);
    assert_output_has_no(
        &out,
        &[
            &w.t.access_key_id,
            &w.t.secret_access_key,
            doc["AccessKeyId"].as_str().unwrap(),
            doc["SecretAccessKey"].as_str().unwrap(),
            doc["SessionToken"].as_str().unwrap(),
        ],
    );
    let out = w.env.crossrole(&["list"], None);
    let line = table_line(&ok(&out), "blue");
    assert!(line.contains("valid"), "{line}");
    assert_output_has_no(&out, &secrets);
    assert_output_has_no(&out, &[doc["SessionToken"].as_str().unwrap()]);
    assert_eq!(w.proxy.assume_role_calls(), 1, "list made no STS call");
    assert_eq!(w.proxy.caller_identity_calls(), 0, "list made no STS call");

    // Cleared: none again.
    ok(&w.env.crossrole(&["clear", "blue"], None));
    assert_eq!(row(&list_json(&w.env), "blue")["session"], "none");

    w.env.assert_no_file_contains(&w.t.secret_access_key);
    w.env
        .assert_no_file_contains(doc["SessionToken"].as_str().unwrap());
}

#[test]
fn list_without_profiles_or_keys() {
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(closed_port_url());
    // No config at all.
    let text = ok(&env.crossrole(&["list"], None));
    assert!(text.contains("crossrole setup"), "{text}");
    assert_eq!(list_json(&env).len(), 0);
    // Profiles written by hand, no key in the keyring: a problem, no crash.
    env.write_config(&format!(
        "# mine\n[default]\nregion = us-east-1\n\n{}",
        hand_written_config("arn:aws:iam::222222222222:role/R")
    ));
    let rows = list_json(&env);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let blue = row(&rows, "blue");
    assert_eq!(blue["session"], "none");
    assert!(blue["key_id"].is_null());
    assert!(
        blue["problem"].as_str().unwrap().contains("green"),
        "{blue}"
    );
    let table = ok(&env.crossrole(&["list"], None));
    assert!(table_line(&table, "blue").contains("no key"), "{table}");
    assert!(!table.lines().any(|l| l.starts_with("default")), "{table}");

    // A keyring that cannot be reached is said so, not taken for a missing key.
    let dead_bus = env.tmp.path().join("no-bus-here");
    env.extra_env.extend([
        (
            "CROSSROLE_BACKEND".to_string(),
            "secret-service".to_string(),
        ),
        (
            "DBUS_SESSION_BUS_ADDRESS".to_string(),
            format!("unix:path={}", dead_bus.display()),
        ),
    ]);
    let started = std::time::Instant::now();
    let rows = list_json(&env);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let problem = row(&rows, "green")["problem"].as_str().unwrap().to_string();
    assert!(problem.contains("keyring"), "{problem}");
    assert!(!problem.contains("no key stored"), "{problem}");
    assert_eq!(row(&rows, "green")["backend"], "secret-service");
}

#[test]
fn clear_profile_and_clear_all_force_a_new_assume_role() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    let first = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1, "cached");

    // Another profile's sessions are not touched.
    let out = ok(&env.crossrole(&["clear", "green"], None));
    assert!(out.contains("cleared 0"), "{out}");
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);

    let out = ok(&env.crossrole(&["clear", "blue"], None));
    assert!(out.contains("cleared 1") && out.contains("blue"), "{out}");
    assert!(session_keyring_keys("crossrole:session:blue:").is_empty());
    let second = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "clear blue forced a new AssumeRole"
    );
    assert_ne!(first["SessionToken"], second["SessionToken"]);
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 2, "the new session is cached");

    let out = ok(&env.crossrole(&["clear"], None));
    assert!(out.contains("cleared 1"), "{out}");
    let third = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(
        w.proxy.assume_role_calls(),
        3,
        "clear (all) forced a new AssumeRole"
    );
    assert_ne!(second["SessionToken"], third["SessionToken"]);

    // Clearing twice is fine; the key itself is never cleared.
    ok(&env.crossrole(&["clear"], None));
    let out = ok(&env.crossrole(&["clear"], None));
    assert!(out.contains("cleared 0"), "{out}");
    let g = process_doc(&env.crossrole(&["credential-process", "green"], None));
    assert_eq!(g["AccessKeyId"], w.t.access_key_id.as_str());

    env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn clear_with_sessions_in_the_secret_service() {
    let mut env = TestEnv::secret_service();
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    let w = cmd_world(env, &["--no-verify"]);
    let env = &w.env;
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    assert_eq!(row(&list_json(env), "blue")["session"], "valid");

    let out = ok(&env.crossrole(&["clear", "blue"], None));
    assert!(out.contains("cleared 1"), "{out}");
    assert_eq!(row(&list_json(env), "blue")["session"], "none");
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 2);

    let out = ok(&env.crossrole(&["clear"], None));
    assert!(out.contains("cleared 1"), "{out}");
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 3);
    env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn clear_unknown_profile_fails_like_other_commands() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    process_doc(&env.crossrole(&["credential-process", "blue"], None));
    let config = env.config.display().to_string();
    let export = env.crossrole(&["export", "nosuch"], None);
    fails_with(&export, &["nosuch", "is not in", &config]);
    let clear = env.crossrole(&["clear", "nosuch"], None);
    fails_with(
        &clear,
        &["profile `nosuch` is not in", &config, "crossrole list"],
    );
    // Blue's session is untouched by the failed call.
    assert_eq!(session_keyring_keys("crossrole:session:blue:").len(), 1);

    // A profile whose section was deleted by hand can still have its sessions cleared.
    let text = env.read_config();
    let cut = text.find("[profile blue]").unwrap();
    env.write_config(&text[..cut]);
    let out = ok(&env.crossrole(&["clear", "blue"], None));
    assert!(out.contains("cleared 1"), "{out}");
    fails_with(
        &env.crossrole(&["clear", "blue"], None),
        &["`blue`", "is not in"],
    );
}
