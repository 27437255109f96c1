//! An IAM, S3 or STS failure reduced to its code and message, and turned
//! into a message that names who was refused what, and what to do.

use std::fmt;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::error::Error;

/// A failed call: the service's error code when it answered, and why.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) if self.message.is_empty() => write!(f, "{c}"),
            Some(c) => write!(f, "{c}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Who made a call and what it was, for the message.
pub struct Context<'a> {
    pub who: &'a str,
    pub action: &'a str,
}

impl<'a> Context<'a> {
    pub fn new(who: &'a str, action: &'a str) -> Self {
        Context { who, action }
    }
}

impl AwsError {
    pub fn from_sdk<E>(err: SdkError<E, Response>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(s) => {
                let e = s.err();
                match e.code() {
                    Some(code) => AwsError {
                        code: Some(code.to_string()),
                        message: e.message().unwrap_or_default().to_string(),
                    },
                    // An error body the SDK could not read (moto wraps IAM's
                    // errors in <Errors>, which the query-protocol parser does
                    // not read): its own <Code>, or the HTTP status.
                    None => match crate::sts::service_error_from_raw(s.raw()) {
                        crate::sts::StsError::Service { code, message } => AwsError {
                            code: Some(code),
                            message,
                        },
                        other => AwsError {
                            code: None,
                            message: other.to_string(),
                        },
                    },
                }
            }
            _ => AwsError {
                code: None,
                message: crate::sts::source_chain(&err),
            },
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Refused for lack of permission (IAM and S3 spell it differently).
    pub fn is_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }

    pub fn into_error(self, cx: &Context<'_>) -> Error {
        let hint = if self.is_denied() {
            format!(
                "; {} needs {} (an admin of that account, or a policy that allows it)",
                cx.who, cx.action
            )
        } else {
            String::new()
        };
        Error::Other(format!("{} as {} failed: {self}{hint}", cx.action, cx.who))
    }
}
