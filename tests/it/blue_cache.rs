//! The Blue session cache against moto_server with IAM enforcement on, STS
//! calls counted at the endpoint: the 15-minute refresh window, every input of
//! the cache key (role, source key, external id, session name, duration), and
//! a corrupt cache entry in the kernel keyring.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

/// What these tests ask of the tutorial world.
trait BlueCache {
    fn s(&self, k: &str) -> String;
    fn blue(&self) -> serde_json::Value;
    fn blue_identity(&self) -> String;
    fn assert_nothing_on_disk(&self, docs: &[&serde_json::Value]);
}

impl BlueCache for CmdWorld {
    fn s(&self, k: &str) -> String {
        self.t.json[k]
            .as_str()
            .unwrap_or_else(|| panic!("fixture has no {k}"))
            .to_string()
    }

    fn blue(&self) -> serde_json::Value {
        let o = self.env.crossrole(&["credential-process", "blue"], None);
        assert_output_has_no(&o, &[&self.t.secret_access_key]);
        assert!(stderr(&o).is_empty(), "{}", stderr(&o));
        process_doc(&o)
    }

    /// `aws --profile blue sts get-caller-identity` through the real AWS CLI.
    fn blue_identity(&self) -> String {
        ok(&self
            .env
            .aws(&["--profile", "blue", "sts", "get-caller-identity"]))
    }

    /// Nothing secret on disk: the Green secrets and every session token seen.
    fn assert_nothing_on_disk(&self, docs: &[&serde_json::Value]) {
        self.env.assert_no_file_contains(&self.t.secret_access_key);
        if let Some(s) = self.t.json["secret_access_key_2"].as_str() {
            self.env.assert_no_file_contains(s);
        }
        for d in docs {
            self.env
                .assert_no_file_contains(d["SessionToken"].as_str().unwrap());
            self.env
                .assert_no_file_contains(d["SecretAccessKey"].as_str().unwrap());
        }
    }
}

#[test]
fn a_session_inside_the_refresh_window_is_never_served() {
    // 900 s is the shortest session STS gives, and it is already inside the
    // 15 minutes in which botocore asks again: every call must refresh.
    let w = cmd_world_with(
        TestEnv::keyutils(),
        &[],
        &["--duration-seconds", "900", "--no-verify"],
    );
    assert!(w
        .env
        .read_config()
        .contains("crossrole_duration_seconds = 900"));
    assert_eq!(w.proxy.assume_role_calls(), 0);
    let first = w.blue();
    let left = seconds_left(&first);
    assert!(
        (800..=900).contains(&left),
        "moto must honour DurationSeconds: {left} s left"
    );
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let second = w.blue();
    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "a 900 s session must not be served from the cache"
    );
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    let third = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 3);
    w.assert_nothing_on_disk(&[&first, &second, &third]);
}

#[test]
fn a_one_hour_session_is_served_from_the_cache() {
    let w = cmd_world_with(TestEnv::keyutils(), &[], &["--no-verify"]);
    let first = w.blue();
    let left = seconds_left(&first);
    assert!(
        (3500..=3600).contains(&left),
        "default duration is one hour: {left} s left"
    );
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let second = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 1);
    assert_eq!(first, second);
    w.assert_nothing_on_disk(&[&first]);
}

#[test]
fn a_longer_session_than_the_window_is_cached_too() {
    // 1000 s: 16 minutes and a bit, so just outside the window: served.
    let w = cmd_world_with(
        TestEnv::keyutils(),
        &[],
        &["--duration-seconds", "1000", "--no-verify"],
    );
    let first = w.blue();
    let second = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 1);
    assert_eq!(first, second);
    w.assert_nothing_on_disk(&[&first]);
}

#[test]
fn changing_the_role_arn_never_serves_the_old_session() {
    let w = cmd_world_with(TestEnv::keyutils(), &["--second-role", "Second-Role"], &[]);
    // setup verified the role with one AssumeRole and cached that session.
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let first = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 1);

    let second_arn = w.s("second_role_arn");
    w.env
        .set_profile_key("blue", "crossrole_role_arn", Some(&second_arn));
    let second = w.blue();
    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "a new role needs a new session"
    );
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    let who = w.blue_identity();
    assert!(
        who.contains("assumed-role/Second-Role/crossrole-tester"),
        "{who}"
    );
    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "the AWS CLI got the cached second session"
    );

    // Back to the first role: its own (still fresh) session, not the second's.
    w.env
        .set_profile_key("blue", "crossrole_role_arn", Some(&w.s("role_arn")));
    let back = w.blue();
    assert_eq!(back["AccessKeyId"], first["AccessKeyId"]);
    let who = w.blue_identity();
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role/"),
        "{who}"
    );
    assert_eq!(w.proxy.assume_role_calls(), 2);
    w.assert_nothing_on_disk(&[&first, &second]);
}

