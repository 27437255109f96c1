//! Where the two readers of a file part ways: the AWS SDKs (the shared
//! profile-file rules, `meaning`) and botocore (the AWS CLI, `botocore`).
//! `setup` refuses to leave a profile it writes read differently, and
//! `doctor` lists every such place with its line and a fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::botocore::{self, Value};
use super::meaning::{self, section_id, SectionId};
use super::parse::{Document, LineKind};
use super::FileKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisagreementKind {
    /// The AWS SDKs cannot read the file at all.
    SdkCannotRead,
    /// botocore cannot read the file at all ("Unable to parse config file").
    CliCannotRead,
    /// One reader sees a profile (or session) the other does not.
    Header,
    /// Both see the section but read a key differently.
    Value,
}

/// One place the readers disagree (line is 1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    pub kind: DisagreementKind,
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
    /// The profile it concerns, if any.
    pub profile: Option<String>,
    pub sdk: String,
    pub botocore: String,
    pub fix: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: `{}`: the AWS SDKs {}, the AWS CLI (botocore) {}",
            self.line, self.text, self.sdk, self.botocore
        )
    }
}

fn show(v: &str) -> String {
    format!("`{}`", v.escape_debug())
}

fn show_boto(v: &Value) -> String {
    match v {
        Value::Text(t) => show(t),
        Value::Nested(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("the block {{{}}}", parts.join(", "))
        }
    }
}

/// Whether botocore's value means what the SDKs read.
fn same(sdk: &str, boto: &Value) -> bool {
    match boto {
        Value::Text(t) => t == sdk,
        Value::Nested(m) => sdk.starts_with('\n') && meaning::sub_properties(sdk) == *m,
    }
}

fn line_text(doc: &Document, line: usize) -> String {
    doc.lines
        .get(line.saturating_sub(1))
        .map(|l| l.text.trim().to_string())
        .unwrap_or_default()
}

/// The last line (1-based) defining `key` in a section the SDKs read as `id`.
fn sdk_line(doc: &Document, kind: FileKind, id: &dyn Fn(&SectionId) -> bool, key: &str) -> usize {
    let mut inside = false;
    let mut found = 0;
    for (i, l) in doc.lines.iter().enumerate() {
        match &l.kind {
            LineKind::Header { raw } => inside = id(&section_id(raw, kind)),
            LineKind::Property { key: k, .. } if inside && k == key => found = i + 1,
            _ => {}
        }
    }
    found
}

fn header_line(doc: &Document, kind: FileKind, id: &dyn Fn(&SectionId) -> bool) -> usize {
    doc.lines
        .iter()
        .position(|l| matches!(&l.kind, LineKind::Header { raw } if id(&section_id(raw, kind))))
        .map_or(0, |i| i + 1)
}

const VALUE_FIX: &str = "make it a plain `key = value` line: a comment on a line of its own, `=` rather than `:`, no blank or comment lines inside an indented block";

fn value_fix(sdk: Option<&str>, boto: Option<&Value>) -> String {
    if let (Some(s), Some(Value::Text(b))) = (sdk, boto) {
        if b.starts_with(s)
            && b.get(s.len()..)
                .is_some_and(|r| r.trim_start().starts_with(['#', ';']))
        {
            return "move the comment to a line of its own: botocore reads it as part of the value"
                .to_string();
        }
    }
    VALUE_FIX.to_string()
}

