//! What the AWS SDKs read from a file: profiles, `[sso-session x]` and
//! `[services x]` sections, following the SDKs' shared profile-file rules
//! (the smithy-rs `env_config` parser + normalizer and the shared test
//! vectors).
//!
//! The SDK parser rejects a whole file on the first syntax error; here the
//! reader is lenient (bad lines are skipped) so that callers can still see
//! the rest, and [`validate`] reports the error the SDK would raise.
//!
//! Deliberate deviations (documented in `tests/it/awsfile_vectors.rs` too):
//! - Sections are merged in file order. smithy-rs merges differently spelled
//!   headers naming one profile (`[profile a]`, `[profile  a]`) in hash-map
//!   order, which is not deterministic; file order is what botocore does.
//! - A byte-order mark at the start of the file is skipped by the lenient
//!   reader; [`validate`] reports it, as the SDKs fail on it.
//! - Nested blocks are split into `Profile::nested` the way botocore does
//!   (`key = a = b` gives `a = b`; smithy-rs keeps only `a` for `[services]`).

use std::collections::BTreeMap;

use super::parse::{parse_property, split_section, Document, LineKind, PropertyError, WS};
use super::{FileKind, Profile};

/// What a section header names, for one kind of file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SectionId {
    /// A profile; `prefixed` is true for `[profile default]` in a config file.
    Profile {
        name: String,
        prefixed: bool,
    },
    SsoSession(String),
    Services(String),
    /// Ignored by the SDKs (wrong prefix, invalid name, ...).
    Other,
}

pub(crate) fn section_id(raw: &str, kind: FileKind) -> SectionId {
    let (prefix, suffix) = split_section(raw);
    let valid = super::parse::is_identifier(suffix);
    match (kind, prefix) {
        (FileKind::Config, Some(prefix)) if valid => match prefix {
            "profile" => SectionId::Profile {
                name: suffix.to_string(),
                prefixed: true,
            },
            "sso-session" => SectionId::SsoSession(suffix.to_string()),
            "services" => SectionId::Services(suffix.to_string()),
            _ => SectionId::Other,
        },
        (FileKind::Config, None) if suffix == "default" => SectionId::Profile {
            name: "default".to_string(),
            prefixed: false,
        },
        (FileKind::Credentials, None) if valid => SectionId::Profile {
            name: suffix.to_string(),
            prefixed: false,
        },
        _ => SectionId::Other,
    }
}

/// One section occurrence as the SDK parser reads it.
#[derive(Debug)]
pub(crate) struct RawSection {
    pub id: SectionId,
    pub props: BTreeMap<String, String>,
}

/// An error the SDK parser would raise: 1-based line and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Reads the sections in file order (leniently), plus the first error the
/// SDK parser would have raised.
pub(crate) fn read(doc: &Document, kind: FileKind) -> (Vec<RawSection>, Option<SyntaxError>) {
    let mut sections: Vec<RawSection> = Vec::new();
    let mut error: Option<SyntaxError> = None;
    // Index of the section being read (None before the first header or
    // after a malformed one), current property and whether it opened a
    // nested block.
    let mut current: Option<usize> = None;
    let mut seen_header = false;
    let mut property: Option<(String, bool)> = None;
    let mut fail = |line: usize, message: &str| {
        if error.is_none() {
            error = Some(SyntaxError {
                line,
                message: message.to_string(),
            });
        }
    };
    if doc.bom {
        // The SDKs do not strip it: the first line is text before any profile.
        fail(
            1,
            "Expected a profile definition (the file starts with a byte-order mark, U+FEFF)",
        );
    }
    for (i, line) in doc.lines.iter().enumerate() {
        let n = i + 1;
        match &line.kind {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Header { raw } => {
                seen_header = true;
                sections.push(RawSection {
                    id: section_id(raw, kind),
                    props: BTreeMap::new(),
                });
                current = Some(sections.len() - 1);
                property = None;
            }
            LineKind::BadHeader => {
                fail(n, "Profile definition must end with ']'");
                seen_header = true;
                current = None;
                property = None;
            }
            LineKind::Property { .. } | LineKind::NoName | LineKind::Junk if !seen_header => {
                fail(n, "Expected a profile definition");
            }
            LineKind::Property { key, value, .. } => {
                if let Some(s) = current.and_then(|c| sections.get_mut(c)) {
                    s.props.insert(key.clone(), value.clone());
                    property = Some((key.clone(), value.is_empty()));
                }
            }
            LineKind::NoName => {
                fail(n, "Property did not have a name");
                property = None;
            }
            LineKind::Junk => {
                fail(n, "Expected an '=' sign defining a property");
                property = None;
            }
            LineKind::Continuation => {
                if !seen_header {
                    fail(n, "Expected a profile definition");
                    continue;
                }
                let Some((key, nested)) = &property else {
                    fail(n, "Expected a property definition, found continuation");
                    continue;
                };
                if *nested {
                    match parse_property(&line.text) {
                        Ok(_) => {}
                        Err(PropertyError::NoEquals) => {
                            fail(n, "Expected an '=' sign defining a sub-property")
                        }
                        Err(PropertyError::NoName) => fail(n, "Sub-property did not have a name"),
                    }
                }
                if let Some(v) = current
                    .and_then(|c| sections.get_mut(c))
                    .and_then(|s| s.props.get_mut(key))
                {
                    v.push('\n');
                    v.push_str(line.text.trim_matches(WS));
                }
            }
        }
    }
    (sections, error)
}

