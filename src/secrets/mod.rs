//! Secret storage: the long-term key store (OS keyring) and the role-session
//! cache store (Linux kernel keyring where usable, else the OS keyring).
//!
//! CONTRACT (the rest of crossrole relies on exactly this API):
//! - `Backend::select(env)` honours `CROSSROLE_BACKEND` (`secret-service`,
//!   `keyutils`, `keychain`, `windows`, `file`, `pass`); otherwise the platform default
//!   (Linux: Secret Service when its D-Bus name answers, else keyutils is NOT
//!   silently used for long-term keys: it is an error naming what is missing).
//!   Never a plaintext fallback, never a mock store.
//! - Names are plain ASCII like `key:green` or `session:<hex>`; the store
//!   namespaces them under the service "crossrole".
//! - `get` returns `Ok(None)` when there is no entry; errors are for a store
//!   that cannot be reached, is locked, or refused.
//!
//! Environment knobs read here (always from the injected [`Env`]):
//! - `CROSSROLE_BACKEND`: forces the long-term backend (see [`Backend::select`]).
//! - `CROSSROLE_SESSION_CACHE`: `auto` (default: the kernel keyring on Linux
//!   where usable, else the long-term backend), `keyring` (always the
//!   long-term backend, e.g. to measure the Secret Service path) or
//!   `keyutils` (the kernel keyring or an error, Linux only).
//! - `CROSSROLE_KEYUTILS_KEYRING` (Linux): `persistent` (default: keys are
//!   added to the session keyring and linked into the user's persistent
//!   keyring, so they survive logout for the persistent keyring's lifetime)
//!   or `session` (the session keyring only; tests use it so that they never
//!   touch the user's persistent keyring).
//! - `CROSSROLE_DEBUG_DIRECT` (read in `lib.rs`): prints, at the end of the
//!   command, how often the Secret Service's direct client fell back to the
//!   keyring-core store ([`direct_fallbacks`]); tests hold it to 0.
//! - `CROSSROLE_FILE_PASSPHRASE`, `CROSSROLE_FILE_PASSPHRASE_COMMAND`,
//!   `CROSSROLE_FILE_UNLOCK_SECONDS` (the `file` backend, see [`mod@file`]);
//!   `PASSWORD_STORE_DIR`, `GNUPGHOME` and the rest are passed to `pass`.
//!
//! One exception to "env only from [`Env`]": the Secret Service clients (zbus)
//! find the session bus through the *process* environment
//! (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`), because the
//! keyring-core store cannot be handed a connection, and the direct client
//! (`secret_service_direct`) finds it the same way so that both always agree.
//! In the binary both are the same snapshot; tests that need a private bus
//! run in a child process.
//!
//! Secrets never appear in an error message or in `Debug` output; values
//! read are returned as [`SecretBytes`] (zeroized on drop).

use crate::env::Env;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
mod core_store;
#[cfg(target_os = "linux")]
pub mod file;
#[cfg(target_os = "linux")]
mod file_format;
#[cfg(target_os = "linux")]
pub mod keyutils;
#[cfg(test)]
pub mod memory;
#[cfg(target_os = "linux")]
mod pass;
#[cfg(target_os = "linux")]
mod passphrase;
#[cfg(any(target_os = "macos", target_os = "windows"))]
mod platform;
#[cfg(target_os = "linux")]
mod secret_service;
#[cfg(target_os = "linux")]
mod secret_service_direct;
mod sessions;
#[cfg(target_os = "linux")]
mod transfer_crypto;

pub use sessions::StoreSessions;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
pub use core_store::direct_fallbacks;
/// The Secret Service's direct client alone (no fallback), so that tests can
/// tell it serves the hot path rather than always deferring to the store.
#[cfg(target_os = "linux")]
pub use core_store::Direct;
#[cfg(target_os = "linux")]
pub use secret_service_direct::{
    lookup as secret_service_direct_lookup, store as secret_service_direct_store,
};

/// Wipes the Secret Service transfer key this command holds and closes its
/// session (Linux); nothing to do elsewhere. Run once the command is done.
pub fn close_transfer_session() {
    #[cfg(target_os = "linux")]
    secret_service_direct::close();
}

pub type SecretBytes = zeroize::Zeroizing<Vec<u8>>;

/// The service name every entry is filed under.
pub const SERVICE: &str = "crossrole";

