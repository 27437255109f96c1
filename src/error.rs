//! One error type for the library. Each message says what went wrong and,
//! where the user can fix it, what to run next. No message ever contains a
//! secret: variants carry names, paths and masked key ids only.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    AwsFile(#[from] crate::awsfile::Error),

    #[error(transparent)]
    Secrets(#[from] crate::secrets::Error),

    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Usage(String),

    #[error("{0}")]
    Sts(String),

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
}
