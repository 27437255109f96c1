//! How botocore (the AWS CLI, boto3) reads a file, modelled closely enough
//! to tell where it and the AWS SDKs part ways: Python's
//! `configparser.RawConfigParser` with its defaults (Python 3.11: `=` and
//! `:` delimiters, whole-line comments only, indented lines continue a
//! value, strict about duplicates, `[DEFAULT]` inherited by every section),
//! then botocore's `raw_config_parse` (nested blocks) and
//! `build_profile_map` (`shlex`-split headers, later sections replace
//! earlier ones). `tests/it/awsfile_readers.rs` checks this model against the
//! real botocore on generated files.

use std::collections::BTreeMap;

/// A value as botocore returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    /// A value that starts with a newline, split into `key = value` lines.
    Nested(BTreeMap<String, String>),
}

/// One section: its name as written between the brackets, the 1-based
/// line of its header, and each option with the line that defined it.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub name: String,
    pub line: usize,
    pub options: BTreeMap<String, (Value, usize)>,
}

/// Why botocore cannot read the file ("Unable to parse config file").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub line: usize,
    pub message: String,
}

/// What botocore's session sees in one file.
#[derive(Debug, Default)]
pub(crate) struct Views {
    pub profiles: BTreeMap<String, Section>,
    pub sso_sessions: BTreeMap<String, Section>,
    pub services: BTreeMap<String, Section>,
}

/// Python's `str.isspace()`: Unicode whitespace plus the separators U+001C..U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// The lines Python's text mode yields (universal newlines: `\r\n`, `\r`
/// and `\n` all end a line), each with the 1-based line number crossrole
/// gives it (crossrole, like the SDKs, ends lines only at `\n`).
fn py_lines(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = 1;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\n') => {
                out.push((text.get(start..i).unwrap_or(""), line));
                line += 1;
                start = i + 1;
            }
            Some(b'\r') => {
                out.push((text.get(start..i).unwrap_or(""), line));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                    line += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        out.push((text.get(start..).unwrap_or(""), line));
    }
    out
}

/// Python's `str.splitlines()` line breaks.
fn py_splitlines(s: &str) -> Vec<&str> {
    s.split([
        '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
        '\u{2029}',
    ])
    .collect()
}

/// `shlex.split(s)` in POSIX mode; `None` where Python raises ValueError.
pub(crate) fn shlex_split(s: &str) -> Option<Vec<String>> {
    #[derive(PartialEq)]
    enum Q {
        No,
        Single,
        Double,
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut q = Q::No;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match q {
            Q::No => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if in_token {
                        out.push(std::mem::take(&mut cur));
                        in_token = false;
                    }
                }
                '\\' => {
                    cur.push(chars.next()?);
                    in_token = true;
                }
                '\'' => {
                    q = Q::Single;
                    in_token = true;
                }
                '"' => {
                    q = Q::Double;
                    in_token = true;
                }
                _ => {
                    cur.push(c);
                    in_token = true;
                }
            },
            Q::Single if c == '\'' => q = Q::No,
            Q::Single => cur.push(c),
            Q::Double => match c {
                '"' => q = Q::No,
                '\\' => {
                    let n = chars.next()?;
                    if n != '"' && n != '\\' {
                        cur.push('\\');
                    }
                    cur.push(n);
                }
                _ => cur.push(c),
            },
        }
    }
    if q != Q::No {
        return None;
    }
    if in_token {
        out.push(cur);
    }
    Some(out)
}

/// configparser's `OPTCRE`: the option name up to the first `=` or `:`.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let at = value.find(['=', ':'])?;
    let name = value.get(..at).unwrap_or("").trim_end_matches(py_space);
    let rest = value.get(at + 1..).unwrap_or("");
    Some((name, py_strip(rest)))
}

struct RawSection {
    name: String,
    line: usize,
    /// Option -> (value lines, line of the option).
    options: BTreeMap<String, (Vec<String>, usize)>,
}

type Options = BTreeMap<String, (Vec<String>, usize)>;

fn options_of<'a>(
    cur: Option<Option<usize>>,
    sections: &'a mut [RawSection],
    defaults: &'a mut Options,
) -> Option<&'a mut Options> {
    match cur {
        Some(Some(i)) => sections.get_mut(i).map(|s| &mut s.options),
        Some(None) => Some(defaults),
        None => None,
    }
}

