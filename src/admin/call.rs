//! Running one SDK call and reading its answer: "not there" as `None`, any
//! other failure as a message naming who was refused what.

use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::error::{Error, Result};

use super::error::{AwsError, Context};
use super::Aws;

/// Error codes that mean the thing asked for does not exist.
const MISSING: &[&str] = &[
    "NoSuchEntity",
    "NotFound",
    "NoSuchBucket",
    "NoSuchTagSet",
    "NoSuchTagSetError",
];

/// Runs `fut` on `aws`'s runtime; a failure names `action`.
pub fn run<T, E, F>(aws: &Aws, action: &str, fut: F) -> Result<T>
where
    F: Future<Output = std::result::Result<T, SdkError<E, Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    raw(aws, fut).map_err(|e| e.into_error(&Context::new(&aws.who, action)))
}

/// As [`run`], with "does not exist" as `None`.
pub fn find<T, E, F>(aws: &Aws, action: &str, fut: F) -> Result<Option<T>>
where
    F: Future<Output = std::result::Result<T, SdkError<E, Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match raw(aws, fut) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref().is_some_and(|c| MISSING.contains(&c)) => Ok(None),
        Err(e) => Err(e.into_error(&Context::new(&aws.who, action))),
    }
}

/// The call's own answer or error, for callers that tell errors apart.
pub fn raw<T, E, F>(aws: &Aws, fut: F) -> std::result::Result<T, AwsError>
where
    F: Future<Output = std::result::Result<T, SdkError<E, Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    aws.block_on(fut).map_err(AwsError::from_sdk)
}

/// An error for something the admin commands refuse to do, before or
/// instead of a call.
pub fn refuse(msg: impl Into<String>) -> Error {
    Error::Other(msg.into())
}
