//! Loading and atomic saving.
//!
//! Save: resolve a symlink chain to its target (the link is kept), create a
//! missing parent folder 0700, write a temp file `.NAME.crossrole-tmp-PID-RAND`
//! next to the target with the target's mode (0600 for a new file), fsync,
//! rename over the target, fsync the folder. On failure the temp file is
//! removed and the old file is untouched. Stale temp files are cleaned up
//! before each save: those older than a minute, and (where `/proc` shows
//! which processes live) those whose writer, named by the PID in the file
//! name, is gone (killed mid-save) or is this process (a PID reused after
//! such a kill). A live writer's temp file is left alone.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Error;

const MAX_LINKS: usize = 40;
const STALE_AFTER: Duration = Duration::from_secs(60);
const CANNOT_CREATE_TEMP: &str =
    "cannot create a temporary file (saving replaces the file atomically, so its folder must be writable)";

fn io_err(context: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a file: `Ok(None)` when it does not exist.
pub(crate) fn load(path: &Path) -> Result<Option<String>, Error> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A dangling symlink or missing file is an empty document, but a
            // symlink loop is an error.
            if fs::symlink_metadata(path).is_ok() {
                resolve(path)?;
            }
            return Ok(None);
        }
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => {
            return Err(io_err(
                "cannot read (it is a folder; point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a file)",
                path,
                e,
            ))
        }
        Err(e) => return Err(io_err("cannot read", path, e)),
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| Error::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.utf8_error().valid_up_to(),
        })
}

/// Follows a chain of symlinks to the final path (which may not exist yet).
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, Error> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&current)
                    .map_err(|e| io_err("cannot read symlink", &current, e))?;
                current = if target.is_absolute() {
                    target
                } else {
                    match current.parent() {
                        Some(p) => p.join(target),
                        None => target,
                    }
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(io_err("cannot inspect", &current, e)),
        }
    }
    Err(io_err(
        "cannot resolve symlink",
        path,
        io::Error::other("too many levels of symbolic links (a symlink loop?)"),
    ))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_parent(dir: &Path) -> Result<(), Error> {
    if dir.exists() {
        return Ok(());
    }
    // Remember which levels are ours, so only those get 0700.
    let mut created = Vec::new();
    let mut p = Some(dir);
    while let Some(d) = p {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        created.push(d.to_path_buf());
        p = d.parent();
    }
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create folder", dir, e))?;
    for d in created {
        set_mode(&d, 0o700).map_err(|e| io_err("cannot set permissions of", &d, e))?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata) -> u32 {
    0o600
}

fn random_suffix() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

fn temp_prefix(name: &str) -> String {
    format!(".{name}.crossrole-tmp-")
}

fn clean_stale(dir: &Path, name: &str) {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let fname = entry.file_name();
        if !fname.to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_AFTER);
        let orphan = || {
            writer_pid(&fname.to_string_lossy()[prefix.len()..])
                .is_some_and(|pid| pid == std::process::id() || process_is_gone(pid))
        };
        if old || orphan() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The writer's PID from the rest of a temp file name, `PID-RAND`.
fn writer_pid(rest: &str) -> Option<u32> {
    let (pid, rand) = rest.split_once('-')?;
    let hex = rand.len() == 16 && rand.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if hex && digits {
        pid.parse().ok()
    } else {
        None
    }
}

/// Whether process `pid` certainly no longer exists. Only where `/proc` is
/// mounted (Linux) can that be told without a system call; elsewhere the age
/// limit alone applies.
fn process_is_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists()
        && matches!(
            fs::symlink_metadata(proc.join(pid.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound
        )
}

pub(crate) fn save(text: &str, path: &Path) -> Result<(), Error> {
    save_with(text, path, None, |from, to| fs::rename(from, to)).map(|_| ())
}

/// What [`save_if_unchanged`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// The file no longer holds the text it was read with (another program
    /// edited it): nothing was written; here is what it holds now.
    Changed(String),
}

/// `save`, but only if the file still holds `read` (its text when it was
/// loaded; "" for a missing file), checked right before the rename.
pub(crate) fn save_if_unchanged(text: &str, path: &Path, read: &str) -> Result<Saved, Error> {
    save_with(text, path, Some(read), |from, to| fs::rename(from, to))
}

/// How many names the file has (1 for a missing one): another hard link
/// keeps the old text, secrets included, after an atomic save.
pub(crate) fn link_count(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).map(|m| m.nlink()).unwrap_or(1)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        1
    }
}

