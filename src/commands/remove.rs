//! `crossrole remove PROFILE [--yes]`: deletes the profile's keyring entries
//! and cached sessions, and removes it from ~/.aws/config (everything else in
//! the file stays byte for byte). A key profile that a role profile still
//! uses is refused: the role would be left without a key.
//!
//! A role profile whose crossrole_* settings are broken can still be
//! removed, and so can what crossrole keeps in the keyring for a profile
//! whose section was already deleted by hand.

use std::io::Write;

use crate::awsfile::{AwsFile, FileKind, Saved};
use crate::cache;
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::{dependents, secret_name_for_key};
use crate::secrets::SESSION_PREFIX;

/// What `PROFILE` is, as far as removing it goes.
#[derive(Debug)]
enum Kind {
    /// A key profile: its long-term key is in the keyring.
    Key,
    /// A role profile (it has `crossrole_*` settings, valid or not).
    Role,
    /// Not in the config: only keyring entries may be left.
    Gone,
}

/// How often a config that keeps changing under remove is planned again.
const MAX_REPLANS: usize = 5;

/// What `remove` will do to the config, decided from its text alone.
struct RemovePlan {
    kind: Kind,
    /// The config without the profile's section.
    config: AwsFile,
}

impl std::fmt::Debug for RemovePlan {
    // The config text may hold plaintext keys: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemovePlan")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Decides from the config as read; refuses a key profile crossrole does
/// not manage, and one a role profile still uses. No I/O.
fn plan(config: &AwsFile, profile: &str) -> Result<RemovePlan> {
    let kind = match config.profile(profile) {
        None => Kind::Gone,
        Some(p) if p.properties.keys().any(|k| k.starts_with("crossrole_")) => Kind::Role,
        Some(_) => Kind::Key,
    };
    if let Kind::Key = kind {
        if !crate::profile::managed_names(config)
            .iter()
            .any(|n| n == profile)
        {
            return Err(Error::Other(format!(
                "profile `{profile}` is not managed by crossrole (its credential_process does not call crossrole); remove it with your editor if you mean to"
            )));
        }
    }
    if let Kind::Key | Kind::Gone = kind {
        let users = dependents(config, profile);
        if !users.is_empty() {
            return Err(Error::Other(format!(
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
    let mut new = config.clone();
    new.remove_profile(profile)?;
    Ok(RemovePlan { kind, config: new })
}

pub fn run(deps: &Deps<'_>, profile: &str, yes: bool, out: &mut dyn Write) -> Result<()> {
    let _lock = FileLock::acquire(&deps.paths.runtime_dir, "aws-files")?;
    let mut read = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    let mut planned = plan(&read, profile)?;
    if let Kind::Gone = planned.kind {
        if !has_leftovers(deps, profile)? {
            return Err(Error::NotFound(format!(
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
    if let Kind::Key | Kind::Gone = planned.kind {
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
    let path = &deps.paths.config_file;
    let mut saved = false;
    for _ in 0..MAX_REPLANS {
        let text = read.to_text();
        if planned.config.to_text() == text {
            saved = true;
            break;
        }
        match planned.config.save_if_unchanged(path, &text)? {
            Saved::Saved => {
                report.push(format!(
                    "removed {} from {}",
                    read.header_of(profile),
                    path.display()
                ));
                saved = true;
                break;
            }
            // Another program edited the config meanwhile: remove the
            // section from its text instead, if that still makes sense.
            Saved::Changed(_) => {
                read = AwsFile::load(path, FileKind::Config)?;
                planned = plan(&read, profile).map_err(|e| {
                    Error::Other(format!(
                        "{} changed while remove was running, and the profile can no longer be removed from it: {e}; the file was left as the other program wrote it",
                        path.display()
                    ))
                })?;
            }
        }
    }
    if !saved {
        return Err(Error::Other(format!(
            "{} keeps changing while remove runs; run remove again when nothing else edits it",
            path.display()
        )));
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
    if !crate::prompt::can_ask() {
        return Err(Error::Usage(format!(
            "removing `{profile}` deletes its keyring entries and its section of {}; pass --yes to confirm without a terminal",
            deps.paths.config_file.display()
        )));
    }
    if !crate::prompt::confirm(&format!(
        "Remove profile {profile}, its keyring entries and cached sessions? [y/N] "
    ))? {
        return Err(Error::Cancelled("not removed".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "# mine\n[profile green]\ncredential_process = \"/bin/crossrole\" credential-process green\n\n[profile blue]\ncredential_process = \"/bin/crossrole\" credential-process blue\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/R\n\n[profile other]\nregion = x\n";

    fn plan_of(text: &str, profile: &str) -> Result<RemovePlan> {
        plan(&AwsFile::parse(text, FileKind::Config), profile)
    }

    #[test]
    fn a_role_profile_goes_and_the_rest_stays() {
        let p = plan_of(CONFIG, "blue").unwrap();
        assert!(matches!(p.kind, Kind::Role));
        assert_eq!(
            p.config.to_text(),
            "# mine\n[profile green]\ncredential_process = \"/bin/crossrole\" credential-process green\n\n[profile other]\nregion = x\n"
        );
    }

    #[test]
    fn refusals() {
        let e = plan_of(CONFIG, "green").unwrap_err().to_string();
        assert!(e.contains("is the source of `blue`"), "{e}");
        let e = plan_of(CONFIG, "other").unwrap_err().to_string();
        assert!(e.contains("not managed by crossrole"), "{e}");
        assert!(plan_of(&format!("{CONFIG}[profile blue]\nx = 1\n"), "blue").is_err());
    }

    #[test]
    fn a_profile_not_in_the_config_changes_nothing() {
        let p = plan_of(CONFIG, "gone").unwrap();
        assert!(matches!(p.kind, Kind::Gone));
        assert_eq!(p.config.to_text(), CONFIG);
    }
}
