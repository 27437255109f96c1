//! The secret stores against real backends: a private Secret Service
//! (dbus-daemon + gnome-keyring-daemon under a temp dir) and the kernel
//! keyring (a fresh anonymous session keyring per test thread).
//!
//! The Secret Service client finds its bus through the process environment,
//! so those checks run in a child process: this test binary re-runs itself
//! with `CROSSROLE_TEST_CHILD=<mode>` and a private bus address, and the
//! `child_*` test does the work there (it does nothing otherwise).
#![cfg(target_os = "linux")]

use crate::common::keyring_env;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossrole::env::Env;
use crossrole::secrets::{
    open_secret_store, open_session_store, secret_service_direct_lookup,
    secret_service_direct_store, Backend, Direct, Error,
};
use keyring_env::{join_fresh_session_keyring, secret_in_files, PrivateSecretService};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY";
const CHILD_MODE: &str = "CROSSROLE_TEST_CHILD";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// Runs the `child_secret_service` test of this binary in a child process
/// with `mode` and `vars`; returns its stderr (where the child reports).
fn run_child(mode: &str, vars: &[(String, String)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "secrets_backends::child_secret_service",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, mode)
    .env("CROSSROLE_TEST_SECRET", SECRET)
    .env_remove("CROSSROLE_BACKEND")
    .env_remove("CROSSROLE_SESSION_CACHE")
    .env_remove("CROSSROLE_KEYUTILS_KEYRING")
    .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "child {mode} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "child {mode} did not run its test\n{stdout}"
    );
    stderr
}

