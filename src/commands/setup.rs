//! `crossrole setup`: puts the source profile's long-term key in the OS
//! keyring and writes both profiles into `~/.aws/config`, each calling
//! crossrole back through `credential_process`.
//!
//! Three steps: `setup_plan::plan` decides everything from a snapshot of the
//! files (so a refusal changes nothing), `verify` asks STS, `apply` writes.
//! Order matters for crash safety: the key is stored first, then the config
//! is saved, and only then is a plaintext key removed from the credentials
//! file (a backup, when asked for, is written just before). Killed at any
//! point, a re-run repairs the rest. A file another program edited while
//! setup ran is never overwritten: its edits are planned again on the new
//! text, or setup stops.

use std::io::Write;
use std::path::Path;

use crate::awsfile::{AwsFile, FileKind, Saved};
use crate::cache;
use crate::credentials::{mask_key_id, LongTermKey};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::RoleSettings;
use crate::sts_errors::{explain, Call};

use super::setup_plan::{plan, same_key, source_profile, SetupPlan, Snapshot};
pub use super::setup_plan::{KeySource, SetupInput};

/// How often a file that keeps changing under setup is planned again.
const MAX_REPLANS: usize = 5;

pub fn run(deps: &Deps<'_>, input: SetupInput, out: &mut dyn Write) -> Result<()> {
    // One setup (or remove) at a time edits the AWS files.
    let _lock = FileLock::acquire(&deps.paths.runtime_dir, "aws-files")?;
    let mut snap = snapshot(deps, &input)?;
    let plan = plan(&input, &snap, deps.env, &deps.self_exe)?;
    if plan.needs_consent && !input.yes {
        consent(&plan)?;
    }
    let mut report = plan.notes.clone();
    let verified = if input.verify {
        verify(deps, &plan, &mut report)?
    } else {
        None
    };
    apply(deps, &input, plan, &mut snap, verified, &mut report)?;
    let text = report.join("\n") + "\n";
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write the summary", "stdout", e))?;
    Ok(())
}

