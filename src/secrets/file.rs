//! `CROSSROLE_BACKEND=file`: long-term keys in one age-encrypted file,
//! `$XDG_DATA_HOME/crossrole/keys.age` (0600 in a 0700 folder), for machines
//! with no Secret Service (SSH hosts, WSL, containers).
//!
//! - Reading needs the passphrase (see `passphrase`), once per unlock: the
//!   decrypted contents are then kept in the kernel keyring, owner-only,
//!   for `CROSSROLE_FILE_UNLOCK_SECONDS` (default 8 hours; 0 = never kept),
//!   tagged with a digest of the file they came from, so a changed file is
//!   never answered from a stale copy. Where the kernel keyring is not
//!   usable there is no such cache (said once per process).
//! - Writing is a read-modify-write under a lock in the same folder: the
//!   current file is opened with the passphrase (which checks it), changed,
//!   sealed again and written to a temp file that is renamed over the old
//!   one, so a crash leaves the old or the new file, never a mix.
//! - The file must be a regular file owned by us: a symlink, a folder or a
//!   damaged file is a clear error, and crossrole never writes over a file
//!   it cannot open.

use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::file_format::{self, Contents, OpenError};
use super::keyutils::{KeyutilsStore, RingMode};
use super::passphrase::{Passphrase, Source};
use super::{check_name, Backend, Error, SecretBytes, SecretStore};
use crate::env::Env;

pub const FILE_NAME: &str = "keys.age";
pub const UNLOCK_VAR: &str = "CROSSROLE_FILE_UNLOCK_SECONDS";
const DEFAULT_UNLOCK_SECONDS: u64 = 8 * 3600;
/// Larger than any real keys file; refuses to read a huge file into memory.
const MAX_FILE: u64 = 4 << 20;
const TRIES: usize = 3;

static NO_CACHE_SAID: AtomicBool = AtomicBool::new(false);

type Digest32 = [u8; 32];

/// The unlocked contents and what they came from.
struct Unlocked {
    digest: Digest32,
    contents: Contents,
    /// Known when this process checked it against the file of `digest`.
    passphrase: Option<Passphrase>,
}

pub struct FileStore {
    path: PathBuf,
    dir: PathBuf,
    source: Result<Source, Error>,
    unlock_seconds: u64,
    /// The kernel keyring for the unlock cache, if usable and wanted.
    cache: Option<KeyutilsStore>,
    cache_name: String,
    memo: RefCell<Option<Unlocked>>,
}

