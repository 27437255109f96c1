//! Where the keys file's passphrase comes from: the terminal (echo off), the
//! `CROSSROLE_FILE_PASSPHRASE` variable (weaker: the environment of a
//! process can be read by the same user and leaks into child processes), or
//! the standard output of `CROSSROLE_FILE_PASSPHRASE_COMMAND`, run without a
//! shell (the value is split on whitespace, no quoting).
//!
//! Every source obeys the same rule, so a file made with one opens with any
//! other: a passphrase is one line of UTF-8. One trailing line ending is
//! removed; a NUL or a line break inside is refused rather than silently cut
//! (the terminal could never type it back).

use std::io::Read;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::Error;
use crate::env::Env;

pub type Passphrase = Zeroizing<String>;

pub const VAR: &str = "CROSSROLE_FILE_PASSPHRASE";
pub const COMMAND_VAR: &str = "CROSSROLE_FILE_PASSPHRASE_COMMAND";

pub enum Source {
    Terminal,
    Env(Passphrase),
    Command { argv: Vec<String>, env: Env },
}

impl Source {
    pub fn from_env(env: &Env) -> Result<Source, Error> {
        match (env.get(VAR), env.get(COMMAND_VAR)) {
            (Some(_), Some(_)) => Err(Error::Unavailable(format!(
                "both {VAR} and {COMMAND_VAR} are set; unset one of them"
            ))),
            (Some(p), None) => Ok(Source::Env(Zeroizing::new(p.to_string()))),
            (None, Some(c)) => {
                let argv: Vec<String> = c.split_whitespace().map(str::to_string).collect();
                Ok(Source::Command {
                    argv,
                    env: env.clone(),
                })
            }
            (None, None) => Ok(Source::Terminal),
        }
    }

    /// Where the passphrase came from, for error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Source::Terminal => "the terminal",
            Source::Env(_) => VAR,
            Source::Command { .. } => COMMAND_VAR,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Source::Terminal)
    }

    /// The passphrase to open an existing file with (one try).
    pub fn read(&self, what: &str) -> Result<Passphrase, Error> {
        match self {
            Source::Terminal => {
                terminal(&format!("Passphrase for {what}: ")).and_then(|p| clean(p, VAR_TTY))
            }
            Source::Env(p) => clean(Zeroizing::new(p.as_bytes().to_vec()), VAR),
            Source::Command { argv, env } => {
                run_command(argv, env).and_then(|p| clean(p, COMMAND_VAR))
            }
        }
    }

    /// The passphrase for a new file: asked twice on a terminal; never empty.
    pub fn read_new(&self, what: &str) -> Result<Passphrase, Error> {
        let first = match self {
            Source::Terminal => {
                let first = clean(terminal(&format!("New passphrase for {what}: "))?, VAR_TTY)?;
                refuse_empty(&first, self)?;
                let again = clean(terminal("The same passphrase again: ")?, VAR_TTY)?;
                if *first != *again {
                    return Err(Error::Unavailable(format!(
                        "the two passphrases differ; nothing was written to {what}. Run the command again"
                    )));
                }
                first
            }
            _ => self.read(what)?,
        };
        refuse_empty(&first, self)?;
        Ok(first)
    }
}

const VAR_TTY: &str = "the terminal";

fn refuse_empty(p: &Passphrase, source: &Source) -> Result<(), Error> {
    if p.is_empty() {
        return Err(Error::Unavailable(format!(
            "an empty passphrase (from {}) is refused for a new keys file; choose a real passphrase",
            source.describe()
        )));
    }
    Ok(())
}

fn terminal(question: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    crate::prompt::ask_passphrase(question)
        .map(|s| Zeroizing::new(s.as_bytes().to_vec()))
        .map_err(|e| match e {
            crate::Error::NeedsPerson(msg) => Error::NeedsPerson(msg),
            other => Error::Unavailable(other.to_string()),
        })
}

