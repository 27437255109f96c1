//! `crossrole remove PROFILE [--yes]`

use std::io::Write;

use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _profile: &str, _yes: bool, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("remove: not implemented yet".into()))
}
