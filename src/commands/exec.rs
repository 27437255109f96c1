//! `crossrole exec PROFILE -- CMD…`: runs CMD with the profile's credentials
//! in the environment, as aws-vault does. Inherited credentials and
//! AWS_PROFILE are removed first so nothing shadows them; a marker variable
//! refuses accidental nesting. On Unix the process is replaced, so CMD's exit
//! status and signals reach the caller unchanged. With no CMD, the user's
//! shell is started instead.

use std::process::{Command, ExitCode};

use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::resolve::{Creds, Resolved};

/// `exec`'s flags as plain values (built in `lib.rs`), so nothing here
/// depends on clap. An empty `command` starts the user's shell.
#[derive(Debug)]
pub struct ExecInput {
    pub profile: String,
    pub force: bool,
    pub refresh: bool,
    pub no_session: bool,
    pub server: bool,
    pub region: Option<String>,
    pub command: Vec<std::ffi::OsString>,
}

/// Set in CMD's environment: the profile it runs as.
pub const MARKER: &str = "CROSSROLE_PROFILE";

/// Variables that would shadow or contradict the credentials we set.
const CLEARED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
];

/// The variables CMD gets (shared with `export --format env`).
pub fn credential_vars(r: &Resolved) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("AWS_ACCESS_KEY_ID", r.creds.access_key_id().to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            r.creds.secret_access_key().to_string(),
        ),
    ];
    if let Some(t) = r.creds.session_token() {
        v.push(("AWS_SESSION_TOKEN", t.to_string()));
    }
    if let Some(e) = r.creds.expiration() {
        v.push(("AWS_CREDENTIAL_EXPIRATION", e));
    }
    if let Some(region) = &r.region {
        v.push(("AWS_REGION", region.clone()));
        v.push(("AWS_DEFAULT_REGION", region.clone()));
    }
    v
}

pub fn run(deps: &Deps<'_>, input: &ExecInput) -> Result<ExitCode> {
    if let Some(outer) = deps.env.get(MARKER) {
        if !input.force {
            return Err(Error::Usage(format!(
                "already inside `crossrole exec {outer}`: this shell holds profile `{outer}`'s credentials, and nesting would mix two sets. Exit that shell first, or pass --force to replace them"
            )));
        }
    }
    if let Some(region) = &input.region {
        crate::validate::region(region).map_err(|e| Error::Usage(format!("--region: {e}")))?;
    }
    if input.refresh {
        let config = crate::awsfile::AwsFile::load(
            &deps.paths.config_file,
            crate::awsfile::FileKind::Config,
        )?;
        match crate::profile::read_managed(&config, &deps.paths.config_file, &input.profile)? {
            crate::profile::ManagedProfile::Role(role) => crate::role_session::forget(deps, &role)?,
            // A key profile's session is its GetSessionToken (or MFA) session.
            crate::profile::ManagedProfile::Key { profile } if !input.no_session => {
                crate::mfa::session::clear(deps.stores.sessions(deps.env)?, Some(&profile))?;
            }
            crate::profile::ManagedProfile::Key { .. } => {}
        }
    }
    let key_use = if input.no_session {
        crate::resolve::KeyUse::LongTerm
    } else {
        crate::resolve::KeyUse::Session
    };
    let mut resolved = crate::resolve::credentials_for(deps, &input.profile, key_use)?;
    if let Some(region) = &input.region {
        resolved.region = Some(region.clone());
    }
    let (program, rest) = command_line(deps, &input.command);
    let mut cmd = Command::new(&program);
    cmd.args(rest);
    inherit_env(&mut cmd, deps);
    if input.server {
        return run_with_server(deps, input, key_use, resolved, cmd, &program);
    }
    for (k, v) in credential_vars(&resolved) {
        cmd.env(k, v);
    }
    cmd.env(MARKER, &input.profile);
    drop(resolved);
    run_replacing(cmd, &program)
}

/// CMD with the credential endpoint's address and token instead of keys;
/// crossrole stays its parent and answers each fetch through the cache.
fn run_with_server(
    deps: &Deps<'_>,
    input: &ExecInput,
    key_use: crate::resolve::KeyUse,
    resolved: Resolved,
    mut cmd: Command,
    program: &std::ffi::OsStr,
) -> Result<ExitCode> {
    let profile = input.profile.as_str();
    let key_profile = || {
        Error::Usage(format!(
            "profile `{profile}` with --no-session hands out its long-term key, which does not expire, so `--server` has nothing to refresh. Drop --no-session (CMD then gets GetSessionToken sessions), or run `crossrole exec --no-session {profile} -- CMD`"
        ))
    };
    if matches!(resolved.creds, Creds::Key(_)) {
        return Err(key_profile());
    }
    let endpoint = crate::server::Endpoint::bind()?;
    cmd.env(crate::server::FULL_URI, endpoint.url()?)
        .env(crate::server::TOKEN, endpoint.token());
    if let Some(region) = &resolved.region {
        cmd.env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    cmd.env(MARKER, profile);
    drop(resolved);
    crate::server::run(
        endpoint,
        cmd,
        program,
        || match crate::resolve::credentials_for(deps, profile, key_use)?.creds {
            Creds::Session(s) => Ok(crate::server::container_json(&s)),
            Creds::Key(_) => Err(key_profile()),
        },
    )
}

/// CMD, or with none an interactive shell: `$SHELL`, else `/bin/sh`.
fn command_line<'a>(
    deps: &Deps<'_>,
    command: &'a [std::ffi::OsString],
) -> (std::ffi::OsString, &'a [std::ffi::OsString]) {
    match command.split_first() {
        Some((program, rest)) => (program.clone(), rest),
        None => (
            deps.env
                .get_os("SHELL")
                .unwrap_or(std::ffi::OsStr::new("/bin/sh"))
                .to_os_string(),
            &[],
        ),
    }
}

/// The caller's environment minus anything that would shadow the credentials.
fn inherit_env(cmd: &mut Command, deps: &Deps<'_>) {
    cmd.env_clear();
    for (k, v) in deps.env.iter() {
        let name = k.to_string_lossy();
        if !CLEARED.contains(&name.as_ref()) && name != MARKER {
            cmd.env(k, v);
        }
    }
}

#[cfg(unix)]
fn run_replacing(mut cmd: Command, program: &std::ffi::OsStr) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let err = cmd.exec();
    Ok(not_started(program, err))
}

#[cfg(not(unix))]
fn run_replacing(mut cmd: Command, program: &std::ffi::OsStr) -> Result<ExitCode> {
    match cmd.status() {
        Ok(status) => Ok(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        )),
        Err(e) => Ok(not_started(program, e)),
    }
}

/// As shells do: 127 when the command is not found, 126 when it cannot run.
pub(crate) fn not_started(program: &std::ffi::OsStr, err: std::io::Error) -> ExitCode {
    let name = program.to_string_lossy();
    if err.kind() == std::io::ErrorKind::NotFound {
        eprintln!("crossrole: command not found: {name}");
        ExitCode::from(127)
    } else {
        eprintln!("crossrole: cannot run {name}: {err}");
        ExitCode::from(126)
    }
}
