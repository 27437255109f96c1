//! `crossrole setup` with no flags on a terminal asks for what is missing:
//! the access key id, the secret (echo off), the role and the region. Driven
//! through a pseudo-terminal by a small python3 expect-like script.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

/// usage: python3 -c EXPECT TIMEOUT PROMPT1 ANSWER1 [PROMPT2 ANSWER2 ...] -- CMD ARGS...
/// Runs CMD on a new pty (stdin, stdout, stderr, controlling terminal), waits
/// for each prompt in turn and types its answer; prints what the terminal
/// showed, then `EXIT <code>`.
const EXPECT: &str = r#"
import os, pty, select, sys, time
args = sys.argv[1:]
timeout = float(args.pop(0))
sep = args.index("--")
pairs = list(zip(args[:sep:2], args[1:sep:2]))
cmd = args[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b""
pos = 0
deadline = time.time() + timeout
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
    while pairs and pairs[0][0].encode() in seen[pos:]:
        prompt, answer = pairs.pop(0)
        pos = seen.index(prompt.encode(), pos) + len(prompt)
        os.write(fd, answer.encode() + b"\r")
if pairs:
    # A prompt never came: do not wait for ever on a process that asks
    # something else.
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
print("\nEXIT", os.waitstatus_to_exitcode(status))
"#;

/// Runs crossrole with `args` on a pseudo-terminal through [`EXPECT`],
/// answering each `(prompt, answer)` of `dialogue` in turn within
/// `timeout` seconds; returns what the terminal showed, then `EXIT <code>`.
pub(crate) fn on_a_terminal(
    env: &TestEnv,
    timeout: &str,
    dialogue: &[(&str, &str)],
    args: &[&str],
) -> String {
    let mut cmd = env.command("python3");
    cmd.args(["-c", EXPECT, timeout]);
    for (prompt, answer) in dialogue {
        cmd.args([prompt, answer]);
    }
    cmd.args(["--", BIN]).args(args);
    ok(&run_with_input(&mut cmd, None))
}

const KEY_ID: &str = "AKIAQWERTYUIOPASDFGH";
const SECRET: &str = "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";
const ROLE: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";

#[test]
fn asks_for_everything_missing_and_hides_the_secret() {
    let env = TestEnv::keyutils();
    let out = on_a_terminal(
        &env,
        "30",
        &[
            ("Access key id for profile green", KEY_ID),
            ("Secret access key", SECRET),
            ("Role to assume", ROLE),
            ("Region [us-east-1]", "ap-southeast-2"),
        ],
        &["setup", "--no-verify"],
    );
    assert!(out.contains("EXIT 0"), "{out}");
    assert!(!out.contains(SECRET), "the secret was echoed: {out}");
    assert!(
        out.contains("stored key AKIA…DFGH for profile green"),
        "{out}"
    );
    let cfg = env.read_config();
    assert!(
        cfg.contains(&format!("crossrole_role_arn = {ROLE}")),
        "{cfg}"
    );
    assert!(cfg.contains("region = ap-southeast-2"), "{cfg}");
    let doc = ok(&env.crossrole(&["credential-process", "green"], None));
    assert!(doc.contains(SECRET));
    env.assert_no_file_contains(SECRET);
}

#[test]
fn a_bad_answer_is_refused_with_nothing_written() {
    let env = TestEnv::keyutils();
    let out = on_a_terminal(
        &env,
        "30",
        &[("Access key id for profile green", "not-a-key")],
        &["setup", "--no-verify"],
    );
    assert!(out.contains("EXIT 1"), "{out}");
    assert!(out.contains("is not an access key id"), "{out}");
    assert!(!env.config.exists());
}

/// On a terminal, a plaintext key already in ~/.aws/credentials is offered
/// for import (Enter accepts) instead of being asked for again; on the
/// keyutils backend the deletion of the plaintext is confirmed too.
#[test]
fn offers_to_import_a_plaintext_key_and_confirms_on_keyutils() {
    let env = TestEnv::keyutils();
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    let out = on_a_terminal(
        &env,
        "30",
        &[
            (
                "Move it into the keyring and remove it from there? [Y/n]",
                "",
            ),
            ("Role to assume", ROLE),
            ("Region [us-east-1]", ""),
            ("Delete the plaintext key anyway? [y/N]", "y"),
        ],
        &["setup", "--no-verify"],
    );
    assert!(out.contains("EXIT 0"), "{out}");
    assert!(!out.contains("Access key id for profile"), "{out}");
    assert!(out.contains("AKIA…DFGH"), "{out}");
    assert!(out.contains("a reboot empties"), "{out}");
    assert!(out.contains("removed the plaintext key"), "{out}");
    assert!(!env.read_credentials().contains(SECRET));
    let doc = ok(&env.crossrole(&["credential-process", "green"], None));
    assert!(doc.contains(SECRET));
}

#[test]
fn refusing_to_delete_the_only_copy_on_keyutils_changes_nothing() {
    let env = TestEnv::keyutils();
    let creds =
        format!("[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n");
    env.write_credentials(&creds);
    let out = on_a_terminal(
        &env,
        "30",
        &[("Delete the plaintext key anyway? [y/N]", "")],
        &[
            "setup",
            "--import-credentials",
            "--role-arn",
            ROLE,
            "--region",
            "eu-west-1",
            "--no-verify",
        ],
    );
    assert!(out.contains("EXIT 1"), "{out}");
    assert!(out.contains("--keep-backup"), "{out}");
    assert_eq!(env.read_credentials(), creds);
    assert!(!env.config.exists());
    fails_with(
        &env.crossrole(&["credential-process", "green"], None),
        &["profile `green` is not in"],
    );
}
