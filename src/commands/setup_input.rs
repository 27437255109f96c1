//! Turns `setup`'s flags into validated input, asking on the terminal for
//! what is missing when there is one (and only then).

use std::io::IsTerminal;

use crate::cli::SetupArgs;
use crate::commands::setup_plan::{self, KeySource, SetupInput};
use crate::credentials::{LongTermKey, Secret};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::{awsfile, credentials, keys, profile, prompt, validate};

fn usage(flag: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Usage(format!("{flag}: {e}"))
}

/// A bad answer typed on the terminal or piped on stdin: not the command
/// line's fault, so a plain failure.
fn bad_answer(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Other(format!("{what}: {e}"))
}

pub fn from_args(a: SetupArgs, deps: &Deps<'_>) -> Result<SetupInput> {
    if let Some(p) = &a.source_profile {
        validate::profile_name(p).map_err(usage("--source-profile"))?;
    }
    validate::profile_name(&a.target_profile).map_err(usage("--target-profile"))?;
    if let Some(o) = &a.output {
        validate::output_format(o).map_err(usage("--output"))?;
    }
    let interactive = prompt::can_ask();
    let check =
        |v: &Option<String>, f: fn(&str) -> std::result::Result<(), String>, flag: &'static str| {
            v.as_deref().map(f).transpose().map_err(usage(flag))
        };
    check(&a.role_arn, validate::role_arn, "--role-arn")?;
    check(&a.region, validate::region, "--region")?;
    check(&a.source_region, validate::region, "--source-region")?;
    check(&a.mfa_serial, validate::mfa_serial, "--mfa-serial")?;
    check(&a.external_id, validate::external_id, "--external-id")?;
    check(
        &a.role_session_name,
        validate::session_name,
        "--role-session-name",
    )?;
    check(
        &a.source_identity,
        validate::source_identity,
        "--source-identity",
    )?;
    let duration_seconds = a
        .duration_seconds
        .as_deref()
        .map(validate::duration_seconds)
        .transpose()
        .map_err(usage("--duration-seconds"))?;

    let mfa = crate::mfa::setup::MfaFlags::from_args(
        a.mfa_session_seconds.as_deref(),
        a.mfa_prompt.as_deref(),
        a.mfa_process.as_deref(),
    )?;

    // What the questions depend on is read only when there is someone to ask.
    let config = if interactive {
        Some(awsfile::AwsFile::load(
            &deps.paths.config_file,
            awsfile::FileKind::Config,
        )?)
    } else {
        None
    };
    let source = match &config {
        Some(c) => setup_plan::source_profile(a.source_profile.as_deref(), c, &a.target_profile)?,
        None => a.source_profile.clone().unwrap_or_else(|| "green".into()),
    };

    let key_source = if a.import_credentials {
        KeySource::Import {
            keep_backup: a.keep_backup,
        }
    } else if a.keys_from_env {
        KeySource::Env
    } else if let Some(id) = a.access_key_id.clone() {
        validate::access_key_id(&id).map_err(usage("--access-key-id"))?;
        let secret = if std::io::stdin().is_terminal() {
            prompt::ask_secret(&format!(
                "Secret access key for {}: ",
                credentials::mask_key_id(&id)
            ))?
        } else {
            prompt::read_secret_line(std::io::stdin().lock())?
        };
        validate::secret_access_key(&secret).map_err(bad_answer("secret access key"))?;
        KeySource::Given(LongTermKey {
            access_key_id: id,
            secret_access_key: Secret::new(secret.to_string()),
        })
    } else if interactive && offer_import(deps, config.as_ref(), &source)? {
        KeySource::Import { keep_backup: false }
    } else if interactive && !has_stored_key(deps, &source) {
        let id = prompt::ask(&format!("Access key id for profile {source} (AKIA…): "))?;
        validate::access_key_id(&id).map_err(bad_answer("access key id"))?;
        let secret = prompt::ask_secret("Secret access key (not shown): ")?;
        validate::secret_access_key(&secret).map_err(bad_answer("secret access key"))?;
        KeySource::Given(LongTermKey {
            access_key_id: id,
            secret_access_key: Secret::new(secret.to_string()),
        })
    } else {
        KeySource::Stored
    };

    let mut role_arn = a.role_arn.clone();
    let mut region = a.region.clone();
    if let Some(config) = &config {
        let target = config.profile(&a.target_profile).unwrap_or_default();
        if role_arn.is_none()
            && target.get(profile::KEY_ROLE_ARN).is_none()
            && target.get("role_arn").is_none()
        {
            let arn = prompt::ask("Role to assume (arn:aws:iam::ACCOUNT:role/NAME): ")?;
            validate::role_arn(&arn).map_err(bad_answer("role ARN"))?;
            role_arn = Some(arn);
        }
        let has_region = target.get("region").is_some()
            || config
                .profile(&source)
                .is_some_and(|p| p.get("region").is_some())
            || profile::env_region(deps.env).is_some();
        if region.is_none() && !has_region {
            let r = prompt::ask("Region [us-east-1]: ")?;
            if !r.is_empty() {
                validate::region(&r).map_err(bad_answer("region"))?;
                region = Some(r);
            }
        }
    }
    Ok(SetupInput {
        source_profile: a.source_profile,
        target_profile: a.target_profile,
        region,
        source_region: a.source_region,
        output: a.output,
        role: profile::RoleFlags {
            source_profile: None,
            role_arn,
            mfa_serial: a.mfa_serial,
            external_id: a.external_id,
            duration_seconds,
            role_session_name: a.role_session_name,
            source_identity: a.source_identity,
        },
        key_source,
        verify: !a.no_verify,
        yes: a.yes,
        mfa,
    })
}

/// On a terminal, a plaintext key of the source profile in the AWS files is
/// offered for import (yes by default) rather than asked for again.
fn offer_import(deps: &Deps<'_>, config: Option<&awsfile::AwsFile>, source: &str) -> Result<bool> {
    let creds =
        awsfile::AwsFile::load(&deps.paths.credentials_file, awsfile::FileKind::Credentials)?;
    let found = [Some(&creds), config].into_iter().flatten().find_map(|f| {
        let id = f.profile(source)?.get("aws_access_key_id")?.to_string();
        Some((id, f.path()?.display().to_string()))
    });
    let Some((id, path)) = found else {
        return Ok(false);
    };
    let answer = prompt::ask(&format!(
        "Profile {source} has a plaintext key ({}) in {path}. Move it into the keyring and remove it from there? [Y/n] ",
        credentials::mask_key_id(&id)
    ))?;
    Ok(!matches!(answer.as_str(), "n" | "N" | "no" | "No" | "NO"))
}

fn has_stored_key(deps: &Deps<'_>, profile: &str) -> bool {
    deps.stores
        .secret(deps.env)
        .ok()
        .and_then(|s| keys::load(s, profile).ok().flatten())
        .is_some()
}
