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
        Error::NotFound(format!(
            "profile `{name}` is not in {}; run `crossrole setup` to create it",
            config_path.display()
        ))
    })?;
    match profile.get(KEY_ROLE_ARN) {
        Some(_) => Ok(ManagedProfile::Role(RoleSettings::from_profile(
            name,
            &profile,
            &RoleFlags::default(),
            NativeKeys::Ignore,
        )?)),
        // A key profile may carry its own MFA settings (`crossrole_mfa_*`).
        None if profile.properties.keys().any(|k| k.starts_with("crossrole_") && !k.starts_with("crossrole_mfa_")) => Err(Error::InvalidSetting {
            profile: name.to_string(),
            key: KEY_ROLE_ARN.to_string(),
            message: format!(
                "profile `{name}` has crossrole_* settings but no {KEY_ROLE_ARN}; add it, or re-run `crossrole setup --target-profile {name} --role-arn ARN`"
            ),
        }),
        None => Ok(ManagedProfile::Key {
            profile: name.to_string(),
        }),
    }
}

/// Role settings given on the command line; each one that is set replaces
/// what the profile says. A new `crossrole_*` setting is one field here, one
/// in [`RoleSettings`] and one line in [`RoleSettings::from_profile`].
#[derive(Clone, Debug, Default)]
pub struct RoleFlags {
    pub source_profile: Option<String>,
    pub role_arn: Option<String>,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<i32>,
    pub role_session_name: Option<String>,
    pub source_identity: Option<String>,
}

/// Whether botocore's own assume-role keys (`role_arn`, `source_profile`,
/// ...) count as settings: only when `setup` migrates such a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeKeys {
    Ignore,
    Migrate,
}

impl RoleSettings {
    /// The one reading of a role profile: the flags, else crossrole's keys,
    /// else (when migrating) botocore's keys. Flags were checked when parsed;
    /// values from the file are checked here, so a profile credential-process
    /// would reject is never written or used.
    pub fn from_profile(
        name: &str,
        p: &Profile,
        flags: &RoleFlags,
        native: NativeKeys,
    ) -> Result<RoleSettings> {
        let from_file = |ours: &str, botocore: &str| {
            p.get(ours)
                .map(|v| (ours.to_string(), v.to_string()))
                .or_else(|| match native {
                    NativeKeys::Migrate => p
                        .get(botocore)
                        .map(|v| (botocore.to_string(), v.to_string())),
                    NativeKeys::Ignore => None,
                })
        };
        let bad = |key: &str, e: String| Error::invalid_setting(name, key, e);
        let pick = |flag: &Option<String>,
                    ours: &str,
                    botocore: &str,
                    check: crate::validate::Validator|
         -> Result<Option<String>> {
            if flag.is_some() {
                return Ok(flag.clone());
            }
            match from_file(ours, botocore) {
                None => Ok(None),
                Some((key, v)) => check(&v).map(|_| Some(v)).map_err(|e| bad(&key, e)),
            }
        };
        let role_arn = pick(
            &flags.role_arn,
            KEY_ROLE_ARN,
            "role_arn",
            crate::validate::role_arn,
        )?
        .ok_or_else(|| {
            Error::Usage(format!(
                "--role-arn is required: the role profile `{name}` has none yet (e.g. --role-arn arn:aws:iam::222222222222:role/CrossAccountS3Access-Role)"
            ))
        })?;
        let source_profile = pick(
            &flags.source_profile,
            KEY_SOURCE_PROFILE,
            "source_profile",
            crate::validate::profile_name,
        )?
        .ok_or_else(|| Error::InvalidSetting {
            profile: name.to_string(),
            key: KEY_SOURCE_PROFILE.to_string(),
            message: format!(
                "profile `{name}` has no {KEY_SOURCE_PROFILE}: add `{KEY_SOURCE_PROFILE} = PROFILE` naming the profile whose key assumes the role"
            ),
        })?;
        if source_profile == name {
            return Err(Error::InvalidSetting {
                profile: name.to_string(),
                key: KEY_SOURCE_PROFILE.to_string(),
                message: format!(
                    "profile `{name}`: {KEY_SOURCE_PROFILE} names the profile itself; point it at the key profile (e.g. green)"
                ),
            });
        }
        let duration_seconds = match (
            flags.duration_seconds,
            from_file(KEY_DURATION, "duration_seconds"),
        ) {
            (Some(d), _) => Some(d),
            (None, None) => None,
            (None, Some((key, v))) => {
                Some(crate::validate::duration_seconds(&v).map_err(|e| bad(&key, e))?)
            }
        };
        Ok(RoleSettings {
            profile: name.to_string(),
            source_profile,
            role_arn,
            mfa_serial: pick(
                &flags.mfa_serial,
                KEY_MFA_SERIAL,
                "mfa_serial",
                crate::validate::mfa_serial,
            )?,
            external_id: pick(
                &flags.external_id,
                KEY_EXTERNAL_ID,
                "external_id",
                crate::validate::external_id,
            )?,
            duration_seconds,
            role_session_name: pick(
                &flags.role_session_name,
                KEY_SESSION_NAME,
                "role_session_name",
                crate::validate::session_name,
            )?,
            // botocore has no source identity setting.
            source_identity: pick(
                &flags.source_identity,
                KEY_SOURCE_IDENTITY,
                KEY_SOURCE_IDENTITY,
                crate::validate::source_identity,
            )?,
        })
    }

