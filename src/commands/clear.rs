//! `crossrole clear [PROFILE]`: drops cached role sessions, so the next call
//! asks STS again (after a policy change, say).

use std::io::Write;

use crate::awsfile::{AwsFile, FileKind};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::secrets::SESSION_PREFIX;

pub fn run(deps: &Deps<'_>, profile: Option<&str>, mfa: bool, out: &mut dyn Write) -> Result<()> {
    if let Some(p) = profile {
        known_profile(deps, p)?;
    }
    let n = clear_sessions(deps, profile)?;
    let whose = profile
        .map(|p| format!(" of profile {p}"))
        .unwrap_or_default();
    let mut text = format!("cleared {n} cached session(s){whose}\n");
    if mfa {
        let m = clear_mfa_sessions(deps, profile)?;
        text.push_str(&format!(
            "cleared {m} MFA session(s){whose}; the next call asks for a code again\n"
        ));
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", "stdout", e))
}

/// A PROFILE that is neither in the config nor in the session cache is a
/// typo: say so, as every other command does, rather than "cleared 0". One
/// only in the cache (its section deleted by hand) can still be cleared.
fn known_profile(deps: &Deps<'_>, profile: &str) -> Result<()> {
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    if config.profile(profile).is_some() {
        return Ok(());
    }
    let prefix = format!("{SESSION_PREFIX}{profile}:");
    let sessions = deps.stores.sessions(deps.env)?;
    if sessions.names()?.iter().any(|n| n.starts_with(&prefix)) {
        return Ok(());
    }
    Err(Error::NotFound(format!(
        "profile `{profile}` is not in {}, and crossrole has no cached session for it; `crossrole list` shows the profiles it manages",
        deps.paths.config_file.display()
    )))
}

/// Drops MFA (and key-profile) sessions: all, or those made with the key of
/// `profile` (a key profile, or a role profile's source).
fn clear_mfa_sessions(deps: &Deps<'_>, profile: Option<&str>) -> Result<usize> {
    let sessions = deps.stores.sessions(deps.env)?;
    let source = match profile {
        None => None,
        Some(p) => {
            let config = crate::awsfile::AwsFile::load(
                &deps.paths.config_file,
                crate::awsfile::FileKind::Config,
            )?;
            match crate::profile::read_managed(&config, &deps.paths.config_file, p)? {
                crate::profile::ManagedProfile::Key { profile } => Some(profile),
                crate::profile::ManagedProfile::Role(r) => Some(r.source_profile),
            }
        }
    };
    crate::mfa::session::clear(sessions, source.as_deref())
}

/// Deletes the cached sessions of `profile` (all profiles if None); returns how many.
pub fn clear_sessions(deps: &Deps<'_>, profile: Option<&str>) -> Result<usize> {
    let sessions = deps.stores.sessions(deps.env)?;
    let prefix = match profile {
        Some(p) => format!("{SESSION_PREFIX}{p}:"),
        None => SESSION_PREFIX.to_string(),
    };
    let mut n = 0;
    for name in sessions.names()? {
        // MFA sessions stay: dropping them would cost a code (`clear --mfa`).
        if name.starts_with(crate::mfa::session::MFA_PREFIX) {
            continue;
        }
        if name.starts_with(&prefix) && sessions.delete(&name)? {
            n += 1;
        }
    }
    n += crate::cache_full::clear_moved(deps, &prefix)?;
    Ok(n)
}
