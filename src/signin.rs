//! The AWS console sign-in URL for a session: the federation endpoint's
//! `getSigninToken` trades the session for a sign-in token, and the
//! `Action=login` URL carries that token to the console. The URL is a bearer
//! credential, so it is built in a zeroized string and never logged here.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::credentials::{Secret, Session};
use crate::partition::Partition;

/// Shown in the console's sign-out page as who issued the sign-in.
pub const ISSUER: &str = "crossrole";

/// The federation endpoint, whatever the answer, gives up after this long.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum SigninError {
    #[error("cannot reach the AWS sign-in endpoint {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("the AWS sign-in endpoint {endpoint} did not answer within {} seconds", TIMEOUT.as_secs())]
    Timeout { endpoint: String },
    #[error("the AWS sign-in endpoint {endpoint} answered {detail}, not a sign-in token; try again later, or check HTTPS_PROXY and CROSSROLE_SIGNIN_ENDPOINT")]
    BadAnswer { endpoint: String, detail: String },
    #[error("{0}")]
    Setup(String),
}

/// Where the federation endpoint and the console are for one partition;
/// `override_base` (CROSSROLE_SIGNIN_ENDPOINT, `scheme://host[:port]`)
/// replaces the federation endpoint's scheme and host.
pub struct Hosts {
    pub federation: String,
    pub console: String,
}

impl Hosts {
    pub fn for_region(region: &str, override_base: Option<&str>) -> Hosts {
        let p = Partition::of_region(region);
        let base = match override_base {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => format!("https://{}", p.signin_host()),
        };
        Hosts {
            federation: format!("{base}/federation"),
            console: format!("https://{}", p.console_host()),
        }
    }

    /// The console home page in `region`.
    pub fn default_destination(&self, region: &str) -> String {
        format!("{}/console/home?region={region}", self.console)
    }
}

/// The `Session` parameter of getSigninToken.
fn session_json(s: &Session) -> Zeroizing<String> {
    Zeroizing::new(
        serde_json::json!({
            "sessionId": s.access_key_id,
            "sessionKey": s.secret_access_key.expose(),
            "sessionToken": s.session_token.expose(),
        })
        .to_string(),
    )
}

fn query(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    Zeroizing::new(q.finish())
}

/// The getSigninToken request URL (it carries the session: a secret).
pub fn token_request_url(hosts: &Hosts, s: &Session) -> Zeroizing<String> {
    let json = session_json(s);
    let q = query(&[("Action", "getSigninToken"), ("Session", &json)]);
    Zeroizing::new(format!("{}?{}", hosts.federation, q.as_str()))
}

/// The `Action=login` URL that opens `destination` signed in.
pub fn login_url(hosts: &Hosts, token: &Secret, destination: &str) -> Zeroizing<String> {
    let q = query(&[
        ("Action", "login"),
        ("Issuer", ISSUER),
        ("Destination", destination),
        ("SigninToken", token.expose()),
    ]);
    Zeroizing::new(format!("{}?{}", hosts.federation, q.as_str()))
}

/// Reads the `SigninToken` out of getSigninToken's answer.
pub fn parse_token(status: u16, body: &[u8]) -> Result<Secret, String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "SigninToken")]
        signin_token: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| format!("HTTP {status} with a body that is not JSON"))?;
    match answer.signin_token {
        Some(t) if !t.trim().is_empty() => Ok(Secret::new(t)),
        _ => Err(format!("HTTP {status} with JSON but no SigninToken")),
    }
}

/// Calls getSigninToken for `session`. HTTPS_PROXY / NO_PROXY are honoured
/// as by the STS calls; `ca_bundle` adds trusted roots (AWS_CA_BUNDLE).
pub fn signin_token(
    hosts: &Hosts,
    session: &Session,
    ca_bundle: Option<&std::path::Path>,
) -> Result<Secret, SigninError> {
    use aws_smithy_runtime_api::client::http::HttpConnector;
    let endpoint = hosts.federation.clone();
    let connector = connector(ca_bundle)?;
    let url = token_request_url(hosts, session);
    let request = aws_smithy_runtime_api::http::Request::get(url.as_str())
        .map_err(|e| SigninError::Setup(format!("bad sign-in endpoint {endpoint}: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SigninError::Setup(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let call = async {
            let response = connector
                .call(request)
                .await
                .map_err(|e| SigninError::Unreachable {
                    endpoint: endpoint.clone(),
                    detail: crate::sts::source_chain(&e),
                })?;
            let status = response.status().as_u16();
            let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
                .collect()
                .await
                .map_err(|e| SigninError::BadAnswer {
                    endpoint: endpoint.clone(),
                    detail: format!("HTTP {status} cut short ({e})"),
                })?
                .into_bytes();
            parse_token(status, &body).map_err(|detail| SigninError::BadAnswer {
                endpoint: endpoint.clone(),
                detail,
            })
        };
        match tokio::time::timeout(TIMEOUT, call).await {
            Ok(r) => r,
            Err(_) => Err(SigninError::Timeout {
                endpoint: endpoint.clone(),
            }),
        }
    })
}

