//! provision's resources, each looked at first (`survey`, read-only) and
//! then made to match (`apply`). The survey of every step comes before the
//! first change, so a refusal changes nothing, and `--dry-run` is the survey
//! alone.

use std::fmt;

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tagging};

use crate::commands::policy::{PolicyDocument, PolicySet};
use crate::credentials::mask_key_id;
use crate::error::{Error, Result};

use super::accounts::{managed_tag, Accounts, Side};
use super::call::{find, raw, refuse, run};
use super::documents::{same, to_json};
use super::names::{
    group_policy_name, has_managed_tag, Names, OWN_KEYS_POLICY, TAG_KEY, TAG_VALUE,
};
use super::Aws;

/// The resources, in the order they are made: what a step needs exists
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Bucket,
    Policy,
    Role,
    Attachment,
    Group,
    GroupPolicy,
    User,
    UserPolicy,
    Membership,
    AccessKey,
}

pub const ALL: [Step; 10] = [
    Step::Bucket,
    Step::Policy,
    Step::Role,
    Step::Attachment,
    Step::Group,
    Step::GroupPolicy,
    Step::User,
    Step::UserPolicy,
    Step::Membership,
    Step::AccessKey,
];

/// What a step will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Exists,
    Create,
    /// Crossrole's own, with a document that is not the one it would write.
    Update,
    /// There, not crossrole's, and not as provision would make it: left as
    /// it is, with the reason said.
    Keep(String),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Exists | Action::Keep(_) => "exists",
            Action::Create => "create",
            Action::Update => "update",
        })
    }
}

// No `Description` on what provision creates: moto re-encodes a form body
// before checking its signature, and a space comes out as `+` there but as
// `%20` from the SDK, so any value with a space fails there with
// SignatureDoesNotMatch. The tag says whose it is.

/// What provision works from: both accounts, the names and the documents.
pub struct World<'a> {
    pub accounts: &'a Accounts,
    pub names: &'a Names,
    pub docs: PolicySet,
    pub own_keys: PolicyDocument,
    pub create_bucket: bool,
    /// The region a new bucket is created in.
    pub region: String,
}

