//! Test helpers for keyrings: a private Secret Service (its own dbus-daemon
//! and gnome-keyring-daemon, in folders under a temp dir), a private kernel
//! session keyring, and a plaintext scan of a folder.
//!
//! Reached from any test module as `crate::common::keyring_env`.
#![allow(unsafe_code)]
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password the private login keyring is created and unlocked with.
pub const KEYRING_PASSWORD: &str = "test-password";

/// A private D-Bus session bus with (optionally) gnome-keyring's Secret
/// Service on it. Both daemons are killed on drop. The bus uses its own
/// configuration without service activation, so nothing is started behind
/// the test's back.
pub struct PrivateSecretService {
    bus: Child,
    keyring: Option<Child>,
    address: String,
    runtime_dir: PathBuf,
    data_home: PathBuf,
    home: PathBuf,
    /// The UID the daemons (and helper commands) run as; `None`: the test's own.
    uid: Option<u32>,
}

/// `program` run as `uid` (with `setpriv`, no supplementary groups), or as
/// the test's own UID.
pub fn command_as(uid: Option<u32>, program: &str) -> Command {
    match uid {
        None => Command::new(program),
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".to_string(),
                program.to_string(),
            ]);
            c
        }
    }
}

impl PrivateSecretService {
    /// Starts a private bus and an unlocked gnome-keyring on it (a fresh
    /// login keyring with password [`KEYRING_PASSWORD`]); waits until
    /// `org.freedesktop.secrets` has an owner (up to ~10 s).
    pub fn start(tmp: &Path) -> PrivateSecretService {
        Self::start_as(tmp, None)
    }

