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
    let (key_id, source) = match call {
        Call::Identity { profile, key_id } => (*key_id, *profile),
        Call::AssumeRole { source, key_id, .. } => (*key_id, *source),
    };
    let masked = mask_key_id(key_id);
    let rerun = format!(
        "re-run `crossrole setup --source-profile {source}` with a current key (create one in the IAM console or with `aws iam create-access-key`)"
    );
    let msg = match &err {
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
    };
    Error::Sts(msg)
}
