//! `crossrole policy` through the real binary: the labelled text output, the
//! `--json` shape, the trust conditions, input errors, and moto's IAM
//! accepting (and, with enforcement on, honouring) the documents it prints.

#![cfg(target_os = "linux")]
use crate::common;

use common::{crossrole_bare, Moto};

use std::process::{Command, Output};

use serde_json::Value;

const GREEN: &str = "111111111111";
const BLUE: &str = "222222222222";

fn policy(extra: &[&str]) -> Output {
    let mut args = vec![
        "policy",
        "--green-account",
        GREEN,
        "--blue-account",
        BLUE,
        "--bucket",
        "the-bucket",
    ];
    args.extend_from_slice(extra);
    crossrole_bare(&args)
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "crossrole failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Each `# N.` label with the JSON document below it: a document starts at a
/// line that is exactly `{` and ends at a line that is exactly `}`.
fn documents(text: &str) -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let mut label = String::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        match &mut body {
            Some(b) => {
                b.push_str(line);
                b.push('\n');
                if line == "}" {
                    let v: Value = serde_json::from_str(b).unwrap_or_else(|e| panic!("{e}: {b}"));
                    docs.push((label.clone(), v));
                    body = None;
                }
            }
            None if line == "{" => body = Some("{\n".into()),
            None if line.starts_with("# ")
                && line.as_bytes().get(2).is_some_and(u8::is_ascii_digit) =>
            {
                label = line.to_string();
            }
            None => assert!(
                line.is_empty() || line.starts_with('#'),
                "unexpected line outside documents: {line}"
            ),
        }
    }
    assert!(body.is_none(), "unterminated document");
    docs
}

fn statement(doc: &Value) -> &Value {
    &doc["Statement"][0]
}

#[test]
fn text_output_has_three_labelled_valid_documents() {
    let text = stdout_of(&policy(&[]));
    let docs = documents(&text);
    assert_eq!(docs.len(), 3, "{text}");

    let (label, perm) = &docs[0];
    assert!(
        label.starts_with(
            "# 1. Blue account (222222222222): permission policy of role CrossAccountS3Access-Role"
        ),
        "{label}"
    );
    assert!(text.contains("aws iam put-role-policy --role-name CrossAccountS3Access-Role"));
    assert_eq!(perm["Version"], "2012-10-17");
    assert_eq!(perm["Statement"][0]["Sid"], "PutGetListAccessOnS3");
    assert_eq!(
        perm["Statement"][0]["Action"],
        serde_json::json!(["s3:PutObject", "s3:GetObject", "s3:ListBucket"])
    );
    assert_eq!(
        perm["Statement"][0]["Resource"],
        serde_json::json!(["arn:aws:s3:::the-bucket", "arn:aws:s3:::the-bucket/*"])
    );
    assert!(perm["Statement"].get(1).is_none());

    let (label, trust) = &docs[1];
    assert!(
        label.starts_with("# 2. Blue account (222222222222): trust policy"),
        "{label}"
    );
    assert!(text.contains("aws iam create-role --role-name CrossAccountS3Access-Role"));
    assert!(text.contains("sts:SetSourceIdentity lets crossrole_source_identity"));
    assert_eq!(trust["Version"], "2012-10-17");
    assert_eq!(
        statement(trust)["Principal"]["AWS"],
        "arn:aws:iam::111111111111:root"
    );
    assert_eq!(
        statement(trust)["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:SetSourceIdentity"])
    );
    assert!(statement(trust).get("Condition").is_none());
    assert!(statement(trust).get("Resource").is_none());

    let (label, group) = &docs[2];
    assert!(
        label.starts_with("# 3. Green account (111111111111)"),
        "{label}"
    );
    assert!(text.contains("aws iam put-group-policy --group-name GROUP"));
    assert_eq!(group["Version"], "2012-10-17");
    assert_eq!(
        statement(group)["Resource"],
        "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role"
    );

    // Documents are separated by a blank line.
    assert_eq!(text.matches("}\n\n# ").count(), 2, "{text}");
}

