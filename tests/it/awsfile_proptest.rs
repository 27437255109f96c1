//! Generated files: printing without edits gives the input byte for byte;
//! setting a key in one section changes only that section.

use crossrole::awsfile::{AwsFile, FileKind};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Item {
    Property(String),
    Nested(Vec<(String, String)>),
    Continued(String, Vec<String>),
    Comment(String),
    Blank(String),
    Junk(String),
    Indented(String),
}

#[derive(Clone, Debug)]
struct Section {
    /// How the header is spelled: 0..4 picks a variant.
    style: u8,
    /// 0: profile, 1: sso-session, 2: services, 3: ignored section.
    what: u8,
    items: Vec<Item>,
}

#[derive(Clone, Debug)]
struct File {
    bom: bool,
    preamble: Vec<Item>,
    sections: Vec<Section>,
    endings: Vec<bool>,
    final_newline: bool,
    credentials: bool,
}

fn value() -> impl Strategy<Value = String> {
    "[^\r\n]{0,12}"
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => value().prop_map(Item::Property),
        1 => prop::collection::vec(("[a-z_]{1,6}", value()), 0..3).prop_map(Item::Nested),
        1 => (value(), prop::collection::vec("[ \t]{1,2}[^\r\n \t][^\r\n]{0,6}", 1..3))
            .prop_map(|(v, c)| Item::Continued(v, c)),
        2 => "[#;][^\r\n]{0,10}".prop_map(Item::Comment),
        2 => "[ \t]{0,3}".prop_map(Item::Blank),
        1 => prop_oneof![
            Just("junk line".to_string()),
            Just("= no name".to_string()),
            Just("key : value".to_string()),
            Just("ünïcødé 🎉".to_string()),
        ]
        .prop_map(Item::Junk),
        1 => "[ \t]{1,3}[^\r\n]{1,8}".prop_map(Item::Indented),
    ]
}

fn file() -> impl Strategy<Value = File> {
    (
        any::<bool>(),
        prop::collection::vec(
            prop_oneof![
                "[#;][^\r\n]{0,10}".prop_map(Item::Comment),
                "[ \t]{0,3}".prop_map(Item::Blank),
                Just(Item::Junk("[profile bad".to_string())),
                Just(Item::Junk("orphan = value".to_string())),
            ],
            0..3,
        ),
        prop::collection::vec(
            (
                0u8..4,
                prop_oneof![6 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3)],
                prop::collection::vec(item(), 0..7),
            )
                .prop_map(|(style, what, items)| Section { style, what, items }),
            0..5,
        ),
        prop::collection::vec(any::<bool>(), 64),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(bom, preamble, sections, endings, final_newline, credentials)| File {
                bom,
                preamble,
                sections,
                endings,
                final_newline,
                credentials,
            },
        )
}

fn item_lines(idx: usize, item: &Item) -> Vec<String> {
    let key = format!("k{idx}");
    match item {
        Item::Property(v) => vec![format!("{key} = {v}")],
        Item::Nested(subs) => {
            let mut out = vec![format!("{key} =")];
            out.extend(subs.iter().map(|(k, v)| format!("  {k} = {v}")));
            out
        }
        Item::Continued(v, cont) => {
            let mut out = vec![format!("{key} = {v}")];
            out.extend(cont.iter().cloned());
            out
        }
        Item::Comment(t) | Item::Blank(t) | Item::Junk(t) | Item::Indented(t) => vec![t.clone()],
    }
}

/// Profile name of section `i`.
fn name(i: usize) -> String {
    format!("p{i}")
}

fn header(f: &File, i: usize, s: &Section) -> String {
    let n = name(i);
    if f.credentials {
        return match (s.what, s.style) {
            (0, 0 | 1) => format!("[{n}]"),
            (0, 2) => format!("[ {n} ]"),
            (0, _) => format!("[{n}] # comment"),
            _ => format!("[profile {n}]"),
        };
    }
    let prefix = match s.what {
        0 => "profile",
        1 => "sso-session",
        2 => "services",
        _ => "other",
    };
    match s.style {
        0 => format!("[{prefix} {n}]"),
        1 => format!("[{prefix}  {n} ]"),
        2 => format!("[{prefix}\t{n}]"),
        _ => format!("[{prefix} {n}];comment"),
    }
}

/// Renders the file; returns the text and, per section, the byte range
/// from its header to the next header (or the end).
fn render(f: &File) -> (String, Vec<(usize, usize)>) {
    let mut lines: Vec<(String, Option<usize>)> = Vec::new();
    for (i, it) in f.preamble.iter().enumerate() {
        lines.extend(item_lines(i, it).into_iter().map(|l| (l, None)));
    }
    for (si, s) in f.sections.iter().enumerate() {
        lines.push((header(f, si, s), Some(si)));
        for (i, it) in s.items.iter().enumerate() {
            lines.extend(item_lines(i, it).into_iter().map(|l| (l, None)));
        }
    }
    let mut text = String::new();
    if f.bom {
        text.push('\u{feff}');
    }
    let mut starts = Vec::new();
    let n = lines.len();
    for (i, (l, sec)) in lines.into_iter().enumerate() {
        if sec.is_some() {
            starts.push(text.len());
        }
        text.push_str(&l);
        if i + 1 < n || f.final_newline {
            let crlf = f.endings.get(i % 64).copied().unwrap_or(false);
            text.push_str(if crlf { "\r\n" } else { "\n" });
        }
    }
    let ranges = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, starts.get(i + 1).copied().unwrap_or(text.len())))
        .collect();
    (text, ranges)
}

