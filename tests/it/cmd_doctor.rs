//! `crossrole doctor` end to end: a healthy setup passes, then every check
//! is made to fail once, each in its own scenario (FAIL line, non-zero exit).

#![cfg(target_os = "linux")]
use crate::common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::*;

/// Runs doctor; asserts a `[FAIL]` line containing every part and exit 1.
#[track_caller]
fn doctor_fails(env: &TestEnv, args: &[&str], parts: &[&str]) -> String {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let out = env.crossrole(&all, None);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "doctor did not fail:\n{text}\n{}",
        stderr(&out)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("[FAIL]") && parts.iter().all(|p| l.contains(p))),
        "no [FAIL] line with {parts:?}:\n{text}"
    );
    assert!(text.contains("check(s) failed"), "{text}");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    text
}

#[track_caller]
fn doctor_passes(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let out = env.crossrole(&all, None);
    let text = ok(&out);
    assert!(!text.contains("[FAIL]"), "{text}");
    assert!(text.contains("all checks passed"), "{text}");
    text
}

fn has_line(text: &str, tag: &str, parts: &[&str]) -> bool {
    text.lines()
        .any(|l| l.starts_with(tag) && parts.iter().all(|p| l.contains(p)))
}

/// Runs `scenario` against the world, then restores the config and
/// credentials files as they were.
fn with_files_restored(env: &TestEnv, scenario: impl FnOnce()) {
    let config = std::fs::read(&env.config).ok();
    let creds = std::fs::read(&env.credentials).ok();
    scenario();
    match config {
        Some(c) => std::fs::write(&env.config, c).unwrap(),
        None => {
            let _ = std::fs::remove_file(&env.config);
        }
    }
    match creds {
        Some(c) => std::fs::write(&env.credentials, c).unwrap(),
        None => {
            let _ = std::fs::remove_file(&env.credentials);
        }
    }
}

fn secrets_in(o: &Output, secrets: &[&str]) {
    assert_output_has_no(o, secrets);
}

