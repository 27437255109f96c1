//! Questions asked on the controlling terminal (/dev/tty), never on
//! stdout/stderr: the AWS CLI captures those when it runs credential_process.

use std::io::{BufRead, BufReader, Write};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Whether a controlling terminal can be opened (a process started by the AWS
/// CLI from a terminal still has one, even with stdout captured).
pub fn has_tty() -> bool {
    open_tty().is_ok()
}

fn open_tty() -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    let path = "/dev/tty";
    #[cfg(windows)]
    let path = "CONIN$";
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
}

/// Asks a visible question; returns the answer without its line ending.
pub fn ask(question: &str) -> Result<String> {
    let mut tty = open_tty().map_err(|_| no_terminal())?;
    tty.write_all(question.as_bytes())
        .and_then(|_| tty.flush())
        .map_err(|e| Error::io("cannot write to the terminal", "/dev/tty", e))?;
    let mut line = String::new();
    BufReader::new(tty)
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read from the terminal", "/dev/tty", e))?;
    if line.is_empty() {
        return Err(Error::Usage("no answer: the terminal was closed".into()));
    }
    Ok(line.trim_end_matches(['\r', '\n']).trim().to_string())
}

/// Asks for a secret with echo off.
#[cfg(unix)]
pub fn ask_secret(question: &str) -> Result<Zeroizing<String>> {
    use std::os::fd::AsRawFd;
    let mut tty = open_tty().map_err(|_| no_terminal())?;
    let tty_err = |e| Error::io("cannot use the terminal", "/dev/tty", e);
    let guard = crate::sys::echo_off(tty.as_raw_fd()).map_err(tty_err)?;
    tty.write_all(question.as_bytes())
        .and_then(|_| tty.flush())
        .map_err(tty_err)?;
    let mut line = Zeroizing::new(String::new());
    BufReader::new(&tty).read_line(&mut line).map_err(tty_err)?;
    drop(guard);
    Ok(Zeroizing::new(line.trim().to_string()))
}

/// Asks for a passphrase with echo off; returns the line exactly as typed
/// (only its line ending removed: spaces are part of a passphrase).
#[cfg(unix)]
pub fn ask_passphrase(question: &str) -> Result<Zeroizing<String>> {
    use std::os::fd::AsRawFd;
    let mut tty = open_tty().map_err(|_| no_terminal())?;
    let tty_err = |e| Error::io("cannot use the terminal", "/dev/tty", e);
    let guard = crate::sys::echo_off(tty.as_raw_fd()).map_err(tty_err)?;
    tty.write_all(question.as_bytes())
        .and_then(|_| tty.flush())
        .map_err(tty_err)?;
    let mut line = Zeroizing::new(String::new());
    BufReader::new(&tty).read_line(&mut line).map_err(tty_err)?;
    drop(guard);
    if line.is_empty() {
        return Err(Error::Usage("no answer: the terminal was closed".into()));
    }
    let typed = line.trim_end_matches(['\r', '\n']);
    Ok(Zeroizing::new(typed.to_string()))
}

/// Says something on the terminal (not stderr); best effort.
pub fn tell(text: &str) {
    if let Ok(mut tty) = open_tty() {
        let _ = tty.write_all(text.as_bytes());
    }
}

/// Asks for a secret with echo off.
#[cfg(not(unix))]
pub fn ask_secret(question: &str) -> Result<Zeroizing<String>> {
    open_tty().map_err(|_| no_terminal())?;
    let answer = Zeroizing::new(
        rpassword::prompt_password(question)
            .map_err(|e| Error::io("cannot read from the terminal", "CONIN$", e))?,
    );
    Ok(Zeroizing::new(answer.trim().to_string()))
}

fn no_terminal() -> Error {
    Error::Usage("no terminal to ask on".into())
}

/// Reads one line (a secret) from stdin; used when stdin is a pipe.
pub fn read_secret_line(mut input: impl BufRead) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    input
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read the secret from standard input", "stdin", e))?;
    let trimmed = Zeroizing::new(line.trim().to_string());
    if trimmed.is_empty() {
        return Err(Error::Usage(
            "standard input was empty: pipe the secret access key on one line, e.g. from your password manager".into(),
        ));
    }
    Ok(trimmed)
}
