//! `crossrole clear [PROFILE]`: drops cached role sessions, so the next call
//! asks STS again (after a policy change, say).

use std::io::Write;

use crate::awsfile::{AwsFile, FileKind};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::secrets::SESSION_PREFIX;

pub fn run(deps: &Deps<'_>, profile: Option<&str>, out: &mut dyn Write) -> Result<()> {
    if let Some(p) = profile {
        known_profile(deps, p)?;
    }
    let n = clear_sessions(deps, profile)?;
    let whose = profile
        .map(|p| format!(" of profile {p}"))
        .unwrap_or_default();
    writeln!(out, "cleared {n} cached session(s){whose}")
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
    Err(Error::Usage(format!(
        "profile `{profile}` is not in {}, and crossrole has no cached session for it; `crossrole list` shows the profiles it manages",
        deps.paths.config_file.display()
    )))
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
        if name.starts_with(&prefix) && sessions.delete(&name)? {
            n += 1;
        }
    }
    n += crate::cache_full::clear_moved(deps, &prefix)?;
    Ok(n)
}
