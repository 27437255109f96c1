//! Faults: STS down, hanging, failing, throttling or talking nonsense; a key
//! deleted behind crossrole's back; the keyring daemon absent, locked or
//! killed mid-call; the kernel keyring refused; the AWS files unreadable, a
//! folder, a symlink loop, on a read-only folder, HOME unset, the disk full.
//! Every failure is bounded in time, says what is wrong on stderr, prints
//! nothing on stdout and exits non-zero.

#![cfg(target_os = "linux")]
use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::*;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";
const KEY_ID: &str = "AKIAIOSFODNN7FAULTS1";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAULTSKEY1";
/// Blue's setup with the stored key, no STS check.
const SETUP: [&str; 6] = [
    "setup",
    "--no-verify",
    "--role-arn",
    ROLE_ARN,
    "--region",
    "eu-west-1",
];
/// The same, with the summary as text.
const SETUP_TEXT: [&str; 8] = [
    "setup",
    "--no-verify",
    "--role-arn",
    ROLE_ARN,
    "--region",
    "eu-west-1",
    "--output",
    "text",
];

fn sts_error(code: &str, message: &str, kind: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>0f0f0f0f-0000-4000-8000-000000000000</RequestId>\n</ErrorResponse>\n"
    )
}

/// An AssumeRole answer with a session `secs` seconds long.
fn assume_role_ok(secs: i64) -> String {
    let exp = (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <AssumeRoleResult>\n    <Credentials>\n      <AccessKeyId>ASIAFAKESESSION00001</AccessKeyId>\n      <SecretAccessKey>fakeSessionSecretfakeSessionSecret000001</SecretAccessKey>\n      <SessionToken>FakeSessionTokenFakeSessionToken</SessionToken>\n      <Expiration>{exp}</Expiration>\n    </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROAFAKE:crossrole-tester</AssumedRoleId>\n      <Arn>arn:aws:sts::222222222222:assumed-role/CrossAccountS3Access-Role/crossrole-tester</Arn>\n    </AssumedRoleUser>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>0f0f0f0f-0000-4000-8000-000000000000</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n"
    )
}

/// A keyutils env with Green's (fake) key stored by `setup --no-verify`.
fn stored_key_env() -> TestEnv {
    with_stored_key(TestEnv::keyutils())
}

/// `env` with Green's (fake) key imported by `setup --no-verify`.
fn with_stored_key(env: TestEnv) -> TestEnv {
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    ok(&env.crossrole(&import_setup_args(ROLE_ARN, &["--no-verify"]), None));
    env
}

/// A running child and when it started.
struct Running {
    name: String,
    started: Instant,
    waiter: std::thread::JoinHandle<(Output, Duration)>,
}

fn spawn_timed(name: &str, mut cmd: Command) -> Running {
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crossrole");
    let waiter = std::thread::spawn(move || {
        let o = child.wait_with_output().unwrap();
        (o, started.elapsed())
    });
    Running {
        name: name.to_string(),
        started,
        waiter,
    }
}

impl Running {
    fn finish(self) -> (Output, Duration) {
        let _ = self.started;
        self.waiter.join().unwrap()
    }
}

/// `crossrole ARGS` in the test's environment.
fn cr(env: &TestEnv, args: &[&str]) -> Command {
    let mut c = env.command(BIN);
    c.args(args);
    c
}

/// Runs `cmd` and returns its output and wall time.
fn timed(mut cmd: Command) -> (Output, Duration) {
    let started = Instant::now();
    let o = run_with_input(&mut cmd, None);
    (o, started.elapsed())
}

#[track_caller]
fn within(what: &str, took: Duration, limit: Duration) {
    eprintln!("faults: {what}: failed in {took:.2?}");
    assert!(took < limit, "{what}: took {took:?}, more than {limit:?}");
}

