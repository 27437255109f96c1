//! Sessions from GetSessionToken: the *MFA session* (serial and code) that
//! role sessions are then assumed with, and the plain session `exec` and
//! `export` hand out for a key profile instead of its long-term key.
//!
//! Cached like role sessions (kernel keyring, else the OS keyring, never a
//! file) under a name made of the source key id and the serial only, so
//! every profile with that source and serial shares one session, and one
//! code a day covers them all. The same 15-minute window, the same
//! one-call-per-burst lock (re-checking the cache once held) and the same
//! serve-don't-fail rule apply as for role sessions. Waiting callers give
//! up after the prompt's timeout plus 30 s.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::prompt::{ask_code, CodeRequest, PromptError, WAITER_GRACE};
use super::MfaSettings;
use crate::awsfile::AwsFile;
use crate::cache;
use crate::credentials::{LongTermKey, Session};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::RoleSettings;
use crate::secrets::SessionStore;
use crate::stale::{is_transient, serve_or_fail, RefreshError};
use crate::sts::{AssumeRoleRequest, SessionTokenRequest, StsError, StsTarget};

/// Names of cached MFA sessions. `#` is in no profile name, so
/// `clear PROFILE` (prefix `session:PROFILE:`) never matches these.
pub const MFA_PREFIX: &str = "session:#mfa:";
/// Names of cached plain GetSessionToken sessions (key profiles without a serial).
pub const TOKEN_PREFIX: &str = "session:#token:";

/// Said when the question comes again after STS refused the code.
pub const REJECTED: &str = "STS rejected that code; enter the next one";

/// What is cached: the session and what it was made for (for `list` and
/// `clear --mfa PROFILE`).
#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(rename = "Session")]
    session: Session,
    #[serde(rename = "SourceProfile")]
    source_profile: String,
    #[serde(rename = "SourceKeyId")]
    source_key_id: String,
    #[serde(rename = "Serial")]
    serial: Option<String>,
}

/// The cache entry's name: the source key id and the serial, nothing else.
pub fn entry_name(source_key_id: &str, serial: Option<&str>) -> String {
    let mut h = Sha256::new();
    for p in ["mfa-v1", source_key_id, serial.unwrap_or("")] {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    match serial {
        Some(_) => format!("{MFA_PREFIX}{hex}"),
        None => format!("{TOKEN_PREFIX}{hex}"),
    }
}

/// One GetSessionToken session wanted.
pub struct Need<'a> {
    /// The profile the code is asked for (named in the prompt).
    pub profile: &'a str,
    /// The key profile whose long-term key signs GetSessionToken.
    pub source_profile: &'a str,
    pub serial: Option<&'a str>,
    pub settings: &'a MfaSettings,
    pub target: &'a StsTarget,
}

/// The session for `need`: cached while more than 15 minutes remain, else
/// one GetSessionToken (asking for the code) under a lock. `key` is the
/// source's long-term key when the caller has it already.
pub fn get(
    deps: &Deps<'_>,
    need: &Need<'_>,
    key: Option<&LongTermKey>,
) -> Result<Session, RefreshError> {
    let sessions = deps.stores.sessions(deps.env)?;
    let mut loaded = None;
    let key_id = match key.map(|k| k.access_key_id.clone()) {
        Some(id) => id,
        None => match cache::indexed_key_id(sessions, need.source_profile) {
            Some(id) => id,
            None => {
                let k = load_key(deps, need.source_profile)?;
                cache::record_key_id(
                    sessions,
                    need.source_profile,
                    &k.access_key_id,
                    deps.clock.now(),
                );
                let id = k.access_key_id.clone();
                loaded = Some(k);
                id
            }
        },
    };
    let entry = entry_name(&key_id, need.serial);
    let now = deps.clock.now();
    let stale = match lookup(sessions, &entry, now) {
        Found::Fresh(s) => return Ok(s),
        Found::Stale(s) => Some(s),
        Found::Missing => None,
    };
    let key = key.cloned().or(loaded);
    match refresh(deps, sessions, need, key, &entry) {
        Ok(s) => Ok(s),
        Err(e) => serve_or_fail(stale, now, e, &describe(need)),
    }
}

