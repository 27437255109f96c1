//! Test harness: a temp HOME, a private keyring (kernel keyutils in a fresh
//! session keyring, or a private gnome-keyring on a private D-Bus), moto_server
//! on loopback behind a proxy that counts STS calls, and helpers that run the
//! real `crossrole` binary and the real AWS CLI with only that environment.
//! Linux only: every test file using it starts with `#![cfg(target_os = "linux")]`,
//! so the Windows cross clippy (`./install.sh --test`) checks the rest.
#![allow(dead_code)]

pub mod admin;
pub mod fake_sts;
pub mod keyring_env;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use keyring_env::{files_containing, join_fresh_session_keyring, PrivateSecretService};

pub const BIN: &str = env!("CARGO_BIN_EXE_crossrole");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start on port {port}");
}

/// moto_server on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is not installed: run ./install.sh --test");
        wait_for_port(port, "moto_server");
        Moto { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP proxy in front of moto that counts STS actions in the
/// request bytes, so a test can tell how many AssumeRole calls were made.
pub struct CountingProxy {
    pub port: u16,
    assume_role: Arc<AtomicUsize>,
    caller_identity: Arc<AtomicUsize>,
}

impl CountingProxy {
    pub fn start(upstream: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let assume_role = Arc::new(AtomicUsize::new(0));
        let caller_identity = Arc::new(AtomicUsize::new(0));
        let (ar, ci) = (assume_role.clone(), caller_identity.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (ar, ci) = (ar.clone(), ci.clone());
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, Some((ar, ci))));
                std::thread::spawn(move || pump(s2, c2, None));
            }
        });
        CountingProxy {
            port,
            assume_role,
            caller_identity,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn assume_role_calls(&self) -> usize {
        self.assume_role.load(Ordering::SeqCst)
    }

    pub fn caller_identity_calls(&self) -> usize {
        self.caller_identity.load(Ordering::SeqCst)
    }
}

type Counters = (Arc<AtomicUsize>, Arc<AtomicUsize>);

