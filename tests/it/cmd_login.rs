//! `crossrole login PROFILE`: the console sign-in through a local stand-in
//! for the federation endpoint. The URL crossrole builds is parsed, not
//! compared as text; it is opened through a fake `xdg-open` and printed only
//! with --stdout; a dead or confused endpoint gives a message and no URL.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::fake_sts::{FakeSts, Reply};
use common::*;

type Params = BTreeMap<String, String>;

fn query_params(query: &str) -> Params {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A stand-in federation endpoint: checks that each request is a GET of
/// `/federation?Action=getSigninToken&Session=…`, records its parameters and
/// answers `{"SigninToken":"signin-token-N"}` (or 400 for anything else).
struct FakeSignin {
    port: u16,
    seen: Arc<Mutex<Vec<Params>>>,
}

impl FakeSignin {
    fn start() -> FakeSignin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let mut parts = line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let params = query_params(query);
                let good = method == "GET"
                    && path == "/federation"
                    && params.get("Action").map(String::as_str) == Some("getSigninToken")
                    && params.contains_key("Session");
                let n = {
                    let mut seen = log.lock().unwrap();
                    seen.push(params);
                    seen.len()
                };
                let (status, body) = if good {
                    (
                        "200 OK",
                        format!("{{\"SigninToken\":\"signin-token-{n}\"}}"),
                    )
                } else {
                    ("400 Bad Request", "{\"error\":\"bad request\"}".to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeSignin { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Params> {
        self.seen.lock().unwrap().clone()
    }

    /// The session JSON of the last getSigninToken request.
    fn last_session(&self) -> serde_json::Value {
        let seen = self.requests();
        let last = seen.last().expect("a getSigninToken request");
        serde_json::from_str(&last["Session"]).expect("Session is JSON")
    }
}

/// A URL taken apart: scheme, host[:port], path and query parameters.
struct Url {
    scheme: String,
    host: String,
    path: String,
    params: Params,
}

fn parse_url(text: &str) -> Url {
    let (scheme, rest) = text.trim().split_once("://").expect("scheme");
    let (host_path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = host_path
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((host_path, "/".into()));
    Url {
        scheme: scheme.into(),
        host: host.into(),
        path,
        params: query_params(query),
    }
}

/// A directory holding a fake `xdg-open` that writes its argument to
/// `opened.txt` beside it (outside the test HOME), exiting with `status`.
fn fake_opener(dir: &Path, status: i32) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\nexit {status}\n",
            dir.join("opened.txt").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn with_path_first(env: &mut TestEnv, bin: &Path) {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.extra_env.push(("PATH".into(), path));
}

/// The login URL's parts every case checks.
fn assert_login_url(url: &Url, signin: &FakeSignin, token_n: usize, destination: &str) {
    assert_eq!(url.scheme, "http");
    assert_eq!(url.host, format!("127.0.0.1:{}", signin.port));
    assert_eq!(url.path, "/federation");
    assert_eq!(url.params["Action"], "login");
    assert_eq!(url.params["Issuer"], "crossrole");
    assert_eq!(url.params["Destination"], destination);
    assert_eq!(url.params["SigninToken"], format!("signin-token-{token_n}"));
    assert_eq!(url.params.len(), 4, "{:?}", url.params);
}

#[test]
fn login_signs_in_with_the_role_session_and_opens_without_printing() {
    let signin = FakeSignin::start();
    let outside = tempfile::tempdir().unwrap();
    let bin = fake_opener(outside.path(), 0);
    let mut env = TestEnv::keyutils();
    env.extra_env
        .push(("CROSSROLE_SIGNIN_ENDPOINT".into(), signin.url()));
    with_path_first(&mut env, &bin);
    let w = cmd_world(env, &["--no-verify"]);
    let env = &w.env;
    let doc = process_doc(&env.crossrole(&["credential-process", "blue"], None));

    // --stdout: the URL on stdout, nothing opened.
    let out = env.crossrole(&["login", "blue", "--stdout"], None);
    let url = parse_url(&ok(&out));
    assert_login_url(
        &url,
        &signin,
        1,
        "https://console.aws.amazon.com/console/home?region=eu-west-1",
    );
    assert!(!outside.path().join("opened.txt").exists());
    let session = signin.last_session();
    assert_eq!(session["sessionId"], doc["AccessKeyId"]);
    assert_eq!(session["sessionKey"], doc["SecretAccessKey"]);
    assert_eq!(session["sessionToken"], doc["SessionToken"]);
    assert_eq!(session.as_object().unwrap().len(), 3);
    assert_eq!(
        w.proxy.assume_role_calls(),
        1,
        "the cached session signed in"
    );

    // Opened: the opener gets the URL; stdout and stderr never show it.
    let dest = "https://console.aws.amazon.com/s3/home?region=eu-west-1&tab=objects";
    let out = env.crossrole(&["login", "blue", "--destination", dest], None);
    ok(&out);
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let opened = std::fs::read_to_string(outside.path().join("opened.txt")).unwrap();
    assert_login_url(&parse_url(&opened), &signin, 2, dest);
    assert_output_has_no(&out, &["signin-token", "federation", "Action=login"]);
    assert!(stderr(&out).contains("opened"), "{}", stderr(&out));

    // --region picks the console of that region's partition.
    for (region, console) in [
        ("cn-north-1", "https://console.amazonaws.cn"),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com"),
        ("us-west-2", "https://console.aws.amazon.com"),
    ] {
        let url = parse_url(&ok(
            &env.crossrole(&["login", "blue", "--stdout", "--region", region], None)
        ));
        assert_eq!(
            url.params["Destination"],
            format!("{console}/console/home?region={region}")
        );
    }

    // An opener that fails: a message pointing at --stdout, no URL anywhere.
    let failing = tempfile::tempdir().unwrap();
    let bad_bin = fake_opener(failing.path(), 3);
    let path = format!(
        "{}:{}",
        bad_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run_with_input(
        env.command(BIN).env("PATH", path).args(["login", "blue"]),
        None,
    );
    let err = fails_with(&out, &["xdg-open", "--stdout"]);
    assert!(!err.contains("signin-token"), "{err}");

    // Usage errors come before any request.
    let before = signin.requests().len();
    let out = env.crossrole(
        &["login", "blue", "--destination", "javascript:alert(1)"],
        None,
    );
    fails_with(&out, &["--destination", "https://"]);
    let out = env.crossrole(&["login", "blue", "--region", "Mars 1"], None);
    fails_with(&out, &["--region"]);
    assert_eq!(signin.requests().len(), before);

    for secret in [
        doc["SecretAccessKey"].as_str().unwrap(),
        doc["SessionToken"].as_str().unwrap(),
        "signin-token-",
    ] {
        env.assert_no_file_contains(secret);
    }
}

#[test]
fn a_key_profile_signs_in_with_a_federation_token() {
    let sts = FakeSts::start(Reply::Sessions {
        lifetime_secs: 43200,
    });
    let signin = FakeSignin::start();
    let mut env = TestEnv::keyutils();
    env.write_credentials(
        "[green]\naws_access_key_id = AKIAGREENGREENGREEN1\naws_secret_access_key = greenSecretGreenSecretGreenSecret0000000\n",
    );
    env.extra_env
        .push(("CROSSROLE_SIGNIN_ENDPOINT".into(), signin.url()));
    env.endpoint = Some(sts.url());
    ok(&env.crossrole(
        &import_setup_args("arn:aws:iam::222222222222:role/R", &["--no-verify"]),
        None,
    ));
    let out = env.crossrole(&["login", "green", "--stdout"], None);
    let url = parse_url(&ok(&out));
    assert_login_url(
        &url,
        &signin,
        1,
        "https://console.aws.amazon.com/console/home?region=eu-west-1",
    );
    // STS was asked for a federation token bounded by AdministratorAccess.
    let bodies = sts.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let asked = query_params(&bodies[0]);
    assert_eq!(asked["Action"], "GetFederationToken");
    assert_eq!(asked["Name"], "crossrole-tester");
    assert_eq!(
        asked["PolicyArns.member.1.arn"],
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    // The console got that session, never the long-term key.
    let session = signin.last_session();
    assert_eq!(session["sessionId"], "ASIAFAKESESSION00001");
    assert_eq!(session["sessionKey"], "fake-secret-1");
    assert_eq!(session["sessionToken"], "fake-token-1");
    assert_output_has_no(&out, &["greenSecretGreenSecret", "fake-secret-1"]);
    env.assert_no_file_contains("greenSecretGreenSecret");
    env.assert_no_file_contains("fake-token-1");
}

#[test]
fn a_dead_or_confused_federation_endpoint_gives_a_message_and_no_url() {
    let outside = tempfile::tempdir().unwrap();
    let bin = fake_opener(outside.path(), 0);
    let mut env = TestEnv::keyutils();
    with_path_first(&mut env, &bin);
    let w = cmd_world(env, &["--no-verify"]);
    let env = &w.env;
    let login = |endpoint: &str, args: &[&str]| {
        let mut all = vec!["login", "blue"];
        all.extend_from_slice(args);
        run_with_input(
            env.command(BIN)
                .env("CROSSROLE_SIGNIN_ENDPOINT", endpoint)
                .args(&all),
            None,
        )
    };
    // Nothing listening.
    let down = closed_port_url();
    for args in [&["--stdout"][..], &[]] {
        let out = login(&down, args);
        fails_with(&out, &["cannot reach the AWS sign-in endpoint", &down]);
    }
    // An HTML page, a 500, JSON without a token.
    for (status, content_type, body, says) in [
        (
            "200 OK",
            "text/html",
            "<html>captive portal</html>",
            "not JSON",
        ),
        (
            "500 Internal Server Error",
            "application/json",
            "{}",
            "HTTP 500",
        ),
        (
            "200 OK",
            "application/json",
            "{\"Other\":1}",
            "no SigninToken",
        ),
    ] {
        let fake = FakeSts::start(Reply::Http {
            status,
            content_type,
            body: body.to_string(),
        });
        for args in [&["--stdout"][..], &[]] {
            let out = login(&fake.url(), args);
            fails_with(&out, &["AWS sign-in endpoint", "not a sign-in token", says]);
        }
        assert_eq!(fake.requests(), 2);
    }
    assert!(
        !outside.path().join("opened.txt").exists(),
        "nothing was opened"
    );
}
