//! MFA a person can live with: one `GetSessionToken` with the code (an *MFA
//! session*, 8 hours by default), cached like role sessions and shared by
//! every profile with the same source key and serial; role sessions are then
//! AssumeRole calls signed with it, with no code. How a code is asked (the
//! terminal, a desktop dialog, a program) is [`prompt`]'s business.
//!
//! The settings live in the profile as `crossrole_mfa_*` keys, which every
//! SDK ignores.

pub mod doctor;
pub mod kdialog;
pub mod osascript;
pub mod process;
pub mod prompt;
pub mod session;
pub mod setup;
pub mod terminal;
pub mod zenity;

#[cfg(test)]
mod day_tests;

use crate::awsfile::AwsFile;
use crate::error::{Error, Result};

pub const KEY_SESSION_SECONDS: &str = "crossrole_mfa_session_seconds";
pub const KEY_PROMPT: &str = "crossrole_mfa_prompt";
pub const KEY_PROCESS: &str = "crossrole_mfa_process";

/// A working day.
pub const DEFAULT_SESSION_SECONDS: i32 = 28800;
/// GetSessionToken's limits for an IAM user.
pub const MIN_SESSION_SECONDS: i32 = 900;
pub const MAX_SESSION_SECONDS: i32 = 129_600;
/// AWS caps a role session assumed with temporary credentials (role
/// chaining) at one hour.
pub const CHAINED_MAX_SECONDS: i32 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Auto,
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
    Process,
}

impl PromptKind {
    pub const ALL: [PromptKind; 6] = [
        PromptKind::Auto,
        PromptKind::Terminal,
        PromptKind::Zenity,
        PromptKind::Kdialog,
        PromptKind::Osascript,
        PromptKind::Process,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PromptKind::Auto => "auto",
            PromptKind::Terminal => "terminal",
            PromptKind::Zenity => "zenity",
            PromptKind::Kdialog => "kdialog",
            PromptKind::Osascript => "osascript",
            PromptKind::Process => "process",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<PromptKind, String> {
        let t = s.trim().to_ascii_lowercase();
        PromptKind::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| {
                let names: Vec<&str> = PromptKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "`{}` is not a way to ask for MFA codes ({})",
                    crate::validate::shorten(s),
                    names.join(", ")
                )
            })
    }
}

/// `crossrole_mfa_session_seconds`: 0 (a code per role session, as before
/// MFA sessions) or GetSessionToken's 900..129600.
pub fn parse_session_seconds(s: &str) -> std::result::Result<i32, String> {
    let n: i32 = s.trim().parse().map_err(|_| {
        format!(
            "`{}` is not a number of seconds (0, or {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS})",
            crate::validate::shorten(s)
        )
    })?;
    if n == 0 || (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{n} is out of range: 0 (a code per role session), or {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS} seconds"
        ))
    }
}

/// How a profile's MFA codes are asked and how long its MFA session lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaSettings {
    /// 0: no MFA session, a code for each role session.
    pub session_seconds: i32,
    pub prompt: PromptKind,
    /// `crossrole_mfa_process`, split like botocore splits `credential_process`.
    pub process: Option<Vec<String>>,
}

impl Default for MfaSettings {
    fn default() -> Self {
        MfaSettings {
            session_seconds: DEFAULT_SESSION_SECONDS,
            prompt: PromptKind::Auto,
            process: None,
        }
    }
}

impl MfaSettings {
    /// The settings in `profile` (defaults for what is missing); a bad value
    /// is an error naming the profile and the key.
    pub fn of_profile(config: &AwsFile, profile: &str) -> Result<MfaSettings> {
        let p = config.profile(profile).unwrap_or_default();
        let bad = |k: &str, e: String| Error::invalid_setting(profile, k, e);
        let mut s = MfaSettings::default();
        if let Some(v) = p.get(KEY_SESSION_SECONDS) {
            s.session_seconds =
                parse_session_seconds(v).map_err(|e| bad(KEY_SESSION_SECONDS, e))?;
        }
        if let Some(v) = p.get(KEY_PROMPT) {
            s.prompt = PromptKind::parse(v).map_err(|e| bad(KEY_PROMPT, e))?;
        }
        if let Some(v) = p.get(KEY_PROCESS) {
            s.process = Some(process::split_command(v).map_err(|e| bad(KEY_PROCESS, e))?);
        }
        if s.prompt == PromptKind::Process && s.process.is_none() {
            return Err(bad(
                KEY_PROMPT,
                format!(
                    "`process` needs {KEY_PROCESS} = COMMAND (the program that prints the code)"
                ),
            ));
        }
        Ok(s)
    }

    /// Whether role sessions are chained from an MFA session.
    pub fn chains(&self) -> bool {
        self.session_seconds != 0
    }
}

/// The MFA serial of a key profile (`crossrole_mfa_serial` on it), checked.
pub fn key_profile_serial(config: &AwsFile, profile: &str) -> Result<Option<String>> {
    let p = config.profile(profile).unwrap_or_default();
    match p.get(crate::profile::KEY_MFA_SERIAL) {
        None => Ok(None),
        Some(v) => crate::validate::mfa_serial(v)
            .map(|_| Some(v.to_string()))
            .map_err(|e| Error::invalid_setting(profile, crate::profile::KEY_MFA_SERIAL, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsfile::FileKind;

    #[test]
    fn session_seconds_are_zero_or_in_range() {
        assert_eq!(parse_session_seconds("0"), Ok(0));
        assert_eq!(parse_session_seconds("900"), Ok(900));
        assert_eq!(parse_session_seconds("129600"), Ok(129_600));
        for bad in ["899", "129601", "-1", "8h", ""] {
            assert!(parse_session_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_from_a_profile() {
        let config = AwsFile::parse(
            "[profile a]\ncrossrole_mfa_prompt = process\ncrossrole_mfa_process = \"/opt/my codes/otp\" --for aws\ncrossrole_mfa_session_seconds = 3600\n[profile b]\n[profile c]\ncrossrole_mfa_prompt = process\n[profile d]\ncrossrole_mfa_prompt = popup\n",
            FileKind::Config,
        );
        let a = MfaSettings::of_profile(&config, "a").unwrap();
        assert_eq!(a.prompt, PromptKind::Process);
        assert_eq!(
            a.process.as_deref(),
            Some(
                &[
                    "/opt/my codes/otp".to_string(),
                    "--for".into(),
                    "aws".into()
                ][..]
            )
        );
        assert_eq!(a.session_seconds, 3600);
        assert_eq!(
            MfaSettings::of_profile(&config, "b").unwrap(),
            MfaSettings::default()
        );
        let e = MfaSettings::of_profile(&config, "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains(KEY_PROCESS), "{e}");
        let e = MfaSettings::of_profile(&config, "d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("popup") && e.contains("zenity"), "{e}");
    }
}
