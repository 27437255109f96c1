//! `crossrole policy`: the three IAM documents of the cross-account setup.

use std::io::Write;

use crate::cli::PolicyArgs;
use crate::error::{Error, Result};

pub fn run(_args: &PolicyArgs, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("policy: not implemented yet".into()))
}
