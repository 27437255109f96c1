//! `crossrole setup`: puts the source profile's long-term key in the OS
//! keyring and writes both profiles into `~/.aws/config`, each calling
//! crossrole back through `credential_process`.
//!
//! Order matters for crash safety: every edit is made in memory first (so a
//! refusal changes nothing), then the key is verified and stored, then the
//! config is saved, and only then is a plaintext key removed from the
//! credentials file. Killed at any point, a re-run repairs the rest.

use std::io::Write;
use std::path::Path;

use crate::awsfile::{AwsFile, FileKind};
use crate::cache;
use crate::credentials::{mask_key_id, LongTermKey, Secret};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::{self, RoleSettings};
use crate::sts_errors::{explain, Call};
use crate::validate;

/// Where the source key comes from.
pub enum KeySource {
    /// The source profile's keys in the shared credentials file (or, failing
    /// that, in its config profile), removed from there afterwards.
    Import { keep_backup: bool },
    /// An id from the command line and a secret from stdin or a no-echo prompt.
    Given(LongTermKey),
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    Env,
    /// Whatever the keyring already holds for the source profile.
    Stored,
}

/// Validated inputs of `setup`.
pub struct SetupInput {
    pub source_profile: String,
    pub target_profile: String,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    pub output: String,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<i32>,
    pub role_session_name: Option<String>,
    pub source_identity: Option<String>,
    pub key_source: KeySource,
    pub verify: bool,
    pub mfa: crate::mfa::setup::MfaFlags,
}

const STATIC_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];
/// botocore's own assume-role keys: beside `credential_process` they would
/// make the CLI assume the role itself (caching plaintext) or reject the profile.
const NATIVE_ROLE_KEYS: [&str; 7] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "mfa_serial",
    "external_id",
    "duration_seconds",
    "role_session_name",
];