/// The child side: does nothing unless started by `run_child`.
#[test]
fn child_secret_service() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let secret = std::env::var("CROSSROLE_TEST_SECRET").unwrap();
    let env = Env::from_process();
    match mode.as_str() {
        "roundtrip" => {
            let store = open_secret_store(&env).expect("open Secret Service store");
            assert_eq!(store.backend(), Backend::SecretService);
            assert!(store.get("key:missing").unwrap().is_none());
            assert!(!store.delete("key:missing").unwrap());
            store.set("key:green", secret.as_bytes()).unwrap();
            let got = store.get("key:green").unwrap().expect("stored");
            assert_eq!(&got[..], secret.as_bytes());
            // Replacing keeps one item.
            store.set("key:green", b"first").unwrap();
            store.set("key:green", secret.as_bytes()).unwrap();
            assert_eq!(
                &store.get("key:green").unwrap().unwrap()[..],
                secret.as_bytes()
            );
            // Binary data survives.
            store.set("key:binary", &[0, 1, 2, 255, 0]).unwrap();
            assert_eq!(
                &store.get("key:binary").unwrap().unwrap()[..],
                &[0, 1, 2, 255, 0]
            );
            assert!(store.delete("key:binary").unwrap());
            assert!(store.get("key:binary").unwrap().is_none());
            assert_eq!(store.list("key:").unwrap(), vec!["key:green".to_string()]);
            // Warm gets: report the cost.
            let n = 20;
            let start = Instant::now();
            for _ in 0..n {
                store.get("key:green").unwrap();
            }
            eprintln!(
                "TIMING warm Secret Service get: {:.2} ms",
                start.elapsed().as_secs_f64() * 1000.0 / n as f64
            );
        }
        "first-get" => {
            let start = Instant::now();
            let store = open_secret_store(&env).unwrap();
            let got = store
                .get("key:green")
                .unwrap()
                .expect("stored by roundtrip");
            assert_eq!(&got[..], secret.as_bytes());
            eprintln!(
                "TIMING open + first Secret Service get: {:.2} ms",
                start.elapsed().as_secs_f64() * 1000.0
            );
        }
        "sessions" => {
            let mut env = env.clone();
            env.set("CROSSROLE_SESSION_CACHE", "keyring");
            let sessions = open_session_store(&env).unwrap();
            assert_eq!(sessions.describe(), "Secret Service");
            assert!(sessions.names().unwrap().is_empty());
            sessions
                .put("session:00aa", secret.as_bytes(), now() + 3600)
                .unwrap();
            sessions
                .put("session:00bb", b"other", now() + 3600)
                .unwrap();
            assert_eq!(
                &sessions.get("session:00aa").unwrap().unwrap()[..],
                secret.as_bytes()
            );
            assert_eq!(
                sessions.names().unwrap(),
                vec!["session:00aa".to_string(), "session:00bb".to_string()]
            );
            assert!(sessions.delete("session:00bb").unwrap());
            assert!(!sessions.delete("session:00bb").unwrap());
            assert_eq!(sessions.names().unwrap(), vec!["session:00aa".to_string()]);
            assert!(sessions.delete("session:00aa").unwrap());
            assert!(sessions.names().unwrap().is_empty());
        }
        "delete" => {
            let store = open_secret_store(&env).unwrap();
            assert!(store.delete("key:green").unwrap());
            assert!(store.get("key:green").unwrap().is_none());
            assert!(store.list("key:").unwrap().is_empty());
        }
        "unavailable" => {
            let start = Instant::now();
            let result = open_secret_store(&env).and_then(|s| s.get("key:green"));
            let elapsed = start.elapsed();
            let err = result.expect_err("no Secret Service must be an error");
            let msg = err.to_string();
            assert!(matches!(err, Error::Unavailable(_)), "{msg}");
            assert!(msg.contains("org.freedesktop.secrets"), "{msg}");
            assert!(msg.contains("CROSSROLE_BACKEND=keyutils"), "{msg}");
            assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
            eprintln!("MESSAGE {msg}");
            // A second call fails the same way, without reconnecting.
            let store = open_secret_store(&env).unwrap();
            let start = Instant::now();
            assert!(matches!(store.get("key:green"), Err(Error::Unavailable(_))));
            assert!(start.elapsed() < Duration::from_millis(500));
        }
        "direct" => {
            // Stored by libsecret (secret-tool): read back by our own reader.
            match secret_service_direct_lookup("key:green") {
                Direct::Found(got) => assert_eq!(&got[..], secret.as_bytes()),
                Direct::Missing => panic!("the direct reader missed key:green"),
                Direct::Fallback => panic!("the direct reader gave up on key:green"),
            }
            assert!(matches!(
                secret_service_direct_lookup("key:missing"),
                Direct::Missing
            ));
            // Two items match: left to the store, which names the problem.
            assert!(matches!(
                secret_service_direct_lookup("key:twice"),
                Direct::Fallback
            ));
            let store = open_secret_store(&env).unwrap();
            let err = store
                .get("key:twice")
                .expect_err("two items must be an error");
            eprintln!("MESSAGE {err}");
            assert!(err.to_string().contains("2 entries"), "{err}");
            assert_eq!(
                &store.get("key:green").unwrap().unwrap()[..],
                secret.as_bytes()
            );
            // Writing: create, then replace in place.
            assert!(secret_service_direct_store(
                "key:new",
                b"first",
                "crossrole: key:new"
            ));
            assert!(secret_service_direct_store(
                "key:new",
                secret.as_bytes(),
                "crossrole: key:new"
            ));
            match secret_service_direct_lookup("key:new") {
                Direct::Found(got) => assert_eq!(&got[..], secret.as_bytes()),
                _ => panic!("the direct reader did not find key:new"),
            }
            assert!(!secret_service_direct_store(
                "key:twice",
                b"x",
                "crossrole: key:twice"
            ));
        }
        "locked" => {
            // Locked items are never read or written around the unlock prompt.
            assert!(matches!(
                secret_service_direct_lookup("key:green"),
                Direct::Fallback
            ));
            assert!(!secret_service_direct_store(
                "key:other",
                b"x",
                "crossrole: key:other"
            ));
            let store = open_secret_store(&env).unwrap();
            let start = Instant::now();
            let result = store.get("key:green");
            let elapsed = start.elapsed();
            let err = result.expect_err("a locked keyring must be an error");
            let msg = err.to_string();
            eprintln!("MESSAGE {msg}");
            eprintln!(
                "TIMING locked get: {:.0} ms",
                elapsed.as_secs_f64() * 1000.0
            );
            assert!(msg.contains("unlock"), "{msg}");
            let err = store.set("key:other", b"x").expect_err("locked set");
            eprintln!("MESSAGE {err}");
        }
        "hung" => {
            let store = open_secret_store(&env).unwrap();
            let start = Instant::now();
            let err = store
                .get("key:green")
                .expect_err("a wedged daemon must be an error");
            let elapsed = start.elapsed();
            let msg = err.to_string();
            eprintln!("MESSAGE {msg}");
            assert!(matches!(err, Error::Unavailable(_)), "{msg}");
            assert!(msg.contains("did not answer"), "{msg}");
            assert!(elapsed < Duration::from_secs(13), "took {elapsed:?}");
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn secret_service_round_trip_in_a_private_keyring() {
    let tmp = tempfile::tempdir().unwrap();
    let ss = PrivateSecretService::start(tmp.path());
    let vars = ss.env_vars();

    let report = run_child("roundtrip", &vars);
    eprint!("{}", keep_reports(&report));

    // The item is where another client finds it, under a readable label.
    let lookup = secret_tool(
        &ss,
        &["lookup", "service", "crossrole", "username", "key:green"],
    );
    assert_eq!(lookup.trim_end(), SECRET);
    let listing = secret_tool(&ss, &["search", "--all", "service", "crossrole"]);
    assert!(
        listing.contains("label = crossrole: key:green"),
        "{listing}"
    );

    let report = run_child("first-get", &vars);
    eprint!("{}", keep_reports(&report));
    run_child("sessions", &vars);

    // gnome-keyring encrypts its file: no plaintext secret on disk.
    assert!(
        std::fs::read_dir(ss.data_home().join("keyrings"))
            .map(|d| d.count() > 0)
            .unwrap_or(false),
        "gnome-keyring wrote no keyring file"
    );
    assert!(!secret_in_files(ss.data_home(), SECRET));
    assert!(!secret_in_files(tmp.path(), SECRET));

    run_child("delete", &vars);
    let lookup = secret_tool(
        &ss,
        &["lookup", "service", "crossrole", "username", "key:green"],
    );
    assert!(lookup.is_empty());
}

/// The warm path reads through its own Secret Service client: it must read
/// what another client (libsecret's secret-tool) stored, report an absent
/// item as absent, and leave duplicates (and locked items, see
/// `locked_keyring_is_a_clear_error`) to the store.
#[test]
fn direct_client_reads_and_writes_like_libsecret() {
    let tmp = tempfile::tempdir().unwrap();
    let ss = PrivateSecretService::start(tmp.path());
    let store = |attrs: &[&str], secret: &str| {
        let mut child = ss
            .secret_tool()
            .args(["store", "--label", "test"])
            .args(attrs)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    };
    store(&["service", "crossrole", "username", "key:green"], SECRET);
    store(
        &["service", "crossrole", "username", "key:twice", "n", "1"],
        "one",
    );
    store(
        &["service", "crossrole", "username", "key:twice", "n", "2"],
        "two",
    );
    let report = run_child("direct", &ss.env_vars());
    eprint!("{}", keep_reports(&report));

    // What it wrote, libsecret reads: one item, labelled, the last value.
    let lookup = secret_tool(
        &ss,
        &["lookup", "service", "crossrole", "username", "key:new"],
    );
    assert_eq!(lookup, SECRET);
    let search = |name: &str| {
        secret_tool(
            &ss,
            &["search", "--all", "service", "crossrole", "username", name],
        )
    };
    let listing = search("key:new");
    assert_eq!(
        listing.matches("label = crossrole: key:new").count(),
        1,
        "{listing}"
    );
    assert_eq!(search("key:twice").matches("[/").count(), 2);
}

/// What `secret-tool ARGS` prints on the private Secret Service (nothing,
/// with a failure status, when a lookup finds nothing).
fn secret_tool(ss: &PrivateSecretService, args: &[&str]) -> String {
    let out = ss.secret_tool().args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keep_reports(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.starts_with("TIMING") || l.starts_with("MESSAGE"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn locked_keyring_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ss = PrivateSecretService::start(tmp.path());
    run_child("roundtrip", &ss.env_vars());
    ss.restart_locked();
    let report = run_child("locked", &ss.env_vars());
    eprint!("{}", keep_reports(&report));
}

#[test]
fn wedged_daemon_times_out() {
    let tmp = tempfile::tempdir().unwrap();
    let ss = PrivateSecretService::start(tmp.path());
    ss.freeze_keyring();
    let report = run_child("hung", &ss.env_vars());
    eprint!("{}", keep_reports(&report));
}

#[test]
fn dead_bus_is_unavailable_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = tmp.path().join("no-such-socket");
    let vars = vec![(
        "DBUS_SESSION_BUS_ADDRESS".to_string(),
        format!("unix:path={}", dead.display()),
    )];
    let report = run_child("unavailable", &vars);
    eprint!("{}", keep_reports(&report));
}

#[test]
fn bus_without_secret_service_is_unavailable_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let bus = PrivateSecretService::start_bus_only(tmp.path());
    let report = run_child("unavailable", &bus.env_vars());
    let report = keep_reports(&report);
    assert!(report.contains("No Secret Service is running"), "{report}");
    eprint!("{report}");
}

#[test]
fn no_bus_at_all_is_unavailable_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let env = env(&[("XDG_RUNTIME_DIR", tmp.path().to_str().unwrap())]);
    let err = open_secret_store(&env)
        .err()
        .expect("no bus must be an error");
    let msg = err.to_string();
    assert!(matches!(err, Error::Unavailable(_)));
    assert!(msg.contains("CROSSROLE_BACKEND=keyutils"), "{msg}");
}

#[test]
fn bogus_backend_is_a_clear_error() {
    let err = open_secret_store(&env(&[("CROSSROLE_BACKEND", "bogus")]))
        .err()
        .expect("bogus backend must be an error");
    let msg = err.to_string();
    assert!(msg.contains("CROSSROLE_BACKEND"), "{msg}");
    assert!(msg.contains("secret-service, keyutils"), "{msg}");
    let err = open_secret_store(&env(&[("CROSSROLE_BACKEND", "keychain")]))
        .err()
        .expect("keychain on Linux must be an error");
    assert!(err.to_string().contains("secret-service, keyutils"));
    let err = open_session_store(&env(&[("CROSSROLE_SESSION_CACHE", "bogus")]))
        .err()
        .expect("bogus cache must be an error");
    assert!(err.to_string().contains("CROSSROLE_SESSION_CACHE"));
    let err = open_session_store(&env(&[("CROSSROLE_KEYUTILS_KEYRING", "bogus")]))
        .err()
        .expect("bogus keyring must be an error");
    assert!(err.to_string().contains("CROSSROLE_KEYUTILS_KEYRING"));
}

/// Joins a private session keyring; false (test skipped) where the kernel
/// refuses keyctl.
fn private_kernel_keyring() -> bool {
    match join_fresh_session_keyring() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: the kernel keyring is not usable here: {e}");
            false
        }
    }
}

