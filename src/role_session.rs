//! Getting a role profile's session: from the cache while more than 15
//! minutes remain, else one AssumeRole under a cross-process lock (re-checking
//! the cache once held), then stored for the next caller.

use crate::awsfile::AwsFile;
use crate::cache::{self, Lookup};
use crate::cache_full;
use crate::credentials::{LongTermKey, Session};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::mfa::session::{is_rejected_code, Signer};
use crate::profile::{sts_target, RoleSettings};
use crate::stale::RefreshError;
use crate::sts_errors::{explain, Call};

/// Where the session came from: whether a call cost an STS request (the
/// unit tests count on it).
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
            cache::record_key_id(
                sessions,
                &role.source_profile,
                &key.access_key_id,
                deps.clock.now(),
            );
            let id = key.access_key_id.clone();
            source = Some(key);
            id
        }
    };
    let entry = cache::session_key(role, &key_id);
    let now = deps.clock.now();
    let stale = match cache_full::lookup(deps, sessions, &entry, now) {
        Lookup::Fresh(s) => return Ok((s, Origin::Cache)),
        Lookup::Stale(s) => Some(s),
        _ => None,
    };
    match refresh(deps, config, role, sessions, source, &key_id, entry) {
        Ok(got) => Ok(got),
        Err(e) => {
            let what = format!("the session of profile `{}`", role.profile);
            let s = crate::stale::serve_or_fail(stale, now, e, &what)?;
            Ok((s, Origin::Cache))
        }
    }
}

/// The refresh half of [`get`]: under the lock, re-check, then AssumeRole.
fn refresh(
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    sessions: &dyn crate::secrets::SessionStore,
    source: Option<LongTermKey>,
    key_id: &str,
    mut entry: String,
) -> Result<(Session, Origin), RefreshError> {
    let mut lock = lock(deps, role, &entry)?;
    if let Lookup::Fresh(s) = cache_full::lookup(deps, sessions, &entry, deps.clock.now()) {
        return Ok((s, Origin::Cache));
    }
    let source = match source {
        Some(k) => k,
        None => load_source(deps, role)?,
    };
    if source.access_key_id != key_id {
        // The key was replaced behind the index's back: never serve a session
        // made with the old key.
        cache::record_key_id(
            sessions,
            &role.source_profile,
            &source.access_key_id,
            deps.clock.now(),
        );
        entry = cache::session_key(role, &source.access_key_id);
        // That key's session may be cached already (another process saw the
        // new key first): look under its own lock, as above. The old lock
        // goes first, so no process ever waits holding another lock.
        drop(lock);
        lock = self::lock(deps, role, &entry)?;
        if let Lookup::Fresh(s) = cache_full::lookup(deps, sessions, &entry, deps.clock.now()) {
            return Ok((s, Origin::Cache));
        }
    }
    let session = assume_or_refresh_error(deps, config, role, &source)?;
    if let Err(e) = cache_full::store(deps, config, sessions, &entry, &session) {
        eprintln!(
            "crossrole: warning: could not cache the session for `{}` ({e}); the next call will ask STS again",
            role.profile
        );
    }
    // Held until the session is stored, so that waiting callers find it.
    drop(lock);
    Ok((session, Origin::Sts))
}

/// The per-session lock; a caller waits at most the MFA prompt's timeout
/// plus 30 s behind another caller's refresh (which may be asking for a code).
fn lock(deps: &Deps<'_>, role: &RoleSettings, entry: &str) -> Result<FileLock, RefreshError> {
    let wait = crate::mfa::prompt::timeout(deps.env) + crate::mfa::prompt::WAITER_GRACE;
    FileLock::acquire_within(&deps.paths.runtime_dir, entry, wait)?.ok_or_else(|| {
        RefreshError::transient(Error::Other(format!(
            "gave up after {} seconds waiting for another crossrole refreshing the session of profile `{}` (it may be waiting for an MFA code: answer its prompt, then try again)",
            wait.as_secs(),
            role.profile
        )))
    })
}