fn pump(mut from: TcpStream, mut to: TcpStream, counters: Option<Counters>) {
    let mut buf = [0u8; 16384];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((ar, ci)) = &counters {
            // Scan the new bytes plus a short tail of the previous read, so a
            // marker split across reads is still counted once.
            let mut window = std::mem::take(&mut tail);
            let start_new = window.len();
            window.extend_from_slice(&buf[..n]);
            for (needle, counter) in [
                (&b"Action=AssumeRole"[..], ar),
                (&b"Action=GetCallerIdentity"[..], ci),
            ] {
                let mut i = 0;
                while i + needle.len() <= window.len() {
                    if &window[i..i + needle.len()] == needle && i + needle.len() > start_new {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    i += 1;
                }
            }
            let keep = window.len().saturating_sub(32);
            tail = window[keep..].to_vec();
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// What the tutorial fixture created in moto.
pub struct Tutorial {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub role_arn: String,
    pub bucket: String,
    /// The fixture's whole answer (options such as `--two-keys` add fields).
    pub json: serde_json::Value,
}

pub fn tutorial(moto: &Moto, extra: &[&str]) -> Tutorial {
    let v = tutorial_json(moto, extra);
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    Tutorial {
        access_key_id: s("access_key_id"),
        secret_access_key: s("secret_access_key"),
        role_arn: s("role_arn"),
        bucket: s("bucket"),
        json: v,
    }
}

pub enum Keyring {
    /// Kernel keyutils, in a session keyring private to the calling test thread.
    Keyutils,
    /// A private gnome-keyring on a private D-Bus session bus.
    SecretService(PrivateSecretService),
}

/// A temp HOME with its own AWS files, keyring and (optionally) STS endpoint.
pub struct TestEnv {
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub keyring: Keyring,
    pub endpoint: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

impl TestEnv {
    pub fn keyutils() -> TestEnv {
        join_fresh_session_keyring()
            .expect("join a fresh session keyring (run the tests under `keyctl session`)");
        TestEnv::with_keyring(|_| Keyring::Keyutils)
    }

    pub fn secret_service() -> TestEnv {
        // Sessions still go to the kernel keyring by default: keep them private too.
        join_fresh_session_keyring()
            .expect("join a fresh session keyring (run the tests under `keyctl session`)");
        TestEnv::with_keyring(|tmp| {
            Keyring::SecretService(PrivateSecretService::start(&tmp.join("ss")))
        })
    }

    /// [`secret_service`](Self::secret_service) with the bus and keyring
    /// daemons running as `uid`, for a crossrole run as that UID (`setpriv`).
    pub fn secret_service_as(uid: u32) -> TestEnv {
        join_fresh_session_keyring()
            .expect("join a fresh session keyring (run the tests under `keyctl session`)");
        TestEnv::with_keyring(|tmp| {
            std::os::unix::fs::chown(tmp, Some(uid), Some(uid)).expect("chown the temp dir");
            Keyring::SecretService(PrivateSecretService::start_as(&tmp.join("ss"), Some(uid)))
        })
    }

    fn with_keyring(make: impl FnOnce(&Path) -> Keyring) -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let keyring = make(tmp.path());
        TestEnv {
            config: home.join(".aws/config"),
            credentials: home.join(".aws/credentials"),
            home,
            tmp,
            keyring,
            endpoint: None,
            extra_env: Vec::new(),
        }
    }

    /// The environment every child gets: nothing inherited but PATH.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_default(),
            ),
            ("HOME".into(), self.home.display().to_string()),
            ("USER".into(), "tester".into()),
            ("AWS_CONFIG_FILE".into(), self.config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                self.credentials.display().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.tmp.path().join("run").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                self.tmp.path().join("cache").display().to_string(),
            ),
            (
                "TMPDIR".into(),
                self.tmp.path().join("tmp").display().to_string(),
            ),
            ("CROSSROLE_KEYUTILS_KEYRING".into(), "session".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        let _ = std::fs::create_dir_all(self.tmp.path().join("tmp"));
        match &self.keyring {
            Keyring::Keyutils => v.push(("CROSSROLE_BACKEND".into(), "keyutils".into())),
            Keyring::SecretService(ss) => {
                v.push(("CROSSROLE_BACKEND".into(), "secret-service".into()));
                v.extend(ss.env_vars());
            }
        }
        if let Some(e) = &self.endpoint {
            v.push(("AWS_ENDPOINT_URL".into(), e.clone()));
        }
        v.extend(self.extra_env.iter().cloned());
        v
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear().envs(self.env_vars()).current_dir(&self.home);
        c
    }

    /// Runs crossrole with `args`, stdin from `input` (empty if None).
    pub fn crossrole(&self, args: &[&str], input: Option<&str>) -> Output {
        run_with_input(self.command(BIN).args(args), input)
    }

    pub fn aws(&self, args: &[&str]) -> Output {
        run_with_input(self.command("aws").args(args), None)
    }

    pub fn write_config(&self, text: &str) {
        write_private(&self.config, text);
    }

    pub fn write_credentials(&self, text: &str) {
        write_private(&self.credentials, text);
    }

    pub fn read_config(&self) -> String {
        std::fs::read_to_string(&self.config).unwrap_or_default()
    }

    pub fn read_credentials(&self) -> String {
        std::fs::read_to_string(&self.credentials).unwrap_or_default()
    }

    /// Fails if `needle` appears in any file under the test's temp folder.
    pub fn assert_no_file_contains(&self, needle: &str) {
        let hits = files_containing(self.tmp.path(), needle.as_bytes());
        assert!(hits.is_empty(), "secret found on disk in: {hits:?}");
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

pub fn run_with_input(cmd: &mut Command, input: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        let _ = stdin.write_all(text.as_bytes());
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts success, showing stderr when it failed.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed ({:?})\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts failure with empty stdout and a message containing every `parts`.
#[track_caller]
pub fn fails_with(o: &Output, parts: &[&str]) -> String {
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        stdout(o)
    );
    assert!(
        o.stdout.is_empty(),
        "stdout not empty on failure: {}",
        stdout(o)
    );
    let err = stderr(o);
    for p in parts {
        assert!(err.contains(p), "stderr lacks {p:?}: {err}");
    }
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("RUST_BACKTRACE"), "backtrace hint: {err}");
    err
}

// ---- Helpers for the Blue cache, MFA and error tests ----

/// The tutorial fixture's whole JSON output, for the fields that
/// `--second-role NAME` (`second_role_arn`) and `--two-keys`
/// (`access_key_id_2`, `secret_access_key_2`) add.
pub fn tutorial_json(moto: &Moto, extra: &[&str]) -> serde_json::Value {
    moto_fixture("tutorial.py", moto, extra)
}

/// Runs `tests/fixtures/SCRIPT` against moto with `extra` options; its
/// JSON answer.
pub fn moto_fixture(script: &str, moto: &Moto, extra: &[&str]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let out = Command::new("python3")
        .arg(path)
        .arg(moto.url())
        .args(extra)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "fixture {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether the kernel session keyring holds a crossrole key for `profile`.
pub fn kernel_keyring_has_key(profile: &str) -> bool {
    keyctl(&["search", "@s", "user", &format!("crossrole:key:{profile}")])
        .status
        .code()
        == Some(0)
}

/// Turns moto's IAM enforcement off (`on == false`) or back on.
pub fn moto_enforce(moto: &Moto, on: bool) {
    let script = format!(
        "import urllib.request\nreq = urllib.request.Request({url:?} + '/moto-api/reset-auth', data=b'{n}', headers={{'Content-Type': 'text/plain'}}, method='POST')\nurllib.request.urlopen(req).read()\n",
        url = moto.url(),
        n = if on { "0" } else { "inf" },
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "reset-auth: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a boto3 snippet as an admin of `account` (the `x-moto-account-id`
/// header trick of tutorial.py), with IAM enforcement paused around it. The
/// snippet has `iam` (an IAM client for that account) in scope.
pub fn moto_admin(moto: &Moto, account: &str, snippet: &str) -> String {
    moto_enforce(moto, false);
    let script = format!(
        "import boto3\niam = boto3.client('iam', endpoint_url={url:?}, region_name='eu-west-1', aws_access_key_id='AKIAADMINADMINADMIN0', aws_secret_access_key='admin-secret-not-used-by-tests')\ndef _pick(request, **_):\n    request.headers['x-moto-account-id'] = {account:?}\niam.meta.events.register('before-send.*.*', _pick)\n{snippet}\n",
        url = moto.url(),
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3");
    moto_enforce(moto, true);
    assert!(
        out.status.success(),
        "moto admin snippet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs `keyctl` from the calling thread, so it sees the thread's session
/// keyring (the one `TestEnv::keyutils()` joined and the children share).
pub fn keyctl(args: &[&str]) -> Output {
    Command::new("keyctl")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("keyctl (Debian package keyutils)")
}

/// (id, description) of the keys linked in the session keyring whose
/// description starts with `prefix` (e.g. `crossrole:session:blue:`).
pub fn session_keyring_keys(prefix: &str) -> Vec<(String, String)> {
    let list = keyctl(&["rlist", "@s"]);
    assert!(list.status.success(), "keyctl rlist: {}", stderr(&list));
    let mut found = Vec::new();
    for id in stdout(&list).split_whitespace() {
        let d = keyctl(&["rdescribe", id]);
        if !d.status.success() {
            continue;
        }
        // type;uid;gid;perm;description
        let text = stdout(&d);
        let desc = text
            .trim_end()
            .splitn(5, ';')
            .nth(4)
            .unwrap_or("")
            .to_string();
        if desc.starts_with(prefix) {
            found.push((id.to_string(), desc));
        }
    }
    found
}

/// Asserts that none of `secrets` appears in the output's stdout or stderr.
#[track_caller]
pub fn assert_output_has_no(o: &Output, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !stdout(o).contains(s),
            "a secret is on stdout: {}",
            stdout(o)
        );
        assert!(
            !stderr(o).contains(s),
            "a secret is on stderr: {}",
            stderr(o)
        );
    }
}

/// The credential_process document on a successful output.
#[track_caller]
pub fn process_doc(o: &Output) -> serde_json::Value {
    let text = ok(o);
    let v: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(v["Version"], 1, "{text}");
    v
}

impl TestEnv {
    /// Sets (`Some`) or removes (`None`) `key` in `[profile NAME]` of the
    /// config file, leaving every other line as it is.
    pub fn set_profile_key(&self, profile: &str, key: &str, value: Option<&str>) {
        let text = self.read_config();
        let header = format!("[profile {profile}]");
        let mut out: Vec<String> = Vec::new();
        let mut in_section = false;
        let mut found = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                in_section = t == header;
                out.push(line.to_string());
                if in_section {
                    found = true;
                    if let Some(v) = value {
                        out.push(format!("{key} = {v}"));
                    }
                }
                continue;
            }
            if in_section && t.split('=').next().map(str::trim) == Some(key) {
                continue;
            }
            out.push(line.to_string());
        }
        assert!(found, "no {header} in the config:\n{text}");
        self.write_config(&(out.join("\n") + "\n"));
    }
}

/// Seconds from now until a credential_process document's Expiration.
pub fn seconds_left(doc: &serde_json::Value) -> i64 {
    let text = doc["Expiration"].as_str().expect("Expiration");
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("Expiration {text:?}: {e}"));
    (at - time::OffsetDateTime::now_utc()).whole_seconds()
}

// ---- Helpers for the everyday-command tests (exec, export, list, clear, remove, doctor) ----

/// A loopback URL on which nothing listens: connections are refused at once.
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// Moto with the tutorial, a counting proxy in front of it (set as the
/// env's endpoint), Green's key imported by `setup` and both profiles written.
pub struct CmdWorld {
    pub env: TestEnv,
    pub proxy: CountingProxy,
    pub t: Tutorial,
    pub moto: Moto,
}

pub fn cmd_world(env: TestEnv, setup_extra: &[&str]) -> CmdWorld {
    cmd_world_with(env, &[], setup_extra)
}

/// Moto with the tutorial (plus `fixture` options), a counting proxy in
/// front, and `setup --import-credentials` done with `setup_extra`.
pub fn cmd_world_with(env: TestEnv, fixture: &[&str], setup_extra: &[&str]) -> CmdWorld {
    let moto = Moto::start();
    let t = tutorial(&moto, fixture);
    let proxy = CountingProxy::start(moto.port);
    let mut env = env;
    env.endpoint = Some(proxy.url());
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    let args = import_setup_args(&t.role_arn, setup_extra);
    let out = env.crossrole(&args, None);
    ok(&out);
    assert_output_has_no(&out, &[&t.secret_access_key]);
    CmdWorld {
        env,
        proxy,
        t,
        moto,
    }
}

/// `setup --import-credentials` for `role_arn` in eu-west-1, then `extra`.
/// `--yes` confirms deleting the plaintext on the keyutils backend (whose
/// keys a reboot loses): these tests do not reboot.
pub fn import_setup_args<'a>(role_arn: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "setup",
        "--import-credentials",
        "--yes",
        "--role-arn",
        role_arn,
        "--region",
        "eu-west-1",
    ];
    args.extend_from_slice(extra);
    args
}

/// The real binary with nothing inherited but PATH, and a throwaway HOME:
/// for commands that read no AWS files and no keyring.
pub fn crossrole_bare(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run crossrole")
}

/// The Green key profile's credential_process line and a role profile
/// using it, written by hand (no keyring entry behind them).
pub fn hand_written_config(role_arn: &str) -> String {
    format!(
        "[profile green]\ncredential_process = \"{BIN}\" credential-process green\nregion = eu-west-1\noutput = json\n\n[profile blue]\ncredential_process = \"{BIN}\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = {role_arn}\n"
    )
}

/// The tutorial's commands through the real AWS CLI: Green's identity,
/// Blue's assumed role, `s3 cp` and `s3 ls` on the bucket, and access denied
/// on another bucket.
pub fn tutorial_commands(w: &CmdWorld) {
    let env = &w.env;
    let who = ok(&env.aws(&["--profile", "green", "sts", "get-caller-identity"]));
    assert!(who.contains("user/s3-prod-user"), "{who}");
    let blue = ok(&env.aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(
        blue.contains("assumed-role/CrossAccountS3Access-Role/crossrole-tester"),
        "{blue}"
    );
    std::fs::write(env.home.join("foo"), "hello from green").unwrap();
    ok(&env.aws(&[
        "--profile",
        "blue",
        "s3",
        "cp",
        "foo",
        &format!("s3://{}/", w.t.bucket),
    ]));
    let listing = ok(&env.aws(&[
        "--profile",
        "blue",
        "s3",
        "ls",
        "--recursive",
        &format!("s3://{}/", w.t.bucket),
    ]));
    assert!(listing.contains("foo"), "{listing}");
    blue_is_denied_other_bucket(env);
}

/// Blue's role may not list `other-bucket`, a bucket of its own account.
pub fn blue_is_denied_other_bucket(env: &TestEnv) {
    let denied = env.aws(&[
        "--profile",
        "blue",
        "s3",
        "ls",
        "--recursive",
        "s3://other-bucket/",
    ]);
    assert!(!denied.status.success());
    assert!(
        stderr(&denied).contains("AccessDenied"),
        "{}",
        stderr(&denied)
    );
}
