//! `crossrole policy`: the three IAM documents of the cross-account setup.
//!
//! Everything is validated before the first byte is written, so a mistake
//! never leaves half a set of documents on stdout for a script to apply.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::validate;
use crate::validate::{account_id, is_iam_name_char};

const POLICY_VERSION: &str = "2012-10-17";

/// Actions the trust policy and the Green policy allow. `sts:SetSourceIdentity`
/// is there so `crossrole_source_identity` works: AWS checks it in both the
/// role's trust policy and the caller's own policy, and it grants nothing
/// unless the caller also passes a source identity.
const ASSUME_ACTIONS: &[&str] = &["sts:AssumeRole", "sts:SetSourceIdentity"];

/// Struct order is serialisation order, so documents read `Version` first,
/// as in the AWS documentation (serde_json's map would sort the keys).
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: &'static str,
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<BTreeMap<&'static str, String>>,
    pub action: Actions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resources>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<&'static str, BTreeMap<&'static str, String>>,
}

/// IAM accepts a string or a list; one action reads better as a string.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Actions {
    One(&'static str),
    Many(Vec<&'static str>),
}

/// One resource or several, as IAM accepts both.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Resources {
    One(String),
    Many(Vec<String>),
}

/// The `--json` shape; scripts rely on these field names.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PolicySet {
    pub blue_permission_policy: PolicyDocument,
    pub blue_trust_policy: PolicyDocument,
    pub green_group_policy: PolicyDocument,
    /// With `--user NAME`: the user's own-keys policy (for `crossrole rotate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub green_user_policy: Option<PolicyDocument>,
    pub role_arn: String,
}

/// Who the trust policy names, after reading `--user-or-group`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Trusted {
    Account,
    User(String),
    /// IAM does not accept a group as a principal, so the account is trusted
    /// and the group's own policy (document 3) does the narrowing.
    Group {
        name: String,
    },
}

/// The flags as given (built in `lib.rs`, so nothing here depends on
/// clap), before any is checked.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub green_account: String,
    /// With `bucket`, needed unless `user` asks for the own-keys policy alone.
    pub blue_account: Option<String>,
    pub bucket: Option<String>,
    pub role_name: String,
    pub user_or_group: Option<String>,
    pub require_mfa: bool,
    pub external_id: Option<String>,
    /// `--user NAME`: also the user's own-keys policy.
    pub user: Option<String>,
    pub json: bool,
}

/// Validated inputs; built only by [`Input::from_args`].
#[derive(Debug, Clone)]
struct Input {
    partition: String,
    green: String,
    blue: String,
    bucket: String,
    role_name: String,
    trusted: Trusted,
    require_mfa: bool,
    external_id: Option<String>,
    user: Option<String>,
}

fn usage(flag: &str, msg: String) -> Error {
    Error::Usage(format!("{flag}: {msg}"))
}

