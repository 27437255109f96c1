//! A fake STS on loopback for the cases moto cannot play: a daemon that
//! hangs, HTTP errors, malformed or truncated answers, a clock that is off.
//! It counts the requests it reads.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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
}

pub struct FakeSts {
    pub port: u16,
    requests: Arc<AtomicUsize>,
}

impl FakeSts {
    pub fn start(reply: Reply) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let (counter, reply) = (counter.clone(), reply.clone());
                std::thread::spawn(move || serve(client, &reply, &counter));
            }
        });
        FakeSts { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(mut client: TcpStream, reply: &Reply, counter: &AtomicUsize) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    while read_request(&mut client, &mut buf) {
        counter.fetch_add(1, Ordering::SeqCst);
        let reply = match reply {
            Reply::After { delay_ms, reply } => {
                std::thread::sleep(Duration::from_millis(*delay_ms));
                reply.as_ref()
            }
            other => other,
        };
        let response = match reply {
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

/// Reads one request (headers and Content-Length body); false at end of stream.
fn read_request(client: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
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
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf.drain(..head_end + length);
    true
}
