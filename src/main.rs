//! The binary edge: parse arguments, run, map errors to a message on stderr
//! and a non-zero exit code. No backtraces, no panics shown to users.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = crossrole::cli::Cli::parse();
    match crossrole::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("crossrole: {err}");
            ExitCode::from(crossrole::exit_code::of_any(&err))
        }
    }
}
