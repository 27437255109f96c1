//! `crossrole export PROFILE [--format env|json]`: for shells and scripts
//! that want the credentials themselves rather than a credential_process.

use std::io::Write;

use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::resolve::{KeyUse, Resolved};

/// What `export` prints; clap's `--format` is mapped to it in `lib.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `export AWS_…=…` lines, quoted for `eval`.
    Env,
    /// The credential_process JSON document.
    Json,
}

pub fn run(
    deps: &Deps<'_>,
    profile: &str,
    format: Format,
    no_session: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let key_use = if no_session {
        KeyUse::LongTerm
    } else {
        KeyUse::Session
    };
    let resolved = crate::resolve::credentials_for(deps, profile, key_use)?;
    let text = match format {
        Format::Json => {
            let mut doc = resolved.creds.process_json();
            doc.push('\n');
            doc
        }
        Format::Env => env_lines(&resolved),
    };
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("cannot write the credentials", "stdout", e))
}

/// `export NAME='value'` lines, single-quoted so `eval` takes them literally.
fn env_lines(r: &Resolved) -> zeroize::Zeroizing<String> {
    let mut s = zeroize::Zeroizing::new(String::new());
    for (name, value) in crate::commands::exec::credential_vars(r) {
        s.push_str("export ");
        s.push_str(name);
        s.push('=');
        s.push_str(&shell_quote(&value));
        s.push('\n');
    }
    s
}

pub fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_posix_shells() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
