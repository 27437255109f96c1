//! `crossrole list [--json]`

use std::io::Write;

use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _json: bool, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("list: not implemented yet".into()))
}