/// `save` with the final rename injectable (tests make it fail).
fn save_with(
    text: &str,
    path: &Path,
    expected: Option<&str>,
    rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> Result<Saved, Error> {
    let target = resolve(path)?;
    let dir = parent_of(&target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io_err(
                "cannot save",
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
            )
        })?;
    let (mode, owner) = match fs::metadata(&target) {
        Ok(m) if m.is_dir() => {
            return Err(io_err(
                "cannot save",
                &target,
                io::Error::other("it is a directory"),
            ))
        }
        Ok(m) => (mode_of(&m), owner_of(&m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (0o600, None),
        Err(e) => return Err(io_err("cannot inspect", &target, e)),
    };
    create_parent(&dir)?;
    clean_stale(&dir, &name);

    let tmp = dir.join(format!(
        "{}{}-{:016x}",
        temp_prefix(&name),
        std::process::id(),
        random_suffix()
    ));
    let result = write_temp(&tmp, text, mode, owner).and_then(|()| {
        // Last look before the rename: an edit made by another program
        // since the file was read must not be overwritten.
        if let Some(read) = expected {
            let now = load(&target)?.unwrap_or_default();
            if now != read {
                return Ok(Saved::Changed(now));
            }
        }
        rename(&tmp, &target)
            .map(|()| Saved::Saved)
            .map_err(|e| io_err("cannot replace", &target, e))
    });
    match result {
        Ok(Saved::Saved) => {}
        Ok(changed) => {
            let _ = fs::remove_file(&tmp);
            return Ok(changed);
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    }
    // Make the rename durable; some filesystems refuse fsync on folders.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(Saved::Saved)
}

#[cfg(unix)]
fn owner_of(meta: &fs::Metadata) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.uid(), meta.gid()))
}

#[cfg(not(unix))]
fn owner_of(_meta: &fs::Metadata) -> Option<(u32, u32)> {
    None
}

fn write_temp(tmp: &Path, text: &str, mode: u32, owner: Option<(u32, u32)>) -> Result<(), Error> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(tmp)
        .map_err(|e| io_err(CANNOT_CREATE_TEMP, tmp, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io_err("cannot write", tmp, e))?;
    // Keep the owner and group (e.g. root editing a user's file); best
    // effort, as only root may give a file away. Before the mode: chown
    // clears set-id bits.
    #[cfg(unix)]
    if let Some((uid, gid)) = owner {
        let _ = std::os::unix::fs::fchown(&f, Some(uid), Some(gid));
    }
    #[cfg(not(unix))]
    let _ = owner;
    // Set the mode explicitly: the umask applies at creation.
    set_mode(tmp, mode).map_err(|e| io_err("cannot set permissions of", tmp, e))?;
    f.sync_all().map_err(|e| io_err("cannot sync", tmp, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rename_removes_temp_and_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, "old").unwrap();
        let r = save_with("new", &p, None, |_, _| Err(io::Error::other("injected")));
        assert!(matches!(r, Err(Error::Io { .. })));
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config")]);
    }

    #[test]
    fn temp_of_a_dead_writer_is_removed_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, "old").unwrap();
        // A child that has exited (and been reaped) stands for a writer
        // killed mid-save; its PID is not reused while we look.
        let dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        let mut dead = dead;
        dead.wait().unwrap();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let orphan = dir
            .path()
            .join(format!(".config.crossrole-tmp-{dead_pid}-00112233aabbccdd"));
        let busy = dir.path().join(format!(
            ".config.crossrole-tmp-{}-00112233aabbccdd",
            live.id()
        ));
        let foreign = dir.path().join(".config.crossrole-tmp-notes");
        for f in [&orphan, &busy, &foreign] {
            fs::write(f, "partial").unwrap();
        }
        save("new", &p).unwrap();
        let _ = live.kill();
        let _ = live.wait();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        if Path::new("/proc/self").exists() {
            assert!(!orphan.exists(), "a dead writer's temp file was left");
        }
        assert!(busy.exists(), "a live writer's temp file was removed");
        assert!(
            foreign.exists(),
            "a file not named by crossrole was removed"
        );
    }

    #[test]
    fn writer_pid_parses_only_our_names() {
        assert_eq!(writer_pid("1234-00112233aabbccdd"), Some(1234));
        assert_eq!(writer_pid("1234-xyz"), None);
        assert_eq!(writer_pid("-00112233aabbccdd"), None);
        assert_eq!(writer_pid("notes"), None);
    }

    #[test]
    fn save_if_unchanged_refuses_a_file_edited_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, "theirs").unwrap();
        assert_eq!(
            save_if_unchanged("mine", &p, "old").unwrap(),
            Saved::Changed("theirs".into())
        );
        assert_eq!(fs::read_to_string(&p).unwrap(), "theirs");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(
            save_if_unchanged("mine", &p, "theirs").unwrap(),
            Saved::Saved
        );
        assert_eq!(fs::read_to_string(&p).unwrap(), "mine");
        let new = dir.path().join("new");
        assert_eq!(save_if_unchanged("x", &new, "").unwrap(), Saved::Saved);
    }

    #[test]
    fn temp_name_is_unique() {
        assert_ne!(random_suffix(), random_suffix());
    }
}
