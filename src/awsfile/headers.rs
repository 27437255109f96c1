//! Section headers that the AWS SDKs and botocore (the AWS CLI) read as
//! different profiles, e.g. `[ profile blue ]`: the SDK rules trim the
//! spaces and see `blue`, botocore sees no profile at all. crossrole writes
//! only the plain spelling, normalises the headers of the sections it edits,
//! and `doctor` points at the others.

use super::edit::section_label;
use super::meaning::{section_id, SectionId};
use super::parse::{Document, Line, LineKind};
use super::FileKind;

/// What one reader makes of a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A profile of this name.
    Profile(String),
    /// Not a profile (another kind of section, or ignored).
    Nothing,
    /// Quotes or escapes that botocore's shell-like split reads in ways
    /// not modelled here: treated as a mismatch.
    Unsure,
}

/// A header the two readers see differently (line is 1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMismatch {
    pub line: usize,
    pub header: String,
    pub sdk: Seen,
    pub botocore: Seen,
}

/// The SDK rules' reading of a header line.
fn sdk_view(raw: &str, kind: FileKind) -> Seen {
    match section_id(raw, kind) {
        SectionId::Profile { name, .. } => Seen::Profile(name),
        _ => Seen::Nothing,
    }
}

/// botocore's reading: configparser takes the text between the first `[`
/// and the last `]` of the stripped line, untrimmed; a config section is a
/// profile when that text is `default`, or starts with `profile` and
/// shlex-splits into two words; a credentials section is a profile named by
/// that text as it is.
fn botocore_view(line: &str, kind: FileKind) -> Seen {
    let t = line.trim();
    let Some(inner) = t.strip_prefix('[') else {
        return Seen::Nothing;
    };
    let Some(close) = inner.rfind(']') else {
        return Seen::Nothing;
    };
    let raw = inner.get(..close).unwrap_or("");
    if raw.is_empty() {
        return Seen::Nothing;
    }
    match kind {
        FileKind::Credentials => Seen::Profile(raw.to_string()),
        FileKind::Config if raw == "default" => Seen::Profile(raw.to_string()),
        FileKind::Config if raw.starts_with("profile") => {
            if raw.contains(['"', '\'', '\\']) {
                return Seen::Unsure;
            }
            match raw.split_whitespace().collect::<Vec<_>>().as_slice() {
                [_, name] => Seen::Profile(name.to_string()),
                _ => Seen::Nothing,
            }
        }
        FileKind::Config => Seen::Nothing,
    }
}

fn mismatch_at(line: &Line, kind: FileKind) -> Option<(Seen, Seen)> {
    let LineKind::Header { raw } = &line.kind else {
        return None;
    };
    let sdk = sdk_view(raw, kind);
    let botocore = botocore_view(&line.text, kind);
    (sdk != botocore || botocore == Seen::Unsure).then_some((sdk, botocore))
}

pub(crate) fn mismatches(doc: &Document, kind: FileKind) -> Vec<HeaderMismatch> {
    doc.lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            mismatch_at(line, kind).map(|(sdk, botocore)| HeaderMismatch {
                line: i + 1,
                header: line.text.trim().to_string(),
                sdk,
                botocore,
            })
        })
        .collect()
}

/// Rewrites each header that the SDK rules read as `profile` but botocore
/// does not, to the plain `[profile NAME]` (`[NAME]`, `[default]`).
/// Returns the old header texts.
pub(crate) fn normalize(doc: &mut Document, kind: FileKind, profile: &str) -> Vec<String> {
    let mut old = Vec::new();
    for line in doc.lines.iter_mut() {
        let Some((Seen::Profile(name), _)) = mismatch_at(line, kind) else {
            continue;
        };
        if name == profile {
            old.push(line.text.trim().to_string());
            *line = Line::new(format!("[{}]", section_label(kind, profile)), line.ending);
        }
    }
    old
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, kind: FileKind) -> Vec<(usize, Seen, Seen)> {
        mismatches(&Document::parse(text), kind)
            .into_iter()
            .map(|m| (m.line, m.sdk, m.botocore))
            .collect()
    }

    #[test]
    fn spaced_headers_are_mismatches() {
        let p = |s: &str| Seen::Profile(s.to_string());
        assert_eq!(
            found(
                "[ profile blue ]\n[profile  a]\n[profile\tb]\n[ default ]\n[profilex c]\n[profile d] # x\n",
                FileKind::Config
            ),
            vec![
                (1, p("blue"), Seen::Nothing),
                (4, p("default"), Seen::Nothing),
                (5, Seen::Nothing, p("c")),
            ]
        );
        assert_eq!(
            found("[profile \"q\"]\n", FileKind::Config),
            vec![(1, Seen::Nothing, Seen::Unsure)]
        );
        assert_eq!(
            found("[ green ]\n[blue]\n", FileKind::Credentials),
            vec![(1, p("green"), p(" green "))]
        );
    }

    #[test]
    fn normalize_rewrites_only_the_named_profile() {
        let mut d = Document::parse("[ profile blue ]\r\nx = 1\n[ profile other ]\n");
        assert_eq!(
            normalize(&mut d, FileKind::Config, "blue"),
            vec!["[ profile blue ]".to_string()]
        );
        assert_eq!(d.to_text(), "[profile blue]\r\nx = 1\n[ profile other ]\n");
        let mut d = Document::parse("[ default ]\n");
        normalize(&mut d, FileKind::Config, "default");
        assert_eq!(d.to_text(), "[default]\n");
    }
}