/// Every disagreement between the two readers in this file.
pub(crate) fn disagreements(doc: &Document, kind: FileKind) -> Vec<Disagreement> {
    let mut out = Vec::new();
    let sdk_error = meaning::validate(doc, kind).err();
    let boto = botocore::read(&doc.to_text());
    if let Some(e) = &sdk_error {
        out.push(Disagreement {
            kind: DisagreementKind::SdkCannotRead,
            line: e.line,
            text: line_text(doc, e.line),
            profile: None,
            sdk: format!("cannot read the file ({})", e.message),
            botocore: match &boto {
                Ok(_) => "reads it".to_string(),
                Err(_) => "cannot read it either".to_string(),
            },
            fix: "fix or remove that line".to_string(),
        });
    }
    let sections = match boto {
        Ok(s) => s,
        Err(f) => {
            out.push(Disagreement {
                kind: DisagreementKind::CliCannotRead,
                line: f.line,
                text: line_text(doc, f.line),
                profile: None,
                sdk: if sdk_error.is_some() {
                    "cannot read the file either".to_string()
                } else {
                    "read the file".to_string()
                },
                botocore: format!("cannot read the file at all: {}", f.message),
                fix: "fix or remove that line (`aws` fails with \"Unable to parse config file\" until then)".to_string(),
            });
            return out;
        }
    };
    // A file the SDKs reject is still compared, as they would read it
    // once that line is fixed, so that doctor can list everything at once.
    let views = botocore::views(sections, kind == FileKind::Config);
    let index = meaning::Index::build(doc, kind);
    let mut names: BTreeSet<String> = index.names().into_iter().collect();
    names.extend(views.profiles.keys().cloned());
    for name in names {
        let sdk = meaning::profile(doc, &index, &name).map(|p| p.properties);
        let is_it = |id: &SectionId| matches!(id, SectionId::Profile { name: n, .. } if *n == name);
        compare(
            doc,
            kind,
            &mut out,
            &name,
            Some(&name),
            sdk,
            views.profiles.get(&name),
            &is_it,
        );
    }
    if kind == FileKind::Config {
        let mut names: BTreeSet<String> =
            meaning::sso_session_names(doc, kind).into_iter().collect();
        names.extend(views.sso_sessions.keys().cloned());
        for name in names {
            let sdk = meaning::sso_session(doc, kind, &name);
            let is_it = |id: &SectionId| matches!(id, SectionId::SsoSession(n) if *n == name);
            let label = format!("sso-session {name}");
            compare(
                doc,
                kind,
                &mut out,
                &label,
                None,
                sdk,
                views.sso_sessions.get(&name),
                &is_it,
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn compare(
    doc: &Document,
    kind: FileKind,
    out: &mut Vec<Disagreement>,
    label: &str,
    profile: Option<&String>,
    sdk: Option<BTreeMap<String, String>>,
    boto: Option<&botocore::Section>,
    is_it: &dyn Fn(&SectionId) -> bool,
) {
    let seen = |yes: bool| {
        if yes {
            format!("read [{label}]")
        } else {
            format!("see no [{label}]")
        }
    };
    let (sdk, boto) = match (sdk, boto) {
        (None, None) => return,
        (Some(s), Some(b)) => (s, b),
        (s, b) => {
            let line = b.map_or_else(|| header_line(doc, kind, is_it), |b| b.line);
            out.push(Disagreement {
                kind: DisagreementKind::Header,
                line,
                text: line_text(doc, line),
                profile: profile.cloned(),
                sdk: seen(s.is_some()),
                botocore: seen(b.is_some()),
                fix: "write the header as `[profile NAME]` (config) or `[NAME]` (credentials), without extra spaces or quotes".to_string(),
            });
            return;
        }
    };
    let keys: BTreeSet<&String> = sdk.keys().chain(boto.options.keys()).collect();
    for key in keys {
        let s = sdk.get(key);
        let b = boto.options.get(key);
        if let (Some(s), Some((b, _))) = (s, b) {
            if same(s, b) {
                continue;
            }
        }
        let line = b.map_or_else(|| sdk_line(doc, kind, is_it, key), |(_, l)| *l);
        out.push(Disagreement {
            kind: DisagreementKind::Value,
            line,
            text: line_text(doc, line),
            profile: profile.cloned(),
            sdk: match s {
                Some(v) => format!("read [{label}] {key} = {}", show(v)),
                None => format!("see no `{key}` in [{label}]"),
            },
            botocore: match b {
                Some((v, _)) => format!("reads {}", show_boto(v)),
                None => format!("sees no `{key}` there"),
            },
            fix: value_fix(s.map(String::as_str), b.map(|(v, _)| v)),
        });
    }
}

/// What both readers see outside some profiles: botocore's other sections
/// and the SDKs' other profiles. An edit of those profiles must leave it
/// as it was (a line that holds a lone `\r` is two lines to botocore, so
/// removing it can remove a header botocore saw).
#[derive(Debug, PartialEq, Eq)]
pub struct Outside {
    botocore: Option<Vec<(String, BTreeMap<String, Value>)>>,
    sdk: Vec<(String, Option<BTreeMap<String, String>>)>,
}

impl Outside {
    /// Whether `after` reads as this did (botocore's part only when it
    /// could read this at all).
    pub fn kept_in(&self, after: &Outside) -> bool {
        self.sdk == after.sdk && (self.botocore.is_none() || self.botocore == after.botocore)
    }
}

pub(crate) fn outside(doc: &Document, kind: FileKind, names: &[&str]) -> Outside {
    let touches = |section: &str| match kind {
        FileKind::Credentials => names.contains(&section.trim()),
        // `[profile x]`, `[default]`, and spellings setup normalises (`[ profile x ]`).
        FileKind::Config => {
            botocore::shlex_split(section)
                .and_then(|p| p.last().cloned())
                .is_some_and(|n| names.contains(&n.as_str()))
                || section
                    .split_whitespace()
                    .last()
                    .is_some_and(|n| names.contains(&n))
        }
    };
    let botocore = botocore::read(&doc.to_text()).ok().map(|sections| {
        sections
            .into_iter()
            .filter(|s| !touches(&s.name))
            .map(|s| {
                let options = s.options.into_iter().map(|(k, (v, _))| (k, v)).collect();
                (s.name, options)
            })
            .collect()
    });
    let index = meaning::Index::build(doc, kind);
    let sdk = index
        .names()
        .into_iter()
        .filter(|n| !names.contains(&n.as_str()))
        .map(|n| {
            let p = meaning::profile(doc, &index, &n).map(|p| p.properties);
            (n, p)
        })
        .collect();
    Outside { botocore, sdk }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, kind: FileKind) -> Vec<(DisagreementKind, usize)> {
        disagreements(&Document::parse(text), kind)
            .into_iter()
            .map(|d| (d.kind, d.line))
            .collect()
    }

    #[test]
    fn the_three_files_of_the_issue() {
        use DisagreementKind::*;
        assert_eq!(
            found("[ profile blue ]\nregion = x\n", FileKind::Config),
            [(Header, 1)]
        );
        let broken = found(
            "[profile a]\nx = 1\n[profile blue\nregion = x\n",
            FileKind::Config,
        );
        assert_eq!(broken, [(SdkCannotRead, 3), (CliCannotRead, 3)]);
        let d = disagreements(
            &Document::parse("[profile blue]\nregion = eu-west-1 # main account\n"),
            FileKind::Config,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 2);
        // Removing `role_arn`'s line would remove botocore's [plugins] too.
        let before = Document::parse("[profile a]\nrole_arn = x\r[plugins]\n");
        let after = Document::parse("[profile a]\n");
        let was = outside(&before, FileKind::Config, &["a"]);
        assert!(!was.kept_in(&outside(&after, FileKind::Config, &["a"])));
        assert!(was.kept_in(&outside(&before, FileKind::Config, &["a"])));
        assert!(d[0].sdk.contains("`eu-west-1`"), "{}", d[0]);
        assert!(
            d[0].botocore.contains("`eu-west-1 # main account`"),
            "{}",
            d[0]
        );
        assert!(d[0].fix.contains("comment"), "{}", d[0].fix);
    }

    #[test]
    fn agreeing_files() {
        for t in [
            "",
            "[default]\nregion = x\n[profile a]\ns3 =\n  a = b\n[sso-session s]\nx = 1\n",
            "# c\n[profile a] # c\nk = a#b\n\n",
        ] {
            assert_eq!(found(t, FileKind::Config), [], "{t}");
        }
    }
}
