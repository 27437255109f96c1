//! `crossrole remove PROFILE [--yes]`: deletes the profile's keyring entries
//! and cached sessions, and removes it from ~/.aws/config (everything else in
//! the file stays byte for byte). A key profile that a role profile still
//! uses is refused: the role would be left without a key.
//!
//! A role profile whose crossrole_* settings are broken can still be
//! removed, and so can what crossrole keeps in the keyring for a profile
//! whose section was already deleted by hand.

use std::io::{IsTerminal, Write};

use crate::awsfile::{AwsFile, FileKind};
use crate::cache;
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::{dependents, secret_name_for_key};
use crate::secrets::SESSION_PREFIX;

/// What `PROFILE` is, as far as removing it goes.
enum Kind {
    /// A key profile: its long-term key is in the keyring.
    Key,
    /// A role profile (it has `crossrole_*` settings, valid or not).
    Role,
    /// Not in the config: only keyring entries may be left.
    Gone,
}

pub fn run(deps: &Deps<'_>, profile: &str, yes: bool, out: &mut dyn Write) -> Result<()> {
    let _lock = FileLock::acquire(&deps.paths.runtime_dir, "aws-files")?;
    let mut config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    let kind = match config.profile(profile) {
        None => Kind::Gone,
        Some(p) if p.properties.keys().any(|k| k.starts_with("crossrole_")) => Kind::Role,
        Some(_) => Kind::Key,
    };
    if let Kind::Key = kind {
        if !crate::profile::managed_names(&config)
            .iter()
            .any(|n| n == profile)
        {
            return Err(Error::Usage(format!(
                "profile `{profile}` is not managed by crossrole (its credential_process does not call crossrole); remove it with your editor if you mean to"
            )));
        }
    }
    if let Kind::Key | Kind::Gone = kind {
        let users = dependents(&config, profile);
        if !users.is_empty() {
            return Err(Error::Usage(format!(
                "profile `{profile}` is the source of {}; remove {} first",
                users
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if users.len() == 1 { "it" } else { "them" }
            )));
        }
    }
    if let Kind::Gone = kind {
        if !has_leftovers(deps, profile)? {
            return Err(Error::Usage(format!(
                "profile `{profile}` is not in {}, and crossrole keeps nothing for it in the keyring",
                deps.paths.config_file.display()
            )));
        }
    }
    confirm(deps, profile, yes)?;

    let mut report = Vec::new();
    // The config goes last: if anything before fails, a re-run finds the profile.
    let cleared = crate::commands::clear::clear_sessions(deps, Some(profile))?;
    if cleared > 0 {
        report.push(format!("cleared {cleared} cached session(s)"));
    }
    if let Kind::Key | Kind::Gone = kind {
        let store = deps.stores.secret(deps.env)?;
        if store.delete(&secret_name_for_key(profile))? {
            report.push(format!(
                "deleted the key of {profile} from the {} keyring",
                store.backend().name()
            ));
        }
        if let Ok(sessions) = deps.stores.sessions(deps.env) {
            let _ = sessions.delete(&cache::key_id_index_name(profile));
            // Sessions made with the key (MFA and plain GetSessionToken) go with it.
            if let Ok(n @ 1..) = crate::mfa::session::clear(sessions, Some(profile)) {
                report.push(format!("cleared {n} MFA / key-profile session(s)"));
            }
        }
    }
    if config.remove_profile(profile)? {
        config.save(&deps.paths.config_file)?;
        report.push(format!(
            "removed [profile {profile}] from {}",
            deps.paths.config_file.display()
        ));
    }
    let text = report.join("\n") + "\n";
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", "stdout", e))
}

/// Whether the keyring holds a key or cached sessions under `profile`.
fn has_leftovers(deps: &Deps<'_>, profile: &str) -> Result<bool> {
    let prefix = format!("{SESSION_PREFIX}{profile}:");
    if let Ok(sessions) = deps.stores.sessions(deps.env) {
        if sessions.names()?.iter().any(|n| n.starts_with(&prefix)) {
            return Ok(true);
        }
    }
    let store = deps.stores.secret(deps.env)?;
    Ok(store.get(&secret_name_for_key(profile))?.is_some())
}

fn confirm(deps: &Deps<'_>, profile: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && crate::prompt::has_tty()) {
        return Err(Error::Usage(format!(
            "removing `{profile}` deletes its keyring entries and its section of {}; pass --yes to confirm without a terminal",
            deps.paths.config_file.display()
        )));
    }
    let answer = crate::prompt::ask(&format!(
        "Remove profile {profile}, its keyring entries and cached sessions? [y/N] "
    ))?;
    if !matches!(answer.as_str(), "y" | "Y" | "yes" | "YES" | "Yes") {
        return Err(Error::Usage("not removed".into()));
    }
    Ok(())
}
