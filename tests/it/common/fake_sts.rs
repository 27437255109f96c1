//! A fake STS on loopback for the cases moto cannot play: a daemon that
//! hangs, HTTP errors, malformed or truncated answers, a clock that is off,
//! and (`Reply::Sts`) an STS that checks MFA codes and shows how each
//! request was signed. It counts (and records) the requests it reads.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake STS does with each request it reads.
#[derive(Clone)]
pub enum Reply {
    /// Reads the request and never answers (the connection stays open).
    Hang,
    /// A complete HTTP response.
    Http {
        status: &'static str,
        content_type: &'static str,
        body: String,
    },
    /// Headers promising `declared` bytes, then `body`, then the connection closes.
    Truncated { declared: usize, body: String },
    /// HTTP 200 with a valid GetCallerIdentity document and a `Date:` header
    /// `date_offset_secs` away from the time of the answer (negative: in the past).
    CallerIdentity { date_offset_secs: i64 },
    /// `reply`, after waiting `delay_ms` (a slow STS, so that a test can act
    /// while the client waits).
    After { delay_ms: u64, reply: Box<Reply> },

    /// GetSessionToken, AssumeRole and GetCallerIdentity. A request with a
    /// `TokenCode` other than `mfa_code` is refused as AWS refuses a wrong
    /// code. Role sessions last `role_seconds` when set (whatever was
    /// asked), else the DurationSeconds asked (default 3600).
    Sts {
        mfa_code: &'static str,
        role_seconds: Option<i64>,
    },
    /// A new session for every AssumeRole or GetFederationToken (by the
    /// request's Action), `lifetime_secs` from now: `ASIAFAKESESSION0000n`,
    /// secret `fake-secret-n`, token `fake-token-n` for the n-th request.
    Sessions { lifetime_secs: i64 },
}

/// One request as the fake STS read it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub action: String,
    /// The access key id in the request's SigV4 `Credential=`.
    pub key_id: String,
    pub security_token: Option<String>,
    /// The form parameters, decoded.
    pub params: BTreeMap<String, String>,
    /// The request as sent (headers and body), to search for what must not be there.
    pub raw: String,
}

