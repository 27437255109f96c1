//! `crossrole exec --server PROFILE -- CMD…`: CMD gets a loopback credential
//! endpoint instead of keys. The real AWS CLI and boto3 use it against moto;
//! requests without the token are refused; sessions refresh without
//! restarting CMD; the endpoint ends with CMD; signals reach CMD.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::*;

fn env_map(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A Python snippet run as CMD; `fetch()` GETs the endpoint as an SDK does.
fn python_child(body: &str) -> String {
    format!(
        r#"import http.client, json, os, sys
from urllib.parse import urlsplit
u = urlsplit(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
TOKEN = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
def request(method="GET", path=u.path, headers=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    c.request(method, path, headers=headers or {{}})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
def fetch():
    status, data = request(headers={{"Authorization": TOKEN}})
    assert status == 200, (status, data)
    return json.loads(data)
{body}
"#
    )
}

#[test]
fn boto3_and_the_aws_cli_run_as_blue_through_the_endpoint() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    let bucket = format!("s3://{}/", w.t.bucket);
    std::fs::write(env.home.join("foo"), "hello").unwrap();
    let script = format!(
        r#"set -e
env > child-env.txt
aws sts get-caller-identity --query Arn --output text
aws s3 cp foo {bucket} >/dev/null
aws s3 ls --recursive {bucket}
python3 -c '
import boto3
s = boto3.Session()
print("boto3 method:", s.get_credentials().method)
print("boto3 arn:", s.client("sts").get_caller_identity()["Arn"])
print("boto3 keys:", [o["Key"] for o in s.client("s3").list_objects_v2(Bucket="{name}")["Contents"]])
'
"#,
        name = w.t.bucket
    );
    let out = env.crossrole(
        &["exec", "--server", "blue", "--", "sh", "-c", &script],
        None,
    );
    let text = ok(&out);
    assert!(
        text.contains("assumed-role/CrossAccountS3Access-Role/crossrole-tester"),
        "{text}"
    );
    assert!(text.contains("foo"), "{text}");
    assert!(text.contains("boto3 method: container-role"), "{text}");
    assert!(
        text.contains("boto3 arn: arn:aws:sts::")
            && text.contains(":assumed-role/CrossAccountS3Access-Role/"),
        "{text}"
    );
    assert!(text.contains("boto3 keys: ['foo']"), "{text}");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    // The child had the endpoint and no static keys.
    let vars = env_map(&std::fs::read_to_string(env.home.join("child-env.txt")).unwrap());
    std::fs::remove_file(env.home.join("child-env.txt")).unwrap();
    let uri = &vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let token = &vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
    ] {
        assert!(!vars.contains_key(gone), "{gone} set: {vars:?}");
    }
    assert_eq!(vars["AWS_REGION"], "eu-west-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "eu-west-1");
    assert_eq!(vars["CROSSROLE_PROFILE"], "blue");
    assert_eq!(w.proxy.assume_role_calls(), 1, "every fetch used the cache");

    // --region, and a key profile (nothing to refresh) is refused.
    let out = env.crossrole(
        &[
            "exec",
            "--server",
            "--region",
            "us-west-2",
            "blue",
            "--",
            "env",
        ],
        None,
    );
    assert_eq!(env_map(&ok(&out))["AWS_REGION"], "us-west-2");
    // A key profile's long-term key never expires: nothing to serve. (Without
    // --no-session it gets GetSessionToken sessions, which moto under IAM
    // enforcement refuses to its own keys, so that path is not run here.)
    let out = env.crossrole(
        &["exec", "--server", "--no-session", "green", "--", "true"],
        None,
    );
    fails_with(
        &out,
        &[
            "does not expire",
            "crossrole exec --no-session green -- CMD",
        ],
    );

    let doc = process_doc(&env.crossrole(&["credential-process", "blue"], None));
    env.assert_no_file_contains(doc["SessionToken"].as_str().unwrap());
    env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn requests_without_the_exact_token_are_refused() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let child = python_child(
        r#"
out = {}
out["none"] = request()[0]
out["wrong"] = request(headers={"Authorization": "0" * 64})[0]
out["prefix"] = request(headers={"Authorization": TOKEN[:-1]})[0]
out["longer"] = request(headers={"Authorization": TOKEN + "0"})[0]
out["bearer"] = request(headers={"Authorization": "Bearer " + TOKEN})[0]
out["post"] = request("POST", headers={"Authorization": TOKEN})[0]
out["other_path"] = request(path="/", headers={"Authorization": TOKEN})[0]
out["query"] = request(path=u.path + "?x=1", headers={"Authorization": TOKEN})[0]
out["huge_header"] = request(headers={"Authorization": TOKEN, "X-Pad": "a" * 10000})[0]
status, data = request(headers={"Authorization": TOKEN})
out["right"] = status
out["doc"] = json.loads(data)
print(json.dumps(out))
"#,
    );
    let out = w.env.crossrole(
        &["exec", "--server", "blue", "--", "python3", "-c", &child],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["none"], 401);
    for wrong in ["wrong", "prefix", "longer", "bearer"] {
        assert_eq!(v[wrong], 403, "{wrong}: {v}");
    }
    assert_eq!(v["post"], 405);
    assert_eq!(v["other_path"], 404);
    assert_eq!(v["query"], 404);
    assert_eq!(v["huge_header"], 431);
    assert_eq!(v["right"], 200);
    let doc = &v["doc"];
    let cp = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(doc["AccessKeyId"], cp["AccessKeyId"]);
    assert_eq!(doc["SecretAccessKey"], cp["SecretAccessKey"]);
    assert_eq!(doc["Token"], cp["SessionToken"]);
    assert_eq!(doc["Expiration"], cp["Expiration"]);
    assert_eq!(doc.as_object().unwrap().len(), 4, "{doc}");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// crossrole running CMD in the background, its stdout read line by line.
struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(env: &TestEnv, args: &[&str]) -> Running {
        use std::os::unix::process::CommandExt;
        let mut child = env
            .command(BIN)
            .args(args)
            // Its own process group, as a shell job: the group can be signalled as a terminal would.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("a line from the command")
    }

    fn say(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn signal(&self, sig: &str, group: bool) {
        let target = if group {
            format!("-{}", self.child.id())
        } else {
            self.child.id().to_string()
        };
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), "--", &target])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {target}");
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "crossrole did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    /// A failed test must not leave crossrole and CMD behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_cleared_session_is_replaced_without_restarting_the_command() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let child = python_child(
        r#"
for _ in range(3):
    print(fetch()["AccessKeyId"], flush=True)
    sys.stdin.readline()
"#,
    );
    let mut run = Running::start(
        &w.env,
        &["exec", "--server", "blue", "--", "python3", "-c", &child],
    );
    let first = run.line();
    run.say("\n");
    assert_eq!(run.line(), first, "the cached session is served again");
    ok(&w.env.crossrole(&["clear", "blue"], None));
    run.say("\n");
    let third = run.line();
    assert!(third.starts_with("ASIA"), "{third}");
    assert_ne!(third, first, "a fresh session after `clear`");
    run.say("\n");
    assert!(run.wait().success());
    assert_eq!(w.proxy.assume_role_calls(), 2);
}

