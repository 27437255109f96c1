//! `crossrole completions SHELL` and `crossrole man`.
//!
//! Both are generated from the clap definitions in `cli.rs`, so they can
//! never drift from the flags the binary actually accepts.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

const BIN: &str = "crossrole";

fn write_error(what: &str, e: std::io::Error) -> Error {
    Error::Other(format!("cannot write the {what}: {e}"))
}

/// `crossrole completions bash | head` closing the pipe early is not a
/// failure worth a message.
fn finish(what: &str, r: std::io::Result<()>) -> Result<()> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(write_error(what, e)),
        _ => Ok(()),
    }
}

pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command();
    // `generate` panics when its writer fails; writing into memory first
    // turns a closed or full stdout into an error message instead.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut buf);
    finish(
        "completion script",
        out.write_all(&buf).and_then(|()| out.flush()),
    )
}

/// clap_mangen renders one command per page, and its SUBCOMMANDS section
/// points at `crossrole-setup(1)` pages that are never installed; so the page
/// is assembled from its parts with a COMMANDS section holding each
/// subcommand's synopsis and options instead.
pub fn man(out: &mut dyn Write) -> Result<()> {
    let buf = render_man().map_err(|e| write_error("man page", e))?;
    finish("man page", out.write_all(&buf).and_then(|()| out.flush()))
}

fn render_man() -> std::io::Result<Vec<u8>> {
    use clap_mangen::Man;

    let mut cmd = Cli::command();
    cmd.build();
    let page = Man::new(cmd.clone());
    // The title part keeps roff's one-time preamble; the others drop theirs.
    let mut buf = String::new();
    buf.push_str(&part(&page, Man::render_title, Keep::Preamble)?);
    buf.push_str(&part(&page, Man::render_name_section, Keep::Heading)?);
    buf.push_str(&part(&page, Man::render_synopsis_section, Keep::Heading)?);
    buf.push_str(&part(
        &page,
        Man::render_description_section,
        Keep::Heading,
    )?);
    buf.push_str(&part(&page, Man::render_options_section, Keep::Heading)?);

    buf.push_str(".SH COMMANDS\n");
    let subs = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for sub in subs {
        let man = Man::new(sub.clone());
        buf.push_str(&format!(".SS \"{BIN} {}\"\n", roff_quoted(sub.get_name())));
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            for line in about.to_string().lines() {
                buf.push_str(&roff_text(line));
                buf.push('\n');
            }
        }
        // Each part arrives with its own `.SH` heading, which inside a
        // subsection would start a new top-level section: keep the body only.
        buf.push_str(".PP\n");
        buf.push_str(&part(&man, Man::render_synopsis_section, Keep::Body)?);
        buf.push_str(&part(&man, Man::render_options_section, Keep::Body)?);
    }

    buf.push_str(&exit_status());

    if cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .is_some()
    {
        buf.push_str(&part(&page, Man::render_extra_section, Keep::Heading)?);
    }
    // clap_mangen's version section unwraps the version.
    if cmd
        .get_version()
        .or_else(|| cmd.get_long_version())
        .is_some()
    {
        buf.push_str(&part(&page, Man::render_version_section, Keep::Heading)?);
    }
    if cmd.get_author().is_some() {
        buf.push_str(&part(&page, Man::render_authors_section, Keep::Heading)?);
    }
    Ok(buf.into_bytes())
}

/// The EXIT STATUS section, from [`crate::exit_code::MEANINGS`].
fn exit_status() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::exit_code::MEANINGS {
        s.push_str(&format!(".TP\n{code}\n{}\n", roff_text(meaning)));
    }
    s.push_str(&format!(
        ".PP\n{}\n",
        roff_text("exec passes its command's own exit status through.")
    ));
    s
}

type Section = fn(&clap_mangen::Man, &mut dyn Write) -> std::io::Result<()>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Preamble,
    Heading,
    Body,
}

/// One rendered part of a page. roff's writer starts every part with the
/// same two-line `Aq` string definition; it is needed once per page.
fn part(man: &clap_mangen::Man, render: Section, keep: Keep) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    render(man, &mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let is_preamble = |l: &str| l.starts_with(".ie \\n(.g .ds Aq") || l.starts_with(".el .ds Aq");
    Ok(text
        .lines()
        .filter(|l| keep == Keep::Preamble || !is_preamble(l))
        .filter(|l| keep != Keep::Body || !l.starts_with(".SH"))
        .flat_map(|l| [l, "\n"])
        .collect())
}

/// Escapes text for a roff line: backslashes, and a leading `.` or `'`
/// that roff would take for a request.
fn roff_text(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn roff_quoted(s: &str) -> String {
    s.replace('\\', "\\e").replace('"', "\\(dq")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_has_every_subcommand() {
        let page = String::from_utf8(render_man().unwrap()).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH crossrole"),
            "{}",
            &page[..200]
        );
        for name in ["setup", "credential-process", "policy", "completions"] {
            assert!(
                page.contains(&format!(".SS \"crossrole {name}\"")),
                "{name}"
            );
        }
        assert!(page.contains("green\\-account"));
        assert_eq!(page.matches(".SH COMMANDS").count(), 1);
        assert_eq!(page.matches(".SH \"EXIT STATUS\"").count(), 1);
        assert!(page.contains(".TP\n3\n"), "the needs-a-person status");
        assert!(
            !page.contains("crossrole\\-setup(1)"),
            "points at pages that do not exist"
        );
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_text(".x"), "\\&.x");
        assert_eq!(roff_text("a\\b-c"), "a\\eb\\-c");
    }
}
