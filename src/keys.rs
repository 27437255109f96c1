//! Long-term keys in the keyring: stored as a small JSON document under
//! `key:<profile>`, read back into a zeroizing `LongTermKey`.

use crate::credentials::LongTermKey;
use crate::error::{Error, Result};
use crate::profile::secret_name_for_key;
use crate::secrets::SecretStore;

pub fn load(store: &dyn SecretStore, profile: &str) -> Result<LongTermKey> {
    let name = secret_name_for_key(profile);
    let bytes = store.get(&name)?.ok_or_else(|| {
        Error::Usage(format!(
            "no key for profile `{profile}` in the {} keyring; store it with `crossrole setup --source-profile {profile} --access-key-id AKIA…` (the secret is read from stdin or asked)",
            store.backend().name()
        ))
    })?;
    serde_json::from_slice::<LongTermKey>(&bytes).map_err(|_| {
        Error::Usage(format!(
            "the keyring entry for profile `{profile}` is not a crossrole key; run `crossrole setup --source-profile {profile}` again to replace it"
        ))
    })
}

pub fn save(store: &dyn SecretStore, profile: &str, key: &LongTermKey) -> Result<()> {
    let doc = zeroize::Zeroizing::new(serde_json::to_vec(key).unwrap_or_default());
    store.set(&secret_name_for_key(profile), &doc)?;
    Ok(())
}