/// The S3 general purpose bucket naming rules, so a typo is caught here and
/// not by IAM accepting a policy for a bucket that can never exist.
pub(crate) fn bucket_name(s: &str) -> std::result::Result<(), String> {
    let shown = validate::shorten(s);
    let rules = "3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit";
    if !(3..=63).contains(&s.len()) {
        return Err(format!("`{shown}` is not a bucket name ({rules})"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
    {
        return Err(format!(
            "`{shown}` is not a bucket name: `{}` is not allowed ({rules})",
            validate::shorten(&c.to_string())
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(s.chars().next()) || !edge_ok(s.chars().last()) {
        return Err(format!("`{shown}` is not a bucket name ({rules})"));
    }
    if s.contains("..") || s.contains(".-") || s.contains("-.") {
        return Err(format!(
            "`{shown}` is not a bucket name: a dot may not sit next to another dot or a hyphen"
        ));
    }
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{shown}` is not a bucket name: it may not look like an IP address"
        ));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if s.starts_with(prefix) {
            return Err(format!(
                "`{shown}` is not a bucket name: the prefix `{prefix}` is reserved by S3"
            ));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if s.ends_with(suffix) {
            return Err(format!(
                "`{shown}` is not a bucket name: the suffix `{suffix}` is reserved by S3"
            ));
        }
    }
    Ok(())
}

/// An IAM name of 1-`max` characters of letters, digits and +=,.@_-;
/// `what` names it in the message ("an IAM user name").
fn iam_name(s: &str, what: &str, max: usize) -> std::result::Result<(), String> {
    if !s.is_empty() && s.len() <= max && s.chars().all(is_iam_name_char) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not {what} (1-{max} characters of letters, digits and +=,.@_-)",
            validate::shorten(s)
        ))
    }
}

pub(crate) fn user_name(s: &str) -> std::result::Result<(), String> {
    iam_name(s, "an IAM user name", 64)
}

pub(crate) fn group_name(s: &str) -> std::result::Result<(), String> {
    iam_name(s, "an IAM group name", 128)
}

/// Managed policy names.
pub(crate) fn policy_name(s: &str) -> std::result::Result<(), String> {
    iam_name(s, "a policy name", 128)
}

pub(crate) fn role_name(s: &str) -> std::result::Result<(), String> {
    iam_name(s, "a role name", 64)
}

const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// `arn:PARTITION:iam::GREEN:user/[PATH/]NAME` or `…:group/[PATH/]NAME`.
/// Returns the partition and who is trusted; the account must be Green's,
/// since that is the account whose users assume the role.
fn user_or_group(s: &str, green: &str) -> std::result::Result<(String, Trusted), String> {
    let shown = validate::shorten(s);
    let hint =
        format!("expected arn:aws:iam::{green}:user/NAME or arn:aws:iam::{green}:group/NAME");
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        return Err(format!(
            "`{shown}` is not an IAM user or group ARN ({hint})"
        ));
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(format!(
            "`{}` is not an AWS partition (one of {}; {hint})",
            validate::shorten(parts[1]),
            PARTITIONS.join(", ")
        ));
    }
    account_id(parts[4])?;
    if parts[4] != green {
        return Err(format!(
            "`{shown}` is in account {}, not in the Green account {green} given with --green-account",
            parts[4]
        ));
    }
    let (kind, path_and_name) = if let Some(rest) = parts[5].strip_prefix("user/") {
        ("user", rest)
    } else if let Some(rest) = parts[5].strip_prefix("group/") {
        ("group", rest)
    } else {
        return Err(format!(
            "`{shown}` is not an IAM user or group ARN ({hint})"
        ));
    };
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    let max = if kind == "user" { 64 } else { 128 };
    if name.is_empty() || name.len() > max || !name.chars().all(is_iam_name_char) {
        return Err(format!(
            "{kind} name `{}` must be 1-{max} characters of letters, digits and +=,.@_-",
            validate::shorten(name)
        ));
    }
    if path_and_name.len() > 512 + max
        || !path_and_name
            .chars()
            .all(|c| is_iam_name_char(c) || c == '/')
    {
        return Err(format!(
            "the path in `{shown}` has characters IAM does not allow"
        ));
    }
    let trusted = if kind == "user" {
        Trusted::User(s.to_string())
    } else {
        Trusted::Group {
            name: name.to_string(),
        }
    };
    Ok((parts[1].to_string(), trusted))
}

impl Input {
    fn from_args(a: &PolicyInput) -> Result<Input> {
        account_id(&a.green_account).map_err(|e| usage("--green-account", e))?;
        let missing = |flag: &str| {
            Error::Usage(format!(
                "{flag} is needed (only `--user NAME --green-account ID` prints the own-keys policy alone)"
            ))
        };
        let blue = a
            .blue_account
            .as_deref()
            .ok_or_else(|| missing("--blue-account"))?;
        let bucket = a.bucket.as_deref().ok_or_else(|| missing("--bucket"))?;
        account_id(blue).map_err(|e| usage("--blue-account", e))?;
        bucket_name(bucket).map_err(|e| usage("--bucket", e))?;
        if let Some(u) = &a.user {
            user_name(u).map_err(|e| usage("--user", e))?;
        }
        role_name(&a.role_name).map_err(|e| usage("--role-name", e))?;
        if let Some(id) = &a.external_id {
            validate::external_id(id).map_err(|e| usage("--external-id", e))?;
        }
        let (partition, trusted) = match &a.user_or_group {
            // All three documents must live in one partition: a principal in
            // aws-cn cannot assume a role in aws.
            Some(arn) => {
                user_or_group(arn, &a.green_account).map_err(|e| usage("--user-or-group", e))?
            }
            None => ("aws".to_string(), Trusted::Account),
        };
        Ok(Input {
            partition,
            green: a.green_account.clone(),
            blue: blue.to_string(),
            bucket: bucket.to_string(),
            role_name: a.role_name.clone(),
            trusted,
            require_mfa: a.require_mfa,
            external_id: a.external_id.clone(),
            user: a.user.clone(),
        })
    }

    fn role_arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.partition, self.blue, self.role_name
        )
    }

    fn group_name(&self) -> &str {
        match &self.trusted {
            Trusted::Group { name } => name,
            _ => "GROUP",
        }
    }
}

fn permission_policy(i: &Input) -> PolicyDocument {
    bucket_policy(&i.partition, &i.bucket)
}

/// The role's permission policy: the tutorial's one statement, listing the
/// bucket and reading and writing its objects.
pub fn bucket_policy(partition: &str, bucket: &str) -> PolicyDocument {
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "PutGetListAccessOnS3",
            effect: "Allow",
            principal: None,
            action: Actions::Many(vec!["s3:PutObject", "s3:GetObject", "s3:ListBucket"]),
            resource: Some(Resources::Many(vec![
                bucket_arn.clone(),
                format!("{bucket_arn}/*"),
            ])),
            condition: BTreeMap::new(),
        }],
    }
}

/// What `rotate` needs and nothing more: the user's own access keys, the
/// user's ARN written out. (A policy variable such as `${aws:username}`
/// would do on AWS, but not everywhere IAM is emulated.)
pub fn own_keys_policy(partition: &str, account: &str, user: &str) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "ManageOwnAccessKeys",
            effect: "Allow",
            principal: None,
            action: Actions::Many(vec![
                "iam:CreateAccessKey",
                "iam:DeleteAccessKey",
                "iam:ListAccessKeys",
                "iam:UpdateAccessKey",
            ]),
            resource: Some(Resources::One(format!(
                "arn:{partition}:iam::{account}:user/{user}"
            ))),
            condition: BTreeMap::new(),
        }],
    }
}

/// The three documents provision writes: the role trusts the Green account,
/// and the group's policy narrows who may assume it.
pub fn provision_set(
    partition: &str,
    green: &str,
    blue: &str,
    bucket: &str,
    role_name: &str,
    require_mfa: bool,
    external_id: Option<&str>,
) -> PolicySet {
    policy_set(&Input {
        partition: partition.to_string(),
        green: green.to_string(),
        blue: blue.to_string(),
        bucket: bucket.to_string(),
        role_name: role_name.to_string(),
        trusted: Trusted::Account,
        require_mfa,
        external_id: external_id.map(str::to_string),
        user: None,
    })
}

fn trust_policy(i: &Input) -> PolicyDocument {
    let principal = match &i.trusted {
        Trusted::User(arn) => arn.clone(),
        Trusted::Account | Trusted::Group { .. } => {
            format!("arn:{}:iam::{}:root", i.partition, i.green)
        }
    };
    let mut condition: BTreeMap<&'static str, BTreeMap<&'static str, String>> = BTreeMap::new();
    if i.require_mfa {
        condition
            .entry("Bool")
            .or_default()
            .insert("aws:MultiFactorAuthPresent", "true".into());
    }
    if let Some(id) = &i.external_id {
        condition
            .entry("StringEquals")
            .or_default()
            .insert("sts:ExternalId", id.clone());
    }
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "TrustGreen",
            effect: "Allow",
            principal: Some(BTreeMap::from([("AWS", principal)])),
            action: Actions::Many(ASSUME_ACTIONS.to_vec()),
            resource: None,
            condition,
        }],
    }
}

fn group_policy(i: &Input) -> PolicyDocument {
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "AssumeBlueRole",
            effect: "Allow",
            principal: None,
            action: Actions::Many(ASSUME_ACTIONS.to_vec()),
            resource: Some(Resources::One(i.role_arn())),
            condition: BTreeMap::new(),
        }],
    }
}

fn policy_set(i: &Input) -> PolicySet {
    PolicySet {
        blue_permission_policy: permission_policy(i),
        blue_trust_policy: trust_policy(i),
        green_group_policy: group_policy(i),
        green_user_policy: i
            .user
            .as_deref()
            .map(|u| own_keys_policy(&i.partition, &i.green, u)),
        role_arn: i.role_arn(),
    }
}

fn pretty(doc: &PolicyDocument) -> Result<String> {
    serde_json::to_string_pretty(doc)
        .map_err(|e| Error::Other(format!("cannot format a policy document: {e}")))
}

/// The `#` lines and JSON of the default output; the labels tell where each
/// document goes and the aws CLI command that puts it there.
fn render_text(i: &Input, set: &PolicySet) -> Result<String> {
    let role = &i.role_name;
    let group = i.group_name();
    let mut s = String::new();

    s.push_str(&format!(
        "# 1. Blue account ({}): permission policy of role {role}\n\
         #    (run after creating the role with document 2)\n\
         #    aws iam put-role-policy --role-name {role} --policy-name s3-{} --policy-document file://blue-permission-policy.json\n",
        i.blue, i.bucket
    ));
    s.push_str(&pretty(&set.blue_permission_policy)?);
    s.push_str("\n\n");

    let who = match &i.trusted {
        Trusted::Account => format!("trusts the Green account {}", i.green),
        Trusted::User(arn) => format!("trusts only {arn}"),
        Trusted::Group { name } => format!(
            "trusts the Green account {}: an IAM group cannot be a principal, so group {name}'s policy (document 3) narrows who may assume the role",
            i.green
        ),
    };
    let mut needs = Vec::new();
    if i.require_mfa {
        needs.push("MFA (run setup with --mfa-serial)");
    }
    if i.external_id.is_some() {
        needs.push("the external id (run setup with --external-id)");
    }
    s.push_str(&format!(
        "# 2. Blue account ({}): trust policy of role {role}; {who}\n\
         #    sts:SetSourceIdentity lets crossrole_source_identity name the Green user in CloudTrail\n",
        i.blue
    ));
    if !needs.is_empty() {
        s.push_str(&format!("#    requires {}\n", needs.join(" and ")));
    }
    s.push_str(&format!(
        "#    aws iam create-role --role-name {role} --assume-role-policy-document file://blue-trust-policy.json\n\
         #    (an existing role: aws iam update-assume-role-policy --role-name {role} --policy-document file://blue-trust-policy.json)\n"
    ));
    s.push_str(&pretty(&set.blue_trust_policy)?);
    s.push_str("\n\n");

    let group_hint = if matches!(i.trusted, Trusted::Group { .. }) {
        ""
    } else {
        " (replace GROUP with the group of the Green users)"
    };
    s.push_str(&format!(
        "# 3. Green account ({}): inline policy of the group whose users assume {}{group_hint}\n\
         #    sts:SetSourceIdentity is needed here too when crossrole_source_identity is set\n\
         #    aws iam put-group-policy --group-name {group} --policy-name assume-{role} --policy-document file://green-group-policy.json\n",
        i.green, set.role_arn
    ));
    s.push_str(&pretty(&set.green_group_policy)?);
    s.push('\n');
    if let (Some(user), Some(doc)) = (&i.user, &set.green_user_policy) {
        s.push_str("\n# 4. ");
        s.push_str(own_keys_header(&i.green, user).trim_start_matches("# "));
        s.push_str(&pretty(doc)?);
        s.push('\n');
    }
    Ok(s)
}

fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `crossrole policy | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Other(format!(
            "cannot write the policy documents: {e}"
        ))),
    }
}

/// `--user NAME --green-account ID` alone: only the own-keys policy.
fn run_user_only(args: &PolicyInput, user: &str, out: &mut dyn Write) -> Result<()> {
    account_id(&args.green_account).map_err(|e| usage("--green-account", e))?;
    user_name(user).map_err(|e| usage("--user", e))?;
    let partition = match &args.user_or_group {
        Some(arn) => {
            user_or_group(arn, &args.green_account)
                .map_err(|e| usage("--user-or-group", e))?
                .0
        }
        None => "aws".to_string(),
    };
    let doc = own_keys_policy(&partition, &args.green_account, user);
    let mut text = if args.json {
        String::new()
    } else {
        own_keys_header(&args.green_account, user)
    };
    text.push_str(&pretty(&doc)?);
    text.push('\n');
    write_all(out, text.as_bytes())
}

fn own_keys_header(green: &str, user: &str) -> String {
    format!(
        "# Green account ({green}): inline policy of user {user}, who may manage only their own access keys (crossrole rotate)\n\
         #    aws iam put-user-policy --user-name {user} --policy-name {} --policy-document file://green-user-policy.json\n",
        crate::admin::names::OWN_KEYS_POLICY
    )
}

pub fn run(args: &PolicyInput, out: &mut dyn Write) -> Result<()> {
    if let (Some(user), None, None) = (&args.user, &args.blue_account, &args.bucket) {
        return run_user_only(args, user, out);
    }
    let input = Input::from_args(args)?;
    let set = policy_set(&input);
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&set)
            .map_err(|e| Error::Other(format!("cannot format the policy documents: {e}")))?;
        s.push('\n');
        s
    } else {
        render_text(&input, &set)?
    };
    if let Trusted::Group { name } = &input.trusted {
        // On stderr so the note never ends up inside a saved policy file.
        eprintln!(
            "crossrole: note: IAM groups cannot be principals in a trust policy; the trust policy trusts the Green account {} and the inline policy of group {name} (document 3) decides which users may assume the role",
            input.green
        );
    }
    write_all(out, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> PolicyInput {
        PolicyInput {
            green_account: "111111111111".into(),
            blue_account: Some("222222222222".into()),
            bucket: Some("the-bucket".into()),
            role_name: "CrossAccountS3Access-Role".into(),
            user_or_group: None,
            require_mfa: false,
            external_id: None,
            user: None,
            json: false,
        }
    }

    fn json_of(a: PolicyInput) -> serde_json::Value {
        let mut out = Vec::new();
        run(&PolicyInput { json: true, ..a }, &mut out).expect("policy");
        serde_json::from_slice(&out).expect("json")
    }

    #[test]
    fn default_documents() {
        let v = json_of(args());
        assert_eq!(
            v["role_arn"],
            "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role"
        );
        assert_eq!(v["blue_permission_policy"]["Version"], "2012-10-17");
        let perm = &v["blue_permission_policy"]["Statement"][0];
        assert_eq!(perm["Sid"], "PutGetListAccessOnS3");
        assert_eq!(
            perm["Resource"],
            serde_json::json!(["arn:aws:s3:::the-bucket", "arn:aws:s3:::the-bucket/*"])
        );
        assert_eq!(
            perm["Action"],
            serde_json::json!(["s3:PutObject", "s3:GetObject", "s3:ListBucket"])
        );
        assert!(v.get("green_user_policy").is_none());
        assert_eq!(
            v["blue_trust_policy"]["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111111111111:root"
        );
        assert!(v["blue_trust_policy"]["Statement"][0]
            .get("Condition")
            .is_none());
        assert_eq!(
            v["green_group_policy"]["Statement"][0]["Resource"],
            "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role"
        );
    }

    #[test]
    fn the_own_keys_policy_names_the_users_arn() {
        let want = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ManageOwnAccessKeys",
                "Effect": "Allow",
                "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
                "Resource": "arn:aws:iam::111111111111:user/s3-prod-user"
            }]
        });
        let with_all = json_of(PolicyInput {
            user: Some("s3-prod-user".into()),
            ..args()
        });
        assert_eq!(with_all["green_user_policy"], want);
        let mut out = Vec::new();
        let alone = PolicyInput {
            user: Some("s3-prod-user".into()),
            blue_account: None,
            bucket: None,
            json: true,
            ..args()
        };
        run(&alone, &mut out).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            want
        );
        let mut out = Vec::new();
        run(
            &PolicyInput {
                json: false,
                ..alone
            },
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("put-user-policy --user-name s3-prod-user"),
            "{text}"
        );
        let err = run(
            &PolicyInput {
                user: Some("a b".into()),
                blue_account: None,
                bucket: None,
                ..args()
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("--user:"), "{err}");
    }

    #[test]
    fn version_comes_first() {
        let text = pretty(&permission_policy(&Input::from_args(&args()).unwrap())).unwrap();
        assert!(
            text.starts_with("{\n  \"Version\": \"2012-10-17\""),
            "{text}"
        );
    }

    #[test]
    fn conditions_combine() {
        let a = PolicyInput {
            require_mfa: true,
            external_id: Some("Ext-123".into()),
            ..args()
        };
        let c = &json_of(a)["blue_trust_policy"]["Statement"][0]["Condition"];
        assert_eq!(c["Bool"]["aws:MultiFactorAuthPresent"], "true");
        assert_eq!(c["StringEquals"]["sts:ExternalId"], "Ext-123");
    }

    #[test]
    fn user_and_group_principals() {
        let a = PolicyInput {
            user_or_group: Some("arn:aws:iam::111111111111:user/s3-prod-user".into()),
            ..args()
        };
        assert_eq!(
            json_of(a)["blue_trust_policy"]["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111111111111:user/s3-prod-user"
        );
        let g = PolicyInput {
            user_or_group: Some("arn:aws:iam::111111111111:group/team/s3-prod-group".into()),
            ..args()
        };
        let i = Input::from_args(&g).unwrap();
        assert_eq!(i.group_name(), "s3-prod-group");
        assert_eq!(
            json_of(g)["blue_trust_policy"]["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111111111111:root"
        );
        let cn = PolicyInput {
            user_or_group: Some("arn:aws-cn:iam::111111111111:user/u".into()),
            ..args()
        };
        assert_eq!(
            json_of(cn)["role_arn"],
            "arn:aws-cn:iam::222222222222:role/CrossAccountS3Access-Role"
        );
    }

    #[test]
    fn rejects_bad_principals() {
        for bad in [
            "arn:aws:iam::333333333333:user/u",
            "arn:aws:iam::111111111111:role/r",
            "arn:aws:iam::111111111111:user/",
            "arn:aws:iam::111111111111:user/a b",
            "arn:aws:s3:::bucket",
            "s3-prod-user",
        ] {
            let a = PolicyInput {
                user_or_group: Some(bad.into()),
                ..args()
            };
            let err = Input::from_args(&a).unwrap_err().to_string();
            assert!(err.starts_with("--user-or-group:"), "{bad}: {err}");
        }
    }

    #[test]
    fn buckets() {
        for ok in ["the-bucket", "abc", "a.b-c.1", &"a".repeat(63)] {
            assert!(bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Bad_Bucket",
            "-abc",
            "abc-",
            ".abc",
            "a..b",
            "a.-b",
            "192.168.5.4",
            "xn--abc",
            "abc-s3alias",
            "ab c",
            "bücket",
        ] {
            assert!(bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_names() {
        assert!(role_name("CrossAccountS3Access-Role").is_ok());
        assert!(role_name("a+=,.@_-").is_ok());
        assert!(role_name(&"r".repeat(64)).is_ok());
        for bad in ["", "my role", "a/b", &"r".repeat(65)] {
            assert!(role_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nothing_written_on_error() {
        let mut out = Vec::new();
        let a = PolicyInput {
            green_account: "12345".into(),
            ..args()
        };
        let err = run(&a, &mut out).unwrap_err();
        assert!(matches!(err, Error::Usage(_)));
        assert!(out.is_empty());
    }
}
