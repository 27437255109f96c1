//! `CROSSROLE_BACKEND=file` with no D-Bus at all: long-term keys in the
//! age-encrypted `keys.age`, the unlock kept in the kernel keyring.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const PASS: &str = "correct horse battery staple";

fn file_env() -> TestEnv {
    let mut env = TestEnv::keyutils();
    env.extra_env.extend([
        ("CROSSROLE_BACKEND".to_string(), "file".to_string()),
        ("CROSSROLE_FILE_PASSPHRASE".to_string(), PASS.to_string()),
    ]);
    env
}

fn keys_file(env: &TestEnv) -> PathBuf {
    env.home.join(".local/share/crossrole/keys.age")
}

/// Runs crossrole with extra variables on top of the test's.
fn run_with(
    env: &TestEnv,
    vars: &[(&str, &str)],
    args: &[&str],
    input: Option<&str>,
) -> std::process::Output {
    let mut cmd = env.command(BIN);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run_with_input(&mut cmd, input)
}

/// A key-only setup of `profile` (no STS call), secret on stdin.
fn setup_key(
    env: &TestEnv,
    vars: &[(&str, &str)],
    profile: &str,
    id: &str,
    secret: &str,
) -> std::process::Output {
    let target = format!("{profile}-role");
    run_with(
        env,
        vars,
        &[
            "setup",
            "--source-profile",
            profile,
            "--target-profile",
            &target,
            "--role-arn",
            "arn:aws:iam::123456789012:role/R",
            "--region",
            "eu-west-1",
            "--access-key-id",
            id,
            "--no-verify",
        ],
        Some(&format!("{secret}\n")),
    )
}

fn key_id(n: usize) -> String {
    format!("AKIAHEADLESS{n:08}")
}

fn secret(n: usize) -> String {
    format!("{n:04}headlessSecretKeyValue0123456789abcdef")[..40].to_string()
}

const NO_CACHE: (&str, &str) = ("CROSSROLE_FILE_UNLOCK_SECONDS", "0");

#[test]
fn tutorial_through_aws_with_the_file_backend() {
    let w = cmd_world(file_env(), &[]);
    let env = &w.env;
    let file = keys_file(env);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);

    tutorial_commands(&w);

    // Role sessions stay in the kernel keyring, not in the file.
    assert!(!session_keyring_keys("crossrole:session:").is_empty());

    // Later calls without any passphrase are served from the unlock cache.
    let mut cmd = env.command(BIN);
    cmd.env_remove("CROSSROLE_FILE_PASSPHRASE")
        .args(["credential-process", "green"]);
    let out = run_with_input(&mut cmd, None);
    assert!(ok(&out).contains(&w.t.access_key_id));

    // doctor and list say where the key is and that the file is unlocked.
    let doctor = stdout(&env.crossrole(&["doctor", "--offline"], None));
    assert!(doctor.contains("encrypted file"), "{doctor}");
    assert!(doctor.contains("unlocked until"), "{doctor}");
    let list = ok(&env.crossrole(&["list"], None));
    assert!(list.contains("file (unlocked until"), "{list}");

    env.assert_no_file_contains(&w.t.secret_access_key);
}

#[test]
fn setup_says_which_backend_stored_the_key() {
    let env = file_env();
    let out = setup_key(&env, &[], "p1", &key_id(1), &secret(1));
    let text = ok(&out);
    assert!(text.contains("in the file keyring"), "{text}");
    assert_output_has_no(&out, &[&secret(1)]);
    env.assert_no_file_contains(&secret(1));
}

#[test]
fn wrong_passphrase_is_a_clear_error_with_no_stdout() {
    let env = file_env();
    ok(&setup_key(&env, &[], "p1", &key_id(1), &secret(1)));
    let out = run_with(
        &env,
        &[("CROSSROLE_FILE_PASSPHRASE", "not it"), NO_CACHE],
        &["credential-process", "p1"],
        None,
    );
    let err = fails_with(
        &out,
        &["wrong passphrase", "keys.age", "CROSSROLE_FILE_PASSPHRASE"],
    );
    assert!(stdout(&out).is_empty());
    assert!(!err.contains("not it"));
    // The right one still works, and the file was not touched.
    let good = run_with(&env, &[NO_CACHE], &["credential-process", "p1"], None);
    assert!(ok(&good).contains(&key_id(1)));
}

