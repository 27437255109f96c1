//! `crossrole deprovision` against moto with IAM enforcement on: it removes
//! what provision made, in both accounts and on this machine, and refuses
//! what provision did not make.

use crate::common;
use common::admin::*;
use common::*;

#[test]
fn deprovision_leaves_nothing_of_provisions_and_only_that() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    ok(&w.provision(&[]));
    // Something provision did not make, in the same accounts: left alone.
    ok(&w
        .env
        .aws(&["--profile", "blue-admin", "s3", "mb", "s3://keep-me"]));
    // The bucket provision made holds an object: it stays, and says why.
    std::fs::write(w.env.home.join("f"), "x").unwrap();
    ok(&w
        .env
        .aws(&["--profile", "blue", "s3", "cp", "f", "s3://the-bucket/"]));

    let text = ok(&w.deprovision(&[]));
    for line in [
        "access key",
        "user s3-prod-user: deleted",
        "group prod-s3-users: deleted",
        "role CrossAccountS3Access-Role: deleted",
        "bucket the-bucket: left, it is not empty",
        "deprovision done",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(!w.user_exists("s3-prod-user"));
    assert!(!w.exists(
        "green-admin",
        &["iam", "get-group", "--group-name", "prod-s3-users"]
    ));
    assert!(!w.role_exists("CrossAccountS3Access-Role"));
    assert!(!w.exists(
        "blue-admin",
        &[
            "iam",
            "get-policy",
            "--policy-arn",
            &format!("arn:aws:iam::{BLUE}:policy/CrossAccountS3Access")
        ]
    ));
    assert!(w.bucket_exists("keep-me"));
    let config = w.env.read_config();
    assert!(
        !config.contains("[profile green]") && !config.contains("[profile blue]"),
        "{config}"
    );
    assert!(config.contains("[profile green-admin]"), "{config}");
    let listed = ok(&w.env.crossrole(&["list"], None));
    assert!(
        !listed.contains("green") || listed.contains("green-admin"),
        "{listed}"
    );

    // Emptied, the bucket goes on the next run (the names come from --bucket now,
    // as the policy that named it is gone).
    ok(&w
        .env
        .aws(&["--profile", "blue-admin", "s3", "rm", "s3://the-bucket/f"]));
    let text = ok(&w.deprovision(&["--bucket", "the-bucket"]));
    assert!(text.contains("bucket the-bucket: deleted"), "{text}");
    assert!(!w.bucket_exists("the-bucket"));
    assert!(w.bucket_exists("keep-me"));
}

#[test]
fn an_untagged_user_of_the_same_name_is_refused_and_nothing_is_deleted() {
    let w = admin_world(TestEnv::keyutils(), &[]);
    moto_admin(&w.moto, GREEN, "iam.create_user(UserName='s3-prod-user')");
    moto_admin(
        &w.moto,
        GREEN,
        "iam.create_group(GroupName='prod-s3-users')",
    );
    let out = w.deprovision(&[]);
    let err = fails_with(
        &out,
        &[
            "user s3-prod-user in account 111111111111 has no crossrole:managed tag",
            "deletes nothing",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(w.user_exists("s3-prod-user"));
    assert!(w.exists(
        "green-admin",
        &["iam", "get-group", "--group-name", "prod-s3-users"]
    ));
}
