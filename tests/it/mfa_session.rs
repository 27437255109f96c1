//! MFA sessions, end to end through the real binary: one GetSessionToken
//! with the code, shared by every profile with the same source and serial;
//! role sessions assumed with it (signed with its key id, carrying its
//! token, never the code); a wrong code asked again once; `clear` keeps it
//! and `clear --mfa` drops it; key profiles hand out sessions; a session
//! inside the refresh window is served when STS is down. The codes come
//! from a `crossrole_mfa_process` script that counts how often it is run.

use crate::common;

use common::fake_sts::{FakeSts, Reply};
use common::*;

const SERIAL: &str = "arn:aws:iam::111111111111:mfa/s3-prod-user";
const KEY_ID: &str = "AKIAFAKEFAKEFAKE0001";
const SECRET: &str = "fakeLongTermSecretfakeLongTermSecret0001";
const ROLE: &str = "arn:aws:iam::222222222222:role/R";
const ROLE_2: &str = "arn:aws:iam::222222222222:role/S";

/// A keyutils env pointed at `endpoint`, with a code script whose answers
/// are the lines of `codes` (one per run) and which logs each run.
struct World {
    env: TestEnv,
}

impl World {
    fn new(endpoint: String, codes: &str) -> World {
        let mut env = TestEnv::keyutils();
        env.endpoint = Some(endpoint);
        let bin = env.tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("codes"), codes).unwrap();
        let script = bin.join("mfa-code");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$CROSSROLE_MFA_PROFILE\" >> '{d}/calls'\n[ -e '{d}/hang' ] && exec sleep 100\nn=$(wc -l < '{d}/calls')\nsed -n \"${{n}}p\" '{d}/codes'\n",
                d = bin.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        env.write_credentials(&format!(
            "[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        ));
        World { env }
    }

    fn script(&self) -> String {
        self.env
            .tmp
            .path()
            .join("bin/mfa-code")
            .display()
            .to_string()
    }

    /// How many codes were asked for (runs of the script).
    fn prompts(&self) -> usize {
        std::fs::read_to_string(self.env.tmp.path().join("bin/calls"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn setup(&self, target: &str, role: &str, extra: &[&str]) -> String {
        let script = self.script();
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
            "--mfa-process",
            &script,
            "--no-verify",
        ];
        if self.env.read_credentials().contains("aws_access_key_id") {
            args.extend(["--import-credentials", "--yes"]);
        }
        args.extend_from_slice(extra);
        ok(&self.env.crossrole(&args, None))
    }
}

fn sts(role_seconds: Option<i64>) -> FakeSts {
    FakeSts::start(Reply::Sts {
        mfa_code: "123456",
        role_seconds,
    })
}

#[test]
fn role_sessions_are_signed_with_the_mfa_session_and_never_carry_the_code() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    let config = w.env.read_config();
    assert!(
        config.contains("crossrole_mfa_prompt = process"),
        "{config}"
    );

    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert!(doc["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIAROLESESSION"));
    assert_eq!(w.prompts(), 1);

    let gst = fake.calls("GetSessionToken");
    assert_eq!(gst.len(), 1);
    assert_eq!(
        gst[0].key_id, KEY_ID,
        "GetSessionToken is signed with the long-term key"
    );
    assert_eq!(
        gst[0].params.get("SerialNumber").map(String::as_str),
        Some(SERIAL)
    );
    assert_eq!(
        gst[0].params.get("TokenCode").map(String::as_str),
        Some("123456")
    );
    assert_eq!(
        gst[0].params.get("DurationSeconds").map(String::as_str),
        Some("28800")
    );
    assert_eq!(gst[0].security_token, None);

    let ar = fake.calls("AssumeRole");
    assert_eq!(ar.len(), 1);
    assert!(
        ar[0].key_id.starts_with("ASIAMFASESSION"),
        "signed with the MFA session's key id: {}",
        ar[0].key_id
    );
    assert_eq!(
        ar[0]
            .security_token
            .as_deref()
            .map(|t| t.starts_with("MFASESSION-token-")),
        Some(true),
        "carries the MFA session's token"
    );
    assert!(
        !ar[0].params.contains_key("TokenCode"),
        "{:?}",
        ar[0].params
    );
    assert!(
        !ar[0].params.contains_key("SerialNumber"),
        "{:?}",
        ar[0].params
    );
    assert!(
        !ar[0].raw.contains("123456"),
        "the code never goes with AssumeRole"
    );

    // A second profile with the same source and serial shares the session.
    w.setup("blue2", ROLE_2, &[]);
    let doc2 = process_doc(&w.env.crossrole(&["credential-process", "blue2"], None));
    assert_ne!(doc2["AccessKeyId"], doc["AccessKeyId"]);
    assert_eq!(fake.calls("GetSessionToken").len(), 1);
    assert_eq!(fake.calls("AssumeRole").len(), 2);
    assert_eq!(fake.calls("AssumeRole")[1].key_id, ar[0].key_id);
    assert_eq!(w.prompts(), 1, "one code for both profiles");

    // `clear` keeps the MFA session: new role sessions, no code.
    let out = ok(&w.env.crossrole(&["clear"], None));
    assert!(out.contains("cleared 2 cached session(s)"), "{out}");
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(fake.calls("GetSessionToken").len(), 1);
    assert_eq!(fake.calls("AssumeRole").len(), 3);
    assert_eq!(w.prompts(), 1);

    // `list` shows it with its time left.
    let list = ok(&w.env.crossrole(&["list"], None));
    assert!(
        list.contains("MFA SESSION") && list.contains(SERIAL),
        "{list}"
    );
    assert!(list.contains("7h5") || list.contains("8h00"), "{list}");

    // `clear --mfa` drops it: the next call asks again.
    let out = ok(&w.env.crossrole(&["clear", "--mfa"], None));
    assert!(out.contains("cleared 1 MFA session(s)"), "{out}");
    std::fs::write(w.env.tmp.path().join("bin/codes"), "123456\n123456\n").unwrap();
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(fake.calls("GetSessionToken").len(), 2);
    assert_eq!(w.prompts(), 2);
    w.env.assert_no_file_contains(SECRET);
    w.env.assert_no_file_contains("MFASESSION-secret");
}

#[test]
fn a_code_sts_rejects_is_asked_again_once() {
    let fake = sts(None);
    let w = World::new(fake.url(), "000000\n123456\n");
    w.setup("blue", ROLE, &[]);
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.prompts(), 2);
    let codes: Vec<String> = fake
        .calls("GetSessionToken")
        .iter()
        .map(|r| r.params["TokenCode"].clone())
        .collect();
    assert_eq!(codes, ["000000", "123456"]);

    let fake = sts(None);
    let w = World::new(fake.url(), "000000\n111111\n123456\n");
    w.setup("blue", ROLE, &[]);
    let o = w.env.crossrole(&["credential-process", "blue"], None);
    fails_with(&o, &["rejected the MFA code", SERIAL, "twice"]);
    assert_eq!(w.prompts(), 2, "asked again once, not more");
    assert_eq!(fake.calls("AssumeRole").len(), 0);
}

#[test]
fn per_role_mfa_with_session_seconds_zero_sends_the_code_with_assume_role() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n123456\n");
    let out = w.setup(
        "blue",
        ROLE,
        &["--mfa-session-seconds", "0", "--duration-seconds", "7200"],
    );
    assert!(!out.contains("caps"), "no cap without chaining: {out}");
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert!(fake.calls("GetSessionToken").is_empty());
    let ar = fake.calls("AssumeRole");
    assert_eq!(ar[0].key_id, KEY_ID);
    assert_eq!(
        ar[0].params.get("TokenCode").map(String::as_str),
        Some("123456")
    );
    assert_eq!(
        ar[0].params.get("DurationSeconds").map(String::as_str),
        Some("7200")
    );
}

