//! The companion binary of `crossrole` for the commands that call IAM and
//! S3 (see `crossrole::admin_exec`). `crossrole provision …` runs it with
//! the same arguments; run directly, it behaves the same.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = crossrole::cli::Cli::parse();
    match crossrole::run_admin(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("crossrole: {err}");
            ExitCode::from(crossrole::exit_code::of_any(&err))
        }
    }
}