impl World<'_> {
    pub fn side(&self, step: Step) -> Side {
        match step {
            Step::Bucket | Step::Policy | Step::Role | Step::Attachment => Side::Blue,
            _ => Side::Green,
        }
    }

    /// "role CrossAccountS3Access-Role", as each line names it.
    pub fn describe(&self, step: Step) -> String {
        let n = self.names;
        match step {
            Step::Bucket => format!("bucket {}", n.bucket),
            Step::Policy => format!("policy {}", n.policy),
            Step::Role => format!("role {}", n.role),
            Step::Attachment => format!("policy {} attached to role {}", n.policy, n.role),
            Step::Group => format!("group {}", n.group),
            Step::GroupPolicy => format!(
                "inline policy {} of group {}",
                group_policy_name(&n.role),
                n.group
            ),
            Step::User => format!("user {}", n.user),
            Step::UserPolicy => format!("inline policy {OWN_KEYS_POLICY} of user {}", n.user),
            Step::Membership => format!("user {} in group {}", n.user, n.group),
            Step::AccessKey => format!("access key of user {}", n.user),
        }
    }

    fn policy_arn(&self) -> String {
        self.names
            .policy_arn(&self.accounts.partition, &self.accounts.blue_id)
    }

    /// Looks, changing nothing. `stored_key` is the access key id the
    /// keyring holds for the source profile, if any.
    pub fn survey(&self, step: Step, stored_key: Option<&str>) -> Result<Action> {
        let (g, b, n) = (&self.accounts.green, &self.accounts.blue, self.names);
        let giam = g.iam();
        let biam = b.iam();
        match step {
            Step::Bucket => self.survey_bucket(),
            Step::Policy => {
                let arn = self.policy_arn();
                let Some(p) = find(
                    b,
                    "iam:GetPolicy",
                    biam.get_policy().policy_arn(&arn).send(),
                )?
                else {
                    return Ok(Action::Create);
                };
                let Some(policy) = p.policy() else {
                    return Ok(Action::Create);
                };
                let version = policy.default_version_id().unwrap_or("v1");
                let doc = policy_document(b, &arn, version)?;
                let managed = has_managed_tag(policy.tags());
                Ok(compare(&doc, &self.docs.blue_permission_policy, managed))
            }
            Step::Role => {
                let Some(r) = find(b, "iam:GetRole", biam.get_role().role_name(&n.role).send())?
                else {
                    return Ok(Action::Create);
                };
                let Some(role) = r.role() else {
                    return Ok(Action::Create);
                };
                let managed = has_managed_tag(role.tags());
                Ok(compare(
                    role.assume_role_policy_document().unwrap_or_default(),
                    &self.docs.blue_trust_policy,
                    managed,
                ))
            }
            Step::Attachment => {
                let Some(list) = find(
                    b,
                    "iam:ListAttachedRolePolicies",
                    biam.list_attached_role_policies().role_name(&n.role).send(),
                )?
                else {
                    return Ok(Action::Create);
                };
                let arn = self.policy_arn();
                let attached = list
                    .attached_policies()
                    .iter()
                    .any(|p| p.policy_arn() == Some(arn.as_str()));
                Ok(if attached {
                    Action::Exists
                } else {
                    Action::Create
                })
            }
            Step::Group => {
                let found = find(
                    g,
                    "iam:GetGroup",
                    giam.get_group().group_name(&n.group).send(),
                )?;
                Ok(if found.is_some() {
                    Action::Exists
                } else {
                    Action::Create
                })
            }
            Step::GroupPolicy => {
                let found = find(
                    g,
                    "iam:GetGroupPolicy",
                    giam.get_group_policy()
                        .group_name(&n.group)
                        .policy_name(group_policy_name(&n.role))
                        .send(),
                )?;
                Ok(match found {
                    None => Action::Create,
                    // Named by crossrole, so crossrole's to keep right.
                    Some(p) => compare(p.policy_document(), &self.docs.green_group_policy, true),
                })
            }
            Step::User => {
                let found = find(g, "iam:GetUser", giam.get_user().user_name(&n.user).send())?;
                Ok(if found.is_some() {
                    Action::Exists
                } else {
                    Action::Create
                })
            }
            Step::UserPolicy => {
                let found = find(
                    g,
                    "iam:GetUserPolicy",
                    giam.get_user_policy()
                        .user_name(&n.user)
                        .policy_name(OWN_KEYS_POLICY)
                        .send(),
                )?;
                Ok(match found {
                    None => Action::Create,
                    Some(p) => compare(p.policy_document(), &self.own_keys, true),
                })
            }
            Step::Membership => {
                let Some(list) = find(
                    g,
                    "iam:ListGroupsForUser",
                    giam.list_groups_for_user().user_name(&n.user).send(),
                )?
                else {
                    return Ok(Action::Create);
                };
                let member = list.groups().iter().any(|gr| gr.group_name() == n.group);
                Ok(if member {
                    Action::Exists
                } else {
                    Action::Create
                })
            }
            Step::AccessKey => self.survey_key(stored_key),
        }
    }

    fn survey_bucket(&self) -> Result<Action> {
        let b = &self.accounts.blue;
        let s3 = b.s3();
        let name = &self.names.bucket;
        if owns_bucket(b, name)? {
            return Ok(Action::Exists);
        }
        match raw(b, s3.head_bucket().bucket(name).send()) {
            Err(e) if e.code.as_deref() == Some("NotFound") || e.is("NoSuchBucket") => {
                if self.create_bucket {
                    Ok(Action::Create)
                } else {
                    Err(refuse(format!(
                        "bucket {name} does not exist; pass --create-bucket to have provision create it in account {} ({}), or name an existing bucket of that account with --bucket",
                        self.accounts.blue_id, self.region
                    )))
                }
            }
            _ => Err(refuse(format!(
                "bucket {name} exists but is not one of account {}'s buckets (S3 bucket names are global: another account owns it); name a bucket of the Blue account with --bucket",
                self.accounts.blue_id
            ))),
        }
    }

    fn survey_key(&self, stored: Option<&str>) -> Result<Action> {
        let keys = self.user_keys()?;
        let user = &self.names.user;
        if let Some(id) = stored {
            if keys.iter().any(|k| k == id) {
                return Ok(Action::Exists);
            }
            return Err(refuse(format!(
                "the keyring already holds key {} for the source profile, and it is not a key of user {user}; give another profile with --source-profile, or `crossrole remove` that one first",
                mask_key_id(id)
            )));
        }
        match keys.as_slice() {
            [] => Ok(Action::Create),
            [old] => Ok(Action::Keep(format!(
                "user {user} already has key {}, which is not in the keyring: a new key is created for it, and the old one stays active until you delete it (`crossrole deprovision` deletes both)",
                mask_key_id(old)
            ))),
            _ => Err(refuse(format!(
                "user {user} already has two access keys ({}), neither in the keyring, and IAM allows no third; delete one (aws iam delete-access-key --user-name {user} --access-key-id ID) and run provision again",
                keys.iter().map(|k| mask_key_id(k)).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The user's access key ids; none when the user does not exist yet.
    pub fn user_keys(&self) -> Result<Vec<String>> {
        let g = &self.accounts.green;
        let list = find(
            g,
            "iam:ListAccessKeys",
            g.iam()
                .list_access_keys()
                .user_name(&self.names.user)
                .send(),
        )?;
        Ok(list
            .map(|l| {
                l.access_key_metadata()
                    .iter()
                    .filter_map(|k| k.access_key_id().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Makes the step match. The access key is not made here: its secret
    /// goes to the keyring, which the command owns (see `create_key`).
    pub fn apply(&self, step: Step, action: &Action) -> Result<()> {
        if matches!(action, Action::Exists | Action::Keep(_)) {
            return Ok(());
        }
        let (g, b, n) = (&self.accounts.green, &self.accounts.blue, self.names);
        let giam = g.iam();
        let biam = b.iam();
        let create = *action == Action::Create;
        match step {
            Step::Bucket => self.create_bucket(),
            Step::Policy if create => run(
                b,
                "iam:CreatePolicy",
                biam.create_policy()
                    .policy_name(&n.policy)
                    .policy_document(to_json(&self.docs.blue_permission_policy)?)
                    .tags(managed_tag()?)
                    .send(),
            )
            .map(drop),
            Step::Policy => self.update_policy(),
            Step::Role if create => run(
                b,
                "iam:CreateRole",
                biam.create_role()
                    .role_name(&n.role)
                    .assume_role_policy_document(to_json(&self.docs.blue_trust_policy)?)
                    .tags(managed_tag()?)
                    .send(),
            )
            .map(drop),
            Step::Role => run(
                b,
                "iam:UpdateAssumeRolePolicy",
                biam.update_assume_role_policy()
                    .role_name(&n.role)
                    .policy_document(to_json(&self.docs.blue_trust_policy)?)
                    .send(),
            )
            .map(drop),
            Step::Attachment => run(
                b,
                "iam:AttachRolePolicy",
                biam.attach_role_policy()
                    .role_name(&n.role)
                    .policy_arn(self.policy_arn())
                    .send(),
            )
            .map(drop),
            Step::Group => run(
                g,
                "iam:CreateGroup",
                giam.create_group().group_name(&n.group).send(),
            )
            .map(drop),
            Step::GroupPolicy => run(
                g,
                "iam:PutGroupPolicy",
                giam.put_group_policy()
                    .group_name(&n.group)
                    .policy_name(group_policy_name(&n.role))
                    .policy_document(to_json(&self.docs.green_group_policy)?)
                    .send(),
            )
            .map(drop),
            Step::User => run(
                g,
                "iam:CreateUser",
                giam.create_user()
                    .user_name(&n.user)
                    .tags(managed_tag()?)
                    .send(),
            )
            .map(drop),
            Step::UserPolicy => run(
                g,
                "iam:PutUserPolicy",
                giam.put_user_policy()
                    .user_name(&n.user)
                    .policy_name(OWN_KEYS_POLICY)
                    .policy_document(to_json(&self.own_keys)?)
                    .send(),
            )
            .map(drop),
            Step::Membership => run(
                g,
                "iam:AddUserToGroup",
                giam.add_user_to_group()
                    .group_name(&n.group)
                    .user_name(&n.user)
                    .send(),
            )
            .map(drop),
            Step::AccessKey => Err(Error::Other(
                "the access key is made by provision itself".into(),
            )),
        }
    }

    fn create_bucket(&self) -> Result<()> {
        let b = &self.accounts.blue;
        let s3 = b.s3();
        let mut req = s3.create_bucket().bucket(&self.names.bucket);
        // us-east-1 is the one region S3 wants no location constraint for.
        if self.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        run(b, "s3:CreateBucket", req.send())?;
        let tag = aws_sdk_s3::types::Tag::builder()
            .key(TAG_KEY)
            .value(TAG_VALUE)
            .build()
            .map_err(|e| Error::Other(format!("cannot build the {TAG_KEY} tag: {e}")))?;
        let tagging = Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| Error::Other(format!("cannot build the bucket's tags: {e}")))?;
        run(
            b,
            "s3:PutBucketTagging",
            s3.put_bucket_tagging()
                .bucket(&self.names.bucket)
                .tagging(tagging)
                .send(),
        )
        .map(drop)
    }

    /// A managed policy keeps at most five versions: the oldest spare one
    /// goes before the new default is added.
    fn update_policy(&self) -> Result<()> {
        let b = &self.accounts.blue;
        let iam = b.iam();
        let arn = self.policy_arn();
        let versions = run(
            b,
            "iam:ListPolicyVersions",
            iam.list_policy_versions().policy_arn(&arn).send(),
        )?;
        let spare: Vec<_> = versions
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
            .collect();
        if versions.versions().len() >= 5 {
            if let Some(old) = spare
                .iter()
                .min_by_key(|v| v.create_date().map(|d| d.secs()))
            {
                run(
                    b,
                    "iam:DeletePolicyVersion",
                    iam.delete_policy_version()
                        .policy_arn(&arn)
                        .version_id(old.version_id().unwrap_or_default())
                        .send(),
                )?;
            }
        }
        run(
            b,
            "iam:CreatePolicyVersion",
            iam.create_policy_version()
                .policy_arn(&arn)
                .policy_document(to_json(&self.docs.blue_permission_policy)?)
                .set_as_default(true)
                .send(),
        )
        .map(drop)
    }
}

/// Whether `name` is one of `aws`'s own buckets. S3 names are global, so a
/// bucket that exists may be another account's.
pub fn owns_bucket(aws: &Aws, name: &str) -> Result<bool> {
    Ok(
        run(aws, "s3:ListAllMyBuckets", aws.s3().list_buckets().send())?
            .buckets()
            .iter()
            .any(|x| x.name() == Some(name)),
    )
}

/// The document of version `version` of managed policy `arn`, as IAM
/// returns it (percent-encoded; see `documents::parse_returned`).
pub fn policy_document(aws: &Aws, arn: &str, version: &str) -> Result<String> {
    let v = run(
        aws,
        "iam:GetPolicyVersion",
        aws.iam()
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send(),
    )?;
    Ok(v.policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default()
        .to_string())
}

/// The same document: exists. Another one: updated when crossrole made
/// the resource, else left as it is with the reason.
fn compare(returned: &str, want: &PolicyDocument, managed: bool) -> Action {
    if same(returned, want) {
        Action::Exists
    } else if managed {
        Action::Update
    } else {
        Action::Keep(format!(
            "its document is not the one provision writes, and it has no {TAG_KEY} tag, so it is left as it is; `crossrole policy` prints the expected documents"
        ))
    }
}