/// Drops every cached session of `profile`'s current settings (used before a forced refresh).
pub fn forget(deps: &Deps<'_>, role: &RoleSettings) -> Result<()> {
    let sessions = deps.stores.sessions(deps.env)?;
    if let Some(id) = cache::indexed_key_id(sessions, &role.source_profile) {
        cache_full::delete(deps, sessions, &cache::session_key(role, &id));
    }
    Ok(())
}

fn load_source(deps: &Deps<'_>, role: &RoleSettings) -> Result<LongTermKey> {
    crate::keys::require(deps.stores.secret(deps.env)?, &role.source_profile)
}

pub fn default_session_name(env: &crate::env::Env) -> String {
    let user = env
        .get("USER")
        .or_else(|| env.get("USERNAME"))
        .or_else(|| env.get("LOGNAME"))
        .unwrap_or("user");
    let clean: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("crossrole-{clean}");
    name.truncate(64);
    name
}

/// One AssumeRole, bypassing the cache. With an MFA serial it is signed with
/// the MFA session (asked for once, cached and shared), or, where
/// `crossrole_mfa_session_seconds = 0`, made with a fresh code.
pub fn assume(
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    source: &LongTermKey,
) -> Result<Session> {
    assume_or_refresh_error(deps, config, role, source).map_err(Error::from)
}

