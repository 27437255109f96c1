//! Edits another program makes to the AWS files while `setup` waits on STS
//! or `remove` waits at its prompt are kept: each file is read again just
//! before it is replaced, and crossrole's edits are made again on the new
//! text, or it stops with a clear message when they no longer apply.

#![cfg(target_os = "linux")]
use crate::common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::*;

const KEY_ID: &str = "AKIAABCDEFGHIJKLMNOP";
const SECRET: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD";
const ROLE: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";
const ADDED: &str = "\n[profile added]\nregion = us-east-2\n";

/// `setup` verifying against an STS that answers after two seconds; the
/// MFA serial (and no controlling terminal, through setsid) limits the
/// check to GetCallerIdentity.
fn slow_setup(env: &mut TestEnv, fake: &FakeSts) -> Child {
    env.endpoint = Some(fake.url());
    let mut child = env
        .command("setsid")
        .args([
            "-w",
            BIN,
            "setup",
            "--access-key-id",
            KEY_ID,
            "--role-arn",
            ROLE,
            "--region",
            "eu-west-1",
            "--mfa-serial",
            "arn:aws:iam::111111111111:mfa/ana",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SECRET.as_bytes())
        .unwrap();
    // Once STS has the request, setup has read both files.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.requests() == 0 {
        assert!(Instant::now() < deadline, "setup never called STS");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn slow_sts() -> FakeSts {
    FakeSts::start(Reply::After {
        delay_ms: 2000,
        reply: Box::new(Reply::CallerIdentity {
            date_offset_secs: 0,
        }),
    })
}

#[test]
fn a_profile_added_during_setups_sts_check_is_kept() {
    let mut env = TestEnv::keyutils();
    env.write_config("# mine\n[profile other]\nregion = x\n");
    let fake = slow_sts();
    let child = slow_setup(&mut env, &fake);
    let theirs = format!("{}{ADDED}", env.read_config());
    env.write_config(&theirs);
    let out = ok(&child.wait_with_output().unwrap());
    let cfg = env.read_config();
    assert!(cfg.starts_with(&theirs), "{cfg}");
    assert!(cfg.contains("crossrole_role_arn = "), "{cfg}");
    assert!(out.contains("changed while setup ran"), "{out}");
}

#[test]
fn setup_stops_when_its_edits_no_longer_apply() {
    let mut env = TestEnv::keyutils();
    env.write_config("[profile other]\nregion = x\n");
    let fake = slow_sts();
    let child = slow_setup(&mut env, &fake);
    let theirs = "[profile blue]\nregion = x\n\n[profile blue]\nregion = y\n";
    env.write_config(theirs);
    let out = child.wait_with_output().unwrap();
    fails_with(
        &out,
        &[
            "changed while setup was running",
            "[profile blue]",
            "Run setup again",
        ],
    );
    assert_eq!(env.read_config(), theirs);
}

/// Runs CMD on a pty; when PROMPT shows, appends TEXT to PATH, then types
/// ANSWER. Prints what the terminal showed and `EXIT <code>`.
const EDIT_AT_PROMPT: &str = r#"
import os, pty, select, sys, time
prompt, path, text, answer = sys.argv[1:5]
cmd = sys.argv[5:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b""
answered = False
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not answered and prompt.encode() in seen:
        with open(path, "a") as f:
            f.write(text)
        os.write(fd, answer.encode() + b"\r")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
print("\nEXIT", os.waitstatus_to_exitcode(status))
"#;

#[test]
fn a_profile_added_while_remove_asks_is_kept() {
    let env = TestEnv::keyutils();
    ok(&env.crossrole(
        &[
            "setup",
            "--access-key-id",
            KEY_ID,
            "--role-arn",
            ROLE,
            "--region",
            "eu-west-1",
            "--no-verify",
        ],
        Some(SECRET),
    ));
    let config = env.config.display().to_string();
    let out = ok(&run_with_input(
        env.command("python3").args([
            "-c",
            EDIT_AT_PROMPT,
            "Remove profile blue",
            &config,
            ADDED,
            "y",
            BIN,
            "remove",
            "blue",
        ]),
        None,
    ));
    assert!(out.contains("EXIT 0"), "{out}");
    let cfg = env.read_config();
    assert!(cfg.contains(ADDED), "{cfg}");
    assert!(!cfg.contains("[profile blue]"), "{cfg}");
    assert!(cfg.contains("[profile green]"), "{cfg}");
}