impl FileStore {
    pub fn open(env: &Env) -> Result<FileStore, Error> {
        let dir = data_dir(env)?.join("crossrole");
        let path = dir.join(FILE_NAME);
        let unlock_seconds = match env.get(UNLOCK_VAR) {
            None => DEFAULT_UNLOCK_SECONDS,
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                Error::Unavailable(format!(
                    "{UNLOCK_VAR}={v:?} is not a number of seconds (0 = never keep the unlocked file)"
                ))
            })?,
        }
        .min(u64::from(u32::MAX));
        let cache = if unlock_seconds == 0 {
            None
        } else {
            KeyutilsStore::open(RingMode::from_env(env)?).ok()
        };
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        let cache_name = format!("file-unlock:{}", hex(&digest[..8]));
        Ok(FileStore {
            path,
            dir,
            source: Source::from_env(env),
            unlock_seconds,
            cache,
            cache_name,
            memo: RefCell::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn source(&self) -> Result<&Source, Error> {
        self.source
            .as_ref()
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// The file's bytes, `None` if there is none; refuses anything but a
    /// regular file of ours.
    fn read_file(&self) -> Result<Option<Vec<u8>>, Error> {
        let shown = self.path.display();
        let meta = match fs::symlink_metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Unavailable(format!("cannot inspect {shown}: {e}"))),
        };
        check_kind(&self.path, &meta)?;
        let mut opts = fs::OpenOptions::new();
        opts.read(true);
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = opts
            .open(&self.path)
            .map_err(|e| Error::Unavailable(format!("cannot open {shown}: {e}")))?;
        // Checked again on what was opened: the path may have been swapped.
        let meta = file
            .metadata()
            .map_err(|e| Error::Unavailable(format!("cannot inspect {shown}: {e}")))?;
        check_kind(&self.path, &meta)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Unavailable(format!("cannot read {shown}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(damaged(&self.path, "it is far larger than a keys file"));
        }
        Ok(Some(bytes))
    }

    /// The current contents: from this process's memo, the unlock cache, or
    /// by asking for the passphrase.
    fn contents(&self) -> Result<Contents, Error> {
        let Some(bytes) = self.read_file()? else {
            return Ok(Contents::default());
        };
        let digest: Digest32 = Sha256::digest(&bytes).into();
        if let Some(m) = self.memo.borrow().as_ref().filter(|m| m.digest == digest) {
            return Ok(m.contents.clone());
        }
        if let Some(contents) = self.cached(&digest) {
            *self.memo.borrow_mut() = Some(Unlocked {
                digest,
                contents: contents.clone(),
                passphrase: None,
            });
            return Ok(contents);
        }
        let (contents, passphrase) = self.unlock(&bytes)?;
        self.remember(digest, &contents, passphrase);
        Ok(contents)
    }

    /// Opens `sealed`, asking for the passphrase (up to three times on a
    /// terminal, once from the environment or a command).
    fn unlock(&self, sealed: &[u8]) -> Result<(Contents, Passphrase), Error> {
        let source = self.source()?;
        let what = self.path.display().to_string();
        if source.is_terminal() && !crate::prompt::has_tty() {
            return Err(Error::NeedsPerson(format!(
                "{what} is locked and there is no terminal to ask its passphrase on. Run any crossrole \
                 command in a terminal first (e.g. `crossrole doctor --offline`) to unlock it for \
                 {UNLOCK_VAR} seconds, or set CROSSROLE_FILE_PASSPHRASE_COMMAND (or the weaker \
                 CROSSROLE_FILE_PASSPHRASE)"
            )));
        }
        self.say_no_cache_once();
        let tries = if source.is_terminal() { TRIES } else { 1 };
        for attempt in 1..=tries {
            let passphrase = source.read(&what)?;
            match file_format::open(sealed, &passphrase) {
                Ok(contents) => return Ok((contents, passphrase)),
                Err(OpenError::WrongPassphrase) => {
                    if attempt < tries {
                        crate::prompt::tell("Wrong passphrase, try again.\n");
                    }
                }
                Err(OpenError::Damaged(why)) => return Err(damaged(&self.path, &why)),
                Err(OpenError::TooCostly(n)) => {
                    return Err(Error::Unavailable(format!(
                        "{what} asks for scrypt work factor 2^{n}, more than crossrole accepts (2^{}); \
                         it was not written by crossrole",
                        file_format::MAX_LOG_N
                    )))
                }
            }
        }
        Err(Error::Unavailable(if tries > 1 {
            format!("wrong passphrase for {what} ({TRIES} tries); nothing was changed")
        } else {
            format!(
                "wrong passphrase for {what} (from {}); nothing was changed",
                source.describe()
            )
        }))
    }

    fn say_no_cache_once(&self) {
        if self.cache.is_none()
            && self.unlock_seconds > 0
            && !NO_CACHE_SAID.swap(true, Ordering::Relaxed)
        {
            eprintln!(
                "crossrole: the kernel keyring is not usable here, so the unlocked keys file is not \
                 kept: every use needs the passphrase (CROSSROLE_FILE_PASSPHRASE_COMMAND can supply it)"
            );
        }
    }

    fn remember(&self, digest: Digest32, contents: &Contents, passphrase: Passphrase) {
        self.cache_put(&digest, contents);
        *self.memo.borrow_mut() = Some(Unlocked {
            digest,
            contents: contents.clone(),
            passphrase: Some(passphrase),
        });
    }

    /// Changes the file under the lock; `change` says whether it changed
    /// anything (if not, nothing is written).
    fn modify(&self, change: impl FnOnce(&mut Contents) -> bool) -> Result<(), Error> {
        crate::paths::ensure_private_dir(&self.dir)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let _lock = crate::lock::FileLock::acquire(&self.dir, FILE_NAME)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        clean_temps(&self.dir);
        let what = self.path.display().to_string();
        let (mut contents, passphrase, digest) = match self.read_file()? {
            None => (Contents::default(), self.source()?.read_new(&what)?, None),
            Some(bytes) => {
                let digest: Digest32 = Sha256::digest(&bytes).into();
                let known = self.memo.borrow_mut().take();
                let (contents, passphrase) = match known {
                    Some(Unlocked {
                        digest: d,
                        contents,
                        passphrase: Some(p),
                    }) if d == digest => (contents, p),
                    _ => self.unlock(&bytes)?,
                };
                (contents, passphrase, Some(digest))
            }
        };
        if !change(&mut contents) {
            if let Some(d) = digest {
                self.remember(d, &contents, passphrase);
            }
            return Ok(());
        }
        let sealed = file_format::seal(&contents, &passphrase)
            .map_err(|e| Error::Unavailable(format!("cannot encrypt {what}: {e}")))?;
        write_atomic(&self.dir, &self.path, &sealed)?;
        self.remember(Sha256::digest(&sealed).into(), &contents, passphrase);
        Ok(())
    }

    fn cached(&self, digest: &Digest32) -> Option<Contents> {
        let bytes = self.cache.as_ref()?.read_entry(&self.cache_name).ok()??;
        let (tag, body) = split_tag(&bytes)?;
        (tag.digest == *digest)
            .then(|| Contents::decode(body))
            .flatten()
    }

    fn cache_put(&self, digest: &Digest32, contents: &Contents) {
        let Some(cache) = &self.cache else { return };
        let until = now_unix().saturating_add(self.unlock_seconds);
        let mut payload = SecretBytes::new(format!("{} {until}\n", hex(digest)).into_bytes());
        payload.extend_from_slice(&contents.encode());
        // Too big for a kernel key, or refused: simply not kept.
        if cache
            .write_owner_only(&self.cache_name, &payload, self.unlock_seconds as usize)
            .is_err()
        {
            let _ = cache.remove_entry(&self.cache_name);
        }
    }

    /// Whether the file is unlocked, and until when (for `doctor`, `list`).
    pub fn unlock_state(&self) -> String {
        let Ok(Some(bytes)) = self.read_file() else {
            return if self.path.exists() || self.path.is_symlink() {
                format!("{} cannot be read", self.path.display())
            } else {
                format!("no keys file yet ({})", self.path.display())
            };
        };
        let digest: Digest32 = Sha256::digest(&bytes).into();
        if self.cache.is_none() {
            return if self.unlock_seconds == 0 {
                format!("locked (the unlock is never kept: {UNLOCK_VAR}=0)")
            } else {
                "locked (no usable kernel keyring, so the unlock is not kept)".to_string()
            };
        }
        let tag = self
            .cache
            .as_ref()
            .and_then(|c| c.read_entry(&self.cache_name).ok().flatten())
            .and_then(|b| split_tag(&b).map(|(t, _)| t));
        match tag {
            Some(t) if t.digest == digest => {
                let until = time::OffsetDateTime::from_unix_timestamp(t.until as i64)
                    .map(crate::credentials::format_expiration)
                    .unwrap_or_else(|_| t.until.to_string());
                format!("unlocked until {until}")
            }
            _ => "locked (the passphrase is asked on next use)".to_string(),
        }
    }

    /// Forgets the unlock (drops the cached contents from the kernel keyring).
    pub fn lock(&self) -> Result<bool, Error> {
        match &self.cache {
            Some(c) => c.remove_entry(&self.cache_name),
            None => Ok(false),
        }
    }
}

struct Tag {
    digest: Digest32,
    until: u64,
}

/// The cache entry: `HEXDIGEST UNTIL\n` then the encoded contents.
fn split_tag(bytes: &[u8]) -> Option<(Tag, &[u8])> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&bytes[..nl]).ok()?;
    let (hexd, until) = line.split_once(' ')?;
    let mut digest = [0u8; 32];
    if hexd.len() != 64 {
        return None;
    }
    for (i, d) in digest.iter_mut().enumerate() {
        *d = u8::from_str_radix(&hexd[2 * i..2 * i + 2], 16).ok()?;
    }
    let until = until.parse().ok()?;
    Some((Tag { digest, until }, &bytes[nl + 1..]))
}

