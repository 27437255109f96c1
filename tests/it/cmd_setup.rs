//! `crossrole setup` beyond the happy path: each key source, refusals that
//! leave the files untouched, migration of a botocore-style role profile,
//! a binary path with spaces, and two setups at once.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

const KEY_ID: &str = "AKIAABCDEFGHIJKLMNOP";
const SECRET: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD";
const ROLE: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";

fn setup_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "setup",
        "--role-arn",
        ROLE,
        "--region",
        "eu-west-1",
        "--no-verify",
    ];
    v.extend_from_slice(extra);
    v
}

fn green_json(env: &TestEnv) -> serde_json::Value {
    let out = ok(&env.crossrole(&["credential-process", "green"], None));
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn secret_from_stdin_with_access_key_id() {
    let env = TestEnv::keyutils();
    let out = env.crossrole(
        &setup_args(&["--access-key-id", KEY_ID]),
        Some(&format!("{SECRET}\n")),
    );
    let summary = ok(&out);
    assert!(summary.contains("AKIA…MNOP"), "{summary}");
    assert!(!summary.contains(SECRET) && !stderr(&out).contains(SECRET));
    let v = green_json(&env);
    assert_eq!(v["AccessKeyId"], KEY_ID);
    assert_eq!(v["SecretAccessKey"], SECRET);
    env.assert_no_file_contains(SECRET);
}

#[test]
fn empty_stdin_is_refused() {
    let env = TestEnv::keyutils();
    let out = env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(""));
    fails_with(&out, &["standard input was empty"]);
    assert!(!env.config.exists());
}

#[test]
fn keys_from_env() {
    let mut env = TestEnv::keyutils();
    env.extra_env
        .push(("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()));
    env.extra_env
        .push(("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()));
    ok(&env.crossrole(&setup_args(&["--keys-from-env"]), None));
    assert_eq!(green_json(&env)["SecretAccessKey"], SECRET);
}

#[test]
fn keys_from_env_missing_secret() {
    let mut env = TestEnv::keyutils();
    env.extra_env
        .push(("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()));
    fails_with(
        &env.crossrole(&setup_args(&["--keys-from-env"]), None),
        &["AWS_SECRET_ACCESS_KEY is not set"],
    );
}

#[test]
fn no_key_source_without_terminal_is_a_clear_error() {
    let env = TestEnv::keyutils();
    fails_with(
        &env.crossrole(&setup_args(&[]), None),
        &[
            "no key for profile `green` is stored yet",
            "--import-credentials",
        ],
    );
    assert!(!env.config.exists());
}

#[test]
fn missing_role_arn_is_required() {
    let env = TestEnv::keyutils();
    let out = env.crossrole(
        &["setup", "--access-key-id", KEY_ID, "--no-verify"],
        Some(SECRET),
    );
    fails_with(&out, &["--role-arn is required"]);
}

#[test]
fn duplicate_target_section_is_refused_and_nothing_changes() {
    let env = TestEnv::keyutils();
    let config = "[profile blue]\nregion = us-east-1\n\n[profile other]\nregion = x\n\n[profile blue]\noutput = json\n";
    env.write_config(config);
    let out = env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET));
    fails_with(&out, &["[profile blue]", "1", "7"]);
    assert_eq!(env.read_config(), config);
    // Nothing was stored either: refusals happen before the keyring is touched.
    fails_with(
        &env.crossrole(&["credential-process", "green"], None),
        &["profile `green` is not in"],
    );
}

#[test]
fn a_file_the_aws_cli_cannot_read_is_refused_naming_the_line() {
    // issue 17: botocore cannot parse a header without `]` at all; setup used
    // to add a second [profile blue] and exit 0.
    let env = TestEnv::keyutils();
    let config = "[profile green]\nregion = eu-west-1\n\n[profile blue\nregion = eu-west-1\n";
    env.write_config(config);
    let out = env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET));
    fails_with(
        &out,
        &[
            "line 4: `[profile blue`",
            "cannot read the file",
            "changed nothing",
        ],
    );
    assert_eq!(env.read_config(), config);
    // An inline comment in a value botocore would keep: setup rewrites the
    // line it writes anyway, and says what it did.
    let config = "[profile blue]\nregion = eu-west-1 # main account\n";
    env.write_config(config);
    let out = env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET));
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("line 2: `region = eu-west-1 # main account`")
            && text.contains("both read the profile the same"),
        "{text}"
    );
    assert!(env
        .read_config()
        .contains("[profile blue]\nregion = eu-west-1\n"));
}

