//! An in-memory store for unit tests: one map that serves as both the
//! long-term store and the session store, shared by its clones (so a test
//! can play several processes on one keyring).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Backend, Error, SecretBytes, SecretStore, SessionStore, SESSION_PREFIX};

#[derive(Clone, Default)]
pub struct MemStore(Rc<RefCell<BTreeMap<String, Vec<u8>>>>);

impl SecretStore for MemStore {
    fn backend(&self) -> Backend {
        Backend::Keyutils
    }
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        Ok(self.0.borrow().get(name).cloned().map(SecretBytes::new))
    }
    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error> {
        self.0.borrow_mut().insert(name.into(), secret.to_vec());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<bool, Error> {
        Ok(self.0.borrow_mut().remove(name).is_some())
    }
}

impl SessionStore for MemStore {
    fn describe(&self) -> &'static str {
        "memory"
    }
    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        SecretStore::get(self, name)
    }
    fn put(&self, name: &str, data: &[u8], _expires_at_unix: i64) -> Result<(), Error> {
        self.set(name, data)
    }
    fn delete(&self, name: &str) -> Result<bool, Error> {
        SecretStore::delete(self, name)
    }
    /// Session entries only, as the real stores list them.
    fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .0
            .borrow()
            .keys()
            .filter(|k| k.starts_with(SESSION_PREFIX))
            .cloned()
            .collect())
    }
}
