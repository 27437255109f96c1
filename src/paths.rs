//! Where things live. Resolved once from the injected environment, following
//! the AWS SDKs' file-location rules (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
//! `~` expanded from HOME), and crossrole's own private runtime folder.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Paths {
    pub config_file: PathBuf,
    pub credentials_file: PathBuf,
    /// Private (0700) folder for lock files; never holds a secret.
    pub runtime_dir: PathBuf,
}

impl Paths {
    /// The config, credentials file and lock folder all inside `dir` (unit tests).
    #[cfg(test)]
    pub fn in_dir(dir: &std::path::Path) -> Paths {
        Paths {
            config_file: dir.join("config"),
            credentials_file: dir.join("credentials"),
            runtime_dir: dir.join("run"),
        }
    }

    pub fn resolve(env: &Env) -> Result<Paths> {
        let home = home_dir(env);
        let config_file = match env.get_os("AWS_CONFIG_FILE") {
            Some(p) => expand_tilde(Path::new(p), home.as_deref())?,
            None => home_required(&home)?.join(".aws").join("config"),
        };
        let credentials_file = match env.get_os("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) => expand_tilde(Path::new(p), home.as_deref())?,
            None => home_required(&home)?.join(".aws").join("credentials"),
        };
        let runtime_dir = runtime_dir(env);
        Ok(Paths {
            config_file,
            credentials_file,
            runtime_dir,
        })
    }
}

fn home_dir(env: &Env) -> Option<PathBuf> {
    if let Some(h) = env.get_os("HOME") {
        return Some(PathBuf::from(h));
    }
    if cfg!(windows) {
        if let Some(h) = env.get_os("USERPROFILE") {
            return Some(PathBuf::from(h));
        }
        if let (Some(d), Some(p)) = (env.get_os("HOMEDRIVE"), env.get_os("HOMEPATH")) {
            let mut s = d.to_os_string();
            s.push(p);
            return Some(PathBuf::from(s));
        }
    }
    None
}

fn home_required(home: &Option<PathBuf>) -> Result<&PathBuf> {
    home.as_ref().ok_or_else(|| {
        Error::Other(
            "HOME is not set, so ~/.aws cannot be found; set HOME, or point AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE at the files"
                .into(),
        )
    })
}

/// `~` and `~/…` expand from HOME, as every SDK does; `~user` is left alone.
fn expand_tilde(p: &Path, home: Option<&Path>) -> Result<PathBuf> {
    let s = p.to_string_lossy();
    let rest = if s == "~" {
        Some("")
    } else {
        s.strip_prefix("~/").or_else(|| {
            if cfg!(windows) {
                s.strip_prefix("~\\")
            } else {
                None
            }
        })
    };
    match rest {
        Some(rest) => {
            let home = home.ok_or_else(|| {
                Error::Other(format!(
                    "{s} starts with ~ but HOME is not set; set HOME or use an absolute path"
                ))
            })?;
            Ok(if rest.is_empty() {
                home.to_path_buf()
            } else {
                home.join(rest)
            })
        }
        None => Ok(p.to_path_buf()),
    }
}

/// `$XDG_RUNTIME_DIR/crossrole`, else (cron, `su`, ssh without pam_systemd)
/// `$XDG_CACHE_HOME/crossrole` or `~/.cache/crossrole`: never a fixed name
/// in a shared /tmp, where another local user could create it first and deny
/// service forever. Only with neither HOME nor XDG_CACHE_HOME is the temp
/// folder used (and [`ensure_private_dir`] refuses a foreign one there).
fn runtime_dir(env: &Env) -> PathBuf {
    if let Some(d) = env.get_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("crossrole");
    }
    if let Some(d) = env.get_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("crossrole");
    }
    if let Some(home) = home_dir(env) {
        return home.join(".cache").join("crossrole");
    }
    #[cfg(unix)]
    {
        std::env::temp_dir().join(format!("crossrole-{}", crate::sys::uid()))
    }
    #[cfg(not(unix))]
    {
        std::env::temp_dir().join("crossrole")
    }
}

/// Creates `dir` (and parents) as 0700 if missing, and refuses one that
/// another user owns or that group/others can write: a lock or cache folder
/// there could be swapped under us.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            return Err(Error::io("cannot create private folder", dir, e));
        }
        let meta = std::fs::symlink_metadata(dir)
            .map_err(|e| Error::io("cannot read private folder", dir, e))?;
        if !meta.is_dir() {
            return Err(Error::Other(format!(
                "{} is not a folder; remove it so crossrole can create its private folder there",
                dir.display()
            )));
        }
        let me = crate::sys::uid();
        if meta.uid() != me {
            return Err(Error::Other(format!(
                "{} is owned by another user (uid {}), so crossrole will not keep locks there. Remove it (it holds no secrets) so crossrole can create its own, or fix it with: chown {me} {} && chmod 700 {}",
                dir.display(),
                meta.uid(),
                dir.display(),
                dir.display()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(Error::Other(format!(
                "{} is writable by other users (mode {:03o}), so crossrole will not keep locks there. Fix it with: chmod 700 {}",
                dir.display(),
                meta.mode() & 0o777,
                dir.display()
            )));
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create private folder", dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_under_home() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let p = Paths::resolve(&env).unwrap();
        assert_eq!(p.config_file, PathBuf::from("/h/.aws/config"));
        assert_eq!(p.credentials_file, PathBuf::from("/h/.aws/credentials"));
    }

    #[test]
    fn env_overrides_and_tilde() {
        let env = Env::from_pairs([
            ("HOME", "/h"),
            ("AWS_CONFIG_FILE", "~/c"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/x/creds"),
        ]);
        let p = Paths::resolve(&env).unwrap();
        assert_eq!(p.config_file, PathBuf::from("/h/c"));
        assert_eq!(p.credentials_file, PathBuf::from("/x/creds"));
    }

    #[test]
    fn lock_folder_without_xdg_runtime_dir_is_in_the_cache_folder() {
        let p = Paths::resolve(&Env::from_pairs([
            ("HOME", "/h"),
            ("XDG_RUNTIME_DIR", "/run/u"),
        ]))
        .unwrap();
        assert_eq!(p.runtime_dir, PathBuf::from("/run/u/crossrole"));
        let p =
            Paths::resolve(&Env::from_pairs([("HOME", "/h"), ("XDG_CACHE_HOME", "/c")])).unwrap();
        assert_eq!(p.runtime_dir, PathBuf::from("/c/crossrole"));
        let p =
            Paths::resolve(&Env::from_pairs([("HOME", "/h"), ("XDG_RUNTIME_DIR", "")])).unwrap();
        assert_eq!(p.runtime_dir, PathBuf::from("/h/.cache/crossrole"));
    }

    #[test]
    fn no_home_is_a_clear_error() {
        let env = Env::from_pairs::<&str, &str>([]);
        let e = Paths::resolve(&env).unwrap_err().to_string();
        assert!(e.contains("HOME is not set"), "{e}");
    }
}
