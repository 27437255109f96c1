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

/// RFC 3339 in UTC with a `Z`, as botocore parses it. A time that RFC 3339
/// cannot write in UTC (a garbled cache entry such as
/// `9999-12-31T23:59:59-01:00`, past year 9999 once in UTC) is clamped to
/// the first or last second it can: converting it would panic, and
/// formatting it would give an empty string.
pub fn format_expiration(at: OffsetDateTime) -> String {
    let first = time::macros::datetime!(0000-01-01 00:00:00 UTC);
    let last = time::macros::datetime!(9999-12-31 23:59:59 UTC);
    // Comparing instants never panics; converting one inside the range cannot either.
    let at = at.clamp(first, last);
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The credential_process document (Version 1), serialized straight from
/// borrowed fields into one buffer, so no intermediate copy of a secret is
/// left behind un-zeroized.
#[derive(Serialize)]
struct ProcessDoc<'a> {
    #[serde(rename = "Version")]
    version: u8,
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "SessionToken", skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(rename = "Expiration", skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

fn to_json(doc: &ProcessDoc<'_>) -> String {
    // Serializing plain strings into a String cannot fail.
    serde_json::to_string(doc).unwrap_or_default()
}

pub fn process_json_for_key(key: &LongTermKey) -> String {
    to_json(&ProcessDoc {
        version: 1,
        access_key_id: &key.access_key_id,
        secret_access_key: key.secret_access_key.expose(),
        session_token: None,
        expiration: None,
    })
}

pub fn process_json_for_session(session: &Session) -> String {
    to_json(&ProcessDoc {
        version: 1,
        access_key_id: &session.access_key_id,
        secret_access_key: session.secret_access_key.expose(),
        session_token: Some(session.session_token.expose()),
        expiration: Some(format_expiration(session.expiration)),
    })
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
    fn process_documents_have_the_documented_shape() {
        let key = LongTermKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t".into()),
        };
        assert_eq!(
            process_json_for_key(&key),
            r#"{"Version":1,"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"s3cr3t"}"#
        );
        let session = Session {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("k".into()),
            session_token: Secret::new("t".into()),
            expiration: OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        };
        assert_eq!(
            process_json_for_session(&session),
            r#"{"Version":1,"AccessKeyId":"ASIAX","SecretAccessKey":"k","SessionToken":"t","Expiration":"2026-11-18T11:06:40Z"}"#
        );
    }

    #[test]
    fn expiration_is_utc_with_z() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        assert_eq!(format_expiration(at), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn expiration_out_of_rfc3339_range_is_clamped_not_a_panic() {
        let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        assert_eq!(
            format_expiration(parse("9999-12-31T23:59:59-01:00")),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            format_expiration(parse("0000-01-01T00:00:00+01:00")),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_expiration(parse("2026-11-18T12:06:40+01:00")),
            "2026-11-18T11:06:40Z"
        );
    }
}
