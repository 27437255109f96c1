//! `crossrole rotate [PROFILE] [--yes]`: replaces a key profile's access key.
//!
//! In order: list the user's keys (two already: refused, nothing changes);
//! CreateAccessKey; store the new key in the keyring at once, so its secret
//! is never held anywhere else; wait until STS accepts it (IAM is
//! eventually consistent); DeleteAccessKey the old one; drop the sessions
//! made with the old key. Each failure leaves the keyring holding a key
//! that works, and says which keys are live in IAM and what to run.
//!
//! The IAM calls are signed with what `aws --profile PROFILE` gets from
//! crossrole: the MFA session where the key profile has
//! `crossrole_mfa_serial` (so a policy that allows key changes only with
//! MFA lets them through), else the old key itself. That signer, not the
//! new key, also deletes the old key: IAM is known to accept it right now,
//! while the new key has only been seen by STS, and a key may delete
//! itself. A failed deletion then leaves both keys live, never none.

use std::io::Write;

use crate::admin::own_keys::{self, Listing};
use crate::admin::{wait, Aws, AwsError};
use crate::awsfile::{AwsFile, FileKind};
use crate::cache;
use crate::cache_full;
use crate::credentials::{mask_key_id, LongTermKey};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::profile::{dependents, managed_names, read_managed, sts_target, ManagedProfile};
use crate::secrets::{Backend, SecretStore};
use crate::sts::Identity;

pub fn run(deps: &Deps<'_>, profile: &str, yes: bool, out: &mut dyn Write) -> Result<()> {
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    key_profile(&config, &deps.paths.config_file, profile)?;
    let ask = !yes;
    if ask && !crate::prompt::can_ask() {
        return Err(Error::Usage(format!(
            "rotate creates a new access key for profile `{profile}` in IAM and deletes the old one; pass --yes to confirm without a terminal"
        )));
    }
    // setup and remove change the stored key too: one at a time.
    let _lock = FileLock::acquire(&deps.paths.runtime_dir, "aws-files")?;
    let store = deps.stores.secret(deps.env)?;
    let old = crate::keys::require(store, profile)?;
    let signer = Signer::open(deps, &config, profile, &old)?;
    let target = sts_target(deps.env, &config, profile, None);
    // Only for a refusal's message: who the user is, for `crossrole policy`.
    let whoami = || deps.sts.get_caller_identity(&old, &target).ok();
    let listing = own_keys::list(&signer.aws)
        .map_err(|e| signer.refused("iam:ListAccessKeys", &e, "nothing was changed", whoami))?;
    check_listing(&listing, &old.access_key_id, profile)?;
    if ask {
        confirm(profile, &listing.user, &old)?;
    }

    let created = own_keys::create(&signer.aws, None)
        .map_err(|e| signer.refused("iam:CreateAccessKey", &e, "nothing was changed", whoami))?;
    let new = created.key;
    let s = Steps {
        deps,
        store,
        signer: &signer,
        profile,
        user: &created.user,
        old: &old,
        new: &new,
    };
    if let Err(e) = crate::keys::save(store, profile, &new) {
        return Err(s.undo_create(&e.to_string()));
    }
    s.record_key_id(&new);

    let (accepted, tries) = wait::sts(|| deps.sts.get_caller_identity(&new, &target));
    let identity = match accepted {
        Ok(id) => id,
        Err(e) if wait::is_not_yet(e.code()) => {
            return Err(s.roll_back(&format!(
                "still refused after {tries} attempts over {} s: {e}",
                wait::BUDGET.as_secs()
            )))
        }
        Err(e) => return Err(s.roll_back(&e.to_string())),
    };

    let deleted = own_keys::delete(&signer.aws, None, &old.access_key_id);
    let dropped = drop_sessions(deps, &config, profile, &old.access_key_id);
    if let Err(e) = deleted {
        return Err(s.old_key_left(&e, &identity));
    }
    let mut text = format!(
        "rotated profile {profile} (IAM user {}): old key {} deleted in IAM, new key {} stored in the {} keyring (STS accepted it after {tries} attempt(s))\n",
        created.user,
        mask_key_id(&old.access_key_id),
        mask_key_id(&new.access_key_id),
        store.backend().name()
    );
    if dropped > 0 {
        text.push_str(&format!(
            "dropped {dropped} cached session(s) made with the old key\n"
        ));
    }
    if store.backend() == Backend::Keyutils {
        text.push_str(&format!(
            "warning: the keyutils backend keeps key {} only in the kernel keyring, which a reboot empties, and the old key is gone; a lasting backend (CROSSROLE_BACKEND=secret-service, file or pass) suits keys you rotate\n",
            mask_key_id(&new.access_key_id)
        ));
    }
    text.push_str(&format!(
        "try: aws --profile {profile} sts get-caller-identity\n"
    ));
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", "stdout", e))
}