#[test]
fn a_longer_role_session_is_capped_at_one_hour_with_a_warning_at_setup() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    let out = w.setup("blue", ROLE, &["--duration-seconds", "43200"]);
    assert!(
        out.contains("warning") && out.contains("3600") && out.contains("--mfa-session-seconds 0"),
        "{out}"
    );
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(
        fake.calls("AssumeRole")[0]
            .params
            .get("DurationSeconds")
            .map(String::as_str),
        Some("3600")
    );
    assert!(seconds_left(&doc) <= 3600);
}

#[test]
fn bad_mfa_flags_are_refused_and_nothing_is_written() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    let creds_before = w.env.read_credentials();
    for (flags, says) in [
        (
            &["--mfa-session-seconds", "60"][..],
            "--mfa-session-seconds",
        ),
        (
            &["--mfa-session-seconds", "200000"],
            "--mfa-session-seconds",
        ),
        (&["--mfa-prompt", "popup"], "--mfa-prompt"),
        (&["--mfa-process", "otp 'unclosed"], "--mfa-process"),
        (
            &["--mfa-prompt", "zenity", "--mfa-process", "otp"],
            "--mfa-process",
        ),
    ] {
        let mut args = import_setup_args(ROLE, &["--mfa-serial", SERIAL, "--no-verify"]);
        args.extend_from_slice(flags);
        fails_with(&w.env.crossrole(&args, None), &[says]);
        assert!(!w.env.config.exists(), "{flags:?} wrote the config");
        assert_eq!(w.env.read_credentials(), creds_before);
    }
    let args = import_setup_args(
        ROLE,
        &[
            "--mfa-serial",
            SERIAL,
            "--no-verify",
            "--mfa-prompt",
            "process",
        ],
    );
    fails_with(&w.env.crossrole(&args, None), &["--mfa-process"]);
    assert!(!w.env.config.exists());
    assert!(!kernel_keyring_has_key("green"));
}