    /// The settings as `crossrole_*` keys, in the order setup writes them.
    pub fn keys(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            (KEY_SOURCE_PROFILE, Some(self.source_profile.clone())),
            (KEY_ROLE_ARN, Some(self.role_arn.clone())),
            (KEY_MFA_SERIAL, self.mfa_serial.clone()),
            (KEY_EXTERNAL_ID, self.external_id.clone()),
            (KEY_DURATION, self.duration_seconds.map(|d| d.to_string())),
            (KEY_SESSION_NAME, self.role_session_name.clone()),
            (KEY_SOURCE_IDENTITY, self.source_identity.clone()),
        ]
    }
}

/// The region from AWS_REGION, else AWS_DEFAULT_REGION.
pub fn env_region(env: &Env) -> Option<&str> {
    env.get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
}

/// The one region rule: the first of `layers` that is set, else us-east-1.
/// Callers differ only in the layers: `sts_target` asks what the SDKs use
/// now (the environment first), `setup` what to write (flags, then what the
/// file already says, then the environment).
pub fn pick_region<'a>(layers: impl IntoIterator<Item = Option<&'a str>>) -> String {
    layers
        .into_iter()
        .flatten()
        .next()
        .unwrap_or("us-east-1")
        .to_string()
}

/// The region and STS endpoint the SDKs would use for `profile`:
/// AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, then `fallback`'s
/// (the source profile), then us-east-1. Endpoints: AWS_ENDPOINT_URL_STS,
/// AWS_ENDPOINT_URL, the `[services]` section's `sts` block, the profile's
/// `endpoint_url`, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
/// The endpoint configured for `service` (its `[services]` key, e.g. `sts`,
/// `iam`), in the SDKs' order: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL,
/// the profile's `services` section, its `endpoint_url`; none when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or `ignore_configured_endpoint_urls`
/// says so.
pub fn configured_endpoint(
    env: &Env,
    config: &AwsFile,
    profile: &str,
    service: &str,
) -> Option<String> {
    let p = config.profile(profile).unwrap_or_default();
    let ignore = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| p.get("ignore_configured_endpoint_urls"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    env.get(&format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_ascii_uppercase()
    ))
    .or_else(|| env.get("AWS_ENDPOINT_URL"))
    .map(str::to_string)
    .or_else(|| {
        p.get("services")
            .and_then(|s| config.services(s))
            .and_then(|s| s.get(service).and_then(|b| b.get("endpoint_url")).cloned())
    })
    .or_else(|| p.get("endpoint_url").map(str::to_string))
}

pub fn sts_target(env: &Env, config: &AwsFile, profile: &str, fallback: Option<&str>) -> StsTarget {
    let p = config.profile(profile).unwrap_or_default();
    let f = fallback.and_then(|n| config.profile(n)).unwrap_or_default();
    let region = pick_region([env_region(env), p.get("region"), f.get("region")]);
    let endpoint_url = configured_endpoint(env, config, profile, "sts");
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