#[test]
fn sts_faults_fail_in_bounded_time_with_clear_messages() {
    let env = stored_key_env();
    // Each case gets its own runtime folder, so their per-profile locks do
    // not queue behind each other, and all run at once.
    let blue = |url: &str, case: &str| {
        let mut c = env.command(BIN);
        c.args(["credential-process", "blue"])
            .env("AWS_ENDPOINT_URL", url)
            .env(
                "XDG_RUNTIME_DIR",
                env.tmp.path().join(format!("run-{case}")),
            );
        c
    };
    let hang = FakeSts::start(Reply::Hang);
    let e500 = FakeSts::start(Reply::Http {
        status: "500 Internal Server Error",
        content_type: "text/xml",
        body: sts_error(
            "InternalFailure",
            "The request processing has failed because of an unknown error",
            "Receiver",
        ),
    });
    let e503 = FakeSts::start(Reply::Http {
        status: "503 Service Unavailable",
        content_type: "text/html",
        body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n".into(),
    });
    let throttle = FakeSts::start(Reply::Http {
        status: "400 Bad Request",
        content_type: "text/xml",
        body: sts_error("Throttling", "Rate exceeded", "Sender"),
    });
    let malformed = FakeSts::start(Reply::Http {
        status: "200 OK",
        content_type: "text/xml",
        body: "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA</Acc".into(),
    });
    let not_sts = FakeSts::start(Reply::Http {
        status: "200 OK",
        content_type: "text/html",
        body: "<html><body>Welcome to the captive portal</body></html>\n".into(),
    });
    let full = assume_role_ok(3600);
    let truncated = FakeSts::start(Reply::Truncated {
        declared: full.len(),
        body: full[..full.len() / 2].to_string(),
    });
    let setup_503 = FakeSts::start(Reply::Http {
        status: "503 Service Unavailable",
        content_type: "text/plain",
        body: String::new(),
    });
    let closed = closed_port_url();

    let runs = vec![
        spawn_timed("hang", blue(&hang.url(), "hang")),
        spawn_timed("closed", blue(&closed, "closed")),
        spawn_timed("500", blue(&e500.url(), "500")),
        spawn_timed("503", blue(&e503.url(), "503")),
        spawn_timed("throttling", blue(&throttle.url(), "throttling")),
        spawn_timed("malformed", blue(&malformed.url(), "malformed")),
        spawn_timed("not-sts", blue(&not_sts.url(), "not-sts")),
        spawn_timed("truncated", blue(&truncated.url(), "truncated")),
        spawn_timed("setup-503", {
            // A new key verified against a failing STS: refused, nothing written.
            let mut c = env.command(BIN);
            c.args([
                "setup",
                "--keys-from-env",
                "--role-arn",
                ROLE_ARN,
                "--output",
                "text",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7FAULTS2")
            .env("AWS_SECRET_ACCESS_KEY", SECRET.replace('1', "2"))
            .env("AWS_ENDPOINT_URL", setup_503.url())
            .env("XDG_RUNTIME_DIR", env.tmp.path().join("run-setup"));
            c
        }),
    ];
    let config_before = env.read_config();
    let mut results = std::collections::HashMap::new();
    for r in runs {
        let name = r.name.clone();
        results.insert(name, r.finish());
    }
    let get = |k: &str| &results[k];

    let (o, t) = get("closed");
    fails_with(o, &["cannot reach STS", &closed]);
    within("STS port closed", *t, Duration::from_secs(15));

    let (o, t) = get("hang");
    fails_with(o, &["did not answer in time", &hang.url()]);
    within("STS never answering", *t, Duration::from_secs(15));
    assert!(hang.requests() >= 1, "the hanging STS saw no request");
    eprintln!("faults: hang: {} requests", hang.requests());

    for (case, server, parts) in [
        ("500", &e500, &["STS", "InternalFailure"][..]),
        ("503", &e503, &["STS", "503"][..]),
        (
            "throttling",
            &throttle,
            &["throttling", "retries ran out"][..],
        ),
    ] {
        let (o, t) = get(case);
        let err = fails_with(o, parts);
        within(
            &format!("STS answering {case}"),
            *t,
            Duration::from_secs(15),
        );
        assert!(
            server.requests() > 1,
            "{case}: no retry ({} request): {err}",
            server.requests()
        );
        eprintln!(
            "faults: {case}: {} requests: {}",
            server.requests(),
            err.trim()
        );
    }

    for (case, parts) in [
        (
            "malformed",
            &["STS sent a response crossrole cannot read"][..],
        ),
        (
            "not-sts",
            &["STS sent a response crossrole cannot read"][..],
        ),
        ("truncated", &["STS"][..]),
    ] {
        let (o, t) = get(case);
        let err = fails_with(o, parts);
        within(
            &format!("STS answering {case}"),
            *t,
            Duration::from_secs(15),
        );
        eprintln!("faults: {case}: {}", err.trim());
    }

    let (o, t) = get("setup-503");
    let err = fails_with(o, &["STS", "HTTP 503", "an empty body"]);
    eprintln!("faults: setup-503: {}", err.trim());
    assert!(setup_503.requests() > 1, "setup did not retry");
    within(
        "setup verifying against STS answering 503",
        *t,
        Duration::from_secs(15),
    );
    assert_eq!(env.read_config(), config_before, "a failed setup wrote");
    let green = process_doc(&env.crossrole(&["credential-process", "green"], None));
    assert_eq!(
        green["AccessKeyId"], KEY_ID,
        "a failed setup replaced the key"
    );
    env.assert_no_file_contains(SECRET);
}

#[test]
fn a_key_deleted_in_iam_is_reported_as_deleted_deactivated_or_rotated() {
    let w = cmd_world(TestEnv::keyutils(), &[]);
    ok(&w.env.crossrole(&["clear"], None));
    moto_admin(
        &w.moto,
        "111111111111",
        &format!(
            "iam.delete_access_key(UserName='s3-prod-user', AccessKeyId={:?})",
            w.t.access_key_id
        ),
    );
    let (o, t) = timed({
        let mut c = w.env.command(BIN);
        c.args(["credential-process", "blue"]);
        c
    });
    fails_with(&o, &["deleted, deactivated or rotated", "`green`"]);
    within("deleted key", t, Duration::from_secs(15));
}

// ---- Keyring daemons ----

/// Env for a child using the Secret Service at `bus` (a D-Bus address).
fn secret_service_cmd(env: &TestEnv, bus: &str, args: &[&str]) -> Command {
    let mut c = env.command(BIN);
    c.args(args)
        .env("CROSSROLE_BACKEND", "secret-service")
        .env("DBUS_SESSION_BUS_ADDRESS", bus);
    c
}

#[test]
fn keyring_daemon_absent_is_a_clear_fast_error() {
    let env = TestEnv::keyutils();
    env.write_config(&hand_written_config(ROLE_ARN));
    // A socket file nobody listens on: connections are refused.
    let dead = env.tmp.path().join("dead-bus");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let bus = format!("unix:path={}", dead.display());
    let (o, t) = timed(secret_service_cmd(
        &env,
        &bus,
        &["credential-process", "green"],
    ));
    fails_with(
        &o,
        &["D-Bus", "Secret Service", "CROSSROLE_BACKEND=keyutils"],
    );
    within("dead D-Bus socket", t, Duration::from_secs(5));

    // A bus with no Secret Service on it.
    let ss = PrivateSecretService::start_bus_only(&env.tmp.path().join("bus-only"));
    let (o, t) = timed(secret_service_cmd(
        &env,
        ss.address(),
        &["credential-process", "green"],
    ));
    fails_with(&o, &["No Secret Service is running", "gnome-keyring"]);
    within("bus without a Secret Service", t, Duration::from_secs(5));
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

#[test]
fn locked_keyring_asks_to_unlock() {
    let env = with_stored_key(TestEnv::secret_service());
    let Keyring::SecretService(ss) = &env.keyring else {
        unreachable!()
    };
    let lock = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .env_clear()
        .envs(ss.child_env())
        .output()
        .unwrap();
    assert!(lock.status.success(), "{}", stderr(&lock));
    let (o, t) = timed(cr(&env, &["credential-process", "green"]));
    let err = fails_with(&o, &["unlock"]);
    eprintln!("faults: locked keyring: {}", err.trim());
    within("locked keyring", t, Duration::from_secs(15));
}

#[test]
fn keyring_daemon_killed_mid_call_is_a_clear_bounded_error() {
    let env = with_stored_key(TestEnv::secret_service());
    let Keyring::SecretService(ss) = &env.keyring else {
        unreachable!()
    };
    let pid = ss.owner_pid("org.freedesktop.secrets");
    // Freeze the daemon so the call is surely in flight, then kill it.
    signal(pid, "STOP");
    let run = spawn_timed("green", {
        let mut c = env.command(BIN);
        c.args(["credential-process", "green"]);
        c
    });
    std::thread::sleep(Duration::from_millis(700));
    signal(pid, "KILL");
    let killed_at = run.started.elapsed();
    let (o, t) = run.finish();
    let err = fails_with(&o, &["Secret Service"]);
    eprintln!("faults: keyring killed mid-call: {}", err.trim());
    within("keyring killed mid-call", t, Duration::from_secs(12));
    eprintln!(
        "faults: keyring killed mid-call: answered {:.2?} after the kill",
        t.saturating_sub(killed_at)
    );

    // And a call after the daemon is gone.
    let (o, t) = timed({
        let mut c = env.command(BIN);
        c.args(["credential-process", "green"]);
        c
    });
    fails_with(&o, &["Secret Service"]);
    within("keyring daemon gone", t, Duration::from_secs(5));
}

#[test]
fn a_refused_kernel_keyring_falls_back_to_the_secret_service_cache() {
    let sts = FakeSts::start(Reply::Http {
        status: "200 OK",
        content_type: "text/xml",
        body: assume_role_ok(3600),
    });
    let env = with_stored_key(TestEnv::secret_service());
    // A fresh session keyring, revoked before crossrole starts: every keyctl
    // on it is refused (EKEYREVOKED).
    let blue = || {
        let mut c = env.command("keyctl");
        c.args(["session", "-", "sh", "-c"])
            .arg("keyctl revoke @s >/dev/null && exec \"$0\" credential-process blue")
            .arg(BIN)
            .env("AWS_ENDPOINT_URL", sts.url());
        c
    };
    // `keyctl session` announces the keyring it joined on stderr; anything
    // else there (e.g. a warning that the session could not be cached) fails.
    let crossrole_stderr = |o: &Output| -> String {
        stderr(o)
            .lines()
            .filter(|l| !l.starts_with("Joined session keyring"))
            .collect()
    };
    let (o, t) = timed(blue());
    let doc = process_doc(&o);
    assert_eq!(crossrole_stderr(&o), "");
    assert_eq!(doc["AccessKeyId"], "ASIAFAKESESSION00001");
    assert_eq!(sts.requests(), 1);
    eprintln!("faults: kernel keyring refused: first call {t:.2?}");
    // Served from the Secret Service cache: no second STS call.
    let (o, _) = timed(blue());
    process_doc(&o);
    assert_eq!(crossrole_stderr(&o), "");
    assert_eq!(sts.requests(), 1, "the session was not cached");
    let Keyring::SecretService(ss) = &env.keyring else {
        unreachable!()
    };
    let found = ss
        .secret_tool()
        .args(["search", "--all", "service", "crossrole"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("session:")
            || String::from_utf8_lossy(&found.stderr).contains("session:"),
        "no session entry in the Secret Service: {}",
        stdout(&found)
    );
    env.assert_no_file_contains("fakeSessionSecretfakeSessionSecret000001");
}

// ---- The AWS files ----

fn can_bypass_permissions(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::write(&probe, "x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    readable
}

#[test]
fn unusable_config_files_are_clear_errors() {
    use std::os::unix::fs::PermissionsExt;
    let env = stored_key_env();
    let good = env.read_config();

    // chmod 000.
    if can_bypass_permissions(env.tmp.path()) {
        eprintln!("faults: SKIPPED unreadable config: this process bypasses file permissions (root / CAP_DAC_OVERRIDE), so chmod 000 does not stop reads");
    } else {
        std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o000)).unwrap();
        let (o, t) = timed(cr(&env, &["credential-process", "blue"]));
        fails_with(&o, &["cannot read", &env.config.display().to_string()]);
        within("unreadable config", t, Duration::from_secs(5));
        std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // The config path is a folder.
    let folder = env.tmp.path().join("config-folder");
    std::fs::create_dir_all(&folder).unwrap();
    for args in [&["credential-process", "blue"][..], &SETUP[..]] {
        let (o, t) = timed({
            let mut c = env.command(BIN);
            c.args(args).env("AWS_CONFIG_FILE", &folder);
            c
        });
        let err = fails_with(&o, &[&folder.display().to_string(), "it is a folder"]);
        eprintln!("faults: config is a folder ({}): {}", args[0], err.trim());
        within("config is a folder", t, Duration::from_secs(5));
    }

    // A symlink loop.
    let a = env.tmp.path().join("loop-a");
    let b = env.tmp.path().join("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    for args in [&["credential-process", "blue"][..], &SETUP[..]] {
        let (o, t) = timed({
            let mut c = env.command(BIN);
            c.args(args).env("AWS_CONFIG_FILE", &a);
            c
        });
        let err = fails_with(&o, &["symbolic links"]);
        eprintln!("faults: symlink loop ({}): {}", args[0], err.trim());
        within("symlink loop", t, Duration::from_secs(5));
    }

    // HOME unset, no AWS_CONFIG_FILE.
    for args in [&["credential-process", "blue"][..], &SETUP[..]] {
        let (o, t) = timed({
            let mut c = env.command(BIN);
            c.args(args)
                .env_remove("HOME")
                .env_remove("AWS_CONFIG_FILE");
            c
        });
        fails_with(&o, &["HOME is not set", "set HOME"]);
        within("HOME unset", t, Duration::from_secs(5));
    }
    assert_eq!(env.read_config(), good, "a failed call changed the config");
}

/// `chattr -i` on drop, so a failing test leaves no immutable folder behind.
struct Immutable<'a>(&'a Path);

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

#[test]
fn config_in_a_read_only_folder_fails_and_keeps_the_old_file() {
    use std::os::unix::fs::PermissionsExt;
    let env = stored_key_env();
    let before = env.read_config();
    let aws = env.config.parent().unwrap().to_path_buf();
    // chmod 0555 stops writes for users, not for root: then try chattr +i.
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = aws.join(".probe");
    let mut guard = None;
    if std::fs::write(&probe, "x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        let st = Command::new("chattr")
            .arg("+i")
            .arg(&aws)
            .stderr(Stdio::null())
            .status();
        if st.is_ok_and(|s| s.success()) {
            guard = Some(Immutable(&aws));
        } else {
            std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o700)).unwrap();
            eprintln!("faults: SKIPPED read-only config folder: running with permission bypass and `chattr +i` is refused (no CAP_LINUX_IMMUTABLE or a filesystem without the flag); no bind or tmpfs mount is possible here either");
            return;
        }
    }
    let (o, t) = timed(cr(&env, &SETUP_TEXT));
    let err = fails_with(
        &o,
        &[
            "cannot create a temporary file",
            "folder must be writable",
            &aws.display().to_string(),
        ],
    );
    eprintln!("faults: read-only folder: {}", err.trim());
    within("read-only config folder", t, Duration::from_secs(5));
    drop(guard);
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(env.read_config(), before, "the old config was not kept");
    let left: Vec<_> = std::fs::read_dir(&aws)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("crossrole-tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn disk_full_while_saving_keeps_the_old_file() {
    // No small filesystem can be mounted here, and /dev/full cannot be a
    // rename target, so "disk full" is a file-size limit: `ulimit -f 1`
    // (512 bytes) makes a write past it fail with EFBIG (crossrole ignores
    // SIGXFSZ, which would otherwise kill it mid-save).
    let env = stored_key_env();
    let padding: String = (0..40)
        .map(|i| format!("# padding line {i:02} to make the file bigger than the limit\n"))
        .collect();
    let before = format!("{padding}{}", env.read_config());
    env.write_config(&before);
    let (o, t) = timed({
        let mut c = env.command("sh");
        c.arg("-c")
            .arg("ulimit -f 1 && exec \"$0\" \"$@\"")
            .arg(BIN)
            .args(SETUP_TEXT);
        c
    });
    within("file-size limit while saving", t, Duration::from_secs(5));
    assert!(!o.status.success(), "setup succeeded past the size limit");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(&o));
    {
        use std::os::unix::process::ExitStatusExt;
        // crossrole ignores SIGXFSZ while saving, so the write fails and is reported.
        assert_eq!(
            o.status.signal(),
            None,
            "killed by a signal instead of reporting"
        );
        let err = fails_with(&o, &["File too large"]);
        eprintln!("faults: file-size limit: {}", err.trim());
    }
    assert_eq!(env.read_config(), before, "the old config did not survive");
    // Without the limit, the next run saves and clears any temp file left.
    ok(&env.crossrole(&SETUP_TEXT, None));
    assert!(env.read_config().contains("output = text"));
    let aws = env.config.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(aws)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("crossrole-tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}
