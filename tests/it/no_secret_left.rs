//! No secret left behind: a whole life cycle against moto (setup with an
//! imported key, credential-process for both profiles, exec, export, list,
//! doctor, clear, remove) and then a search for every secret it handled —
//! Green's secret access key and each role session's secret key and token —
//! in every stdout and stderr that is not meant to carry credentials, in
//! every file under the test's temp folder (HOME, runtime, cache, TMPDIR),
//! and in the command line and environment of crossrole processes caught
//! while they wait (setup on its stdin, credential-process on its lock),
//! whose core-file limit must also be 0.

#![cfg(target_os = "linux")]
use crate::common;

use std::io::Write;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// One captured run: what it was, and whether its stdout carries
/// credentials by design (credential-process, export, exec running `env`).
struct Run {
    what: String,
    out: Output,
    stdout_has_credentials: bool,
}

/// Reads `/proc/PID/FILE`, empty when the process is gone.
fn proc_file(pid: u32, file: &str) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The `Max core file size` line of /proc/PID/limits.
fn core_limit(pid: u32) -> String {
    String::from_utf8_lossy(&proc_file(pid, "limits"))
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or("")
        .to_string()
}

/// Waits until the child's core-file limit reads 0 (it sets it early, but
/// not before exec), then checks its command line and environment.
fn inspect_waiting(child: &Child, what: &str, secrets: &[&str]) -> String {
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut limit = core_limit(pid);
    while !limit.split_whitespace().skip(4).take(2).all(|v| v == "0") || limit.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what}: core dumps still allowed while it holds or waits for secrets: {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
        limit = core_limit(pid);
    }
    for (file, bytes) in [
        ("cmdline", proc_file(pid, "cmdline")),
        ("environ", proc_file(pid, "environ")),
    ] {
        assert!(!bytes.is_empty(), "{what}: /proc/{pid}/{file} unreadable");
        for s in secrets {
            assert!(
                !contains(&bytes, s),
                "{what}: a secret is in /proc/{pid}/{file}"
            );
        }
    }
    limit
}

/// Adds a session document's secret key and token to `secrets`.
fn note_session(doc: &serde_json::Value, secrets: &mut Vec<String>) {
    for k in ["SecretAccessKey", "SessionToken"] {
        let v = doc[k].as_str().expect(k).to_string();
        if !secrets.contains(&v) {
            secrets.push(v);
        }
    }
}

