//! `crossrole clear [PROFILE]`

use std::io::Write;

use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _profile: Option<&str>, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("clear: not implemented yet".into()))
}
