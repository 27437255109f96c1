//! crossrole's view of a profile in `~/.aws/config`: a *key profile* (an IAM
//! user's long-term key, kept in the keyring) or a *role profile* (a role
//! assumed with a key profile's key, configured by `crossrole_*` keys that
//! every SDK ignores).

use std::path::PathBuf;

use crate::awsfile::{AwsFile, Profile};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::sts::StsTarget;

pub const KEY_SOURCE_PROFILE: &str = "crossrole_source_profile";
pub const KEY_ROLE_ARN: &str = "crossrole_role_arn";
pub const KEY_MFA_SERIAL: &str = "crossrole_mfa_serial";
pub const KEY_EXTERNAL_ID: &str = "crossrole_external_id";
pub const KEY_DURATION: &str = "crossrole_duration_seconds";
pub const KEY_SESSION_NAME: &str = "crossrole_role_session_name";
pub const KEY_SOURCE_IDENTITY: &str = "crossrole_source_identity";

/// The settings of a role profile that decide which session STS returns;
/// all of them are part of the cache key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSettings {
    pub profile: String,
    pub source_profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<i32>,
    pub role_session_name: Option<String>,
    pub source_identity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedProfile {
    Key { profile: String },
    Role(RoleSettings),
}

/// Whether a `credential_process` value is a call back into crossrole.
pub fn is_crossrole_process(value: &str) -> bool {
    value.contains("crossrole") && value.contains("credential-process")
}

pub fn secret_name_for_key(profile: &str) -> String {
    format!("key:{profile}")
}

/// Reads what crossrole manages in `profile`, or explains what is wrong.
pub fn read_managed(
    config: &AwsFile,
    config_path: &std::path::Path,
    name: &str,
) -> Result<ManagedProfile> {
    let profile = config.profile(name).ok_or_else(|| {
        Error::Usage(format!(
            "profile `{name}` is not in {}; run `crossrole setup` to create it",
            config_path.display()
        ))
    })?;
    match profile.get(KEY_ROLE_ARN) {
        Some(_) => Ok(ManagedProfile::Role(role_settings(name, &profile)?)),
        None if profile.properties.keys().any(|k| k.starts_with("crossrole_")) => Err(Error::Usage(format!(
            "profile `{name}` has crossrole_* settings but no {KEY_ROLE_ARN}; add it, or re-run `crossrole setup --target-profile {name} --role-arn ARN`"
        ))),
        None => Ok(ManagedProfile::Key {
            profile: name.to_string(),
        }),
    }
}

fn role_settings(name: &str, p: &Profile) -> Result<RoleSettings> {
    let get = |k: &str| p.get(k).map(str::to_string);
    let role_arn = get(KEY_ROLE_ARN).unwrap_or_default();
    crate::validate::role_arn(&role_arn)
        .map_err(|e| Error::Usage(format!("profile `{name}`: {KEY_ROLE_ARN}: {e}")))?;
    let source_profile = get(KEY_SOURCE_PROFILE).ok_or_else(|| {
        Error::Usage(format!(
            "profile `{name}` has no {KEY_SOURCE_PROFILE}: add `{KEY_SOURCE_PROFILE} = PROFILE` naming the profile whose key assumes the role"
        ))
    })?;
    crate::validate::profile_name(&source_profile)
        .map_err(|e| Error::Usage(format!("profile `{name}`: {KEY_SOURCE_PROFILE}: {e}")))?;
    if source_profile == name {
        return Err(Error::Usage(format!(
            "profile `{name}`: {KEY_SOURCE_PROFILE} names the profile itself; point it at the key profile (e.g. green)"
        )));
    }
    let duration_seconds = match get(KEY_DURATION) {
        None => None,
        Some(s) => Some(
            crate::validate::duration_seconds(&s)
                .map_err(|e| Error::Usage(format!("profile `{name}`: {KEY_DURATION}: {e}")))?,
        ),
    };
    let check =
        |k: &str, f: fn(&str) -> std::result::Result<(), String>| -> Result<Option<String>> {
            match get(k) {
                None => Ok(None),
                Some(v) => f(&v)
                    .map(|_| Some(v))
                    .map_err(|e| Error::Usage(format!("profile `{name}`: {k}: {e}"))),
            }
        };
    Ok(RoleSettings {
        profile: name.to_string(),
        source_profile,
        role_arn,
        mfa_serial: check(KEY_MFA_SERIAL, crate::validate::mfa_serial)?,
        external_id: check(KEY_EXTERNAL_ID, crate::validate::external_id)?,
        duration_seconds,
        role_session_name: check(KEY_SESSION_NAME, crate::validate::session_name)?,
        source_identity: check(KEY_SOURCE_IDENTITY, crate::validate::source_identity)?,
    })
}