#[test]
fn sessions_near_expiry_are_refreshed_for_the_sdk_in_the_same_process() {
    // Ten-minute sessions: inside the 15-minute window, so every fetch is
    // a new AssumeRole, and botocore refreshes on every use.
    let sts = FakeSts::start(Reply::Sessions { lifetime_secs: 600 });
    let mut env = TestEnv::keyutils();
    env.write_credentials(
        "[green]\naws_access_key_id = AKIAGREENGREENGREEN1\naws_secret_access_key = greenSecretGreenSecretGreenSecret0000000\n",
    );
    env.endpoint = Some(sts.url());
    ok(&env.crossrole(
        &import_setup_args("arn:aws:iam::222222222222:role/R", &["--no-verify"]),
        None,
    ));
    let child = r#"
import boto3
creds = boto3.Session().get_credentials()
first = creds.get_frozen_credentials()
second = creds.get_frozen_credentials()
print(first.access_key, second.access_key, second.token)
"#;
    let out = env.crossrole(
        &["exec", "--server", "blue", "--", "python3", "-c", child],
        None,
    );
    let text = ok(&out);
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{text}");
    assert!(parts[0].starts_with("ASIAFAKESESSION"), "{text}");
    assert_ne!(parts[0], parts[1], "botocore got a fresh session: {text}");
    let n: usize = parts[1]
        .trim_start_matches("ASIAFAKESESSION")
        .parse()
        .unwrap();
    assert_eq!(parts[2], format!("fake-token-{n}"));
    assert!(sts.requests() >= 3, "{}", sts.requests());
    env.assert_no_file_contains("greenSecretGreenSecret");
}

