//! Crash safety: `crossrole setup` and `crossrole remove --yes` killed with
//! SIGKILL at random points (before, during and after their saves), over
//! configs with CRLF line ends, comments, nested blocks, no final newline,
//! existing profiles, a symlinked config and a credentials file to import
//! from. After every kill each file is exactly its old or its new content,
//! botocore reads it, and a normal re-run repairs everything: same files as
//! an uninterrupted run, the key in the keyring, no temp file left behind.
//!
//! No network: `--no-verify`, and the kernel keyring (keyutils) in a session
//! keyring private to the test thread. `CROSSROLE_CRASH_SEED=N` replays a run.

#![cfg(target_os = "linux")]
use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role";
const KEY_ID: &str = "AKIAIOSFODNN7CRASH01";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCRASHKEY01";
const DEFAULT_KEY_ID: &str = "AKIAIOSFODNN7DEFLT01";
const DEFAULT_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYDEFAULTK01";

/// A small xorshift generator: no extra dependency, and a seed to replay.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Rng {
        let seed = std::env::var("CROSSROLE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x5eed)
            })
            | 1;
        eprintln!("crash_safety: CROSSROLE_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A starting point: the files before setup, and how setup is called.
struct Scenario {
    name: &'static str,
    /// None: no config file yet (setup creates it 0600).
    config: Option<String>,
    credentials: String,
    /// The config is a relative symlink to `dotfiles/aws-config`.
    symlinked_config: bool,
    extra_args: &'static [&'static str],
}

fn scenarios() -> Vec<Scenario> {
    let green =
        format!("[green]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n");
    vec![
        Scenario {
            name: "comments-and-other-profiles",
            config: Some(
                "# my AWS config\n; semicolon comment\n\n[default]\nregion = us-east-1\noutput = text\n\n[profile other]  # trailing comment\nregion = ap-south-1\n"
                    .into(),
            ),
            credentials: format!(
                "# keys\n[default]\naws_access_key_id = {DEFAULT_KEY_ID}\naws_secret_access_key = {DEFAULT_SECRET}\n\n{green}"
            ),
            symlinked_config: false,
            extra_args: &[],
        },
        Scenario {
            name: "crlf-nested-no-final-newline",
            config: Some(
                "[default]\r\nregion = eu-west-1\r\ns3 =\r\n    max_concurrent_requests = 20\r\n    multipart_threshold = 64MB\r\n\r\n[sso-session corp]\r\nsso_start_url = https://corp.awsapps.com/start\r\nsso_region = eu-west-1\r\n\r\n[services local]\r\nsts =\r\n  endpoint_url = http://127.0.0.1:1\r\n\r\n[profile green]\r\nregion = eu-central-1"
                    .into(),
            ),
            credentials: green.replace('\n', "\r\n"),
            symlinked_config: false,
            extra_args: &["--output", "yaml"],
        },
        Scenario {
            name: "existing-profiles-migrated",
            config: Some(format!(
                "[profile green]\nregion = eu-west-1\ncredential_process = /old/path/crossrole credential-process green\n\n[profile blue]\nrole_arn = {ROLE_ARN}\nsource_profile = green\nregion = eu-west-1\n\n[profile tail]\noutput = json"
            )),
            credentials: format!("{green}\n[tail]\naws_access_key_id = {DEFAULT_KEY_ID}\naws_secret_access_key = {DEFAULT_SECRET}\n"),
            symlinked_config: false,
            extra_args: &["--external-id", "ext-42", "--duration-seconds", "1800"],
        },
        Scenario {
            name: "symlinked-config",
            config: Some(
                "[default]\nregion = us-west-2\ns3 =\n  addressing_style = path\n\n# blue comes later\n".into(),
            ),
            credentials: green.clone(),
            symlinked_config: true,
            extra_args: &["--role-session-name", "crash-test"],
        },
        Scenario {
            name: "no-config-yet",
            config: None,
            credentials: green,
            symlinked_config: false,
            extra_args: &[],
        },
    ]
}

/// One trial's files: `dir/home/.aws/{config,credentials}` (the config
/// possibly a symlink to `dir/dotfiles/aws-config`).
struct Layout {
    dir: PathBuf,
    home: PathBuf,
    config: PathBuf,
    credentials: PathBuf,
    symlinked: bool,
}

