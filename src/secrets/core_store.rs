//! A [`SecretStore`] over a keyring-core credential store (Secret Service,
//! macOS Keychain, Windows Credential Manager).
//!
//! The underlying store is opened lazily, on the first `get`/`set`/`delete`/
//! `list`, and only once per process (a `static` per backend), so opening a
//! `CoreStore` costs nothing. Where the flavour asks for it, each call runs on
//! a short-lived worker thread bounded by a timeout: a daemon that never
//! answers makes the call fail instead of hanging the AWS CLI. The worker
//! thread also keeps zbus's own blocking runtime away from any tokio runtime
//! the caller may be inside.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::api::CredentialStore;
use zeroize::Zeroize;

use super::{check_name, Backend, Error, Readiness, SecretBytes, SecretStore, SERVICE};

type CoreResult<T> = keyring_core::Result<T>;

/// How one keyring-core backend is opened and how its failures read.
pub(crate) struct Flavor {
    pub backend: Backend,
    /// Opens the native store (may connect to a daemon).
    pub open: fn() -> CoreResult<Arc<CredentialStore>>,
    /// Turns an `open` failure into the `Unavailable` message shown to the user.
    pub open_error: fn(&keyring_core::Error) -> String,
    /// The process-wide store, opened at most once.
    pub cell: &'static OnceLock<Result<Arc<CredentialStore>, String>>,
    /// Bounds on opening and on each later call; `None` runs calls inline.
    pub open_timeout: Option<Duration>,
    pub call_timeout: Option<Duration>,
    /// Whether the store takes a `label` modifier (shown in Seahorse).
    pub label: bool,
    /// The search spec that finds all crossrole entries, if the store can search.
    pub search: Option<&'static [(&'static str, &'static str)]>,
    /// What to tell the user when the store is locked or access was denied.
    pub locked_hint: &'static str,
    /// What to tell the user when opening the store timed out.
    pub unreachable_hint: &'static str,
    /// A faster client tried before the store on `get` and `set` (bounded by
    /// `open_timeout`); `direct_set` takes the name, secret and label and
    /// says whether it stored the secret.
    pub direct_get: Option<fn(&str) -> Direct>,
    pub direct_set: Option<DirectSet>,
    /// Asks the store what state it is in: `None` when it can serve, else
    /// the state and a message naming it with its fix. Used to word a
    /// refusal and for `list`.
    pub probe: Option<Probe>,
}

/// `None` when the store can serve; else its state and why, with the fix.
pub(crate) type Probe = fn() -> Option<(Readiness, &'static str)>;

/// Stores (name, secret, label); `false` if it did not.
pub(crate) type DirectSet = fn(&str, &[u8], &str) -> bool;

/// How many `get`/`set` calls in this process the direct client handed to
/// the store. Against a working, unlocked keyring it must stay 0: a
/// fallback costs the store's slower path (see `secret_service_direct`).
static DIRECT_FALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// See `DIRECT_FALLBACKS`; shown with `CROSSROLE_DEBUG_DIRECT=1`.
pub fn direct_fallbacks() -> usize {
    DIRECT_FALLBACKS.load(Ordering::Relaxed)
}

/// What a direct reader found. Only the Secret Service (Linux) has a direct
/// client; the other platforms share the `Flavor` shape with `direct_get: None`.
#[cfg_attr(
    not(target_os = "linux"),
    expect(
        dead_code,
        reason = "only the Linux Secret Service has a direct client"
    )
)]
pub enum Direct {
    Found(SecretBytes),
    Missing,
    /// Not a case it serves (or it failed): ask the store.
    Fallback,
}

pub(crate) struct CoreStore {
    flavor: &'static Flavor,
}

impl std::fmt::Debug for CoreStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreStore")
            .field("backend", &self.flavor.backend)
            .finish()
    }
}

impl CoreStore {
    pub(crate) fn new(flavor: &'static Flavor) -> Self {
        CoreStore { flavor }
    }