#[test]
fn the_endpoint_lives_as_long_as_the_command_and_signals_reach_it() {
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;

    // Gone once CMD exits; CMD's status is crossrole's.
    let out = env.crossrole(
        &[
            "exec",
            "--server",
            "blue",
            "--",
            "sh",
            "-c",
            "echo $AWS_CONTAINER_CREDENTIALS_FULL_URI; exit 5",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(5));
    let uri = stdout(&out);
    let port: u16 = uri
        .trim()
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the endpoint outlived the command"
    );
    // No CMD: the shell gets the endpoint, and no keys.
    let out = env.crossrole(
        &["exec", "--server", "blue"],
        Some("test -n \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\" && test -z \"$AWS_ACCESS_KEY_ID\" && echo shell-ok\n"),
    );
    assert_eq!(ok(&out).trim(), "shell-ok");
    // A missing command: 127, as exec.
    let out = env.crossrole(
        &[
            "exec",
            "--server",
            "blue",
            "--",
            "no-such-command-crossrole",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(127));
    // Death by a signal shows to a calling shell as 128+n, as exec.
    let script = format!("'{BIN}' exec --server blue -- sh -c 'kill -TERM $$'; echo $?");
    let out = ok(&run_with_input(
        env.command("sh").args(["-c", &script]),
        None,
    ));
    assert_eq!(out.trim(), "143");

    // SIGTERM to crossrole alone, SIGINT to crossrole alone, and SIGINT to
    // the whole process group (what Ctrl-C at a terminal does): CMD gets it,
    // crossrole waits for CMD and passes on its status.
    let trap = r#"trap 'echo got-TERM; exit 7' TERM; trap 'echo got-INT; exit 8' INT; echo ready; while :; do sleep 0.05; done"#;
    for (sig, group, said, code) in [
        ("TERM", false, "got-TERM", 7),
        ("INT", false, "got-INT", 8),
        ("INT", true, "got-INT", 8),
    ] {
        let mut run = Running::start(env, &["exec", "--server", "blue", "--", "sh", "-c", trap]);
        assert_eq!(run.line(), "ready");
        run.signal(sig, group);
        assert_eq!(run.line(), said, "{sig} group={group}");
        run.say("");
        assert_eq!(run.wait().code(), Some(code), "{sig} group={group}");
    }
}

#[test]
fn ctrl_c_at_a_terminal_reaches_the_command_once() {
    // Under `script`, crossrole and CMD run on a pseudo-terminal, in its
    // foreground; a ^C typed there signals both. crossrole must survive it
    // and not send CMD a second one.
    let w = cmd_world(TestEnv::keyutils(), &["--no-verify"]);
    let env = &w.env;
    let counter = env.home.join("count_int.py");
    std::fs::write(
        &counter,
        r#"import signal, sys, time
n = 0
def on_int(signum, frame):
    global n
    n += 1
signal.signal(signal.SIGINT, on_int)
print("ready", flush=True)
deadline = time.time() + 30
while n == 0 and time.time() < deadline:
    time.sleep(0.01)
time.sleep(1.0)
print(f"count={n}", flush=True)
sys.exit(9)
"#,
    )
    .unwrap();
    // `exec`: crossrole leads the terminal's session, as under a login shell
    // (a non-interactive sh in between would die of the ^C itself).
    let line = format!(
        "exec '{BIN}' exec --server blue -- python3 '{}'",
        counter.display()
    );
    let mut child = env
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("script (util-linux)");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            let _ = tx.send(l.trim_end_matches('\r').to_string());
        }
    });
    let next = || lines.recv_timeout(Duration::from_secs(60)).expect("a line");
    while next() != "ready" {}
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    // The terminal echoes the ^C in front of CMD's next line.
    let count = loop {
        if let Some((_, n)) = next().rsplit_once("count=") {
            break n.to_string();
        }
    };
    assert_eq!(count, "1", "CMD got the terminal's SIGINT, and only it");
    drop(stdin);
    // script -e exits with crossrole's status: CMD's, passed on after the ^C.
    assert_eq!(child.wait().unwrap().code(), Some(9));
}
