//! `crossrole credential-process PROFILE`: exactly one JSON document on
//! stdout, for the AWS CLI and SDKs. Anything else goes to stderr.

use std::io::Write;

use crate::deps::Deps;
use crate::error::{Error, Result};

pub fn run(deps: &Deps<'_>, profile: &str, out: &mut dyn Write) -> Result<()> {
    let resolved = crate::resolve::profile_credentials(deps, profile)?;
    let doc = resolved.creds.process_json();
    out.write_all(doc.as_bytes())
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("cannot write the credentials", "stdout", e))
}
