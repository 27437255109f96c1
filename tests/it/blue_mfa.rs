//! MFA for the Blue role: the code is asked on the controlling terminal
//! (/dev/tty, here a pseudo-terminal driven by a small python3 script), never
//! on stdout/stderr; a bad code is refused before any STS call; without a
//! terminal the call fails saying how to warm the cache; and a burst of
//! callers shows one prompt.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::Stdio;

use common::*;

const SERIAL: &str = "arn:aws:iam::111111111111:mfa/s3-prod-user";

/// Runs N copies of a command in a new session whose controlling terminal is
/// a fresh pty. Each copy's stdin is /dev/null and its stdout/stderr are
/// pipes (not the pty), as when the AWS CLI runs credential_process. Every
/// time one more "MFA code" prompt shows on the pty, ANSWER is typed
/// (ANSWER may be several answers split by `|`: the n-th prompt gets the
/// n-th, the last one repeating).
/// Prints {"prompts": n, "tty": text, "results": [{status, stdout, stderr}]}.
///
/// usage: python3 -c PTY_DRIVER N ANSWER CMD ARGS...
const PTY_DRIVER: &str = r#"
import fcntl, json, os, select, sys, termios, time

n = int(sys.argv[1])
answers = [a.encode().decode("unicode_escape").encode() for a in sys.argv[2].split("|")]
cmd = sys.argv[3:]
master, slave = os.openpty()
res_r, res_w = os.pipe()
leader = os.fork()
if leader == 0:
    os.close(master)
    os.close(res_r)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    kids = {}
    fds = {}
    for i in range(n):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (slave, out_r, out_w, err_r, err_w, res_w, null):
                os.close(fd)
            os.execvp(cmd[0], cmd)
        os.close(out_w)
        os.close(err_w)
        kids[pid] = i
        fds[out_r] = (i, "stdout")
        fds[err_r] = (i, "stderr")
    os.close(slave)
    results = [{"status": None, "stdout": "", "stderr": ""} for _ in range(n)]
    while fds:
        ready, _, _ = select.select(list(fds), [], [], 60)
        if not ready:
            break
        for fd in ready:
            data = os.read(fd, 65536)
            i, which = fds[fd]
            if data:
                results[i][which] += data.decode("utf-8", "replace")
            else:
                os.close(fd)
                del fds[fd]
    for pid, i in kids.items():
        _, st = os.waitpid(pid, 0)
        results[i]["status"] = os.waitstatus_to_exitcode(st)
    with os.fdopen(res_w, "w") as f:
        json.dump(results, f)
    os._exit(0)

# The parent keeps its slave fd open: were every slave fd closed for a
# moment (the leader closes its copy before the callers open /dev/tty),
# reads on the master would fail with EIO.
os.close(res_w)
tty = b""
answered = 0
result = b""
deadline = time.time() + 90
open_fds = [master, res_r]
while res_r in open_fds and time.time() < deadline:
    ready, _, _ = select.select(open_fds, [], [], 1)
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if fd == master:
            if not data:
                time.sleep(0.05)
                continue
            tty += data
            while tty.count(b"MFA code") > answered:
                os.write(master, answers[min(answered, len(answers) - 1)])
                answered += 1
        else:
            if not data:
                open_fds.remove(res_r)
            result += data
if res_r in open_fds:
    os.kill(-leader, 9)
os.waitpid(leader, 0)
print(json.dumps({
    "prompts": tty.count(b"MFA code"),
    "tty": tty.decode("utf-8", "replace"),
    "results": json.loads(result.decode() or "[]"),
}))
"#;

struct World {
    env: TestEnv,
    proxy: CountingProxy,
    t: Tutorial,
    _moto: Moto,
}

fn world() -> World {
    let moto = Moto::start();
    // moto rejects its own GetSessionToken keys under IAM enforcement.
    let t = tutorial(&moto, &["--no-enforce"]);
    let proxy = CountingProxy::start(moto.port);
    let mut env = TestEnv::keyutils();
    env.endpoint = Some(proxy.url());
    env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    let o = env.crossrole(
        &import_setup_args(&t.role_arn, &["--mfa-serial", SERIAL, "--no-verify"]),
        None,
    );
    ok(&o);
    assert_output_has_no(&o, &[&t.secret_access_key]);
    assert!(env
        .read_config()
        .contains(&format!("crossrole_mfa_serial = {SERIAL}")));
    World {
        env,
        proxy,
        t,
        _moto: moto,
    }
}

struct PtyRun {
    prompts: usize,
    tty: String,
    results: Vec<(i64, String, String)>,
}

