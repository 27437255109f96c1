//! Usage and help text: the program is called `crossrole` whatever name it
//! was started under, and every PROFILE argument says what it is.

#![cfg(target_os = "linux")]
use crate::common;

use std::process::{Command, Stdio};

use common::{crossrole_bare, BIN};

/// Runs the binary through a symlink called `aws-helper` (argv[0]).
fn run_renamed(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("aws-helper");
    std::os::unix::fs::symlink(BIN, &link).expect("symlink");
    Command::new(&link)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run crossrole through a symlink")
}

#[test]
fn usage_names_crossrole_whatever_argv0() {
    for args in [&["--help"][..], &["export", "--help"], &["clear", "--help"]] {
        let out = run_renamed(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(text.contains("Usage: crossrole"), "{args:?}:\n{text}");
        assert!(!text.contains("aws-helper"), "{args:?}:\n{text}");
    }
    // A usage error names it too.
    let out = run_renamed(&["export"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Usage: crossrole export"), "{err}");
    assert!(!err.contains("aws-helper"), "{err}");
}

#[test]
fn every_profile_argument_is_described() {
    for sub in [
        "credential-process",
        "exec",
        "export",
        "clear",
        "remove",
        "rotate",
        "doctor",
    ] {
        let out = crossrole_bare(&[sub, "-h"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{sub}: {text}");
        let line = text
            .lines()
            .find(|l| {
                l.trim_start().starts_with("<PROFILE>") || l.trim_start().starts_with("[PROFILE]")
            })
            .unwrap_or_else(|| panic!("{sub}: no PROFILE argument:\n{text}"));
        let words = line.split_whitespace().count();
        assert!(
            words >= 3,
            "{sub}: PROFILE has no description: {line:?}\n{text}"
        );
    }
}
