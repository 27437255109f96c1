//! The role-session cache, as aws-vault's cached session provider: read; if
//! more than 15 minutes remain, serve; otherwise refresh under a per-session
//! cross-process lock, re-reading once the lock is held so that a burst of
//! callers makes one STS call.
//!
//! Entries live in a `SessionStore` (kernel keyring or OS keyring), never in
//! a file. A corrupt entry is dropped and refreshed, never served.

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::credentials::Session;
use crate::profile::RoleSettings;
use crate::secrets::SessionStore;

/// botocore calls the helper again when less than 15 minutes remain, so a
/// session we serve must have more than that left.
pub const REFRESH_WINDOW: Duration = Duration::minutes(15);

/// Names the cache entry for one role session. Every input that changes what
/// STS would return is hashed in, so changing any of them misses the cache.
pub fn session_key(role: &RoleSettings, source_access_key_id: &str) -> String {
    let mut h = Sha256::new();
    let parts: [&str; 8] = [
        "v1",
        &role.role_arn,
        source_access_key_id,
        role.mfa_serial.as_deref().unwrap_or(""),
        role.external_id.as_deref().unwrap_or(""),
        &role
            .duration_seconds
            .map(|d| d.to_string())
            .unwrap_or_default(),
        role.role_session_name.as_deref().unwrap_or(""),
        role.source_identity.as_deref().unwrap_or(""),
    ];
    for p in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("session:{}:{hex}", role.profile)
}

/// The entry that remembers which access key id a key profile holds, so the
/// warm path can name the session entry without opening the OS keyring.
pub fn key_id_index_name(source_profile: &str) -> String {
    format!("keyid:{source_profile}")
}

/// STS never issues a role session longer than 12 hours; a cached one that
/// claims more was not written by crossrole (a forged entry "valid until
/// 2099"). The 10 minutes leave room for a local clock behind STS's.
pub const MAX_SESSION_AHEAD: Duration = Duration::minutes(12 * 60 + 10);

pub fn is_fresh(session: &Session, now: OffsetDateTime) -> bool {
    session.expiration - now > REFRESH_WINDOW
}

pub enum Lookup {
    Fresh(Session),
    /// Present but inside the refresh window (or expired); kept so that a
    /// refresh that cannot happen may still serve it (see `crate::stale`).
    Stale(Session),
    Missing,
    /// Unreadable or corrupt: dropped from the store.
    Dropped,
}

pub fn lookup(store: &dyn SessionStore, key: &str, now: OffsetDateTime) -> Lookup {
    let bytes = match store.get(key) {
        Ok(Some(b)) => b,
        Ok(None) => return Lookup::Missing,
        Err(_) => return Lookup::Missing,
    };
    match serde_json::from_slice::<Session>(&bytes) {
        Ok(s) if s.expiration - now > MAX_SESSION_AHEAD => {
            let _ = store.delete(key);
            Lookup::Dropped
        }
        Ok(s) if is_fresh(&s, now) => Lookup::Fresh(s),
        Ok(s) => Lookup::Stale(s),
        Err(_) => {
            let _ = store.delete(key);
            Lookup::Dropped
        }
    }
}

pub fn store_session(
    store: &dyn SessionStore,
    key: &str,
    session: &Session,
) -> Result<(), crate::secrets::Error> {
    let data = zeroize::Zeroizing::new(serde_json::to_vec(session).unwrap_or_default());
    store.put(key, &data, session.expiration.unix_timestamp())
}

/// The recorded access key id of a key profile, if any.
pub fn indexed_key_id(store: &dyn SessionStore, source_profile: &str) -> Option<String> {
    let bytes = store.get(&key_id_index_name(source_profile)).ok()??;
    let id = std::str::from_utf8(&bytes).ok()?.to_string();
    crate::validate::access_key_id(&id).ok().map(|_| id)
}