    /// The process-wide store, opening it (bounded by `open_timeout`) if needed.
    fn store(&self) -> Result<Arc<CredentialStore>, Error> {
        let flavor = self.flavor;
        if let Some(done) = flavor.cell.get() {
            return done.clone().map_err(Error::Unavailable);
        }
        let open = move || {
            flavor
                .cell
                .get_or_init(|| (flavor.open)().map_err(|e| (flavor.open_error)(&e)))
                .clone()
                .map_err(Error::Unavailable)
        };
        match flavor.open_timeout {
            None => open(),
            Some(limit) => bounded(limit, open, || unreachable(flavor, limit))?,
        }
    }

    /// Runs one of the flavour's direct calls, bounded by `open_timeout`
    /// (it may be the one that connects).
    fn direct<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let flavor = self.flavor;
        match flavor.open_timeout {
            None => Ok(work()),
            Some(limit) => bounded(limit, work, || unreachable(flavor, limit)),
        }
    }

    /// Runs `op` against the store, bounded by `call_timeout`.
    fn call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&CredentialStore) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.store()?;
        let flavor = self.flavor;
        let work = move || op(&*store);
        match flavor.call_timeout {
            None => work(),
            Some(limit) => bounded(limit, work, || {
                Error::Unavailable(format!(
                    "The {} did not answer within {} s (is an unlock prompt waiting?). {}",
                    flavor.backend.describe(),
                    limit.as_secs(),
                    flavor.locked_hint
                ))
            })?,
        }
    }

    fn entry(
        flavor: &'static Flavor,
        store: &CredentialStore,
        name: &str,
    ) -> Result<keyring_core::Entry, Error> {
        let label = label(name);
        let mut mods = HashMap::new();
        if flavor.label {
            mods.insert("label", label.as_str());
        }
        let mods = (!mods.is_empty()).then_some(&mods);
        store
            .build(SERVICE, name, mods)
            .map_err(|e| map_error(flavor, name, e))
    }
}

/// What Seahorse shows for an entry.
fn label(name: &str) -> String {
    format!("{SERVICE}: {name}")
}

fn unreachable(flavor: &Flavor, limit: Duration) -> Error {
    Error::Unavailable(format!(
        "The {} did not answer within {} s. {}",
        flavor.backend.describe(),
        limit.as_secs(),
        flavor.unreachable_hint
    ))
}

/// Runs `work` on a worker thread and waits at most `limit` for it. On
/// timeout the thread is left behind (it ends with the process).
fn bounded<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
    on_timeout: impl FnOnce() -> Error,
) -> Result<T, Error> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("crossrole-keyring".to_string())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| Error::Unavailable(format!("cannot start a keyring thread: {e}")))?;
    match rx.recv_timeout(limit) {
        Ok(v) => Ok(v),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(on_timeout()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Unavailable(
            "the keyring thread stopped unexpectedly".to_string(),
        )),
    }
}

