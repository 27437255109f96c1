//! Cross-process exclusive locks on small files in the private runtime
//! folder. The lock file holds no data; the lock is released when the guard
//! drops (or the process dies, which the kernel handles for us).

use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::paths::ensure_private_dir;

pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock named `name` in `runtime_dir` is ours.
    pub fn acquire(runtime_dir: &Path, name: &str) -> Result<FileLock> {
        ensure_private_dir(runtime_dir)?;
        let path = runtime_dir.join(format!("{}.lock", lock_file_stem(name)));
        let file = open_lock_file(&path)?;
        file.lock()
            .map_err(|e| Error::io("cannot take lock", &path, e))?;
        Ok(FileLock { _file: file, path })
    }

    /// As [`acquire`](Self::acquire), but gives up after `wait` (`Ok(None)`):
    /// a caller never hangs behind another caller's MFA prompt. Uncontended,
    /// this costs the same as `acquire`; contended, a helper thread blocks on
    /// the lock so the caller wakes the moment it is released. A holder that
    /// dies (even by SIGKILL) releases the lock with its file descriptor.
    pub fn acquire_within(
        runtime_dir: &Path,
        name: &str,
        wait: std::time::Duration,
    ) -> Result<Option<FileLock>> {
        ensure_private_dir(runtime_dir)?;
        let path = runtime_dir.join(format!("{}.lock", lock_file_stem(name)));
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(FileLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("cannot take lock", &path, e))
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = file.lock().map(|_| file);
            let _ = tx.send(r);
        });
        match rx.recv_timeout(wait) {
            Ok(Ok(file)) => Ok(Some(FileLock { _file: file, path })),
            Ok(Err(e)) => Err(Error::io("cannot take lock", &path, e)),
            Err(_) => Ok(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(|e| Error::io("cannot open lock file", path, e))
}

/// Lock names can be file paths or profile names; hash them into a safe,
/// fixed-length file name.
fn lock_file_stem(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = FileLock::acquire(&run, "profile:blue").unwrap();
        let run2 = run.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _second = FileLock::acquire(&run2, "profile:blue").unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn a_bounded_wait_gives_up_then_gets_the_lock_once_free() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = FileLock::acquire(&run, "mfa").unwrap();
        let wait = std::time::Duration::from_millis(150);
        let started = std::time::Instant::now();
        assert!(FileLock::acquire_within(&run, "mfa", wait)
            .unwrap()
            .is_none());
        assert!(started.elapsed() >= wait);
        drop(first);
        assert!(FileLock::acquire_within(&run, "mfa", wait)
            .unwrap()
            .is_some());
    }
}