fn assume_or_refresh_error(
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    source: &LongTermKey,
) -> Result<Session, RefreshError> {
    let session_name = role
        .role_session_name
        .clone()
        .unwrap_or_else(|| default_session_name(deps.env));
    let target = sts_target(deps.env, config, &role.profile, Some(&role.source_profile));
    let duration = crate::mfa::session::role_duration(config, role);
    let mut again = None;
    let mut renewed_mfa_session = false;
    loop {
        let signer = crate::mfa::session::signer(deps, config, role, source, &target, again)?;
        let req = crate::mfa::session::assume_request(role, &session_name, duration, &signer);
        let result = match &signer {
            Signer::Key(_) => deps.sts.assume_role(source, &target, &req),
            Signer::Session(s) => deps.sts.assume_role_with_session(s, &target, &req),
        };
        let e = match result {
            Ok(session) => return Ok(session),
            Err(e) => e,
        };
        if signer.code().is_some() && again.is_none() && is_rejected_code(&e) {
            again = Some(crate::mfa::session::REJECTED);
            continue;
        }
        if matches!(signer, Signer::Session(_))
            && !renewed_mfa_session
            && matches!(
                e.code(),
                Some("ExpiredToken" | "InvalidClientTokenId" | "ExpiredTokenException")
            )
        {
            // STS no longer takes the cached MFA session (revoked, or the
            // clock was off): drop it and get a new one, once.
            crate::mfa::session::forget_for(deps, role, &source.access_key_id);
            renewed_mfa_session = true;
            continue;
        }
        let transient = crate::stale::is_transient(&e);
        let error = explain(
            e,
            &Call::AssumeRole {
                profile: &role.profile,
                source: &role.source_profile,
                role_arn: &role.role_arn,
                key_id: &source.access_key_id,
                mfa: role.mfa_serial.is_some(),
            },
        );
        return Err(RefreshError { error, transient });
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::awsfile::FileKind;
    use crate::clock::FixedClock;
    use crate::credentials::Secret;
    use crate::deps::{Stores, Sts};
    use crate::env::Env;
    use crate::paths::Paths;
    use crate::secrets::{Backend, SecretBytes, SecretStore, SessionStore};
    use crate::sts::{AssumeRoleRequest, Identity, StsError, StsTarget};

    /// An in-memory store, shared between clones (so that several `Deps`
    /// see the same entries, as processes share the keyring).
    #[derive(Clone, Default)]
    struct Mem {
        map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
        refuse_writes: Rc<Cell<bool>>,
    }

    impl Mem {
        fn raw(&self, name: &str) -> Option<Vec<u8>> {
            self.map.borrow().get(name).cloned()
        }

        fn insert(&self, name: &str, data: &[u8]) {
            self.map
                .borrow_mut()
                .insert(name.to_string(), data.to_vec());
        }

        fn write(&self, name: &str, data: &[u8]) -> Result<(), crate::secrets::Error> {
            if self.refuse_writes.get() {
                return Err(crate::secrets::Error::Refused {
                    backend: "memory",
                    detail: "full".into(),
                });
            }
            self.insert(name, data);
            Ok(())
        }
    }

    impl SecretStore for Mem {
        fn backend(&self) -> Backend {
            Backend::Keyutils
        }
        fn get(&self, name: &str) -> Result<Option<SecretBytes>, crate::secrets::Error> {
            Ok(self.raw(name).map(SecretBytes::new))
        }
        fn set(&self, name: &str, secret: &[u8]) -> Result<(), crate::secrets::Error> {
            self.write(name, secret)
        }
        fn delete(&self, name: &str) -> Result<bool, crate::secrets::Error> {
            Ok(self.map.borrow_mut().remove(name).is_some())
        }
    }

    impl SessionStore for Mem {
        fn describe(&self) -> &'static str {
            "memory"
        }
        fn get(&self, name: &str) -> Result<Option<SecretBytes>, crate::secrets::Error> {
            Ok(self.raw(name).map(SecretBytes::new))
        }
        fn put(
            &self,
            name: &str,
            data: &[u8],
            _expires_at_unix: i64,
        ) -> Result<(), crate::secrets::Error> {
            self.write(name, data)
        }
        fn delete(&self, name: &str) -> Result<bool, crate::secrets::Error> {
            Ok(self.map.borrow_mut().remove(name).is_some())
        }
        fn names(&self) -> Result<Vec<String>, crate::secrets::Error> {
            Ok(self
                .map
                .borrow()
                .keys()
                .filter(|k| k.starts_with("session:"))
                .cloned()
                .collect())
        }
    }

    /// What the fake STS was asked.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Asked {
        key_id: String,
        role_arn: String,
        session_name: String,
        duration: Option<i32>,
        external_id: Option<String>,
        endpoint: Option<String>,
    }

    /// AssumeRole answering sessions of the requested duration from `now`
    /// (or the queued error), recording every call.
    struct FakeSts {
        now: Cell<OffsetDateTime>,
        asked: RefCell<Vec<Asked>>,
        fail_next: RefCell<Option<StsError>>,
    }

    impl FakeSts {
        fn new(now: OffsetDateTime) -> Self {
            FakeSts {
                now: Cell::new(now),
                asked: RefCell::new(Vec::new()),
                fail_next: RefCell::new(None),
            }
        }

        fn calls(&self) -> usize {
            self.asked.borrow().len()
        }

        fn last(&self) -> Asked {
            self.asked
                .borrow()
                .last()
                .cloned()
                .expect("an AssumeRole call")
        }
    }

    impl Sts for FakeSts {
        fn get_caller_identity(
            &self,
            _key: &LongTermKey,
            _target: &StsTarget,
        ) -> Result<Identity, StsError> {
            panic!("role_session::get never calls GetCallerIdentity")
        }

        fn assume_role(
            &self,
            key: &LongTermKey,
            target: &StsTarget,
            req: &AssumeRoleRequest<'_>,
        ) -> Result<Session, StsError> {
            self.asked.borrow_mut().push(Asked {
                key_id: key.access_key_id.clone(),
                role_arn: req.role_arn.to_string(),
                session_name: req.session_name.to_string(),
                duration: req.duration_seconds,
                external_id: req.external_id.map(str::to_string),
                endpoint: target.endpoint_url.clone(),
            });
            if let Some(e) = self.fail_next.borrow_mut().take() {
                return Err(e);
            }
            let n = self.calls();
            Ok(Session {
                access_key_id: format!("ASIAFAKE{n:012}"),
                secret_access_key: Secret::new(format!("secret-{n}")),
                session_token: Secret::new(format!("token-{n}")),
                expiration: self.now.get()
                    + Duration::seconds(req.duration_seconds.unwrap_or(3600).into()),
            })
        }
    }

    const KEY_1: &str = "AKIAAAAAAAAAAAAAAAA1";
    const KEY_2: &str = "AKIAAAAAAAAAAAAAAAA2";

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    struct World {
        env: Env,
        secrets: Mem,
        sessions: Mem,
        sts: FakeSts,
        config: AwsFile,
        run: tempfile::TempDir,
    }

    impl World {
        fn new() -> World {
            let w = World {
                env: Env::from_pairs([("USER", "tester")]),
                secrets: Mem::default(),
                sessions: Mem::default(),
                sts: FakeSts::new(t0()),
                config: AwsFile::parse(
                    "[profile blue]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:1\n",
                    FileKind::Config,
                ),
                run: tempfile::tempdir().unwrap(),
            };
            w.store_key(KEY_1);
            w
        }

        fn store_key(&self, id: &str) {
            let key = LongTermKey {
                access_key_id: id.into(),
                secret_access_key: Secret::new(format!("secret-of-{id}")),
            };
            crate::keys::save(&self.secrets, "green", &key).unwrap();
        }

        /// One `get` as a new process would make it, at `at`.
        fn get_at(&self, role: &RoleSettings, at: OffsetDateTime) -> Result<(Session, Origin)> {
            self.sts.now.set(at);
            let clock = FixedClock(at);
            let (secrets, sessions) = (self.secrets.clone(), self.sessions.clone());
            let deps = Deps {
                env: &self.env,
                paths: Paths::in_dir(self.run.path()),
                clock: &clock,
                sts: &self.sts,
                stores: Stores::shared(secrets, sessions),
                prompter: &crate::mfa::prompt::SystemPrompter,
                self_exe: "/usr/bin/crossrole".into(),
            };
            get(&deps, &self.config, role)
        }

        fn get(&self, role: &RoleSettings) -> (Session, Origin) {
            self.get_at(role, t0()).unwrap_or_else(|e| panic!("{e}"))
        }
    }

    use crate::profile::sample_role as role;

    fn from_cache(o: &Origin) -> bool {
        matches!(o, Origin::Cache)
    }

    #[test]
    fn a_cold_call_asks_sts_once_then_the_cache_serves() {
        let w = World::new();
        let (first, origin) = w.get(&role());
        assert!(!from_cache(&origin));
        assert_eq!(
            w.sts.last(),
            Asked {
                key_id: KEY_1.into(),
                role_arn: "arn:aws:iam::222222222222:role/R".into(),
                session_name: "crossrole-tester".into(),
                duration: None,
                external_id: None,
                endpoint: Some("http://127.0.0.1:1".into()),
            }
        );
        let (second, origin) = w.get(&role());
        assert!(from_cache(&origin));
        assert_eq!(w.sts.calls(), 1);
        assert_eq!(first.access_key_id, second.access_key_id);
        assert_eq!(second.session_token.expose(), "token-1");
        assert_eq!(second.expiration, t0() + Duration::hours(1));
    }

    #[test]
    fn a_session_is_served_until_15_minutes_remain() {
        let w = World::new();
        w.get(&role());
        // 16 minutes left: served.
        let (_, origin) = w.get_at(&role(), t0() + Duration::minutes(44)).unwrap();
        assert!(from_cache(&origin));
        assert_eq!(w.sts.calls(), 1);
        // Exactly 15 minutes left: botocore would call again at once, so refresh.
        let (s, origin) = w.get_at(&role(), t0() + Duration::minutes(45)).unwrap();
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.calls(), 2);
        assert_eq!(s.expiration, t0() + Duration::minutes(105));
        // The refreshed session replaced the old one.
        let (again, origin) = w.get_at(&role(), t0() + Duration::minutes(46)).unwrap();
        assert!(from_cache(&origin));
        assert_eq!(again.access_key_id, s.access_key_id);
        // Long expired: refreshed too.
        let (_, origin) = w.get_at(&role(), t0() + Duration::days(2)).unwrap();
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.calls(), 3);
    }

    #[test]
    fn a_900_second_session_is_never_served_from_the_cache() {
        let w = World::new();
        let mut r = role();
        r.duration_seconds = Some(900);
        w.get(&r);
        w.get(&r);
        assert_eq!(w.sts.calls(), 2);
        assert_eq!(w.sts.last().duration, Some(900));
    }

    #[test]
    fn every_setting_misses_the_cache() {
        let w = World::new();
        w.get(&role());
        let changes: [fn(&mut RoleSettings); 5] = [
            |r| r.role_arn = "arn:aws:iam::222222222222:role/S".into(),
            |r| r.external_id = Some("ext-1".into()),
            |r| r.duration_seconds = Some(1800),
            |r| r.role_session_name = Some("other".into()),
            |r| r.source_identity = Some("ana".into()),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut r = role();
            change(&mut r);
            let (_, origin) = w.get(&r);
            assert!(!from_cache(&origin), "change {i} served an old session");
            assert_eq!(w.sts.calls(), i + 2);
            let (_, origin) = w.get(&r);
            assert!(from_cache(&origin));
        }
        let asked = w.sts.asked.borrow();
        assert_eq!(asked[1].role_arn, "arn:aws:iam::222222222222:role/S");
        assert_eq!(asked[2].external_id.as_deref(), Some("ext-1"));
        assert_eq!(asked[3].duration, Some(1800));
        assert_eq!(asked[4].session_name, "other");
    }

    #[test]
    fn a_new_source_key_from_setup_misses_the_cache() {
        let w = World::new();
        w.get(&role());
        // What `setup` does with a new key: store it, re-index it.
        w.store_key(KEY_2);
        cache::record_key_id(&w.sessions, "green", KEY_2, t0());
        let (_, origin) = w.get(&role());
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.last().key_id, KEY_2);
        assert_eq!(w.sts.calls(), 2);
    }

    #[test]
    fn a_key_replaced_behind_the_index_is_noticed_when_sts_is_asked() {
        let w = World::new();
        w.get(&role());
        w.store_key(KEY_2);
        // The index still names KEY_1; once that session is due for a
        // refresh, the keyring's key is used and the index corrected.
        let later = t0() + Duration::minutes(50);
        let (_, origin) = w.get_at(&role(), later).unwrap();
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.last().key_id, KEY_2);
        assert_eq!(
            cache::indexed_key_id(&w.sessions, "green").as_deref(),
            Some(KEY_2)
        );
        let (_, origin) = w.get_at(&role(), later).unwrap();
        assert!(from_cache(&origin), "the new key's session is found again");
        assert_eq!(w.sts.calls(), 2);
        // And with no index at all (it expired), the keyring is read.
        w.store_key(KEY_1);
        w.sessions
            .map
            .borrow_mut()
            .remove(&cache::key_id_index_name("green"));
        let (_, origin) = w.get_at(&role(), later).unwrap();
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.last().key_id, KEY_1);
    }

    #[test]
    fn a_stale_index_still_finds_the_current_keys_session() {
        let w = World::new();
        w.store_key(KEY_2);
        cache::record_key_id(&w.sessions, "green", KEY_2, t0());
        w.get(&role());
        assert_eq!(w.sts.calls(), 1);
        // A slower process (or an old index) names the previous key: the
        // keyring's key has a fresh session already, which must be used.
        cache::record_key_id(&w.sessions, "green", KEY_1, t0());
        let (s, origin) = w.get(&role());
        assert!(from_cache(&origin), "needless AssumeRole");
        assert_eq!(s.session_token.expose(), "token-1");
        assert_eq!(w.sts.calls(), 1);
        assert_eq!(
            cache::indexed_key_id(&w.sessions, "green").as_deref(),
            Some(KEY_2)
        );
    }

    #[test]
    fn a_corrupt_entry_is_dropped_and_refreshed() {
        let w = World::new();
        w.get(&role());
        let entry = cache::session_key(&role(), KEY_1);
        for junk in [
            &b"garbage"[..],
            b"",
            b"{\"AccessKeyId\":\"ASIA",
            b"\xff\xfe\x00",
            b"null",
        ] {
            w.sessions.insert(&entry, junk);
            let before = w.sts.calls();
            let (s, origin) = w.get(&role());
            assert!(!from_cache(&origin), "{junk:?} was served");
            assert_eq!(w.sts.calls(), before + 1);
            assert!(s.access_key_id.starts_with("ASIAFAKE"));
            let stored = w.sessions.raw(&entry).unwrap();
            assert!(
                serde_json::from_slice::<Session>(&stored).is_ok(),
                "the junk was replaced"
            );
        }
        // A corrupt index is ignored: the keyring's key is read.
        w.sessions
            .insert(&cache::key_id_index_name("green"), b"not a key id");
        let (_, origin) = w.get(&role());
        assert!(from_cache(&origin));
        assert_eq!(
            cache::indexed_key_id(&w.sessions, "green").as_deref(),
            Some(KEY_1)
        );
    }

    #[test]
    fn an_sts_error_is_explained_and_nothing_is_cached() {
        let w = World::new();
        *w.sts.fail_next.borrow_mut() = Some(StsError::Service {
            code: "ExpiredToken".into(),
            message: "The security token included in the request is expired".into(),
        });
        let err = match w.get_at(&role(), t0()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("long-term IAM user key"), "{err}");
        assert!(
            err.contains("crossrole setup --source-profile green"),
            "{err}"
        );
        assert!(!err.contains(KEY_1), "{err}");
        assert!(!err.contains("secret-of-"), "{err}");
        assert!(w.sessions.names().unwrap().is_empty());
        // The next call asks again (and succeeds).
        let (_, origin) = w.get(&role());
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.calls(), 2);

        *w.sts.fail_next.borrow_mut() = Some(StsError::Service {
            code: "RequestExpired".into(),
            message: "Request has expired.".into(),
        });
        let err = match w.get_at(&role(), t0() + Duration::hours(2)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("clock is off"), "{err}");
    }

    #[test]
    fn a_missing_key_asks_no_sts() {
        let w = World::new();
        w.secrets.map.borrow_mut().clear();
        let err = match w.get_at(&role(), t0()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("no key for profile `green`"), "{err}");
        assert!(
            err.contains("crossrole setup --source-profile green"),
            "{err}"
        );
        assert_eq!(w.sts.calls(), 0);
    }

    #[test]
    fn a_cache_that_refuses_writes_still_gives_the_session() {
        let w = World::new();
        w.sessions.refuse_writes.set(true);
        let (s, origin) = w.get(&role());
        assert!(!from_cache(&origin));
        assert_eq!(s.session_token.expose(), "token-1");
        let (_, origin) = w.get(&role());
        assert!(!from_cache(&origin));
        assert_eq!(w.sts.calls(), 2);
    }

    #[test]
    fn forget_drops_the_current_session() {
        let w = World::new();
        w.get(&role());
        let clock = FixedClock(t0());
        let (secrets, sessions) = (w.secrets.clone(), w.sessions.clone());
        let deps = Deps {
            env: &w.env,
            paths: Paths::in_dir(w.run.path()),
            clock: &clock,
            sts: &w.sts,
            stores: Stores::shared(secrets, sessions),
            prompter: &crate::mfa::prompt::SystemPrompter,
            self_exe: "/usr/bin/crossrole".into(),
        };
        forget(&deps, &role()).unwrap();
        let (_, origin) = w.get(&role());
        assert!(!from_cache(&origin));
    }

    #[test]
    fn default_session_names_are_valid() {
        let name =
            |pairs: &[(&str, &str)]| default_session_name(&Env::from_pairs(pairs.iter().copied()));
        assert_eq!(name(&[("USER", "ana")]), "crossrole-ana");
        assert_eq!(name(&[("USERNAME", "Ana Lopez")]), "crossrole-Ana_Lopez");
        assert_eq!(name(&[("LOGNAME", "dom\\user")]), "crossrole-dom_user");
        assert_eq!(name(&[]), "crossrole-user");
        let long = name(&[("USER", &"x".repeat(100))]);
        assert_eq!(long.len(), 64);
        assert!(crate::validate::session_name(&long).is_ok());
        let odd = name(&[("USER", "jürgen")]);
        assert!(crate::validate::session_name(&odd).is_ok(), "{odd}");
    }
}
