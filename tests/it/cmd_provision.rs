//! `crossrole provision` against moto with IAM enforcement on: from two
//! empty accounts (an admin in each) to the tutorial working through the
//! real AWS CLI, with the access key's secret never shown or written.

use crate::common;
use common::admin::*;
use common::*;

/// The key provision stored for `green`, read back through crossrole
/// itself (the only way the test can learn the secret).
fn stored_secret(w: &AdminWorld) -> (String, String) {
    let out = ok(&w.env.crossrole(
        &["export", "green", "--no-session", "--format", "json"],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        v["AccessKeyId"].as_str().unwrap().to_string(),
        v["SecretAccessKey"].as_str().unwrap().to_string(),
    )
}

fn blue_s3_works(w: &AdminWorld) {
    let env = &w.env;
    let who = ok(&env.aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(
        who.contains(&format!("{BLUE}:assumed-role/CrossAccountS3Access-Role/")),
        "{who}"
    );
    std::fs::write(env.home.join("foo"), "hello from green").unwrap();
    ok(&env.aws(&["--profile", "blue", "s3", "cp", "foo", "s3://the-bucket/"]));
    let listed = ok(&env.aws(&[
        "--profile",
        "blue",
        "s3",
        "ls",
        "--recursive",
        "s3://the-bucket/",
    ]));
    assert!(listed.contains("foo"), "{listed}");
}

#[test]
fn provision_from_nothing_then_the_tutorial_through_the_aws_cli() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    let started = std::time::Instant::now();
    let out = w.provision(&[]);
    let took = started.elapsed();
    let text = ok(&out);
    eprintln!("provision took {took:?}");
    for line in [
        "bucket the-bucket",
        "policy CrossAccountS3Access",
        "role CrossAccountS3Access-Role",
        "group prod-s3-users",
        "user s3-prod-user",
        "access key of user s3-prod-user",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(line) && l.trim_end().ends_with("created")),
            "no `{line} … created` line:\n{text}"
        );
    }
    assert!(text.contains("Plan: Green account 111111111111"), "{text}");

    blue_s3_works(&w);
    // Another bucket of Blue, which the role may not touch.
    ok(&w
        .env
        .aws(&["--profile", "blue-admin", "s3", "mb", "s3://other-bucket"]));
    blue_is_denied_other_bucket(&w.env);

    // The secret went from IAM to the keyring, and nowhere else.
    let (id, secret) = stored_secret(&w);
    assert_eq!(w.user_keys("s3-prod-user"), vec![id.clone()]);
    assert_output_has_no(&out, &[&secret, &id]);
    w.env.assert_no_file_contains(&secret);
    let creds = w.env.read_credentials();
    assert!(!creds.contains(&id), "{creds}");
    let config = w.env.read_config();
    assert!(
        config.contains("[profile green]") && config.contains("[profile blue]"),
        "{config}"
    );
    assert!(!config.contains(&id), "{config}");

    // The documents as written (moto does not evaluate the user's own-keys
    // policy by ARN, so its text is what can be checked).
    let p = w.admin_json(
        "green-admin",
        &[
            "iam",
            "get-user-policy",
            "--user-name",
            "s3-prod-user",
            "--policy-name",
            "crossrole-own-access-keys",
        ],
    );
    let doc = &p["PolicyDocument"]["Statement"][0];
    assert_eq!(
        doc["Resource"],
        format!("arn:aws:iam::{GREEN}:user/s3-prod-user")
    );
    assert_eq!(
        doc["Action"],
        serde_json::json!([
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey"
        ])
    );
    let u = w.admin_json(
        "green-admin",
        &["iam", "get-user", "--user-name", "s3-prod-user"],
    );
    assert!(
        u["User"]["Tags"].to_string().contains("crossrole:managed"),
        "{u}"
    );

    // A second run creates nothing and leaves the files as they are.
    let config_before = w.env.read_config();
    let again = ok(&w.provision(&[]));
    assert!(
        !again.contains("created") && !again.contains("updated"),
        "{again}"
    );
    assert_eq!(w.env.read_config(), config_before);
    assert_eq!(w.user_keys("s3-prod-user").len(), 1);
    blue_s3_works(&w);
}

#[test]
fn dry_run_on_an_empty_world_changes_nothing() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    let out = ok(&w.provision(&["--dry-run"]));
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert!(
        out.lines()
            .filter(|l| l.trim_end().ends_with(" create"))
            .count()
            >= 10,
        "{out}"
    );
    assert!(!w.user_exists("s3-prod-user"));
    assert!(!w.role_exists("CrossAccountS3Access-Role"));
    assert!(!w.bucket_exists("the-bucket"));
    assert!(!w.env.read_config().contains("[profile green]"));
    assert!(!kernel_keyring_has_key("green"));
}