#[test]
fn key_profiles_hand_out_sessions_and_their_mfa_session_is_shared() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    // exec / export of green: a plain GetSessionToken session, never the key.
    let env_out = ok(&w.env.crossrole(&["exec", "green", "--", "env"], None));
    assert!(env_out.contains("AWS_SESSION_TOKEN="), "{env_out}");
    assert!(
        !env_out.contains(KEY_ID),
        "the long-term key must not be handed out"
    );
    let export = ok(&w
        .env
        .crossrole(&["export", "green", "--format", "json"], None));
    assert!(export.contains("SessionToken"), "{export}");
    assert_eq!(
        fake.calls("GetSessionToken").len(),
        1,
        "cached: exec and export share it"
    );
    assert!(!fake.calls("GetSessionToken")[0]
        .params
        .contains_key("TokenCode"));
    let plain = ok(&w
        .env
        .crossrole(&["exec", "green", "--no-session", "--", "env"], None));
    assert!(
        plain.contains(&format!("AWS_ACCESS_KEY_ID={KEY_ID}")),
        "{plain}"
    );
    assert!(!plain.contains("AWS_SESSION_TOKEN"), "{plain}");
    let plain = ok(&w.env.crossrole(&["export", "green", "--no-session"], None));
    assert!(
        plain.contains(KEY_ID) && !plain.contains("AWS_SESSION_TOKEN"),
        "{plain}"
    );
    // credential-process of green without a serial: the key, as before.
    let doc = process_doc(&w.env.crossrole(&["credential-process", "green"], None));
    assert_eq!(doc["AccessKeyId"], KEY_ID);

    // With a serial, green serves its MFA session, the one blue uses too.
    w.env
        .set_profile_key("green", "crossrole_mfa_serial", Some(SERIAL));
    w.env
        .set_profile_key("green", "crossrole_mfa_prompt", Some("process"));
    w.env
        .set_profile_key("green", "crossrole_mfa_process", Some(&w.script()));
    let g = process_doc(&w.env.crossrole(&["credential-process", "green"], None));
    assert!(
        g["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIAMFASESSION"),
        "{g}"
    );
    assert!(g["SessionToken"].as_str().is_some());
    assert_eq!(w.prompts(), 1);
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert_eq!(w.prompts(), 1, "blue signs with green's MFA session");
    let mfa_calls: Vec<_> = fake
        .calls("GetSessionToken")
        .into_iter()
        .filter(|r| r.params.contains_key("TokenCode"))
        .collect();
    assert_eq!(mfa_calls.len(), 1);
    assert_eq!(
        fake.calls("AssumeRole")[0].key_id,
        g["AccessKeyId"].as_str().unwrap()
    );
    w.env.assert_no_file_contains(SECRET);
}

#[test]
fn a_role_session_inside_the_window_is_served_when_sts_is_down_and_not_under_ten_minutes() {
    // STS gives 14-minute role sessions: inside the refresh window at once.
    let fake = sts(Some(14 * 60));
    let mut w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    let first = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    w.env.endpoint = Some(closed_port_url());
    let o = w.env.crossrole(&["credential-process", "blue"], None);
    let again = process_doc(&o);
    assert_eq!(again["AccessKeyId"], first["AccessKeyId"]);
    let err = stderr(&o);
    assert!(
        err.contains("warning") && err.contains("serving the cached one"),
        "{err}"
    );

    // 9-minute sessions: below botocore's mandatory window, never served.
    let fake = sts(Some(9 * 60));
    let mut w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    w.env.endpoint = Some(closed_port_url());
    fails_with(
        &w.env.crossrole(&["credential-process", "blue"], None),
        &["cannot reach STS"],
    );
}

