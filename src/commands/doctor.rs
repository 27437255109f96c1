//! `crossrole doctor [PROFILE] [--offline]`

use std::io::Write;
use std::process::ExitCode;

use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _profile: Option<&str>, _offline: bool, _out: &mut dyn Write) -> Result<ExitCode> {
    Err(Error::Other("doctor: not implemented yet".into()))
}
