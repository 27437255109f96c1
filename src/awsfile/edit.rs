//! Edits on a [`Document`]: set/remove a key, remove a section, add a
//! section. Each edit touches only the lines it must; new lines use the
//! file's line ending and are formatted `key = value`.

use super::meaning::{section_id, SectionId};
use super::parse::{is_identifier, Document, Line, LineKind, WS};
use super::{Error, FileKind};

/// Where a refused edit points: the file's path or a label for it.
pub(crate) struct Ctx<'a> {
    pub kind: FileKind,
    pub path: &'a str,
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(|i| (i + 1).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The header text a profile gets in this kind of file.
pub(crate) fn section_label(kind: FileKind, profile: &str) -> String {
    match kind {
        FileKind::Config if profile == "default" => "default".to_string(),
        FileKind::Config => format!("profile {profile}"),
        FileKind::Credentials => profile.to_string(),
    }
}

pub(crate) fn check_profile_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.contains(['\n', '\r']) {
        return bad("it contains a line break");
    }
    if name.contains(['[', ']']) {
        return bad("it contains `[` or `]`");
    }
    if name.chars().any(char::is_whitespace) {
        return bad("it contains whitespace");
    }
    if !is_identifier(name) {
        return bad("only letters, digits and _ - / . % @ : + are allowed");
    }
    Ok(())
}

pub(crate) fn check_key(key: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("the key is empty");
    }
    if key.contains(['\n', '\r']) {
        return bad("it contains a line break");
    }
    if !is_identifier(key) {
        return bad("only letters, digits and _ - / . % @ : + are allowed");
    }
    Ok(())
}

pub(crate) fn check_value(key: &str, value: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidValue {
            key: key.to_string(),
            reason,
        })
    };
    if value.contains(['\n', '\r']) {
        return bad("it contains a line break");
    }
    if value.contains('\0') {
        return bad("it contains a NUL character");
    }
    if value
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return bad("it contains a control character");
    }
    if value.is_empty() {
        return bad("it is empty (an empty value starts a nested block)");
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return bad("it starts or ends with whitespace, which readers trim");
    }
    if value.starts_with(['#', ';']) {
        return bad("it starts with `#` or `;`, which the AWS SDKs read as a comment");
    }
    let mut prev_ws = false;
    for c in value.chars() {
        if (c == '#' || c == ';') && prev_ws {
            return bad(
                "it contains `#` or `;` after whitespace, which the AWS SDKs read as a comment but botocore does not",
            );
        }
        prev_ws = c.is_whitespace();
    }
    Ok(())
}

/// Index of the header line of the section that holds `profile`, if any;
/// refuses a section that appears more than once.
fn find_section(doc: &Document, ctx: &Ctx, profile: &str) -> Result<Option<usize>, Error> {
    let found: Vec<usize> = doc
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| match &l.kind {
            LineKind::Header { raw } => {
                matches!(section_id(raw, ctx.kind), SectionId::Profile { name, .. } if name == profile)
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(Error::DuplicateSection {
            path: ctx.path.to_string(),
            section: section_label(ctx.kind, profile),
            lines: join_lines(&found),
        }),
    }
}

/// End (exclusive) of the section whose header is at `start`.
fn section_end(doc: &Document, start: usize) -> usize {
    doc.lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, l)| l.is_header())
        .map(|(i, _)| i)
        .unwrap_or(doc.lines.len())
}

/// Last line (inclusive) of the property starting at `at`: its continuation
/// lines and any blank/comment lines between them.
fn property_end(doc: &Document, at: usize, end: usize) -> usize {
    let mut last = at;
    for i in at + 1..end {
        match doc.lines.get(i).map(|l| &l.kind) {
            Some(LineKind::Continuation) => last = i,
            Some(LineKind::Blank | LineKind::Comment) => {}
            _ => break,
        }
    }
    last
}

/// The line of `key` in the section `[start, end)`; refuses a key that
/// appears more than once.
fn find_key(
    doc: &Document,
    ctx: &Ctx,
    profile: &str,
    key: &str,
    start: usize,
    end: usize,
) -> Result<Option<usize>, Error> {
    let found: Vec<usize> = (start + 1..end)
        .filter(|&i| {
            matches!(doc.lines.get(i).map(|l| &l.kind),
                Some(LineKind::Property { key: k, .. }) if k.eq_ignore_ascii_case(key))
        })
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(Error::DuplicateKey {
            path: ctx.path.to_string(),
            section: section_label(ctx.kind, profile),
            key: key.to_string(),
            lines: join_lines(&found),
        }),
    }
}

