//! Long-term keys in the freedesktop Secret Service (GNOME Keyring, KeePassXC,
//! KWallet's bridge), through keyring-core and the pure-Rust zbus store: no
//! libdbus, no libsecret. Plain reads and writes go first through our own
//! lean client (`secret_service_direct`); everything it does not serve
//! (prompts, duplicates, errors) goes through the store.
//!
//! Items carry the attributes `service=crossrole` and `username=<name>` and
//! the label `crossrole: <name>` (what Seahorse shows). Secrets travel over
//! D-Bus encrypted (the store negotiates a Diffie-Hellman session).
//!
//! The bus is found through the process environment (see the module docs of
//! `secrets`): `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`. The
//! connection is made on first use and shared by the whole process. Opening
//! is bounded by [`OPEN_TIMEOUT`]; each later call by [`CALL_TIMEOUT`], which
//! leaves a person time to answer an unlock prompt.
//!
//! Cost: the zbus blocking API drives a process-wide multi-threaded tokio
//! runtime created on first use (zbus keeps it in a `static`), plus the
//! D-Bus connection and the DH session negotiation: one-off per process.
//! A warm `credential-process` with the Secret Service as the only store
//! measured 13.8 ms through the store alone and 9.9 ms with the direct
//! client (`bench/run.sh`, case 1b, 2026-11-29).

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::api::CredentialStore;

use super::core_store::{CoreStore, Flavor};
use super::secret_service_direct::CollectionState;
use super::{Backend, Error, Readiness};
use crate::env::Env;

/// How long connecting to the bus and opening a Secret Service session may take.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one later call may take (it may be waiting on an unlock prompt).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

const KEYUTILS_HINT: &str = "or, on a machine without one (SSH host, WSL, container), set \
     CROSSROLE_BACKEND=file (an encrypted file, unlocked with a passphrase) or CROSSROLE_BACKEND=pass \
     (the password-store) to keep keys across reboots, or CROSSROLE_BACKEND=keyutils for the kernel \
     keyring (lost at reboot)";

static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();

static FLAVOR: Flavor = Flavor {
    backend: Backend::SecretService,
    open: open_store,
    open_error: describe_open_error,
    cell: &STORE,
    open_timeout: Some(OPEN_TIMEOUT),
    call_timeout: Some(CALL_TIMEOUT),
    label: true,
    search: Some(&[("service", super::SERVICE)]),
    locked_hint: "If your login keyring is locked, unlock it with your desktop's keyring tool \
                  (e.g. Seahorse \"Passwords and Keys\") or log in to a desktop session, and \
                  retry",
    unreachable_hint: "Check that the Secret Service on the D-Bus session bus \
                       (org.freedesktop.secrets: gnome-keyring or KeePassXC) is running and \
                       responsive, or set CROSSROLE_BACKEND=file or CROSSROLE_BACKEND=pass \
                       (durable, no desktop needed) or CROSSROLE_BACKEND=keyutils (the kernel \
                       keyring, lost at reboot)",
    direct_get: Some(super::secret_service_direct::lookup),
    direct_set: Some(super::secret_service_direct::store),
    probe: Some(probe),
};

/// A Secret Service that answers but has no default keyring: a bus with
/// gnome-keyring started outside a desktop login, say.
const NO_DEFAULT: &str = "The Secret Service has no default keyring (collection), so crossrole \
     has nowhere to keep the key. Log in to a desktop session (it creates and unlocks the login \
     keyring), or create a default keyring with your desktop's keyring tool (e.g. Seahorse \
     \"Passwords and Keys\"); or set CROSSROLE_BACKEND=keyutils to keep keys in the kernel keyring \
     (lost at reboot)";

/// A default keyring that is locked, where no unlock prompt can be shown
/// (or it was dismissed).
const LOCKED: &str = "The Secret Service's default keyring is locked and was not unlocked. \
     Unlock it with your desktop's keyring tool (e.g. Seahorse \"Passwords and Keys\") or log in \
     to a desktop session, which unlocks it, then retry; or set CROSSROLE_BACKEND=keyutils to keep \
     keys in the kernel keyring (lost at reboot)";

const NO_SERVICE: &str = "No Secret Service answers on the D-Bus session bus \
     (org.freedesktop.secrets). Log in to a desktop session, or set CROSSROLE_BACKEND=keyutils to \
     keep keys in the kernel keyring (lost at reboot)";

fn probe() -> Option<(Readiness, &'static str)> {
    match super::secret_service_direct::default_collection() {
        CollectionState::Unlocked => None,
        CollectionState::Locked => Some((Readiness::Locked, LOCKED)),
        CollectionState::NoDefault => Some((Readiness::Unavailable, NO_DEFAULT)),
        CollectionState::NoService => Some((Readiness::Unavailable, NO_SERVICE)),
    }
}

fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

/// Opens the Secret Service store (lazily: nothing is connected here).
///
/// Fails at once only when no session bus address can be found at all in
/// `env`: no `DBUS_SESSION_BUS_ADDRESS` and no `$XDG_RUNTIME_DIR/bus` (or
/// `/run/user/<uid>/bus`) socket.
pub(crate) fn open(env: &Env) -> Result<CoreStore, Error> {
    if env.get("DBUS_SESSION_BUS_ADDRESS").is_none() {
        let runtime = env
            .get("XDG_RUNTIME_DIR")
            .map(str::to_string)
            .unwrap_or_else(|| format!("/run/user/{}", crate::sys::uid()));
        let socket = Path::new(&runtime).join("bus");
        if !socket.exists() {
            return Err(Error::Unavailable(format!(
                "No D-Bus session bus was found (DBUS_SESSION_BUS_ADDRESS is unset and {} does not exist), \
                 so the Secret Service (org.freedesktop.secrets) cannot be reached. Run crossrole in your \
                 desktop session (where DBUS_SESSION_BUS_ADDRESS points at the desktop's bus), \
                 {KEYUTILS_HINT}.",
                socket.display()
            )));
        }
    }
    Ok(CoreStore::new(&FLAVOR))
}

/// The user-facing message for a failure to connect. The underlying errors
/// are typed in crates we do not depend on directly, so they are classified
/// by their text (which never holds a secret: no secret has been sent yet).
fn describe_open_error(err: &keyring_core::Error) -> String {
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = s.source();
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("serviceunknown")
        || lower.contains("namehasnoowner")
        || lower.contains("not provided by any .service files")
    {
        format!(
            "No Secret Service is running on the D-Bus session bus (org.freedesktop.secrets): \
             neither gnome-keyring nor KeePassXC answers on this bus. Run crossrole in your \
             desktop session, whose keyring answers on the desktop's bus, {KEYUTILS_HINT}. ({detail})"
        )
    } else if lower.contains("no secret service provider or dbus session found")
        || lower.contains("connection refused")
        || lower.contains("no such file or directory")
        || lower.contains("address")
    {
        format!(
            "No D-Bus session bus is reachable, so no Secret Service (org.freedesktop.secrets) \
             can be used. Run crossrole in your desktop session, with KeePassXC's \
             Secret Service enabled if you use it, {KEYUTILS_HINT}. ({detail})"
        )
    } else {
        format!(
            "Could not open a session with the Secret Service (org.freedesktop.secrets) on the \
             D-Bus session bus. Check that gnome-keyring or KeePassXC's Secret Service is running \
             and unlocked, {KEYUTILS_HINT}. ({detail})"
        )
    }
}
