//! `CROSSROLE_BACKEND=pass`: entries in the password-store, through the
//! `pass` command (GPG does the encryption; crossrole holds no key).
//!
//! A name `key:green` is the entry `crossrole/key-green`. Secrets go to
//! `pass insert --multiline --force` on stdin, never in argv; `pass show`
//! reads them back on stdout. Whether an entry exists, and which exist, is
//! read from the store folder (`$PASSWORD_STORE_DIR`, else
//! `~/.password-store`) without running GPG. `pass`, GPG and gpg-agent get
//! the injected environment (GNUPGHOME, GPG_TTY, PASSWORD_STORE_*), and
//! their failures are turned into messages that name the fix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{check_name, Backend, Error, SecretBytes, SecretStore};
use crate::env::Env;

const FOLDER: &str = "crossrole";

pub struct PassStore {
    dir: PathBuf,
    env: Env,
}

impl PassStore {
    /// Cheap: nothing is run until the first call.
    pub fn open(env: &Env) -> Result<PassStore, Error> {
        let dir = match (env.get_os("PASSWORD_STORE_DIR"), env.get_os("HOME")) {
            (Some(d), _) => PathBuf::from(d),
            (None, Some(h)) => Path::new(h).join(".password-store"),
            (None, None) => return Err(Error::Unavailable(
                "neither PASSWORD_STORE_DIR nor HOME is set, so the password store cannot be found"
                    .into(),
            )),
        };
        Ok(PassStore {
            dir,
            env: env.clone(),
        })
    }