fn describe(need: &Need<'_>) -> String {
    match need.serial {
        Some(serial) => format!(
            "the MFA session of profile `{}` ({serial})",
            need.source_profile
        ),
        None => format!("the session of profile `{}`", need.source_profile),
    }
}

fn refresh(
    deps: &Deps<'_>,
    sessions: &dyn SessionStore,
    need: &Need<'_>,
    key: Option<LongTermKey>,
    entry: &str,
) -> Result<Session, RefreshError> {
    let timeout = super::prompt::timeout(deps.env);
    let wait = timeout + WAITER_GRACE;
    let Some(lock) = FileLock::acquire_within(&deps.paths.runtime_dir, entry, wait)? else {
        return Err(RefreshError::transient(Error::Other(format!(
            "gave up after {} seconds waiting for another crossrole getting {} (it may be waiting for an MFA code: answer its prompt, then try again)",
            wait.as_secs(),
            describe(need)
        ))));
    };
    if let Found::Fresh(s) = lookup(sessions, entry, deps.clock.now()) {
        return Ok(s);
    }
    let key = match key {
        Some(k) => k,
        None => load_key(deps, need.source_profile)?,
    };
    let seconds = if need.settings.session_seconds == 0 {
        super::DEFAULT_SESSION_SECONDS
    } else {
        need.settings.session_seconds
    };
    let mut again = None;
    loop {
        let code = match need.serial {
            Some(serial) => Some(ask(deps, need.settings, need.profile, serial, again)?),
            None => None,
        };
        let req = SessionTokenRequest {
            duration_seconds: Some(seconds),
            mfa_serial: need.serial,
            mfa_code: code.as_deref().map(|c| c.as_str()),
        };
        match deps.sts.get_session_token(&key, need.target, &req) {
            Ok(session) => {
                let doc = Entry {
                    session,
                    source_profile: need.source_profile.to_string(),
                    source_key_id: key.access_key_id.clone(),
                    serial: need.serial.map(str::to_string),
                };
                store(sessions, entry, &doc, need);
                // Held until stored, so that waiting callers find it.
                drop(lock);
                return Ok(doc.session);
            }
            Err(e) if code.is_some() && again.is_none() && is_rejected_code(&e) => {
                again = Some(REJECTED);
            }
            Err(e) if code.is_some() && is_rejected_code(&e) => {
                return Err(Error::Sts {
                    message: format!(
                        "STS rejected the MFA code for {} twice. Check that the device's clock is right and that crossrole_mfa_serial names this user's MFA device",
                        need.serial.unwrap_or_default()
                    ),
                    source: Some(e),
                }
                .into());
            }
            Err(e) => {
                let transient = is_transient(&e);
                let error = crate::sts_errors::explain(
                    e,
                    &crate::sts_errors::Call::Identity {
                        profile: need.source_profile,
                        key_id: &key.access_key_id,
                    },
                );
                return Err(RefreshError { error, transient });
            }
        }
    }
}

fn store(sessions: &dyn SessionStore, entry: &str, doc: &Entry, need: &Need<'_>) {
    let data = zeroize::Zeroizing::new(serde_json::to_vec(doc).unwrap_or_default());
    if let Err(e) = sessions.put(entry, &data, doc.session.expiration.unix_timestamp()) {
        eprintln!(
            "crossrole: warning: could not cache {} ({e}); the next call will ask again",
            describe(need)
        );
    }
}

/// Asks for a code through the injected prompter; any failure to ask is
/// transient (a cached session may still be served).
fn ask(
    deps: &Deps<'_>,
    settings: &MfaSettings,
    profile: &str,
    serial: &str,
    again: Option<&str>,
) -> Result<super::prompt::Code, RefreshError> {
    let req = CodeRequest {
        profile,
        serial,
        again,
        timeout: super::prompt::timeout(deps.env),
    };
    ask_code(deps.prompter, deps.env, settings, &req).map_err(|e| {
        let needs = |other: &PromptError| {
            format!("profile `{profile}` needs an MFA code ({serial}): {other}")
        };
        RefreshError::transient(match e {
            PromptError::NoWay(m) => Error::NeedsPerson(m),
            PromptError::Unusable(m) => Error::Other(m),
            PromptError::Cancelled(_) => Error::Cancelled(needs(&e)),
            _ => Error::Other(needs(&e)),
        })
    })
}