/// Prefix of the names of cached role sessions.
pub const SESSION_PREFIX: &str = "session:";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Unavailable(String),
    #[error("the {backend} keyring refused the request: {detail}")]
    Refused {
        backend: &'static str,
        detail: String,
    },
    /// The kernel key quota (EDQUOT): callers drop stale entries or fall back.
    #[error("the kernel keyring refused the request: {0}")]
    QuotaFull(String),
    /// The store is locked and unlocking it was refused or failed.
    #[error("{0}")]
    Locked(String),
    /// A passphrase is needed and nothing here can ask a person for it.
    #[error("{0}")]
    NeedsPerson(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    Keyutils,
    Keychain,
    Windows,
    /// An age-encrypted file with a passphrase (headless machines).
    File,
    /// The password-store, through the `pass` command.
    Pass,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::Keychain => "keychain",
            Backend::Windows => "windows",
            Backend::File => "file",
            Backend::Pass => "pass",
        }
    }

    /// A short human name, for `list` and `doctor`.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::SecretService => "Secret Service",
            Backend::Keyutils => "kernel keyring",
            Backend::Keychain => "macOS Keychain",
            Backend::Windows => "Windows Credential Manager",
            Backend::File => "encrypted file",
            Backend::Pass => "password-store (pass)",
        }
    }

    /// The backends this build can use, default first.
    pub fn available() -> &'static [Backend] {
        #[cfg(target_os = "linux")]
        return &[
            Backend::SecretService,
            Backend::Keyutils,
            Backend::File,
            Backend::Pass,
        ];
        #[cfg(target_os = "macos")]
        return &[Backend::Keychain];
        #[cfg(target_os = "windows")]
        return &[Backend::Windows];
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        return &[];
    }

    /// The backend for long-term keys: `CROSSROLE_BACKEND` if set (an
    /// unknown value, or one for another OS, is an error listing the valid
    /// values here), else the platform default. Does not connect to anything.
    pub fn select(env: &Env) -> Result<Backend, Error> {
        let available = Backend::available();
        let Some(raw) = env.get("CROSSROLE_BACKEND") else {
            return available.first().copied().ok_or_else(|| {
                Error::Unavailable(
                    "crossrole has no keyring backend for this operating system".to_string(),
                )
            });
        };
        let wanted = raw.trim().to_ascii_lowercase().replace('_', "-");
        let wanted = match wanted.as_str() {
            "secretservice" | "libsecret" | "gnome-keyring" => "secret-service",
            "kernel" | "keyctl" => "keyutils",
            "macos" | "apple" => "keychain",
            "wincred" | "credential-manager" => "windows",
            "age" | "encrypted-file" => "file",
            "password-store" => "pass",
            other => other,
        };
        if let Some(b) = available.iter().find(|b| b.name() == wanted) {
            return Ok(*b);
        }
        let valid: Vec<&str> = available.iter().map(|b| b.name()).collect();
        let valid = if valid.is_empty() {
            "none on this operating system".to_string()
        } else {
            valid.join(", ")
        };
        Err(Error::Unavailable(format!(
            "CROSSROLE_BACKEND={raw:?} is not a keyring backend crossrole can use on {}; valid values here: {valid}",
            std::env::consts::OS
        )))
    }
}

/// Whether a store can be read now, as `list` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Locked,
    Unavailable,
}

impl Readiness {
    pub fn name(self) -> &'static str {
        match self {
            Readiness::Ready => "ok",
            Readiness::Locked => "locked",
            Readiness::Unavailable => "unavailable",
        }
    }
}

/// Where long-term keys (and, without a kernel keyring, sessions) live.
pub trait SecretStore {
    fn backend(&self) -> Backend;
    /// Asks the store (a D-Bus round trip or two for the Secret Service);
    /// stores with nothing to lock are always ready.
    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error>;
    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error>;
    /// Returns whether an entry existed.
    fn delete(&self, name: &str) -> Result<bool, Error>;
    /// Names of this store's crossrole entries that start with `prefix`.
    /// Stores that cannot enumerate their entries refuse.
    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let _ = prefix;
        Err(Error::Refused {
            backend: self.backend().name(),
            detail: "this keyring cannot list its entries".to_string(),
        })
    }
    /// A short note on whether the store is locked, for `doctor` and
    /// `list`; `None` where that is not crossrole's to tell.
    fn state(&self) -> Option<String> {
        None
    }
}

/// Where role sessions are cached: entries expire by themselves where the
/// store supports it (kernel keyring timeout); callers still check expiry.
pub trait SessionStore {
    fn describe(&self) -> &'static str;
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error>;
    fn put(&self, name: &str, data: &[u8], expires_at_unix: i64) -> Result<(), Error>;
    fn delete(&self, name: &str) -> Result<bool, Error>;
    /// Names of all crossrole session entries (for `list` and `clear`).
    fn names(&self) -> Result<Vec<String>, Error>;
}

