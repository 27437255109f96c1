//! The Linux kernel keyring (keyutils), through `linux-keyutils` directly.
//!
//! Keys are of type `user` with description `crossrole:<name>` (e.g.
//! `crossrole:key:green`, `crossrole:session:<hex>`). They live in kernel
//! memory only, never on disk, and are lost at reboot.
//!
//! Model (as linux-keyutils-keyring-store does it): a key is added to the
//! session keyring and linked into the user's persistent keyring
//! (persistent-keyring(7)), which is itself linked into the session keyring,
//! so a later login session finds the key again for the persistent keyring's
//! lifetime (`/proc/sys/kernel/keys/persistent_keyring_expiry`, 3 days by
//! default, renewed on every open). Lookups search from the session keyring.
//!
//! `CROSSROLE_KEYUTILS_KEYRING=session` keeps keys in the session keyring only
//! (no link into, and no access to, the persistent keyring): tests use it so
//! that they never touch the user's persistent keyring. Note that the kernel
//! keyrings belong to a thread's credentials: a child process inherits the
//! session keyring of the thread that spawned it.
//!
//! Role sessions get a kernel timeout (`expires_at - now`), so the kernel
//! drops them at expiry. Opening costs one or two `keyctl` calls; `get` two.
//!
//! A `user` key holds at most 32767 bytes.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use linux_keyutils::{
    Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, KeyType, Permission,
};

use super::{check_name, Backend, Error, SecretBytes, SecretStore, SessionStore, SESSION_PREFIX};
use crate::env::Env;

/// Description prefix of every crossrole key.
pub const DESCRIPTION_PREFIX: &str = "crossrole:";

/// Largest payload of a `user` key.
pub const MAX_PAYLOAD: usize = 32767;

const BACKEND: &str = "keyutils";

/// Which keyrings keys go to (`CROSSROLE_KEYUTILS_KEYRING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingMode {
    /// Session keyring plus a link in the user's persistent keyring (default).
    Persistent,
    /// Session keyring only.
    SessionOnly,
}

impl RingMode {
    pub fn from_env(env: &Env) -> Result<RingMode, Error> {
        match env.get("CROSSROLE_KEYUTILS_KEYRING").map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(RingMode::Persistent),
            Some(v) if v == "persistent" => Ok(RingMode::Persistent),
            Some(v) if v == "session" => Ok(RingMode::SessionOnly),
            Some(v) => Err(Error::Unavailable(format!(
                "CROSSROLE_KEYUTILS_KEYRING={v:?} is not understood; valid values: persistent, session"
            ))),
        }
    }
}

#[derive(Debug)]
pub struct KeyutilsStore {
    session: KeyRing,
    persistent: Option<KeyRing>,
}