/// STS's answer to a wrong or reused code.
pub fn is_rejected_code(e: &StsError) -> bool {
    matches!(e, StsError::Service { code, message }
        if code.starts_with("AccessDenied")
            && (message.contains("MultiFactorAuthentication") || message.contains("one time pass code")))
}

fn load_key(deps: &Deps<'_>, profile: &str) -> Result<LongTermKey> {
    crate::keys::require(deps.stores.secret(deps.env)?, profile)
}

/// GetSessionToken grants an IAM user at most 36 hours; as for role
/// sessions (`cache::MAX_SESSION_AHEAD`), 10 minutes more allow for a local
/// clock behind STS's.
const MAX_MFA_SESSION_AHEAD: time::Duration = time::Duration::minutes(36 * 60 + 10);

enum Found {
    Fresh(Session),
    Stale(Session),
    Missing,
}

fn lookup(store: &dyn SessionStore, name: &str, now: time::OffsetDateTime) -> Found {
    let Ok(Some(bytes)) = store.get(name) else {
        return Found::Missing;
    };
    match serde_json::from_slice::<Entry>(&bytes) {
        // Longer than GetSessionToken ever grants: not written by crossrole.
        Ok(e) if e.session.expiration - now > MAX_MFA_SESSION_AHEAD => {
            let _ = store.delete(name);
            Found::Missing
        }
        Ok(e) if cache::is_fresh(&e.session, now) => Found::Fresh(e.session),
        Ok(e) => Found::Stale(e.session),
        Err(_) => {
            let _ = store.delete(name);
            Found::Missing
        }
    }
}

/// What AssumeRole is signed with.
pub enum Signer {
    /// The long-term key, with the code when the role needs one per session.
    Key(Option<super::prompt::Code>),
    /// An MFA session (role chaining: no code, at most one hour).
    Session(Session),
}

impl Signer {
    pub fn code(&self) -> Option<&str> {
        match self {
            Signer::Key(c) => c.as_deref().map(|c| c.as_str()),
            Signer::Session(_) => None,
        }
    }
}

/// How `role` signs its AssumeRole: with the MFA session where it has a
/// serial (the default), with the long-term key and a fresh code where
/// `crossrole_mfa_session_seconds = 0`, with the key alone without MFA.
pub fn signer(
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    key: &LongTermKey,
    target: &StsTarget,
    again: Option<&str>,
) -> Result<Signer, RefreshError> {
    let Some(serial) = role.mfa_serial.as_deref() else {
        return Ok(Signer::Key(None));
    };
    let settings = MfaSettings::of_profile(config, &role.profile)?;
    if !settings.chains() {
        return Ok(Signer::Key(Some(ask(
            deps,
            &settings,
            &role.profile,
            serial,
            again,
        )?)));
    }
    let need = Need {
        profile: &role.profile,
        source_profile: &role.source_profile,
        serial: Some(serial),
        settings: &settings,
        target,
    };
    get(deps, &need, Some(key)).map(Signer::Session)
}

/// The duration to ask AssumeRole for: capped at one hour when chained.
pub fn role_duration(config: &AwsFile, role: &RoleSettings) -> Option<i32> {
    let chains = role.mfa_serial.is_some()
        && MfaSettings::of_profile(config, &role.profile).is_ok_and(|s| s.chains());
    match role.duration_seconds {
        Some(d) if chains => Some(d.min(super::CHAINED_MAX_SECONDS)),
        d => d,
    }
}

/// Drops the MFA session `role` signs with (STS no longer accepts it).
pub fn forget_for(deps: &Deps<'_>, role: &RoleSettings, key_id: &str) {
    if let Ok(sessions) = deps.stores.sessions(deps.env) {
        let _ = sessions.delete(&entry_name(key_id, role.mfa_serial.as_deref()));
    }
}