impl Layout {
    fn new(dir: PathBuf, symlinked: bool) -> Layout {
        let home = dir.join("home");
        Layout {
            config: home.join(".aws/config"),
            credentials: home.join(".aws/credentials"),
            home,
            dir,
            symlinked,
        }
    }

    fn config_target(&self) -> PathBuf {
        if self.symlinked {
            self.dir.join("dotfiles/aws-config")
        } else {
            self.config.clone()
        }
    }

    /// Writes `config` (None: no file) and `credentials`.
    fn write(&self, config: Option<&str>, credentials: &str) {
        std::fs::create_dir_all(self.home.join(".aws")).unwrap();
        if self.symlinked {
            std::fs::create_dir_all(self.dir.join("dotfiles")).unwrap();
            let _ = std::fs::remove_file(&self.config);
            std::os::unix::fs::symlink("../../dotfiles/aws-config", &self.config).unwrap();
        }
        let target = self.config_target();
        match config {
            Some(text) => std::fs::write(&target, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&target);
            }
        }
        std::fs::write(&self.credentials, credentials).unwrap();
    }

    /// The config (None when missing) and credentials, read through any link.
    fn read(&self) -> (Option<String>, String) {
        if self.symlinked {
            let m = std::fs::symlink_metadata(&self.config).unwrap();
            assert!(
                m.file_type().is_symlink(),
                "the config symlink was replaced"
            );
        }
        let config = std::fs::read_to_string(&self.config).ok();
        let creds = std::fs::read_to_string(&self.credentials).unwrap_or_default();
        (config, creds)
    }

    /// crossrole's temp files in the folders it saves into.
    fn temp_files(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.home.join(".aws")];
        if self.symlinked {
            dirs.push(self.dir.join("dotfiles"));
        }
        let mut found = Vec::new();
        for d in dirs {
            if let Ok(entries) = std::fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().contains(".crossrole-tmp-") {
                        found.push(e.path());
                    }
                }
            }
        }
        found
    }

    fn command(&self, env: &TestEnv, args: &[&str]) -> Command {
        let mut c = env.command(BIN);
        c.env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", &self.config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.credentials)
            .args(args);
        c
    }
}

fn setup_args(s: &Scenario) -> Vec<&str> {
    let mut a = import_setup_args(ROLE_ARN, &["--no-verify"]);
    a.extend_from_slice(s.extra_args);
    a
}

/// Files before and after an uninterrupted run of one command.
#[derive(Clone)]
struct Expect {
    old: (Option<String>, String),
    new: (Option<String>, String),
}

/// How a killed run left the files.
#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    killed: usize,
    exited_first: usize,
    all_old: usize,
    mixed: usize,
    all_new: usize,
    temp_left: usize,
    rerun_changed: usize,
}

impl Tally {
    /// `changed[i]`: Some(true) when file i is new, Some(false) when old,
    /// None when the command does not change it.
    fn record(&mut self, changed: &[Option<bool>]) {
        let any_old = changed.contains(&Some(false));
        let any_new = changed.contains(&Some(true));
        match (any_old, any_new) {
            (true, true) => self.mixed += 1,
            (_, false) => self.all_old += 1,
            (false, true) => self.all_new += 1,
        }
    }
}

/// Runs `args` to completion; panics with its stderr on failure.
fn run_ok(layout: &Layout, env: &TestEnv, args: &[&str]) {
    let o = run_with_input(&mut layout.command(env, args), None);
    ok(&o);
}

/// Median wall time of `n` uninterrupted runs (each on fresh files).
fn median_run_time(env: &TestEnv, root: &Path, s: &Scenario, n: usize) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let l = Layout::new(
                root.join(format!("timing-{}-{i}", s.name)),
                s.symlinked_config,
            );
            l.write(s.config.as_deref(), &s.credentials);
            let started = Instant::now();
            run_ok(&l, env, &setup_args(s));
            started.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

