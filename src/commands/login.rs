//! `crossrole login PROFILE`: opens the AWS console signed in as the
//! profile. A role profile signs in with its role session (cached or fresh,
//! as `credential-process` gets it); a key profile with a GetFederationToken
//! session. The sign-in URL is a bearer credential: it goes to the browser,
//! and to stdout only when asked with `--stdout`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::awsfile::{AwsFile, FileKind};
use crate::credentials::{mask_key_id, Session};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::profile::{read_managed, ManagedProfile};
use crate::signin::Hosts;

/// The federation session's upper bound: the user's own policies decide
/// what it may do, since a session gets the intersection of both.
pub const FEDERATION_POLICY_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

pub struct LoginInput<'a> {
    pub profile: &'a str,
    pub stdout: bool,
    pub destination: Option<&'a str>,
    pub region: Option<&'a str>,
}

pub fn run(deps: &Deps<'_>, input: &LoginInput<'_>, out: &mut dyn Write) -> Result<()> {
    if let Some(region) = input.region {
        crate::validate::region(region).map_err(|e| Error::Usage(format!("--region: {e}")))?;
    }
    if let Some(d) = input.destination {
        check_destination(d)?;
    }
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    let target = crate::profile::sts_target(deps.env, &config, input.profile, None);
    let region = input.region.unwrap_or(&target.region).to_string();
    let hosts = Hosts::for_region(&region, deps.env.get("CROSSROLE_SIGNIN_ENDPOINT"));

    // By the profile's kind, not by whatever session `exec` would hand out:
    // the federation endpoint takes role and federation sessions only.
    let session = match read_managed(&config, &deps.paths.config_file, input.profile)? {
        ManagedProfile::Role(role) => crate::role_session::get(deps, &config, &role)?.0,
        ManagedProfile::Key { profile } => {
            let key = crate::keys::require(deps.stores.secret(deps.env)?, &profile)?;
            federation_session(deps, &config, input.profile, &key)?
        }
    };
    let token = crate::signin::signin_token(&hosts, &session, target.ca_bundle.as_deref())
        .map_err(|e| Error::Other(e.to_string()))?;
    drop(session);
    let destination = match input.destination {
        Some(d) => d.to_string(),
        None => hosts.default_destination(&region),
    };
    let url = crate::signin::login_url(&hosts, &token, &destination);
    if input.stdout {
        out.write_all(url.as_bytes())
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("cannot write the sign-in URL", "stdout", e))
    } else {
        open_in_browser(&url, input.profile)
    }
}

fn check_destination(d: &str) -> Result<()> {
    let ok = d.starts_with("https://") && !d.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--destination must be an https:// console URL, e.g. https://console.aws.amazon.com/s3/home; got `{}`",
            crate::validate::shorten(d)
        )))
    }
}

/// A GetFederationToken session for a key profile, asked with the key from the keyring.
fn federation_session(
    deps: &Deps<'_>,
    config: &AwsFile,
    profile: &str,
    key: &crate::credentials::LongTermKey,
) -> Result<Session> {
    let target = crate::profile::sts_target(deps.env, config, profile, None);
    // GetFederationToken names are at most 32 characters.
    let mut name = crate::role_session::default_session_name(deps.env);
    name.truncate(32);
    deps.sts
        .get_federation_token(key, &target, &name, FEDERATION_POLICY_ARN)
        .map_err(|e| {
            let why = crate::sts_errors::describe(
                &e,
                &crate::sts_errors::Call::Identity {
                    profile,
                    key_id: &key.access_key_id,
                },
            );
            Error::Sts {
                message: format!(
                    "GetFederationToken for profile `{profile}` (key {}) failed: {why}. The user's IAM policy must allow sts:GetFederationToken",
                    mask_key_id(&key.access_key_id)
                ),
                source: Some(e),
            }
        })
}

/// The platform's URL opener, given the URL as its one argument.
fn opener() -> (&'static str, &'static [&'static str]) {
    if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        // `start` is a cmd built-in that splits on `&`; this takes the URL whole.
        ("rundll32", &["url.dll,FileProtocolHandler"])
    } else {
        ("xdg-open", &[])
    }
}

fn open_in_browser(url: &str, profile: &str) -> Result<()> {
    let (program, args) = opener();
    let status = Command::new(program)
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let fallback = format!("run `crossrole login {profile} --stdout` to print the URL instead, and open it yourself (it signs in whoever holds it, for up to 12 hours)");
    match status {
        Ok(s) if s.success() => {
            eprintln!("crossrole: opened the AWS console for profile `{profile}` in the browser");
            Ok(())
        }
        Ok(s) => Err(Error::Other(format!(
            "{program} could not open a browser ({s}); {fallback}"
        ))),
        Err(e) => Err(Error::Other(format!(
            "cannot run {program} to open a browser ({e}); {fallback}"
        ))),
    }
}
