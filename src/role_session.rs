//! Getting a role profile's session: from the cache while more than 15
//! minutes remain, else one AssumeRole under a cross-process lock (re-checking
//! the cache once held), then stored for the next caller.

use crate::awsfile::AwsFile;
use crate::cache::{self, Lookup};
use crate::credentials::{LongTermKey, Session};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::{sts_target, RoleSettings};
use crate::sts::AssumeRoleRequest;
use crate::sts_errors::{explain, Call};

/// Where the session came from, for `setup`'s and `list`'s reports.
pub enum Origin {
    Cache,
    Sts,
}

pub fn get(deps: &Deps<'_>, config: &AwsFile, role: &RoleSettings) -> Result<(Session, Origin)> {
    let sessions = deps.stores.sessions(deps.env)?;
    let mut source: Option<LongTermKey> = None;
    let key_id = match cache::indexed_key_id(sessions, &role.source_profile) {
        Some(id) => id,
        None => {
            let key = load_source(deps, role)?;
            cache::record_key_id(sessions, &role.source_profile, &key.access_key_id, deps.clock.now());
            let id = key.access_key_id.clone();
            source = Some(key);
            id
        }
    };
    let mut entry = cache::session_key(role, &key_id);
    if let Lookup::Fresh(s) = cache::lookup(sessions, &entry, deps.clock.now()) {
        return Ok((s, Origin::Cache));
    }

    let _lock = FileLock::acquire(&deps.paths.runtime_dir, &entry)?;
    if let Lookup::Fresh(s) = cache::lookup(sessions, &entry, deps.clock.now()) {
        return Ok((s, Origin::Cache));
    }
    let source = match source {
        Some(k) => k,
        None => load_source(deps, role)?,
    };
    if source.access_key_id != key_id {
        // The key was replaced behind the index's back: never serve a session
        // made with the old key.
        cache::record_key_id(sessions, &role.source_profile, &source.access_key_id, deps.clock.now());
        entry = cache::session_key(role, &source.access_key_id);
    }
    let session = assume(deps, config, role, &source)?;
    if let Err(e) = cache::store_session(sessions, &entry, &session) {
        eprintln!(
            "crossrole: warning: could not cache the session for `{}` ({e}); the next call will ask STS again",
            role.profile
        );
    }
    Ok((session, Origin::Sts))
}

/// Drops every cached session of `profile`'s current settings (used before a forced refresh).
pub fn forget(deps: &Deps<'_>, role: &RoleSettings) -> Result<()> {
    let sessions = deps.stores.sessions(deps.env)?;
    if let Some(id) = cache::indexed_key_id(sessions, &role.source_profile) {
        let _ = sessions.delete(&cache::session_key(role, &id));
    }
    Ok(())
}

fn load_source(deps: &Deps<'_>, role: &RoleSettings) -> Result<LongTermKey> {
    crate::keys::load(deps.stores.secret(deps.env)?, &role.source_profile)
}

pub fn default_session_name(env: &crate::env::Env) -> String {
    let user = env
        .get("USER")
        .or_else(|| env.get("USERNAME"))
        .or_else(|| env.get("LOGNAME"))
        .unwrap_or("user");
    let clean: String = user
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) { c } else { '_' })
        .collect();
    let mut name = format!("crossrole-{clean}");
    name.truncate(64);
    name
}

/// One AssumeRole, bypassing the cache (asks for the MFA code if the role needs one).
pub fn assume(deps: &Deps<'_>, config: &AwsFile, role: &RoleSettings, source: &LongTermKey) -> Result<Session> {
    let mfa_code = match &role.mfa_serial {
        Some(serial) => Some(ask_mfa_code(&role.profile, serial)?),
        None => None,
    };
    let session_name = role
        .role_session_name
        .clone()
        .unwrap_or_else(|| default_session_name(deps.env));
    let target = sts_target(deps.env, config, &role.profile, Some(&role.source_profile));
    let req = AssumeRoleRequest {
        role_arn: &role.role_arn,
        session_name: &session_name,
        duration_seconds: role.duration_seconds,
        external_id: role.external_id.as_deref(),
        mfa_serial: role.mfa_serial.as_deref(),
        mfa_code: mfa_code.as_deref().map(|s| s.as_str()),
        source_identity: role.source_identity.as_deref(),
    };
    deps.sts.assume_role(source, &target, &req).map_err(|e| {
        explain(
            e,
            &Call::AssumeRole {
                profile: &role.profile,
                source: &role.source_profile,
                role_arn: &role.role_arn,
                key_id: &source.access_key_id,
                mfa: role.mfa_serial.is_some(),
            },
        )
    })
}

fn ask_mfa_code(profile: &str, serial: &str) -> Result<zeroize::Zeroizing<String>> {
    if !crate::prompt::has_tty() {
        return Err(Error::Usage(format!(
            "profile `{profile}` needs an MFA code ({serial}) and there is no terminal to ask on. Run `crossrole credential-process {profile} > /dev/null` or `crossrole exec {profile} -- true` once from a terminal: the session is then cached and used without asking until it nears expiry"
        )));
    }
    let code = crate::prompt::ask(&format!("MFA code for profile {profile} ({serial}): "))?;
    crate::validate::mfa_code(&code).map_err(|e| Error::Usage(format!("{e}; got {} characters", code.len())))?;
    Ok(zeroize::Zeroizing::new(code))
}
