//! An IAM user's access keys. Mostly the user's own, managed with its own
//! credentials (its key, or its MFA session): `rotate`, and doctor's key
//! age. Then no `UserName` is sent: IAM acts on the user who signs the
//! request, so the user needs rights on itself only, and no call has to
//! find out the user's name first (moto resolves it from the signing key
//! too). provision, as an admin, names the user.

use time::{Duration, OffsetDateTime};

use crate::credentials::{LongTermKey, Secret};

use super::call::raw as call;
use super::{Aws, AwsError};

/// One of the user's keys, as ListAccessKeys describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: Option<OffsetDateTime>,
}

/// The signing user's keys (IAM allows two at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The user's name ("" if IAM named none).
    pub user: String,
    pub keys: Vec<KeyInfo>,
}

/// A key CreateAccessKey just made; its secret was moved, not copied, out
/// of the SDK's answer.
pub struct Created {
    pub user: String,
    pub key: LongTermKey,
}

fn time_of(t: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t?.secs()).ok()
}

/// ListAccessKeys for the signing user.
pub fn list(aws: &Aws) -> Result<Listing, AwsError> {
    let out = call(aws, aws.iam().list_access_keys().send())?;
    let keys = out.access_key_metadata();
    Ok(Listing {
        user: keys
            .iter()
            .find_map(|k| k.user_name())
            .unwrap_or_default()
            .to_string(),
        keys: keys
            .iter()
            .filter_map(|k| {
                Some(KeyInfo {
                    id: k.access_key_id()?.to_string(),
                    status: k
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    created: time_of(k.create_date()),
                })
            })
            .collect(),
    })
}

/// CreateAccessKey for `user`, or (None) for the signing user.
pub fn create(aws: &Aws, user: Option<&str>) -> Result<Created, AwsError> {
    let out = call(
        aws,
        aws.iam()
            .create_access_key()
            .set_user_name(user.map(str::to_string))
            .send(),
    )?;
    let Some(mut k) = out.access_key else {
        return Err(AwsError {
            code: None,
            message: "CreateAccessKey answered without a key".into(),
        });
    };
    let secret = Secret::new(std::mem::take(&mut k.secret_access_key));
    Ok(Created {
        user: std::mem::take(&mut k.user_name),
        key: LongTermKey {
            access_key_id: std::mem::take(&mut k.access_key_id),
            secret_access_key: secret,
        },
    })
}

/// DeleteAccessKey of one of `user`'s keys, or (None) the signing user's.
pub fn delete(aws: &Aws, user: Option<&str>, access_key_id: &str) -> Result<(), AwsError> {
    call(
        aws,
        aws.iam()
            .delete_access_key()
            .set_user_name(user.map(str::to_string))
            .access_key_id(access_key_id)
            .send(),
    )
    .map(|_| ())
}

/// AWS's own advice (IAM best practices, the CIS benchmark): replace
/// access keys every 90 days.
pub const MAX_KEY_AGE_DAYS: i64 = 90;

/// How old a key is, in whole days, and whether it is past
/// [`MAX_KEY_AGE_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    pub days: i64,
    pub too_old: bool,
}

pub fn age(created: OffsetDateTime, now: OffsetDateTime) -> Age {
    let elapsed = now - created;
    Age {
        days: elapsed.whole_days().max(0),
        too_old: elapsed > Duration::days(MAX_KEY_AGE_DAYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keys_past_ninety_days_are_too_old() {
        let created = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(
            age(created, datetime!(2026-01-01 12:00 UTC)),
            Age {
                days: 0,
                too_old: false
            }
        );
        // 2026-04-01 is 90 days after 2026-01-01: still fine to the second.
        assert_eq!(
            age(created, datetime!(2026-04-01 12:00 UTC)),
            Age {
                days: 90,
                too_old: false
            }
        );
        assert_eq!(
            age(created, datetime!(2026-04-01 12:00:01 UTC)),
            Age {
                days: 90,
                too_old: true
            }
        );
        assert_eq!(
            age(created, datetime!(2026-12-25 08:00 UTC)),
            Age {
                days: 357,
                too_old: true
            }
        );
        // A clock behind IAM's: not a negative age.
        assert_eq!(
            age(created, datetime!(2025-12-31 12:00 UTC)),
            Age {
                days: 0,
                too_old: false
            }
        );
    }
}