impl KeyutilsStore {
    /// Opens the kernel keyring, or says why the kernel refused.
    pub fn open(mode: RingMode) -> Result<Self, KeyError> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)?;
        let persistent = match mode {
            // Not every kernel has persistent keyrings: then session only.
            RingMode::Persistent => KeyRing::get_persistent(KeyRingIdentifier::Session).ok(),
            RingMode::SessionOnly => None,
        };
        Ok(KeyutilsStore {
            session,
            persistent,
        })
    }

    /// For long-term keys (`CROSSROLE_BACKEND=keyutils`): a refusal is an error.
    pub fn open_long_term(env: &Env) -> Result<Self, Error> {
        let mode = RingMode::from_env(env)?;
        Self::open(mode).map_err(refused_message)
    }

    /// For the session cache when the kernel keyring is required.
    pub fn open_sessions(env: &Env) -> Result<Self, Error> {
        Self::open_long_term(env)
    }

    /// For the session cache: `None` when the kernel refuses (e.g. a
    /// container's seccomp policy), so the caller falls back silently.
    pub fn open_sessions_if_usable(env: &Env) -> Result<Option<Self>, Error> {
        let mode = RingMode::from_env(env)?;
        Ok(Self::open(mode).ok())
    }

    /// Whether keys are also linked into the persistent keyring.
    pub fn is_persistent(&self) -> bool {
        self.persistent.is_some()
    }

    fn find(&self, name: &str) -> Result<Option<Key>, Error> {
        match self.session.search(&description(name)) {
            Ok(key) => Ok(Some(key)),
            Err(e) if is_absent(e) => Ok(None),
            Err(e) => Err(refused(e)),
        }
    }

    fn read(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        check_name(Backend::Keyutils, name)?;
        let Some(key) = self.find(name)? else {
            return Ok(None);
        };
        match key.read_to_vec() {
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(e) if is_absent(e) => Ok(None),
            Err(e) => Err(refused(e)),
        }
    }

    /// Adds (or replaces) the key; `timeout` in seconds, 0 for none.
    fn write(&self, name: &str, data: &[u8], timeout: usize) -> Result<(), Error> {
        check_name(Backend::Keyutils, name)?;
        if data.len() > MAX_PAYLOAD {
            return Err(Error::Refused {
                backend: BACKEND,
                detail: format!(
                    "{name}: {} bytes is more than a kernel user key holds ({MAX_PAYLOAD})",
                    data.len()
                ),
            });
        }
        let key = self
            .session
            .add_key(&description(name), data)
            .map_err(refused)?;
        // add_key updated an existing key in place, or made a new one that
        // displaced the old link from the session keyring. Set (or clear) the
        // timeout before the key becomes reachable through the persistent
        // keyring.
        if let Err(e) = key.set_timeout(timeout) {
            let _ = key.invalidate();
            return Err(refused(e));
        }
        if let Some(ring) = self.persistent {
            // Displaces any older key of the same description there.
            ring.link_key(key).map_err(refused)?;
        }
        Ok(())
    }

    /// Adds (or replaces) a key that only its owner (this UID) can use,
    /// with a kernel timeout in seconds. A placeholder payload goes in first
    /// and the real one only after the permissions are narrowed, so the
    /// secret is never readable by a process that merely possesses the
    /// session keyring (e.g. one that switched to another UID).
    pub(crate) fn write_owner_only(
        &self,
        name: &str,
        data: &[u8],
        timeout: usize,
    ) -> Result<(), Error> {
        check_name(Backend::Keyutils, name)?;
        if data.is_empty() || data.len() > MAX_PAYLOAD {
            return Err(Error::Refused {
                backend: BACKEND,
                detail: format!(
                    "{name}: {} bytes does not fit a kernel user key",
                    data.len()
                ),
            });
        }
        let key = self
            .session
            .add_key(&description(name), b"-")
            .map_err(refused)?;
        // The timeout after the update: updating a user key clears it.
        let done = set_owner_only(key)
            .and_then(|()| key.update(&data))
            .and_then(|()| key.set_timeout(timeout))
            .and_then(|()| match self.persistent {
                Some(ring) => ring.link_key(key),
                None => Ok(()),
            });
        if let Err(e) = done {
            let _ = key.invalidate();
            return Err(refused(e));
        }
        Ok(())
    }

    /// Reads a key written by [`Self::write_owner_only`] (or any other).
    pub(crate) fn read_entry(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        self.read(name)
    }

    /// Removes every key of that name; returns whether one existed.
    pub(crate) fn remove_entry(&self, name: &str) -> Result<bool, Error> {
        self.remove(name)
    }

    fn remove(&self, name: &str) -> Result<bool, Error> {
        check_name(Backend::Keyutils, name)?;
        let mut existed = false;
        // Two distinct keys may match (one in the session keyring, an older
        // one reached through the persistent keyring): drop them all.
        for _ in 0..8 {
            let Some(key) = self.find(name)? else { break };
            match key.invalidate() {
                Ok(()) => existed = true,
                Err(e) if is_absent(e) => {}
                Err(e) => return Err(refused(e)),
            }
        }
        Ok(existed)
    }

    /// Names (without the `crossrole:` prefix) starting with `prefix`, in
    /// the session keyring and, where used, the persistent keyring.
    fn names_with_prefix(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut names = BTreeSet::new();
        let rings = std::iter::once(self.session).chain(self.persistent);
        for ring in rings {
            // get_links takes a count of ids but passes it to the kernel as a
            // byte length: 1 << 20 reads up to 262144 links.
            let links = ring.get_links(1 << 20).map_err(refused)?;
            for key in links.iter().filter_map(|node| node.as_key()) {
                let Ok(meta) = key.metadata() else { continue };
                if meta.get_type() != KeyType::User {
                    continue;
                }
                if let Some(name) = meta.get_description().strip_prefix(DESCRIPTION_PREFIX) {
                    if name.starts_with(prefix) {
                        names.insert(name.to_string());
                    }
                }
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// Owner (UID) permissions only: no possessor, group or other rights, so
/// holding a link to the session keyring is not enough to read the key.
/// (Issue 10 adds the same for every key; unify at merge.)
pub(crate) fn set_owner_only(key: Key) -> Result<(), KeyError> {
    let perms = KeyPermissionsBuilder::builder()
        .user(Permission::ALL)
        .build();
    key.set_perms(perms)
}

fn description(name: &str) -> String {
    format!("{DESCRIPTION_PREFIX}{name}")
}

fn is_absent(e: KeyError) -> bool {
    matches!(
        e,
        KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked
    )
}

fn refused(e: KeyError) -> Error {
    let detail = match e {
        KeyError::QuotaExceeded => "the per-user kernel key quota is full \
             (see /proc/sys/kernel/keys/maxkeys and maxbytes; `crossrole clear` frees cached sessions)"
            .to_string(),
        other => format!("{other:?}"),
    };
    Error::Refused {
        backend: BACKEND,
        detail,
    }
}

fn refused_message(e: KeyError) -> Error {
    Error::Unavailable(format!(
        "The kernel keyring (keyutils) is not usable here: keyctl was refused ({e:?}); \
         containers often block it with seccomp. Use the Secret Service instead \
         (unset CROSSROLE_BACKEND, or set CROSSROLE_BACKEND=secret-service)."
    ))
}

fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

impl SecretStore for KeyutilsStore {
    fn backend(&self) -> Backend {
        Backend::Keyutils
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        self.read(name)
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error> {
        self.write(name, secret, 0)
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        self.remove(name)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        self.names_with_prefix(prefix)
    }
}

impl SessionStore for KeyutilsStore {
    fn describe(&self) -> &'static str {
        if self.is_persistent() {
            "kernel keyring (session + persistent)"
        } else {
            "kernel keyring (session)"
        }
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        self.read(name)
    }

    fn put(&self, name: &str, data: &[u8], expires_at_unix: i64) -> Result<(), Error> {
        let remaining = expires_at_unix.saturating_sub(now_unix());
        if remaining <= 0 {
            // Already expired: nothing to cache, and no stale copy either.
            self.remove(name)?;
            return Ok(());
        }
        let timeout = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(u32::MAX as usize);
        self.write(name, data, timeout)
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        self.remove(name)
    }

    fn names(&self) -> Result<Vec<String>, Error> {
        self.names_with_prefix(SESSION_PREFIX)
    }
}
