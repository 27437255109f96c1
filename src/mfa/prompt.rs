//! How an MFA code is asked: one small [`Driver`] trait with one file per
//! driver (terminal, zenity, kdialog, osascript, process), `auto` picking
//! the one that can reach the person, and the re-asking rules (a code that
//! is not 6 digits is asked again, 3 tries in all).
//!
//! Commands reach this only through the injected [`Prompter`] (see
//! `Deps::prompter`), so tests can answer and count the questions.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{MfaSettings, PromptKind};
use crate::env::Env;

pub type Code = Zeroizing<String>;

/// How long a dialog or a code program may take. Waiting callers give up
/// after this plus [`WAITER_GRACE`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const WAITER_GRACE: Duration = Duration::from_secs(30);
/// Tries for a code that is not 6 digits.
pub const TRIES: u32 = 3;

/// One question.
pub struct CodeRequest<'a> {
    /// The profile the code is for (shown to the person).
    pub profile: &'a str,
    pub serial: &'a str,
    /// Why the question comes again (a malformed or rejected code), if it does.
    pub again: Option<&'a str>,
    pub timeout: Duration,
}

impl CodeRequest<'_> {
    /// The question's text, the same for every driver.
    pub fn text(&self) -> String {
        let again = self.again.map(|a| format!("{a}. ")).unwrap_or_default();
        format!(
            "{again}MFA code for profile {} ({}): ",
            self.profile, self.serial
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Nothing here can ask a person (no terminal, no display).
    #[error("{0}")]
    NoWay(String),
    /// The configured code program cannot be run (none given, not installed).
    #[error("{0}")]
    Unusable(String),
    #[error("the {0} was cancelled")]
    Cancelled(&'static str),
    #[error("the {0} got no answer within {1} seconds")]
    TimedOut(&'static str, u64),
    #[error("{0}")]
    Failed(String),
    #[error("MFA codes are 6 digits; got {got} characters {TRIES} times")]
    Malformed { got: usize },
}

/// One way of asking.
pub trait Driver {
    /// What it is, as messages name it ("MFA dialog", "terminal", …).
    fn what(&self) -> &'static str;
    /// Asks once; the answer is trimmed of its line ending only.
    fn ask(&self, env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError>;
}

/// What commands are given: asks for a code as `settings` say.
pub trait Prompter {
    fn ask(
        &self,
        env: &Env,
        settings: &MfaSettings,
        req: &CodeRequest<'_>,
    ) -> Result<Code, PromptError>;
}

/// The real prompter: the configured driver, `auto` resolved here.
pub struct SystemPrompter;

impl Prompter for SystemPrompter {
    fn ask(
        &self,
        env: &Env,
        settings: &MfaSettings,
        req: &CodeRequest<'_>,
    ) -> Result<Code, PromptError> {
        let driver = driver(env, settings, req)?;
        driver.ask(env, req)
    }
}

/// The prompt timeout: 60 s, or `CROSSROLE_MFA_PROMPT_TIMEOUT` seconds
/// (1-600), which the desktop tests use to time a dialog out quickly.
pub fn timeout(env: &Env) -> Duration {
    env.get("CROSSROLE_MFA_PROMPT_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| (1..=600).contains(n))
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Asks until the answer is 6 digits (3 tries in all).
pub fn ask_code(
    prompter: &dyn Prompter,
    env: &Env,
    settings: &MfaSettings,
    req: &CodeRequest<'_>,
) -> Result<Code, PromptError> {
    let mut again = req.again.map(str::to_string);
    let mut got = 0;
    for _ in 0..TRIES {
        let r = CodeRequest {
            again: again.as_deref(),
            ..*req
        };
        let code = prompter.ask(env, settings, &r)?;
        if crate::validate::mfa_code(&code).is_ok() {
            return Ok(code);
        }
        // Characters, not bytes: "１２３４５６" is 6 characters, 18 bytes.
        got = code.chars().count();
        again = Some(format!(
            "That was {got} characters, not 6 digits; try again"
        ));
    }
    Err(PromptError::Malformed { got })
}

/// The driver `settings` name, or for `auto`: the controlling terminal if
/// there is one; else on macOS a dialog by osascript; else, with a display,
/// zenity, else kdialog; else an error naming the ways out.
pub fn driver(
    env: &Env,
    settings: &MfaSettings,
    req: &CodeRequest<'_>,
) -> Result<Box<dyn Driver>, PromptError> {
    Ok(match settings.prompt {
        PromptKind::Terminal => Box::new(super::terminal::Terminal),
        PromptKind::Zenity => Box::new(super::zenity::Zenity),
        PromptKind::Kdialog => Box::new(super::kdialog::Kdialog),
        PromptKind::Osascript => Box::new(super::osascript::Osascript),
        PromptKind::Process => Box::new(super::process::CodeProcess {
            argv: settings.process.clone().unwrap_or_default(),
        }),
        PromptKind::Auto => {
            if super::terminal::available() {
                Box::new(super::terminal::Terminal)
            } else if cfg!(target_os = "macos") {
                Box::new(super::osascript::Osascript)
            } else if has_display(env) && find_program(env, "zenity").is_some() {
                Box::new(super::zenity::Zenity)
            } else if has_display(env) && find_program(env, "kdialog").is_some() {
                Box::new(super::kdialog::Kdialog)
            } else {
                return Err(no_way(env, req));
            }
        }
    })
}

fn no_way(env: &Env, req: &CodeRequest<'_>) -> PromptError {
    let display = if has_display(env) {
        "a display is set but neither zenity nor kdialog is installed"
    } else {
        "no desktop display (DISPLAY / WAYLAND_DISPLAY)"
    };
    PromptError::NoWay(format!(
        "profile `{p}` needs an MFA code ({s}) and there is no terminal to ask on, and {display}. Ways out: run `crossrole exec {p} -- true` (or `crossrole credential-process {p} > /dev/null`) once from a terminal: the MFA session is then cached and shared until it nears expiry; or let a program give the code: `crossrole setup --target-profile {p} … --mfa-prompt process --mfa-process 'ykman oath accounts code --single NAME'`",
        p = req.profile,
        s = req.serial
    ))
}

pub fn has_display(env: &Env) -> bool {
    env.is_set("DISPLAY") || env.is_set("WAYLAND_DISPLAY")
}

/// `name` as the OS would find it: a path with a slash as is, else the
/// first executable file of that name on the environment's PATH.
pub fn find_program(env: &Env, name: &str) -> Option<PathBuf> {
    let is_exec = |p: &std::path::Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        p.is_file()
    };
    if name.contains('/') || name.contains(std::path::MAIN_SEPARATOR) {
        let p = PathBuf::from(name);
        return is_exec(&p).then_some(p);
    }
    let path = env.get_os("PATH")?;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| is_exec(p))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Answers with the queued replies, recording each question's text.
    struct Scripted {
        replies: RefCell<Vec<&'static str>>,
        asked: RefCell<Vec<String>>,
    }

    impl Prompter for Scripted {
        fn ask(
            &self,
            _: &Env,
            _: &MfaSettings,
            req: &CodeRequest<'_>,
        ) -> Result<Code, PromptError> {
            self.asked.borrow_mut().push(req.text());
            Ok(Zeroizing::new(
                self.replies.borrow_mut().remove(0).to_string(),
            ))
        }
    }

    fn req() -> CodeRequest<'static> {
        CodeRequest {
            profile: "blue",
            serial: "arn:aws:iam::111111111111:mfa/ana",
            again: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn a_malformed_code_is_asked_again_three_tries_in_all() {
        let p = Scripted {
            replies: RefCell::new(vec!["12ab", "1234567", "123456"]),
            asked: RefCell::new(vec![]),
        };
        let code = ask_code(&p, &Env::default(), &MfaSettings::default(), &req()).unwrap();
        assert_eq!(code.as_str(), "123456");
        let asked = p.asked.borrow();
        assert_eq!(asked.len(), 3);
        assert!(asked[1].contains("6 digits") && asked[1].contains("4 characters"));
        assert!(
            asked[0].starts_with("MFA code for profile blue (arn:aws:iam::111111111111:mfa/ana)")
        );

        let p = Scripted {
            replies: RefCell::new(vec!["x", "１２３４５６", ""]),
            asked: RefCell::new(vec![]),
        };
        let e = ask_code(&p, &Env::default(), &MfaSettings::default(), &req()).unwrap_err();
        assert!(e.to_string().contains("6 digits"), "{e}");
        assert_eq!(p.asked.borrow().len(), 3);
    }

    #[test]
    fn auto_without_terminal_or_display_names_the_ways_out() {
        // Unit tests may run with a terminal: only check the message itself.
        let e = no_way(&Env::default(), &req()).to_string();
        for part in [
            "crossrole exec blue -- true",
            "--mfa-prompt process",
            "from a terminal",
            "arn:aws:iam::111111111111:mfa/ana",
        ] {
            assert!(e.contains(part), "{e}");
        }
    }

    #[test]
    fn programs_are_found_on_the_given_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("otp");
        std::fs::write(&prog, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let env = Env::from_pairs([("PATH", dir.path().as_os_str())]);
        assert_eq!(find_program(&env, "otp"), Some(prog.clone()));
        assert_eq!(find_program(&Env::default(), "otp"), None);
        assert_eq!(find_program(&env, "nope"), None);
        assert_eq!(find_program(&env, prog.to_str().unwrap()), Some(prog));
    }
}