/// Opens the long-term store chosen by `CROSSROLE_BACKEND` or the platform default.
///
/// Cheap: the Secret Service is connected on first use (once per process),
/// so a missing bus or daemon shows up as `Unavailable` from `get`/`set`
/// unless no session bus address can be found at all.
pub fn open_secret_store(env: &Env) -> Result<Box<dyn SecretStore>, Error> {
    open_backend(Backend::select(env)?, env)
}

fn open_backend(backend: Backend, env: &Env) -> Result<Box<dyn SecretStore>, Error> {
    let _ = env;
    match backend {
        #[cfg(target_os = "linux")]
        Backend::SecretService => Ok(Box::new(secret_service::open(env)?)),
        #[cfg(target_os = "linux")]
        Backend::Keyutils => Ok(Box::new(keyutils::KeyutilsStore::open_long_term(env)?)),
        #[cfg(target_os = "linux")]
        Backend::File => Ok(Box::new(file::FileStore::open(env)?)),
        #[cfg(target_os = "linux")]
        Backend::Pass => Ok(Box::new(pass::PassStore::open(env)?)),
        #[cfg(target_os = "macos")]
        Backend::Keychain => Ok(Box::new(platform::open(backend))),
        #[cfg(target_os = "windows")]
        Backend::Windows => Ok(Box::new(platform::open(backend))),
        #[allow(unreachable_patterns)]
        other => Err(Error::Unavailable(format!(
            "the {} keyring is not available on {}",
            other.name(),
            std::env::consts::OS
        ))),
    }
}

/// Opens the session cache: the kernel keyring on Linux where usable, else
/// the long-term store's backend. See `CROSSROLE_SESSION_CACHE` above.
///
/// On the kernel path this costs two keyctl calls: no D-Bus, no runtime.
pub fn open_session_store(env: &Env) -> Result<Box<dyn SessionStore>, Error> {
    let mode = env
        .get("CROSSROLE_SESSION_CACHE")
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "auto".to_string());
    match mode.as_str() {
        "auto" | "default" => {
            #[cfg(target_os = "linux")]
            if let Some(store) = keyutils::KeyutilsStore::open_sessions_if_usable(env)? {
                return Ok(Box::new(store));
            }
            store_sessions(env)
        }
        "keyring" | "long-term" | "secret-store" => store_sessions(env),
        #[cfg(target_os = "linux")]
        "keyutils" | "kernel" => Ok(Box::new(keyutils::KeyutilsStore::open_sessions(env)?)),
        _ => {
            let valid = if cfg!(target_os = "linux") {
                "auto, keyring, keyutils"
            } else {
                "auto, keyring"
            };
            Err(Error::Unavailable(format!(
                "CROSSROLE_SESSION_CACHE={mode:?} is not understood; valid values here: {valid}"
            )))
        }
    }
}

/// Sessions kept in the long-term backend (no kernel keyring).
fn store_sessions(env: &Env) -> Result<Box<dyn SessionStore>, Error> {
    let backend = Backend::select(env)?;
    #[cfg(target_os = "linux")]
    if backend == Backend::Keyutils {
        // Long-term keys are in the kernel keyring already: keep the kernel's
        // expiry for sessions too.
        return Ok(Box::new(keyutils::KeyutilsStore::open_sessions(env)?));
    }
    Ok(Box::new(StoreSessions::new(open_backend(backend, env)?)))
}

/// Entry names are plain printable ASCII without `;` (the kernel keyring
/// uses it as a field separator), at most 200 characters.
pub(crate) fn check_name(backend: Backend, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b';');
    if ok {
        Ok(())
    } else {
        Err(Error::Refused {
            backend: backend.name(),
            detail: format!(
                "invalid entry name {name:?} (printable ASCII, no ';', at most 200 characters)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bogus_backend_lists_valid_values() {
        let env = Env::from_pairs([("CROSSROLE_BACKEND", "bogus")]);
        let err = Backend::select(&env).unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
        for b in Backend::available() {
            assert!(err.contains(b.name()), "{err}");
        }
    }

    #[test]
    fn default_backend_is_first_available() {
        let env = Env::from_pairs(Vec::<(String, String)>::new());
        assert_eq!(
            Backend::select(&env).ok(),
            Backend::available().first().copied()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn other_os_backend_is_refused_on_linux() {
        let env = Env::from_pairs([("CROSSROLE_BACKEND", "keychain")]);
        let err = Backend::select(&env).unwrap_err().to_string();
        assert!(err.contains("secret-service, keyutils"), "{err}");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name(Backend::Keyutils, "key:green").is_ok());
        assert!(check_name(Backend::Keyutils, "session:00ff").is_ok());
        assert!(check_name(Backend::Keyutils, "").is_err());
        assert!(check_name(Backend::Keyutils, "a;b").is_err());
        assert!(check_name(Backend::Keyutils, "a b").is_err());
    }
}
