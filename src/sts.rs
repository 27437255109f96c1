//! The STS calls crossrole makes: GetCallerIdentity (is this key valid,
//! which account), AssumeRole (with the long-term key, or chained from an
//! MFA session) and GetSessionToken (the MFA session). The SDK client, its
//! TLS stack and the async runtime are built only here, only when a call is
//! needed: the cached path never pays for them.
//!
//! Credentials are passed explicitly; there is no default credential chain and
//! no EC2 metadata lookup. Timeouts and retries are bounded so a dead endpoint
//! fails within 15 seconds.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use time::OffsetDateTime;

use crate::credentials::{LongTermKey, Secret, Session};

/// Where to send STS requests, as resolved from the profile and environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsTarget {
    pub region: String,
    /// An explicit endpoint (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
    /// `endpoint_url`, `[services]`); None for the SDK's regional default.
    pub endpoint_url: Option<String>,
    /// A PEM bundle to trust in addition to the system roots (AWS_CA_BUNDLE / `ca_bundle`).
    pub ca_bundle: Option<std::path::PathBuf>,
}

pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// The server's clock, from the response's `Date` header.
    pub server_time: Option<OffsetDateTime>,
}

pub struct AssumeRoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: Option<i32>,
    pub external_id: Option<&'a str>,
    pub mfa_serial: Option<&'a str>,
    pub mfa_code: Option<&'a str>,
    pub source_identity: Option<&'a str>,
}

/// GetSessionToken: an MFA session (serial and code) or a plain one.
pub struct SessionTokenRequest<'a> {
    pub duration_seconds: Option<i32>,
    pub mfa_serial: Option<&'a str>,
    pub mfa_code: Option<&'a str>,
}

/// What went wrong, in terms a user can act on. `code` is the STS error code
/// when the service answered.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("{code}: {message}")]
    Service { code: String, message: String },
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("{endpoint} did not answer in time")]
    Timeout { endpoint: String },
    #[error("unreadable response: {detail}")]
    BadResponse { detail: String },
    #[error("{0}")]
    Setup(String),
}

impl StsError {
    pub fn code(&self) -> Option<&str> {
        match self {
            StsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Upper bound for one whole STS operation, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn endpoint_label(target: &StsTarget) -> String {
    target
        .endpoint_url
        .clone()
        .unwrap_or_else(|| default_endpoint(&target.region))
}

/// The regional endpoint the SDK picks when none is configured; China and
/// GovCloud regions reach their own partition's STS (see the tests).
fn default_endpoint(region: &str) -> String {
    let suffix = crate::partition::Partition::of_region(region).dns_suffix();
    format!("https://sts.{region}.{suffix}")
}

fn client(target: &StsTarget, key: &Credentials) -> Result<aws_sdk_sts::Client, StsError> {
    let mut builder = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .credentials_provider(key.clone())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(2)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(ATTEMPT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(url) = &target.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(bundle) = &target.ca_bundle {
        builder = builder.http_client(http_client_with_bundle(bundle)?);
    }
    Ok(aws_sdk_sts::Client::from_conf(builder.build()))
}

pub(crate) fn http_client_with_bundle(
    bundle: &std::path::Path,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, StsError> {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, Connector};
    let pem = std::fs::read(bundle).map_err(|e| {
        StsError::Setup(format!(
            "cannot read the CA bundle {} (AWS_CA_BUNDLE / ca_bundle): {e}",
            bundle.display()
        ))
    })?;
    let trust = tls::TrustStore::default().with_pem_certificate(pem);
    let ctx = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| {
            StsError::Setup(format!(
                "cannot use the CA bundle {}: {e}",
                bundle.display()
            ))
        })?;
    // Same as the SDK's default client (rustls + aws-lc, HTTPS_PROXY / NO_PROXY
    // from the environment), plus the extra roots.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut conn = Connector::builder().proxy_config(ProxyConfig::from_env());
            if let Some(settings) = settings {
                conn = conn.connector_settings(settings.clone());
            }
            if let Some(sleep) = components.and_then(|c| c.sleep_impl()) {
                conn = conn.sleep_impl(sleep);
            }
            conn.tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(ctx.clone())
            .build()
        }),
    )
}

fn runtime() -> Result<tokio::runtime::Runtime, StsError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StsError::Setup(format!("cannot start the async runtime: {e}")))
}

fn sdk_credentials(key: &LongTermKey) -> Credentials {
    Credentials::new(
        key.access_key_id.clone(),
        key.secret_access_key.expose().to_string(),
        None,
        None,
        "crossrole",
    )
}