pub fn run(deps: &Deps<'_>, mut input: SetupInput, out: &mut dyn Write) -> Result<()> {
    if input.source_profile == input.target_profile {
        return Err(Error::Usage(format!(
            "--source-profile and --target-profile are both `{}`; the role profile needs its own name",
            input.source_profile
        )));
    }
    // One setup (or remove) at a time edits the AWS files.
    let _lock = FileLock::acquire(&deps.paths.runtime_dir, "aws-files")?;
    let paths = &deps.paths;
    let mut config = AwsFile::load(&paths.config_file, FileKind::Config)?;
    let mut creds = AwsFile::load(&paths.credentials_file, FileKind::Credentials)?;
    let mut report = Vec::new();

    // 1. The key, and the plaintext copies it replaces (removed from memory now, saved last).
    let secret_store = deps.stores.secret(deps.env)?;
    let stored = match crate::keys::load(secret_store, &input.source_profile) {
        Ok(k) => Some(k),
        Err(Error::Usage(_)) => None,
        Err(e) => return Err(e),
    };
    let mut creds_changed = false;
    let key = match std::mem::replace(&mut input.key_source, KeySource::Stored) {
        KeySource::Given(k) => k,
        KeySource::Env => key_from_env(deps.env)?,
        KeySource::Stored => stored.clone().ok_or_else(|| {
            Error::Usage(format!(
                "no key for profile `{}` is stored yet; give one with --import-credentials, --access-key-id ID (secret on stdin) or --keys-from-env",
                input.source_profile
            ))
        })?,
        KeySource::Import { keep_backup } => {
            let found = match take_static_key(&mut creds, &input.source_profile)? {
                Some(k) => Some((k, true)),
                None => take_static_key(&mut config, &input.source_profile)?.map(|k| (k, false)),
            };
            match found {
                Some((k, from_creds)) => {
                    if from_creds {
                        creds_changed = true;
                        if keep_backup {
                            report.push(backup(&paths.credentials_file, deps)?);
                        }
                    }
                    k
                }
                None => stored.clone().ok_or_else(|| {
                    Error::Usage(format!(
                        "no aws_access_key_id / aws_secret_access_key for profile `{}` in {} to import; run `aws configure --profile {}` first, or use --access-key-id",
                        input.source_profile,
                        paths.credentials_file.display(),
                        input.source_profile
                    ))
                })?,
            }
        }
    };
    if creds
        .profile(&input.source_profile)
        .is_some_and(|p| p.get("aws_access_key_id").is_some())
    {
        report.push(format!(
            "warning: {} still has a plaintext key for [{}], which the AWS CLI uses before crossrole; re-run with --import-credentials to move it into the keyring",
            paths.credentials_file.display(),
            input.source_profile
        ));
    }

    // 2. The profiles, edited in memory.
    let region = input
        .region
        .clone()
        .or_else(|| {
            config
                .profile(&input.source_profile)
                .and_then(|p| p.get("region").map(str::to_string))
        })
        .or_else(|| deps.env.get("AWS_REGION").map(str::to_string))
        .or_else(|| deps.env.get("AWS_DEFAULT_REGION").map(str::to_string))
        .unwrap_or_else(|| "us-east-1".to_string());
    validate::region(&region).map_err(|e| Error::Usage(format!("--region: {e}")))?;
    let role = role_settings(&input, &config)?;
    if role
        .duration_seconds
        .is_some_and(|d| i64::from(d) <= cache::REFRESH_WINDOW.whole_seconds() + 300)
    {
        report.push(format!(
            "warning: sessions of {} seconds start within the {}-minute refresh window, so nearly every call to profile {} will ask STS again; 3600 (the default) or more lets the cache work",
            role.duration_seconds.unwrap_or_default(),
            cache::REFRESH_WINDOW.whole_minutes(),
            role.profile
        ));
    }
    let process = |name: &str| format!("{} credential-process {name}", quote_path(&deps.self_exe));

    let mut config_changed = false;
    let src = &input.source_profile;
    config_changed |= config.set(src, "credential_process", &process(src))?;
    config_changed |= config.set(src, "region", &region)?;
    config_changed |= config.set(src, "output", &input.output)?;
    let tgt = &input.target_profile;
    config_changed |= config.set(tgt, "credential_process", &process(tgt))?;
    config_changed |= config.set(tgt, "region", &region)?;
    config_changed |= config.set(tgt, "output", &input.output)?;
    config_changed |= config.set(tgt, profile::KEY_SOURCE_PROFILE, &role.source_profile)?;
    config_changed |= config.set(tgt, profile::KEY_ROLE_ARN, &role.role_arn)?;
    let optional = [
        (profile::KEY_MFA_SERIAL, role.mfa_serial.clone()),
        (profile::KEY_EXTERNAL_ID, role.external_id.clone()),
        (
            profile::KEY_DURATION,
            role.duration_seconds.map(|d| d.to_string()),
        ),
        (profile::KEY_SESSION_NAME, role.role_session_name.clone()),
        (profile::KEY_SOURCE_IDENTITY, role.source_identity.clone()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            config_changed |= config.set(tgt, k, &v)?;
        }
    }
    config_changed |= crate::mfa::setup::apply(&mut config, tgt, &input.mfa, &role, &mut report)?;
    for k in NATIVE_ROLE_KEYS.iter().chain(STATIC_KEYS.iter()) {
        config_changed |= config.remove_key(tgt, k)?;
    }
    for k in ["role_arn", "source_profile", "credential_source"] {
        config_changed |= config.remove_key(src, k)?;
    }
    if config
        .profile(src)
        .is_some_and(|p| p.get("aws_access_key_id").is_some())
    {
        report.push(format!(
            "warning: {} has a plaintext key in [profile {src}], which the AWS CLI uses before crossrole; re-run with --import-credentials to move it into the keyring",
            paths.config_file.display()
        ));
    }

    // 3. Verify with STS before anything is written.
    let mut verified_session = None;
    if input.verify {
        let target = profile::sts_target(deps.env, &config, src, None);
        let identity = deps.sts.get_caller_identity(&key, &target).map_err(|e| {
            explain(
                e,
                &Call::Identity {
                    profile: src,
                    key_id: &key.access_key_id,
                },
            )
        })?;
        report.push(format!(
            "verified profile {src}: {} (account {})",
            identity.arn, identity.account
        ));
        if role.mfa_serial.is_some() && !crate::prompt::has_tty() {
            report.push(format!(
                "skipped the AssumeRole check: profile {tgt} needs an MFA code and there is no terminal"
            ));
        } else {
            verified_session = Some(verify_role(deps, &config, &role, &key, &mut report)?);
        }
    }

    // 4. Store the key (only if it changed), then the files.
    let same_key = stored.as_ref().is_some_and(|s| {
        s.access_key_id == key.access_key_id && s.secret_access_key == key.secret_access_key
    });
    if !same_key {
        crate::keys::save(secret_store, src, &key)?;
        report.push(format!(
            "stored key {} for profile {src} in the {} keyring",
            mask_key_id(&key.access_key_id),
            secret_store.backend().name()
        ));
    }
    if let Ok(sessions) = deps.stores.sessions(deps.env) {
        cache::record_key_id(sessions, src, &key.access_key_id, deps.clock.now());
        if let Some(session) = &verified_session {
            let entry = cache::session_key(&role, &key.access_key_id);
            let _ = cache::store_session(sessions, &entry, session);
        }
    }
    if config_changed {
        config.save(&paths.config_file)?;
        report.push(format!(
            "updated {}: [profile {src}], [profile {tgt}]",
            paths.config_file.display()
        ));
    }
    if creds_changed {
        creds.save(&paths.credentials_file)?;
        report.push(format!(
            "removed the plaintext key of [{src}] from {}",
            paths.credentials_file.display()
        ));
    }
    if !config_changed && !creds_changed && same_key {
        report.push("nothing to change: the profiles and the key are already set up".into());
    }
    report.push(format!("try: aws --profile {tgt} sts get-caller-identity"));
    let text = report.join("\n") + "\n";
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write the summary", "stdout", e))?;
    Ok(())
}