/// Applies the one-line rule (see the module docs).
pub fn clean(raw: Zeroizing<Vec<u8>>, from: &str) -> Result<Passphrase, Error> {
    let mut bytes: &[u8] = &raw;
    if let Some(rest) = bytes.strip_suffix(b"\n") {
        bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    if bytes.contains(&0) {
        return Err(Error::Unavailable(format!(
            "the passphrase from {from} contains a NUL byte, which a terminal cannot type; use a passphrase of printable characters"
        )));
    }
    if bytes.iter().any(|b| *b == b'\n' || *b == b'\r') {
        return Err(Error::Unavailable(format!(
            "the passphrase from {from} has more than one line; a passphrase is one line (one trailing newline is ignored)"
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::Unavailable(format!("the passphrase from {from} is not valid UTF-8"))
    })?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Runs the command without a shell; its stdout is the passphrase, its
/// stderr goes to ours (it may explain a failure), its stdin is closed.
fn run_command(argv: &[String], env: &Env) -> Result<Zeroizing<Vec<u8>>, Error> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Unavailable(format!("{COMMAND_VAR} is empty")));
    };
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Error::Unavailable(format!(
                "cannot run {COMMAND_VAR} (`{program}`): {e}; it is run without a shell, so give a program and its arguments"
            ))
        })?;
    let mut out = Zeroizing::new(Vec::new());
    let read = child
        .stdout
        .take()
        .map(|mut s| s.read_to_end(&mut out))
        .transpose();
    let status = child
        .wait()
        .map_err(|e| Error::Unavailable(format!("{COMMAND_VAR} (`{program}`): {e}")))?;
    if let Err(e) = read {
        return Err(Error::Unavailable(format!(
            "cannot read the output of {COMMAND_VAR} (`{program}`): {e}"
        )));
    }
    if !status.success() {
        return Err(Error::Unavailable(format!(
            "{COMMAND_VAR} (`{program}`) failed ({status}); its output was not used"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &[u8]) -> Result<String, String> {
        clean(Zeroizing::new(s.to_vec()), "test")
            .map(|p| p.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_trailing_line_ending_is_dropped() {
        assert_eq!(c(b"pass word\n").unwrap(), "pass word");
        assert_eq!(c(b"pass word\r\n").unwrap(), "pass word");
        assert_eq!(c(b" spaced ").unwrap(), " spaced ");
        assert_eq!(c(b"").unwrap(), "");
    }

    #[test]
    fn inner_lines_nul_and_bad_utf8_are_refused() {
        assert!(c(b"a\nb").unwrap_err().contains("more than one line"));
        assert!(c(b"a\n\n").unwrap_err().contains("more than one line"));
        assert!(c(b"a\0b\n").unwrap_err().contains("NUL"));
        assert!(c(b"\xff\xfe").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn both_variables_is_an_error() {
        let env = Env::from_pairs([(VAR, "x"), (COMMAND_VAR, "echo x")]);
        assert!(Source::from_env(&env).is_err());
    }

    #[test]
    fn command_stdout_is_the_passphrase() {
        let env = Env::from_pairs([
            (COMMAND_VAR, "printf %s\\n hunter2"),
            ("PATH", "/usr/bin:/bin"),
        ]);
        let s = Source::from_env(&env).unwrap();
        assert_eq!(s.read("x").unwrap().as_str(), "hunter2");
        let env = Env::from_pairs([(COMMAND_VAR, "false"), ("PATH", "/usr/bin:/bin")]);
        let err = Source::from_env(&env)
            .unwrap()
            .read("x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("failed"), "{err}");
    }

    #[test]
    fn empty_is_refused_for_a_new_file() {
        let env = Env::from_pairs([(COMMAND_VAR, "true"), ("PATH", "/usr/bin:/bin")]);
        let err = Source::from_env(&env)
            .unwrap()
            .read_new("x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty passphrase"), "{err}");
    }
}
