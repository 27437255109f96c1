//! Turns an STS failure into a message that says what to check or run next.
//! Messages name profiles, roles, endpoints and masked key ids, never secrets.

use crate::credentials::mask_key_id;
use crate::error::Error;
use crate::sts::StsError;

/// What crossrole was doing when STS failed.
pub enum Call<'a> {
    /// Checking the source profile's key.
    Identity { profile: &'a str, key_id: &'a str },
    /// Assuming `role_arn` for `profile` with `source`'s key.
    AssumeRole {
        profile: &'a str,
        source: &'a str,
        role_arn: &'a str,
        key_id: &'a str,
        mfa: bool,
    },
}

pub fn explain(err: StsError, call: &Call<'_>) -> Error {
    Error::Sts {
        message: describe(&err, call),
        source: Some(err),
    }
}

/// The message of [`explain`], for callers that wrap it in their own.
pub fn describe(err: &StsError, call: &Call<'_>) -> String {
    let (key_id, source) = match call {
        Call::Identity { profile, key_id } => (*key_id, *profile),
        Call::AssumeRole { source, key_id, .. } => (*key_id, *source),
    };
    let masked = mask_key_id(key_id);
    let rerun = format!(
        "re-run `crossrole setup --source-profile {source}` with a current key (create one in the IAM console or with `aws iam create-access-key`)"
    );
    match err {
        StsError::Service { code, message } => match code.as_str() {
            "InvalidClientTokenId" => format!(
                "STS does not know the access key {masked} of profile `{source}`: it was deleted, deactivated or rotated. {rerun}"
            ),
            "SignatureDoesNotMatch" => format!(
                "STS rejected the signature made with key {masked} of profile `{source}`: the secret access key stored for it is wrong. {rerun}"
            ),
            "ExpiredToken" | "ExpiredTokenException" => format!(
                "STS says the credentials used are expired ({code}); profile `{source}` must hold a long-term IAM user key (AKIA…), not a temporary one. {rerun}"
            ),
            "RequestExpired" | "RequestTimeTooSkewed" | "SignatureExpired" => format!(
                "STS rejected the request as expired ({code}): this machine's clock is off. Sync it (e.g. `timedatectl set-ntp true`) and try again"
            ),
            "AccessDenied" | "AccessDeniedException" => match call {
                Call::AssumeRole { profile, role_arn, source, mfa, .. } => {
                    let mfa_hint = if *mfa {
                        " If the trust policy requires MFA, check the MFA code and `crossrole_mfa_serial`."
                    } else {
                        ""
                    };
                    format!(
                        "access denied assuming {role_arn} for profile `{profile}` with the key of `{source}` ({masked}). Check both sides: (1) the role's trust policy must trust the source account or user (and any external id / MFA condition it sets); (2) the source user's (or its group's) IAM policy must allow sts:AssumeRole on {role_arn}. `crossrole policy` prints both documents.{mfa_hint} STS said: {message}"
                    )
                }
                Call::Identity { .. } => format!("access denied for key {masked} of profile `{source}`: {message}"),
            },
            "RegionDisabledException" => format!(
                "STS is not activated in this region for the role's account; activate it in IAM > Account settings, or set a different `region` on the profile. STS said: {message}"
            ),
            "MalformedPolicyDocument" | "PackedPolicyTooLarge" | "ValidationError" | "InvalidParameterValue" => {
                let hint = if message.contains("DurationSeconds") || message.contains("duration") {
                    " Lower `crossrole_duration_seconds` to at most the role's maximum session duration."
                } else {
                    ""
                };
                format!("STS rejected the request ({code}): {message}.{hint}")
            }
            "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => format!(
                "STS is throttling requests ({code}) and the retries ran out; wait a little and try again"
            ),
            _ => format!("STS answered with an error ({code}): {message}"),
        },
        StsError::Unreachable { endpoint, detail } => format!(
            "cannot reach STS at {endpoint}: {detail}. Check the network, HTTPS_PROXY / NO_PROXY, and any endpoint_url / AWS_ENDPOINT_URL setting"
        ),
        StsError::Timeout { endpoint } => format!(
            "STS at {endpoint} did not answer in time (retries included). Check the network, HTTPS_PROXY / NO_PROXY, and any endpoint_url / AWS_ENDPOINT_URL setting"
        ),
        StsError::BadResponse { detail } => format!(
            "STS sent a response crossrole cannot read ({detail}); if an endpoint_url or proxy is set, check that it points at STS"
        ),
        StsError::Setup(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const ROLE: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";

    fn assume(mfa: bool) -> Call<'static> {
        Call::AssumeRole {
            profile: "blue",
            source: "green",
            role_arn: ROLE,
            key_id: KEY_ID,
            mfa,
        }
    }

    fn identity() -> Call<'static> {
        Call::Identity {
            profile: "green",
            key_id: KEY_ID,
        }
    }

    fn service(code: &str, message: &str) -> StsError {
        StsError::Service {
            code: code.into(),
            message: message.into(),
        }
    }

    #[track_caller]
    fn says(err: StsError, call: &Call<'_>, parts: &[&str]) -> String {
        let e = explain(err, call);
        assert!(
            matches!(
                e,
                Error::Sts {
                    source: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        for p in parts {
            assert!(msg.contains(p), "{msg:?} lacks {p:?}");
        }
        assert!(!msg.contains(KEY_ID), "the key id must be masked: {msg}");
        msg
    }

    #[test]
    fn expired_token_says_a_long_term_key_is_needed() {
        for code in ["ExpiredToken", "ExpiredTokenException"] {
            for call in [assume(false), identity()] {
                says(
                    service(
                        code,
                        "The security token included in the request is expired",
                    ),
                    &call,
                    &[
                        code,
                        "expired",
                        "profile `green`",
                        "long-term IAM user key",
                        "not a temporary one",
                        "crossrole setup --source-profile green",
                    ],
                );
            }
        }
    }

    #[test]
    fn clock_skew_says_to_sync_the_clock() {
        for code in ["RequestExpired", "RequestTimeTooSkewed", "SignatureExpired"] {
            let msg = says(
                service(code, "Request has expired."),
                &assume(false),
                &[code, "clock is off", "timedatectl set-ntp true"],
            );
            assert!(!msg.contains("crossrole setup"), "the key is fine: {msg}");
        }
    }

    #[test]
    fn unknown_key_and_wrong_secret() {
        says(
            service(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
            &assume(false),
            &[
                "AKIA…MPLE",
                "profile `green`",
                "deleted",
                "rotated",
                "crossrole setup --source-profile green",
                "aws iam create-access-key",
            ],
        );
        says(
            service(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match",
            ),
            &identity(),
            &[
                "AKIA…MPLE",
                "secret access key stored for it is wrong",
                "crossrole setup --source-profile green",
            ],
        );
    }

    #[test]
    fn access_denied_names_both_policies_and_mfa_when_used() {
        let sts_said = "User: arn:aws:iam::111111111111:user/s3-prod-user is not authorized to perform: sts:AssumeRole";
        let plain = says(
            service("AccessDenied", sts_said),
            &assume(false),
            &[
                ROLE,
                "profile `blue`",
                "`green`",
                "trust policy",
                "sts:AssumeRole",
                "crossrole policy",
                sts_said,
            ],
        );
        assert!(!plain.contains("crossrole_mfa_serial"), "{plain}");
        says(
            service("AccessDenied", sts_said),
            &assume(true),
            &["MFA code", "crossrole_mfa_serial"],
        );
        says(
            service("AccessDenied", "no"),
            &identity(),
            &["access denied", "profile `green`"],
        );
    }

    #[test]
    fn validation_of_the_duration_says_to_lower_it() {
        says(
            service(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ),
            &assume(false),
            &["ValidationError", "crossrole_duration_seconds"],
        );
        let other = says(
            service("ValidationError", "roleSessionName too long"),
            &assume(false),
            &["roleSessionName"],
        );
        assert!(!other.contains("crossrole_duration_seconds"), "{other}");
    }

    #[test]
    fn throttling_region_and_unknown_codes() {
        says(
            service("Throttling", "Rate exceeded"),
            &assume(false),
            &["throttling", "try again"],
        );
        says(
            service("RegionDisabledException", "STS is not activated"),
            &assume(false),
            &["not activated", "region"],
        );
        says(
            service("SomethingNew", "what"),
            &assume(false),
            &["SomethingNew", "what"],
        );
    }

    #[test]
    fn network_failures_name_the_endpoint() {
        says(
            StsError::Unreachable {
                endpoint: "http://127.0.0.1:9".into(),
                detail: "Connection refused".into(),
            },
            &assume(false),
            &[
                "cannot reach STS",
                "http://127.0.0.1:9",
                "Connection refused",
                "HTTPS_PROXY",
                "AWS_ENDPOINT_URL",
            ],
        );
        says(
            StsError::Timeout {
                endpoint: "https://sts.eu-west-1.amazonaws.com".into(),
            },
            &assume(false),
            &[
                "did not answer in time",
                "https://sts.eu-west-1.amazonaws.com",
            ],
        );
        says(
            StsError::BadResponse {
                detail: "unexpected EOF".into(),
            },
            &assume(false),
            &["cannot read", "unexpected EOF", "endpoint_url"],
        );
        says(
            StsError::Setup("cannot read the CA bundle /x".into()),
            &assume(false),
            &["CA bundle"],
        );
    }
}
