//! Text -> lines that remember their exact bytes.
//!
//! A document is an optional byte-order mark followed by lines; every line
//! keeps its content and its own line ending (`"\n"`, `"\r\n"`, or `""` for a
//! last line without a newline). Printing the lines back gives the input byte
//! for byte. Each line is also classified the way the AWS SDKs' shared
//! profile-file rules see it (see `meaning.rs`), which is what edits use to
//! find sections, properties and their continuation lines.

/// Whitespace as the SDK profile parser understands it (space and tab only).
pub(crate) const WS: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];
const BOM: char = '\u{feff}';

/// How the SDK profile parser reads one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Empty or only spaces/tabs.
    Blank,
    /// Starts with `#` or `;` (no leading whitespace).
    Comment,
    /// `[ ... ]` (comments stripped): `raw` is the text between the brackets.
    Header { raw: String },
    /// Starts with `[` but has no closing `]` once comments are stripped.
    BadHeader,
    /// Starts with a space or tab and is not blank.
    Continuation,
    /// `key = value`: `key` is trimmed and ASCII-lowercased; `value` is what
    /// the SDK reads (trimmed, inline comment stripped); `value_start` is the
    /// byte offset in the line where the text after `=` and its spacing
    /// begins.
    Property {
        key: String,
        value: String,
        value_start: usize,
    },
    /// A property line with nothing before `=`.
    NoName,
    /// Anything else (no `=`), which the SDK rejects.
    Junk,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub text: String,
    pub ending: &'static str,
    pub kind: LineKind,
}

impl Line {
    pub fn new(text: String, ending: &'static str) -> Line {
        let kind = classify(&text);
        Line { text, ending, kind }
    }

    pub fn is_blank(&self) -> bool {
        self.kind == LineKind::Blank
    }

    pub fn is_header(&self) -> bool {
        matches!(self.kind, LineKind::Header { .. } | LineKind::BadHeader)
    }

    pub fn is_comment(&self) -> bool {
        self.kind == LineKind::Comment
    }

    /// A line that carries content inside a section (not blank, not a
    /// comment, not a header).
    pub fn is_content(&self) -> bool {
        !(self.is_blank() || self.is_comment() || self.is_header())
    }
}

/// A parsed file: BOM flag plus lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Document {
    pub bom: bool,
    pub lines: Vec<Line>,
}

impl Document {
    pub fn parse(text: &str) -> Document {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut lines = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            match rest.find('\n') {
                Some(i) => {
                    let (content, after) = rest.split_at(i);
                    // `after` starts with the one-byte '\n'.
                    rest = after.get(1..).unwrap_or("");
                    match content.strip_suffix('\r') {
                        Some(c) => lines.push(Line::new(c.to_string(), "\r\n")),
                        None => lines.push(Line::new(content.to_string(), "\n")),
                    }
                }
                None => {
                    lines.push(Line::new(rest.to_string(), ""));
                    rest = "";
                }
            }
        }
        Document { bom, lines }
    }

    pub fn to_text(&self) -> String {
        let len: usize = self
            .lines
            .iter()
            .map(|l| l.text.len() + l.ending.len())
            .sum();
        let mut out = String::with_capacity(len + 3);
        if self.bom {
            out.push(BOM);
        }
        for l in &self.lines {
            out.push_str(&l.text);
            out.push_str(l.ending);
        }
        out
    }

    /// The line ending new lines should use: CRLF when most lines use it.
    pub fn eol(&self) -> &'static str {
        let crlf = self.lines.iter().filter(|l| l.ending == "\r\n").count();
        let lf = self.lines.iter().filter(|l| l.ending == "\n").count();
        if crlf > lf {
            "\r\n"
        } else {
            "\n"
        }
    }
}

