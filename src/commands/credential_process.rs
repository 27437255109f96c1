//! `crossrole credential-process PROFILE`: exactly one JSON document on
//! stdout, for the AWS CLI and SDKs. Anything else goes to stderr.

use std::io::Write;

use crate::awsfile::{AwsFile, FileKind};
use crate::credentials::{process_json_for_key, process_json_for_session};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::profile::{read_managed, ManagedProfile};

pub fn run(deps: &Deps<'_>, profile: &str, out: &mut dyn Write) -> Result<()> {
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    let doc = match read_managed(&config, &deps.paths.config_file, profile)? {
        ManagedProfile::Key { profile } => {
            let key = crate::keys::load(deps.stores.secret(deps.env)?, &profile)?;
            process_json_for_key(&key)
        }
        ManagedProfile::Role(role) => {
            let (session, _) = crate::role_session::get(deps, &config, &role)?;
            process_json_for_session(&session)
        }
    };
    let doc = zeroize::Zeroizing::new(doc);
    out.write_all(doc.as_bytes())
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("cannot write the credentials", "stdout", e))
}
