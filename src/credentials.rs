//! Secret-holding types. None implements `Debug` or `Display`, all are
//! zeroized on drop, and the only way out to stdout is the credential_process
//! JSON document.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string: no `Debug`, no `Display`, wiped from memory on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An IAM user's long-term access key, as stored in the keyring.
#[derive(Clone, Serialize, Deserialize)]
pub struct LongTermKey {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: Secret,
}

/// Temporary credentials from AssumeRole.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: Secret,
    #[serde(rename = "SessionToken")]
    pub session_token: Secret,
    #[serde(rename = "Expiration", with = "time::serde::rfc3339")]
    pub expiration: OffsetDateTime,
}

/// Shows an access key id as `AKIA…WXYZ`: enough to recognise, not to use.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// RFC 3339 in UTC with a `Z`, as botocore parses it.
pub fn format_expiration(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The credential_process document (Version 1).
pub fn process_json_for_key(key: &LongTermKey) -> String {
    serde_json::json!({
        "Version": 1,
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key.expose(),
    })
    .to_string()
}

pub fn process_json_for_session(session: &Session) -> String {
    serde_json::json!({
        "Version": 1,
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key.expose(),
        "SessionToken": session.session_token.expose(),
        "Expiration": format_expiration(session.expiration),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_key_ids() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask_key_id("short"), "****");
    }

    #[test]
    fn expiration_is_utc_with_z() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        assert_eq!(format_expiration(at), "2026-11-18T11:06:40Z");
    }
}