fn verify_role(
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    key: &LongTermKey,
    report: &mut Vec<String>,
) -> Result<crate::credentials::Session> {
    let session = crate::role_session::assume(deps, config, role, key)?;
    report.push(format!(
        "verified profile {}: assumed {} (session cached until {})",
        role.profile,
        role.role_arn,
        crate::credentials::format_expiration(session.expiration)
    ));
    Ok(session)
}

/// The role profile's settings: flags first, then what the profile already
/// has (crossrole's keys, or botocore's own `role_arn` & co. being migrated).
fn role_settings(input: &SetupInput, config: &AwsFile) -> Result<RoleSettings> {
    let existing = config.profile(&input.target_profile).unwrap_or_default();
    let pick = |flag: &Option<String>, ours: &str, native: &str| -> Option<String> {
        flag.clone()
            .or_else(|| existing.get(ours).map(str::to_string))
            .or_else(|| existing.get(native).map(str::to_string))
    };
    let role_arn = pick(&input.role_arn, profile::KEY_ROLE_ARN, "role_arn").ok_or_else(|| {
        Error::Usage(format!(
            "--role-arn is required: the role profile `{}` has none yet (e.g. --role-arn arn:aws:iam::222222222222:role/CrossAccountS3Access-Role)",
            input.target_profile
        ))
    })?;
    validate::role_arn(&role_arn).map_err(|e| Error::Usage(format!("--role-arn: {e}")))?;
    let duration_seconds = match input.duration_seconds {
        Some(d) => Some(d),
        None => match existing
            .get(profile::KEY_DURATION)
            .or(existing.get("duration_seconds"))
        {
            Some(s) => Some(
                validate::duration_seconds(s)
                    .map_err(|e| Error::Usage(format!("duration: {e}")))?,
            ),
            None => None,
        },
    };
    let role = RoleSettings {
        profile: input.target_profile.clone(),
        source_profile: input.source_profile.clone(),
        role_arn,
        mfa_serial: pick(&input.mfa_serial, profile::KEY_MFA_SERIAL, "mfa_serial"),
        external_id: pick(&input.external_id, profile::KEY_EXTERNAL_ID, "external_id"),
        duration_seconds,
        role_session_name: pick(
            &input.role_session_name,
            profile::KEY_SESSION_NAME,
            "role_session_name",
        ),
        source_identity: input.source_identity.clone().or_else(|| {
            existing
                .get(profile::KEY_SOURCE_IDENTITY)
                .map(str::to_string)
        }),
    };
    // Values kept from the existing profile were never checked by the flags:
    // refuse them now rather than write a profile credential-process rejects.
    let checks: [(&str, &Option<String>, validate::Validator); 4] = [
        (
            profile::KEY_MFA_SERIAL,
            &role.mfa_serial,
            validate::mfa_serial,
        ),
        (
            profile::KEY_EXTERNAL_ID,
            &role.external_id,
            validate::external_id,
        ),
        (
            profile::KEY_SESSION_NAME,
            &role.role_session_name,
            validate::session_name,
        ),
        (
            profile::KEY_SOURCE_IDENTITY,
            &role.source_identity,
            validate::source_identity,
        ),
    ];
    for (key, value, check) in checks {
        if let Some(v) = value {
            check(v).map_err(|e| {
                Error::Usage(format!(
                    "profile `{}`: {key}: {e}; fix it in the config or pass the flag",
                    role.profile
                ))
            })?;
        }
    }
    Ok(role)
}