/// Keeps the index for a day at most: a key replaced behind crossrole's back
/// (not through `setup`) is noticed within that time.
pub fn record_key_id(
    store: &dyn SessionStore,
    source_profile: &str,
    key_id: &str,
    now: OffsetDateTime,
) {
    let until = (now + Duration::hours(24)).unix_timestamp();
    let _ = store.put(&key_id_index_name(source_profile), key_id.as_bytes(), until);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;
    use crate::secrets::memory::MemStore as Mem;

    use crate::profile::sample_role as role;

    #[test]
    fn every_setting_changes_the_key() {
        let base = session_key(&role(), "AKIAAAAAAAAAAAAAAAAA");
        assert_ne!(base, session_key(&role(), "AKIABBBBBBBBBBBBBBBB"));
        type Change = Box<dyn Fn(&mut RoleSettings)>;
        let variants: Vec<Change> = vec![
            Box::new(|r| r.role_arn = "arn:aws:iam::222222222222:role/S".into()),
            Box::new(|r| r.mfa_serial = Some("arn:aws:iam::1:mfa/x".into())),
            Box::new(|r| r.external_id = Some("x1".into())),
            Box::new(|r| r.duration_seconds = Some(900)),
            Box::new(|r| r.role_session_name = Some("n1".into())),
            Box::new(|r| r.source_identity = Some("s1".into())),
        ];
        for v in variants {
            let mut r = role();
            v(&mut r);
            assert_ne!(base, session_key(&r, "AKIAAAAAAAAAAAAAAAAA"));
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

    #[test]
    fn lookup_serves_fresh_keeps_stale_and_drops_corrupt() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let store = Mem::default();
        let key = session_key(&role(), "AKIAAAAAAAAAAAAAAAAA");
        assert!(matches!(lookup(&store, &key, now), Lookup::Missing));

        store_session(&store, &key, &session(now + Duration::hours(1))).unwrap();
        match lookup(&store, &key, now) {
            Lookup::Fresh(s) => assert_eq!(s.expiration, now + Duration::hours(1)),
            _ => panic!("a one-hour session is fresh"),
        }
        // Inside the window: not served, but left for the refresh to replace.
        assert!(matches!(
            lookup(&store, &key, now + Duration::minutes(46)),
            Lookup::Stale(_)
        ));
        assert!(store.get(&key).unwrap().is_some());

        // Longer than STS ever issues: forged, dropped.
        store_session(&store, &key, &session(now + Duration::hours(13))).unwrap();
        assert!(matches!(lookup(&store, &key, now), Lookup::Dropped));
        assert!(
            store.get(&key).unwrap().is_none(),
            "a forged entry is deleted"
        );
        store_session(&store, &key, &session(now + Duration::hours(12))).unwrap();
        assert!(matches!(lookup(&store, &key, now), Lookup::Fresh(_)));

        for junk in [&b"garbage"[..], b"", b"{}", b"{\"AccessKeyId\":1}", b"\xff"] {
            store.put(&key, junk, 0).unwrap();
            assert!(
                matches!(lookup(&store, &key, now), Lookup::Dropped),
                "{junk:?}"
            );
            assert!(
                store.get(&key).unwrap().is_none(),
                "{junk:?} must be deleted"
            );
        }
    }

    #[test]
    fn the_key_id_index_accepts_only_key_ids() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let store = Mem::default();
        assert_eq!(indexed_key_id(&store, "green"), None);
        record_key_id(&store, "green", "AKIAAAAAAAAAAAAAAAAA", now);
        assert_eq!(
            indexed_key_id(&store, "green").as_deref(),
            Some("AKIAAAAAAAAAAAAAAAAA")
        );
        assert_eq!(indexed_key_id(&store, "other"), None);
        store
            .put(&key_id_index_name("green"), b"garbage", 0)
            .unwrap();
        assert_eq!(indexed_key_id(&store, "green"), None);
        store
            .put(&key_id_index_name("green"), b"\xff\xfe", 0)
            .unwrap();
        assert_eq!(indexed_key_id(&store, "green"), None);
    }

    #[test]
    fn entry_names_are_per_profile_and_unambiguous() {
        let a = session_key(&role(), "AKIAAAAAAAAAAAAAAAAA");
        assert!(a.starts_with("session:blue:"), "{a}");
        assert_eq!(a, session_key(&role(), "AKIAAAAAAAAAAAAAAAAA"), "stable");
        // Moving text between fields changes the name.
        let mut r1 = role();
        r1.external_id = Some("ab".into());
        r1.role_session_name = Some("c".into());
        let mut r2 = role();
        r2.external_id = Some("a".into());
        r2.role_session_name = Some("bc".into());
        assert_ne!(
            session_key(&r1, "AKIAAAAAAAAAAAAAAAAA"),
            session_key(&r2, "AKIAAAAAAAAAAAAAAAAA")
        );
        // Another profile with the same settings has its own entry.
        let mut other = role();
        other.profile = "red".into();
        assert!(session_key(&other, "AKIAAAAAAAAAAAAAAAAA").starts_with("session:red:"));
    }

    #[test]
    fn freshness_window() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let s = |mins: i64| Session {
            access_key_id: "ASIA".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: Secret::new("t".into()),
            expiration: now + Duration::minutes(mins),
        };
        assert!(is_fresh(&s(16), now));
        assert!(!is_fresh(&s(15), now));
        assert!(!is_fresh(&s(-1), now));
    }
}