#[test]
fn same_profile_for_source_and_target_is_refused() {
    let env = TestEnv::keyutils();
    let out = env.crossrole(
        &setup_args(&["--access-key-id", KEY_ID, "--target-profile", "green"]),
        Some(SECRET),
    );
    fails_with(&out, &["both `green`"]);
}

#[test]
fn crlf_and_symlinked_config_are_kept() {
    let env = TestEnv::keyutils();
    let real = env.home.join("dotfiles/aws-config");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    let before = "# managed by dotfiles\r\n[default]\r\nregion = us-west-2\r\n";
    std::fs::write(&real, before).unwrap();
    std::fs::create_dir_all(env.config.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &env.config).unwrap();
    ok(&env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET)));
    assert!(std::fs::symlink_metadata(&env.config)
        .unwrap()
        .file_type()
        .is_symlink());
    let after = std::fs::read_to_string(&real).unwrap();
    assert!(after.starts_with(before), "{after:?}");
    let added = &after[before.len()..];
    assert!(added.contains("[profile blue]\r\n"), "{added:?}");
    assert!(
        !added.replace("\r\n", "").contains('\n'),
        "new lines use CRLF: {added:?}"
    );
}

#[test]
fn botocore_style_role_profile_is_migrated() {
    let env = TestEnv::keyutils();
    env.write_config(
        "[profile blue]\nrole_arn = arn:aws:iam::222222222222:role/Old\nsource_profile = green\nexternal_id = ext-123\nregion = eu-west-1\n",
    );
    let out = env.crossrole(
        &[
            "setup",
            "--access-key-id",
            KEY_ID,
            "--no-verify",
            "--region",
            "eu-west-1",
        ],
        Some(SECRET),
    );
    ok(&out);
    let cfg = env.read_config();
    assert!(
        cfg.contains("crossrole_role_arn = arn:aws:iam::222222222222:role/Old"),
        "{cfg}"
    );
    assert!(cfg.contains("crossrole_external_id = ext-123"), "{cfg}");
    for gone in ["\nrole_arn", "\nsource_profile", "\nexternal_id"] {
        assert!(!cfg.contains(gone), "{gone} left in {cfg}");
    }
}

#[test]
fn binary_path_with_spaces_works_through_the_aws_cli() {
    let moto = Moto::start();
    let t = tutorial(&moto, &["--no-enforce"]);
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(moto.url());
    let dir = env.home.join("my tools");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("crossrole");
    std::fs::copy(BIN, &copy).unwrap();
    let out = run_with_input(
        env.command(copy.to_str().unwrap()).args([
            "setup",
            "--role-arn",
            &t.role_arn,
            "--region",
            "eu-west-1",
            "--access-key-id",
            &t.access_key_id,
        ]),
        Some(&t.secret_access_key),
    );
    ok(&out);
    assert!(env.read_config().contains(&format!(
        "credential_process = \"{}\" credential-process green",
        copy.display()
    )));
    let who = ok(&env.aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role"),
        "{who}"
    );
}

/// `sh -c` (the Rust SDK) would expand `$x` inside the quoted path and
/// botocore would not: setup refuses such a path, naming it, and writes nothing.
#[test]
fn binary_path_that_readers_split_differently_is_refused() {
    let env = TestEnv::keyutils();
    let dir = env.home.join("price$HOME");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("crossrole");
    std::fs::copy(BIN, &copy).unwrap();
    let out = run_with_input(
        env.command(copy.to_str().unwrap())
            .args(setup_args(&["--access-key-id", KEY_ID])),
        Some(SECRET),
    );
    fails_with(&out, &[&copy.display().to_string(), "`$`"]);
    assert!(!env.config.exists(), "{}", env.read_config());
}

