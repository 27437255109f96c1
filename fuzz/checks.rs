// Property checks shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and
// the stable replay test (`tests/it/fuzz_corpus_replay.rs`), which `include!`
// this file. Each `check_*` takes the raw fuzz input and panics when a
// property does not hold; anything else (a refused edit, bytes that are not
// JSON) is a normal outcome.

#[allow(unused_imports)]
use std::collections::BTreeMap;

use crossrole::awsfile::{AwsFile, FileKind, Profile};

const KINDS: [FileKind; 2] = [FileKind::Config, FileKind::Credentials];

/// Everything the readers report, so two parses can be compared.
fn snapshot(f: &AwsFile) -> Vec<(String, Option<Profile>)> {
    f.profile_names()
        .into_iter()
        .map(|n| {
            let p = f.profile(&n);
            (n, p)
        })
        .collect()
}

/// `awsfile_roundtrip`: UTF-8 bytes parse (as either kind) and print back
/// byte for byte; every reader answers without panicking and agrees with
/// itself.
pub fn check_awsfile_roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        let f = AwsFile::parse(text, kind);
        assert_eq!(
            f.to_text(),
            text,
            "{kind:?}: to_text differs from the input"
        );
        for name in f.profile_names() {
            assert!(
                f.profile(&name).is_some(),
                "{kind:?}: profile_names lists {name:?} but profile() finds nothing"
            );
        }
        for name in f.sso_session_names() {
            assert!(
                f.sso_session(&name).is_some(),
                "{kind:?}: sso-session {name:?}"
            );
        }
        let _ = f.validate();
        let _ = f.services("dev");
        // Parsing the printed text again reads the same.
        let again = AwsFile::parse(&f.to_text(), kind);
        assert_eq!(snapshot(&again), snapshot(&f));
    }
}

/// One edit drawn from the fuzz input.
#[derive(Debug)]
enum Edit {
    Set(String, String, String),
    RemoveKey(String, String),
    RemoveProfile(String),
}

/// Splits an `awsfile_edit` input into the file text, its kind and the
/// edits: `FILE` [0xFF `OPS`]. OPS is text, one edit per line:
/// `s|PROFILE|KEY|VALUE`, `k|PROFILE|KEY`, `p|PROFILE`; a leading `C` picks
/// the credentials kind. `PROFILE` may be `#N`: the file's Nth profile.
fn edits_from(data: &[u8]) -> Option<(String, FileKind, Vec<Edit>)> {
    let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
    let text = std::str::from_utf8(&data[..split]).ok()?.to_string();
    let ops = String::from_utf8_lossy(data.get(split + 1..).unwrap_or(&[])).into_owned();
    let kind = if ops.starts_with('C') {
        FileKind::Credentials
    } else {
        FileKind::Config
    };
    let names = AwsFile::parse(&text, kind).profile_names();
    let pick = |s: &str| -> String {
        match s.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if !names.is_empty() => names[n % names.len()].clone(),
            _ => s.to_string(),
        }
    };
    let mut edits = Vec::new();
    for line in ops.trim_start_matches('C').split('\n').take(8) {
        let f: Vec<&str> = line.splitn(4, '|').collect();
        let edit = match f.as_slice() {
            ["s", p, k, v] => Edit::Set(pick(p), k.to_string(), v.to_string()),
            ["k", p, k] | ["k", p, k, _] => Edit::RemoveKey(pick(p), k.to_string()),
            ["p", p, ..] => Edit::RemoveProfile(pick(p)),
            _ => continue,
        };
        edits.push(edit);
    }
    Some((text, kind, edits))
}