#[test]
fn a_truncated_file_is_an_error_and_never_overwritten() {
    let env = file_env();
    ok(&setup_key(&env, &[], "p1", &key_id(1), &secret(1)));
    let file = keys_file(&env);
    let whole = std::fs::read(&file).unwrap();
    let cut = &whole[..whole.len() - 20];
    std::fs::write(&file, cut).unwrap();
    let out = run_with(&env, &[NO_CACHE], &["credential-process", "p1"], None);
    fails_with(
        &out,
        &["keys.age", "truncated or damaged", "will not write over it"],
    );
    assert!(stdout(&out).is_empty());
    let again = setup_key(&env, &[NO_CACHE], "p2", &key_id(2), &secret(2));
    fails_with(&again, &["truncated or damaged"]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        cut,
        "the damaged file was overwritten"
    );
}

#[test]
fn two_concurrent_setups_both_keep_their_key() {
    let env = file_env();
    ok(&setup_key(&env, &[], "p0", &key_id(0), &secret(0)));
    let spawn = |n: usize| {
        let target = format!("p{n}-role");
        let profile = format!("p{n}");
        let mut cmd = env.command(BIN);
        cmd.args([
            "setup",
            "--source-profile",
            &profile,
            "--target-profile",
            &target,
            "--role-arn",
            "arn:aws:iam::123456789012:role/R",
            "--region",
            "eu-west-1",
            "--access-key-id",
            &key_id(n),
            "--no-verify",
        ])
        .env("CROSSROLE_FILE_UNLOCK_SECONDS", "0");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{}\n", secret(n)).as_bytes())
            .unwrap();
        child
    };
    let (a, b) = (spawn(1), spawn(2));
    ok(&a.wait_with_output().unwrap());
    ok(&b.wait_with_output().unwrap());
    for n in 0..3 {
        let out = run_with(
            &env,
            &[NO_CACHE],
            &["credential-process", &format!("p{n}")],
            None,
        );
        assert!(ok(&out).contains(&key_id(n)), "key of p{n} lost");
    }
}

