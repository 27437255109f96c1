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

/// The main page, then one subsection per subcommand with its synopsis and
/// options: clap_mangen renders a single command per page, and pointing
/// readers at `crossrole-setup(1)` pages that are never installed helps nobody.
pub fn man(out: &mut dyn Write) -> Result<()> {
    let buf = render_man().map_err(|e| write_error("man page", e))?;
    finish("man page", out.write_all(&buf).and_then(|()| out.flush()))
}

fn render_man() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;

    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        return Ok(buf);
    }
    buf.extend_from_slice(b".SH \"COMMAND DETAILS\"\n");
    for sub in subs {
        let man = clap_mangen::Man::new(sub.clone());
        writeln!(buf, ".SS \"{BIN} {}\"", roff_quoted(sub.get_name()))?;
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            for line in about.to_string().lines() {
                writeln!(buf, "{}", roff_text(line))?;
            }
        }
        // Each section arrives with its own `.SH` heading; inside one
        // subcommand's subsection that heading would start a new top-level
        // section, so drop it and keep the body.
        buf.extend_from_slice(b".PP\n");
        buf.extend(section_body(
            &man,
            clap_mangen::Man::render_synopsis_section,
        )?);
        let options = section_body(&man, clap_mangen::Man::render_options_section)?;
        if !options.iter().all(u8::is_ascii_whitespace) {
            buf.extend(options);
        }
    }
    Ok(buf)
}

type Section = fn(&clap_mangen::Man, &mut dyn Write) -> std::io::Result<()>;

fn section_body(man: &clap_mangen::Man, render: Section) -> std::io::Result<Vec<u8>> {
    let mut part = Vec::new();
    render(man, &mut part)?;
    let text = String::from_utf8_lossy(&part);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with(".SH"))
        .flat_map(|l| [l, "\n"])
        .collect();
    Ok(body.into_bytes())
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
        assert_eq!(page.matches(".SH \"COMMAND DETAILS\"").count(), 1);
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_text(".x"), "\\&.x");
        assert_eq!(roff_text("a\\b-c"), "a\\eb\\-c");
    }
}
