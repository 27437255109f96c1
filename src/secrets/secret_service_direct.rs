//! The hot path's own Secret Service client: one bus connection and one
//! encrypted session per command, then plain method calls to read an item
//! (`SearchItems`, `GetSecret`) or to write one (`SetSecret`, or
//! `CreateItem` in the default collection). The session's AES key lives
//! only until the command is done: [`close`] (run by `TransferGuard` at the
//! end of every command) wipes it and closes the session on the service's
//! side. One session per command, not per operation: each key exchange
//! costs gnome-keyring about 4 ms, and a warm call makes two reads.
//!
//! Why not the keyring-core store here: a warm `credential-process` with the
//! Secret Service as the only store cost 13.8 ms through it, against a
//! budget of about 11 (`--version` + 10 ms). About 4 ms of that was CPU in
//! the secret-service crate's Diffie-Hellman arithmetic (see
//! `transfer_crypto`), which we cannot swap out inside the store. Secrets
//! still cross the bus encrypted, as libsecret sends them.
//!
//! Only the plain case is served here: exactly one unlocked item, or none at
//! all, and a default collection that takes a new item without a prompt.
//! Anything else (locked items that need an unlock prompt, duplicates, any
//! error) is answered [`Direct::Fallback`], and the caller asks the
//! keyring-core store, which prompts and words the errors.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use zbus::blocking::Connection;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

use super::core_store::Direct;
use super::transfer_crypto::{AesKey, KeyPair, ALGORITHM};
use super::SERVICE;

const BUS_NAME: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const DEFAULT_COLLECTION: &str = "/org/freedesktop/secrets/aliases/default";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const COLLECTION_IFACE: &str = "org.freedesktop.Secret.Collection";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
/// What keyring-core's store files secrets as, so either client reads both.
const CONTENT_TYPE: &str = "application/octet-stream";

/// The `(oayays)` Secret struct: session, IV, encrypted value, content type.
type SecretStruct = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

/// An open encrypted session with the Secret Service, for one command:
/// dropped (its AES key wiped) by [`close`]. No `Debug`.
struct Link {
    conn: &'static Connection,
    session: OwnedObjectPath,
    key: AesKey,
}

/// The bus connection (it holds no secret), made on first use, at most once
/// per process; `None` if that failed.
static CONNECTION: OnceLock<Option<Connection>> = OnceLock::new();

/// Why the direct path gave up; never shown (the fallback words the error).
type Failed = ();

/// The command's encrypted session, opened on first use.
static LINK: Mutex<Option<Link>> = Mutex::new(None);

/// Runs `f` with the command's session, opening it first if need be;
/// `None` if there is no bus or the service refused the session.
fn with_link<R>(f: impl FnOnce(&Link) -> R) -> Option<R> {
    let mut slot = LINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.is_none() {
        let conn = CONNECTION
            .get_or_init(|| Connection::session().ok())
            .as_ref()?;
        *slot = Some(Link::open(conn).ok()?);
    }
    slot.as_ref().map(f)
}

/// Wipes the session's AES key and closes the session; the next read, if
/// any, opens a new one.
pub fn close() {
    let link = LINK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    drop(link);
}

/// Looks `name` up (service `crossrole`, username `name`).
pub fn lookup(name: &str) -> Direct {
    with_link(|link| link.lookup(name).ok())
        .flatten()
        .unwrap_or(Direct::Fallback)
}

/// Stores `secret` under `name`, replacing the one item there is, or
/// creating it (labelled `label`) when there is none. `false`: not done,
/// ask the store.
pub fn store(name: &str, secret: &[u8], label: &str) -> bool {
    with_link(|link| link.store(name, secret, label).is_ok()).unwrap_or(false)
}

impl Drop for Link {
    /// Closes the session on the service's side too, so that its copy of
    /// the key goes as well. Sent without waiting for a reply: the caller
    /// has its answer already.
    fn drop(&mut self) {
        let close = zbus::Message::method_call(self.session.as_str(), "Close")
            .and_then(|m| m.destination(BUS_NAME))
            .and_then(|m| m.interface("org.freedesktop.Secret.Session"))
            .and_then(|m| m.with_flags(zbus::message::Flags::NoReplyExpected))
            .and_then(|m| m.build(&()));
        if let Ok(close) = close {
            let _ = self.conn.send(&close);
        }
    }
}

/// The state of the default collection (where new items go).
pub enum CollectionState {
    Unlocked,
    Locked,
    /// The service answers, but no collection is the default.
    NoDefault,
    /// No bus, or nothing owns org.freedesktop.secrets.
    NoService,
}

