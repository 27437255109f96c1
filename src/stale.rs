//! Serve, don't fail: inside the refresh window, a session that cannot be
//! refreshed (STS unreachable, throttled or failing; an MFA code needed with
//! no way to ask; a dialog cancelled or timed out; another caller's refresh
//! taking too long) is still served, with a warning, while more than 10
//! minutes remain. botocore only insists on new credentials below 10 minutes
//! (its mandatory window), so an IDE keeps working through the last quarter
//! hour of a session instead of losing its credentials.

use time::{Duration, OffsetDateTime};

use crate::credentials::Session;
use crate::error::Error;
use crate::sts::StsError;

/// botocore's mandatory refresh window: below this a session is never served.
pub const MANDATORY_WINDOW: Duration = Duration::minutes(10);

/// A refresh that failed. `transient` when the failure says nothing about
/// the cached session (the network, STS's health, nobody to ask), so that
/// session may still be served.
pub struct RefreshError {
    pub error: Error,
    pub transient: bool,
}

impl RefreshError {
    pub fn transient(error: Error) -> Self {
        RefreshError {
            error,
            transient: true,
        }
    }
}

impl From<Error> for RefreshError {
    fn from(error: Error) -> Self {
        RefreshError {
            error,
            transient: false,
        }
    }
}

impl From<crate::secrets::Error> for RefreshError {
    fn from(e: crate::secrets::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<RefreshError> for Error {
    fn from(e: RefreshError) -> Self {
        e.error
    }
}

/// Whether an STS failure is about reaching or loading STS rather than
/// about the request (network, timeouts, throttling, 5xx).
pub fn is_transient(e: &StsError) -> bool {
    match e {
        StsError::Unreachable { .. } | StsError::Timeout { .. } | StsError::BadResponse { .. } => {
            true
        }
        StsError::Service { code, .. } => {
            matches!(
                code.as_str(),
                "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
                    | "InternalFailure"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "ServiceUnavailableException"
                    | "IDPCommunicationError"
            ) || code.starts_with("HTTP 5")
        }
        StsError::Setup(_) => false,
    }
}

/// The cached `stale` session when the refresh failed transiently and more
/// than 10 minutes remain (with a warning on stderr); else the error.
pub fn serve_or_fail(
    stale: Option<Session>,
    now: OffsetDateTime,
    err: RefreshError,
    what: &str,
) -> Result<Session, RefreshError> {
    match stale {
        Some(s) if err.transient && s.expiration - now > MANDATORY_WINDOW => {
            eprintln!(
                "crossrole: warning: could not refresh {what} ({}); serving the cached one, valid for {} more minutes",
                err.error,
                (s.expiration - now).whole_minutes()
            );
            Ok(s)
        }
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    fn session(left: Duration, now: OffsetDateTime) -> Session {
        Session {
            access_key_id: "ASIAEXAMPLEEXAMPLE00".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: Secret::new("t".into()),
            expiration: now + left,
        }
    }

    fn down() -> RefreshError {
        RefreshError::transient(Error::Sts {
            message: "cannot reach STS".into(),
            source: None,
        })
    }

    #[test]
    fn served_above_ten_minutes_only_and_only_for_transient_failures() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let s = serve_or_fail(Some(session(Duration::minutes(14), now)), now, down(), "x");
        assert!(s.is_ok());
        let s = serve_or_fail(Some(session(Duration::minutes(10), now)), now, down(), "x");
        assert!(
            s.is_err(),
            "10 minutes left is botocore's mandatory refresh"
        );
        let s = serve_or_fail(None, now, down(), "x");
        assert!(s.is_err());
        let fatal = RefreshError::from(Error::Sts {
            message: "access denied".into(),
            source: None,
        });
        let s = serve_or_fail(Some(session(Duration::minutes(14), now)), now, fatal, "x");
        assert!(s.is_err(), "a refused request is not hidden");
    }

    #[test]
    fn transient_sts_failures() {
        let svc = |c: &str| StsError::Service {
            code: c.into(),
            message: String::new(),
        };
        assert!(is_transient(&svc("Throttling")));
        assert!(is_transient(&svc("HTTP 503")));
        assert!(is_transient(&svc("InternalFailure")));
        assert!(!is_transient(&svc("AccessDenied")));
        assert!(!is_transient(&svc("InvalidClientTokenId")));
        assert!(is_transient(&StsError::Timeout {
            endpoint: "x".into()
        }));
    }
}
