//! `setup --mfa-session-seconds N --mfa-prompt KIND --mfa-process CMD`:
//! checked before anything is written, then stored on the role profile as
//! `crossrole_mfa_*` keys, with a warning when a longer role session is
//! capped at one hour by role chaining.

use super::{parse_session_seconds, process::split_command, PromptKind};
use super::{CHAINED_MAX_SECONDS, KEY_PROCESS, KEY_PROMPT, KEY_SESSION_SECONDS};
use crate::awsfile::AwsFile;
use crate::error::{Error, Result};
use crate::profile::RoleSettings;

/// The three flags, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaFlags {
    pub session_seconds: Option<i32>,
    pub prompt: Option<PromptKind>,
    /// The command line as given (stored as is; it was split to check it).
    pub process: Option<String>,
}

impl MfaFlags {
    pub fn from_args(
        session_seconds: Option<&str>,
        prompt: Option<&str>,
        process: Option<&str>,
    ) -> Result<MfaFlags> {
        let usage = |flag: &str, e: String| Error::Usage(format!("{flag}: {e}"));
        let session_seconds = session_seconds
            .map(parse_session_seconds)
            .transpose()
            .map_err(|e| usage("--mfa-session-seconds", e))?;
        let mut prompt = prompt
            .map(PromptKind::parse)
            .transpose()
            .map_err(|e| usage("--mfa-prompt", e))?;
        if let Some(cmd) = process {
            split_command(cmd).map_err(|e| usage("--mfa-process", e))?;
            if cmd.contains('\n') || cmd.contains('\r') {
                return Err(usage("--mfa-process", "must be one line".into()));
            }
            // A program given is a program meant to be used.
            prompt = match prompt {
                None => Some(PromptKind::Process),
                Some(PromptKind::Process) => Some(PromptKind::Process),
                Some(other) => {
                    return Err(usage(
                        "--mfa-process",
                        format!(
                            "is used only with --mfa-prompt process, not {}",
                            other.name()
                        ),
                    ))
                }
            };
        }
        Ok(MfaFlags {
            session_seconds,
            prompt,
            process: process.map(str::to_string),
        })
    }
}

/// Writes the flags into `profile` (in memory) and returns whether anything
/// changed. Refuses combinations that would leave a profile crossrole
/// cannot use, before anything is saved; warns about the one-hour cap.
pub fn apply(
    config: &mut AwsFile,
    profile: &str,
    flags: &MfaFlags,
    role: &RoleSettings,
    report: &mut Vec<String>,
) -> Result<bool> {
    let existing = config.profile(profile).unwrap_or_default();
    let prompt_kind = match flags.prompt {
        Some(k) => Some(k),
        None => existing
            .get(KEY_PROMPT)
            .and_then(|v| PromptKind::parse(v).ok()),
    };
    let has_process = flags.process.is_some() || existing.get(KEY_PROCESS).is_some();
    if prompt_kind == Some(PromptKind::Process) && !has_process {
        return Err(Error::Usage(
            "--mfa-prompt process needs --mfa-process COMMAND (the program that prints the code, e.g. 'ykman oath accounts code --single aws')".into(),
        ));
    }
    if role.mfa_serial.is_none()
        && (flags.session_seconds.is_some() || flags.prompt.is_some() || flags.process.is_some())
    {
        report.push(format!(
            "warning: profile {profile} has no MFA serial (--mfa-serial), so the --mfa-* settings have no effect yet"
        ));
    }
    let mut changed = false;
    if let Some(n) = flags.session_seconds {
        changed |= config.set(profile, KEY_SESSION_SECONDS, &n.to_string())?;
    }
    if let Some(k) = flags.prompt {
        changed |= config.set(profile, KEY_PROMPT, k.name())?;
    }
    if let Some(cmd) = &flags.process {
        changed |= config.set(profile, KEY_PROCESS, cmd)?;
    }
    let session_seconds = match flags.session_seconds {
        Some(n) => n,
        None => existing
            .get(KEY_SESSION_SECONDS)
            .and_then(|v| parse_session_seconds(v).ok())
            .unwrap_or(super::DEFAULT_SESSION_SECONDS),
    };
    if let Some(d) = role.duration_seconds {
        if role.mfa_serial.is_some() && session_seconds != 0 && d > CHAINED_MAX_SECONDS {
            report.push(format!(
                "warning: profile {profile}'s role sessions are assumed with the MFA session (role chaining), which AWS caps at {CHAINED_MAX_SECONDS} seconds; {d} will be asked as {CHAINED_MAX_SECONDS}. For longer role sessions, with a code for each, use --mfa-session-seconds 0"
            ));
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked() {
        let f = MfaFlags::from_args(Some("3600"), Some("zenity"), None).unwrap();
        assert_eq!(f.session_seconds, Some(3600));
        assert_eq!(f.prompt, Some(PromptKind::Zenity));
        let f =
            MfaFlags::from_args(None, None, Some("ykman oath accounts code --single x")).unwrap();
        assert_eq!(
            f.prompt,
            Some(PromptKind::Process),
            "a program implies process"
        );
        for (s, p, c, flag) in [
            (Some("60"), None, None, "--mfa-session-seconds"),
            (Some("8h"), None, None, "--mfa-session-seconds"),
            (None, Some("popup"), None, "--mfa-prompt"),
            (None, None, Some("otp 'x"), "--mfa-process"),
            (None, Some("zenity"), Some("otp"), "--mfa-process"),
        ] {
            let e = MfaFlags::from_args(s, p, c).unwrap_err().to_string();
            assert!(e.starts_with(flag), "{e}");
        }
    }
}