/// Removes the profile's static keys from `file` and returns them, if both are there.
fn take_static_key(file: &mut AwsFile, profile: &str) -> Result<Option<LongTermKey>> {
    let Some(p) = file.profile(profile) else {
        return Ok(None);
    };
    let (Some(id), Some(secret)) = (p.get("aws_access_key_id"), p.get("aws_secret_access_key"))
    else {
        return Ok(None);
    };
    validate::access_key_id(id).map_err(|e| {
        Error::Usage(format!(
            "{}: [{profile}] aws_access_key_id: {e}",
            file.path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ))
    })?;
    validate::secret_access_key(secret).map_err(|e| Error::Usage(format!("[{profile}]: {e}")))?;
    let key = LongTermKey {
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret.to_string()),
    };
    for k in STATIC_KEYS {
        file.remove_key(profile, k)?;
    }
    // A credentials section left with nothing in it goes too.
    if file.kind() == FileKind::Credentials
        && file
            .profile(profile)
            .is_some_and(|p| p.properties.is_empty())
    {
        file.remove_profile(profile)?;
    }
    Ok(Some(key))
}

fn key_from_env(env: &crate::env::Env) -> Result<LongTermKey> {
    let id = env
        .get("AWS_ACCESS_KEY_ID")
        .ok_or_else(|| Error::Usage("--keys-from-env: AWS_ACCESS_KEY_ID is not set".into()))?;
    let secret = env
        .get("AWS_SECRET_ACCESS_KEY")
        .ok_or_else(|| Error::Usage("--keys-from-env: AWS_SECRET_ACCESS_KEY is not set".into()))?;
    validate::access_key_id(id).map_err(|e| Error::Usage(format!("AWS_ACCESS_KEY_ID: {e}")))?;
    validate::secret_access_key(secret)
        .map_err(|e| Error::Usage(format!("AWS_SECRET_ACCESS_KEY: {e}")))?;
    Ok(LongTermKey {
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret.to_string()),
    })
}

/// A private copy of the credentials file, made only when the user asks.
fn backup(path: &Path, deps: &Deps<'_>) -> Result<String> {
    let stamp = deps.clock.now().unix_timestamp();
    let name = format!(
        "{}.crossrole-backup-{stamp}",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    let dest = path.with_file_name(name);
    let data = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| Error::io("cannot read for backup", path, e))?,
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&dest)
        .map_err(|e| Error::io("cannot create backup", &dest, e))?;
    f.write_all(&data)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io("cannot write backup", &dest, e))?;
    Ok(format!(
        "kept a private backup (it holds the plaintext key; delete it when done): {}",
        dest.display()
    ))
}

/// Double-quoted for botocore's shlex split: paths with spaces work.
pub fn quote_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}