#[test]
fn a_run_stopped_part_way_says_what_exists_and_a_rerun_completes() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    // A fault in the middle: Green's admin may do anything but add users to groups.
    moto_admin(
        &w.moto,
        GREEN,
        "import json\niam.put_user_policy(UserName='green-admin', PolicyName='deny-membership', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Deny', 'Action': 'iam:AddUserToGroup', 'Resource': '*'}]}))",
    );
    let out = w.provision(&[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for part in [
        "iam:AddUserToGroup",
        "provision stopped at: user s3-prod-user in group prod-s3-users",
        "these exist now: bucket the-bucket; policy CrossAccountS3Access;",
        "user s3-prod-user",
        "Run the same provision command again to continue",
        "crossrole deprovision",
    ] {
        assert!(err.contains(part), "stderr lacks {part:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(w.user_exists("s3-prod-user"));
    assert!(w.user_keys("s3-prod-user").is_empty());
    assert!(!w.env.read_config().contains("[profile blue]"));

    moto_admin(
        &w.moto,
        GREEN,
        "iam.delete_user_policy(UserName='green-admin', PolicyName='deny-membership')",
    );
    let text = ok(&w.provision(&[]));
    assert!(
        text.lines()
            .any(|l| l.contains("user s3-prod-user in group") && l.trim_end().ends_with("created")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("role CrossAccountS3Access-Role")
                && l.trim_end().ends_with("exists")),
        "{text}"
    );
    assert_eq!(w.user_keys("s3-prod-user").len(), 1);
    blue_s3_works(&w);
}

#[test]
fn admin_profiles_may_be_credential_process_or_assume_role_profiles() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    // Green's admin through credential_process (a script printing its key),
    // Blue's through an admin role assumed from blue-admin (moto checks a
    // same-account trust policy, and reads no account root there: the
    // user is named).
    let script = w.env.home.join("green-admin-creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            w.json["green"]["access_key_id"].as_str().unwrap(),
            w.secret_of("green")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    moto_admin(
        &w.moto,
        BLUE,
        "import json\niam.create_role(RoleName='admin-role', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::222222222222:user/blue-admin'}, 'Action': 'sts:AssumeRole'}]}))\niam.put_role_policy(RoleName='admin-role', PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))",
    );
    let mut config = w.env.read_config();
    config.push_str(&format!(
        "\n[profile green-process]\nregion = eu-west-1\ncredential_process = {}\n\n[profile blue-role]\nregion = eu-west-1\nrole_arn = arn:aws:iam::{BLUE}:role/admin-role\nsource_profile = blue-admin\n",
        script.display()
    ));
    w.env.write_config(&config);
    let out = w.provision_as(
        "green-process",
        "blue-role",
        "the-bucket",
        &["--create-bucket", "--yes"],
    );
    let text = ok(&out);
    assert!(text.contains("profile green-process"), "{text}");
    blue_s3_works(&w);
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_nothing_made() {
    let w = admin_world(TestEnv::keyutils(), &["--foreign-bucket", "someone-elses"]);
    // The same account for both.
    let out = w.provision_as("green-admin", "green-admin", "the-bucket", &["--yes"]);
    let err = fails_with(&out, &["both in account 111111111111"]);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // A profile that is nowhere.
    let out = w.provision_as("nobody-here", "blue-admin", "the-bucket", &["--yes"]);
    fails_with(
        &out,
        &["--green-admin-profile: profile `nobody-here` is in neither"],
    );
    // An admin profile without IAM rights.
    let who = moto_admin(
        &w.moto,
        GREEN,
        "k = (iam.create_user(UserName='powerless'), iam.create_access_key(UserName='powerless')['AccessKey'])[1]\nprint(k['AccessKeyId'] + ' ' + k['SecretAccessKey'])",
    );
    let mut parts = who.split_whitespace();
    let (id, secret) = (parts.next().unwrap(), parts.next().unwrap());
    let mut creds = w.env.read_credentials();
    creds.push_str(&format!(
        "\n[powerless]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    w.env.write_credentials(&creds);
    let out = w.provision_as(
        "powerless",
        "blue-admin",
        "the-bucket",
        &["--create-bucket", "--yes"],
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("profile powerless needs iam:"), "{err}");
    assert_output_has_no(&out, &[secret]);
    // A bucket name S3 would refuse.
    let out = w.provision_as("green-admin", "blue-admin", "Not_A_Bucket", &["--yes"]);
    let err = fails_with(&out, &["--bucket: `Not_A_Bucket` is not a bucket name"]);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // A bucket another account owns.
    let out = w.provision_as(
        "green-admin",
        "blue-admin",
        "someone-elses",
        &["--create-bucket", "--yes"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "bucket someone-elses exists but is not one of account 222222222222's buckets"
        ),
        "{}",
        stderr(&out)
    );
    // A missing bucket without --create-bucket.
    let out = w.provision_as("green-admin", "blue-admin", "not-yet-made", &["--yes"]);
    assert!(
        stderr(&out).contains("pass --create-bucket"),
        "{}",
        stderr(&out)
    );
    // Without a terminal, --yes is needed.
    let out = w.provision_as("green-admin", "blue-admin", "the-bucket", &[]);
    let err = fails_with(&out, &["pass --yes"]);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // None of that made anything.
    assert!(!w.user_exists("s3-prod-user"));
    assert!(!w.role_exists("CrossAccountS3Access-Role"));
    assert!(!w.env.read_config().contains("[profile blue]"));
}

#[test]
fn a_user_whose_key_is_not_in_the_keyring_gets_one_new_key_and_never_a_third() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    ok(&w.provision(&[]));
    let first = w.user_keys("s3-prod-user");
    assert_eq!(first.len(), 1);
    // The keyring loses the key (the profiles go with it): the user's key is
    // still in IAM, but nobody here holds its secret.
    ok(&w.env.crossrole(&["remove", "blue", "--yes"], None));
    ok(&w.env.crossrole(&["remove", "green", "--yes"], None));
    let text = ok(&w.provision(&[]));
    let old = &first[0];
    let masked = format!("{}…{}", &old[..4], &old[old.len() - 4..]);
    assert!(
        text.contains(&format!(
            "already has key {masked}, which is not in the keyring"
        )),
        "{text}"
    );
    assert!(!text.contains(old.as_str()), "unmasked key id: {text}");
    assert_eq!(w.user_keys("s3-prod-user").len(), 2);
    blue_s3_works(&w);

    // Again, now with two keys in IAM and none here: refused, both named.
    ok(&w.env.crossrole(&["remove", "blue", "--yes"], None));
    ok(&w.env.crossrole(&["remove", "green", "--yes"], None));
    let out = w.provision(&[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("already has two access keys"), "{err}");
    assert!(err.contains(&masked), "{err}");
    assert_eq!(w.user_keys("s3-prod-user").len(), 2);
    assert!(!w.env.read_config().contains("[profile green]"));
}

#[test]
fn mfa_serial_and_external_id_go_into_the_trust_policy_and_the_profiles() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    let serial = format!("arn:aws:iam::{GREEN}:mfa/s3-prod-user");
    let text = ok(&w.provision(&["--mfa-serial", &serial, "--external-id", "Ext-123"]));
    assert!(
        text.contains("needs an MFA code and there is no terminal"),
        "{text}"
    );
    let role = w.admin_json(
        "blue-admin",
        &[
            "iam",
            "get-role",
            "--role-name",
            "CrossAccountS3Access-Role",
        ],
    );
    let cond = &role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"];
    assert_eq!(cond["Bool"]["aws:MultiFactorAuthPresent"], "true", "{role}");
    assert_eq!(cond["StringEquals"]["sts:ExternalId"], "Ext-123", "{role}");
    let config = w.env.read_config();
    assert!(
        config.contains(&format!("crossrole_mfa_serial = {serial}")),
        "{config}"
    );
    assert!(
        config.contains("crossrole_external_id = Ext-123"),
        "{config}"
    );
    // The same flags again: nothing to do.
    let again = ok(&w.provision(&["--mfa-serial", &serial, "--external-id", "Ext-123"]));
    assert!(
        !again.contains("created") && !again.contains("updated"),
        "{again}"
    );
    // Dropping the external id updates the trust policy of crossrole's own role.
    let changed = ok(&w.provision(&["--mfa-serial", &serial]));
    assert!(
        changed
            .lines()
            .any(|l| l.contains("role CrossAccountS3Access-Role")
                && l.trim_end().ends_with("updated")),
        "{changed}"
    );
}

#[test]
fn crossrole_alone_says_where_provision_lives() {
    let env = TestEnv::keyutils();
    let lone = env.tmp.path().join("lone");
    std::fs::create_dir_all(&lone).unwrap();
    std::fs::copy(BIN, lone.join("crossrole")).unwrap();
    let mut cmd = env.command(lone.join("crossrole").to_str().unwrap());
    cmd.args(provision_args("a", "b", "the-bucket"))
        .arg("--yes");
    let out = run_with_input(&mut cmd, None);
    fails_with(
        &out,
        &[
            "crossrole-admin, which is not installed next to crossrole",
            "./install.sh",
        ],
    );
    // A usage error is crossrole's own, before any hand-over.
    let mut cmd = env.command(lone.join("crossrole").to_str().unwrap());
    cmd.args(["provision", "--bucket", "the-bucket"]);
    let out = run_with_input(&mut cmd, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn on_a_terminal_provision_shows_the_plan_and_asks_first() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    // Through a pseudo-terminal (setup_interactive's expect script); no --yes.
    let on_a_terminal = |answer: &str| {
        let mut args = provision_args("green-admin", "blue-admin", "the-bucket");
        args.push("--create-bucket");
        crate::setup_interactive::on_a_terminal(&w.env, "60", &[("[y/N] ", answer)], &args)
    };
    let shown = on_a_terminal("n");
    assert!(shown.contains("EXIT 1"), "{shown}");
    assert!(shown.contains("Make these changes? [y/N]"), "{shown}");
    assert!(shown.contains("user s3-prod-user"), "{shown}");
    assert!(shown.contains("nothing was changed"), "{shown}");
    assert!(!w.user_exists("s3-prod-user"));

    let shown = on_a_terminal("y");
    assert!(shown.contains("EXIT 0"), "{shown}");
    assert_eq!(w.user_keys("s3-prod-user").len(), 1);
    blue_s3_works(&w);
}
