//! Role sessions kept in a long-term [`SecretStore`], for when there is no
//! usable kernel keyring (macOS, Windows, Linux containers that refuse
//! `keyctl`, or `CROSSROLE_SESSION_CACHE=keyring`).
//!
//! Entries are stored under their own names (`session:<hex>`). The store
//! cannot expire them: callers check the expiry inside the data, and
//! `crossrole clear` removes them. `names()` enumerates them with the store's
//! search (Secret Service attributes, Keychain service, Windows target
//! pattern); no separate index is kept.

use super::{Error, SecretBytes, SecretStore, SessionStore, SESSION_PREFIX};

pub struct StoreSessions(Box<dyn SecretStore>);

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StoreSessions")
            .field(&self.0.backend())
            .finish()
    }
}

impl StoreSessions {
    pub fn new(store: Box<dyn SecretStore>) -> Self {
        StoreSessions(store)
    }

    pub fn inner(&self) -> &dyn SecretStore {
        self.0.as_ref()
    }
}

impl SessionStore for StoreSessions {
    fn describe(&self) -> &'static str {
        self.0.backend().describe()
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        self.0.get(name)
    }

    fn put(&self, name: &str, data: &[u8], _expires_at_unix: i64) -> Result<(), Error> {
        self.0.set(name, data)
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        self.0.delete(name)
    }

    fn names(&self) -> Result<Vec<String>, Error> {
        self.0.list(SESSION_PREFIX)
    }
}
