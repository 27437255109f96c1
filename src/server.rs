//! The loopback credential endpoint of `exec --server`: CMD gets
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`
//! instead of static keys, and the SDKs fetch a session from here whenever
//! theirs nears expiry, so a job may outlive any one session.
//!
//! Two threads: this one (the caller's) owns the dependencies and answers
//! each fetch through the normal cache, lock and STS path; a second runs the
//! HTTP server, CMD, and the signals passed on to CMD. The server lives
//! exactly as long as CMD: when CMD ends, the thread returns and the listener
//! closes.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use zeroize::Zeroizing;

use crate::credentials::{format_expiration, Session};
use crate::error::{Error, Result};

pub const FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// The one path served.
const PATH: &str = "/crossrole/credentials";
/// Request line and headers together; an SDK sends a few hundred bytes.
const MAX_HEADER_BYTES: usize = 8192;
const MAX_HEADERS: usize = 32;
/// A client that connects and sends nothing is dropped after this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer the SDKs' container provider reads.
pub fn container_json(s: &Session) -> Zeroizing<String> {
    Zeroizing::new(
        serde_json::json!({
            "AccessKeyId": s.access_key_id,
            "SecretAccessKey": s.secret_access_key.expose(),
            "Token": s.session_token.expose(),
            "Expiration": format_expiration(s.expiration),
        })
        .to_string(),
    )
}

/// A bound listener and the token that unlocks it.
pub struct Endpoint {
    listener: TcpListener,
    token: Zeroizing<String>,
}

impl Endpoint {
    /// Binds 127.0.0.1 on a port the system picks; 256 random bits of token.
    pub fn bind() -> Result<Endpoint> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("cannot open the credential server", "127.0.0.1", e))?;
        let mut raw = Zeroizing::new([0u8; 32]);
        getrandom::fill(raw.as_mut()).map_err(|e| {
            Error::Other(format!(
                "the system random number generator failed ({e}); cannot make the credential server's token"
            ))
        })?;
        let mut token = Zeroizing::new(String::with_capacity(64));
        for b in raw.iter() {
            token.push_str(&format!("{b:02x}"));
        }
        Ok(Endpoint { listener, token })
    }

    pub fn url(&self) -> Result<String> {
        let port = self
            .listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the credential server's port", "127.0.0.1", e))?
            .port();
        Ok(format!("http://127.0.0.1:{port}{PATH}"))
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

/// What the server thread tells this one.
enum Event {
    /// A request passed the checks: answer it with the credentials JSON (or a message).
    Fetch(tokio::sync::oneshot::Sender<std::result::Result<Zeroizing<String>, ()>>),
    NotStarted(std::io::Error),
    Exited(std::process::ExitStatus),
    Failed(String),
}

/// Runs `cmd` (which must already have FULL_URI and TOKEN from `endpoint`)
/// with the endpoint serving `fetch`'s answers until it exits; returns its
/// status as exec would. `program` names CMD in messages.
pub fn run(
    endpoint: Endpoint,
    cmd: std::process::Command,
    program: &std::ffi::OsStr,
    mut fetch: impl FnMut() -> Result<Zeroizing<String>>,
) -> Result<ExitCode> {
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || serve(endpoint, cmd, tx));
    let outcome = loop {
        match rx.recv() {
            Ok(Event::Fetch(reply)) => {
                let answer = fetch().map_err(|e| {
                    eprintln!("crossrole: the credential server could not get a session: {e}");
                });
                let _ = reply.send(answer);
            }
            Ok(Event::NotStarted(e)) => {
                break Ok(crate::commands::exec::not_started(program, e));
            }
            Ok(Event::Exited(status)) => break Ok(exit_code(status)),
            Ok(Event::Failed(msg)) => break Err(Error::Other(msg)),
            Err(_) => {
                break Err(Error::Other(
                    "the credential server stopped unexpectedly".into(),
                ))
            }
        }
    };
    let _ = server.join();
    outcome
}

/// CMD's status as ours: its exit code, or its death by the same signal.
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            crate::sys::die_by_signal(sig);
            return ExitCode::from((128 + sig).clamp(0, 255) as u8);
        }
    }
    ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8)
}

/// The server thread: a single-threaded runtime with the accept loop and
/// the signal forwarders as tasks, waiting on CMD.
fn serve(endpoint: Endpoint, cmd: std::process::Command, tx: mpsc::Sender<Event>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Event::Failed(format!(
                "cannot start the credential server's runtime: {e}"
            )));
            return;
        }
    };
    rt.block_on(async move {
        let Endpoint { listener, token } = endpoint;
        let listener = match listener
            .set_nonblocking(true)
            .and_then(|_| tokio::net::TcpListener::from_std(listener))
        {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(Event::Failed(format!(
                    "cannot start the credential server: {e}"
                )));
                return;
            }
        };
        // Before CMD starts, so that no signal meant for it is missed.
        let signals = match Signals::listen() {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Event::Failed(format!(
                    "cannot listen for signals to pass on to the command: {e}"
                )));
                return;
            }
        };
        let mut child = match tokio::process::Command::from(cmd).spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Event::NotStarted(e));
                return;
            }
        };
        if let Some(pid) = child.id() {
            signals.forward_to(pid);
        }
        let gate = Arc::new(Gate {
            token,
            tx: std::sync::Mutex::new(tx.clone()),
        });
        tokio::spawn(accept_loop(listener, gate));
        let event = match child.wait().await {
            Ok(status) => Event::Exited(status),
            Err(e) => Event::Failed(format!("cannot wait for the command: {e}")),
        };
        let _ = tx.send(event);
    });
}

/// What every request is checked against, and where passing ones go.
struct Gate {
    token: Zeroizing<String>,
    tx: std::sync::Mutex<mpsc::Sender<Event>>,
}

async fn accept_loop(listener: tokio::net::TcpListener, gate: Arc<Gate>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                // Out of descriptors, say: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !peer.ip().is_loopback() {
            continue;
        }
        let _ = stream.set_nodelay(true);
        let gate = gate.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let gate = gate.clone();
                async move { Ok::<_, Infallible>(answer(&gate, peer, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_header_size(MAX_HEADER_BYTES)
                .max_headers(MAX_HEADERS)
                .max_buf_size(2 * MAX_HEADER_BYTES)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(gate: &Gate, peer: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Err((status, why)) = check(gate, peer, &req) {
        return reply(status, error_json(why));
    }
    let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
    let sent = gate
        .tx
        .lock()
        .map(|tx| tx.send(Event::Fetch(reply_tx)).is_ok())
        .unwrap_or(false);
    match (sent, reply_rx.await) {
        (true, Ok(Ok(json))) => reply(StatusCode::OK, json.as_bytes().to_vec()),
        _ => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_json("crossrole could not get a session; its message is on the terminal"),
        ),
    }
}

/// Loopback peers only, `GET` of the one path only, and the exact token.
fn check(
    gate: &Gate,
    peer: SocketAddr,
    req: &Request<Incoming>,
) -> std::result::Result<(), (StatusCode, &'static str)> {
    if !peer.ip().is_loopback() {
        return Err((StatusCode::FORBIDDEN, "loopback only"));
    }
    if req.uri().path() != PATH || req.uri().query().is_some() {
        return Err((StatusCode::NOT_FOUND, "no such path"));
    }
    if req.method() != hyper::Method::GET {
        return Err((StatusCode::METHOD_NOT_ALLOWED, "GET only"));
    }
    let Some(given) = req.headers().get(hyper::header::AUTHORIZATION) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "the Authorization token is missing",
        ));
    };
    if !same_token(given.as_bytes(), gate.token.as_bytes()) {
        return Err((StatusCode::FORBIDDEN, "wrong Authorization token"));
    }
    Ok(())
}

/// Constant time in the content; the length is public (always 64).
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

fn error_json(message: &str) -> Vec<u8> {
    serde_json::json!({ "code": "CredentialsUnavailable", "message": message })
        .to_string()
        .into_bytes()
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// The signals crossrole catches while CMD runs. Caught rather than
/// ignored, so that CMD starts with their default actions.
#[cfg(unix)]
struct Signals {
    streams: Vec<(i32, tokio::signal::unix::Signal)>,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut streams = Vec::new();
        for sig in [
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            streams.push((sig, signal(SignalKind::from_raw(sig))?));
        }
        Ok(Signals { streams })
    }

    /// Passes each signal on to CMD. Ctrl-C and Ctrl-\ typed at the
    /// terminal already reach CMD (the terminal signals the whole foreground
    /// group); a second copy would make tools like terraform abort instead
    /// of stopping cleanly, so those two are passed on only when crossrole
    /// is not in the terminal's foreground (sent with `kill`).
    fn forward_to(self, pid: u32) {
        for (sig, mut stream) in self.streams {
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    let from_terminal = (sig == libc::SIGINT || sig == libc::SIGQUIT)
                        && crate::sys::in_terminal_foreground();
                    if !from_terminal {
                        crate::sys::send_signal(pid, sig);
                    }
                }
            });
        }
    }
}

/// Elsewhere a console Ctrl-C reaches every process attached to it; CMD
/// gets its own.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    fn forward_to(self, _pid: u32) {
        tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let t = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert!(same_token(t, t));
        assert!(!same_token(&t[..63], t));
        assert!(!same_token(b"", t));
        let mut other = *t;
        other[63] = b'0';
        assert!(!same_token(&other, t));
    }

    #[test]
    fn endpoints_get_distinct_random_tokens() {
        let a = Endpoint::bind().unwrap();
        let b = Endpoint::bind().unwrap();
        assert_eq!(a.token().len(), 64);
        assert!(a.token().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.token(), b.token());
        assert!(a.url().unwrap().starts_with("http://127.0.0.1:"));
        assert!(a.url().unwrap().ends_with(PATH));
    }

    #[test]
    fn the_answer_has_the_container_fields() {
        let s = Session {
            access_key_id: "ASIAX".into(),
            secret_access_key: crate::credentials::Secret::new("s".into()),
            session_token: crate::credentials::Secret::new("t".into()),
            expiration: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        };
        let v: serde_json::Value = serde_json::from_str(&container_json(&s)).unwrap();
        assert_eq!(v["AccessKeyId"], "ASIAX");
        assert_eq!(v["SecretAccessKey"], "s");
        assert_eq!(v["Token"], "t");
        assert_eq!(v["Expiration"], "2027-01-15T08:00:00Z");
    }
}