/// Removes lines `[from, to]` (inclusive); if they held the file's last line
/// without a newline, the new last line loses its newline too.
fn remove_lines(doc: &mut Document, from: usize, to: usize) {
    let to = to.min(doc.lines.len().saturating_sub(1));
    if from > to {
        return;
    }
    let was_unterminated =
        to + 1 == doc.lines.len() && doc.lines.last().is_some_and(|l| l.ending.is_empty());
    doc.lines.drain(from..=to);
    if was_unterminated {
        if let Some(last) = doc.lines.last_mut() {
            last.ending = "";
        }
    }
}

/// The ending that terminates the file's last line (which had none) when a
/// line is added after it. That line may end in a lone `\r`, which the SDKs
/// read as part of its value; a `\n` right after it would turn the `\r`
/// into a CRLF ending and change the value, so the line gets `\r\n` then.
fn ending_after(line: &Line, eol: &'static str) -> &'static str {
    if line.text.ends_with('\r') {
        "\r\n"
    } else {
        eol
    }
}

/// Inserts a new line after line `after` (or at the top when `None`).
fn insert_after(doc: &mut Document, after: Option<usize>, text: String) {
    let eol = doc.eol();
    let at = after.map_or(0, |a| a + 1);
    let mut ending = eol;
    if let Some(prev) = after.and_then(|a| doc.lines.get_mut(a)) {
        if prev.ending.is_empty() {
            // Keep the missing final newline at the end of the file.
            prev.ending = ending_after(prev, eol);
            ending = "";
        }
    }
    doc.lines
        .insert(at.min(doc.lines.len()), Line::new(text, ending));
}

pub(crate) fn set(
    doc: &mut Document,
    ctx: &Ctx,
    profile: &str,
    key: &str,
    value: &str,
) -> Result<bool, Error> {
    check_profile_name(profile)?;
    check_key(key)?;
    check_value(key, value)?;
    let Some(start) = find_section(doc, ctx, profile)? else {
        append_section(doc, ctx.kind, profile, key, value);
        return Ok(true);
    };
    let end = section_end(doc, start);
    if let Some(at) = find_key(doc, ctx, profile, key, start, end)? {
        let last = property_end(doc, at, end);
        let Some(line) = doc.lines.get(at) else {
            return Ok(false);
        };
        let value_start = match &line.kind {
            LineKind::Property { value_start, .. } => *value_start,
            _ => line.text.len(),
        };
        let prefix = line.text.get(..value_start).unwrap_or(&line.text);
        let old_raw = line.text.get(value_start..).unwrap_or("");
        // Unchanged only if the SDKs read exactly `value`: they trim spaces
        // and tabs, not a final `\r` or other whitespace.
        if last == at && old_raw.trim_end_matches(WS) == value {
            return Ok(false);
        }
        let mut text = prefix.to_string();
        if old_raw.is_empty() && !text.ends_with(char::is_whitespace) {
            text.push(' ');
        }
        text.push_str(value);
        let ending = match doc.lines.get(last) {
            Some(l) => l.ending,
            None => line.ending,
        };
        if let Some(l) = doc.lines.get_mut(at) {
            *l = Line::new(text, ending);
        }
        if last > at {
            doc.lines.drain(at + 1..=last);
        }
        return Ok(true);
    }
    // New key: right after the section's last content line.
    let after = (start..end)
        .rev()
        .find(|&i| i == start || doc.lines.get(i).is_some_and(Line::is_content))
        .unwrap_or(start);
    insert_after(doc, Some(after), format!("{key} = {value}"));
    Ok(true)
}

fn append_section(doc: &mut Document, kind: FileKind, profile: &str, key: &str, value: &str) {
    let eol = doc.eol();
    if let Some(last) = doc.lines.last_mut() {
        if last.ending.is_empty() {
            last.ending = ending_after(last, eol);
        }
    }
    if doc.lines.last().is_some_and(|l| !l.is_blank()) {
        doc.lines.push(Line::new(String::new(), eol));
    }
    doc.lines.push(Line::new(
        format!("[{}]", section_label(kind, profile)),
        eol,
    ));
    doc.lines.push(Line::new(format!("{key} = {value}"), eol));
}

pub(crate) fn remove_key(
    doc: &mut Document,
    ctx: &Ctx,
    profile: &str,
    key: &str,
) -> Result<bool, Error> {
    check_profile_name(profile)?;
    check_key(key)?;
    let Some(start) = find_section(doc, ctx, profile)? else {
        return Ok(false);
    };
    let end = section_end(doc, start);
    let Some(at) = find_key(doc, ctx, profile, key, start, end)? else {
        return Ok(false);
    };
    let last = property_end(doc, at, end);
    remove_lines(doc, at, last);
    Ok(true)
}

pub(crate) fn remove_profile(doc: &mut Document, ctx: &Ctx, profile: &str) -> Result<bool, Error> {
    check_profile_name(profile)?;
    let Some(start) = find_section(doc, ctx, profile)? else {
        return Ok(false);
    };
    let end = section_end(doc, start);
    // A comment block directly above the next header belongs to that header.
    let mut stop = end;
    if end < doc.lines.len() {
        while stop > start + 1 && doc.lines.get(stop - 1).is_some_and(Line::is_comment) {
            stop -= 1;
        }
    }
    let ends_blank = stop > start + 1 && doc.lines.get(stop - 1).is_some_and(Line::is_blank);
    let mut from = start;
    // The blank line that separated this section from the previous content.
    // Only a single blank line after other lines counts as a separator
    // (that is what `set` adds before a new section).
    if !ends_blank
        && start >= 2
        && doc.lines.get(start - 1).is_some_and(Line::is_blank)
        && doc.lines.get(start - 2).is_some_and(|l| !l.is_blank())
    {
        from = start - 1;
    }
    remove_lines(doc, from, stop - 1);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Ctx = Ctx {
        kind: FileKind::Config,
        path: "config",
    };

    fn run(text: &str, f: impl FnOnce(&mut Document) -> Result<bool, Error>) -> String {
        let mut d = Document::parse(text);
        f(&mut d).unwrap();
        d.to_text()
    }

    #[test]
    fn set_in_place_and_new() {
        assert_eq!(
            run("[profile a]\nx =  1 # c\ny=2\n", |d| set(
                d, &CTX, "a", "x", "3"
            )),
            "[profile a]\nx =  3\ny=2\n"
        );
        assert_eq!(
            run("[profile a]\nx=1\n\n# c\n[profile b]\n", |d| set(
                d, &CTX, "a", "z", "3"
            )),
            "[profile a]\nx=1\nz = 3\n\n# c\n[profile b]\n"
        );
        assert_eq!(
            run("[profile a]\r\nx=1", |d| set(d, &CTX, "b", "z", "3")),
            "[profile a]\r\nx=1\r\n\r\n[profile b]\r\nz = 3\r\n"
        );
        assert_eq!(
            run("[profile a]\nx=1", |d| set(d, &CTX, "a", "z", "3")),
            "[profile a]\nx=1\nz = 3"
        );
        assert_eq!(
            run("", |d| set(d, &CTX, "default", "z", "3")),
            "[default]\nz = 3\n"
        );
    }

    #[test]
    fn a_final_lone_cr_keeps_its_meaning() {
        // `v\r` is the value of the last line; adding lines after it must not
        // make its `\r` a line ending.
        let t = "[profile a]\nx = v\r";
        let out = run(t, |d| set(d, &CTX, "b", "z", "3"));
        assert_eq!(out, "[profile a]\nx = v\r\r\n\n[profile b]\nz = 3\n");
        let d = Document::parse(&out);
        assert_eq!(d.lines[1].text, "x = v\r");
        let out = run(t, |d| set(d, &CTX, "a", "y", "3"));
        assert_eq!(Document::parse(&out).lines[1].text, "x = v\r");
        // And `v\r` is not `v`: setting `v` rewrites the line.
        let out = run(t, |d| set(d, &CTX, "a", "x", "v"));
        assert_eq!(out, "[profile a]\nx = v");
    }

    #[test]
    fn remove() {
        let t = "[profile a]\nx=1\n\n[profile b]\ny=2\n\n# about c\n[profile c]\n";
        assert_eq!(
            run(t, |d| remove_profile(d, &CTX, "b")),
            "[profile a]\nx=1\n\n# about c\n[profile c]\n"
        );
        assert_eq!(
            run("[profile a]\nx=1\n\n[profile b]\ny=2", |d| remove_profile(
                d, &CTX, "b"
            )),
            "[profile a]\nx=1"
        );
        assert_eq!(
            run("[profile a]\ns3 =\n  a = b\nx=1\n", |d| remove_key(
                d, &CTX, "a", "s3"
            )),
            "[profile a]\nx=1\n"
        );
    }
}