fn session_credentials(s: &Session) -> Credentials {
    Credentials::new(
        s.access_key_id.clone(),
        s.secret_access_key.expose().to_string(),
        Some(s.session_token.expose().to_string()),
        None,
        "crossrole",
    )
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    target: &StsTarget,
) -> StsError {
    let endpoint = endpoint_label(target);
    match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match e.code() {
                Some(code) => StsError::Service {
                    code: code.to_string(),
                    message: e.message().unwrap_or("").to_string(),
                },
                None => service_error_from_raw(se.raw()),
            }
        }
        SdkError::TimeoutError(_) => StsError::Timeout { endpoint },
        SdkError::DispatchFailure(df) => {
            if df.is_timeout() {
                StsError::Timeout { endpoint }
            } else {
                StsError::Unreachable {
                    endpoint,
                    detail: source_chain(&err),
                }
            }
        }
        SdkError::ResponseError(_) => StsError::BadResponse {
            detail: source_chain(&err),
        },
        _ => {
            // A service error without a parsable code still carries metadata.
            match err.code() {
                Some(code) => StsError::Service {
                    code: code.to_string(),
                    message: err.message().unwrap_or("").to_string(),
                },
                None => StsError::BadResponse {
                    detail: source_chain(&err),
                },
            }
        }
    }
}

/// An error response the SDK found no code in: an error body in another
/// layout (`<ErrorResponse><Errors><Error>`, as some STS look-alikes send),
/// or no STS error at all (a proxy's or load balancer's HTML page). Take the
/// first `<Code>` / `<Message>` anywhere in the body, else name the HTTP
/// status and show the start of the body.
pub(crate) fn service_error_from_raw(raw: &aws_smithy_runtime_api::http::Response) -> StsError {
    let status = raw.status().as_u16();
    let body = raw
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    match xml_text(&body, "Code").filter(|c| !c.is_empty()) {
        Some(code) => StsError::Service {
            code,
            message: xml_text(&body, "Message").unwrap_or_default(),
        },
        None => {
            let mut snippet: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
            if snippet.chars().count() > 160 {
                snippet = snippet.chars().take(160).collect::<String>() + "…";
            }
            let body = if snippet.is_empty() {
                "an empty body".to_string()
            } else {
                format!("a body starting {snippet:?}")
            };
            if (200..300).contains(&status) {
                // Not an error, and not STS either (a captive portal, a wrong endpoint).
                return StsError::BadResponse {
                    detail: format!("HTTP {status} with {body}, which is no STS answer"),
                };
            }
            StsError::Service {
                code: format!("HTTP {status}"),
                message: format!(
                    "the response has no STS error code ({body}); if an endpoint_url or proxy is set, check that it points at STS"
                ),
            }
        }
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    let text = xml[start..start + len]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(text.trim().to_string())
}

/// The error and its causes on one line; SDK (and HTTP client) errors keep
/// the useful part deep. No request URL is part of these messages.
pub(crate) fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.contains(&s) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

pub fn assume_role(
    key: &LongTermKey,
    target: &StsTarget,
    req: &AssumeRoleRequest<'_>,
) -> Result<Session, StsError> {
    assume_role_as(sdk_credentials(key), target, req)
}

/// AssumeRole signed with temporary credentials (an MFA session): role
/// chaining, so AWS caps the session at one hour.
pub fn assume_role_with_session(
    signer: &Session,
    target: &StsTarget,
    req: &AssumeRoleRequest<'_>,
) -> Result<Session, StsError> {
    assume_role_as(session_credentials(signer), target, req)
}

fn assume_role_as(
    creds: Credentials,
    target: &StsTarget,
    req: &AssumeRoleRequest<'_>,
) -> Result<Session, StsError> {
    let rt = runtime()?;
    rt.block_on(async {
        let client = client(target, &creds)?;
        let mut call = client
            .assume_role()
            .role_arn(req.role_arn)
            .role_session_name(req.session_name)
            .set_duration_seconds(req.duration_seconds)
            .set_external_id(req.external_id.map(str::to_string))
            .set_source_identity(req.source_identity.map(str::to_string));
        if let (Some(serial), Some(code)) = (req.mfa_serial, req.mfa_code) {
            call = call.serial_number(serial).token_code(code);
        }
        let out = call.send().await.map_err(|e| classify(e, target))?;
        session_from(out.credentials(), "AssumeRole")
    })
}

/// GetSessionToken with the long-term key (and the MFA code, if any).
pub fn get_session_token(
    key: &LongTermKey,
    target: &StsTarget,
    req: &SessionTokenRequest<'_>,
) -> Result<Session, StsError> {
    let creds = sdk_credentials(key);
    let rt = runtime()?;
    rt.block_on(async {
        let client = client(target, &creds)?;
        let mut call = client
            .get_session_token()
            .set_duration_seconds(req.duration_seconds);
        if let (Some(serial), Some(code)) = (req.mfa_serial, req.mfa_code) {
            call = call.serial_number(serial).token_code(code);
        }
        let out = call.send().await.map_err(|e| classify(e, target))?;
        session_from(out.credentials(), "GetSessionToken")
    })
}

fn session_from(
    c: Option<&aws_sdk_sts::types::Credentials>,
    call: &str,
) -> Result<Session, StsError> {
    let c = c.ok_or_else(|| StsError::BadResponse {
        detail: format!("{call} answered without credentials"),
    })?;
    let expiration = OffsetDateTime::from_unix_timestamp(c.expiration().secs()).map_err(|_| {
        StsError::BadResponse {
            detail: format!("{call} answered with an impossible expiration time"),
        }
    })?;
    let session = Session {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key().to_string()),
        session_token: Secret::new(c.session_token().to_string()),
        expiration,
    };
    check_session(&session, OffsetDateTime::now_utc())?;
    Ok(session)
}