/// `awsfile_edit`: applies the edits one by one. A refused edit leaves the
/// text as it was; an accepted one is read back from the printed text (the
/// edited profile has the new value, or lost the key / the section) while
/// every other profile and sso-session reads exactly as before, and a file
/// the SDKs accepted before is still accepted.
pub fn check_awsfile_edit(data: &[u8]) {
    let Some((text, kind, edits)) = edits_from(data) else {
        return;
    };
    let mut file = AwsFile::parse(&text, kind);
    for edit in edits {
        let before_text = file.to_text();
        let before = snapshot(&file);
        let before_sso: Vec<_> = file
            .sso_session_names()
            .into_iter()
            .map(|n| {
                let s = file.sso_session(&n);
                (n, s)
            })
            .collect();
        let was_valid = file.validate().is_ok();
        let (result, edited) = match &edit {
            Edit::Set(p, k, v) => (file.set(p, k, v), p),
            Edit::RemoveKey(p, k) => (file.remove_key(p, k), p),
            Edit::RemoveProfile(p) => (file.remove_profile(p), p),
        };
        let after_text = file.to_text();
        match result {
            Err(_) | Ok(false) => {
                assert_eq!(
                    after_text, before_text,
                    "{edit:?}: refused or no-op edit changed the text"
                );
                if let (Ok(false), Edit::Set(p, k, v)) = (&result, &edit) {
                    let got = file
                        .profile(p)
                        .and_then(|pr| pr.get(&k.to_ascii_lowercase()).map(str::to_string));
                    assert_eq!(
                        got.as_deref(),
                        Some(v.as_str()),
                        "{edit:?}: `unchanged` but the value differs"
                    );
                }
                continue;
            }
            Ok(true) => {}
        }
        let reread = AwsFile::parse(&after_text, kind);
        match &edit {
            Edit::Set(p, k, v) => {
                let got = reread
                    .profile(p)
                    .and_then(|pr| pr.get(&k.to_ascii_lowercase()).map(str::to_string));
                assert_eq!(
                    got.as_deref(),
                    Some(v.as_str()),
                    "{edit:?}: the new value does not read back\n{after_text}"
                );
            }
            Edit::RemoveKey(p, k) => {
                let got = reread
                    .profile(p)
                    .and_then(|pr| pr.get(&k.to_ascii_lowercase()).map(str::to_string));
                assert_eq!(got, None, "{edit:?}: the key still reads\n{after_text}");
            }
            Edit::RemoveProfile(p) => {
                assert!(
                    reread.profile(p).is_none(),
                    "{edit:?}: the profile still reads\n{after_text}"
                );
            }
        }
        for (name, profile) in &before {
            if name != edited {
                assert_eq!(
                    &reread.profile(name),
                    profile,
                    "{edit:?} changed profile {name:?}\n{after_text}"
                );
            }
        }
        let after_names = reread.profile_names();
        for name in &after_names {
            if name != edited {
                assert!(
                    before.iter().any(|(n, _)| n == name),
                    "{edit:?} added profile {name:?}"
                );
            }
        }
        for (name, s) in &before_sso {
            assert_eq!(
                &reread.sso_session(name),
                s,
                "{edit:?} changed sso-session {name:?}"
            );
        }
        if was_valid {
            if let Err(e) = reread.validate() {
                panic!("{edit:?} made a valid file invalid: {e}\nbefore:\n{before_text}\nafter:\n{after_text}");
            }
        }
    }
}

/// Parses a credential_process document back and checks it against the
/// fields it was made from.
fn check_process_doc(
    doc: &str,
    id: &str,
    secret: &str,
    session: Option<(&str, time::OffsetDateTime)>,
) {
    let v: serde_json::Value = serde_json::from_str(doc).expect("process JSON parses");
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"].as_str(), Some(id));
    assert_eq!(v["SecretAccessKey"].as_str(), Some(secret));
    match session {
        None => {
            assert!(
                v.get("SessionToken").is_none() && v.get("Expiration").is_none(),
                "{doc}"
            );
            assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{doc}");
        }
        Some((token, at)) => {
            assert_eq!(v["SessionToken"].as_str(), Some(token));
            let exp = v["Expiration"].as_str().expect("Expiration is a string");
            assert!(exp.ends_with('Z'), "Expiration not in UTC: {exp}");
            let parsed =
                time::OffsetDateTime::parse(exp, &time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|e| panic!("Expiration {exp:?} does not parse: {e}"));
            // Times RFC 3339 cannot write in UTC are clamped to its range.
            let at = at.clamp(
                time::macros::datetime!(0000-01-01 00:00:00 UTC),
                time::macros::datetime!(9999-12-31 23:59:59 UTC),
            );
            assert_eq!(parsed.unix_timestamp(), at.unix_timestamp(), "{exp}");
        }
    }
}

