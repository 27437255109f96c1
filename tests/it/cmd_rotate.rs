//! `crossrole rotate` against moto with IAM enforcement on: the old key is
//! gone and refused by STS, the new one works for Green and Blue; two keys
//! already, a refused deletion and no `--yes` without a terminal each leave
//! a working key and say what to do. Also setup's note about a key it
//! replaces, and doctor's key age.
//!
//! moto's IAM enforcement matches IAM user actions (access keys) only
//! against `Resource: "*"`: the policy `crossrole policy --user` prints
//! names the user's ARN, which moto never matches. The tests give the user
//! the same actions on "*" instead.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

const GREEN: &str = "111111111111";
const USER: &str = "s3-prod-user";

fn masked(id: &str) -> String {
    format!("{}…{}", &id[..4], &id[id.len() - 4..])
}

/// Lets the user manage its own keys with the IAM `actions` (on "*", see above).
fn allow_own_keys(w: &CmdWorld, actions: &[&str]) {
    let actions: Vec<String> = actions.iter().map(|a| format!("iam:{a}")).collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    allow(w, "own-keys", &actions);
}

/// Puts the user's inline policy `name`, allowing `actions` on "*".
fn allow(w: &CmdWorld, name: &str, actions: &[&str]) {
    let actions: Vec<String> = actions.iter().map(|a| format!("'{a}'")).collect();
    moto_admin(
        &w.moto,
        GREEN,
        &format!(
            "import json\niam.put_user_policy(UserName='{USER}', PolicyName='{name}', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': [{}], 'Resource': '*'}}]}}))",
            actions.join(", ")
        ),
    );
}

const ALL_KEY_ACTIONS: &[&str] = &[
    "ListAccessKeys",
    "CreateAccessKey",
    "DeleteAccessKey",
    "UpdateAccessKey",
];

/// The user's access key ids, as IAM (moto, as an admin) lists them.
fn iam_keys(w: &CmdWorld) -> Vec<String> {
    let out = moto_admin(
        &w.moto,
        GREEN,
        &format!(
            "import json\nprint(json.dumps(sorted(k['AccessKeyId'] for k in iam.list_access_keys(UserName='{USER}')['AccessKeyMetadata'])))"
        ),
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// The key the keyring holds for green: (id, secret).
fn stored_key(env: &TestEnv) -> (String, String) {
    let doc = process_doc(&env.crossrole(&["credential-process", "green"], None));
    (
        doc["AccessKeyId"].as_str().unwrap().to_string(),
        doc["SecretAccessKey"].as_str().unwrap().to_string(),
    )
}

/// `aws sts get-caller-identity` with a key given in the environment.
fn identity_with(env: &TestEnv, id: &str, secret: &str) -> std::process::Output {
    run_with_input(
        env.command("aws")
            .args(["sts", "get-caller-identity"])
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "eu-west-1"),
        None,
    )
}

#[track_caller]
fn green_works(env: &TestEnv) {
    let who = ok(&env.aws(&["--profile", "green", "sts", "get-caller-identity"]));
    assert!(who.contains(&format!("user/{USER}")), "{who}");
}

#[track_caller]
fn blue_works(env: &TestEnv) {
    let who = ok(&env.aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role"),
        "{who}"
    );
}

#[test]
fn rotate_replaces_the_key_and_deletes_the_old_one() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let (old_id, old_secret) = (w.t.access_key_id.clone(), w.t.secret_access_key.clone());
    blue_works(env);
    let assumed = w.proxy.assume_role_calls();
    // A key-profile session (GetSessionToken, made with the old key).
    allow(&w, "sessions", &["sts:GetSessionToken"]);
    process_doc(&env.crossrole(&["export", "green", "--format", "json"], None));
    assert_eq!(session_keyring_keys("crossrole:session:#token:").len(), 1);
    assert_eq!(session_keyring_keys("crossrole:session:blue:").len(), 1);

    let out = env.crossrole(&["rotate", "--yes"], None);
    let text = ok(&out);
    let keys = iam_keys(&w);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let new_id = keys[0].clone();
    assert_ne!(new_id, old_id);
    for part in [
        "rotated profile green",
        USER,
        &format!("old key {} deleted in IAM", masked(&old_id)),
        &format!("new key {} stored", masked(&new_id)),
        "dropped 2 cached session(s) made with the old key",
    ] {
        assert!(text.contains(part), "stdout lacks {part:?}:\n{text}");
    }
    assert!(
        !text.contains(&old_id) && !text.contains(&new_id),
        "full ids shown:\n{text}"
    );

    assert!(session_keyring_keys("crossrole:session:#token:").is_empty());
    assert!(session_keyring_keys("crossrole:session:blue:").is_empty());
    // The keyring holds the new key; its secret was never shown.
    let (stored_id, new_secret) = stored_key(env);
    assert_eq!(stored_id, new_id);
    assert_output_has_no(&out, &[&old_secret, &new_secret]);
    env.assert_no_file_contains(&new_secret);
    env.assert_no_file_contains(&old_secret);

    // The old key is refused by STS; the new one works, through the AWS CLI too.
    let refused = identity_with(env, &old_id, &old_secret);
    assert!(!refused.status.success(), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("InvalidClientTokenId"),
        "{}",
        stderr(&refused)
    );
    ok(&identity_with(env, &new_id, &new_secret));
    green_works(env);

    // Blue's session made with the old key was dropped: a new AssumeRole,
    // signed with the new key.
    blue_works(env);
    assert_eq!(w.proxy.assume_role_calls(), assumed + 1);
    ok(&env.crossrole(&["clear"], None));
    blue_works(env);
    assert_eq!(w.proxy.assume_role_calls(), assumed + 2);
    let list = ok(&env.crossrole(&["list"], None));
    assert!(list.contains(&masked(&new_id)), "{list}");

    // And again: rotate needs nothing but the key it made.
    let text = ok(&env.crossrole(&["rotate", "green", "--yes"], None));
    assert!(text.contains(&masked(&new_id)), "{text}");
    let keys = iam_keys(&w);
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], new_id);
    green_works(env);
    blue_works(env);
}