fn check_kind(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    if meta.file_type().is_symlink() {
        return Err(Error::Unavailable(format!(
            "{shown} is a symbolic link; crossrole only uses its own regular file there. Remove the link \
             (or replace it with the file itself) and retry"
        )));
    }
    if !meta.is_file() {
        return Err(Error::Unavailable(format!(
            "{shown} is not a regular file (a folder?); move it away and retry"
        )));
    }
    if meta.uid() != crate::sys::uid() {
        return Err(Error::Unavailable(format!(
            "{shown} is owned by another user (uid {}); crossrole will not use it",
            meta.uid()
        )));
    }
    Ok(())
}

fn damaged(path: &Path, why: &str) -> Error {
    let shown = path.display();
    Error::Unavailable(format!(
        "{shown} cannot be opened: {why}. It may be truncated or damaged; crossrole will not write over it. \
         Restore it from a backup, or move it aside (mv {shown} {shown}.damaged) and run `crossrole setup` \
         again to start a new one"
    ))
}

fn temp_prefix() -> String {
    format!(".{FILE_NAME}.tmp-")
}

/// Removes temp files left by a writer that was killed; only called under
/// the lock, so none of them belongs to a live writer.
fn clean_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&temp_prefix()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Temp file (0600, exclusive create) + fsync + rename + fsync the folder.
fn write_atomic(dir: &Path, path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = dir.join(format!(
        "{}{}-{:x}",
        temp_prefix(),
        std::process::id(),
        now_nanos()
    ));
    let write = || -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Unavailable(format!(
            "cannot write {} (through {}): {e}; the old file is unchanged",
            path.display(),
            tmp.display()
        )));
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `$XDG_DATA_HOME` if absolute, else `$HOME/.local/share`.
fn data_dir(env: &Env) -> Result<PathBuf, Error> {
    if let Some(d) = env.get_os("XDG_DATA_HOME").map(PathBuf::from) {
        if d.is_absolute() {
            return Ok(d);
        }
    }
    match env.get_os("HOME").map(PathBuf::from) {
        Some(h) if h.is_absolute() => Ok(h.join(".local/share")),
        _ => Err(Error::Unavailable(
            "neither XDG_DATA_HOME nor HOME is set to an absolute path, so there is no place for keys.age"
                .into(),
        )),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

impl SecretStore for FileStore {
    fn backend(&self) -> Backend {
        Backend::File
    }

    fn get(&self, name: &str) -> Result<Option<SecretBytes>, Error> {
        check_name(Backend::File, name)?;
        Ok(self.contents()?.0.get(name).cloned())
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), Error> {
        check_name(Backend::File, name)?;
        self.modify(|c| {
            let new = SecretBytes::new(secret.to_vec());
            let same = c.0.get(name).is_some_and(|old| **old == *new);
            c.0.insert(name.to_string(), new);
            !same
        })
    }

    fn delete(&self, name: &str) -> Result<bool, Error> {
        check_name(Backend::File, name)?;
        if !self.contents()?.0.contains_key(name) {
            return Ok(false);
        }
        let mut existed = false;
        self.modify(|c| {
            existed = c.0.remove(name).is_some();
            existed
        })?;
        Ok(existed)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .contents()?
            .0
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn state(&self) -> Option<String> {
        Some(self.unlock_state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path, pass: &str) -> Env {
        Env::from_pairs([
            ("XDG_DATA_HOME", dir.to_str().unwrap()),
            ("CROSSROLE_FILE_PASSPHRASE", pass),
            (UNLOCK_VAR, "0"),
        ])
    }

    #[test]
    fn set_get_delete_and_wrong_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::open(&env(tmp.path(), "pw one")).unwrap();
        assert!(store.get("key:a").unwrap().is_none());
        store.set("key:a", b"secret-a").unwrap();
        let fresh = FileStore::open(&env(tmp.path(), "pw one")).unwrap();
        assert_eq!(&fresh.get("key:a").unwrap().unwrap()[..], b"secret-a");
        assert_eq!(fresh.list("key:").unwrap(), vec!["key:a".to_string()]);
        let wrong = FileStore::open(&env(tmp.path(), "pw two")).unwrap();
        let err = wrong.get("key:a").unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        assert!(wrong.set("key:b", b"x").is_err());
        assert!(fresh.delete("key:a").unwrap());
        assert!(!fresh.delete("key:a").unwrap());
        let meta = fs::metadata(fresh.path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn concurrent_writers_keep_both_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        FileStore::open(&env(&dir, "pw"))
            .unwrap()
            .set("key:first", b"1")
            .unwrap();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let s = FileStore::open(&env(&dir, "pw")).unwrap();
                    s.set(&format!("key:p{i}"), format!("v{i}").as_bytes())
                        .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = FileStore::open(&env(&dir, "pw")).unwrap();
        assert_eq!(s.list("key:").unwrap().len(), 5);
    }

    #[test]
    fn empty_passphrase_is_refused_at_creation() {
        let tmp = tempfile::tempdir().unwrap();
        let mut e = env(tmp.path(), "x");
        e.remove("CROSSROLE_FILE_PASSPHRASE");
        e.set("CROSSROLE_FILE_PASSPHRASE_COMMAND", "true");
        e.set("PATH", "/usr/bin:/bin");
        let err = FileStore::open(&e)
            .unwrap()
            .set("key:a", b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty passphrase"), "{err}");
        assert!(!tmp.path().join("crossrole").join(FILE_NAME).exists());
    }
}