pub struct FakeSts {
    pub port: u16,
    requests: Arc<AtomicUsize>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeSts {
    pub fn start(reply: Reply) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (counter, log) = (requests.clone(), recorded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let (counter, reply, log) = (counter.clone(), reply.clone(), log.clone());
                std::thread::spawn(move || serve(client, &reply, &counter, &log));
            }
        });
        FakeSts {
            port,
            requests,
            recorded,
        }
    }

    /// Every request read so far, in order.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// The request bodies read so far (form-encoded STS queries).
    pub fn bodies(&self) -> Vec<String> {
        self.recorded()
            .into_iter()
            .map(|r| {
                r.raw
                    .split_once("\r\n\r\n")
                    .map(|(_, body)| body.to_string())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The recorded requests of one action (e.g. `GetSessionToken`).
    pub fn calls(&self, action: &str) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// An AssumeRole or GetFederationToken answer holding the n-th session.
fn session_answer(action: &str, n: usize, lifetime_secs: i64) -> String {
    let action = if action == "GetFederationToken" {
        "GetFederationToken"
    } else {
        "AssumeRole"
    };
    let expiration = (time::OffsetDateTime::now_utc() + time::Duration::seconds(lifetime_secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <{action}Result>\n    <Credentials>\n      <AccessKeyId>ASIAFAKESESSION{n:05}</AccessKeyId>\n      <SecretAccessKey>fake-secret-{n}</SecretAccessKey>\n      <SessionToken>fake-token-{n}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 01234567-89ab-cdef-0123-456789abcdef\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn serve(mut client: TcpStream, reply: &Reply, counter: &AtomicUsize, log: &Mutex<Vec<Recorded>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut client, &mut buf) {
        counter.fetch_add(1, Ordering::SeqCst);
        let reply = match reply {
            Reply::After { delay_ms, reply } => {
                std::thread::sleep(Duration::from_millis(*delay_ms));
                reply.as_ref()
            }
            other => other,
        };

        let rec = record(&request);
        log.lock().unwrap().push(rec.clone());
        let response = match reply {
            Reply::Sts {
                mfa_code,
                role_seconds,
            } => sts_answer(&rec, mfa_code, *role_seconds, counter.load(Ordering::SeqCst)),
            Reply::Sessions { lifetime_secs } => {
                session_answer(&rec.action, counter.load(Ordering::SeqCst), *lifetime_secs)
            }
            Reply::Hang => {
                // Hold the connection until the client gives up.
                let mut sink = [0u8; 1024];
                while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Reply::Http {
                status,
                content_type,
                body,
            } => format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nx-amzn-RequestId: 0f0f0f0f-0000-4000-8000-000000000000\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            Reply::Truncated { declared, body } => {
                let r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {declared}\r\n\r\n{body}"
                );
                let _ = client.write_all(r.as_bytes());
                let _ = client.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::CallerIdentity { date_offset_secs } => caller_identity(*date_offset_secs),
            Reply::After { .. } => return,
        };
        if client.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn caller_identity(date_offset_secs: i64) -> String {
    let date = (time::OffsetDateTime::now_utc() + time::Duration::seconds(date_offset_secs))
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n    <Arn>arn:aws:iam::111111111111:user/s3-prod-user</Arn>\n    <UserId>AIDAFAKEFAKEFAKEFAKE1</UserId>\n    <Account>111111111111</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n";
    format!(
        "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 01234567-89ab-cdef-0123-456789abcdef\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn record(request: &[u8]) -> Recorded {
    let raw = String::from_utf8_lossy(request).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let key_id = header("authorization")
        .and_then(|a| {
            let rest = a.split("Credential=").nth(1)?;
            Some(rest.split('/').next()?.to_string())
        })
        .unwrap_or_default();
    let params: BTreeMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (url_decode(k), url_decode(v)))
        .collect();
    Recorded {
        action: params.get("Action").cloned().unwrap_or_default(),
        key_id,
        security_token: header("x-amz-security-token"),
        params,
        raw,
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn sts_answer(rec: &Recorded, mfa_code: &str, role_seconds: Option<i64>, n: usize) -> String {
    let http = |status: &str, body: String| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 0f0f0f0f-0000-4000-8000-000000000000\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    if let Some(code) = rec.params.get("TokenCode") {
        if code != mfa_code {
            return http(
                "403 Forbidden",
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error><RequestId>0f0f0f0f-0000-4000-8000-000000000000</RequestId></ErrorResponse>".into(),
            );
        }
    }
    let asked = |default: i64| {
        rec.params
            .get("DurationSeconds")
            .and_then(|d| d.parse().ok())
            .unwrap_or(default)
    };
    let creds = |prefix: &str, secs: i64| {
        let exp = (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        format!(
            "<Credentials><AccessKeyId>ASIA{prefix}{n:08}</AccessKeyId><SecretAccessKey>{prefix}-secret-{n}</SecretAccessKey><SessionToken>{prefix}-token-{n}</SessionToken><Expiration>{exp}</Expiration></Credentials>"
        )
    };
    let ns = "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"";
    let meta = "<ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>";
    match rec.action.as_str() {
        "GetSessionToken" => http(
            "200 OK",
            format!(
                "<GetSessionTokenResponse {ns}><GetSessionTokenResult>{}</GetSessionTokenResult>{meta}</GetSessionTokenResponse>",
                creds("MFASESSION", asked(43200))
            ),
        ),
        "AssumeRole" => http(
            "200 OK",
            format!(
                "<AssumeRoleResponse {ns}><AssumeRoleResult>{}<AssumedRoleUser><AssumedRoleId>AROAFAKEFAKEFAKE:crossrole</AssumedRoleId><Arn>arn:aws:sts::222222222222:assumed-role/R/crossrole</Arn></AssumedRoleUser></AssumeRoleResult>{meta}</AssumeRoleResponse>",
                creds("ROLESESSION", role_seconds.unwrap_or_else(|| asked(3600)))
            ),
        ),
        _ => caller_identity(0),
    }
}

/// Reads one request (headers and Content-Length body); None at end of stream.
fn read_request(client: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(buf.drain(..head_end + length).collect())
}