/// Both files and the stored key of the source profile, as they are
/// before setup decides anything.
fn snapshot(deps: &Deps<'_>, input: &SetupInput) -> Result<Snapshot> {
    let paths = &deps.paths;
    let config = AwsFile::load(&paths.config_file, FileKind::Config)?;
    let credentials = AwsFile::load(&paths.credentials_file, FileKind::Credentials)?;
    let source = source_profile(
        input.source_profile.as_deref(),
        &config,
        &input.target_profile,
    )?;
    let store = deps.stores.secret(deps.env)?;
    let stored = match crate::keys::load(store, &source) {
        Ok(k) => k,
        // Whatever is there is replaced by the key setup stores.
        Err(Error::NotAKey { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(Snapshot {
        config,
        credentials,
        stored,
        backend: store.backend(),
        config_links: AwsFile::link_count(&paths.config_file),
        credentials_links: AwsFile::link_count(&paths.credentials_file),
    })
}

/// On the keyutils backend, importing deletes the only lasting copy of the
/// key: a person at a terminal must agree (or pass --keep-backup / --yes).
fn consent(plan: &SetupPlan) -> Result<()> {
    let why = format!(
        "the keyutils backend keeps key {} in the kernel keyring, which a reboot empties, and --import-credentials would delete the only other copy from {}",
        mask_key_id(&plan.key.access_key_id),
        [&plan.credentials, &plan.config]
            .iter()
            .filter(|f| f.removed.is_some())
            .filter_map(|f| f.file.path().map(|p| p.display().to_string()))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    if !crate::prompt::can_ask() {
        return Err(Error::Usage(format!(
            "{why}. Re-run with --keep-backup (a private copy of the file is kept), or with --yes if you keep another copy of the key; CROSSROLE_BACKEND=file keeps the key across reboots without a desktop keyring"
        )));
    }
    if !crate::prompt::confirm(&format!(
        "Warning: {why}.\nDelete the plaintext key anyway? [y/N] "
    ))? {
        return Err(Error::Cancelled(
            "nothing changed: re-run with --keep-backup to keep a private copy of the plaintext key"
                .into(),
        ));
    }
    Ok(())
}

/// The STS checks: the key works, and (unless MFA needs a terminal) the role
/// can be assumed with it. Returns the session to cache.
fn verify(
    deps: &Deps<'_>,
    plan: &SetupPlan,
    report: &mut Vec<String>,
) -> Result<Option<crate::credentials::Session>> {
    let src = plan.source.as_str();
    let config = &plan.config.file;
    let target = crate::profile::sts_target(deps.env, config, src, None);
    let identity = deps
        .sts
        .get_caller_identity(&plan.key, &target)
        .map_err(|e| {
            explain(
                e,
                &Call::Identity {
                    profile: src,
                    key_id: &plan.key.access_key_id,
                },
            )
        })?;
    report.push(format!(
        "verified profile {src}: {} (account {})",
        identity.arn, identity.account
    ));
    if plan.role.mfa_serial.is_some() && !crate::prompt::has_tty() {
        report.push(format!(
            "skipped the AssumeRole check: profile {} needs an MFA code and there is no terminal",
            plan.role.profile
        ));
        return Ok(None);
    }
    verify_role(deps, config, &plan.role, &plan.key, report).map(Some)
}

/// Stores the key, then saves the config, then the credentials file.
fn apply(
    deps: &Deps<'_>,
    input: &SetupInput,
    mut plan: SetupPlan,
    snap: &mut Snapshot,
    verified: Option<crate::credentials::Session>,
    report: &mut Vec<String>,
) -> Result<()> {
    let src = plan.source.clone();
    if plan.store_key {
        let store = deps.stores.secret(deps.env)?;
        crate::keys::save(store, &src, &plan.key)?;
        report.push(format!(
            "stored key {} for profile {src} in the {} keyring",
            mask_key_id(&plan.key.access_key_id),
            store.backend().name()
        ));
        snap.stored = Some(plan.key.clone());
    }
    if let Ok(sessions) = deps.stores.sessions(deps.env) {
        cache::record_key_id(sessions, &src, &plan.key.access_key_id, deps.clock.now());
        if let Some(session) = &verified {
            let entry = cache::session_key(&plan.role, &plan.key.access_key_id);
            let _ = cache::store_session(sessions, &entry, session);
        }
    }
    let stored = plan.store_key;
    let config_saved = save(deps, input, FileKind::Config, &mut plan, snap, report)?;
    let creds_saved = save(deps, input, FileKind::Credentials, &mut plan, snap, report)?;
    if !config_saved && !creds_saved && !stored {
        report.push("nothing to change: the profiles and the key are already set up".into());
    }
    report.push(format!(
        "try: aws --profile {} sts get-caller-identity",
        plan.role.profile
    ));
    Ok(())
}

/// Saves one file if the plan changes it. When another program edited it
/// since the snapshot, the edits are planned again on its new text.
/// Returns whether the file was written.
fn save(
    deps: &Deps<'_>,
    input: &SetupInput,
    kind: FileKind,
    plan: &mut SetupPlan,
    snap: &mut Snapshot,
    report: &mut Vec<String>,
) -> Result<bool> {
    let path = match kind {
        FileKind::Config => deps.paths.config_file.clone(),
        FileKind::Credentials => deps.paths.credentials_file.clone(),
    };
    let mut backed_up = false;
    for _ in 0..MAX_REPLANS {
        let (fp, read) = match kind {
            FileKind::Config => (&plan.config, snap.config.to_text()),
            FileKind::Credentials => (&plan.credentials, snap.credentials.to_text()),
        };
        if fp.file.to_text() == read {
            return Ok(false);
        }
        if fp.backup && !backed_up {
            report.push(backup(&path, deps)?);
            backed_up = true;
        }
        match fp.file.save_if_unchanged(&path, &read)? {
            Saved::Saved => {
                if !fp.sections.is_empty() {
                    report.push(format!(
                        "updated {}: {}",
                        path.display(),
                        fp.sections.join(", ")
                    ));
                }
                if let Some(removed) = &fp.removed {
                    report.push(format!(
                        "removed the plaintext key ({removed}) from {}",
                        path.display()
                    ));
                }
                let saved = fp.file.clone();
                match kind {
                    FileKind::Config => snap.config = saved,
                    FileKind::Credentials => snap.credentials = saved,
                }
                return Ok(true);
            }
            Saved::Changed(_) => {
                let now = AwsFile::load(&path, kind)?;
                match kind {
                    FileKind::Config => snap.config = now,
                    FileKind::Credentials => snap.credentials = now,
                }
                *plan = replan(deps, input, snap, plan, &path)?;
                report.push(format!(
                    "{} changed while setup ran: its edits were made again on the new text",
                    path.display()
                ));
            }
        }
    }
    Err(Error::Other(format!(
        "{} keeps changing while setup runs; nothing more was written to it. Run setup again when nothing else edits it",
        path.display()
    )))
}

/// The plan again, on files another program changed. The key and the role
/// must be the ones verified and stored; otherwise setup stops.
fn replan(
    deps: &Deps<'_>,
    input: &SetupInput,
    snap: &Snapshot,
    old: &SetupPlan,
    path: &Path,
) -> Result<SetupPlan> {
    let stop = |why: String| {
        Error::Other(format!(
            "{} changed while setup was running, and {why}; it was left as the other program wrote it. Run setup again",
            path.display()
        ))
    };
    let new = plan(input, snap, deps.env, &deps.self_exe)
        .map_err(|e| stop(format!("setup's edits no longer apply: {e}")))?;
    if !same_key(&new.key, &old.key) || new.role != old.role || new.source != old.source {
        return Err(stop(
            "it now names a different key or role than the one setup checked".into(),
        ));
    }
    Ok(new)
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

/// A private copy of a file about to lose a plaintext key, made only when
/// the user asks.
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
