//! `crossrole_mfa_process`: a program that prints the code (e.g.
//! `ykman oath accounts code --single aws-green`), run without a shell. The
//! command line is split as botocore splits `credential_process` (POSIX
//! shlex rules); the first line of stdout is the code; it gets the prompt
//! timeout; its stderr is shown when it fails. It also finds
//! `CROSSROLE_MFA_PROFILE` and `CROSSROLE_MFA_SERIAL` in its environment.
//!
//! The dialog drivers run their programs through [`run`] too.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::prompt::{find_program, Code, CodeRequest, Driver, PromptError};
use crate::env::Env;

pub struct CodeProcess {
    pub argv: Vec<String>,
}

impl Driver for CodeProcess {
    fn what(&self) -> &'static str {
        "MFA code program"
    }

    fn ask(&self, env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(PromptError::Unusable(
                "crossrole_mfa_process is empty: set it to the program that prints the code".into(),
            ));
        };
        let extra = [
            ("CROSSROLE_MFA_PROFILE", req.profile),
            ("CROSSROLE_MFA_SERIAL", req.serial),
        ];
        let out = run(env, program, args, &extra, req.timeout, self.what())?;
        match out.status {
            Some(0) => first_line(&out.stdout).ok_or_else(|| {
                PromptError::Failed(format!(
                    "the MFA code program `{program}` printed no code on stdout{}",
                    stderr_note(&out.stderr)
                ))
            }),
            status => Err(PromptError::Failed(format!(
                "the MFA code program `{program}` failed ({}){}",
                status
                    .map(|c| format!("exit status {c}"))
                    .unwrap_or_else(|| "killed by a signal".into()),
                stderr_note(&out.stderr)
            ))),
        }
    }
}

/// What a program left behind.
pub struct Ran {
    /// None when a signal ended it.
    pub status: Option<i32>,
    pub stdout: Zeroizing<Vec<u8>>,
    pub stderr: String,
}

/// Runs `program` with the environment `env` (plus `extra`), stdin closed,
/// stdout and stderr captured; kills it after `timeout`.
pub fn run(
    env: &Env,
    program: &str,
    args: &[String],
    extra: &[(&str, &str)],
    timeout: Duration,
    what: &'static str,
) -> Result<Ran, PromptError> {
    let path = find_program(env, program).ok_or_else(|| {
        PromptError::Unusable(format!(
            "the {what} `{program}` is not installed or not executable (looked on PATH)"
        ))
    })?;
    let mut cmd = Command::new(&path);
    cmd.args(args)
        .env_clear()
        .envs(env.iter())
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| PromptError::Failed(format!("cannot run the {what} `{program}`: {e}")))?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PromptError::TimedOut(what, timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(PromptError::Failed(format!("waiting for `{program}`: {e}"))),
        }
    };
    // A grandchild may hold the pipes open: wait a moment, not forever.
    let grace = Duration::from_secs(2);
    let out = stdout.recv_timeout(grace).unwrap_or_default();
    let err = stderr.recv_timeout(grace).unwrap_or_default();
    Ok(Ran {
        status: status.code(),
        stdout: Zeroizing::new(out),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    rx
}

/// The first line of `out`, trimmed; None if empty.
pub fn first_line(out: &[u8]) -> Option<Code> {
    let text = Zeroizing::new(String::from_utf8_lossy(out).into_owned());
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| Zeroizing::new(line.to_string()))
}

/// The end of a program's stderr, for an error message.
pub fn stderr_note(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        return String::new();
    }
    let chars: Vec<char> = t.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(500)..].iter().collect();
    format!("; it said: {tail}")
}

/// Splits a command line as Python's `shlex.split` (POSIX mode) does, which
/// is how botocore splits `credential_process` on Linux and macOS.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`' | '\n')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("the command ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_shlex() {
        let w = |s: &str| split_command(s).unwrap();
        assert_eq!(
            w("ykman oath accounts code --single aws-green"),
            ["ykman", "oath", "accounts", "code", "--single", "aws-green"]
        );
        assert_eq!(
            w(r#""/opt/my tools/otp" 'a b' c\ d"#),
            ["/opt/my tools/otp", "a b", "c d"]
        );
        assert_eq!(w(r#"x "a\"b\\c\n""#), ["x", r#"a"b\c\n"#]);
        assert_eq!(w("a''b \"\""), ["ab", ""]);
        assert_eq!(w("  a\tb  "), ["a", "b"]);
        assert!(split_command("a 'b").is_err());
        assert!(split_command("a \"b").is_err());
        assert!(split_command("a \\").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn first_line_only() {
        assert_eq!(first_line(b"123456\nmore\n").unwrap().as_str(), "123456");
        assert_eq!(first_line(b" 123456 \r\n").unwrap().as_str(), "123456");
        assert!(first_line(b"").is_none());
        assert!(first_line(b"\nx").is_none());
    }

    fn sh_env() -> Env {
        Env::from_pairs([("PATH", "/usr/bin:/bin")])
    }

    fn req(timeout: Duration) -> CodeRequest<'static> {
        CodeRequest {
            profile: "blue",
            serial: "arn:aws:iam::111111111111:mfa/ana",
            again: None,
            timeout,
        }
    }

    fn sh(script: &str) -> CodeProcess {
        CodeProcess {
            argv: vec!["sh".into(), "-c".into(), script.into()],
        }
    }

    #[test]
    fn a_program_gives_the_code_knows_the_profile_and_is_timed_out() {
        let secs = Duration::from_secs(5);
        let code = sh("echo 123456; echo ignored")
            .ask(&sh_env(), &req(secs))
            .unwrap();
        assert_eq!(code.as_str(), "123456");
        let code = sh("echo \"$CROSSROLE_MFA_PROFILE $CROSSROLE_MFA_SERIAL\"")
            .ask(&sh_env(), &req(secs))
            .unwrap();
        assert_eq!(code.as_str(), "blue arn:aws:iam::111111111111:mfa/ana");
        let e = sh("echo 'no yubikey found' >&2; exit 3")
            .ask(&sh_env(), &req(secs))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exit status 3") && e.contains("no yubikey found"),
            "{e}"
        );
        let started = Instant::now();
        let e = sh("sleep 30")
            .ask(&sh_env(), &req(Duration::from_secs(1)))
            .unwrap_err();
        assert!(matches!(e, PromptError::TimedOut(_, 1)), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let e = CodeProcess {
            argv: vec!["no-such-otp-program".into()],
        }
        .ask(&sh_env(), &req(secs))
        .unwrap_err();
        assert!(matches!(e, PromptError::Unusable(_)), "{e}");
    }
}
