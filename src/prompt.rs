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

/// Whether a person can be asked: stdin is a terminal and so is the
/// controlling terminal the question goes to.
pub fn can_ask() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && has_tty()
}

/// Asks a `[y/N]` question: true only for an explicit yes.
pub fn confirm(question: &str) -> Result<bool> {
    let answer = ask(question)?;
    Ok(matches!(answer.as_str(), "y" | "Y" | "yes" | "YES" | "Yes"))
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
        return Err(Error::Cancelled(
            "no answer: the terminal was closed".into(),
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).trim().to_string())
}

/// Asks for a secret with echo off.
#[cfg(unix)]
pub fn ask_secret(question: &str) -> Result<Zeroizing<String>> {
    let line = ask_hidden(question)?;
    Ok(Zeroizing::new(line.trim().to_string()))
}

/// Asks `question` on the terminal with echo off; the answer without its `\n`.
#[cfg(unix)]
fn ask_hidden(question: &str) -> Result<Zeroizing<String>> {
    use std::os::fd::AsRawFd;
    let mut tty = open_tty().map_err(|_| no_terminal())?;
    let tty_err = |e| Error::io("cannot use the terminal", "/dev/tty", e);
    let guard = crate::sys::echo_off(tty.as_raw_fd()).map_err(tty_err)?;
    tty.write_all(question.as_bytes())
        .and_then(|_| tty.flush())
        .map_err(tty_err)?;
    let line = read_line_wiped(&tty).map_err(tty_err)?;
    drop(guard);
    Ok(line)
}

/// Longest secret line read; an AWS secret access key is 40 characters.
#[cfg(unix)]
const MAX_SECRET_LINE: usize = 4096;

/// Reads one line byte by byte into a buffer reserved up front and wiped on
/// drop: no `BufReader` buffer and no reallocation leaves a copy behind.
#[cfg(unix)]
fn read_line_wiped(mut input: impl std::io::Read) -> std::io::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET_LINE));
    let mut byte = Zeroizing::new([0u8; 1]);
    while bytes.len() < MAX_SECRET_LINE {
        match input.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => bytes.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the answer is not valid UTF-8",
            ))
        }
    }
}

/// Asks for a passphrase with echo off; returns the line exactly as typed
/// (only its line ending removed: spaces are part of a passphrase).
#[cfg(unix)]
pub fn ask_passphrase(question: &str) -> Result<Zeroizing<String>> {
    let line = ask_hidden(question)?;
    Ok(Zeroizing::new(line.trim_end_matches('\r').to_string()))
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
    Error::NeedsPerson("no terminal to ask on".into())
}

/// Reads one line (a secret) from stdin; used when stdin is a pipe.
pub fn read_secret_line(mut input: impl BufRead) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    input
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read the secret from standard input", "stdin", e))?;
    let trimmed = Zeroizing::new(line.trim().to_string());
    if trimmed.is_empty() {
        return Err(Error::Other(
            "standard input was empty: pipe the secret access key on one line, e.g. from your password manager".into(),
        ));
    }
    Ok(trimmed)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_wiped_line_stops_at_the_newline() {
        let mut input: &[u8] = b"wJalrXUtnFEMI/K7MDENG\r\nnext line\n";
        let line = read_line_wiped(&mut input).unwrap();
        assert_eq!(line.as_str(), "wJalrXUtnFEMI/K7MDENG\r");
        assert_eq!(input, b"next line\n", "nothing read past the line");
        let mut empty: &[u8] = b"";
        assert_eq!(read_line_wiped(&mut empty).unwrap().as_str(), "");
        let mut bad: &[u8] = b"\xff\xfe\n";
        assert!(read_line_wiped(&mut bad).is_err());
    }
}