#[test]
fn sigkill_during_writes_leaves_a_decryptable_file() {
    let env = file_env();
    ok(&setup_key(&env, &[NO_CACHE], "p0", &key_id(0), &secret(0)));
    for (round, delay_ms) in [0u64, 30, 80, 150, 250, 400].into_iter().enumerate() {
        let n = round + 1;
        let target = format!("p{n}-role");
        let profile = format!("p{n}");
        let mut child = env
            .command(BIN)
            .args([
                "setup",
                "--source-profile",
                &profile,
                "--target-profile",
                &target,
                "--role-arn",
                "arn:aws:iam::123456789012:role/R",
                "--region",
                "eu-west-1",
                "--access-key-id",
                &key_id(n),
                "--no-verify",
            ])
            .env("CROSSROLE_FILE_UNLOCK_SECONDS", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(format!("{}\n", secret(n)).as_bytes())
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Old or new, the file always opens and the first key is there.
        let out = run_with(&env, &[NO_CACHE], &["credential-process", "p0"], None);
        assert!(
            ok(&out).contains(&key_id(0)),
            "round {round}: {}",
            stderr(&out)
        );
    }
    // A later write cleans any temp file a killed writer left.
    ok(&setup_key(&env, &[NO_CACHE], "p9", &key_id(9), &secret(9)));
    let dir = keys_file(&env).parent().unwrap().to_path_buf();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A passphrase command that counts its calls in `count`.
fn counting_command(env: &TestEnv) -> (String, PathBuf) {
    let count = env.tmp.path().join("asked");
    let script = env.tmp.path().join("passphrase.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho asked >> '{}'\nprintf '%s\\n' '{PASS}'\n",
            count.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    (script.display().to_string(), count)
}

fn times_asked(count: &PathBuf) -> usize {
    std::fs::read_to_string(count)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn the_unlock_expires_and_the_next_call_asks_again() {
    let env = file_env();
    ok(&setup_key(&env, &[], "p1", &key_id(1), &secret(1)));
    let (script, count) = counting_command(&env);
    let call = || {
        let mut cmd = env.command(BIN);
        cmd.env_remove("CROSSROLE_FILE_PASSPHRASE")
            .env("CROSSROLE_FILE_PASSPHRASE_COMMAND", &script)
            .env("CROSSROLE_FILE_UNLOCK_SECONDS", "2")
            .args(["credential-process", "p1"]);
        let out = run_with_input(&mut cmd, None);
        assert!(ok(&out).contains(&key_id(1)));
    };
    // Unlocked by setup (default 8 hours): not asked.
    call();
    assert_eq!(times_asked(&count), 0);
    // Lock (drop the cached unlock), then unlock with a 2 s cache.
    for (k, _) in session_keyring_keys("crossrole:file-unlock:") {
        keyctl(&["invalidate", &k]);
    }
    call();
    assert_eq!(times_asked(&count), 1);
    call();
    assert_eq!(times_asked(&count), 1, "asked again within the unlock time");
    std::thread::sleep(Duration::from_millis(3500));
    let mut cmd = env.command(BIN);
    cmd.env_remove("CROSSROLE_FILE_PASSPHRASE")
        .args(["list", "--json"]);
    let list = ok(&run_with_input(&mut cmd, None));
    assert!(list.contains("\"locked"), "{list}");
    call();
    assert_eq!(
        times_asked(&count),
        2,
        "not asked again after the unlock expired"
    );
}

#[test]
fn another_uid_cannot_read_the_unlock_cache() {
    let env = file_env();
    ok(&setup_key(&env, &[], "p1", &key_id(1), &secret(1)));
    let keys = session_keyring_keys("crossrole:file-unlock:");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let id = &keys[0].0;
    // The owner can read it (so the check below is meaningful)...
    let mine = keyctl(&["print", id]);
    assert!(mine.status.success(), "{}", stderr(&mine));
    assert!(stdout(&mine).contains("crossrole-keys") || !stdout(&mine).is_empty());
    // ...a process with the same session keyring but another UID cannot.
    let other = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "keyctl",
            "print",
            id,
        ])
        .output()
        .unwrap();
    assert!(!other.status.success(), "uid 65534 read the unlock cache");
    assert!(!String::from_utf8_lossy(&other.stdout).contains(&secret(1)));
    let perm = stdout(&keyctl(&["rdescribe", id]));
    // type;uid;gid;perm;description: no possessor, group or other rights.
    let perm = perm.split(';').nth(3).unwrap_or("");
    assert_eq!(perm, "003f0000", "{perm}");
}

#[test]
fn hostile_passphrases_are_refused_at_creation() {
    let env = file_env();
    let script = env.tmp.path().join("bad.sh");
    for (body, expect) in [
        ("printf 'a\\000b\\n'", "NUL"),
        ("printf 'line one\\nline two\\n'", "more than one line"),
        ("printf '\\n'", "empty passphrase"),
    ] {
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut cmd = env.command(BIN);
        cmd.env_remove("CROSSROLE_FILE_PASSPHRASE")
            .env("CROSSROLE_FILE_PASSPHRASE_COMMAND", &script)
            .args([
                "setup",
                "--source-profile",
                "p1",
                "--role-arn",
                "arn:aws:iam::123456789012:role/R",
                "--region",
                "eu-west-1",
                "--access-key-id",
                &key_id(1),
                "--no-verify",
            ]);
        let out = run_with_input(&mut cmd, Some(&format!("{}\n", secret(1))));
        fails_with(&out, &[expect]);
        assert!(!keys_file(&env).exists());
    }
    // Both variables at once is ambiguous.
    let out = setup_key(
        &env,
        &[("CROSSROLE_FILE_PASSPHRASE_COMMAND", "true")],
        "p1",
        &key_id(1),
        &secret(1),
    );
    fails_with(&out, &["unset one of them"]);
}

#[test]
fn a_folder_or_a_symlink_in_place_of_the_file_is_refused() {
    let env = file_env();
    let file = keys_file(&env);
    std::fs::create_dir_all(&file).unwrap();
    let out = setup_key(&env, &[], "p1", &key_id(1), &secret(1));
    fails_with(&out, &["keys.age", "not a regular file"]);
    std::fs::remove_dir(&file).unwrap();

    let other = env.tmp.path().join("someone-elses-file");
    std::fs::write(&other, "not yours").unwrap();
    std::os::unix::fs::symlink(&other, &file).unwrap();
    let out = setup_key(&env, &[], "p1", &key_id(1), &secret(1));
    fails_with(&out, &["keys.age", "symbolic link"]);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "not yours");
    assert!(std::fs::symlink_metadata(&file)
        .unwrap()
        .file_type()
        .is_symlink());

    // A regular file of another user's in its place (as root, the tests can
    // make one).
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, "someone else's").unwrap();
    if std::os::unix::fs::chown(&file, Some(65534), Some(65534)).is_ok() {
        let out = setup_key(&env, &[], "p1", &key_id(1), &secret(1));
        fails_with(&out, &["keys.age", "owned by another user"]);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "someone else's");
    }
}