/// `RawConfigParser.read` + `raw_config_parse`: the sections in file order.
pub(crate) fn read(text: &str) -> Result<Vec<Section>, Failure> {
    let fail = |line: usize, message: String| Err(Failure { line, message });
    let mut sections: Vec<RawSection> = Vec::new();
    let mut defaults: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    // Current section: None, Some(None) for [DEFAULT], Some(Some(i)).
    let mut cur: Option<Option<usize>> = None;
    let mut opt: Option<String> = None;
    let mut indent_level = 0usize;
    let mut deferred: Option<Failure> = None;
    for (raw, n) in py_lines(text) {
        let stripped = py_strip(raw);
        let comment = stripped.starts_with(['#', ';']);
        let value = if comment { "" } else { stripped };
        if value.is_empty() {
            if !comment {
                if let (Some(options), Some(o)) =
                    (options_of(cur, &mut sections, &mut defaults), &opt)
                {
                    if let Some((lines, _)) = options.get_mut(o) {
                        lines.push(String::new());
                    }
                }
            }
            continue;
        }
        let indent = raw.chars().take_while(|c| py_space(*c)).count();
        if let (Some(options), Some(o)) = (options_of(cur, &mut sections, &mut defaults), &opt) {
            if indent > indent_level {
                if let Some((lines, _)) = options.get_mut(o) {
                    lines.push(value.to_string());
                }
                continue;
            }
        }
        indent_level = indent;
        if let Some(header) = value
            .strip_prefix('[')
            .and_then(|v| v.rfind(']').and_then(|e| v.get(..e)))
            .filter(|h| !h.is_empty())
        {
            opt = None;
            if header == "DEFAULT" {
                cur = Some(None);
            } else if sections.iter().any(|s| s.name == header) {
                return fail(
                    n,
                    format!("section `{header}` appears more than once (DuplicateSectionError)"),
                );
            } else {
                sections.push(RawSection {
                    name: header.to_string(),
                    line: n,
                    options: BTreeMap::new(),
                });
                cur = Some(Some(sections.len() - 1));
            }
            continue;
        }
        let (section_name, options) = match cur {
            None => {
                return fail(
                    n,
                    "a line before the first section header (MissingSectionHeaderError)".into(),
                )
            }
            Some(Some(i)) => match sections.get_mut(i) {
                Some(s) => (s.name.clone(), &mut s.options),
                None => continue,
            },
            Some(None) => ("DEFAULT".to_string(), &mut defaults),
        };
        let Some((name, val)) = split_option(value) else {
            deferred.get_or_insert(Failure {
                line: n,
                message: "a line that is neither a section header nor `key = value` (ParsingError)"
                    .into(),
            });
            continue;
        };
        if name.is_empty() {
            deferred.get_or_insert(Failure {
                line: n,
                message: "a property without a name (ParsingError)".into(),
            });
        }
        let name = name.to_lowercase();
        if options.contains_key(&name) {
            return fail(
                n,
                format!("option `{name}` appears more than once in [{section_name}] (DuplicateOptionError)"),
            );
        }
        options.insert(name.clone(), (vec![val.to_string()], n));
        opt = Some(name);
    }
    if let Some(f) = deferred {
        return Err(f);
    }
    let join = |lines: &[String]| lines.join("\n").trim_end_matches(py_space).to_string();
    let mut out = Vec::new();
    for s in sections {
        let mut options = BTreeMap::new();
        let inherited = defaults.iter().filter(|(k, _)| !s.options.contains_key(*k));
        for (k, (lines, line)) in s.options.iter().chain(inherited) {
            let text = join(lines);
            let value = if text.starts_with('\n') {
                Value::Nested(nested(&text).ok_or_else(|| Failure {
                    line: *line,
                    message: format!("`{k}` starts a nested block with a line that has no `=`"),
                })?)
            } else {
                Value::Text(text)
            };
            options.insert(k.clone(), (value, *line));
        }
        out.push(Section {
            name: s.name,
            line: s.line,
            options,
        });
    }
    Ok(out)
}

/// botocore's `_parse_nested`; `None` where it raises.
fn nested(text: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for l in py_splitlines(text) {
        let l = py_strip(l);
        if l.is_empty() {
            continue;
        }
        let (k, v) = l.split_once('=')?;
        out.insert(py_strip(k).to_string(), py_strip(v).to_string());
    }
    Some(out)
}

/// `build_profile_map` for a config file; a credentials file's profiles
/// are its sections by their exact names.
pub(crate) fn views(sections: Vec<Section>, config: bool) -> Views {
    let mut v = Views::default();
    for s in sections {
        if !config {
            v.profiles.insert(s.name.clone(), s);
            continue;
        }
        let map = if s.name.starts_with("profile") {
            &mut v.profiles
        } else if s.name.starts_with("sso-session") {
            &mut v.sso_sessions
        } else if s.name.starts_with("services") {
            &mut v.services
        } else if s.name == "default" {
            v.profiles.insert(s.name.clone(), s);
            continue;
        } else {
            continue;
        };
        if let Some([_, name]) = shlex_split(&s.name).as_deref() {
            map.insert(name.clone(), s);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        read(text).unwrap().into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn lines_and_headers() {
        assert_eq!(py_lines("a\r\nb\rc\n"), vec![("a", 1), ("b", 2), ("c", 2)]);
        assert_eq!(names("[profile a] # c\n[ x ]\n"), ["profile a", " x "]);
        assert!(read("[profile a\n").is_err());
        assert!(read("\u{feff}[default]\n").is_err());
        assert_eq!(read("[a]\n[a]\n").unwrap_err().line, 2);
        assert_eq!(read("[a]\nk=1\nK=2\n").unwrap_err().line, 3);
    }

    #[test]
    fn values() {
        let s =
            read("[DEFAULT]\nq = 1\n[p]\nr = eu # x\ns3 =\n  a = b\n\n  c=d\nk : v\n  more\n\n")
                .unwrap();
        let o = &s[0].options;
        assert_eq!(o["r"].0, Value::Text("eu # x".into()));
        assert_eq!(o["q"], (Value::Text("1".into()), 2));
        assert_eq!(o["k"].0, Value::Text("v\nmore".into()));
        let Value::Nested(m) = &o["s3"].0 else {
            panic!()
        };
        assert_eq!(m["c"], "d");
        assert!(read("[p]\nk =\n  x\n").is_err());
    }

    #[test]
    fn profile_map() {
        let v = views(
            read("[default]\na=1\n[profile default]\nb=2\n[profile \"q r\"]\n[profilex y]\n[sso-session s]\n").unwrap(),
            true,
        );
        assert_eq!(
            v.profiles.keys().collect::<Vec<_>>(),
            ["default", "q r", "y"]
        );
        assert!(v.profiles["default"].options.contains_key("b"));
        assert!(v.sso_sessions.contains_key("s"));
        assert_eq!(
            shlex_split("a 'b c' \"d\\\"\"").unwrap(),
            ["a", "b c", "d\""]
        );
        assert_eq!(shlex_split("a \"b"), None);
    }
}