fn kind(f: &File) -> FileKind {
    if f.credentials {
        FileKind::Credentials
    } else {
        FileKind::Config
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_roundtrips(text in "[\u{feff}a-z \t=#;\\[\\]\r\n\u{e9}\u{1f389}]{0,80}") {
        for k in [FileKind::Config, FileKind::Credentials] {
            let f = AwsFile::parse(&text, k);
            prop_assert_eq!(f.to_text(), text.clone());
            // Reading never panics.
            for n in f.profile_names() {
                let _ = f.profile(&n);
            }
            let _ = f.validate();
        }
    }

    #[test]
    fn any_string_roundtrips(text in any::<String>()) {
        let f = AwsFile::parse(&text, FileKind::Config);
        prop_assert_eq!(f.to_text(), text);
    }

    #[test]
    fn generated_files_roundtrip(f in file()) {
        let (text, _) = render(&f);
        let parsed = AwsFile::parse(&text, kind(&f));
        prop_assert_eq!(parsed.to_text(), text);
    }

    #[test]
    fn set_changes_only_its_section(
        f in file(),
        target in 0usize..5,
        key_idx in 0usize..8,
        value in "[A-Za-z0-9:/=._\"-]{1,8}( [a-z0-9][a-z0-9#;]{0,4})?",
    ) {
        let (text, ranges) = render(&f);
        let k = kind(&f);
        let Some(section) = f.sections.get(target) else { return Ok(()); };
        if section.what != 0 { return Ok(()); }
        let profile = name(target);
        let key = format!("k{key_idx}");
        let before = AwsFile::parse(&text, k);
        let mut after = before.clone();
        let changed = after.set(&profile, &key, &value);
        prop_assert!(changed.is_ok(), "{:?}", changed);
        let new_text = after.to_text();
        let (start, end) = ranges[target];
        prop_assert_eq!(&new_text[..start], &text[..start]);
        let tail = &text[end..];
        prop_assert!(new_text.ends_with(tail));
        prop_assert!(new_text.len() - tail.len() >= start);
        let got = after.profile(&profile).unwrap();
        prop_assert_eq!(got.get(&key), Some(value.as_str()));
        for n in before.profile_names() {
            if n != profile {
                prop_assert_eq!(before.profile(&n), after.profile(&n), "profile {}", n);
            }
        }
        // Setting it again changes nothing.
        let again = after.set(&profile, &key, &value);
        prop_assert!(matches!(again, Ok(false)));
        prop_assert_eq!(after.to_text(), new_text);
    }

    #[test]
    fn new_profile_appends_and_removes_cleanly(f in file(), value in "[a-z0-9]{1,8}") {
        let (text, _) = render(&f);
        let k = kind(&f);
        let before = AwsFile::parse(&text, k);
        let mut after = before.clone();
        prop_assert!(after.set("brand-new", "region", &value).unwrap());
        let new_text = after.to_text();
        let lf = format!("{}\n", text);
        let crlf = format!("{}\r\n", text);
        if text.is_empty() || text.ends_with('\n') || text == "\u{feff}" {
            prop_assert!(new_text.starts_with(&text));
        } else {
            prop_assert!(new_text.starts_with(&lf) || new_text.starts_with(&crlf));
        }
        let got = after.profile("brand-new").unwrap();
        prop_assert_eq!(got.get("region"), Some(value.as_str()));
        for n in before.profile_names() {
            prop_assert_eq!(before.profile(&n), after.profile(&n));
        }
        prop_assert!(after.remove_profile("brand-new").unwrap());
        // Exact when the file ends with a newline after a non-blank line, or
        // is blank. (After a trailing blank line `set` adds no separator, so
        // `remove_profile` cannot tell it from one it added.)
        let body = text.trim_start_matches('\u{feff}');
        let last_line = body.trim_end_matches(['\r', '\n']).rsplit('\n').next().unwrap_or("");
        let blank_file = (body.is_empty() || body.ends_with('\n')) && body.trim_matches([' ', '\t', '\r', '\n']).is_empty();
        let ends_with_content = text.ends_with('\n') && !last_line.trim_matches([' ', '\t']).is_empty()
            && !body.ends_with("\n\n") && !body.ends_with("\n\r\n");
        if blank_file || ends_with_content {
            prop_assert_eq!(after.to_text(), text);
        }
    }
}
