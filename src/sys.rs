//! The few operating-system calls std does not offer. All `unsafe` in the
//! crate lives here, each block a single libc call with no pointers kept.
#![allow(unsafe_code)]

#[cfg(unix)]
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// For `exec`: keeps this process out of core dumps and ptrace without
/// passing a zero core limit on to the user's command (the dumpable flag is
/// reset by execve; RLIMIT_CORE would be inherited).
pub fn keep_out_of_core_dumps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Keeps secrets out of core dumps: no core file, and the process is not
/// ptrace-attachable by other processes of the same user (Linux).
pub fn disable_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass by reference and keeps nothing.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Terminal echo switched off until dropped. Echo goes off *before* the
/// prompt is shown, so an answer typed the moment the prompt appears is
/// never echoed.
#[cfg(unix)]
pub struct EchoOff {
    fd: i32,
    saved: libc::termios,
}

#[cfg(unix)]
pub fn echo_off(fd: i32) -> std::io::Result<EchoOff> {
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open descriptor owned by the caller; the pointer is to our local.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    // Still echo the newline, so the next output starts on a fresh line.
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: as above; TCSAFLUSH also drops anything typed before echo went off.
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(EchoOff { fd, saved })
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in echo_off on the same descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// A file-size limit (`ulimit -f`) would otherwise kill the process with
/// SIGXFSZ in the middle of a save, silently; ignored, the write fails with
/// "File too large" and the save reports it (the old file is kept either way).
/// Only for commands that write files and start no other program.
pub fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: installs the predefined SIG_IGN disposition; no handler code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Sends `signal` to process `pid` (for `exec --server`, which stays CMD's parent).
#[cfg(unix)]
pub fn send_signal(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill takes plain integers; a pid that is gone only gives ESRCH.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Ends this process by `signal` with its default action, so that the
/// caller sees the same death as CMD's (a shell's 128+n). Returns only if
/// the signal does not end a process by default.
#[cfg(unix)]
pub fn die_by_signal(signal: i32) {
    // SAFETY: installs the predefined SIG_DFL disposition, then raises the
    // signal at this process; no handler code runs.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Whether this process is in the foreground of its terminal: then a Ctrl-C
/// reaches CMD from the terminal itself, and must not be passed on twice.
#[cfg(unix)]
pub fn in_terminal_foreground() -> bool {
    // SAFETY: getpgrp cannot fail; tcgetpgrp takes a descriptor and returns
    // -1 when it is no terminal.
    let own = unsafe { libc::getpgrp() };
    [0, 1, 2]
        .into_iter()
        .map(|fd| unsafe { libc::tcgetpgrp(fd) })
        .find(|&fg| fg > 0)
        .is_some_and(|fg| fg == own)
}