#[test]
fn two_setups_at_once_keep_both_edits() {
    let env = TestEnv::keyutils();
    env.write_config("# shared\n");
    let spawn = |target: &str| {
        let mut c = env.command(BIN);
        c.args(setup_args(&[
            "--access-key-id",
            KEY_ID,
            "--target-profile",
            target,
        ]))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(SECRET.as_bytes())
            .unwrap();
        child
    };
    let children: Vec<_> = (0..6).map(|i| spawn(&format!("blue{i}"))).collect();
    for c in children {
        ok(&c.wait_with_output().unwrap());
    }
    let cfg = env.read_config();
    for i in 0..6 {
        assert_eq!(
            cfg.matches(&format!("[profile blue{i}]")).count(),
            1,
            "{cfg}"
        );
    }
    assert_eq!(cfg.matches("[profile green]").count(), 1, "{cfg}");
}

const CREDS_GREEN: &str = "[green]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\naws_secret_access_key = abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD\n";

fn backups(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(env.config.parent().unwrap())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("crossrole-backup"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn import_removes_the_key_from_the_config_file_even_when_nothing_else_changes() {
    let env = TestEnv::keyutils();
    ok(&env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET)));
    // The same key, pasted into [profile green] of the config afterwards.
    let cfg = env.read_config().replace(
        "[profile green]\n",
        &format!(
            "[profile green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        ),
    );
    env.write_config(&cfg);
    let out = ok(&env.crossrole(&setup_args(&["--import-credentials", "--yes"]), None));
    let after = env.read_config();
    assert!(!after.contains("aws_access_key_id"), "{after}");
    assert!(!after.contains("aws_secret_access_key"), "{after}");
    assert!(
        out.contains("aws_access_key_id, aws_secret_access_key of [profile green]"),
        "{out}"
    );
    assert!(!out.contains("nothing to change"), "{out}");
    env.assert_no_file_contains(SECRET);
}

#[test]
fn a_refused_import_with_keep_backup_writes_no_backup() {
    let env = TestEnv::keyutils();
    env.write_credentials(CREDS_GREEN);
    let out = env.crossrole(
        &[
            "setup",
            "--import-credentials",
            "--keep-backup",
            "--no-verify",
        ],
        None,
    );
    fails_with(&out, &["--role-arn is required"]);
    assert_eq!(backups(&env), Vec::<String>::new());
    assert_eq!(env.read_credentials(), CREDS_GREEN);
    assert!(!env.config.exists());
    // Other refusals: a config setup cannot edit, a region it cannot write.
    let dup = "[profile blue]\nregion = x\n\n[profile blue]\nregion = y\n";
    env.write_config(dup);
    let out = env.crossrole(
        &setup_args(&["--import-credentials", "--keep-backup"]),
        None,
    );
    fails_with(&out, &["[profile blue]", "more than once"]);
    env.write_config("[profile green]\nregion = EU WEST\n");
    let out = env.crossrole(
        &[
            "setup",
            "--import-credentials",
            "--keep-backup",
            "--no-verify",
            "--role-arn",
            ROLE,
        ],
        None,
    );
    fails_with(&out, &["is not a region name"]);
    assert_eq!(backups(&env), Vec::<String>::new());
    assert_eq!(env.read_credentials(), CREDS_GREEN);
}

#[test]
fn keyutils_import_without_a_backup_or_a_terminal_is_refused() {
    let env = TestEnv::keyutils();
    env.write_credentials(CREDS_GREEN);
    let out = env.crossrole(&setup_args(&["--import-credentials"]), None);
    fails_with(&out, &["reboot", "--keep-backup", "CROSSROLE_BACKEND=file"]);
    assert_eq!(env.read_credentials(), CREDS_GREEN);
    assert!(!env.config.exists());
    // With a backup it goes ahead, and says the key will not survive a reboot.
    let out = ok(&env.crossrole(
        &setup_args(&["--import-credentials", "--keep-backup"]),
        None,
    ));
    assert!(out.contains("a reboot empties"), "{out}");
    assert_eq!(backups(&env).len(), 1);
    assert!(!env.read_credentials().contains(SECRET));
}

#[test]
fn a_second_role_profile_keeps_the_source_region() {
    let env = TestEnv::keyutils();
    ok(&env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET)));
    let out = ok(&env.crossrole(
        &[
            "setup",
            "--no-verify",
            "--target-profile",
            "blue-prod",
            "--role-arn",
            "arn:aws:iam::333333333333:role/Prod",
            "--region",
            "us-west-2",
        ],
        None,
    ));
    let cfg = env.read_config();
    let green = section(&cfg, "[profile green]");
    assert!(green.contains("region = eu-west-1"), "{cfg}");
    assert!(
        section(&cfg, "[profile blue-prod]").contains("region = us-west-2"),
        "{cfg}"
    );
    // Only what changed is reported.
    assert!(out.contains(": [profile blue-prod]\n"), "{out}");
    assert!(!out.contains("[profile green]"), "{out}");
    // --source-region is how the source profile's region changes.
    ok(&env.crossrole(
        &[
            "setup",
            "--no-verify",
            "--target-profile",
            "blue-prod",
            "--source-region",
            "eu-central-1",
        ],
        None,
    ));
    let cfg = env.read_config();
    assert!(
        section(&cfg, "[profile green]").contains("region = eu-central-1"),
        "{cfg}"
    );
    assert!(
        section(&cfg, "[profile blue-prod]").contains("region = us-west-2"),
        "{cfg}"
    );
}