/// Maps a keyring-core error; never formats secret bytes (they are zeroized).
pub(crate) fn map_error(flavor: &Flavor, name: &str, err: keyring_core::Error) -> Error {
    use keyring_core::Error as E;
    let backend = flavor.backend.name();
    match err {
        E::NoStorageAccess(inner) => match flavor.probe.and_then(|probe| probe()) {
            Some((Readiness::Locked, why)) => {
                Error::Locked(format!("{why} ({SERVICE}/{name}: {inner})"))
            }
            Some((_, why)) => Error::Unavailable(format!("{why} ({SERVICE}/{name}: {inner})")),
            None => Error::Unavailable(format!(
                "The {} is locked or refused access to {SERVICE}/{name} ({inner}). {}",
                flavor.backend.describe(),
                flavor.locked_hint
            )),
        },
        E::PlatformFailure(inner) => Error::Refused {
            backend,
            detail: format!("{SERVICE}/{name}: {inner}"),
        },
        E::NoEntry => Error::Refused {
            backend,
            detail: format!("{SERVICE}/{name}: no such entry"),
        },
        E::Ambiguous(entries) => Error::Refused {
            backend,
            detail: format!(
                "{} entries match {SERVICE}/{name}; delete the duplicates (e.g. in Seahorse) and retry",
                entries.len()
            ),
        },
        E::BadEncoding(mut bytes) => {
            bytes.zeroize();
            Error::Refused {
                backend,
                detail: format!("{SERVICE}/{name}: the stored value is malformed"),
            }
        }
        E::BadDataFormat(mut bytes, _) => {
            bytes.zeroize();
            Error::Refused {
                backend,
                detail: format!("{SERVICE}/{name}: the stored value is malformed"),
            }
        }
        // These variants carry names and limits only, never secret data.
        other @ (E::BadStoreFormat(_)
        | E::TooLong(..)
        | E::Invalid(..)
        | E::NoDefaultStore
        | E::NotSupportedByStore(_)) => Error::Refused {
            backend,
            detail: format!("{SERVICE}/{name}: {other}"),
        },
        _ => Error::Refused {
            backend,
            detail: format!("{SERVICE}/{name}: unexpected keyring error"),
        },
    }
}

impl SecretStore for CoreStore {
    fn backend(&self) -> Backend {
        self.flavor.backend
    }

    fn readiness(&self) -> Readiness {
        match self.flavor.probe {
            Some(probe) => self
                .direct(probe)
                .map(|state| state.map_or(Readiness::Ready, |(r, _)| r))
                .unwrap_or(Readiness::Unavailable),
            None => Readiness::Ready,
        }
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        check_name(self.flavor.backend, name)?;
        if let Some(read) = self.flavor.direct_get {
            let owned = name.to_string();
            match self.direct(move || read(&owned))? {
                Direct::Found(bytes) => return Ok(Some(bytes)),
                Direct::Missing => return Ok(None),
                Direct::Fallback => {
                    DIRECT_FALLBACKS.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let flavor = self.flavor;
        let name = name.to_string();
        self.call(move |store| {
            let entry = Self::entry(flavor, store, &name)?;
            match entry.get_secret() {
                Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(map_error(flavor, &name, e)),
            }
        })
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error> {
        check_name(self.flavor.backend, name)?;
        let flavor = self.flavor;
        let name = name.to_string();
        // The worker thread needs its own copy; it is zeroized when dropped.
        let secret = SecretBytes::new(secret.to_vec());
        if let Some(write) = flavor.direct_set {
            let (name, secret) = (name.clone(), secret.clone());
            if self.direct(move || write(&name, &secret, &label(&name)))? {
                return Ok(());
            }
            DIRECT_FALLBACKS.fetch_add(1, Ordering::Relaxed);
        }
        self.call(move |store| {
            let entry = Self::entry(flavor, store, &name)?;
            entry
                .set_secret(&secret)
                .map_err(|e| map_error(flavor, &name, e))
        })
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        check_name(self.flavor.backend, name)?;
        let flavor = self.flavor;
        let name = name.to_string();
        self.call(move |store| {
            let entry = Self::entry(flavor, store, &name)?;
            match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(map_error(flavor, &name, e)),
            }
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let flavor = self.flavor;
        let Some(spec) = flavor.search else {
            return Err(Error::Refused {
                backend: flavor.backend.name(),
                detail: "this keyring cannot list its entries".to_string(),
            });
        };
        let prefix = prefix.to_string();
        self.call(move |store| {
            let spec: HashMap<&str, &str> = spec.iter().copied().collect();
            let found = store.search(&spec).map_err(|e| map_error(flavor, "*", e))?;
            let mut names: Vec<String> = found
                .iter()
                .filter_map(|entry| entry.get_specifiers())
                .filter(|(service, user)| service == SERVICE && user.starts_with(&prefix))
                .map(|(_, user)| user)
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        })
    }
}