pub(crate) fn validate(doc: &Document, kind: FileKind) -> Result<(), SyntaxError> {
    match read(doc, kind).1 {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn merge_valid(target: &mut BTreeMap<String, String>, props: &BTreeMap<String, String>) {
    for (k, v) in props {
        if super::parse::is_identifier(k) {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Splits a nested block (`"\nkey = value\n..."`) into a map, as botocore does.
pub(crate) fn parse_nested(value: &str) -> BTreeMap<String, String> {
    value
        .split('\n')
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// A nested block's or `[services]` property's sub-properties, as the SDKs
/// split them: at `\n` only, spaces and tabs trimmed, an empty name kept
/// (botocore also splits at a lone `\r` and trims any Unicode space).
pub(crate) fn sub_properties(value: &str) -> BTreeMap<String, String> {
    value
        .split('\n')
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim_matches(WS).to_string(),
                v.trim_matches(WS).to_string(),
            ))
        })
        .collect()
}

fn make_profile(properties: BTreeMap<String, String>) -> Profile {
    let nested = properties
        .iter()
        .filter(|(_, v)| v.starts_with('\n'))
        .map(|(k, v)| (k.clone(), parse_nested(v)))
        .collect();
    Profile { properties, nested }
}

/// Where each profile's sections start, built in one pass so that looking
/// up every profile of a file (`list`, `doctor`) stays linear in its size.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    /// Profile name -> (header line, `[profile default]` spelling) of each
    /// of its sections, in file order.
    sections: std::collections::HashMap<String, Vec<(usize, bool)>>,
    /// Profile names in file order, each once.
    names: Vec<String>,
    /// Whether `[profile default]` exists (then `[default]` is ignored).
    prefixed_default: bool,
}

impl Index {
    pub(crate) fn build(doc: &Document, kind: FileKind) -> Index {
        let mut index = Index::default();
        for (i, line) in doc.lines.iter().enumerate() {
            let LineKind::Header { raw } = &line.kind else {
                continue;
            };
            if let SectionId::Profile { name, prefixed } = section_id(raw, kind) {
                index.prefixed_default |= prefixed && name == "default";
                match index.sections.get_mut(&name) {
                    Some(v) => v.push((i, prefixed)),
                    None => {
                        index.names.push(name.clone());
                        index.sections.insert(name, vec![(i, prefixed)]);
                    }
                }
            }
        }
        index
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}

/// The properties of the one section whose header is line `header`, read
/// as [`read`] reads them (bad lines skipped).
fn read_section(doc: &Document, header: usize) -> BTreeMap<String, String> {
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    let mut property: Option<String> = None;
    for line in doc.lines.iter().skip(header + 1) {
        match &line.kind {
            LineKind::Header { .. } | LineKind::BadHeader => break,
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Property { key, value, .. } => {
                props.insert(key.clone(), value.clone());
                property = Some(key.clone());
            }
            LineKind::NoName | LineKind::Junk => property = None,
            LineKind::Continuation => {
                if let Some(v) = property.as_ref().and_then(|k| props.get_mut(k)) {
                    v.push('\n');
                    v.push_str(line.text.trim_matches(WS));
                }
            }
        }
    }
    props
}

pub(crate) fn profile(doc: &Document, index: &Index, name: &str) -> Option<Profile> {
    let sections = index.sections.get(name)?;
    let mut found = false;
    let mut props = BTreeMap::new();
    for &(header, prefixed) in sections {
        if name == "default" && index.prefixed_default && !prefixed {
            continue;
        }
        found = true;
        merge_valid(&mut props, &read_section(doc, header));
    }
    found.then(|| make_profile(props))
}

pub(crate) fn sso_session(
    doc: &Document,
    kind: FileKind,
    name: &str,
) -> Option<BTreeMap<String, String>> {
    let mut found = None;
    for s in read(doc, kind).0 {
        if matches!(&s.id, SectionId::SsoSession(n) if n == name) {
            merge_valid(found.get_or_insert_with(BTreeMap::new), &s.props);
        }
    }
    found
}

pub(crate) fn sso_session_names(doc: &Document, kind: FileKind) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in read(doc, kind).0 {
        if let SectionId::SsoSession(name) = s.id {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

pub(crate) fn services(
    doc: &Document,
    kind: FileKind,
    name: &str,
) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    let mut merged: Option<BTreeMap<String, String>> = None;
    for s in read(doc, kind).0 {
        if matches!(&s.id, SectionId::Services(n) if n == name) {
            merge_valid(merged.get_or_insert_with(BTreeMap::new), &s.props);
        }
    }
    merged.map(|props| {
        props
            .iter()
            .map(|(k, v)| (k.clone(), sub_properties(v)))
            .filter(|(_, m)| !m.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(t: &str) -> Document {
        Document::parse(t)
    }

    fn profile(d: &Document, kind: FileKind, name: &str) -> Option<Profile> {
        super::profile(d, &Index::build(d, kind), name)
    }

    fn profile_names(d: &Document, kind: FileKind) -> Vec<String> {
        Index::build(d, kind).names()
    }

    #[test]
    fn profiles_and_default() {
        let d = doc("[default]\na=1\n[profile default]\nb=2\n[profile x]\nc = 3 # c\n[y]\nd=4\n");
        assert_eq!(profile_names(&d, FileKind::Config), vec!["default", "x"]);
        let p = profile(&d, FileKind::Config, "default").unwrap();
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("a"), None);
        assert_eq!(
            profile(&d, FileKind::Config, "x").unwrap().get("c"),
            Some("3")
        );
        assert!(profile(&d, FileKind::Config, "y").is_none());
        assert_eq!(
            profile(&d, FileKind::Credentials, "y").unwrap().get("d"),
            Some("4")
        );
    }

    #[test]
    fn nested_and_services() {
        let d = doc("[profile a]\ns3 =\n  addressing_style = path\n\n  x = y=z\n[services dev]\nsts =\n  endpoint_url = http://localhost\n[sso-session s]\nsso_region = eu\n");
        let p = profile(&d, FileKind::Config, "a").unwrap();
        assert_eq!(p.get("s3"), Some("\naddressing_style = path\nx = y=z"));
        assert_eq!(p.nested["s3"]["x"], "y=z");
        let s = services(&d, FileKind::Config, "dev").unwrap();
        assert_eq!(s["sts"]["endpoint_url"], "http://localhost");
        assert_eq!(
            sso_session(&d, FileKind::Config, "s").unwrap()["sso_region"],
            "eu"
        );
        assert!(validate(&d, FileKind::Config).is_ok());
    }

    #[test]
    fn errors() {
        let e = validate(&doc("[profile a]\nx\n"), FileKind::Config).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("'=' sign"));
    }
}