/// Runs CMD in a new session whose controlling terminal is a pty (as
/// blue_mfa.rs does), with stdin /dev/null and stdout/stderr to files, as
/// when the AWS CLI runs credential_process; each time one more prompt
/// (text ending in ": ") shows on the pty, the next ANSWER is typed.
/// Prints {"status", "tty"}. usage: python3 -c DRIVER A1|A2 OUT ERR CMD...
const PTY_DRIVER: &str = r#"
import fcntl, json, os, select, sys, termios, time
answers = [a for a in sys.argv[1].split("|") if a]
out_path, err_path, cmd = sys.argv[2], sys.argv[3], sys.argv[4:]
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    os.close(slave)
    os.execvp(cmd[0], cmd)
# The slave stays open here, so reads on the master never fail with EIO.
tty, answered, status, deadline = b"", 0, None, time.time() + 120
while status is None and time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.2)
    if ready:
        tty += os.read(master, 4096)
        while tty.count(b": ") > answered and answered < len(answers):
            os.write(master, answers[answered].encode() + b"\n")
            answered += 1
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    status = -9
print(json.dumps({"status": status, "tty": tty.decode("utf-8", "replace")}))
"#;

/// (exit status, stdout, stderr, what the terminal showed).
fn under_pty(
    env: &TestEnv,
    vars: &[(&str, &str)],
    answers: &[&str],
    args: &[&str],
) -> (i64, String, String, String) {
    let out_path = env.tmp.path().join("pty-out");
    let err_path = env.tmp.path().join("pty-err");
    let joined = answers.join("|");
    let mut cmd = env.command("python3");
    cmd.env_remove("CROSSROLE_FILE_PASSPHRASE")
        .args(["-c", PTY_DRIVER, &joined])
        .arg(&out_path)
        .arg(&err_path)
        .arg(BIN)
        .args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let printed = ok(&run_with_input(&mut cmd, None));
    let v: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
    (
        v["status"].as_i64().unwrap(),
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
        v["tty"].as_str().unwrap().to_string(),
    )
}

#[test]
fn on_a_terminal_the_passphrase_is_asked_twice_then_three_tries() {
    let env = file_env();
    env.write_credentials(&format!(
        "[p1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        key_id(1),
        secret(1)
    ));
    let setup = [
        "setup",
        "--import-credentials",
        "--source-profile",
        "p1",
        "--role-arn",
        "arn:aws:iam::123456789012:role/R",
        "--region",
        "eu-west-1",
        "--no-verify",
    ];
    // Two different answers at creation: nothing is written.
    let (status, out, err, _) = under_pty(&env, &[], &["tty pass", "tty pasz"], &setup);
    assert_ne!(status, 0);
    assert!(out.is_empty());
    assert!(err.contains("the two passphrases differ"), "{err}");
    assert!(!keys_file(&env).exists());
    // The same twice: created.
    let (status, _, err, tty) = under_pty(&env, &[], &["tty pass", "tty pass"], &setup);
    assert_eq!(status, 0, "{err}");
    assert!(
        tty.contains("New passphrase for") && tty.contains("again"),
        "{tty}"
    );
    assert!(
        !tty.contains("tty pass"),
        "the passphrase was echoed: {tty}"
    );
    // Three wrong tries: stop, no stdout.
    let no_cache = [NO_CACHE];
    let cp = ["credential-process", "p1"];
    let (status, out, err, tty) = under_pty(&env, &no_cache, &["a", "b", "c", "tty pass"], &cp);
    assert_ne!(status, 0);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("wrong passphrase") && err.contains("3 tries"),
        "{err}"
    );
    assert_eq!(tty.matches("Passphrase for").count(), 3, "{tty}");
    // One wrong, then right.
    let (status, out, err, _) = under_pty(&env, &no_cache, &["a", "tty pass"], &cp);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains(&key_id(1)));
}