/// The text of one section, header to the next header.
fn section<'a>(text: &'a str, header: &str) -> &'a str {
    let start = text
        .find(header)
        .unwrap_or_else(|| panic!("{header} in {text}"));
    let rest = &text[start + header.len()..];
    &rest[..rest.find("\n[").unwrap_or(rest.len())]
}

#[test]
fn migration_uses_the_profiles_own_source_profile() {
    let env = TestEnv::keyutils();
    env.write_config(
        "[profile blue]\nrole_arn = arn:aws:iam::222222222222:role/Old\nsource_profile = work\nregion = eu-west-1\n",
    );
    env.write_credentials(&CREDS_GREEN.replace("[green]", "[work]"));
    let out = ok(&env.crossrole(
        &["setup", "--import-credentials", "--yes", "--no-verify"],
        None,
    ));
    assert!(out.contains("for profile work"), "{out}");
    let cfg = env.read_config();
    assert!(cfg.contains("crossrole_source_profile = work"), "{cfg}");
    assert!(
        cfg.contains("[profile work]\ncredential_process = "),
        "{cfg}"
    );
    assert!(!cfg.contains("[profile green]"), "{cfg}");
    assert_eq!(env.read_credentials(), "");
}

#[test]
fn an_existing_output_is_kept_and_default_is_called_by_its_name() {
    let env = TestEnv::keyutils();
    env.write_config("[default]\nregion = eu-west-1\noutput = table\n");
    let out = ok(&env.crossrole(
        &[
            "setup",
            "--no-verify",
            "--source-profile",
            "default",
            "--role-arn",
            ROLE,
            "--access-key-id",
            KEY_ID,
        ],
        Some(SECRET),
    ));
    let cfg = env.read_config();
    assert!(
        cfg.starts_with("[default]\nregion = eu-west-1\noutput = table\ncredential_process = "),
        "{cfg}"
    );
    assert!(
        section(&cfg, "[profile blue]").contains("output = json"),
        "{cfg}"
    );
    assert!(out.contains(": [default], [profile blue]\n"), "{out}");
    assert!(!out.contains("[profile default]"), "{out}");
}

#[test]
fn a_spaced_header_is_normalised_so_the_aws_cli_sees_the_profile() {
    let env = TestEnv::keyutils();
    env.write_config("[ profile blue ]\nregion = eu-west-1\n");
    let out = ok(&env.crossrole(&setup_args(&["--access-key-id", KEY_ID]), Some(SECRET)));
    assert!(
        out.contains("rewrote the header `[ profile blue ]` as `[profile blue]`"),
        "{out}"
    );
    let cfg = env.read_config();
    assert!(
        cfg.starts_with("[profile blue]\nregion = eu-west-1\n"),
        "{cfg}"
    );
    let region = ok(&env.aws(&["configure", "get", "region", "--profile", "blue"]));
    assert_eq!(region.trim(), "eu-west-1");
}