/// The region and STS endpoint the SDKs would use for `profile`:
/// AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, then `fallback`'s
/// (the source profile), then us-east-1. Endpoints: AWS_ENDPOINT_URL_STS,
/// AWS_ENDPOINT_URL, the `[services]` section's `sts` block, the profile's
/// `endpoint_url`, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
pub fn sts_target(env: &Env, config: &AwsFile, profile: &str, fallback: Option<&str>) -> StsTarget {
    let p = config.profile(profile).unwrap_or_default();
    let f = fallback.and_then(|n| config.profile(n)).unwrap_or_default();
    let region = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .map(str::to_string)
        .or_else(|| p.get("region").map(str::to_string))
        .or_else(|| f.get("region").map(str::to_string))
        .unwrap_or_else(|| "us-east-1".to_string());
    let ignore = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| p.get("ignore_configured_endpoint_urls"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint_url = if ignore {
        None
    } else {
        env.get("AWS_ENDPOINT_URL_STS")
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
            .map(str::to_string)
            .or_else(|| {
                p.get("services")
                    .and_then(|s| config.services(s))
                    .and_then(|s| s.get("sts").and_then(|b| b.get("endpoint_url")).cloned())
            })
            .or_else(|| p.get("endpoint_url").map(str::to_string))
    };
    // `legacy` sends the classic regions to the global endpoint, as botocore does.
    let endpoint_url = endpoint_url.or_else(|| {
        let legacy = env
            .get("AWS_STS_REGIONAL_ENDPOINTS")
            .or_else(|| p.get("sts_regional_endpoints"))
            .is_some_and(|v| v == "legacy");
        (legacy && LEGACY_GLOBAL_REGIONS.contains(&region.as_str()))
            .then(|| "https://sts.amazonaws.com".to_string())
    });
    let ca_bundle = env
        .get("AWS_CA_BUNDLE")
        .map(str::to_string)
        .or_else(|| p.get("ca_bundle").map(str::to_string))
        .map(PathBuf::from);
    StsTarget {
        region,
        endpoint_url,
        ca_bundle,
    }
}

const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The profiles crossrole manages, in file order: those whose
/// `credential_process` calls crossrole, or that carry `crossrole_*` keys.
pub fn managed_names(config: &AwsFile) -> Vec<String> {
    config
        .profile_names()
        .into_iter()
        .filter(|name| {
            config.profile(name).is_some_and(|p| {
                p.get("credential_process")
                    .is_some_and(is_crossrole_process)
                    || p.properties.keys().any(|k| k.starts_with("crossrole_"))
            })
        })
        .collect()
}

/// Role profiles whose source is `source`.
pub fn dependents(config: &AwsFile, source: &str) -> Vec<String> {
    managed_names(config)
        .into_iter()
        .filter(|name| {
            config
                .profile(name)
                .is_some_and(|p| p.get(KEY_SOURCE_PROFILE) == Some(source))
        })
        .collect()
}

/// A plain role profile (blue, assuming role/R with green's key) for unit tests.
#[cfg(test)]
pub(crate) fn sample_role() -> RoleSettings {
    RoleSettings {
        profile: "blue".into(),
        source_profile: "green".into(),
        role_arn: "arn:aws:iam::222222222222:role/R".into(),
        mfa_serial: None,
        external_id: None,
        duration_seconds: None,
        role_session_name: None,
        source_identity: None,
    }
}

#[cfg(test)]
mod partition_tests {
    use super::*;
    use crate::awsfile::FileKind;

    #[test]
    fn china_and_govcloud_never_get_the_commercial_global_endpoint() {
        let config = AwsFile::parse(
            "[profile blue]\nregion = cn-north-1\nsts_regional_endpoints = legacy\n[profile gov]\nregion = us-gov-west-1\nsts_regional_endpoints = legacy\n[profile eu]\nregion = eu-west-1\nsts_regional_endpoints = legacy\n",
            FileKind::Config,
        );
        let env = Env::default();
        for p in ["blue", "gov"] {
            let t = sts_target(&env, &config, p, None);
            assert_eq!(t.endpoint_url, None, "{p}: the SDK's regional endpoint");
        }
        assert_eq!(sts_target(&env, &config, "blue", None).region, "cn-north-1");
        assert_eq!(
            sts_target(&env, &config, "eu", None)
                .endpoint_url
                .as_deref(),
            Some("https://sts.amazonaws.com")
        );
    }
}
