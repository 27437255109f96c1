//! Benchmark helper (case 3): starts N `crossrole credential-process
//! PROFILE` at once, waits for all, and fails unless every one printed a
//! credential_process document with a session token.
//!
//!     burst N PROFILE        (the binary is $CROSSROLE_BIN)
//!
//! A compiled launcher rather than a shell loop: bash forks itself for
//! each `&`, about 1 ms a process on this machine, so a bash burst of 50
//! spent more time in bash than in two cold crossrole calls. `Command`
//! starts children with posix_spawn (a vfork), which costs a small part of
//! that. The environment (AWS_*, CROSSROLE_*) is passed on unchanged.

use std::process::{Child, Command, ExitCode, Stdio};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("burst: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: burst N PROFILE (with CROSSROLE_BIN set)";
    let n: usize = args.next().and_then(|a| a.parse().ok()).ok_or(usage)?;
    let profile = args.next().ok_or(usage)?;
    let bin = std::env::var_os("CROSSROLE_BIN").ok_or(usage)?;

    let spawn = || {
        Command::new(&bin)
            .args(["credential-process", &profile])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    let children: Vec<Child> = (0..n)
        .map(|_| spawn().map_err(|e| format!("cannot start {}: {e}", bin.to_string_lossy())))
        .collect::<Result<_, _>>()?;

    let mut failed = Vec::new();
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let printed = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !printed.contains("\"SessionToken\"") {
            failed.push(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of {n} calls failed; first error: {}",
        failed.len(),
        failed[0]
    ))
}