    /// `key:green` → `crossrole/key-green`; refuses names `pass` would
    /// read as a path.
    fn entry(name: &str) -> Result<String, Error> {
        check_name(Backend::Pass, name)?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::Refused {
                backend: "pass",
                detail: format!("{name:?} cannot be a password-store entry name"),
            });
        }
        Ok(format!("{FOLDER}/{}", name.replacen(':', "-", 1)))
    }

    fn file_of(&self, entry: &str) -> PathBuf {
        self.dir.join(format!("{entry}.gpg"))
    }

    fn has_pass(&self) -> bool {
        let path = self.env.get_os("PATH").unwrap_or_default();
        std::env::split_paths(path).any(|d| d.join("pass").is_file())
    }

    /// Everything `pass insert` needs: the command, a store with a GPG id.
    fn check_ready(&self) -> Result<(), Error> {
        if !self.has_pass() {
            return Err(Error::Unavailable(
                "CROSSROLE_BACKEND=pass, but the `pass` command is not on PATH. Install it \
                 (Debian/Ubuntu: `sudo apt install pass`), then run `pass init YOUR-GPG-KEY-ID`"
                    .into(),
            ));
        }
        let has_id = self.env.is_set("PASSWORD_STORE_KEY")
            || self.dir.join(".gpg-id").is_file()
            || self.dir.join(FOLDER).join(".gpg-id").is_file();
        if !has_id {
            return Err(Error::Unavailable(format!(
                "the password store {} is not set up (no .gpg-id): run `pass init YOUR-GPG-KEY-ID` \
                 (`gpg --list-secret-keys` shows your keys; `gpg --quick-generate-key` makes one)",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Runs `pass ARGS` with `input` on stdin; returns stdout (zeroized).
    fn run(&self, args: &[&str], input: Option<&[u8]>) -> Result<SecretBytes, Error> {
        if !self.has_pass() {
            self.check_ready()?;
        }
        let mut child = Command::new("pass")
            .args(args)
            .env_clear()
            .envs(self.env.iter())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Unavailable(format!("cannot run `pass`: {e}")))?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // A failure here shows up as pass's own exit status below.
            let _ = stdin.write_all(data);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Unavailable(format!("`pass` did not finish: {e}")))?;
        let stdout = SecretBytes::new(out.stdout);
        if out.status.success() {
            return Ok(stdout);
        }
        Err(explain(
            &args.join(" "),
            &String::from_utf8_lossy(&out.stderr),
            &out.status.to_string(),
        ))
    }
}

/// What to tell the user about a failed `pass` call. Its stderr is pass's
/// and GPG's own text (key ids and reasons, never the secret).
fn explain(what: &str, stderr: &str, status: &str) -> Error {
    let lower = stderr.to_ascii_lowercase();
    let last = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    let msg = if lower.contains("you must run") || lower.contains("pass init") {
        "the password store is not set up: run `pass init YOUR-GPG-KEY-ID`".to_string()
    } else if lower.contains("pinentry")
        || lower.contains("inappropriate ioctl")
        || lower.contains("operation cancelled")
    {
        return Error::NeedsPerson(format!(
            "GPG needs your key's passphrase but gpg-agent has no terminal to ask on (pinentry). \
             Unlock it from a terminal first (e.g. `pass show crossrole/...` once, so gpg-agent \
             caches it), or set GPG_TTY=$(tty) in your shell profile. ({last})"
        ));
    } else if lower.contains("no public key") || lower.contains("unusable public key") {
        format!(
            "GPG cannot encrypt to the key in the store's .gpg-id ({last}); check `gpg --list-keys` \
             and run `pass init YOUR-GPG-KEY-ID` with a key you have"
        )
    } else if lower.contains("no secret key") {
        // GnuPG says this both when the key is missing and when its
        // pinentry could not ask for the key's passphrase.
        format!(
            "GPG could not decrypt the entry ({last}). Either gpg-agent needs your GPG key's \
             passphrase and has no terminal for its pinentry: unlock the key once in a terminal \
             (e.g. `pass show crossrole/...`, so gpg-agent caches it) or set GPG_TTY=$(tty); or \
             the secret key is not on this machine (`gpg --list-secret-keys`; `gpg --import` it)"
        )
    } else {
        format!("`pass {what}` failed ({status}): {last}")
    };
    Error::Unavailable(msg)
}

impl SecretStore for PassStore {
    fn backend(&self) -> Backend {
        Backend::Pass
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        let entry = Self::entry(name)?;
        if !self.file_of(&entry).is_file() {
            return Ok(None);
        }
        let mut out = self.run(&["show", &entry], None)?;
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        Ok(Some(out))
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error> {
        let entry = Self::entry(name)?;
        self.check_ready()?;
        let _ = self.run(
            &["insert", "--multiline", "--force", &entry],
            Some(&Zeroizing::new(secret.to_vec())),
        )?;
        if !self.file_of(&entry).is_file() {
            return Err(Error::Unavailable(format!(
                "`pass insert` reported success but {} was not written",
                self.file_of(&entry).display()
            )));
        }
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        let entry = Self::entry(name)?;
        if !self.file_of(&entry).is_file() {
            return Ok(false);
        }
        self.run(&["rm", "--force", &entry], None)?;
        Ok(true)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let folder = self.dir.join(FOLDER);
        let entries = match std::fs::read_dir(&folder) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Unavailable(format!(
                    "cannot read {}: {e}",
                    folder.display()
                )))
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().to_string_lossy().into_owned();
                let stem = file.strip_suffix(".gpg")?;
                Some(stem.replacen('-', ":", 1))
            })
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_entries() {
        assert_eq!(
            PassStore::entry("key:green").unwrap(),
            "crossrole/key-green"
        );
        assert_eq!(
            PassStore::entry("session:00ff").unwrap(),
            "crossrole/session-00ff"
        );
        assert!(PassStore::entry("key:../x").is_err());
        assert!(PassStore::entry(".hidden").is_err());
    }

    #[test]
    fn failures_name_the_fix() {
        let e = explain(
            "insert",
            "Error: You must run:\n    pass init your-gpg-id\n",
            "1",
        )
        .to_string();
        assert!(e.contains("pass init"), "{e}");
        let e = explain(
            "show",
            "gpg: public key decryption failed: Inappropriate ioctl for device\ngpg: decryption failed: No secret key\n",
            "2",
        )
        .to_string();
        assert!(e.contains("pinentry"), "{e}");
    }
}
