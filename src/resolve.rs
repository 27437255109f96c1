//! The credentials a profile stands for, whichever kind it is: a key
//! profile's long-term key from the keyring, or a role profile's session
//! (cached or fresh). Shared by credential-process, exec and export.

use crate::awsfile::{AwsFile, FileKind};
use crate::credentials::{process_json_for_key, process_json_for_session, LongTermKey, Session};
use crate::deps::Deps;
use crate::error::Result;
use crate::profile::{read_managed, ManagedProfile};

pub enum Creds {
    Key(LongTermKey),
    Session(Session),
}

impl Creds {
    pub fn access_key_id(&self) -> &str {
        match self {
            Creds::Key(k) => &k.access_key_id,
            Creds::Session(s) => &s.access_key_id,
        }
    }

    pub fn secret_access_key(&self) -> &str {
        match self {
            Creds::Key(k) => k.secret_access_key.expose(),
            Creds::Session(s) => s.secret_access_key.expose(),
        }
    }

    pub fn session_token(&self) -> Option<&str> {
        match self {
            Creds::Key(_) => None,
            Creds::Session(s) => Some(s.session_token.expose()),
        }
    }

    pub fn expiration(&self) -> Option<String> {
        match self {
            Creds::Key(_) => None,
            Creds::Session(s) => Some(crate::credentials::format_expiration(s.expiration)),
        }
    }

    /// The credential_process document.
    pub fn process_json(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(match self {
            Creds::Key(k) => process_json_for_key(k),
            Creds::Session(s) => process_json_for_session(s),
        })
    }
}

/// The profile's credentials and its region (as the profile sets it, if it does).
pub struct Resolved {
    pub creds: Creds,
    pub region: Option<String>,
}

/// What a key profile hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// credential-process: the MFA session where the profile has
    /// `crossrole_mfa_serial` (so its own calls carry MFA), else the key.
    Process,
    /// exec / export: a GetSessionToken session (the MFA session where there
    /// is a serial), never the long-term key.
    Session,
    /// exec / export --no-session: the long-term key.
    LongTerm,
}

/// The credentials credential-process serves.
pub fn profile_credentials(deps: &Deps<'_>, profile: &str) -> Result<Resolved> {
    credentials_for(deps, profile, KeyUse::Process)
}

pub fn credentials_for(deps: &Deps<'_>, profile: &str, key_use: KeyUse) -> Result<Resolved> {
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    let creds = match read_managed(&config, &deps.paths.config_file, profile)? {
        ManagedProfile::Key { profile } => {
            let session = match key_use {
                KeyUse::LongTerm => false,
                KeyUse::Session => true,
                KeyUse::Process => crate::mfa::key_profile_serial(&config, &profile)?.is_some(),
            };
            if session {
                Creds::Session(crate::mfa::session::for_key_profile(
                    deps, &config, &profile,
                )?)
            } else {
                Creds::Key(crate::keys::require(
                    deps.stores.secret(deps.env)?,
                    &profile,
                )?)
            }
        }
        ManagedProfile::Role(role) => {
            Creds::Session(crate::role_session::get(deps, &config, &role)?.0)
        }
    };
    let region = config
        .profile(profile)
        .and_then(|p| p.get("region").map(str::to_string));
    Ok(Resolved { creds, region })
}
