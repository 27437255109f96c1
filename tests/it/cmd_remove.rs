//! `crossrole remove PROFILE` end to end, on the kernel keyring and on a
//! private Secret Service: a source still in use is refused, the rest of the
//! config stays byte for byte, keyring entries and cached sessions go, and
//! nothing happens without `--yes` when there is no terminal.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

const HEAD: &str = "# my settings, before crossrole's\n[default]\nregion = us-east-2\ns3 =\n  max_concurrent_requests = 4\n\n";
const TAIL: &str = "\n# my own profile, after crossrole's\n[profile other]\nregion = ap-south-1\n\n[sso-session corp]\nsso_region = us-east-1\n  ; indented comment\n[services local]\nsts =\n  endpoint_url = http://localhost:1";

/// Entries crossrole has in the keyring(s) the test uses, as text.
fn stored_entries(env: &TestEnv) -> String {
    match &env.keyring {
        Keyring::Keyutils => session_keyring_keys("crossrole:")
            .into_iter()
            .map(|(_, d)| d + "\n")
            .collect(),
        Keyring::SecretService(ss) => {
            let out = ss
                .secret_tool()
                .args(["search", "--all", "service", "crossrole"])
                .output()
                .unwrap();
            stdout(&out)
        }
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn remove_flow(env: TestEnv) {
    let w = cmd_world(env, &["--no-verify"]);
    let env = &w.env;
    let doc = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let entries = stored_entries(env);
    assert!(entries.contains("key:green"), "{entries}");
    assert!(entries.contains("session:blue:"), "{entries}");

    // User content around crossrole's profiles.
    let written = env.read_config();
    let at = written
        .find("[profile blue]")
        .unwrap_or_else(|| panic!("{written}"));
    let (green_part, blue_part) = written.split_at(at);
    assert!(
        green_part.starts_with("[profile green]") && green_part.ends_with("\n\n"),
        "{written}"
    );
    assert!(blue_part.ends_with('\n'), "{written}");
    let config = format!("{HEAD}{green_part}{blue_part}{TAIL}");
    env.write_config(&config);

    // The source of blue: refused, naming blue, nothing changed.
    let out = env.crossrole(&["remove", "green", "--yes"], None);
    fails_with(&out, &["`blue`"]);
    assert_eq!(
        env.read_config(),
        config,
        "config changed by a refused remove"
    );
    process_doc(&env.crossrole(&["credential-process", "green"], None));
    assert_eq!(stored_entries(env), entries);

    // Without --yes and without a terminal: refused, nothing changed.
    let out = env.crossrole(&["remove", "blue"], None);
    fails_with(&out, &["--yes"]);
    assert_eq!(env.read_config(), config);
    assert_eq!(stored_entries(env), entries);
    let again = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(
        again["SessionToken"], doc["SessionToken"],
        "the session is still cached"
    );
    assert_eq!(w.proxy.assume_role_calls(), 1);

    // A profile crossrole does not manage is not crossrole's to remove.
    let out = env.crossrole(&["remove", "other", "--yes"], None);
    fails_with(&out, &["other", "not managed"]);
    assert_eq!(env.read_config(), config);

    // Blue goes: its section (and the blank line before what follows), and
    // its cached sessions; everything else stays byte for byte.
    let out = ok(&env.crossrole(&["remove", "blue", "--yes"], None));
    assert!(out.contains("[profile blue]"), "{out}");
    assert_output_has_no(
        &env.crossrole(&["list"], None),
        &[&w.t.secret_access_key, &w.t.access_key_id],
    );
    let expected = format!("{HEAD}{green_part}{}", TAIL.trim_start_matches('\n'));
    assert_eq!(env.read_config(), expected);
    #[cfg(unix)]
    assert_eq!(mode(&env.config), 0o600);
    let entries = stored_entries(env);
    assert!(!entries.contains("session:blue"), "{entries}");
    assert!(entries.contains("key:green"), "{entries}");
    fails_with(
        &env.crossrole(&["credential-process", "blue"], None),
        &["blue"],
    );

    // Then green: the key leaves the keyring.
    let out = ok(&env.crossrole(&["remove", "green", "--yes"], None));
    assert!(
        out.contains("[profile green]") && out.contains("key"),
        "{out}"
    );
    let expected = format!("{HEAD}{}", TAIL.trim_start_matches('\n'));
    assert_eq!(env.read_config(), expected);
    let entries = stored_entries(env);
    assert!(entries.trim().is_empty(), "left in the keyring: {entries}");
    // With its profile written back by hand, the key is plainly gone.
    env.write_config(&format!("{expected}\n{green_part}"));
    fails_with(
        &env.crossrole(&["credential-process", "green"], None),
        &["no key"],
    );
    assert!(
        w.env
            .aws(&["--profile", "green", "sts", "get-caller-identity"])
            .status
            .code()
            != Some(0)
    );

    env.assert_no_file_contains(&w.t.secret_access_key);
    env.assert_no_file_contains(doc["SessionToken"].as_str().unwrap());
}

#[test]
fn remove_with_the_kernel_keyring() {
    remove_flow(TestEnv::keyutils());
}

#[test]
fn remove_with_the_secret_service() {
    let mut env = TestEnv::secret_service();
    env.extra_env
        .push(("CROSSROLE_SESSION_CACHE".into(), "keyring".into()));
    remove_flow(env);
}

#[test]
fn remove_a_broken_role_profile_and_leftovers_of_a_hand_deleted_one() {
    let env = TestEnv::keyutils();
    let secret = "fakeFAKEfakeFAKEfakeFAKEfakeFAKEremove00";
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
    let written = env.read_config();

    // A role profile with broken crossrole_* settings is still removable.
    env.set_profile_key("blue", "crossrole_role_arn", None);
    fails_with(
        &env.crossrole(&["credential-process", "blue"], None),
        &["crossrole_role_arn"],
    );
    let out = ok(&env.crossrole(&["remove", "blue", "--yes"], None));
    assert!(out.contains("[profile blue]"), "{out}");
    assert!(!env.read_config().contains("[profile blue]"));
    let green_only = env.read_config();
    assert!(
        written.starts_with(green_only.trim_end()),
        "{written}\n---\n{green_only}"
    );

    // Green's section deleted by hand: its key is still removable, once.
    env.write_config("[default]\nregion = eu-west-1\n");
    assert!(session_keyring_keys("crossrole:key:green").len() == 1);
    let out = env.crossrole(&["remove", "green"], None);
    fails_with(&out, &["--yes"]);
    assert_eq!(session_keyring_keys("crossrole:key:green").len(), 1);
    let out = ok(&env.crossrole(&["remove", "green", "--yes"], None));
    assert!(out.contains("deleted the key of green"), "{out}");
    assert!(session_keyring_keys("crossrole:").is_empty());
    assert_eq!(env.read_config(), "[default]\nregion = eu-west-1\n");
    fails_with(
        &env.crossrole(&["remove", "green", "--yes"], None),
        &["green", "not in"],
    );
    env.assert_no_file_contains(secret);
}