#[test]
fn changing_the_source_key_never_serves_the_old_session() {
    let w = cmd_world_with(TestEnv::keyutils(), &["--two-keys"], &[]);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let first = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 1);

    let new_id = w.s("access_key_id_2");
    let new_secret = w.s("secret_access_key_2");
    let o = w.env.crossrole(
        &["setup", "--access-key-id", &new_id, "--no-verify"],
        Some(&format!("{new_secret}\n")),
    );
    let summary = ok(&o);
    assert_output_has_no(&o, &[&new_secret, &w.s("secret_access_key")]);
    assert!(summary.contains("stored key"), "{summary}");
    assert_eq!(w.proxy.assume_role_calls(), 1);

    // Green now serves the new key...
    let green = process_doc(&w.env.crossrole(&["credential-process", "green"], None));
    assert_eq!(green["AccessKeyId"], new_id.as_str());
    // ...and Blue's next call makes a session with it.
    let second = w.blue();
    assert_eq!(
        w.proxy.assume_role_calls(),
        2,
        "a new source key needs a new session"
    );
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    let third = w.blue();
    assert_eq!(w.proxy.assume_role_calls(), 2);
    assert_eq!(second, third);
    let who = w.blue_identity();
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role/"),
        "{who}"
    );
    assert_eq!(w.proxy.assume_role_calls(), 2);
    w.assert_nothing_on_disk(&[&first, &second]);
}

#[test]
fn changing_external_id_session_name_or_duration_misses_the_cache() {
    let w = cmd_world_with(TestEnv::keyutils(), &[], &["--no-verify"]);
    let mut docs = vec![w.blue()];
    assert_eq!(w.proxy.assume_role_calls(), 1);

    let steps: [(&str, Option<&str>); 6] = [
        ("crossrole_external_id", Some("ext-1")),
        ("crossrole_external_id", Some("ext-2")),
        ("crossrole_role_session_name", Some("other-session")),
        ("crossrole_duration_seconds", Some("1800")),
        ("crossrole_duration_seconds", Some("2700")),
        // Back to no external id: still a different key (name + duration set).
        ("crossrole_external_id", None),
    ];
    for (i, (key, value)) in steps.iter().enumerate() {
        w.env.set_profile_key("blue", key, *value);
        let doc = w.blue();
        assert_eq!(
            w.proxy.assume_role_calls(),
            i + 2,
            "{key} = {value:?} must miss the cache"
        );
        for old in &docs {
            assert_ne!(
                old["AccessKeyId"], doc["AccessKeyId"],
                "{key} = {value:?} served an old session"
            );
        }
        // The same settings again: served from the cache.
        assert_eq!(w.blue(), doc);
        assert_eq!(w.proxy.assume_role_calls(), i + 2);
        docs.push(doc);
    }
    let last = docs.last().unwrap();
    let left = seconds_left(last);
    assert!(
        (2600..=2700).contains(&left),
        "duration 2700 honoured: {left}"
    );
    let who = w.blue_identity();
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role/other-session"),
        "{who}"
    );
    assert_eq!(w.proxy.assume_role_calls(), steps.len() + 1);
    let refs: Vec<&serde_json::Value> = docs.iter().collect();
    w.assert_nothing_on_disk(&refs);
}

#[test]
fn a_corrupt_cache_entry_is_dropped_and_refreshed() {
    let w = cmd_world_with(TestEnv::keyutils(), &[], &[]);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let mut docs = vec![w.blue()];
    assert_eq!(w.proxy.assume_role_calls(), 1);

    let garbage: [&str; 5] = [
        "garbage",
        "{\"AccessKeyId\":\"ASIA",
        "{\"Version\":1}",
        "{\"AccessKeyId\":\"ASIAFAKEFAKEFAKEFAKE\",\"SecretAccessKey\":\"x\",\"SessionToken\":\"y\",\"Expiration\":\"not a date\"}",
        "",
    ];
    for (i, junk) in garbage.iter().enumerate() {
        let keys = session_keyring_keys("crossrole:session:blue:");
        assert_eq!(keys.len(), 1, "one cached session for blue: {keys:?}");
        let (id, _) = &keys[0];
        let upd = if junk.is_empty() {
            // Binary junk through stdin.
            let mut c = std::process::Command::new("keyctl");
            c.args(["pupdate", id])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default());
            run_with_input(&mut c, Some("\u{1}\u{2}\u{7f}\u{0}\u{ff}"))
        } else {
            keyctl(&["update", id, junk])
        };
        assert!(upd.status.success(), "keyctl update: {}", stderr(&upd));

        let doc = w.blue();
        assert!(
            doc["AccessKeyId"].as_str().unwrap().starts_with("ASIA"),
            "{doc}"
        );
        assert_ne!(doc["AccessKeyId"], "ASIAFAKEFAKEFAKEFAKE");
        assert_eq!(
            w.proxy.assume_role_calls(),
            i + 2,
            "{junk:?} must be refreshed, not served"
        );
        // The refreshed session replaced the junk.
        assert_eq!(w.blue(), doc);
        assert_eq!(w.proxy.assume_role_calls(), i + 2);
        docs.push(doc);
    }

    // A corrupt key-id index is rebuilt from the keyring, and the cached
    // session is still found.
    let index = session_keyring_keys("crossrole:keyid:green");
    assert_eq!(index.len(), 1, "{index:?}");
    assert!(keyctl(&["update", &index[0].0, "not-a-key-id"])
        .status
        .success());
    let doc = w.blue();
    assert_eq!(&doc, docs.last().unwrap());
    let calls = w.proxy.assume_role_calls();
    assert_eq!(calls, garbage.len() + 1);

    let refs: Vec<&serde_json::Value> = docs.iter().collect();
    w.assert_nothing_on_disk(&refs);
    drop(w.moto);
}
