//! macOS Keychain and Windows Credential Manager, through keyring-core and
//! the native stores. Entries: service `crossrole`, account/user = the name.
//! Calls run inline (no timeout): the OS may show an access prompt that a
//! person has to answer.

use std::sync::{Arc, OnceLock};

use keyring_core::api::CredentialStore;

use super::core_store::{CoreStore, Flavor};
use super::Backend;

static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();

fn open_error(err: &keyring_core::Error) -> String {
    format!(
        "cannot open the {}: {err}",
        Backend::available()[0].describe()
    )
}

#[cfg(target_os = "macos")]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
static FLAVOR: Flavor = Flavor {
    backend: Backend::Keychain,
    open: open_store,
    open_error,
    cell: &STORE,
    open_timeout: None,
    call_timeout: None,
    label: false,
    search: Some(&[("service", super::SERVICE)]),
    locked_hint:
        "Unlock your login keychain (Keychain Access) and allow crossrole access, then retry",
    unreachable_hint: "",
    direct_get: None,
    direct_set: None,
    probe: None,
};

#[cfg(target_os = "windows")]
fn open_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

// The default Windows store names a credential `<user>.<service>`, so all of
// crossrole's end in `.crossrole`.
#[cfg(target_os = "windows")]
static FLAVOR: Flavor = Flavor {
    backend: Backend::Windows,
    open: open_store,
    open_error,
    cell: &STORE,
    open_timeout: None,
    call_timeout: None,
    label: false,
    search: Some(&[("pattern", r"\.crossrole$")]),
    locked_hint: "Check that Windows Credential Manager is available to this account",
    unreachable_hint: "",
    direct_get: None,
    direct_set: None,
    probe: None,
};

/// Opens the native store for `backend` (lazily: nothing is opened here).
pub(crate) fn open(backend: Backend) -> CoreStore {
    debug_assert_eq!(backend, FLAVOR.backend);
    CoreStore::new(&FLAVOR)
}
