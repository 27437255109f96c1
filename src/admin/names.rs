//! The names and tags provision gives what it creates, so that re-runs find
//! them and deprovision knows what is its own.

/// The tag on every user, role, policy and bucket provision creates.
pub const TAG_KEY: &str = "crossrole:managed";
pub const TAG_VALUE: &str = "true";

/// The user's inline policy for `rotate`.
pub const OWN_KEYS_POLICY: &str = "crossrole-own-access-keys";

/// The group's inline policy allowing `sts:AssumeRole` on `role`.
pub fn group_policy_name(role: &str) -> String {
    format!("assume-{role}")
}

/// What provision and deprovision act on, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub bucket: String,
    pub user: String,
    pub group: String,
    pub role: String,
    pub policy: String,
}

impl Names {
    pub fn role_arn(&self, partition: &str, blue: &str) -> String {
        format!("arn:{partition}:iam::{blue}:role/{}", self.role)
    }

    pub fn policy_arn(&self, partition: &str, blue: &str) -> String {
        format!("arn:{partition}:iam::{blue}:policy/{}", self.policy)
    }

    pub fn user_arn(&self, partition: &str, green: &str) -> String {
        format!("arn:{partition}:iam::{green}:user/{}", self.user)
    }
}

/// Whether an IAM tag list (a user's, role's or policy's) marks it as crossrole's.
pub fn has_managed_tag(tags: &[aws_sdk_iam::types::Tag]) -> bool {
    is_managed(tags.iter().map(|t| (t.key(), t.value())))
}

/// Whether a tag list (as IAM and S3 return it) marks a resource as crossrole's.
pub fn is_managed<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == TAG_KEY && v.eq_ignore_ascii_case(TAG_VALUE))
}