fn spawn(env: &TestEnv, args: &[&str]) -> Child {
    env.command(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crossrole")
}

#[test]
fn no_secret_is_left_in_output_files_or_process_metadata() {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(moto.url());
    // Where `aws configure --profile green` leaves the key.
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    let mut runs: Vec<Run> = Vec::new();
    let mut record = |what: &str, out: Output, creds: bool| -> Output {
        runs.push(Run {
            what: what.to_string(),
            out: out.clone(),
            stdout_has_credentials: creds,
        });
        out
    };

    // 1. Setup, importing the plaintext key.
    let out = env.crossrole(&import_setup_args(&t.role_arn, &[]), None);
    ok(&record("setup --import-credentials", out, false));
    assert!(!env.read_credentials().contains(&t.secret_access_key));

    // 2. A second setup with the secret on stdin, caught while it waits for
    //    it: no secret in its command line or environment, no core dumps.
    let mut child = spawn(
        &env,
        &[
            "setup",
            "--no-verify",
            "--source-profile",
            "green2",
            "--target-profile",
            "blue2",
            "--role-arn",
            &t.role_arn,
            "--region",
            "eu-west-1",
            "--access-key-id",
            &t.access_key_id,
        ],
    );
    let limit = inspect_waiting(&child, "setup waiting on stdin", &[&t.secret_access_key]);
    println!("setup waiting on stdin: {limit}");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", t.secret_access_key).as_bytes())
            .unwrap();
    }
    ok(&record(
        "setup --access-key-id (secret on stdin)",
        child.wait_with_output().unwrap(),
        false,
    ));

    // 3. credential-process for both profiles.
    let green = process_doc(&record(
        "credential-process green",
        env.crossrole(&["credential-process", "green"], None),
        true,
    ));
    assert_eq!(green["SecretAccessKey"], t.secret_access_key.as_str());
    let mut secrets: Vec<String> = vec![t.secret_access_key.clone()];
    let blue = process_doc(&record(
        "credential-process blue",
        env.crossrole(&["credential-process", "blue"], None),
        true,
    ));
    note_session(&blue, &mut secrets);

    // 4. credential-process caught while it waits for the session lock
    //    (held here), after `clear` dropped the cached session.
    ok(&record(
        "clear blue",
        env.crossrole(&["clear", "blue"], None),
        false,
    ));
    let config =
        crossrole::awsfile::AwsFile::load(&env.config, crossrole::awsfile::FileKind::Config)
            .unwrap();
    let crossrole::profile::ManagedProfile::Role(role) =
        crossrole::profile::read_managed(&config, &env.config, "blue").unwrap()
    else {
        panic!("blue is not a role profile")
    };
    let entry = crossrole::cache::session_key(&role, &t.access_key_id);
    let runtime = env.tmp.path().join("run").join("crossrole");
    let lock = crossrole::lock::FileLock::acquire(&runtime, &entry).unwrap();
    let child = spawn(&env, &["credential-process", "blue"]);
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let limit = inspect_waiting(&child, "credential-process waiting on its lock", &refs);
    println!("credential-process waiting on its lock: {limit}");
    drop(lock);
    let out = child.wait_with_output().unwrap();
    let doc = process_doc(&record(
        "credential-process blue (after the lock)",
        out,
        true,
    ));
    note_session(&doc, &mut secrets);

    // 5. exec, export, list, doctor.
    let out = record(
        "exec blue -- sh -c test",
        env.crossrole(
            &[
                "exec",
                "blue",
                "--",
                "sh",
                "-c",
                "test -n \"$AWS_SESSION_TOKEN\" && echo has-a-token",
            ],
            None,
        ),
        false,
    );
    assert_eq!(ok(&out).trim(), "has-a-token");
    let doc = process_doc(&record(
        "export blue --format json",
        env.crossrole(&["export", "blue", "--format", "json"], None),
        true,
    ));
    note_session(&doc, &mut secrets);
    let text = ok(&record(
        "export blue --format env",
        env.crossrole(&["export", "blue", "--format", "env"], None),
        true,
    ));
    for line in text.lines() {
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            if name == "AWS_SECRET_ACCESS_KEY" || name == "AWS_SESSION_TOKEN" {
                let v = value.trim_matches('\'').to_string();
                if !secrets.contains(&v) {
                    secrets.push(v);
                }
            }
        }
    }
    ok(&record("list", env.crossrole(&["list"], None), false));
    ok(&record(
        "list --json",
        env.crossrole(&["list", "--json"], None),
        false,
    ));
    ok(&record("doctor", env.crossrole(&["doctor"], None), false));
    ok(&record(
        "doctor --offline blue",
        env.crossrole(&["doctor", "--offline", "blue"], None),
        false,
    ));

    // 6. clear and remove everything.
    ok(&record("clear", env.crossrole(&["clear"], None), false));
    for p in ["blue", "green", "blue2", "green2"] {
        ok(&record(
            &format!("remove {p}"),
            env.crossrole(&["remove", p, "--yes"], None),
            false,
        ));
    }

    // The search.
    assert!(secrets.len() >= 3, "saw too few secrets: {}", secrets.len());
    let mut hits = Vec::new();
    for s in &secrets {
        for r in &runs {
            if !r.stdout_has_credentials && contains(&r.out.stdout, s) {
                hits.push(format!("stdout of `{}`", r.what));
            }
            if contains(&r.out.stderr, s) {
                hits.push(format!("stderr of `{}`", r.what));
            }
        }
        for f in files_containing(env.tmp.path(), s.as_bytes()) {
            hits.push(format!("file {}", f.display()));
        }
    }
    println!(
        "no secret left: {} secrets searched in {} outputs and every file under {}",
        secrets.len(),
        runs.len(),
        env.tmp.path().display()
    );
    assert!(hits.is_empty(), "secrets found in: {hits:#?}");
}