/// Spawns the command, lets it run for a random time (sleeping, or spinning
/// for sub-millisecond precision, sometimes with a CPU hog running), then
/// SIGKILLs it. Returns whether the kill landed (the process was running).
fn run_and_kill(mut cmd: Command, max_delay: Duration, rng: &mut Rng) -> bool {
    let hog = (rng.below(3) == 0).then(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let t = std::thread::spawn(move || {
            let mut x = 0u64;
            while !s.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        (stop, t)
    });
    let delay = Duration::from_micros(rng.below(max_delay.as_micros() as u64 + 1));
    let spin = rng.below(2) == 0;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn crossrole");
    let started = Instant::now();
    if spin {
        while started.elapsed() < delay {
            std::hint::spin_loop();
        }
    } else {
        std::thread::sleep(delay);
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    if let Some((stop, t)) = hog {
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(libc::SIGKILL)
}

/// Checks a killed run's leftovers, then re-runs the command unless the
/// killed run had finished its work (a repeated `remove` of a profile that is
/// gone is refused), and checks the result.
fn check_after_kill(
    what: &str,
    layout: &Layout,
    env: &TestEnv,
    exp: &Expect,
    rerun: &[&str],
    tally: &mut Tally,
    snapshots: &mut Vec<PathBuf>,
) {
    let (config, creds) = layout.read();
    let old_config = config == exp.old.0;
    let new_config = config == exp.new.0;
    let old_creds = creds == exp.old.1;
    let new_creds = creds == exp.new.1;
    assert!(
        old_config || new_config,
        "{what}: the config is neither the old nor the new content:\n{config:?}\n--- old:\n{:?}\n--- new:\n{:?}",
        exp.old.0,
        exp.new.0
    );
    assert!(
        old_creds || new_creds,
        "{what}: the credentials file is neither the old nor the new content:\n{creds:?}\n--- old:\n{:?}\n--- new:\n{:?}",
        exp.old.1,
        exp.new.1
    );
    let state = |is_new: bool, same: bool| (!same).then_some(is_new);
    tally.record(&[
        state(new_config, exp.old.0 == exp.new.0),
        state(new_creds, exp.old.1 == exp.new.1),
    ]);
    let temps = layout.temp_files();
    if !temps.is_empty() {
        tally.temp_left += 1;
    }
    // Kept for one botocore pass over every killed run's files at the end.
    let snap = layout.dir.join("snapshot");
    std::fs::create_dir_all(&snap).unwrap();
    if let Some(c) = &config {
        std::fs::write(snap.join("config"), c).unwrap();
        snapshots.push(snap.join("config"));
    }
    std::fs::write(snap.join("credentials"), &creds).unwrap();
    snapshots.push(snap.join("credentials"));

    let done = new_config && new_creds;
    if !done {
        run_ok(layout, env, rerun);
        tally.rerun_changed += 1;
    }
    let after = layout.read();
    assert!(
        after.0 == exp.new.0,
        "{what}: after the re-run the config is not what an uninterrupted run writes:\n{:?}\n--- expected:\n{:?}",
        after.0,
        exp.new.0
    );
    assert!(
        after.1 == exp.new.1,
        "{what}: after the re-run the credentials file is not what an uninterrupted run writes:\n{:?}\n--- expected:\n{:?}",
        after.1,
        exp.new.1
    );
    let left = layout.temp_files();
    assert!(
        left.is_empty(),
        "{what}: temp files left after the re-run: {left:?}"
    );
}

/// One python3 process parses every file with botocore's own reader.
fn botocore_reads_all(paths: &[PathBuf], root: &Path) {
    let list = root.join("botocore-files.txt");
    let text: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, text.join("\n")).unwrap();
    let script = "import sys\nfrom botocore.configloader import raw_config_parse\nbad = []\nn = 0\nfor p in open(sys.argv[1]).read().split('\\n'):\n    if not p:\n        continue\n    n += 1\n    try:\n        raw_config_parse(p)\n    except Exception as e:\n        bad.append(p + ': ' + repr(e))\nprint(n)\nprint('\\n'.join(bad))\nsys.exit(1 if bad else 0)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&list)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3 with botocore");
    assert!(
        out.status.success(),
        "botocore cannot read files left by killed runs:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let n: usize = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    assert_eq!(n, paths.len(), "botocore checked fewer files than written");
}

/// The keyring holds the key the files point at: Green's credential_process answers with it.
fn assert_key_served(layout: &Layout, env: &TestEnv, what: &str) {
    let o = run_with_input(
        &mut layout.command(env, &["credential-process", "green"]),
        None,
    );
    let doc = process_doc(&o);
    assert_eq!(doc["AccessKeyId"], KEY_ID, "{what}: wrong key served");
}

#[test]
fn setup_killed_at_random_points_leaves_old_or_new_files_and_reruns_cleanly() {
    let env = TestEnv::keyutils();
    let root = env.tmp.path().join("trials");
    let mut rng = Rng::from_env_or_clock();
    let scenarios = scenarios();

    // The new content of each scenario: one uninterrupted run on a copy.
    let mut expects = Vec::new();
    let mut max_delays = Vec::new();
    for s in &scenarios {
        let l = Layout::new(
            root.join(format!("expected-{}", s.name)),
            s.symlinked_config,
        );
        l.write(s.config.as_deref(), &s.credentials);
        let old = l.read();
        run_ok(&l, &env, &setup_args(s));
        let new = l.read();
        assert_ne!(old, new, "{}: setup changed nothing", s.name);
        // Idempotent: a second run changes nothing.
        run_ok(&l, &env, &setup_args(s));
        assert_eq!(
            l.read(),
            new,
            "{}: a second setup changed the files",
            s.name
        );
        if s.config.is_none() {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&l.config).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "a new config must be 0600");
        }
        expects.push(Expect { old, new });
        // Kills spread over 0..1.3x a run: before, during and after the saves.
        let t = median_run_time(&env, &root, s, 3);
        max_delays.push(t.mul_f64(1.3).max(Duration::from_millis(2)));
        eprintln!("crash_safety: {} runs in {:?}", s.name, t);
    }

    let target_kills = 170;
    let mut tally = Tally::default();
    let mut snapshots = Vec::new();
    let started = Instant::now();
    // The machine may get busier or quieter than when the runs were timed:
    // every 25 trials, stretch the delays if no run got past its saves yet,
    // shrink them if no kill landed before the saves.
    let mut scale = 1.0f64;
    while tally.killed < target_kills {
        assert!(
            tally.trials < target_kills * 4,
            "too few kills landed before the runs ended: {tally:?}"
        );
        if tally.trials > 0 && tally.trials % 25 == 0 {
            if tally.all_new == 0 {
                scale *= 1.5;
            } else if tally.all_old == 0 {
                scale /= 1.5;
            }
        }
        let i = tally.trials % scenarios.len();
        let (s, exp) = (&scenarios[i], &expects[i]);
        let what = format!("setup trial {} ({})", tally.trials, s.name);
        let l = Layout::new(root.join(format!("t{}", tally.trials)), s.symlinked_config);
        l.write(s.config.as_deref(), &s.credentials);
        tally.trials += 1;
        let max_delay = max_delays[i].mul_f64(scale);
        if run_and_kill(l.command(&env, &setup_args(s)), max_delay, &mut rng) {
            tally.killed += 1;
        } else {
            tally.exited_first += 1;
        }
        check_after_kill(
            &what,
            &l,
            &env,
            exp,
            &setup_args(s),
            &mut tally,
            &mut snapshots,
        );
        assert_key_served(&l, &env, &what);
        // Keep the disk tidy: only the snapshots are needed later.
        let _ = std::fs::remove_dir_all(&l.home);
        let _ = std::fs::remove_dir_all(l.dir.join("dotfiles"));
    }
    botocore_reads_all(&snapshots, &root);
    eprintln!(
        "crash_safety: setup: {} kills survived ({} trials in {:?}): {tally:?}",
        tally.killed,
        tally.trials,
        started.elapsed()
    );
    assert!(
        tally.all_old > 0,
        "no kill landed before the saves: {tally:?}"
    );
    assert!(
        tally.all_new > 0,
        "no run got past its saves before the kill: {tally:?}"
    );
}

