//! When the kernel key quota is full (EDQUOT): a non-root UID holds 20,000
//! bytes of keys by default, about 15 cached sessions, and past that nothing
//! would be cached, so every call would be an AssumeRole (and an MFA prompt).
//!
//! Storing a session then (1) drops crossrole's own stale sessions: those of
//! profiles that no longer exist or no longer assume a role, of old settings
//! or old key ids, and expired ones; (2) tries again; (3) keeps the session in
//! the long-term keyring instead (the Secret Service), with one warning, and
//! leaves a marker file in the private runtime folder so that lookups look
//! there too. `crossrole clear` empties both and removes the marker.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::awsfile::AwsFile;
use crate::cache::{self, Lookup};
use crate::credentials::Session;
use crate::deps::Deps;
use crate::error::Result;
use crate::profile::{read_managed, ManagedProfile};
use crate::secrets::{self, Backend, SecretBytes, SecretStore, SessionStore, SESSION_PREFIX};

/// Looks `entry` up in `sessions`, then, if sessions were ever moved to the
/// long-term keyring, there.
pub fn lookup(
    deps: &Deps<'_>,
    sessions: &dyn SessionStore,
    entry: &str,
    now: OffsetDateTime,
) -> Lookup {
    match cache::lookup(sessions, entry, now) {
        Lookup::Missing if marker(deps).exists() => match deps.stores.secret(deps.env) {
            Ok(store) => cache::lookup(&InStore(store), entry, now),
            Err(_) => Lookup::Missing,
        },
        other => other,
    }
}