fn connector(
    ca_bundle: Option<&std::path::Path>,
) -> Result<aws_smithy_http_client::Connector, SigninError> {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Connector};
    let mut builder = Connector::builder()
        .proxy_config(ProxyConfig::from_env())
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
    if let Some(bundle) = ca_bundle {
        let pem = std::fs::read(bundle).map_err(|e| {
            SigninError::Setup(format!(
                "cannot read the CA bundle {} (AWS_CA_BUNDLE / ca_bundle): {e}",
                bundle.display()
            ))
        })?;
        let ctx = tls::TlsContext::builder()
            .with_trust_store(tls::TrustStore::default().with_pem_certificate(pem))
            .build()
            .map_err(|e| {
                SigninError::Setup(format!(
                    "cannot use the CA bundle {}: {e}",
                    bundle.display()
                ))
            })?;
        builder = builder.tls_context(ctx);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("se/cr+et".into()),
            session_token: Secret::new("to&ken=1".into()),
            expiration: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        }
    }

    fn params(url: &str) -> std::collections::BTreeMap<String, String> {
        let (_, q) = url.split_once('?').unwrap();
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn hosts_follow_the_partition() {
        for (region, signin, console) in [
            (
                "eu-west-1",
                "https://signin.aws.amazon.com/federation",
                "https://console.aws.amazon.com",
            ),
            (
                "cn-north-1",
                "https://signin.amazonaws.cn/federation",
                "https://console.amazonaws.cn",
            ),
            (
                "us-gov-west-1",
                "https://signin.amazonaws-us-gov.com/federation",
                "https://console.amazonaws-us-gov.com",
            ),
        ] {
            let h = Hosts::for_region(region, None);
            assert_eq!(h.federation, signin);
            assert_eq!(h.console, console);
            assert_eq!(
                h.default_destination(region),
                format!("{console}/console/home?region={region}")
            );
        }
        let h = Hosts::for_region("cn-north-1", Some("http://127.0.0.1:9/"));
        assert_eq!(h.federation, "http://127.0.0.1:9/federation");
        assert_eq!(h.console, "https://console.amazonaws.cn");
    }

    #[test]
    fn the_token_request_carries_the_session_json() {
        let h = Hosts::for_region("eu-west-1", None);
        let url = token_request_url(&h, &session());
        let p = params(&url);
        assert_eq!(p["Action"], "getSigninToken");
        let doc: serde_json::Value = serde_json::from_str(&p["Session"]).unwrap();
        assert_eq!(doc["sessionId"], "ASIAEXAMPLE");
        assert_eq!(doc["sessionKey"], "se/cr+et");
        assert_eq!(doc["sessionToken"], "to&ken=1");
    }

    #[test]
    fn the_login_url_names_issuer_destination_and_token() {
        let h = Hosts::for_region("eu-west-1", None);
        let dest = "https://console.aws.amazon.com/s3/home?region=eu-west-1&x=1";
        let url = login_url(&h, &Secret::new("tok+/=".into()), dest);
        assert!(url.starts_with("https://signin.aws.amazon.com/federation?"));
        let p = params(&url);
        assert_eq!(p["Action"], "login");
        assert_eq!(p["Issuer"], ISSUER);
        assert_eq!(p["Destination"], dest);
        assert_eq!(p["SigninToken"], "tok+/=");
    }

    #[test]
    fn answers_without_a_token_are_refused() {
        let err = |status, body: &[u8]| match parse_token(status, body) {
            Ok(_) => panic!("a token from {body:?}"),
            Err(e) => e,
        };
        match parse_token(200, br#"{"SigninToken":"abc"}"#) {
            Ok(t) => assert_eq!(t.expose(), "abc"),
            Err(e) => panic!("{e}"),
        }
        assert!(err(200, b"<html>").contains("not JSON"));
        assert!(err(200, b"{}").contains("no SigninToken"));
        assert!(err(200, br#"{"SigninToken":""}"#).contains("no SigninToken"));
        assert_eq!(err(400, b"{}"), "HTTP 400");
    }
}