/// `credential_json`: bytes decode as a cached `Session` or a stored
/// `LongTermKey` (or not) without panicking; what decodes re-serializes as
/// a credential_process document (Version 1) that parses back to the same
/// fields.
pub fn check_credential_json(data: &[u8]) {
    if let Ok(s) = serde_json::from_slice::<crossrole::credentials::Session>(data) {
        let doc = crossrole::credentials::process_json_for_session(&s);
        check_process_doc(
            &doc,
            &s.access_key_id,
            s.secret_access_key.expose(),
            Some((s.session_token.expose(), s.expiration)),
        );
        // Whatever the cache serializes decodes again.
        let stored = serde_json::to_vec(&s).expect("a Session serializes");
        let back: crossrole::credentials::Session =
            serde_json::from_slice(&stored).expect("and decodes");
        assert_eq!(back.expiration, s.expiration);
        assert_eq!(back.access_key_id, s.access_key_id);
    }
    if let Ok(k) = serde_json::from_slice::<crossrole::credentials::LongTermKey>(data) {
        let doc = crossrole::credentials::process_json_for_key(&k);
        check_process_doc(&doc, &k.access_key_id, k.secret_access_key.expose(), None);
        let _ = crossrole::credentials::mask_key_id(&k.access_key_id);
    }
}

/// An HTTP "connection" that answers every request with one canned
/// response, so the STS client's own response deserializer can be fed
/// arbitrary bytes without a socket.
#[derive(Debug, Clone)]
struct CannedResponse {
    status: u16,
    body: std::sync::Arc<Vec<u8>>,
}

impl aws_smithy_runtime_api::client::http::HttpConnector for CannedResponse {
    fn call(
        &self,
        _request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(self.status)
            .unwrap_or_else(|_| {
                aws_smithy_runtime_api::http::StatusCode::try_from(200).expect("200")
            });
        let mut response = aws_smithy_runtime_api::http::Response::new(
            status,
            aws_smithy_types::body::SdkBody::from(self.body.as_slice().to_vec()),
        );
        response.headers_mut().insert("content-type", "text/xml");
        aws_smithy_runtime_api::client::http::HttpConnectorFuture::ready(Ok(response))
    }
}

impl aws_smithy_runtime_api::client::http::HttpClient for CannedResponse {
    fn http_connector(
        &self,
        _settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(self.clone())
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
}

/// Runs AssumeRole against a canned response and turns the answer into a
/// crossrole `Session` the way `crossrole::sts::assume_role` does.
fn assume_role_from(status: u16, body: &[u8]) {
    use aws_sdk_sts::config::{
        BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
    };
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(Credentials::new(
            "AKIAFUZZFUZZFUZZFUZZ",
            "fuzz-secret",
            None,
            None,
            "fuzz",
        ))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(CannedResponse {
            status,
            body: std::sync::Arc::new(body.to_vec()),
        })
        .build();
    let client = aws_sdk_sts::Client::from_conf(conf);
    // Only the successful output matters here; an error is a normal outcome.
    let out = RUNTIME.with(|rt| {
        rt.block_on(
            client
                .assume_role()
                .role_arn("arn:aws:iam::222222222222:role/R")
                .role_session_name("fuzz")
                .send(),
        )
        .ok()
    });
    let Some(out) = out else {
        return;
    };
    let Some(c) = out.credentials() else {
        return;
    };
    let Ok(expiration) = time::OffsetDateTime::from_unix_timestamp(c.expiration().secs()) else {
        return;
    };
    let session = crossrole::credentials::Session {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: crossrole::credentials::Secret::new(c.secret_access_key().to_string()),
        session_token: crossrole::credentials::Secret::new(c.session_token().to_string()),
        expiration,
    };
    let doc = crossrole::credentials::process_json_for_session(&session);
    check_process_doc(
        &doc,
        &session.access_key_id,
        session.secret_access_key.expose(),
        Some((session.session_token.expose(), session.expiration)),
    );
}

/// `sts_response`: the `Date` header parser and STS response handling. The
/// input's first byte picks the HTTP status (200, 400, 403, 500 or 503),
/// the rest is the AssumeRole response body the SDK deserializes; as text it
/// is also a `Date` header and a cached-session document.
pub fn check_sts_response(data: &[u8]) {
    let (status, body) = match data.split_first() {
        Some((b, rest)) => ([200u16, 400, 403, 500, 503][usize::from(*b) % 5], rest),
        None => (200, data),
    };
    if let Ok(text) = std::str::from_utf8(body) {
        if let Some(t) = crossrole::sts::parse_http_date(text) {
            // What parses prints back in the same format and parses again.
            let fmt = time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            );
            if let Ok(printed) = t.format(&fmt) {
                assert_eq!(
                    crossrole::sts::parse_http_date(&printed),
                    Some(t),
                    "{printed}"
                );
            }
        }
    }
    check_credential_json(body);
    assume_role_from(status, body);
}