#[test]
fn json_output_has_the_documented_fields() {
    let out = policy(&["--json", "--role-name", "Other.Role"]);
    let v: Value = serde_json::from_str(&stdout_of(&out)).expect("one JSON object");
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "blue_permission_policy",
            "blue_trust_policy",
            "green_group_policy",
            "role_arn"
        ]
    );
    assert_eq!(v["role_arn"], "arn:aws:iam::222222222222:role/Other.Role");
    for k in [
        "blue_permission_policy",
        "blue_trust_policy",
        "green_group_policy",
    ] {
        assert_eq!(v[k]["Version"], "2012-10-17", "{k}");
        assert!(
            v[k]["Statement"].as_array().is_some_and(|s| !s.is_empty()),
            "{k}"
        );
    }
    assert_eq!(
        statement(&v["green_group_policy"])["Resource"],
        "arn:aws:iam::222222222222:role/Other.Role"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mfa_and_external_id_add_conditions() {
    let one = |extra: &[&str]| -> Value {
        let v: Value = serde_json::from_str(&stdout_of(&policy(extra))).expect("json");
        statement(&v["blue_trust_policy"])
            .get("Condition")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mfa = one(&["--json", "--require-mfa"]);
    assert_eq!(mfa["Bool"]["aws:MultiFactorAuthPresent"], "true");
    assert!(mfa.get("StringEquals").is_none());

    let ext = one(&["--json", "--external-id", "Ext-Id_42"]);
    assert_eq!(ext["StringEquals"]["sts:ExternalId"], "Ext-Id_42");
    assert!(ext.get("Bool").is_none());

    let both = one(&["--json", "--require-mfa", "--external-id", "Ext-Id_42"]);
    assert_eq!(both["Bool"]["aws:MultiFactorAuthPresent"], "true");
    assert_eq!(both["StringEquals"]["sts:ExternalId"], "Ext-Id_42");

    // The same conditions in the text output, whose labels say what setup needs.
    let text = stdout_of(&policy(&["--require-mfa", "--external-id", "Ext-Id_42"]));
    let docs = documents(&text);
    assert_eq!(statement(&docs[1].1)["Condition"], both);
    assert!(text.contains("--mfa-serial"));
}

#[test]
fn user_principal_and_group_note() {
    let user = "arn:aws:iam::111111111111:user/s3-prod-user";
    let v: Value =
        serde_json::from_str(&stdout_of(&policy(&["--json", "--user-or-group", user]))).unwrap();
    assert_eq!(statement(&v["blue_trust_policy"])["Principal"]["AWS"], user);

    // A group cannot be a principal: the account is trusted, the group named
    // in the put-group-policy command, and stderr says why.
    let out = policy(&[
        "--user-or-group",
        "arn:aws:iam::111111111111:group/s3-prod-group",
    ]);
    let text = stdout_of(&out);
    let docs = documents(&text);
    assert_eq!(
        statement(&docs[1].1)["Principal"]["AWS"],
        "arn:aws:iam::111111111111:root"
    );
    assert!(text.contains("aws iam put-group-policy --group-name s3-prod-group"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("groups cannot be principals"), "{err}");
}

fn assert_usage_error(extra: &[&str], flag: &str, says: &str) {
    let out = policy(extra);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
    assert!(out.stdout.is_empty(), "{extra:?} wrote to stdout");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(flag) && err.contains(says), "{extra:?}: {err}");
}

#[test]
fn bad_inputs_fail_with_specific_messages() {
    // clap refuses a flag given twice, so bad accounts and buckets need their
    // own argument lists instead of `policy(extra)`.
    let run = |args: &[&str]| {
        let mut all = vec!["policy"];
        all.extend_from_slice(args);
        crossrole_bare(&all)
    };
    let base = |green: &'static str, blue: &'static str, bucket: &'static str| {
        vec![
            "--green-account",
            green,
            "--blue-account",
            blue,
            "--bucket",
            bucket,
        ]
    };
    let check = |args: Vec<&str>, flag: &str, says: &str| {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(flag) && err.contains(says), "{args:?}: {err}");
    };
    check(
        base("12345", BLUE, "the-bucket"),
        "--green-account",
        "12 digits",
    );
    check(
        base(GREEN, "2222222222222", "the-bucket"),
        "--blue-account",
        "12 digits",
    );
    check(
        base(GREEN, "22222222222a", "the-bucket"),
        "--blue-account",
        "12 digits",
    );
    check(base(GREEN, BLUE, "Bad_Bucket"), "--bucket", "lower-case");
    check(base(GREEN, BLUE, "ab"), "--bucket", "3-63 characters");
    check(base(GREEN, BLUE, "192.168.1.1"), "--bucket", "IP address");

    assert_usage_error(
        &["--role-name", "my role"],
        "--role-name",
        "1-64 characters",
    );
    assert_usage_error(&["--role-name", ""], "--role-name", "1-64 characters");
    assert_usage_error(
        &["--external-id", "x"],
        "--external-id",
        "2-1224 characters",
    );
    assert_usage_error(
        &["--user-or-group", "arn:aws:iam::333333333333:user/u"],
        "--user-or-group",
        "not in the Green account",
    );
    assert_usage_error(
        &["--user-or-group", "arn:aws:iam::111111111111:role/r"],
        "--user-or-group",
        "user or group ARN",
    );
    // A huge value is echoed back cut short, not in full.
    let long = "a".repeat(100_000);
    let out = policy(&["--role-name", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.len() < 1000,
        "{} bytes of stderr",
        out.stderr.len()
    );
}

#[test]
fn missing_required_flag_is_a_clap_error() {
    let out = crossrole_bare(&["policy", "--green-account", GREEN]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

// ---- moto ----

/// Builds the setup in moto from the three documents, then (unless the trust
/// policy has conditions moto cannot satisfy) turns IAM enforcement on and
/// checks that a Green user in the group can assume the role and use the
/// bucket, and only that bucket.
const MOTO_SCRIPT: &str = r#"
import json, sys, urllib.request
import boto3
from botocore.exceptions import ClientError

ep, docs_dir, role, group, bucket, green, blue, external_id, enforce = sys.argv[1:10]
docs = {k: open(f"{docs_dir}/{k}.json").read()
        for k in ("blue_permission_policy", "blue_trust_policy", "green_group_policy")}

def client(service, account, **kw):
    c = boto3.client(service, endpoint_url=ep, region_name="eu-west-1",
                     aws_access_key_id=kw.get("key", "AKIAIOSFODNN7EXAMPLE"),
                     aws_secret_access_key=kw.get("secret", "not-a-secret"),
                     aws_session_token=kw.get("token"))
    if account:
        c.meta.events.register("before-send.*.*",
                               lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    return c

iam_blue = client("iam", blue)
iam_blue.create_policy(PolicyName="crossrole-s3", PolicyDocument=docs["blue_permission_policy"])
iam_blue.create_role(RoleName=role, AssumeRolePolicyDocument=docs["blue_trust_policy"])
# moto checks a trust policy's grammar only on update, so send it again there.
iam_blue.update_assume_role_policy(RoleName=role, PolicyDocument=docs["blue_trust_policy"])
iam_blue.put_role_policy(RoleName=role, PolicyName="s3", PolicyDocument=docs["blue_permission_policy"])

iam_green = client("iam", green)
iam_green.create_group(GroupName=group)
iam_green.put_group_policy(GroupName=group, PolicyName="assume", PolicyDocument=docs["green_group_policy"])
iam_green.create_user(UserName="s3-prod-user")
iam_green.add_user_to_group(GroupName=group, UserName="s3-prod-user")
key = iam_green.create_access_key(UserName="s3-prod-user")["AccessKey"]

s3_admin = client("s3", blue)
for b in (bucket, "other-bucket"):
    s3_admin.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

if enforce == "yes":
    urllib.request.urlopen(urllib.request.Request(
        ep + "/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}, method="POST")).read()
    sts = client("sts", None, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    kw = {"ExternalId": external_id} if external_id != "-" else {}
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{blue}:role/{role}", RoleSessionName="policy-test", **kw)["Credentials"]
    s3 = client("s3", None, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    s3.put_object(Bucket=bucket, Key="foo", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="foo")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["foo"]
    try:
        s3.list_objects_v2(Bucket="other-bucket")
        sys.exit("the role could list a bucket the policy does not name")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied", e.response
print("ok")
"#;

fn moto_accepts(extra: &[&str], role: &str, group: &str, external_id: Option<&str>, enforce: bool) {
    let mut args = vec!["--json", "--role-name", role];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&stdout_of(&policy(&args))).expect("json");

    let dir = tempfile::tempdir().expect("temp dir");
    for k in [
        "blue_permission_policy",
        "blue_trust_policy",
        "green_group_policy",
    ] {
        std::fs::write(dir.path().join(format!("{k}.json")), v[k].to_string()).expect("write doc");
    }
    let script = dir.path().join("apply.py");
    std::fs::write(&script, MOTO_SCRIPT).expect("write script");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");

    let moto = Moto::start();
    let out = Command::new("python3")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .current_dir(dir.path())
        .arg(&script)
        .arg(moto.url())
        .arg(dir.path())
        .args([role, group, "the-bucket", GREEN, BLUE])
        .arg(external_id.unwrap_or("-"))
        .arg(if enforce { "yes" } else { "no" })
        .output()
        .expect("python3");
    drop(moto);
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "moto rejected the documents for {extra:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn moto_accepts_and_honours_the_default_documents() {
    moto_accepts(
        &[],
        "CrossAccountS3Access-Role",
        "s3-prod-group",
        None,
        true,
    );
}

#[test]
fn moto_accepts_documents_with_external_id_and_user_principal() {
    moto_accepts(
        &[
            "--external-id",
            "Ext-Id_42",
            "--user-or-group",
            "arn:aws:iam::111111111111:user/s3-prod-user",
        ],
        "Role.With@Odd=Chars",
        "s3-prod-group",
        Some("Ext-Id_42"),
        true,
    );
}

#[test]
fn moto_accepts_documents_with_mfa_and_group() {
    // No enforced run: moto cannot present an MFA-authenticated Green user.
    moto_accepts(
        &[
            "--require-mfa",
            "--external-id",
            "Ext-Id_42",
            "--user-or-group",
            "arn:aws:iam::111111111111:group/team/s3-prod-group",
        ],
        "CrossAccountS3Access-Role",
        "s3-prod-group",
        Some("Ext-Id_42"),
        false,
    );
}
