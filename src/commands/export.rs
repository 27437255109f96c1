//! `crossrole export PROFILE [--format env|json]`

use std::io::Write;

use crate::cli::ExportFormat;
use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(_deps: &Deps<'_>, _profile: &str, _format: ExportFormat, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("export: not implemented yet".into()))
}