/// Strips leading/trailing whitespace and a trailing comment, as the SDK's
/// `prepare_line` does. With `comments_need_whitespace`, `#`/`;` only start
/// a comment when preceded by whitespace.
pub(crate) fn prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches(WS);
    let mut prev_ws = false;
    let mut cut = line.len();
    for (idx, ch) in line.char_indices() {
        if COMMENT.contains(&ch) && (prev_ws || !comments_need_whitespace) {
            cut = idx;
            break;
        }
        prev_ws = ch.is_whitespace();
    }
    line.get(..cut).unwrap_or(line).trim_matches(WS)
}

/// Splits a property line into (lowercased key, value) per the SDK rules.
pub(crate) fn parse_property(line: &str) -> Result<(String, String), PropertyError> {
    let prepared = prepare_line(line, true);
    let (k, v) = prepared.split_once('=').ok_or(PropertyError::NoEquals)?;
    let k = k.trim_matches(WS);
    if k.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((k.to_ascii_lowercase(), v.trim_matches(WS).to_string()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PropertyError {
    NoEquals,
    NoName,
}

fn classify(text: &str) -> LineKind {
    if text.trim_matches(WS).is_empty() {
        return LineKind::Blank;
    }
    if text.starts_with(COMMENT) {
        return LineKind::Comment;
    }
    if text.starts_with('[') {
        let p = prepare_line(text, false);
        return match p.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(raw) => LineKind::Header {
                raw: raw.to_string(),
            },
            None => LineKind::BadHeader,
        };
    }
    if text.starts_with(WS) {
        return LineKind::Continuation;
    }
    match parse_property(text) {
        Ok((key, value)) => {
            // `=` exists (parse succeeded); the value text starts after it
            // and its spacing.
            let eq = text.find('=').unwrap_or(text.len());
            let after = text.get(eq + 1..).unwrap_or("");
            let spacing = after.len() - after.trim_start_matches(WS).len();
            LineKind::Property {
                key,
                value,
                value_start: (eq + 1 + spacing).min(text.len()),
            }
        }
        Err(PropertyError::NoName) => LineKind::NoName,
        Err(PropertyError::NoEquals) => LineKind::Junk,
    }
}

/// A section header's name split the SDK way: `[profile foo]` ->
/// (Some("profile"), "foo"); `[default]` -> (None, "default").
pub(crate) fn split_section(raw: &str) -> (Option<&str>, &str) {
    let t = raw.trim_matches(WS);
    match t.split_once(WS) {
        Some((prefix, suffix)) => (Some(prefix.trim()), suffix.trim()),
        None => (None, t.trim()),
    }
}

/// The SDK identifier set: `[A-Za-z0-9_\-/.%@:+]+`.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_edges() {
        for t in [
            "",
            "\n",
            "\r\n",
            "a",
            "a\r",
            "\u{feff}",
            "\u{feff}[default]\r\nx=1",
            "a\n\rb\r\r\n",
            "é\tü\n",
        ] {
            assert_eq!(Document::parse(t).to_text(), t);
        }
    }

    #[test]
    fn classify_lines() {
        assert_eq!(classify("  "), LineKind::Blank);
        assert_eq!(classify("# x"), LineKind::Comment);
        assert_eq!(
            classify("[profile a] # c"),
            LineKind::Header {
                raw: "profile a".into()
            }
        );
        assert_eq!(classify("[profile a"), LineKind::BadHeader);
        assert_eq!(classify(" x"), LineKind::Continuation);
        assert_eq!(classify("= x"), LineKind::NoName);
        assert_eq!(classify("x : y"), LineKind::Junk);
        assert_eq!(
            classify("Name \t= v # c"),
            LineKind::Property {
                key: "name".into(),
                value: "v".into(),
                value_start: 8
            }
        );
        assert_eq!(
            classify("a ="),
            LineKind::Property {
                key: "a".into(),
                value: "".into(),
                value_start: 3
            }
        );
    }

    #[test]
    fn sections() {
        assert_eq!(split_section(" profile \tfoo "), (Some("profile"), "foo"));
        assert_eq!(split_section("default"), (None, "default"));
        assert!(is_identifier("some-thing:long/the_one%only.foo@bar+"));
        assert!(!is_identifier("foo!bar"));
        assert!(!is_identifier(""));
    }
}