#[test]
fn moto_end_to_end_without_enforcement() {
    // moto rejects its own GetSessionToken keys under IAM enforcement, so
    // the MFA-session flow runs against moto without it.
    let moto = Moto::start();
    let t = tutorial(&moto, &["--no-enforce"]);
    let proxy = CountingProxy::start(moto.port);
    let w = World::new(proxy.url(), "123456\n");
    w.env.write_credentials(&format!(
        "[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    ));
    w.setup("blue", &t.role_arn, &[]);
    let who = ok(&w
        .env
        .aws(&["--profile", "blue", "sts", "get-caller-identity"]));
    assert!(
        who.contains("assumed-role/CrossAccountS3Access-Role"),
        "{who}"
    );
    std::fs::write(w.env.home.join("foo"), "hello").unwrap();
    let bucket = format!("s3://{}/", t.bucket);
    ok(&w
        .env
        .aws(&["--profile", "blue", "s3", "cp", "foo", &bucket]));
    let ls = ok(&w.env.aws(&["--profile", "blue", "s3", "ls", &bucket]));
    assert!(ls.contains("foo"), "{ls}");
    assert_eq!(w.prompts(), 1);
    assert_eq!(proxy.assume_role_calls(), 1);
    w.env.assert_no_file_contains(&t.secret_access_key);
}

/// Starts `credential-process blue` with the code program hanging (the
/// "hang" file), and waits until it is asking (holding the locks).
fn start_holder(w: &World, timeout_secs: &str) -> std::process::Child {
    let bin = w.env.tmp.path().join("bin");
    std::fs::write(bin.join("hang"), "").unwrap();
    let holder = w
        .env
        .command(BIN)
        .args(["credential-process", "blue"])
        .env("CROSSROLE_MFA_PROMPT_TIMEOUT", timeout_secs)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w.prompts() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the holder never asked"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_file(bin.join("hang")).unwrap();
    holder
}

#[test]
fn sigkill_of_the_caller_holding_the_lock_mid_prompt_lets_the_next_one_proceed() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n123456\n");
    w.setup("blue", ROLE, &[]);
    let mut holder = start_holder(&w, "60");
    holder.kill().unwrap(); // SIGKILL, mid-prompt
    holder.wait().unwrap();
    let started = std::time::Instant::now();
    let doc = process_doc(&w.env.crossrole(&["credential-process", "blue"], None));
    assert!(doc["SessionToken"].as_str().is_some());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the lock died with its holder: {:?}",
        started.elapsed()
    );
    assert_eq!(w.prompts(), 2);
    assert_eq!(fake.calls("GetSessionToken").len(), 1);
}

#[test]
fn a_waiter_gives_up_after_the_prompt_timeout_plus_30_seconds() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    // The holder may ask for 60 s; this waiter's own timeout is 1 s.
    let mut holder = start_holder(&w, "60");
    let started = std::time::Instant::now();
    let o = run_with_input(
        w.env
            .command(BIN)
            .args(["credential-process", "blue"])
            .env("CROSSROLE_MFA_PROMPT_TIMEOUT", "1"),
        None,
    );
    let took = started.elapsed();
    fails_with(
        &o,
        &["gave up after 31 seconds", "MFA code", "profile `blue`"],
    );
    assert!(
        took >= std::time::Duration::from_secs(31) && took < std::time::Duration::from_secs(45),
        "{took:?}"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(w.prompts(), 1, "the waiter never asked");
}

#[test]
fn a_code_program_that_fails_or_hangs_is_a_clear_error() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    let failing = w.env.tmp.path().join("bin/failing");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'no YubiKey detected' >&2\nexit 2\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    w.env.set_profile_key(
        "blue",
        "crossrole_mfa_process",
        Some(failing.to_str().unwrap()),
    );
    fails_with(
        &w.env.crossrole(&["credential-process", "blue"], None),
        &["exit status 2", "no YubiKey detected"],
    );
    w.env
        .set_profile_key("blue", "crossrole_mfa_process", Some("sleep 30"));
    let started = std::time::Instant::now();
    let o = run_with_input(
        w.env
            .command(BIN)
            .args(["credential-process", "blue"])
            .env("CROSSROLE_MFA_PROMPT_TIMEOUT", "2"),
        None,
    );
    fails_with(&o, &["no answer within 2 seconds"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(fake.calls("GetSessionToken").is_empty());
}

#[test]
fn doctor_checks_the_configured_prompt() {
    let fake = sts(None);
    let w = World::new(fake.url(), "123456\n");
    w.setup("blue", ROLE, &[]);
    let out = stdout(&w.env.crossrole(&["doctor", "--offline"], None));
    assert!(
        out.contains("[ok  ] MFA prompt for profile blue (process): codes come from"),
        "{out}"
    );
    w.env
        .set_profile_key("blue", "crossrole_mfa_process", Some("/nonexistent/otp"));
    let o = w.env.crossrole(&["doctor", "--offline"], None);
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("[FAIL] MFA prompt for profile blue (process): the code program `/nonexistent/otp` is not found"),
        "{}",
        stdout(&o)
    );
    w.env
        .set_profile_key("blue", "crossrole_mfa_prompt", Some("zenity"));
    let out = stdout(&w.env.crossrole(&["doctor", "--offline"], None));
    assert!(
        out.contains("[FAIL] MFA prompt for profile blue (zenity)")
            && (out.contains("no desktop display") || out.contains("not installed")),
        "{out}"
    );
}
