//! `crossrole completions SHELL` and `crossrole man`.

use std::io::Write;

use crate::error::{Error, Result};

pub fn completions(_shell: clap_complete::Shell, _out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("completions: not implemented yet".into()))
}

pub fn man(_out: &mut dyn Write) -> Result<()> {
    Err(Error::Other("man: not implemented yet".into()))
}