fn keyutils_env() -> Env {
    env(&[
        ("CROSSROLE_BACKEND", "keyutils"),
        ("CROSSROLE_KEYUTILS_KEYRING", "session"),
    ])
}

#[test]
fn keyutils_long_term_round_trip() {
    if !private_kernel_keyring() {
        return;
    }
    let store = open_secret_store(&keyutils_env()).unwrap();
    assert_eq!(store.backend(), Backend::Keyutils);
    assert!(store.get("key:green").unwrap().is_none());
    assert!(!store.delete("key:green").unwrap());
    store.set("key:green", SECRET.as_bytes()).unwrap();
    assert_eq!(
        &store.get("key:green").unwrap().unwrap()[..],
        SECRET.as_bytes()
    );
    store.set("key:green", b"replaced").unwrap();
    assert_eq!(&store.get("key:green").unwrap().unwrap()[..], b"replaced");
    assert_eq!(store.list("key:").unwrap(), vec!["key:green".to_string()]);

    // A child process of this thread sees the same private keyring.
    let out = Command::new("keyctl")
        .args(["search", "@s", "user", "crossrole:key:green"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert!(store.delete("key:green").unwrap());
    assert!(store.get("key:green").unwrap().is_none());
    assert!(!store.delete("key:green").unwrap());

    let too_big = vec![b'x'; 40_000];
    assert!(store.set("key:big", &too_big).is_err());
    assert!(store.set("bad name", b"x").is_err());

    let n = 1000;
    store.set("key:green", SECRET.as_bytes()).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let store = open_secret_store(&keyutils_env()).unwrap();
        store.get("key:green").unwrap();
    }
    eprintln!(
        "TIMING keyutils open + get: {:.1} us",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    store.delete("key:green").unwrap();
}

/// The expiry column of /proc/keys for a key of ours ("perm" if none).
fn proc_keys_expiry(description: &str) -> Option<String> {
    let keys = std::fs::read_to_string("/proc/keys").ok()?;
    keys.lines()
        .find(|l| l.contains(&format!(" {description}: ")))
        .map(|l| l.split_whitespace().nth(3).unwrap_or("").to_string())
}

#[test]
fn keyutils_session_cache() {
    if !private_kernel_keyring() {
        return;
    }
    let env = env(&[("CROSSROLE_KEYUTILS_KEYRING", "session")]);
    let sessions = open_session_store(&env).unwrap();
    assert_eq!(sessions.describe(), "kernel keyring (session)");
    assert!(sessions.names().unwrap().is_empty());
    assert!(sessions.get("session:00aa").unwrap().is_none());

    sessions
        .put("session:00aa", SECRET.as_bytes(), now() + 3600)
        .unwrap();
    sessions.put("session:00bb", b"short", now() + 2).unwrap();
    // Already expired: not stored.
    sessions.put("session:00cc", b"stale", now() - 10).unwrap();
    assert!(sessions.get("session:00cc").unwrap().is_none());

    assert_eq!(
        &sessions.get("session:00aa").unwrap().unwrap()[..],
        SECRET.as_bytes()
    );
    assert_eq!(
        sessions.names().unwrap(),
        vec!["session:00aa".to_string(), "session:00bb".to_string()]
    );
    // The kernel knows the expiry.
    if let Some(expiry) = proc_keys_expiry("crossrole:session:00aa") {
        assert_ne!(expiry, "perm", "session key has no kernel timeout");
    }

    // Replacing keeps one key and the new data.
    sessions
        .put("session:00aa", b"newer", now() + 3600)
        .unwrap();
    assert_eq!(
        &sessions.get("session:00aa").unwrap().unwrap()[..],
        b"newer"
    );

    // The kernel drops the short one by itself.
    std::thread::sleep(Duration::from_millis(3200));
    assert!(sessions.get("session:00bb").unwrap().is_none());
    assert_eq!(sessions.names().unwrap(), vec!["session:00aa".to_string()]);

    assert!(sessions.delete("session:00aa").unwrap());
    assert!(!sessions.delete("session:00aa").unwrap());
    assert!(sessions.names().unwrap().is_empty());
}

#[test]
fn keyutils_sessions_and_keys_do_not_mix() {
    if !private_kernel_keyring() {
        return;
    }
    let long_term = open_secret_store(&keyutils_env()).unwrap();
    let sessions = open_session_store(&keyutils_env()).unwrap();
    long_term.set("key:green", b"k").unwrap();
    sessions.put("session:01", b"s", now() + 600).unwrap();
    assert_eq!(sessions.names().unwrap(), vec!["session:01".to_string()]);
    assert_eq!(
        long_term.list("key:").unwrap(),
        vec!["key:green".to_string()]
    );
    long_term.delete("key:green").unwrap();
    sessions.delete("session:01").unwrap();
}