/// Only a key profile whose key crossrole keeps can be rotated.
fn key_profile(config: &AwsFile, path: &std::path::Path, profile: &str) -> Result<()> {
    match read_managed(config, path, profile)? {
        ManagedProfile::Role(role) => Err(Error::Usage(format!(
            "profile `{profile}` assumes a role with the key of profile `{0}`; rotate that key: `crossrole rotate {0}`",
            role.source_profile
        ))),
        ManagedProfile::Key { .. } if !managed_names(config).iter().any(|n| n == profile) => {
            Err(Error::Other(format!(
                "profile `{profile}` is not managed by crossrole (its credential_process does not call crossrole), so its key is not in the keyring; move it there first with `crossrole setup --source-profile {profile} --import-credentials --role-arn ARN`"
            )))
        }
        ManagedProfile::Key { .. } => Ok(()),
    }
}

fn confirm(profile: &str, user: &str, old: &LongTermKey) -> Result<()> {
    if !crate::prompt::confirm(&format!(
        "Create a new access key for IAM user {user} (profile {profile}), store it in the keyring and delete the old key {} in IAM? [y/N] ",
        mask_key_id(&old.access_key_id)
    ))? {
        return Err(Error::Cancelled("nothing was changed".into()));
    }
    Ok(())
}

/// The user must have room for a new key, and the keyring's key must be
/// one of theirs.
fn check_listing(listing: &Listing, stored: &str, profile: &str) -> Result<()> {
    let user = if listing.user.is_empty() {
        "the user"
    } else {
        listing.user.as_str()
    };
    let described: Vec<String> = listing
        .keys
        .iter()
        .map(|k| {
            let mut d = mask_key_id(&k.id);
            let mut notes = Vec::new();
            if k.id == stored {
                notes.push("in the keyring".to_string());
            }
            if !k.status.is_empty() {
                notes.push(k.status.clone());
            }
            if let Some(c) = k.created {
                notes.push(format!("created {}", c.date()));
            }
            if !notes.is_empty() {
                d.push_str(&format!(" ({})", notes.join(", ")));
            }
            d
        })
        .collect();
    if !listing.keys.iter().any(|k| k.id == stored) {
        return Err(Error::Other(format!(
            "the keyring's key {} for profile `{profile}` is not one of IAM user {user}'s keys ({}); nothing was changed",
            mask_key_id(stored),
            if described.is_empty() {
                "none".to_string()
            } else {
                described.join(", ")
            }
        )));
    }
    if listing.keys.len() >= 2 {
        return Err(Error::Other(format!(
            "IAM user {user} already has two access keys, the most IAM allows: {}. rotate needs room for a new one; nothing was changed. If nothing uses the key that is not in the keyring, delete it (`aws --profile {profile} iam list-access-keys` shows the full ids, `aws --profile {profile} iam delete-access-key --access-key-id ID` deletes one), then run `crossrole rotate {profile}` again",
            described.join(" and ")
        )));
    }
    Ok(())
}

/// What the IAM calls are signed with, and how messages name it.
struct Signer {
    aws: Aws,
    label: String,
    profile: String,
    has_serial: bool,
}

impl Signer {
    fn open(deps: &Deps<'_>, config: &AwsFile, profile: &str, key: &LongTermKey) -> Result<Signer> {
        match crate::mfa::key_profile_serial(config, profile)? {
            Some(serial) => {
                let session = crate::mfa::session::for_key_profile(deps, config, profile)?;
                Ok(Signer {
                    aws: Aws::from_session(deps.env, config, profile, &session)?,
                    label: format!("the MFA session ({serial}) of profile {profile}"),
                    profile: profile.to_string(),
                    has_serial: true,
                })
            }
            None => Ok(Signer {
                aws: Aws::from_key(deps.env, config, profile, key)?,
                label: format!(
                    "key {} of profile {profile}",
                    mask_key_id(&key.access_key_id)
                ),
                profile: profile.to_string(),
                has_serial: false,
            }),
        }
    }

