//! One error type for the library. Each message says what went wrong and,
//! where the user can fix it, what to run next. No message ever contains a
//! secret: variants carry names, paths and masked key ids only.
//!
//! The variants are the cases callers branch on, and what the exit status
//! tells scripts apart (see [`crate::exit_code`]).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    AwsFile(#[from] crate::awsfile::Error),

    /// A keyring failure other than a locked store or one that needs a
    /// person (those become [`Error::Locked`] and [`Error::NeedsPerson`]).
    #[error(transparent)]
    Secrets(crate::secrets::Error),

    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The command line asks for what cannot be done: a bad flag value or
    /// PROFILE name, flags that do not go together, `--yes` missing where
    /// nobody can be asked. Exit status 2, as for clap's own errors.
    #[error("{0}")]
    Usage(String),

    /// What the command names is not there: no key stored for a profile, a
    /// profile not in the config.
    #[error("{0}")]
    NotFound(String),

    /// A value in the AWS files (or the environment standing in for one)
    /// that crossrole cannot use: `key` of `profile`.
    #[error("{message}")]
    InvalidSetting {
        profile: String,
        key: String,
        message: String,
    },

    /// The keyring entry of `profile` holds something that is not a
    /// crossrole key; `setup` replaces it.
    #[error("the keyring entry for profile `{profile}` is not a crossrole key; run `crossrole setup --source-profile {profile}` again to replace it")]
    NotAKey { profile: String },

    /// A person said no, or cancelled a dialog or the terminal.
    #[error("{0}")]
    Cancelled(String),

    /// The secret store is locked, and unlocking it was refused or failed.
    #[error(transparent)]
    Locked(crate::secrets::Error),

    /// An MFA code or a passphrase is needed and nothing here can ask a
    /// person for it (no terminal, no display, no program).
    #[error("{0}")]
    NeedsPerson(String),

    /// STS refused or could not be reached; `message` says what to check.
    #[error("{message}")]
    Sts {
        message: String,
        #[source]
        source: Option<crate::sts::StsError>,
    },

    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            context,
            path: path.into(),
            source,
        }
    }

    /// A bad value of `key` in `profile`, worded as every such error is:
    /// "profile `NAME`: KEY: why".
    pub fn invalid_setting(profile: &str, key: &str, why: impl std::fmt::Display) -> Self {
        Error::InvalidSetting {
            profile: profile.to_string(),
            key: key.to_string(),
            message: format!("profile `{profile}`: {key}: {why}"),
        }
    }
}

impl From<crate::secrets::Error> for Error {
    fn from(e: crate::secrets::Error) -> Self {
        match e {
            crate::secrets::Error::Locked(_) => Error::Locked(e),
            crate::secrets::Error::NeedsPerson(msg) => Error::NeedsPerson(msg),
            other => Error::Secrets(other),
        }
    }
}
