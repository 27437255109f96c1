//! MFA codes asked where the person is, with real parts: a private Xvfb,
//! Debian's zenity, and callers with no controlling terminal (`setsid`)
//! but `DISPLAY` set, as an IDE or GUI client runs the AWS CLI. A watcher
//! finds each dialog with `xdotool search --name crossrole`, focuses it
//! (`windowfocus --sync`: there is no window manager to activate it), types
//! its answer and presses Return, and counts the dialogs it saw.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::*;

const SERIAL: &str = "arn:aws:iam::111111111111:mfa/s3-prod-user";
const KEY_ID: &str = "AKIAFAKEFAKEFAKE0001";
const SECRET: &str = "fakeLongTermSecretfakeLongTermSecret0001";

/// A private X server, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is not installed: run ./install.sh --test");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let n = line.trim();
        assert!(!n.is_empty(), "Xvfb gave no display number");
        Xvfb {
            child,
            display: format!(":{n}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Answer {
    Type(&'static str),
    Cancel,
    Ignore,
}

/// Answers crossrole's dialogs as they appear: the n-th gets `plan[n]`
/// (the last entry repeats).
struct Watcher {
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn xdotool(display: &str, args: &[&str]) -> Output {
    Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .output()
        .expect("xdotool is not installed: run ./install.sh --test")
}

impl Watcher {
    fn start(display: &str, plan: Vec<Answer>) -> Watcher {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2, display) = (seen.clone(), stop.clone(), display.to_string());
        let thread = std::thread::spawn(move || {
            let mut known = BTreeSet::new();
            while !stop2.load(Ordering::SeqCst) {
                let found = xdotool(
                    &display,
                    &["search", "--onlyvisible", "--name", "crossrole"],
                );
                for id in String::from_utf8_lossy(&found.stdout).split_whitespace() {
                    // X reuses window ids across clients: a dialog is its
                    // window id and the process that shows it.
                    let pid = xdotool(&display, &["getwindowpid", id]);
                    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
                    if pid.is_empty() || !known.insert(format!("{id}/{pid}")) {
                        continue;
                    }
                    let n = seen2.lock().unwrap().len();
                    seen2.lock().unwrap().push(id.to_string());
                    let answer = plan[n.min(plan.len() - 1)];
                    match answer {
                        Answer::Ignore => {}
                        Answer::Type(code) => {
                            xdotool(&display, &["windowfocus", "--sync", id]);
                            // Keys sent before GTK has focused the entry are lost.
                            std::thread::sleep(Duration::from_millis(300));
                            xdotool(&display, &["type", "--delay", "20", code]);
                            xdotool(&display, &["key", "Return"]);
                        }
                        Answer::Cancel => {
                            xdotool(&display, &["windowfocus", "--sync", id]);
                            std::thread::sleep(Duration::from_millis(300));
                            xdotool(&display, &["key", "Escape"]);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn dialogs(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Desk {
    env: TestEnv,
    fake: FakeSts,
    x: Xvfb,
}

/// blue and blue2: two roles with the same source (green) and serial, the
/// default `auto` prompt, and a fake STS that wants the code 123456.
fn desk(extra_env: &[(&str, &str)]) -> Desk {
    let x = Xvfb::start();
    let fake = FakeSts::start(Reply::Sts {
        mfa_code: "123456",
        role_seconds: None,
    });
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(fake.url());
    env.extra_env.push(("DISPLAY".into(), x.display.clone()));
    for (k, v) in extra_env {
        env.extra_env.push((k.to_string(), v.to_string()));
    }
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    for (target, role, import) in [
        ("blue", "arn:aws:iam::222222222222:role/R", true),
        ("blue2", "arn:aws:iam::222222222222:role/S", false),
    ] {
        let mut args = vec![
            "setup",
            "--role-arn",
            role,
            "--region",
            "eu-west-1",
            "--target-profile",
            target,
            "--mfa-serial",
            SERIAL,
            "--no-verify",
        ];
        if import {
            args.extend(["--import-credentials", "--yes"]);
        }
        ok(&env.crossrole(&args, None));
    }
    Desk { env, fake, x }
}

impl Desk {
    /// `crossrole credential-process PROFILE` with no controlling terminal.
    fn spawn(&self, profile: &str) -> Child {
        self.env
            .command("setsid")
            .args(["-w", BIN, "credential-process", profile])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("setsid (util-linux)")
    }

    fn call(&self, profile: &str) -> Output {
        self.spawn(profile).wait_with_output().unwrap()
    }
}

#[test]
fn twenty_callers_and_a_second_profile_then_clear_show_one_dialog_and_one_get_session_token() {
    let d = desk(&[]);
    let w = Watcher::start(&d.x.display, vec![Answer::Type("123456")]);
    let started = Instant::now();
    let mut kids: Vec<Child> = (0..20).map(|_| d.spawn("blue")).collect();
    kids.push(d.spawn("blue2"));
    let outs: Vec<Output> = kids
        .into_iter()
        .map(|k| k.wait_with_output().unwrap())
        .collect();
    let mut keys = BTreeSet::new();
    for o in &outs[..20] {
        keys.insert(process_doc(o)["AccessKeyId"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 1, "the 20 blue callers share one role session");
    let blue2 = process_doc(&outs[20]);
    assert!(!keys.contains(blue2["AccessKeyId"].as_str().unwrap()));

    ok(&d.env.crossrole(&["clear"], None));
    process_doc(&d.call("blue"));

    assert_eq!(w.dialogs(), 1, "one dialog in all");
    assert_eq!(
        d.fake.calls("GetSessionToken").len(),
        1,
        "one GetSessionToken in all"
    );
    assert_eq!(
        d.fake.calls("AssumeRole").len(),
        3,
        "blue, blue2, blue after clear"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    d.env.assert_no_file_contains(SECRET);
}

#[test]
fn a_cancelled_dialog_fails_with_a_clear_message() {
    let d = desk(&[]);
    let w = Watcher::start(&d.x.display, vec![Answer::Cancel]);
    let o = d.call("blue");
    fails_with(&o, &["needs an MFA code", SERIAL, "cancelled"]);
    assert_eq!(w.dialogs(), 1);
    assert!(d.fake.calls("GetSessionToken").is_empty());
}

#[test]
fn an_unanswered_dialog_times_out() {
    // The test-only knob shortens the 60 s timeout (README: MFA).
    let d = desk(&[("CROSSROLE_MFA_PROMPT_TIMEOUT", "3")]);
    let w = Watcher::start(&d.x.display, vec![Answer::Ignore]);
    let started = Instant::now();
    let o = d.call("blue");
    let took = started.elapsed();
    fails_with(&o, &["needs an MFA code", "no answer within 3 seconds"]);
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert_eq!(w.dialogs(), 1);
    let left = xdotool(
        &d.x.display,
        &["search", "--onlyvisible", "--name", "crossrole"],
    );
    assert!(left.stdout.is_empty(), "the dialog closed itself");
}

#[test]
fn a_malformed_code_is_asked_again_in_a_new_dialog() {
    let d = desk(&[]);
    let w = Watcher::start(
        &d.x.display,
        vec![
            Answer::Type("12ab"),
            Answer::Type("12345"),
            Answer::Type("123456"),
        ],
    );
    let o = d.call("blue");
    process_doc(&o);
    assert_eq!(
        w.dialogs(),
        3,
        "two malformed answers, then a good one: {:?}",
        w.seen.lock().unwrap()
    );
    let gst = d.fake.calls("GetSessionToken");
    assert_eq!(gst.len(), 1, "malformed codes never reach STS");
    assert_eq!(gst[0].params["TokenCode"], "123456");
}