    /// "ACTION with WHO failed: WHY; STATE", and for a refusal, the rights
    /// rotate needs (`whoami` names the user for the policy).
    fn refused(
        &self,
        action: &str,
        e: &AwsError,
        state: &str,
        whoami: impl Fn() -> Option<Identity>,
    ) -> Error {
        let mut msg = format!("{action} with {} failed: {e}; {state}", self.label);
        if e.is_denied() {
            msg.push_str(&format!(
                ". rotate needs iam:ListAccessKeys, iam:CreateAccessKey and iam:DeleteAccessKey on the user itself; `{}` prints such a policy for an admin to attach",
                policy_command(whoami().as_ref())
            ));
            if !self.has_serial {
                msg.push_str(&format!(
                    " (if the user's policy allows this only with MFA, add `crossrole_mfa_serial = ARN` to profile {}: rotate then signs with an MFA session)",
                    self.profile
                ));
            }
        }
        Error::Other(msg)
    }
}

/// What rotate did so far, for the messages of a step that failed.
struct Steps<'a, 'd> {
    deps: &'a Deps<'d>,
    store: &'a dyn SecretStore,
    signer: &'a Signer,
    profile: &'a str,
    user: &'a str,
    old: &'a LongTermKey,
    new: &'a LongTermKey,
}

impl Steps<'_, '_> {
    fn old_id(&self) -> String {
        mask_key_id(&self.old.access_key_id)
    }

    fn new_id(&self) -> String {
        mask_key_id(&self.new.access_key_id)
    }

    /// How to delete a key by hand (ids are shown masked, so the full ones
    /// come from list-access-keys).
    fn delete_by_hand(&self, which: &str) -> String {
        format!(
            "delete {which} (`aws --profile {p} iam list-access-keys` shows the full ids, `aws --profile {p} iam delete-access-key --access-key-id ID` deletes one)",
            p = self.profile
        )
    }

    fn record_key_id(&self, key: &LongTermKey) {
        if let Ok(sessions) = self.deps.stores.sessions(self.deps.env) {
            cache::record_key_id(
                sessions,
                self.profile,
                &key.access_key_id,
                self.deps.clock.now(),
            );
        }
    }

    /// The new key could not be stored: it goes again, the old key stays.
    fn undo_create(&self, why: &str) -> Error {
        let head = format!(
            "could not store the new key {} in the keyring: {why}.",
            self.new_id()
        );
        Error::Other(
            match own_keys::delete(&self.signer.aws, None, &self.new.access_key_id) {
                Ok(()) => format!(
                    "{head} It was deleted in IAM again: nothing changed, and the keyring still holds key {}, which works. Fix the keyring, then run `crossrole rotate {}` again",
                    self.old_id(),
                    self.profile
                ),
                Err(e) => format!(
                    "{head} Deleting it in IAM again failed too ({e}). IAM user {} now has two active keys: {} (in the keyring; it works) and {}, whose secret is kept nowhere: {}, then run `crossrole rotate {}` again",
                    self.user,
                    self.old_id(),
                    self.new_id(),
                    self.delete_by_hand(&self.new_id()),
                    self.profile
                ),
            },
        )
    }