/// GetFederationToken with `policy_arn` as the session policy: the session
/// may do what both that policy and the user's own policies allow. For the
/// console sign-in of a key profile (a federation token carries no MFA).
pub fn get_federation_token(
    key: &LongTermKey,
    target: &StsTarget,
    name: &str,
    policy_arn: &str,
) -> Result<Session, StsError> {
    let creds = sdk_credentials(key);
    let rt = runtime()?;
    rt.block_on(async {
        let client = client(target, &creds)?;
        let out = client
            .get_federation_token()
            .name(name)
            .policy_arns(
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(policy_arn)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(e, target))?;
        session_from(out.credentials(), "GetFederationToken")
    })
}

/// The SDK's XML reader is lenient: a truncated or garbled answer can come
/// back as a "session" with empty fields and a 1970 expiry. Never hand such
/// a thing to the AWS CLI (or cache it).
fn check_session(s: &Session, now: OffsetDateTime) -> Result<(), StsError> {
    let missing: Vec<&str> = [
        ("AccessKeyId", s.access_key_id.trim().is_empty()),
        (
            "SecretAccessKey",
            s.secret_access_key.expose().trim().is_empty(),
        ),
        ("SessionToken", s.session_token.expose().trim().is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, empty)| empty.then_some(name))
    .collect();
    if !missing.is_empty() {
        return Err(StsError::BadResponse {
            detail: format!(
                "AssumeRole answered without {} (a truncated or malformed response?)",
                missing.join(", ")
            ),
        });
    }
    if s.expiration <= now {
        return Err(StsError::BadResponse {
            detail: format!(
                "AssumeRole answered with a session that expired at {} (a malformed response, or this machine's clock is far ahead)",
                crate::credentials::format_expiration(s.expiration)
            ),
        });
    }
    Ok(())
}

/// Remembers the `Date` header of the last STS response, so `doctor` can
/// compare the local clock with the server's.
#[derive(Clone, Debug, Default)]
struct DateRecorder(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for DateRecorder {
    fn name(&self) -> &'static str {
        "crossrole-date-recorder"
    }

    fn read_after_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            if let Ok(mut slot) = self.0.lock() {
                *slot = Some(date.to_string());
            }
        }
        Ok(())
    }
}

/// GetCallerIdentity, also noting the server's clock (from the `Date`
/// header) so `doctor` can check the local one.
pub fn get_caller_identity(key: &LongTermKey, target: &StsTarget) -> Result<Identity, StsError> {
    let creds = sdk_credentials(key);
    let rt = runtime()?;
    let recorder = DateRecorder::default();
    let identity: Identity = rt.block_on(async {
        let client = client(target, &creds)?;
        let out = client
            .get_caller_identity()
            .customize()
            .interceptor(recorder.clone())
            .send()
            .await
            .map_err(|e| classify(e, target))?;
        let (account, arn) = (out.account().unwrap_or_default(), out.arn().unwrap_or_default());
        if account.trim().is_empty() || arn.trim().is_empty() {
            return Err(StsError::BadResponse {
                detail: "GetCallerIdentity answered without Account or Arn (a truncated or malformed response?)".into(),
            });
        }
        Ok::<_, StsError>(Identity {
            account: account.to_string(),
            arn: arn.to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
            server_time: None,
        })
    })?;
    let server_time = recorder
        .0
        .lock()
        .ok()
        .and_then(|d| d.clone())
        .and_then(|d| parse_http_date(&d));
    Ok(Identity {
        server_time,
        ..identity
    })
}

