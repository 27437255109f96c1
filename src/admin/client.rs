//! SDK configuration for the admin commands. An admin profile is resolved
//! by aws-config, the AWS SDK for Rust's own loader, so whatever the SDKs
//! accept (SSO, static keys, `credential_process`, `role_arn` with
//! `source_profile`) works as an admin profile. The user's own stored key
//! (rotate, doctor) goes through the same loader with the key as the
//! credentials, so endpoints and regions are read as the SDKs read them.

use std::cell::OnceCell;
use std::future::Future;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::awsfile::{AwsFile, FileKind};
use crate::credentials::{mask_key_id, LongTermKey, Session};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::paths::Paths;

use super::error::{AwsError, Context};

/// One AWS identity's SDK configuration, with the runtime its calls run on.
pub struct Aws {
    rt: tokio::runtime::Runtime,
    conf: SdkConfig,
    /// Each client built once, at its first call: one admin command makes
    /// dozens of calls with the same configuration.
    iam: OnceCell<aws_sdk_iam::Client>,
    s3: OnceCell<aws_sdk_s3::Client>,
    /// Shown in messages: `profile green-admin`, `key AKIA…WXYZ`.
    pub who: String,
}

/// Who an identity is, from GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

impl Caller {
    /// `aws`, `aws-cn`, `aws-us-gov`: the partition of the caller's ARN.
    pub fn partition(&self) -> &str {
        self.arn.split(':').nth(1).unwrap_or("aws")
    }
}

/// IAM and S3 calls are slower than STS's; an admin command can wait longer.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

fn loader(profile: &str, region: Option<&str>) -> aws_config::ConfigLoader {
    let mut l = aws_config::defaults(BehaviorVersion::latest())
        .profile_name(profile)
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    if let Some(r) = region {
        l = l.region(Region::new(r.to_string()));
    }
    l
}

impl Aws {
    /// An admin profile, as the SDKs resolve it. A profile that is in
    /// neither AWS file is refused here, with the files named, rather than
    /// by the SDK's credential chain at the first call.
    pub fn from_profile(
        paths: &Paths,
        profile: &str,
        flag: &str,
        region: Option<&str>,
    ) -> Result<Aws> {
        let config = AwsFile::load(&paths.config_file, FileKind::Config)?;
        let creds = AwsFile::load(&paths.credentials_file, FileKind::Credentials)?;
        if config.profile(profile).is_none() && creds.profile(profile).is_none() {
            return Err(Error::NotFound(format!(
                "{flag}: profile `{profile}` is in neither {} nor {}; give an admin profile of that account (static keys, SSO, credential_process or role_arn + source_profile)",
                paths.config_file.display(),
                paths.credentials_file.display()
            )));
        }
        let rt = runtime()?;
        let conf = rt.block_on(loader(profile, region).load());
        Ok(Aws::new(
            rt,
            with_default_region(conf),
            format!("profile {profile}"),
        ))
    }

    /// A stored long-term key, for IAM, with `profile`'s region and IAM
    /// endpoint as crossrole reads them (see `profile::configured_endpoint`).
    /// No aws-config here: `doctor` uses this from the main binary, which
    /// must stay small.
    pub fn from_key(env: &Env, config: &AwsFile, profile: &str, key: &LongTermKey) -> Result<Aws> {
        let creds = Credentials::new(
            key.access_key_id.clone(),
            key.secret_access_key.expose().to_string(),
            None,
            None,
            "crossrole",
        );
        Aws::from_credentials(env, config, profile, creds, mask_key_id(&key.access_key_id))
    }

    /// An STS session (the user's MFA session), as [`Aws::from_key`].
    pub fn from_session(env: &Env, config: &AwsFile, profile: &str, s: &Session) -> Result<Aws> {
        let creds = Credentials::new(
            s.access_key_id.clone(),
            s.secret_access_key.expose().to_string(),
            Some(s.session_token.expose().to_string()),
            None,
            "crossrole",
        );
        Aws::from_credentials(env, config, profile, creds, "an MFA session".into())
    }

    fn from_credentials(
        env: &Env,
        config: &AwsFile,
        profile: &str,
        creds: Credentials,
        who: String,
    ) -> Result<Aws> {
        // Region and CA bundle as for the profile's STS calls.
        let target = crate::profile::sts_target(env, config, profile, None);
        let mut b = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(target.region))
            .credentials_provider(SharedCredentialsProvider::new(creds))
            .timeout_config(timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(4));
        if let Some(url) = crate::profile::configured_endpoint(env, config, profile, "iam") {
            b = b.endpoint_url(url);
        }
        if let Some(bundle) = &target.ca_bundle {
            let client = crate::sts::http_client_with_bundle(bundle)
                .map_err(|e| Error::Other(e.to_string()))?;
            b = b.http_client(client);
        }
        Ok(Aws::new(runtime()?, b.build(), who))
    }

    pub fn region(&self) -> String {
        self.conf
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| DEFAULT_REGION.to_string())
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn new(rt: tokio::runtime::Runtime, conf: SdkConfig, who: String) -> Aws {
        Aws {
            rt,
            conf,
            iam: OnceCell::new(),
            s3: OnceCell::new(),
            who,
        }
    }

    pub fn iam(&self) -> &aws_sdk_iam::Client {
        self.iam
            .get_or_init(|| aws_sdk_iam::Client::new(&self.conf))
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| aws_sdk_s3::Client::new(&self.conf))
    }

    /// Whose credentials these are; the first call, so a profile the SDK
    /// cannot use fails here with the SDK's reason.
    pub fn caller(&self) -> Result<Caller> {
        let sts = aws_sdk_sts::Client::new(&self.conf);
        let out = self
            .block_on(sts.get_caller_identity().send())
            .map_err(|e| {
                AwsError::from_sdk(e).into_error(&Context::new(&self.who, "sts:GetCallerIdentity"))
            })?;
        match (out.account(), out.arn()) {
            (Some(account), Some(arn)) => Ok(Caller {
                account: account.to_string(),
                arn: arn.to_string(),
            }),
            _ => Err(Error::Other(format!(
                "GetCallerIdentity for {} answered without an account",
                self.who
            ))),
        }
    }
}

const DEFAULT_REGION: &str = "us-east-1";

/// IAM is global and needs no region, but S3 and STS do: a profile with
/// none gets us-east-1, as the AWS CLI's own examples assume.
fn with_default_region(conf: SdkConfig) -> SdkConfig {
    if conf.region().is_some() {
        return conf;
    }
    conf.into_builder()
        .region(Region::new(DEFAULT_REGION))
        .build()
}
