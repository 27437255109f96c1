//! Long-term keys in the keyring: stored as a small JSON document under
//! `key:<profile>`, read back into a zeroizing `LongTermKey`.

use crate::credentials::LongTermKey;
use crate::error::{Error, Result};
use crate::profile::secret_name_for_key;
use crate::secrets::SecretStore;

/// The key stored for `profile`, `None` when there is none. An entry that
/// is not a crossrole key is [`Error::NotAKey`].
pub fn load(store: &dyn SecretStore, profile: &str) -> Result<Option<LongTermKey>> {
    let Some(bytes) = store.get(&secret_name_for_key(profile))? else {
        return Ok(None);
    };
    serde_json::from_slice::<LongTermKey>(&bytes)
        .map(Some)
        .map_err(|_| Error::NotAKey {
            profile: profile.to_string(),
        })
}

/// The key stored for `profile`, for the callers that cannot go on without it.
pub fn require(store: &dyn SecretStore, profile: &str) -> Result<LongTermKey> {
    load(store, profile)?.ok_or_else(|| missing(store, profile))
}

/// "No key stored", with the command that stores one.
pub fn missing(store: &dyn SecretStore, profile: &str) -> Error {
    Error::NotFound(format!(
        "no key for profile `{profile}` in the {} keyring; store it with `crossrole setup --source-profile {profile} --access-key-id AKIA…` (the secret is read from stdin or asked)",
        store.backend().name()
    ))
}

pub fn save(store: &dyn SecretStore, profile: &str, key: &LongTermKey) -> Result<()> {
    let doc = zeroize::Zeroizing::new(serde_json::to_vec(key).unwrap_or_default());
    store.set(&secret_name_for_key(profile), &doc)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::secrets::memory::MemStore as Mem;

    use super::*;
    use crate::credentials::Secret;

    #[test]
    fn a_missing_key_is_none_and_required_keys_say_how_to_store_one() {
        let store = Mem::default();
        assert!(load(&store, "green").unwrap().is_none());
        let Err(e) = require(&store, "green") else {
            panic!("no key stored, yet one was found");
        };
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        assert!(
            e.to_string().starts_with(
                "no key for profile `green` in the keyutils keyring; store it with `crossrole setup --source-profile green"
            ),
            "{e}"
        );

        let key = LongTermKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        };
        save(&store, "green", &key).unwrap();
        let back = load(&store, "green").unwrap().unwrap();
        assert_eq!(back.access_key_id, key.access_key_id);
        assert_eq!(
            require(&store, "green").unwrap().access_key_id,
            key.access_key_id
        );
    }

    #[test]
    fn an_entry_that_is_not_a_key_is_its_own_error() {
        let store = Mem::default();
        store.set("key:green", b"not json").unwrap();
        let Err(e) = load(&store, "green") else {
            panic!("not a key, yet it was read as one");
        };
        assert!(
            matches!(&e, Error::NotAKey { profile } if profile == "green"),
            "{e:?}"
        );
        assert!(e.to_string().contains("is not a crossrole key"), "{e}");
    }
}
