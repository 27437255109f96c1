//! `crossrole provision` and `deprovision` run in a companion binary,
//! `crossrole-admin`, installed next to `crossrole`. Those commands need
//! aws-config and the IAM and S3 SDK clients, which would add about 3.5 MB
//! to a binary the AWS CLI starts on every call; apart, `crossrole` stays
//! as small (and as quick to load) as before. `crossrole` checks the
//! command line with the same parser first, so help, completions and usage
//! errors are one program's.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::{Error, Result};

pub const ADMIN_BINARY: &str = "crossrole-admin";

fn own_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::Other(format!("cannot find crossrole's own path: {e}")))?;
    exe.parent()
        .map(PathBuf::from)
        .ok_or_else(|| Error::Other("crossrole's own path has no folder".into()))
}

/// `crossrole` beside this binary: what the profiles' `credential_process` runs.
pub fn crossrole_path() -> Result<PathBuf> {
    let path = own_dir()?.join(if cfg!(windows) {
        "crossrole.exe"
    } else {
        "crossrole"
    });
    if !path.is_file() {
        return Err(Error::NotFound(format!(
            "{} is not there; install crossrole and crossrole-admin together (./install.sh)",
            path.display()
        )));
    }
    Ok(path)
}

/// Runs `crossrole-admin` with this process's arguments, and exits as it does.
pub fn hand_over() -> Result<ExitCode> {
    let name = if cfg!(windows) {
        "crossrole-admin.exe"
    } else {
        ADMIN_BINARY
    };
    let path = own_dir()?.join(name);
    if !path.is_file() {
        return Err(Error::NotFound(format!(
            "provision and deprovision run in {}, which is not installed next to crossrole; install both with ./install.sh",
            path.display()
        )));
    }
    let mut cmd = std::process::Command::new(&path);
    cmd.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        Err(Error::Other(format!("cannot run {}: {e}", path.display())))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| Error::Other(format!("cannot run {}: {e}", path.display())))?;
        Ok(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        ))
    }
}