    /// STS never accepted the new key: the old one, still active, goes back
    /// into the keyring, and then the new one is deleted. The new key is
    /// deleted only once the old one is back: the keyring never holds a
    /// deleted key.
    fn roll_back(&self, why: &str) -> Error {
        let head = format!("STS did not accept the new key {} ({why}).", self.new_id());
        if let Err(e) = crate::keys::save(self.store, self.profile, self.old) {
            return Error::Other(format!(
                "{head} Putting the old key {} back into the keyring failed ({e}), so the keyring holds the new key; both keys are active in IAM. Check with `aws --profile {p} sts get-caller-identity` in a few minutes; once it works, {}",
                self.old_id(),
                self.delete_by_hand(&format!("the old key {}", self.old_id())),
                p = self.profile
            ));
        }
        self.record_key_id(self.old);
        Error::Other(
            match own_keys::delete(&self.signer.aws, None, &self.new.access_key_id) {
                Ok(()) => format!(
                    "{head} Nothing changed: the new key was deleted in IAM again, and the keyring holds the old key {} again, which is still active. Run `crossrole rotate {}` again later",
                    self.old_id(),
                    self.profile
                ),
                Err(e) => format!(
                    "{head} The keyring holds the old key {} again, which is still active; the new key {} is active in IAM too, but could not be deleted ({e}), and its secret is kept nowhere: {}, then run `crossrole rotate {}` again",
                    self.old_id(),
                    self.new_id(),
                    self.delete_by_hand(&format!("the new key {}", self.new_id())),
                    self.profile
                ),
            },
        )
    }

    /// The keyring holds the new, working key; the old one is still live.
    fn old_key_left(&self, e: &AwsError, id: &Identity) -> Error {
        let mut msg = format!(
            "the keyring now holds the new key {new}, which works, but iam:DeleteAccessKey of the old key {old} with {who} failed: {e}. Both keys are active in IAM: {}",
            self.delete_by_hand(&format!("the old key {}", self.old_id())),
            new = self.new_id(),
            old = self.old_id(),
            who = self.signer.label,
        );
        if e.is_denied() {
            msg.push_str(&format!(
                ". The user needs iam:DeleteAccessKey on itself for that (and for the next rotate): `{}` prints such a policy for an admin to attach",
                policy_command(Some(id))
            ));
        }
        Error::Other(msg)
    }
}

/// The `crossrole policy` command that prints the user's own-keys policy.
fn policy_command(id: Option<&Identity>) -> String {
    let (account, user) = match id {
        Some(id) => (
            id.account.as_str(),
            id.arn.rsplit('/').next().unwrap_or("USER"),
        ),
        None => ("ACCOUNT", "USER"),
    };
    format!("crossrole policy --green-account {account} --user {user}")
}

/// Drops what was cached with the old key: the role sessions of the
/// profiles using this key, and its MFA and plain sessions. Returns how many.
fn drop_sessions(deps: &Deps<'_>, config: &AwsFile, profile: &str, old_id: &str) -> usize {
    let Ok(sessions) = deps.stores.sessions(deps.env) else {
        return 0;
    };
    let mut n = 0;
    for name in dependents(config, profile) {
        if let Ok(ManagedProfile::Role(role)) = read_managed(config, &deps.paths.config_file, &name)
        {
            let entry = cache::session_key(&role, old_id);
            if cache_full::get(deps, sessions, &entry).is_some() {
                n += 1;
            }
            cache_full::delete(deps, sessions, &entry);
        }
    }
    n + crate::mfa::session::clear(sessions, Some(profile)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::own_keys::KeyInfo;

    fn key(id: &str) -> KeyInfo {
        KeyInfo {
            id: id.into(),
            status: "Active".into(),
            created: Some(time::macros::datetime!(2026-01-02 03:04 UTC)),
        }
    }

    #[test]
    fn room_for_a_new_key_and_the_stored_key_among_the_users() {
        let one = Listing {
            user: "u".into(),
            keys: vec![key("AKIAAAAAAAAAAAAA1111")],
        };
        assert!(check_listing(&one, "AKIAAAAAAAAAAAAA1111", "green").is_ok());

        let e = check_listing(&one, "AKIAAAAAAAAAAAAA9999", "green")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("AKIA…9999") && e.contains("not one of IAM user u's keys"),
            "{e}"
        );

        let two = Listing {
            user: "u".into(),
            keys: vec![key("AKIAAAAAAAAAAAAA1111"), key("AKIAAAAAAAAAAAAA2222")],
        };
        let e = check_listing(&two, "AKIAAAAAAAAAAAAA2222", "green")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("already has two access keys")
                && e.contains("AKIA…1111 (Active, created 2026-01-02)")
                && e.contains("AKIA…2222 (in the keyring, Active, created 2026-01-02)")
                && e.contains("crossrole rotate green"),
            "{e}"
        );
        assert!(!e.contains("AKIAAAAAAAAAAAAA"), "full ids shown: {e}");
    }
}