/// The session a key profile hands out instead of its long-term key: its
/// MFA session where it has `crossrole_mfa_serial`, else a plain one.
pub fn for_key_profile(deps: &Deps<'_>, config: &AwsFile, profile: &str) -> Result<Session> {
    let settings = MfaSettings::of_profile(config, profile)?;
    let serial = super::key_profile_serial(config, profile)?;
    let target = crate::profile::sts_target(deps.env, config, profile, None);
    let need = Need {
        profile,
        source_profile: profile,
        serial: serial.as_deref(),
        settings: &settings,
        target: &target,
    };
    get(deps, &need, None).map_err(Error::from)
}

/// A cached MFA session, as `list` shows it.
pub struct Listed {
    pub source_profile: String,
    pub serial: String,
    pub source_key_id: String,
    pub expiration: time::OffsetDateTime,
}

/// The MFA sessions in the cache (unreadable entries skipped).
pub fn list(store: &dyn SessionStore) -> Vec<Listed> {
    let names = store.names().unwrap_or_default();
    names
        .iter()
        .filter(|n| n.starts_with(MFA_PREFIX))
        .filter_map(|n| store.get(n).ok().flatten())
        .filter_map(|b| serde_json::from_slice::<Entry>(&b).ok())
        .map(|e| Listed {
            source_profile: e.source_profile,
            serial: e.serial.unwrap_or_default(),
            source_key_id: e.source_key_id,
            expiration: e.session.expiration,
        })
        .collect()
}

/// Drops cached MFA sessions (all, or those made with `source_profile`'s key); returns how many.
pub fn clear(store: &dyn SessionStore, source_profile: Option<&str>) -> Result<usize> {
    let mut n = 0;
    for name in store.names()? {
        if !name.starts_with(MFA_PREFIX) && !name.starts_with(TOKEN_PREFIX) {
            continue;
        }
        let matches = match source_profile {
            None => true,
            Some(p) => store
                .get(&name)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
                .is_none_or(|e| e.source_profile == p),
        };
        if matches && store.delete(&name)? {
            n += 1;
        }
    }
    Ok(n)
}

/// For the request builder: the request `role` makes once signed.
pub fn assume_request<'a>(
    role: &'a RoleSettings,
    session_name: &'a str,
    duration_seconds: Option<i32>,
    signer: &'a Signer,
) -> AssumeRoleRequest<'a> {
    let code = signer.code();
    AssumeRoleRequest {
        role_arn: &role.role_arn,
        session_name,
        duration_seconds,
        external_id: role.external_id.as_deref(),
        mfa_serial: code.and(role.mfa_serial.as_deref()),
        mfa_code: code,
        source_identity: role.source_identity.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_on_key_id_and_serial_only() {
        let a = entry_name("AKIAAAAAAAAAAAAAAAA1", Some("arn:aws:iam::1:mfa/a"));
        assert!(a.starts_with(MFA_PREFIX), "{a}");
        assert_eq!(
            a,
            entry_name("AKIAAAAAAAAAAAAAAAA1", Some("arn:aws:iam::1:mfa/a"))
        );
        assert_ne!(
            a,
            entry_name("AKIAAAAAAAAAAAAAAAA2", Some("arn:aws:iam::1:mfa/a"))
        );
        assert_ne!(
            a,
            entry_name("AKIAAAAAAAAAAAAAAAA1", Some("arn:aws:iam::1:mfa/b"))
        );
        let plain = entry_name("AKIAAAAAAAAAAAAAAAA1", None);
        assert!(plain.starts_with(TOKEN_PREFIX), "{plain}");
        // No profile name can make `clear PROFILE` match them.
        assert!(crate::validate::profile_name("#mfa").is_err());
    }

    #[test]
    fn rejected_codes_are_told_from_other_denials() {
        let e = |code: &str, message: &str| StsError::Service {
            code: code.into(),
            message: message.into(),
        };
        assert!(is_rejected_code(&e(
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code. "
        )));
        assert!(!is_rejected_code(&e(
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole"
        )));
        assert!(!is_rejected_code(&e(
            "Throttling",
            "MultiFactorAuthentication"
        )));
    }
}
