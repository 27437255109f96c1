//! `crossrole exec PROFILE -- CMD…`

use std::process::ExitCode;

use crate::cli::ExecArgs;
use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _args: &ExecArgs) -> Result<ExitCode> {
    Err(Error::Other("exec: not implemented yet".into()))
}
