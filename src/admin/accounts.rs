//! The two admin identities of provision and deprovision, their accounts,
//! and the documents that belong to those accounts.

use aws_sdk_iam::types::Tag;

use crate::commands::policy::{own_keys_policy, provision_set, PolicyDocument, PolicySet};
use crate::error::{Error, Result};
use crate::paths::Paths;

use super::names::{Names, TAG_KEY, TAG_VALUE};
use super::Aws;

/// Both accounts, as their admin profiles reach them.
pub struct Accounts {
    pub green: Aws,
    pub blue: Aws,
    pub green_id: String,
    pub blue_id: String,
    pub partition: String,
    pub green_profile: String,
    pub blue_profile: String,
}

impl Accounts {
    /// Resolves both admin profiles and asks STS whose they are. The same
    /// account for both is refused: the point is two accounts.
    pub fn open(
        paths: &Paths,
        green_profile: &str,
        blue_profile: &str,
        region: Option<&str>,
    ) -> Result<Accounts> {
        let green = Aws::from_profile(paths, green_profile, "--green-admin-profile", region)?;
        let blue = Aws::from_profile(paths, blue_profile, "--blue-admin-profile", region)?;
        let g = green.caller()?;
        let b = blue.caller()?;
        if g.account == b.account {
            return Err(Error::Usage(format!(
                "--green-admin-profile {green_profile} and --blue-admin-profile {blue_profile} are both in account {}; the users live in one account (Green) and the role and bucket in another (Blue)",
                g.account
            )));
        }
        if g.partition() != b.partition() {
            return Err(Error::Usage(format!(
                "the Green account is in partition {} and the Blue account in {}; a role can only be assumed from its own partition",
                g.partition(),
                b.partition()
            )));
        }
        Ok(Accounts {
            partition: g.partition().to_string(),
            green,
            blue,
            green_id: g.account,
            blue_id: b.account,
            green_profile: green_profile.to_string(),
            blue_profile: blue_profile.to_string(),
        })
    }

    pub fn documents(
        &self,
        names: &Names,
        mfa: bool,
        external_id: Option<&str>,
    ) -> (PolicySet, PolicyDocument) {
        let set = provision_set(
            &self.partition,
            &self.green_id,
            &self.blue_id,
            &names.bucket,
            &names.role,
            mfa,
            external_id,
        );
        let own = own_keys_policy(&self.partition, &self.green_id, &names.user);
        (set, own)
    }

    /// "Green 111111111111" / "Blue 222222222222", for messages.
    pub fn label(&self, side: Side) -> String {
        match side {
            Side::Green => format!("Green {}", self.green_id),
            Side::Blue => format!("Blue {}", self.blue_id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Green,
    Blue,
}

/// The tag provision puts on users, roles and policies.
pub fn managed_tag() -> Result<Tag> {
    Tag::builder()
        .key(TAG_KEY)
        .value(TAG_VALUE)
        .build()
        .map_err(|e| Error::Other(format!("cannot build the {TAG_KEY} tag: {e}")))
}