    /// [`start`](Self::start), with both daemons running as `uid` (the
    /// folders are handed to it), for a crossrole run as that UID.
    pub fn start_as(tmp: &Path, uid: Option<u32>) -> PrivateSecretService {
        let mut service = Self::start_bus_only_as(tmp, uid);
        let mut keyring = command_as(uid, "gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env_clear()
            .envs(service.child_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon (Debian package gnome-keyring)");
        {
            let mut stdin = keyring.stdin.take().expect("keyring stdin");
            stdin
                .write_all(KEYRING_PASSWORD.as_bytes())
                .expect("write keyring password");
        } // closing stdin ends the password
        service.keyring = Some(keyring);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !service.name_has_owner("org.freedesktop.secrets") {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    /// Restarts gnome-keyring-daemon WITHOUT unlocking: the login keyring
    /// made by [`start`](Self::start) stays locked, and no prompter can run
    /// on this bus.
    pub fn restart_locked(&mut self) {
        if let Some(mut old) = self.keyring.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.name_has_owner("org.freedesktop.secrets") {
            assert!(
                Instant::now() < deadline,
                "old keyring daemon kept its name"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let keyring = command_as(self.uid, "gnome-keyring-daemon")
            .args(["--components=secrets", "--foreground"])
            .env_clear()
            .envs(self.child_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        self.keyring = Some(keyring);
        while !self.name_has_owner("org.freedesktop.secrets") {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops (SIGSTOP) the keyring daemon: it keeps its bus name but never
    /// answers, like a wedged daemon. Drop still kills it.
    pub fn freeze_keyring(&self) {
        let pid = self.keyring.as_ref().expect("keyring running").id();
        // SAFETY: kill(2) on the pid of a child we own; no memory involved.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
        assert_eq!(rc, 0, "SIGSTOP keyring daemon");
    }

    /// Starts only the private bus: no Secret Service answers on it.
    pub fn start_bus_only(tmp: &Path) -> PrivateSecretService {
        Self::start_bus_only_as(tmp, None)
    }

    fn start_bus_only_as(tmp: &Path, uid: Option<u32>) -> PrivateSecretService {
        let runtime_dir = tmp.join("runtime");
        let data_home = tmp.join("data");
        let home = tmp.join("home");
        for dir in [&runtime_dir, &data_home, &home] {
            std::fs::create_dir_all(dir).expect("create test dir");
            set_mode_0700(dir);
        }
        let socket = runtime_dir.join("bus");
        let config = tmp.join("session-bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write bus config");
        if let Some(uid) = uid {
            chown_tree(tmp, uid);
        }
        let mut bus = command_as(uid, "dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (Debian package dbus)");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("bus stdout"))
            .read_line(&mut line)
            .expect("read bus address");
        let address = line.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed no address: {line:?}"
        );
        PrivateSecretService {
            bus,
            keyring: None,
            address,
            runtime_dir,
            data_home,
            home,
            uid,
        }
    }

    /// Variables to set on a child process so that it uses this bus.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".to_string(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".to_string(),
                self.runtime_dir.display().to_string(),
            ),
            (
                "XDG_DATA_HOME".to_string(),
                self.data_home.display().to_string(),
            ),
        ]
    }

    /// `env_vars()` plus PATH and a private HOME: a whole environment for
    /// children started with `env_clear()`.
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut vars = self.env_vars();
        vars.push(("HOME".to_string(), self.home.display().to_string()));
        vars.push((
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_string()),
        ));
        vars
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Where gnome-keyring keeps its (encrypted) keyring files.
    pub fn data_home(&self) -> &Path {
        &self.data_home
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Asks the bus itself (`org.freedesktop.DBus.METHOD string:NAME`) with
    /// dbus-send; the printed reply, or `None` if the call failed.
    fn ask_bus(&self, method: &str, name: &str) -> Option<String> {
        let out = command_as(self.uid, "dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                &format!("org.freedesktop.DBus.{method}"),
                &format!("string:{name}"),
            ])
            .env_clear()
            .envs(self.child_env())
            .output()
            .expect("run dbus-send");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether `name` has an owner on this bus.
    pub fn name_has_owner(&self, name: &str) -> bool {
        self.ask_bus("NameHasOwner", name)
            .is_some_and(|reply| reply.contains("boolean true"))
    }

    /// The PID of the process that owns `name` on this bus.
    pub fn owner_pid(&self, name: &str) -> u32 {
        let reply = self
            .ask_bus("GetConnectionUnixProcessID", name)
            .unwrap_or_default();
        reply
            .split_whitespace()
            .last()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no PID for {name}: {reply}"))
    }

    /// A `secret-tool` command bound to this bus.
    pub fn secret_tool(&self) -> Command {
        let mut cmd = command_as(self.uid, "secret-tool");
        cmd.env_clear().envs(self.child_env());
        cmd
    }
}

impl Drop for PrivateSecretService {
    fn drop(&mut self) {
        if let Some(keyring) = self.keyring.as_mut() {
            let _ = keyring.kill();
            let _ = keyring.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// `chown -R uid:uid path`.
pub fn chown_tree(path: &Path, uid: u32) {
    let out = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(path)
        .output()
        .expect("chown");
    assert!(
        out.status.success(),
        "chown: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
fn set_mode_0700(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod 0700");
}

/// Makes the CURRENT THREAD join a new anonymous session keyring
/// (KEYCTL_JOIN_SESSION_KEYRING with no name). Kernel keyrings belong to a
/// thread's credentials, so this isolates the calling test thread from other
/// tests (each test runs on its own thread), and child processes spawned
/// from this thread inherit the new keyring. Returns the keyring id, or an
/// error when the kernel refuses keyctl (e.g. a container's seccomp policy).
pub fn join_fresh_session_keyring() -> std::io::Result<i64> {
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING takes a nullable C string; null
    // asks for a new anonymous keyring. No memory is handed to the kernel.
    let id = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            1 as libc::c_long, // KEYCTL_JOIN_SESSION_KEYRING
            std::ptr::null::<libc::c_char>(),
        )
    };
    if id < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(id)
    }
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                if !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// Whether `secret` appears in plaintext in any file under `dir`.
pub fn secret_in_files(dir: &Path, secret: &str) -> bool {
    !files_containing(dir, secret.as_bytes()).is_empty()
}
