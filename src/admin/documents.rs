//! Policy documents as IAM hands them back: URL-encoded JSON, compared by
//! meaning with the document crossrole would write, so that a re-run can
//! say `exists` rather than rewrite what is already right.

use crate::commands::policy::PolicyDocument;
use crate::error::{Error, Result};

pub fn to_json(doc: &PolicyDocument) -> Result<String> {
    serde_json::to_string(doc)
        .map_err(|e| Error::Other(format!("cannot format a policy document: {e}")))
}

/// IAM returns documents percent-encoded (RFC 3986); some emulators return
/// them as they were sent. Either way, the JSON value.
pub fn parse_returned(text: &str) -> Option<serde_json::Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    serde_json::from_str(&percent_decode(text)?).ok()
}

/// Whether IAM's copy means what `doc` says. Key order and whitespace do
/// not count; a one-item list and its item are the same to IAM.
pub fn same(returned: &str, doc: &PolicyDocument) -> bool {
    let (Some(a), Ok(b)) = (parse_returned(returned), serde_json::to_value(doc)) else {
        return false;
    };
    normal(a) == normal(b)
}

fn normal(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(mut items) if items.len() == 1 => normal(items.remove(0)),
        Value::Array(items) => Value::Array(items.into_iter().map(normal).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normal(v))).collect()),
        other => other,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::policy::{bucket_policy, own_keys_policy};

    #[test]
    fn iams_encoded_copy_is_the_same_document() {
        let doc = bucket_policy("aws", "the-bucket");
        let json = to_json(&doc).unwrap();
        let encoded: String = json
            .bytes()
            .map(|c| match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (c as char).to_string()
                }
                _ => format!("%{c:02X}"),
            })
            .collect();
        assert!(same(&encoded, &doc));
        assert!(same(&json, &doc));
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        assert!(same(&pretty, &doc));
        assert!(!same(&json, &bucket_policy("aws", "another-bucket")));
        assert!(!same(&json, &own_keys_policy("aws", "111111111111", "u")));
        assert!(!same("%zz", &doc));
    }

    #[test]
    fn a_one_item_list_is_its_item() {
        let doc = own_keys_policy("aws", "111111111111", "u");
        let v = serde_json::to_value(&doc).unwrap();
        let mut listed = v.clone();
        listed["Statement"][0]["Resource"] = serde_json::json!([v["Statement"][0]["Resource"]]);
        assert!(same(&listed.to_string(), &doc));
    }
}