#[test]
fn remove_killed_at_random_points_leaves_old_or_new_config_and_reruns_cleanly() {
    let env = TestEnv::keyutils();
    let root = env.tmp.path().join("trials");
    let mut rng = Rng::from_env_or_clock();
    let scenarios = scenarios();

    // Per scenario: the files after setup, after `remove blue`, after `remove green`.
    struct Stages {
        symlinked: bool,
        after_setup: (Option<String>, String),
        after_blue: (Option<String>, String),
        after_green: (Option<String>, String),
    }
    let mut stages = Vec::new();
    for s in &scenarios {
        let l = Layout::new(
            root.join(format!("expected-{}", s.name)),
            s.symlinked_config,
        );
        l.write(s.config.as_deref(), &s.credentials);
        run_ok(&l, &env, &setup_args(s));
        let after_setup = l.read();
        run_ok(&l, &env, &["remove", "blue", "--yes"]);
        let after_blue = l.read();
        run_ok(&l, &env, &["remove", "green", "--yes"]);
        let after_green = l.read();
        assert!(after_setup != after_blue && after_blue != after_green);
        stages.push(Stages {
            symlinked: s.symlinked_config,
            after_setup,
            after_blue,
            after_green,
        });
    }
    // How long a remove takes, on a copy.
    let max_delay = {
        let st = &stages[0];
        let mut times = Vec::new();
        for i in 0..3 {
            let l = Layout::new(root.join(format!("timing-remove-{i}")), st.symlinked);
            l.write(st.after_setup.0.as_deref(), &st.after_setup.1);
            let t = Instant::now();
            run_ok(&l, &env, &["remove", "blue", "--yes"]);
            times.push(t.elapsed());
        }
        times.sort();
        eprintln!("crash_safety: remove runs in {:?}", times[1]);
        times[1].mul_f64(1.3).max(Duration::from_millis(2))
    };

    let target_kills = 50;
    let mut tally = Tally::default();
    let mut snapshots = Vec::new();
    let started = Instant::now();
    while tally.killed < target_kills {
        assert!(
            tally.trials < target_kills * 4,
            "too few kills landed: {tally:?}"
        );
        let i = (tally.trials / 2) % stages.len();
        let st = &stages[i];
        let green_step = tally.trials % 2 == 1;
        let (profile, exp) = if green_step {
            let e = Expect {
                old: st.after_blue.clone(),
                new: st.after_green.clone(),
            };
            ("green", e)
        } else {
            let e = Expect {
                old: st.after_setup.clone(),
                new: st.after_blue.clone(),
            };
            ("blue", e)
        };
        let what = format!(
            "remove {profile} trial {} ({})",
            tally.trials, scenarios[i].name
        );
        let l = Layout::new(root.join(format!("r{}", tally.trials)), st.symlinked);
        l.write(exp.old.0.as_deref(), &exp.old.1);
        if green_step {
            // The key the green profile points at, as setup left it.
            let o = run_with_input(
                &mut l.command(
                    &env,
                    &[
                        "setup",
                        "--no-verify",
                        "--role-arn",
                        ROLE_ARN,
                        "--access-key-id",
                        KEY_ID,
                        "--target-profile",
                        "unused-role",
                    ],
                ),
                Some(&format!("{SECRET}\n")),
            );
            ok(&o);
            l.write(exp.old.0.as_deref(), &exp.old.1);
        }
        tally.trials += 1;
        let args = ["remove", profile, "--yes"];
        if run_and_kill(l.command(&env, &args), max_delay, &mut rng) {
            tally.killed += 1;
        } else {
            tally.exited_first += 1;
        }
        check_after_kill(&what, &l, &env, &exp, &args, &mut tally, &mut snapshots);
        if green_step {
            // The key went with the profile.
            let o = run_with_input(&mut l.command(&env, &["credential-process", "green"]), None);
            assert!(!o.status.success(), "{what}: green still answers");
        }
        let _ = std::fs::remove_dir_all(&l.home);
        let _ = std::fs::remove_dir_all(l.dir.join("dotfiles"));
    }
    botocore_reads_all(&snapshots, &root);
    eprintln!(
        "crash_safety: remove: {} kills survived ({} trials in {:?}): {tally:?}",
        tally.killed,
        tally.trials,
        started.elapsed()
    );
}