#[test]
fn doctor_healthy_then_each_config_problem_fails() {
    let mut w = cmd_world(TestEnv::keyutils(), &[]);
    let secret = w.t.secret_access_key.clone();

    // Healthy.
    let text = doctor_passes(&w.env, &[]);
    assert!(
        has_line(&text, "[ok  ]", &["config file", "reads cleanly"]),
        "{text}"
    );
    assert!(
        has_line(&text, "[ok  ]", &["profile green", "runs this crossrole"]),
        "{text}"
    );
    assert!(
        has_line(&text, "[ok  ]", &["profile blue", "runs this crossrole"]),
        "{text}"
    );
    assert!(
        has_line(&text, "[ok  ]", &["keyring", "for profile green"]),
        "{text}"
    );
    assert!(
        has_line(
            &text,
            "[ok  ]",
            &["STS: profile green is arn:aws:iam::111111111111:user/s3-prod-user"]
        ),
        "{text}"
    );
    assert!(has_line(&text, "[ok  ]", &["clock"]), "{text}");
    assert!(
        has_line(
            &text,
            "[ok  ]",
            &["role: profile blue assumes", &w.t.role_arn]
        ),
        "{text}"
    );
    assert!(
        !text.contains(&w.t.access_key_id),
        "full key id shown:\n{text}"
    );
    secrets_in(&w.env.crossrole(&["doctor"], None), &[&secret]);
    let text = doctor_passes(&w.env, &["blue"]);
    assert!(
        text.contains("profile green"),
        "doctor blue checks its source too:\n{text}"
    );
    doctor_passes(&w.env, &["green"]);
    doctor_fails(&w.env, &["nope"], &["nope"]);

    // Config missing.
    with_files_restored(&w.env, || {
        std::fs::remove_file(&w.env.config).unwrap();
        doctor_fails(&w.env, &[], &["config file", "does not exist"]);
    });

    // A syntax error the SDK parser rejects (the AWS CLI refuses the file too).
    with_files_restored(&w.env, || {
        let text = w.env.read_config().replacen(
            "[profile blue]\n",
            "[profile blue]\nthis line has no equals sign\n",
            1,
        );
        w.env.write_config(&text);
        let aws = w
            .env
            .aws(&["configure", "get", "region", "--profile", "green"]);
        assert!(!aws.status.success(), "the AWS CLI read the broken file");
        doctor_fails(&w.env, &[], &["config file", "line"]);
    });
    with_files_restored(&w.env, || {
        let text = w
            .env
            .read_config()
            .replacen("[profile blue]", "[profile blue", 1);
        w.env.write_config(&text);
        doctor_fails(&w.env, &[], &["config file"]);
    });

    // credential_process runs a path that does not exist.
    with_files_restored(&w.env, || {
        let text = w.env.read_config();
        assert!(text.contains(BIN), "{text}");
        w.env
            .write_config(&text.replace(BIN, "/nonexistent/bin/crossrole"));
        doctor_fails(
            &w.env,
            &[],
            &["/nonexistent/bin/crossrole", "does not exist"],
        );
    });

    // role_arn (or source_profile) beside credential_process.
    with_files_restored(&w.env, || {
        w.env
            .set_profile_key("blue", "role_arn", Some(&w.t.role_arn));
        doctor_fails(
            &w.env,
            &[],
            &["profile blue", "role_arn", "beside credential_process"],
        );
    });
    with_files_restored(&w.env, || {
        w.env
            .set_profile_key("blue", "source_profile", Some("green"));
        doctor_fails(&w.env, &[], &["profile blue", "source_profile"]);
    });

    // A plaintext key left in the credentials file for green.
    with_files_restored(&w.env, || {
        w.env.write_credentials(&format!(
            "[green]\naws_access_key_id = {}\naws_secret_access_key = leftover-not-the-real-secret-0000000000\n",
            w.t.access_key_id
        ));
        doctor_fails(
            &w.env,
            &[],
            &["profile green", "plaintext key", "credentials"],
        );
    });

    // A role green may not assume.
    with_files_restored(&w.env, || {
        w.env.set_profile_key(
            "blue",
            "crossrole_role_arn",
            Some("arn:aws:iam::222222222222:role/NotAllowed-Role"),
        );
        let text = doctor_fails(&w.env, &[], &["role:"]);
        // moto answers errors as <ErrorResponse><Errors><Error>, which the
        // Rust SDK cannot parse (real STS has no <Errors> level): until
        // sts.rs reads the code from the body itself, the code is "Unknown".
        assert!(
            has_line(
                &text,
                "[FAIL]",
                &["role:", "NotAllowed-Role", "access denied"]
            ) || has_line(&text, "[FAIL]", &["role:", "(Unknown)"]),
            "{text}"
        );
        assert!(
            has_line(&text, "[ok  ]", &["STS: profile green is"]),
            "{text}"
        );
    });

    // --offline: no request reaches STS, and a healthy setup passes.
    let before = (w.proxy.assume_role_calls(), w.proxy.caller_identity_calls());
    let text = doctor_passes(&w.env, &["--offline"]);
    assert!(text.contains("network checks skipped"), "{text}");
    assert_eq!(
        (w.proxy.assume_role_calls(), w.proxy.caller_identity_calls()),
        before,
        "doctor --offline reached STS"
    );

    // STS unreachable: a closed port, failing fast.
    let sts = w.env.endpoint.replace(closed_port_url());
    let started = Instant::now();
    let text = doctor_fails(&w.env, &[], &["STS", "cannot reach"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "doctor took {:?}",
        started.elapsed()
    );
    assert!(!has_line(&text, "[ok  ]", &["role:"]), "{text}");
    assert!(
        has_line(
            &text,
            "[warn]",
            &["role: not checked for profile blue", "unreachable"]
        ),
        "the role is not tried against an endpoint known to be down:\n{text}"
    );
    // ... and offline, the same setup passes.
    doctor_passes(&w.env, &["--offline"]);
    w.env.endpoint = sts;

    // The keyring backend cannot be reached: Secret Service on a dead bus.
    let dead_bus = w.env.tmp.path().join("no-bus-here");
    w.env.extra_env.extend([
        (
            "CROSSROLE_BACKEND".to_string(),
            "secret-service".to_string(),
        ),
        (
            "DBUS_SESSION_BUS_ADDRESS".to_string(),
            format!("unix:path={}", dead_bus.display()),
        ),
    ]);
    let started = Instant::now();
    doctor_fails(&w.env, &[], &["keyring", "Secret Service"]);
    doctor_fails(&w.env, &["--offline"], &["keyring", "Secret Service"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    w.env.extra_env.clear();

    // Everything restored: healthy again.
    doctor_passes(&w.env, &[]);
    w.env.assert_no_file_contains(&secret);
}

#[test]
fn doctor_rejects_a_wrong_stored_secret() {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(moto.url());
    let wrong = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGWRONG";
    let out = env.crossrole(
        &[
            "setup",
            "--access-key-id",
            &t.access_key_id,
            "--role-arn",
            &t.role_arn,
            "--region",
            "eu-west-1",
            "--no-verify",
        ],
        Some(&format!("{wrong}\n")),
    );
    ok(&out);
    let text = doctor_fails(&env, &[], &["STS:"]);
    // See the note on moto's error format above.
    assert!(
        has_line(
            &text,
            "[FAIL]",
            &["STS:", "secret access key stored for it is wrong"]
        ) || has_line(&text, "[FAIL]", &["STS:", "(Unknown)"]),
        "{text}"
    );
    assert!(
        !has_line(&text, "[ok  ]", &["STS: profile green is"]),
        "{text}"
    );
    assert!(!has_line(&text, "[ok  ]", &["role:"]), "{text}");
    secrets_in(
        &env.crossrole(&["doctor"], None),
        &[wrong, &t.secret_access_key],
    );

    // A key STS does not know at all.
    let out = env.crossrole(
        &[
            "setup",
            "--access-key-id",
            "AKIAUNKNOWNUNKNOWN00",
            "--role-arn",
            &t.role_arn,
            "--region",
            "eu-west-1",
            "--no-verify",
        ],
        Some(&format!("{wrong}\n")),
    );
    ok(&out);
    let text = doctor_fails(&env, &[], &["STS:"]);
    assert!(
        !has_line(&text, "[ok  ]", &["STS: profile green is"]),
        "{text}"
    );

    env.assert_no_file_contains(wrong);
    env.assert_no_file_contains(&t.secret_access_key);
}

#[test]
fn doctor_key_missing_from_the_keyring() {
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(closed_port_url());
    // Written by hand: green was never set up, so the keyring has no key.
    env.write_config(&hand_written_config(
        "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
    ));
    let started = Instant::now();
    let text = doctor_fails(&env, &[], &["keyring", "no key for profile `green`"]);
    assert!(
        has_line(&text, "[FAIL]", &["blue", "without the key of green"]),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no network was needed"
    );
    doctor_fails(&env, &["--offline"], &["no key for profile `green`"]);

    // A source profile that is not even in the config.
    env.write_config(
        &hand_written_config("arn:aws:iam::222222222222:role/CrossAccountS3Access-Role").replace(
            "crossrole_source_profile = green",
            "crossrole_source_profile = orange",
        ),
    );
    doctor_fails(&env, &["blue"], &["no key for profile `orange`"]);

    // No profile calls crossrole at all.
    env.write_config("[default]\nregion = eu-west-1\n");
    doctor_fails(&env, &[], &["no profile", "crossrole"]);
}

/// Stores a key (never checked) and points STS at a fake answering with
/// the given clock offset; returns doctor's output for green.
fn clock_scenario(offset_secs: i64) -> (Output, usize) {
    let mut env = TestEnv::keyutils();
    let secret = "fakeFAKEfakeFAKEfakeFAKEfakeFAKEfake0000";
    ok(&env.crossrole(
        &[
            "setup",
            "--access-key-id",
            "AKIAFAKEFAKEFAKEFAKE",
            "--role-arn",
            "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
            "--region",
            "eu-west-1",
            "--no-verify",
        ],
        Some(&format!("{secret}\n")),
    ));
    let fake = FakeSts::start(Reply::CallerIdentity {
        date_offset_secs: offset_secs,
    });
    env.endpoint = Some(fake.url());
    let out = env.crossrole(&["doctor", "green"], None);
    env.assert_no_file_contains(secret);
    (out, fake.requests())
}

#[test]
fn doctor_fails_the_clock_check_when_sts_is_an_hour_behind() {
    // In step: the fake STS is a valid one.
    let (out, requests) = clock_scenario(0);
    let text = ok(&out);
    assert!(has_line(&text, "[ok  ]", &["clock"]), "{text}");
    assert!(
        has_line(&text, "[ok  ]", &["STS: profile green is", "s3-prod-user"]),
        "{text}"
    );
    assert!(requests >= 1);

    // STS's clock an hour in the past: this machine is an hour ahead.
    let (out, _) = clock_scenario(-3600);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        has_line(&text, "[ok  ]", &["STS: profile green is"]),
        "{text}"
    );
    assert!(has_line(&text, "[FAIL]", &["clock", "ahead"]), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("[FAIL] clock"))
        .unwrap();
    let secs: i64 = line
        .split_whitespace()
        .find_map(|w| w.strip_suffix('s').and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("{line}"));
    assert!((3590..=3610).contains(&secs), "{line}");

    // And an hour in the future: behind.
    let (out, _) = clock_scenario(3600);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(has_line(&text, "[FAIL]", &["clock", "behind"]), "{text}");
}

/// The `fix:` line printed under the first line tagged `tag` containing `part`.
fn fix_under(text: &str, tag: &str, part: &str) -> String {
    let mut lines = text.lines();
    lines
        .find(|l| l.starts_with(tag) && l.contains(part))
        .unwrap_or_else(|| panic!("no {tag} line with {part:?}:\n{text}"));
    lines
        .next()
        .and_then(|l| l.trim().strip_prefix("fix: "))
        .unwrap_or_else(|| panic!("no fix under {part:?}:\n{text}"))
        .to_string()
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn doctor_flags_plaintext_keys_in_any_profile_and_open_files() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    let creds_path = env.credentials.display().to_string();
    let config_path = env.config.display().to_string();
    let text = doctor_passes(env, &["--offline"]);
    assert!(has_line(&text, "[ok  ]", &["no plaintext key"]), "{text}");

    // A key in [default] of the credentials file, one in an unmanaged config profile.
    let default_secret = "default-secret-not-a-real-one-000000000000";
    env.write_credentials(&format!(
        "{}\n[default]\naws_access_key_id = AKIADEFAULTDEFAULT42\naws_secret_access_key = {default_secret}\n",
        env.read_credentials()
    ));
    env.write_config(&format!(
        "{}\n[profile other]\naws_access_key_id = AKIAOTHEROTHEROTHER7\naws_secret_access_key = other-secret-not-a-real-one-0000000000000\n",
        env.read_config()
    ));
    let out = env.crossrole(&["doctor", "--offline"], None);
    let text = ok(&out);
    assert!(
        has_line(
            &text,
            "[warn]",
            &["plaintext long-term key", "[default]", &creds_path]
        ),
        "{text}"
    );
    assert!(
        has_line(
            &text,
            "[warn]",
            &["plaintext long-term key", "[profile other]", &config_path]
        ),
        "{text}"
    );
    assert!(
        fix_under(&text, "[warn]", "[default]").contains("--source-profile default"),
        "{text}"
    );
    for id in ["AKIADEFAULTDEFAULT42", "AKIAOTHEROTHEROTHER7"] {
        assert!(!text.contains(id), "full key id shown:\n{text}");
    }
    secrets_in(&out, &[default_secret]);

    // The credentials file readable by others, with a key in it: a failure, with the chmod.
    chmod(&env.credentials, 0o644);
    let text = doctor_fails(env, &["--offline"], &[&creds_path, "0644", "plaintext key"]);
    let fix = fix_under(&text, "[FAIL]", "0644");
    assert!(fix.starts_with("chmod 600 "), "{fix}");
    ok(&env.command("sh").args(["-c", &fix]).output().unwrap());
    // The config without keys and group-readable: a warning.
    env.write_config(&hand_written_config(&w.t.role_arn));
    chmod(&env.config, 0o640);
    let text = ok(&env.crossrole(&["doctor", "--offline"], None));
    assert!(has_line(&text, "[warn]", &[&config_path, "0640"]), "{text}");
    assert!(!has_line(&text, "[FAIL]", &["0644"]), "{text}");
}

#[test]
fn doctor_flags_botocore_cache_left_by_a_migrated_profile() {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(moto.url());
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    // Blue as botocore assumes it itself; the AWS CLI caches that session in plaintext.
    env.write_config(&format!(
        "[profile green]\nregion = eu-west-1\n\n[profile blue]\nrole_arn = {}\nsource_profile = green\nregion = eu-west-1\n",
        t.role_arn
    ));
    let id = ok(&env.aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(id.contains("assumed-role/"), "{id}");
    let cache = env.home.join(".aws/cli/cache");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("the AWS CLI wrote its assume-role cache")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let cached_secret = cached["Credentials"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string();

    // Migrate blue to crossrole: the cache file stays behind.
    ok(&env.crossrole(
        &[
            "setup",
            "--import-credentials",
            "--yes",
            "--region",
            "eu-west-1",
        ],
        None,
    ));
    assert!(files[0].exists());
    let out = env.crossrole(&["doctor", "--offline"], None);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a live plaintext session fails:\n{text}"
    );
    let cache_dir = cache.display().to_string();
    assert!(
        has_line(
            &text,
            "[FAIL]",
            &[
                "botocore's assume-role cache",
                &cache_dir,
                "1 file(s)",
                "profile blue"
            ]
        ),
        "{text}"
    );
    secrets_in(&out, &[&cached_secret, &t.secret_access_key]);
    let fix = fix_under(&text, "[FAIL]", "botocore's assume-role cache");
    assert!(fix.starts_with("rm -f -- "), "{fix}");
    ok(&env.command("sh").args(["-c", &fix]).output().unwrap());
    assert!(!files[0].exists(), "the offered command removed the file");
    let text = doctor_passes(&env, &["--offline"]);
    assert!(!text.contains("botocore"), "{text}");
}

#[test]
fn doctor_flags_headers_the_sdks_and_the_aws_cli_read_differently() {
    let env = TestEnv::keyutils();
    env.write_config(&format!(
        "{}\n[ profile stray ]\nregion = eu-west-1\n",
        hand_written_config("arn:aws:iam::222222222222:role/CrossAccountS3Access-Role")
    ));
    env.write_credentials("[ work ]\nregion = eu-west-1\n");
    let text = stdout(&env.crossrole(&["doctor", "--offline"], None));
    assert!(
        has_line(
            &text,
            "[warn]",
            &[
                "line 13",
                "`[ profile stray ]`",
                "profile `stray`",
                "as no profile"
            ]
        ),
        "{text}"
    );
    assert!(
        has_line(
            &text,
            "[warn]",
            &["credentials: line 1", "`[ work ]`", "profile ` work `"]
        ),
        "{text}"
    );
    assert!(text.contains("write it as `[profile stray]`"), "{text}");
}

#[test]
fn doctor_lists_every_place_the_aws_cli_and_the_sdks_read_differently() {
    let env = TestEnv::keyutils();
    // Lines 1-11 are crossrole's profiles; the rest is the user's.
    env.write_config(&format!(
        "{}\n[profile red]\nregion = eu-west-1 # main account\noutput : json\n",
        hand_written_config("arn:aws:iam::222222222222:role/CrossAccountS3Access-Role")
    ));
    env.write_credentials("[work]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n[work]\nx = 1\n");
    let text = stdout(&env.crossrole(&["doctor", "--offline"], None));
    assert!(
        has_line(
            &text,
            "[warn]",
            &[
                "line 14",
                "`region = eu-west-1 # main account`",
                "`eu-west-1`",
                "`eu-west-1 # main account`"
            ]
        ),
        "{text}"
    );
    assert!(
        text.contains("move the comment to a line of its own"),
        "{text}"
    );
    // `key : value`: botocore reads it, the SDKs cannot read the file (a
    // syntax error check_config already fails on).
    assert!(has_line(&text, "[FAIL]", &["line 15"]), "{text}");
    // A second [work]: botocore cannot read the credentials file at all.
    assert!(
        has_line(
            &text,
            "[FAIL]",
            &[
                "credentials",
                "line 3",
                "`[work]`",
                "cannot read the file at all"
            ]
        ),
        "{text}"
    );
}