/// RFC 7231 IMF-fixdate, e.g. `Sun, 29 Nov 2026 14:31:38 GMT`.
pub fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s.trim(), &fmt)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod session_check_tests {
    use super::*;

    fn session(id: &str, secret: &str, token: &str, exp: i64) -> Session {
        Session {
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret.into()),
            session_token: Secret::new(token.into()),
            expiration: OffsetDateTime::from_unix_timestamp(exp).unwrap(),
        }
    }

    #[test]
    fn empty_fields_and_past_expiry_are_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let later = 1_800_003_600;
        assert!(check_session(&session("ASIAX", "s", "t", later), now).is_ok());
        let e = check_session(&session("ASIA", "", "", 0), now).unwrap_err();
        let StsError::BadResponse { detail } = e else {
            unreachable!()
        };
        assert!(detail.contains("SecretAccessKey, SessionToken"), "{detail}");
        let e = check_session(&session("ASIAX", "s", "t", 0), now).unwrap_err();
        assert!(matches!(e, StsError::BadResponse { .. }));
    }
}

#[cfg(test)]
mod raw_error_tests {
    use super::*;

    fn raw(status: u16, body: &str) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(body),
        )
    }

    #[test]
    fn nested_errors_layout_keeps_its_code() {
        let e = service_error_from_raw(&raw(
            403,
            "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>",
        ));
        assert_eq!(e.code(), Some("InvalidClientTokenId"));
        let StsError::Service { message, .. } = e else {
            unreachable!()
        };
        assert!(message.contains("security token"), "{message}");
    }

    #[test]
    fn no_code_names_the_http_status() {
        let e = service_error_from_raw(&raw(503, "<html>\n<h1>Service  Unavailable</h1></html>"));
        assert_eq!(e.code(), Some("HTTP 503"));
        let StsError::Service { message, .. } = e else {
            unreachable!()
        };
        assert!(
            message.contains("<html> <h1>Service Unavailable"),
            "{message}"
        );
    }

    #[test]
    fn a_success_status_without_sts_xml_is_a_bad_response() {
        let e = service_error_from_raw(&raw(200, "<html>portal</html>"));
        assert!(matches!(e, StsError::BadResponse { .. }), "{e:?}");
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            xml_text("<Message>a &lt;b&gt; &amp; c</Message>", "Message").as_deref(),
            Some("a <b> & c")
        );
        assert_eq!(xml_text("<Code>x", "Code"), None);
    }
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn parses_http_dates() {
        let t = super::parse_http_date("Sun, 29 Nov 2026 14:31:38 GMT").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_962_698);
        assert!(super::parse_http_date("yesterday").is_none());
    }
}

#[cfg(test)]
mod partition_endpoint_tests {
    use aws_sdk_sts::config::endpoint::{Params, ResolveEndpoint};

    /// What the SDK itself resolves for `region` with no endpoint configured.
    fn sdk_endpoint(region: &str, global: bool) -> String {
        let params = Params::builder()
            .region(region)
            .use_global_endpoint(global)
            .build()
            .unwrap();
        let rt = super::runtime().unwrap();
        rt.block_on(aws_sdk_sts::config::endpoint::DefaultResolver::new().resolve_endpoint(&params))
            .unwrap()
            .url()
            .to_string()
    }

    #[test]
    fn each_partition_reaches_its_own_sts() {
        for (region, want) in [
            ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
            ("us-east-1", "https://sts.us-east-1.amazonaws.com"),
            ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
            (
                "cn-northwest-1",
                "https://sts.cn-northwest-1.amazonaws.com.cn",
            ),
            ("us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com"),
            ("us-gov-east-1", "https://sts.us-gov-east-1.amazonaws.com"),
        ] {
            assert_eq!(sdk_endpoint(region, false), want, "{region}");
            assert_eq!(super::default_endpoint(region), want, "{region}");
        }
        // The legacy global-endpoint setting never sends China or GovCloud
        // to the commercial global endpoint.
        assert_eq!(
            sdk_endpoint("cn-north-1", true),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sdk_endpoint("us-gov-west-1", true),
            "https://sts.us-gov-west-1.amazonaws.com"
        );
    }
}
