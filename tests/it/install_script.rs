//! `install.sh --help` and `install.sh --uninstall`, run by bash in a temp
//! HOME with PREFIX pointing at a throwaway install folder.

#![cfg(target_os = "linux")]
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

fn install_sh(env: &TestEnv, prefix: &Path, args: &[&str]) -> Output {
    let mut cmd = env.command("bash");
    cmd.arg(script()).args(args).env("PREFIX", prefix);
    run_with_input(&mut cmd, None)
}

/// A copy of the test binary where `./install.sh` would have put it.
fn installed(prefix: &Path) -> PathBuf {
    let bin = prefix.join("bin/crossrole");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(BIN, &bin).unwrap();
    bin
}

#[test]
fn help_prints_usage_not_the_script() {
    let env = TestEnv::keyutils();
    for flag in ["--help", "-h"] {
        let out = install_sh(&env, env.tmp.path(), &[flag]);
        let text = ok(&out);
        for part in ["Usage:", "--no-setup", "--uninstall", "--test", "--help"] {
            assert!(text.contains(part), "{flag}: no {part}:\n{text}");
        }
        for code in ["set -euo", "dirname", "#!/", "\n#"] {
            assert!(
                !text.contains(code),
                "{flag} printed script text {code:?}:\n{text}"
            );
        }
    }
    let out = install_sh(&env, env.tmp.path(), &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--help"), "{}", stderr(&out));
}

#[test]
fn uninstall_names_profiles_left_then_removes_the_binary() {
    let env = TestEnv::keyutils();
    let prefix = env.tmp.path().join("prefix");

    // Nothing installed: say so, fail.
    let out = install_sh(&env, &prefix, &["--uninstall"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to remove"),
        "{}",
        stderr(&out)
    );

    // Profiles still call it: name them, role first, with the remove commands; keep the binary.
    let bin = installed(&prefix);
    env.write_config(&hand_written_config(
        "arn:aws:iam::222222222222:role/CrossAccountS3Access-Role",
    ));
    let out = install_sh(&env, &prefix, &["--uninstall"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(bin.exists(), "binary removed while profiles still use it");
    let remove_blue = format!("{} remove blue", bin.display());
    let remove_green = format!("{} remove green", bin.display());
    let (b, g) = (err.find(&remove_blue), err.find(&remove_green));
    assert!(b.is_some() && g.is_some() && b < g, "{err}");
    assert!(err.contains("keyring"), "{err}");

    // --keep-profiles removes only the binary, and says the profiles stay.
    let out = install_sh(&env, &prefix, &["--uninstall", "--keep-profiles"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!bin.exists());
    assert!(
        err.contains("removed") && err.contains("crossrole remove"),
        "{err}"
    );
    assert!(
        env.read_config().contains("[profile blue]"),
        "config touched"
    );

    // No profile left: it just goes.
    let bin = installed(&prefix);
    std::fs::remove_file(&env.config).unwrap();
    let out = install_sh(&env, &prefix, &["--uninstall"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!bin.exists());
    assert!(stderr(&out).contains(&format!("removed {}", bin.display())));
}

/// A PATH holding only what install.sh itself calls, plus `extra` (name,
/// script) stand-ins; no rustup, cargo, MinGW or apt-get unless given.
fn bare_path(env: &TestEnv, extra: &[(&str, &str)]) -> PathBuf {
    let bin = env.tmp.path().join("bare-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["bash", "dirname", "grep", "id", "cat"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        let _ = std::os::unix::fs::symlink(real, bin.join(tool));
    }
    for (name, script) in extra {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/bash\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn windows_lint(env: &TestEnv, path: &Path) -> Output {
    let mut cmd = env.command(&path.join("bash").display().to_string());
    cmd.arg(script()).arg("--windows-lint").env("PATH", path);
    run_with_input(&mut cmd, None)
}

#[test]
fn windows_lint_says_why_it_was_skipped() {
    let env = TestEnv::keyutils();
    // No rustup at all.
    let out = windows_lint(&env, &bare_path(&env, &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("SKIPPED the Windows clippy check: rustup is not installed"),
        "{err}"
    );

    // The target is there, the cross compiler is not, and apt-get cannot get it.
    let env = TestEnv::keyutils();
    let path = bare_path(
        &env,
        &[
            ("rustup", "echo x86_64-pc-windows-gnu"),
            ("apt-get", "exit 100"),
            ("cargo", "echo cargo must not run >&2; exit 3"),
        ],
    );
    let out = windows_lint(&env, &path);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("SKIPPED the Windows clippy check")
                && l.contains("x86_64-w64-mingw32-gcc")),
        "{err}"
    );
    assert!(!err.contains("cargo must not run"), "{err}");

    // Both there: clippy runs, and its failure is the script's failure.
    let env = TestEnv::keyutils();
    let path = bare_path(
        &env,
        &[
            ("rustup", "echo x86_64-pc-windows-gnu"),
            ("x86_64-w64-mingw32-gcc", "exit 0"),
            ("cargo", "echo \"cargo $*\" >&2; exit 3"),
        ],
    );
    let out = windows_lint(&env, &path);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "cargo clippy --locked --target x86_64-pc-windows-gnu --all-targets -- -D warnings"
        ),
        "{err}"
    );
}
