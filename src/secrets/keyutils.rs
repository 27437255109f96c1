//! The Linux kernel keyring (keyutils), through `linux-keyutils` directly.
//!
//! Keys are of type `user` with description `crossrole:<name>` (e.g.
//! `crossrole:key:green`, `crossrole:session:<hex>`). They live in kernel
//! memory only, never on disk, and are lost at reboot.
//!
//! Model (as linux-keyutils-keyring-store does it): a key is linked into the
//! session keyring (made first in the thread's own keyring, see
//! `add_owner_only`) and into the user's persistent keyring
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
//! drops them at expiry. Opening costs one or two `keyctl` calls; `get` three
//! (search, describe to check the owner, read).
//!
//! A `user` key holds at most 32767 bytes.
//!
//! Permissions: the kernel grants a key's *possessor* rights to any process
//! that reaches it through its keyrings, whatever its UID, and a session
//! keyring is inherited across `su` without pam_keyinit, `setpriv` and some
//! `sudo -u` setups. So every key crossrole adds (`add_owner_only`) gives
//! all rights to its owning UID and none to anyone else, possessor included
//! (`OWNER_ONLY`); keys are read only when owned by `getuid()`; and a cached
//! session whose permissions are looser than that (another UID could have
//! rewritten it) is refused and refreshed.
//!
//! Quota: a non-root UID may hold 20,000 bytes of keys by default
//! (`/proc/sys/kernel/keys/maxbytes`), about 15 cached sessions. On EDQUOT a
//! write first unlinks crossrole's own expired keys (the kernel keeps them,
//! charged, for `gc_delay` seconds) and tries again; the callers then drop
//! stale sessions they can name ([`crate::cache`]) or fall back.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use linux_keyutils::{
    Key, KeyError, KeyPermissions, KeyRing, KeyRingIdentifier, KeySerialId, KeyType,
};

use super::{check_name, Backend, Error, SecretBytes, SecretStore, SessionStore, SESSION_PREFIX};
use crate::env::Env;

/// Description prefix of every crossrole key.
pub const DESCRIPTION_PREFIX: &str = "crossrole:";

/// Largest payload of a `user` key.
pub const MAX_PAYLOAD: usize = 32767;

const BACKEND: &str = "keyutils";

/// view, read, write, search, link and setattr for the owning UID; nothing
/// for possessors, group or others. Possessor bits would reach every UID
/// that shares the session keyring.
pub(crate) const OWNER_ONLY: u32 = 0x003f_0000;

