//! `crossrole completions SHELL` and `crossrole man` through the real binary.

#![cfg(target_os = "linux")]
use crate::common;

use common::crossrole_bare;

use std::process::{Command, Stdio};

fn ok_stdout(args: &[&str]) -> String {
    let out = crossrole_bare(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok_stdout(&["completions", shell]);
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for word in ["credential-process", "policy", "green-account"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
}

#[test]
fn bash_script_passes_bash_syntax_check() {
    let script = ok_stdout(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crossrole.bash");
    std::fs::write(&path, &script).expect("write script");
    let out = Command::new("bash")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(script.contains("complete ") && script.contains("crossrole"));
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = ok_stdout(&["man"]);
    assert!(
        page.contains(".TH crossrole") || page.contains(".TH CROSSROLE"),
        "{page}"
    );
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    for sub in [
        "setup",
        "credential-process",
        "exec",
        "policy",
        "completions",
        "doctor",
    ] {
        assert!(
            page.contains(&format!(".SS \"crossrole {sub}\"")),
            "no section for {sub}"
        );
    }
    // Options of subcommands are in the page too.
    assert!(page.contains("green\\-account"), "policy's options missing");
    assert!(
        page.contains("import\\-credentials"),
        "setup's options missing"
    );
    // Exactly one page: a second .TH would start a new one.
    assert_eq!(
        page.matches("\n.TH ").count() + usize::from(page.starts_with(".TH ")),
        1
    );
}

#[test]
fn man_page_renders_with_man_when_available() {
    let page = ok_stdout(&["man"]);
    let Ok(out) = Command::new("man").arg("--version").output() else {
        return;
    };
    if !out.status.success() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crossrole.1");
    std::fs::write(&path, &page).expect("write page");
    let out = Command::new("man")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .arg("-l")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("man");
    if !out.status.success() {
        // Some minimal images ship a `man` stub without groff.
        return;
    }
    // Drop the overstrike (`X\bX`) bold and underline that man uses off a terminal.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    assert!(text.contains("COMMANDS"), "{text}");
    assert!(text.contains("--green-account"), "{text}");
}

#[test]
fn unknown_shell_is_a_clap_error() {
    let out = crossrole_bare(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value") && err.contains("bash"),
        "{err}"
    );
}

#[test]
fn missing_shell_is_a_clap_error() {
    let out = crossrole_bare(&["completions"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