/// Stores `session` under `entry`, making room or moving to the long-term
/// keyring when the kernel key quota is full.
pub fn store(
    deps: &Deps<'_>,
    config: &AwsFile,
    sessions: &dyn SessionStore,
    entry: &str,
    session: &Session,
) -> Result<()> {
    match cache::store_session(sessions, entry, session) {
        Err(secrets::Error::QuotaFull(_)) => {}
        Ok(()) => {
            if marker(deps).exists() {
                // A copy moved out earlier must not outlive this one.
                if let Ok(store) = deps.stores.secret(deps.env) {
                    let _ = store.delete(entry);
                }
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    // The entry being replaced is stale by definition.
    let _ = sessions.delete(entry);
    let dropped = drop_stale(deps, config, sessions, deps.clock.now(), entry);
    let mut result = cache::store_session(sessions, entry, session);
    // The kernel gives back a dropped key's quota a moment later.
    for _ in 0..if dropped > 0 { 5 } else { 0 } {
        if !matches!(result, Err(secrets::Error::QuotaFull(_))) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        result = cache::store_session(sessions, entry, session);
    }
    match result {
        Err(secrets::Error::QuotaFull(detail)) => spill(deps, entry, session, &detail),
        other => Ok(other?),
    }
}

/// Deletes `entry` from `sessions` and from the long-term keyring, if
/// sessions were moved there.
pub fn delete(deps: &Deps<'_>, sessions: &dyn SessionStore, entry: &str) {
    let _ = sessions.delete(entry);
    if marker(deps).exists() {
        if let Ok(store) = deps.stores.secret(deps.env) {
            let _ = store.delete(entry);
        }
    }
}

/// The raw entry, from `sessions` or else the long-term keyring if sessions
/// were moved there (for `list`).
pub fn get(deps: &Deps<'_>, sessions: &dyn SessionStore, entry: &str) -> Option<SecretBytes> {
    match sessions.get(entry) {
        Ok(Some(bytes)) => Some(bytes),
        _ if marker(deps).exists() => deps.stores.secret(deps.env).ok()?.get(entry).ok()?,
        _ => None,
    }
}

/// Deletes the sessions in `sessions` that no current profile would use;
/// returns how many. `entry` is the current entry of the profile being
/// stored (its settings and key id are known): every other entry of that
/// profile is stale.
pub fn drop_stale(
    deps: &Deps<'_>,
    config: &AwsFile,
    sessions: &dyn SessionStore,
    now: OffsetDateTime,
    entry: &str,
) -> usize {
    let Ok(names) = sessions.names() else {
        return 0;
    };
    let this_profile = profile_of(entry);
    let mut dropped = 0;
    for name in names {
        let profile = profile_of(&name);
        let current = if profile.is_some() && profile == this_profile {
            name == entry
        } else {
            match profile.map(|p| read_managed(config, &deps.paths.config_file, p)) {
                Some(Ok(ManagedProfile::Role(role))) => {
                    match cache::indexed_key_id(sessions, &role.source_profile) {
                        Some(id) => cache::session_key(&role, &id) == name,
                        // The key id is not known: judge by expiry alone.
                        None => true,
                    }
                }
                _ => false,
            }
        };
        let keep = current && matches!(cache::lookup(sessions, &name, now), Lookup::Fresh(_));
        if !keep && sessions.delete(&name).unwrap_or(false) {
            dropped += 1;
        }
    }
    dropped
}

/// `blue` in `session:blue:<hash>`.
fn profile_of(name: &str) -> Option<&str> {
    name.strip_prefix(SESSION_PREFIX)
        .and_then(|rest| rest.rsplit_once(':'))
        .map(|(profile, _hash)| profile)
}

/// Deletes sessions moved to the long-term keyring whose names start with
/// `prefix`, and, when all are gone, the marker; returns how many.
pub fn clear_moved(deps: &Deps<'_>, prefix: &str) -> Result<usize> {
    let marker = marker(deps);
    if !marker.exists() {
        return Ok(0);
    }
    let store = InStore(deps.stores.secret(deps.env)?);
    let mut n = 0;
    for name in store.names()? {
        if name.starts_with(prefix) && store.delete(&name)? {
            n += 1;
        }
    }
    if store.names()?.is_empty() {
        let _ = std::fs::remove_file(&marker);
    }
    Ok(n)
}

fn spill(deps: &Deps<'_>, entry: &str, session: &Session, detail: &str) -> Result<()> {
    let backend = Backend::select(deps.env)?;
    if backend == Backend::Keyutils {
        // The long-term keyring is the same kernel keyring, under the same quota.
        return Err(secrets::Error::QuotaFull(detail.to_string()).into());
    }
    let store = deps.stores.secret(deps.env)?;
    cache::store_session(&InStore(store), entry, session)?;
    let marker = marker(deps);
    if !marker.exists() {
        crate::paths::ensure_private_dir(&deps.paths.runtime_dir)?;
        std::fs::write(&marker, b"").map_err(|e| crate::Error::io("cannot write", &marker, e))?;
        eprintln!(
            "crossrole: warning: {detail}. Role sessions are now cached in the {} instead; \
             raise /proc/sys/kernel/keys/maxbytes (and maxkeys) for more room in the kernel keyring",
            backend.describe()
        );
    }
    Ok(())
}

/// Says that sessions were moved to the long-term keyring. Holds nothing.
fn marker(deps: &Deps<'_>) -> PathBuf {
    deps.paths.runtime_dir.join("sessions-in-keyring")
}

/// The long-term keyring seen as a session store (no expiry of its own).
struct InStore<'a>(&'a dyn SecretStore);

impl SessionStore for InStore<'_> {
    fn describe(&self) -> &'static str {
        self.0.backend().describe()
    }

    fn get(&self, name: &str) -> std::result::Result<Option<SecretBytes>, secrets::Error> {
        self.0.get(name)
    }

    fn put(&self, name: &str, data: &[u8], _: i64) -> std::result::Result<(), secrets::Error> {
        self.0.set(name, data)
    }

    fn delete(&self, name: &str) -> std::result::Result<bool, secrets::Error> {
        self.0.delete(name)
    }

    fn names(&self) -> std::result::Result<Vec<String>, secrets::Error> {
        self.0.list(SESSION_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use crate::secrets::memory::MemStore as Mem;
    use time::Duration;

    use super::*;
    use crate::awsfile::FileKind;
    use crate::clock::FixedClock;
    use crate::credentials::{LongTermKey, Secret};
    use crate::deps::{Stores, Sts};
    use crate::env::Env;
    use crate::paths::Paths;
    use crate::sts::{AssumeRoleRequest, Identity, StsError, StsTarget};

    struct NoSts;

    impl Sts for NoSts {
        fn get_caller_identity(
            &self,
            _: &LongTermKey,
            _: &StsTarget,
        ) -> Result<Identity, StsError> {
            unreachable!("drop_stale never calls STS")
        }
        fn assume_role(
            &self,
            _: &LongTermKey,
            _: &StsTarget,
            _: &AssumeRoleRequest<'_>,
        ) -> Result<Session, StsError> {
            unreachable!("drop_stale never calls STS")
        }
    }

    fn session(expiration: OffsetDateTime) -> Session {
        Session {
            access_key_id: "ASIAEXAMPLEEXAMPLE00".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: Secret::new("t".into()),
            expiration,
        }
    }

    const CONFIG: &str =
        "[profile green]\ncredential_process = crossrole credential-process green\n\n\
        [profile blue]\ncredential_process = crossrole credential-process blue\n\
        crossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/B\n\n\
        [profile red]\ncredential_process = crossrole credential-process red\n\
        crossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/R\n";

    #[test]
    fn only_sessions_a_current_profile_would_serve_are_kept() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let config = AwsFile::parse(CONFIG, FileKind::Config);
        let tmp = tempfile::tempdir().unwrap();
        let (env, clock) = (Env::from_pairs([("HOME", "/nonexistent")]), FixedClock(now));
        let deps = Deps {
            env: &env,
            paths: Paths::in_dir(tmp.path()),
            clock: &clock,
            sts: &NoSts,
            stores: Stores::with_openers(
                Box::new(|_| unreachable!("no long-term store")),
                Box::new(|_| unreachable!("no session store")),
            ),
            self_exe: "/bin/crossrole".into(),
            prompter: &crate::mfa::prompt::SystemPrompter,
        };
        let role = |name: &str| match read_managed(&config, &deps.paths.config_file, name) {
            Ok(ManagedProfile::Role(r)) => r,
            _ => panic!("{name} is a role profile"),
        };
        let store = Mem::default();
        let put = |name: &str, expires: OffsetDateTime| {
            cache::store_session(&store, name, &session(expires)).unwrap();
        };
        let key = "AKIAAAAAAAAAAAAAAAA1";
        cache::record_key_id(&store, "green", key, now);
        let blue = cache::session_key(&role("blue"), key);
        let red = cache::session_key(&role("red"), key);
        let red_old_key = cache::session_key(&role("red"), "AKIAAAAAAAAAAAAAAAA0");
        let blue_old = "session:blue:00000000000000000000000000000000";
        let gone = "session:gone:00000000000000000000000000000000";
        put(blue_old, now + Duration::hours(1));
        put(&red, now + Duration::hours(1));
        put(&red_old_key, now + Duration::hours(1));
        put(gone, now + Duration::hours(1));
        put(
            "session:green:00000000000000000000000000000000",
            now + Duration::hours(1),
        );

        // Storing Blue: its other entries, Red's under an old key, a profile
        // that is gone and a key profile's go; Red's current one stays.
        assert_eq!(drop_stale(&deps, &config, &store, now, &blue), 4);
        assert_eq!(store.names().unwrap(), vec![red.clone()]);

        // An expired (or inside the refresh window) current entry goes too.
        assert_eq!(
            drop_stale(&deps, &config, &store, now + Duration::minutes(50), &blue),
            1
        );
        assert!(store.names().unwrap().is_empty());

        // Without the key id index, another profile's entries are judged by
        // expiry alone.
        SessionStore::delete(&store, &cache::key_id_index_name("green")).unwrap();
        put(&red_old_key, now + Duration::hours(1));
        put(&red, now - Duration::minutes(1));
        assert_eq!(drop_stale(&deps, &config, &store, now, &blue), 1);
        assert_eq!(store.names().unwrap(), vec![red_old_key]);
    }
}