/// Adds `data` as a new `user` key named `description`, owned by this UID
/// with [`OWNER_ONLY`] permissions and `timeout` seconds to live (0: none),
/// then links it into `ring`, displacing any key of that description there.
///
/// The key is made in this thread's own keyring, which no other process
/// possesses, and gets its permissions before it is linked anywhere another
/// UID could reach: no moment when another possessor could read it, and
/// never an update in place of a key someone else planted under our name.
pub(crate) fn add_owner_only(
    ring: KeyRing,
    description: &str,
    data: &[u8],
    timeout: usize,
) -> Result<Key, KeyError> {
    let staging = KeyRing::from_special_id(KeyRingIdentifier::Thread, true)?;
    let key = staging.add_key(description, data)?;
    let linked = key
        .set_perms(KeyPermissions::from_u32(OWNER_ONLY))
        .and_then(|()| key.set_timeout(timeout))
        .and_then(|()| ring.link_key(key));
    let _ = staging.unlink_key(key);
    if let Err(e) = linked {
        let _ = key.invalidate();
        return Err(e);
    }
    Ok(key)
}

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

    /// Reads `name`'s key if this UID owns it. `loose` says what to do with
    /// one of ours whose permissions are looser than [`OWNER_ONLY`] (made by
    /// an older crossrole, or changed since).
    fn read(&self, name: &str, loose: Loose) -> Result<Option<SecretBytes>, Error> {
        check_name(Backend::Keyutils, name)?;
        let Some(key) = self.find(name)? else {
            return Ok(None);
        };
        let meta = match key.metadata() {
            Ok(m) => m,
            Err(e) if is_absent(e) => return Ok(None),
            Err(e) => return Err(refused(e)),
        };
        let me = crate::sys::uid();
        if meta.get_uid() != me {
            return Err(Error::Refused {
                backend: BACKEND,
                detail: format!(
                    "the kernel key {} (id {}) belongs to uid {}, not to you (uid {me}), so crossrole \
                     will not use it: another user can reach your session keyring. Remove it with \
                     `keyctl unlink {} @s` and run `crossrole setup` again",
                    description(name),
                    key.get_id().as_raw_id(),
                    meta.get_uid(),
                    key.get_id().as_raw_id(),
                ),
            });
        }
        if meta.get_perms().bits() & !OWNER_ONLY != 0 {
            match loose {
                Loose::Refuse => {
                    let _ = key.invalidate();
                    return Err(Error::Refused {
                        backend: BACKEND,
                        detail: format!(
                            "{}: permissions {:08x} let other users change it; dropped",
                            description(name),
                            meta.get_perms().bits()
                        ),
                    });
                }
                Loose::Tighten => key
                    .set_perms(KeyPermissions::from_u32(OWNER_ONLY))
                    .map_err(refused)?,
            }
        }
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
        let desc = description(name);
        let mut added = add_owner_only(self.session, &desc, data, timeout);
        if matches!(added, Err(KeyError::QuotaExceeded)) && self.reclaim_expired() > 0 {
            // The kernel frees unlinked keys' quota a moment later.
            for _ in 0..10 {
                added = add_owner_only(self.session, &desc, data, timeout);
                if !matches!(added, Err(KeyError::QuotaExceeded)) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let key = added.map_err(refused)?;
        if let Some(ring) = self.persistent {
            // Displaces any older key of the same description there.
            ring.link_key(key).map_err(refused)?;
        }
        Ok(())
    }

    /// Adds (or replaces) a key that only its owner (this UID) can use,
    /// with a kernel timeout in seconds (see [`add_owner_only`]).
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
        let key =
            add_owner_only(self.session, &description(name), data, timeout).map_err(refused)?;
        if let Some(ring) = self.persistent {
            if let Err(e) = ring.link_key(key) {
                let _ = key.invalidate();
                return Err(refused(e));
            }
        }
        Ok(())
    }

    /// Reads a key written by [`Self::write_owner_only`] (or any other).
    pub(crate) fn read_entry(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        self.read(name, Loose::Refuse)
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
            let ours = key.metadata().map(|m| m.get_uid()) == Ok(crate::sys::uid());
            if !ours {
                // Not ours to invalidate: take it out of our keyrings.
                let mut unlinked = false;
                for ring in std::iter::once(self.session).chain(self.persistent) {
                    unlinked |= ring.unlink_key(key).is_ok();
                }
                existed |= unlinked;
                if !unlinked {
                    break;
                }
                continue;
            }
            // Revoking gives the payload's quota back at once (an invalidated
            // key's comes back only when the kernel collects it); unlinking
            // lets the kernel collect the dead key now.
            match key.revoke() {
                Ok(()) => {
                    existed = true;
                    for ring in std::iter::once(self.session).chain(self.persistent) {
                        let _ = ring.unlink_key(key);
                    }
                }
                Err(e) if is_absent(e) => {}
                Err(_) => match key.invalidate() {
                    Ok(()) => existed = true,
                    Err(e) if is_absent(e) => {}
                    Err(e) => return Err(refused(e)),
                },
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

    /// Unlinks this UID's expired crossrole keys from our keyrings so the
    /// kernel frees their quota now rather than `gc_delay` seconds later.
    /// An expired key cannot be described, so /proc/keys names them.
    /// Returns how many were unlinked.
    pub fn reclaim_expired(&self) -> usize {
        let Ok(table) = std::fs::read_to_string("/proc/keys") else {
            return 0;
        };
        let mut n = 0;
        for id in expired_crossrole_keys(&table, crate::sys::uid()) {
            let key = Key::from_id(KeySerialId::new(id));
            for ring in std::iter::once(self.session).chain(self.persistent) {
                if ring.unlink_key(key).is_ok() {
                    n += 1;
                }
            }
        }
        n
    }
}

/// What [`KeyutilsStore::read`] does with a key of ours whose permissions
/// are looser than [`OWNER_ONLY`].
#[derive(Clone, Copy)]
enum Loose {
    /// A cached session: another UID may have rewritten it; drop it.
    Refuse,
    /// The long-term key, perhaps the only copy: tighten and use it.
    Tighten,
}

/// The ids of expired `user` keys named `crossrole:…` owned by `uid`, from
/// the text of /proc/keys (`id flags usage timeout perm uid gid type desc: …`).
fn expired_crossrole_keys(table: &str, uid: u32) -> Vec<i32> {
    table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let ok = f.len() >= 9
                && f[3] == "expd"
                && f[5].parse::<u32>() == Ok(uid)
                && f[7] == "user"
                && f[8].starts_with(DESCRIPTION_PREFIX);
            ok.then(|| i32::from_str_radix(f[0], 16).ok()).flatten()
        })
        .collect()
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
    match e {
        KeyError::QuotaExceeded => Error::QuotaFull(
            "the per-user kernel key quota is full (see /proc/sys/kernel/keys/maxkeys and \
             maxbytes; `crossrole clear` frees cached sessions)"
                .to_string(),
        ),
        other => Error::Refused {
            backend: BACKEND,
            detail: format!("{other:?}"),
        },
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
        self.read(name, Loose::Tighten)
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
        self.read(name, Loose::Refuse)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_only_gives_nothing_to_possessors_group_or_others() {
        assert_eq!(OWNER_ONLY >> 24, 0, "possessor");
        assert_eq!(OWNER_ONLY & 0xffff, 0, "group and other");
        assert_eq!(
            (OWNER_ONLY >> 16) & 0x3f,
            0x3f,
            "the owner keeps every right"
        );
    }

    #[test]
    fn expired_keys_are_found_in_proc_keys() {
        let table = "\
15903cfc I--Q---     1 expd 3f010000     0     0 user      crossrole:session:blue:ab: 812
15903cfd I--Q---     1 expd 3f010000     0     0 user      other:thing: 1
15903cfe I--Q---     1 perm 003f0000     0     0 user      crossrole:key:green: 40
15903cff I--Q---     1 expd 3f010000  1000  1000 user      crossrole:session:red:cd: 812
1c3ffd96 I--Q---    24 expd 3f130000     0     0 keyring   crossrole:ring: 2
";
        assert_eq!(expired_crossrole_keys(table, 0), vec![0x15903cfc]);
        assert_eq!(expired_crossrole_keys(table, 1000), vec![0x15903cff]);
        assert!(expired_crossrole_keys("", 0).is_empty());
    }
}