fn under_pty(env: &TestEnv, n: usize, answer: &str, args: &[&str]) -> PtyRun {
    let mut argv = vec!["-c", PTY_DRIVER];
    let n_text = n.to_string();
    argv.push(&n_text);
    argv.push(answer);
    argv.push(BIN);
    argv.extend_from_slice(args);
    let out = ok(&run_with_input(env.command("python3").args(&argv), None));
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let results = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_i64().unwrap_or(-1),
                r["stdout"].as_str().unwrap().to_string(),
                r["stderr"].as_str().unwrap().to_string(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(results.len(), n, "{out}");
    PtyRun {
        prompts: v["prompts"].as_u64().unwrap() as usize,
        tty: v["tty"].as_str().unwrap().to_string(),
        results,
    }
}

fn doc_of(stdout: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    assert_eq!(v["Version"], 1);
    assert!(
        v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"),
        "{v}"
    );
    v
}

#[test]
fn the_code_is_asked_on_the_terminal_and_the_session_is_cached() {
    let w = world();
    let run = under_pty(&w.env, 1, "123456\\n", &["credential-process", "blue"]);
    assert_eq!(run.prompts, 1, "tty: {}", run.tty);
    assert!(
        run.tty.contains("blue"),
        "the prompt names the profile: {}",
        run.tty
    );
    assert!(
        run.tty.contains(SERIAL),
        "the prompt names the serial: {}",
        run.tty
    );
    let (status, out, err) = &run.results[0];
    assert_eq!(*status, 0, "stderr: {err}");
    assert!(
        !out.contains("MFA"),
        "the prompt must not be on stdout: {out}"
    );
    assert!(
        !err.contains("MFA"),
        "the prompt must not be on stderr: {err}"
    );
    let doc = doc_of(out);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let token = doc["SessionToken"].as_str().unwrap();
    assert!(
        !run.tty.contains(token),
        "the session never goes to the terminal"
    );

    // Cached: no terminal needed now, and no second prompt.
    let again = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(again, doc);
    assert_eq!(w.proxy.assume_role_calls(), 1);
    let run = under_pty(&w.env, 1, "123456\\n", &["credential-process", "blue"]);
    assert_eq!(run.prompts, 0, "{}", run.tty);
    assert_eq!(doc_of(&run.results[0].1), doc);

    w.env.assert_no_file_contains(&w.t.secret_access_key);
    w.env.assert_no_file_contains(token);
    w.env
        .assert_no_file_contains(doc["SecretAccessKey"].as_str().unwrap());
}

#[test]
fn a_malformed_code_is_asked_again_on_the_terminal() {
    let w = world();
    let run = under_pty(
        &w.env,
        1,
        "12ab\\n|1234567\\n|123456\\n",
        &["credential-process", "blue"],
    );
    assert_eq!(run.prompts, 3, "{}", run.tty);
    assert!(run.tty.contains("not 6 digits; try again"), "{}", run.tty);
    let (status, out, err) = &run.results[0];
    assert_eq!(*status, 0, "stderr: {err}");
    doc_of(out);
    assert_eq!(w.proxy.assume_role_calls(), 1);
}

#[test]
fn three_codes_that_are_not_six_digits_fail_before_sts() {
    let w = world();
    for bad in ["12ab\\n", "1234567\\n", "\\n"] {
        let run = under_pty(&w.env, 1, bad, &["credential-process", "blue"]);
        assert_eq!(run.prompts, 3, "three tries: {}", run.tty);
        let (status, out, err) = &run.results[0];
        assert_ne!(*status, 0);
        assert!(out.is_empty(), "stdout on failure: {out}");
        assert!(err.contains("6 digits"), "{bad:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            w.proxy.assume_role_calls(),
            0,
            "no STS call with a bad code"
        );
    }
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn without_a_terminal_the_call_says_to_run_once_from_one() {
    let w = world();
    let mut cmd = w.env.command(BIN);
    cmd.args(["credential-process", "blue"]);
    // SAFETY: setsid() is async-signal-safe; it detaches the child from any
    // controlling terminal the test runner has, so /dev/tty cannot be opened.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = std::time::Instant::now();
    let o = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "must not hang"
    );
    let err = fails_with(
        &o,
        &[
            "needs an MFA code",
            SERIAL,
            "no terminal",
            "crossrole credential-process blue",
            "crossrole exec blue",
            "from a terminal",
        ],
    );
    assert_output_has_no(&o, &[&w.t.secret_access_key]);
    assert!(!err.contains("MFA code for"), "no prompt on stderr: {err}");
    assert_eq!(w.proxy.assume_role_calls(), 0);
    w.env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn fifty_concurrent_callers_show_at_most_one_prompt() {
    let w = world();
    let run = under_pty(&w.env, 50, "123456\\n", &["credential-process", "blue"]);
    assert_eq!(run.prompts, 1, "one prompt for the burst: {}", run.tty);
    let mut keys = std::collections::BTreeSet::new();
    let mut tokens = Vec::new();
    for (status, out, err) in &run.results {
        assert_eq!(*status, 0, "stderr: {err}");
        let doc = doc_of(out);
        keys.insert(doc["AccessKeyId"].as_str().unwrap().to_string());
        tokens.push(doc["SessionToken"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 1, "all callers got the one session");
    assert_eq!(w.proxy.assume_role_calls(), 1);
    w.env.assert_no_file_contains(&w.t.secret_access_key);
    w.env.assert_no_file_contains(&tokens[0]);
}