/// Asks the service which collection is the default and whether it is
/// locked: `ReadAlias("default")`, then its `Locked` property.
pub fn default_collection() -> CollectionState {
    let Some(conn) = CONNECTION
        .get_or_init(|| Connection::session().ok())
        .as_ref()
    else {
        return CollectionState::NoService;
    };
    let alias: Result<OwnedObjectPath, Failed> = conn
        .call_method(
            Some(BUS_NAME),
            SERVICE_PATH,
            Some(SERVICE_IFACE),
            "ReadAlias",
            &("default",),
        )
        .map_err(drop)
        .and_then(|reply| reply.body().deserialize().map_err(drop));
    let Ok(path) = alias else {
        return CollectionState::NoService;
    };
    if path.as_str() == "/" {
        return CollectionState::NoDefault;
    }
    let locked: Result<bool, Failed> = conn
        .call_method(
            Some(BUS_NAME),
            path.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(COLLECTION_IFACE, "Locked"),
        )
        .map_err(drop)
        .and_then(|reply| reply.body().deserialize::<OwnedValue>().map_err(drop))
        .and_then(|value| bool::try_from(value).map_err(drop));
    match locked {
        Ok(false) => CollectionState::Unlocked,
        Ok(true) => CollectionState::Locked,
        // An alias to a collection that is gone.
        Err(()) => CollectionState::NoDefault,
    }
}

impl Link {
    fn open(conn: &'static Connection) -> Result<Link, Failed> {
        let pair = KeyPair::generate().map_err(drop)?;
        let input = Value::from(pair.public_key());
        let reply = conn
            .call_method(
                Some(BUS_NAME),
                SERVICE_PATH,
                Some(SERVICE_IFACE),
                "OpenSession",
                &(ALGORITHM, input),
            )
            .map_err(drop)?;
        let (output, session): (OwnedValue, OwnedObjectPath) =
            reply.body().deserialize().map_err(drop)?;
        let theirs: Vec<u8> = output.try_into().map_err(drop)?;
        let key = pair.agree(&theirs).map_err(drop)?;
        Ok(Link { conn, session, key })
    }

    /// The one unlocked item named `name`, `None` if there is none at all;
    /// an error for anything else (locked, duplicates).
    fn find(&self, name: &str) -> Result<Option<OwnedObjectPath>, Failed> {
        let attributes = HashMap::from([("service", SERVICE), ("username", name)]);
        let reply = self
            .conn
            .call_method(
                Some(BUS_NAME),
                SERVICE_PATH,
                Some(SERVICE_IFACE),
                "SearchItems",
                &attributes,
            )
            .map_err(drop)?;
        let (mut unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
            reply.body().deserialize().map_err(drop)?;
        match (unlocked.len(), locked.is_empty()) {
            (0, true) => Ok(None),
            (1, true) => Ok(unlocked.pop()),
            _ => Err(()),
        }
    }

    fn lookup(&self, name: &str) -> Result<Direct, Failed> {
        let Some(item) = self.find(name)? else {
            return Ok(Direct::Missing);
        };
        let reply = self
            .conn
            .call_method(
                Some(BUS_NAME),
                item.as_str(),
                Some(ITEM_IFACE),
                "GetSecret",
                &(&self.session,),
            )
            .map_err(drop)?;
        let (_session, iv, sealed, _content_type): SecretStruct =
            reply.body().deserialize().map_err(drop)?;
        let secret = self.key.decrypt(&iv, &sealed).map_err(drop)?;
        Ok(Direct::Found(secret))
    }

    fn store(&self, name: &str, secret: &[u8], label: &str) -> Result<(), Failed> {
        let (iv, sealed) = self.key.encrypt(secret).map_err(drop)?;
        let sealed: SecretStruct = (self.session.clone(), iv, sealed, CONTENT_TYPE.to_string());
        if let Some(item) = self.find(name)? {
            self.conn
                .call_method(
                    Some(BUS_NAME),
                    item.as_str(),
                    Some(ITEM_IFACE),
                    "SetSecret",
                    &(sealed,),
                )
                .map_err(drop)?;
            return Ok(());
        }
        let attributes = HashMap::from([("service", SERVICE), ("username", name)]);
        let properties = HashMap::from([
            ("org.freedesktop.Secret.Item.Label", Value::from(label)),
            (
                "org.freedesktop.Secret.Item.Attributes",
                Value::from(attributes),
            ),
        ]);
        let reply = self
            .conn
            .call_method(
                Some(BUS_NAME),
                DEFAULT_COLLECTION,
                Some(COLLECTION_IFACE),
                "CreateItem",
                &(properties, sealed, true),
            )
            .map_err(drop)?;
        let (item, _prompt): (OwnedObjectPath, OwnedObjectPath) =
            reply.body().deserialize().map_err(drop)?;
        // "/" means the service wants a prompt first (a locked collection):
        // leave that to the store, which runs prompts.
        if item.as_ref() == ObjectPath::from_static_str_unchecked("/") {
            return Err(());
        }
        Ok(())
    }
}