#[test]
fn on_a_terminal_rotate_asks_first() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let old_id = w.t.access_key_id.clone();
    // Through a pseudo-terminal (setup_interactive's expect script).
    let on_a_terminal = |answer: &str| {
        crate::setup_interactive::on_a_terminal(&w.env, "60", &[("[y/N] ", answer)], &["rotate"])
    };
    let shown = on_a_terminal("n");
    assert!(shown.contains("EXIT 1"), "{shown}");
    assert!(
        shown.contains(&format!(
            "Create a new access key for IAM user {USER} (profile green), store it in the keyring and delete the old key {} in IAM? [y/N]",
            masked(&old_id)
        )),
        "{shown}"
    );
    assert!(shown.contains("nothing was changed"), "{shown}");
    assert_eq!(iam_keys(&w), vec![old_id.clone()]);

    let shown = on_a_terminal("y");
    assert!(shown.contains("EXIT 0"), "{shown}");
    assert!(shown.contains("rotated profile green"), "{shown}");
    let keys = iam_keys(&w);
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], old_id);
    green_works(&w.env);
}

#[test]
fn two_keys_are_refused_naming_both_and_nothing_changes() {
    let w = cmd_world_with(TestEnv::keyutils(), &["--two-keys"], &[]);
    let env = &w.env;
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let first = w.t.access_key_id.clone();
    let second = w.t.json["access_key_id_2"].as_str().unwrap().to_string();
    let before = iam_keys(&w);
    let config = env.read_config();

    let out = env.crossrole(&["rotate", "--yes"], None);
    let err = fails_with(
        &out,
        &[
            "already has two access keys",
            &format!("{} (in the keyring", masked(&first)),
            &masked(&second),
            "nothing was changed",
            "aws --profile green iam delete-access-key",
            "crossrole rotate green",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains(&first) && !err.contains(&second), "{err}");
    assert_eq!(iam_keys(&w), before);
    assert_eq!(stored_key(env).0, first);
    assert_eq!(env.read_config(), config);
    green_works(env);
}

#[test]
fn a_refused_deletion_keeps_a_working_key_and_names_the_live_ones() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    // Everything but iam:DeleteAccessKey.
    allow_own_keys(
        &w,
        &["ListAccessKeys", "CreateAccessKey", "UpdateAccessKey"],
    );
    let old_id = w.t.access_key_id.clone();

    let out = env.crossrole(&["rotate", "--yes"], None);
    let keys = iam_keys(&w);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let new_id = keys.iter().find(|k| **k != old_id).unwrap().clone();
    let err = fails_with(
        &out,
        &[
            &format!(
                "the keyring now holds the new key {}, which works",
                masked(&new_id)
            ),
            &format!("iam:DeleteAccessKey of the old key {}", masked(&old_id)),
            "Both keys are active in IAM",
            "aws --profile green iam list-access-keys",
            "aws --profile green iam delete-access-key --access-key-id ID",
            &format!("crossrole policy --green-account {GREEN} --user {USER}"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    let (stored_id, new_secret) = stored_key(env);
    assert_eq!(stored_id, new_id);
    assert_output_has_no(&out, &[&new_secret, &w.t.secret_access_key]);
    env.assert_no_file_contains(&new_secret);
    green_works(env);
    blue_works(env);

    // What the message says to run, once the user may delete keys.
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let listed = ok(&env.aws(&["--profile", "green", "iam", "list-access-keys"]));
    assert!(
        listed.contains(&old_id) && listed.contains(&new_id),
        "{listed}"
    );
    ok(&env.aws(&[
        "--profile",
        "green",
        "iam",
        "delete-access-key",
        "--access-key-id",
        &old_id,
    ]));
    assert_eq!(iam_keys(&w), vec![new_id]);
    green_works(env);
}

#[test]
fn sts_never_accepting_the_new_key_puts_the_old_one_back() {
    let mut w = cmd_world(TestEnv::keyutils(), &[]);
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let old_id = w.t.access_key_id.clone();
    // STS cannot be reached (IAM still is, at moto): the new key is never
    // accepted, and the old one, still active, is put back.
    let closed_sts = ("AWS_ENDPOINT_URL_STS".to_string(), closed_port_url());
    w.env.extra_env.push(closed_sts.clone());
    let out = w.env.crossrole(&["rotate", "--yes"], None);
    w.env.extra_env.clear();
    let err = fails_with(
        &out,
        &[
            "STS did not accept the new key",
            "cannot reach",
            "Nothing changed: the new key was deleted in IAM again",
            &format!("the keyring holds the old key {} again", masked(&old_id)),
            "crossrole rotate green",
        ],
    );
    assert_eq!(iam_keys(&w), vec![old_id.clone()], "{err}");
    assert_eq!(stored_key(&w.env).0, old_id);
    green_works(&w.env);
    blue_works(&w.env);

    // The same, where the new key cannot be deleted either: the keyring
    // still gets the old key back, and the message names the new one as live.
    allow_own_keys(&w, &["ListAccessKeys", "CreateAccessKey"]);
    w.env.extra_env.push(closed_sts);
    let out = w.env.crossrole(&["rotate", "--yes"], None);
    w.env.extra_env.clear();
    let keys = iam_keys(&w);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let new_id = keys.iter().find(|k| **k != old_id).unwrap();
    fails_with(
        &out,
        &[
            "STS did not accept the new key",
            &format!(
                "The keyring holds the old key {} again, which is still active",
                masked(&old_id)
            ),
            &format!("the new key {} is active in IAM too", masked(new_id)),
            "AccessDenied",
            "its secret is kept nowhere",
            "aws --profile green iam delete-access-key --access-key-id ID",
        ],
    );
    assert_eq!(stored_key(&w.env).0, old_id);
    green_works(&w.env);
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn a_keyring_that_cannot_store_the_new_key_keeps_the_old_one() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    allow_own_keys(&w, ALL_KEY_ACTIONS);
    let old_id = w.t.access_key_id.clone();
    // The session keyring (where the keys live here) takes no new key:
    // reading still works, storing fails.
    let desc = stdout(&keyctl(&["rdescribe", "@s"]));
    let perm = desc.split(';').nth(3).unwrap().to_string();
    ok(&keyctl(&["setperm", "@s", "0x3b3b0000"]));
    let out = env.crossrole(&["rotate", "--yes"], None);
    ok(&keyctl(&["setperm", "@s", &format!("0x{perm}")]));
    fails_with(
        &out,
        &[
            "could not store the new key",
            "It was deleted in IAM again: nothing changed",
            &format!(
                "the keyring still holds key {}, which works",
                masked(&old_id)
            ),
        ],
    );
    assert_eq!(iam_keys(&w), vec![old_id.clone()]);
    assert_eq!(stored_key(env).0, old_id);
    green_works(env);
}

#[test]
fn rotate_refuses_without_yes_a_role_profile_and_missing_rights() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    let before = iam_keys(&w);

    // No terminal, no --yes: a usage error before any request.
    let calls = w.proxy.caller_identity_calls();
    let out = env.crossrole(&["rotate"], None);
    fails_with(&out, &["--yes", "`green`"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(w.proxy.caller_identity_calls(), calls);

    // A role profile: its source's key is the one to rotate.
    let out = env.crossrole(&["rotate", "blue", "--yes"], None);
    fails_with(&out, &["crossrole rotate green"]);
    assert_eq!(out.status.code(), Some(2));

    // A profile crossrole does not manage.
    let out = env.crossrole(&["rotate", "nope", "--yes"], None);
    fails_with(&out, &["`nope`", "not in"]);

    // The tutorial user may not list its keys: refused, nothing changed.
    let out = env.crossrole(&["rotate", "--yes"], None);
    fails_with(
        &out,
        &[
            "iam:ListAccessKeys with key",
            &masked(&w.t.access_key_id),
            "AccessDenied",
            "nothing was changed",
            "iam:CreateAccessKey and iam:DeleteAccessKey",
            &format!("crossrole policy --green-account {GREEN} --user {USER}"),
        ],
    );
    // Listing allowed, creating not: still nothing changed.
    allow_own_keys(&w, &["ListAccessKeys"]);
    let out = env.crossrole(&["rotate", "--yes"], None);
    fails_with(
        &out,
        &["iam:CreateAccessKey", "AccessDenied", "nothing was changed"],
    );
    // The refusals asked STS who the user is (for the policy command);
    // no key was ever made, so none was waited for.
    assert_eq!(w.proxy.caller_identity_calls(), calls + 2);
    assert_eq!(iam_keys(&w), before);
    assert_eq!(stored_key(env).0, w.t.access_key_id);
    green_works(env);
}

#[test]
fn setup_over_another_key_says_the_old_one_may_still_be_active() {
    let w = cmd_world_with(TestEnv::keyutils(), &["--two-keys"], &[]);
    let env = &w.env;
    let first = w.t.access_key_id.clone();
    let second = w.t.json["access_key_id_2"].as_str().unwrap().to_string();
    let secret2 = w.t.json["secret_access_key_2"]
        .as_str()
        .unwrap()
        .to_string();

    let out = env.crossrole(
        &["setup", "--access-key-id", &second],
        Some(&format!("{secret2}\n")),
    );
    let text = ok(&out);
    for part in [
        &format!("key {} may still be active in IAM", masked(&first)),
        "aws --profile green iam delete-access-key",
        "`crossrole rotate green` replaces the key and deletes the old one",
    ] {
        assert!(text.contains(part), "stdout lacks {part:?}:\n{text}");
    }
    assert!(!text.contains(&first), "full id shown:\n{text}");
    assert_output_has_no(&out, &[&secret2]);
    assert_eq!(stored_key(env).0, second);

    // The same key again: nothing replaced, nothing said.
    let text = ok(&env.crossrole(
        &["setup", "--access-key-id", &second],
        Some(&format!("{secret2}\n")),
    ));
    assert!(!text.contains("may still be active"), "{text}");
}

#[test]
fn doctor_shows_the_key_age_or_why_it_cannot() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    let env = &w.env;
    let key = masked(&w.t.access_key_id);

    // The tutorial user may not list its keys.
    let text = ok(&env.crossrole(&["doctor"], None));
    let line = text
        .lines()
        .find(|l| l.contains("key age"))
        .unwrap_or_else(|| panic!("no key age line:\n{text}"));
    assert!(line.starts_with("[warn]"), "{text}");
    for part in [
        "cannot tell",
        &key,
        "profile green",
        "iam:ListAccessKeys",
        "AccessDenied",
    ] {
        assert!(line.contains(part), "{part:?} missing:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "crossrole policy --green-account {GREEN} --user {USER}"
        )),
        "{text}"
    );

    // Allowed: a key made today is 0 days old, which is fine.
    allow_own_keys(&w, &["ListAccessKeys"]);
    let text = ok(&env.crossrole(&["doctor"], None));
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert!(
        text.lines().any(|l| l.starts_with("[ok  ]")
            && l.contains(&format!(
                "key age: key {key} of profile green is 0 day(s) old (created {today})"
            ))),
        "{text}"
    );
    assert!(!text.contains("crossrole rotate"), "{text}");

    // An old key: moto's keys are all new, so a stand-in IAM answers
    // ListAccessKeys with a key made in 2020 (STS is still moto).
    let old_iam = common::fake_sts::FakeSts::start(common::fake_sts::Reply::Http {
        status: "200 OK",
        content_type: "text/xml",
        body: format!(
            "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult><UserName>{USER}</UserName><AccessKeyMetadata><member><UserName>{USER}</UserName><AccessKeyId>{}</AccessKeyId><Status>Active</Status><CreateDate>2020-01-02T03:04:05Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>",
            w.t.access_key_id
        ),
    });
    let out = run_with_input(
        env.command(BIN)
            .args(["doctor"])
            .env("AWS_ENDPOINT_URL_IAM", old_iam.url()),
        None,
    );
    let text = ok(&out);
    assert_eq!(old_iam.requests(), 1, "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("key age"))
        .unwrap_or_else(|| panic!("no key age line:\n{text}"));
    assert!(
        line.starts_with("[warn]")
            && line.contains(&format!("key {key} of profile green is"))
            && line.contains("(created 2020-01-02), past 90 days"),
        "{text}"
    );
    assert!(
        text.contains("fix: replace it with a new one: `crossrole rotate green`"),
        "{text}"
    );

    // Offline: not asked.
    let text = ok(&env.crossrole(&["doctor", "--offline"], None));
    assert!(!text.contains("key age"), "{text}");
    env.assert_no_file_contains(&w.t.secret_access_key);
}
