//! `doctor`'s MFA check: can the configured prompt reach the person here?
//! zenity or kdialog installed and a display set, the code program found,
//! a terminal for `terminal`; for `auto`, which one it would pick.

use super::prompt::{find_program, has_display};
use super::{MfaSettings, PromptKind};
use crate::env::Env;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of doctor's report: the level, what was found, the fix.
pub type Finding = (Level, String, Option<String>);

pub fn check_prompt(env: &Env, settings: &MfaSettings, profile: &str, has_tty: bool) -> Finding {
    let head = format!(
        "MFA prompt for profile {profile} ({})",
        settings.prompt.name()
    );
    let dialog = |prog: &str| -> Finding {
        if find_program(env, prog).is_none() {
            return (
                Level::Fail,
                format!("{head}: {prog} is not installed"),
                Some(format!(
                    "install {prog} (e.g. `apt install {prog}`), or choose another prompt with `crossrole setup … --mfa-prompt auto|terminal|process`"
                )),
            );
        }
        if !has_display(env) {
            return (
                Level::Fail,
                format!("{head}: no desktop display here (DISPLAY / WAYLAND_DISPLAY unset)"),
                Some("run from the desktop session, or use --mfa-prompt terminal|process".into()),
            );
        }
        (
            Level::Ok,
            format!("{head}: a {prog} dialog can be shown"),
            None,
        )
    };
    match settings.prompt {
        PromptKind::Terminal if has_tty => {
            (Level::Ok, format!("{head}: asked on this terminal"), None)
        }
        PromptKind::Terminal => (
            Level::Warn,
            format!("{head}: no controlling terminal here; callers without one cannot be asked"),
            Some("use --mfa-prompt auto (a desktop dialog) or --mfa-prompt process".into()),
        ),
        PromptKind::Zenity => dialog("zenity"),
        PromptKind::Kdialog => dialog("kdialog"),
        PromptKind::Osascript if cfg!(target_os = "macos") => {
            (Level::Ok, format!("{head}: a macOS dialog"), None)
        }
        PromptKind::Osascript => (
            Level::Fail,
            format!("{head}: osascript dialogs work on macOS only"),
            Some("use --mfa-prompt auto, zenity, kdialog, terminal or process".into()),
        ),
        PromptKind::Process => {
            let argv = settings.process.clone().unwrap_or_default();
            let prog = argv.first().cloned().unwrap_or_default();
            match find_program(env, &prog) {
                Some(p) => (
                    Level::Ok,
                    format!("{head}: codes come from {}", p.display()),
                    None,
                ),
                None => (
                    Level::Fail,
                    format!("{head}: the code program `{prog}` is not found or not executable"),
                    Some(
                        "install it, or fix crossrole_mfa_process (setup --mfa-process CMD)".into(),
                    ),
                ),
            }
        }
        PromptKind::Auto => {
            if has_tty {
                (
                    Level::Ok,
                    format!("{head}: this terminal here; a desktop dialog for callers without one"),
                    None,
                )
            } else if cfg!(target_os = "macos") {
                (Level::Ok, format!("{head}: a macOS dialog"), None)
            } else if has_display(env) && find_program(env, "zenity").is_some() {
                (Level::Ok, format!("{head}: a zenity dialog"), None)
            } else if has_display(env) && find_program(env, "kdialog").is_some() {
                (Level::Ok, format!("{head}: a kdialog dialog"), None)
            } else {
                (
                    Level::Warn,
                    format!("{head}: no terminal, and no desktop dialog here (a display and zenity or kdialog)"),
                    Some(format!(
                        "run `crossrole exec {profile} -- true` once from a terminal to cache the MFA session, or set --mfa-prompt process --mfa-process CMD"
                    )),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(prompt: PromptKind, process: Option<&str>) -> MfaSettings {
        MfaSettings {
            prompt,
            process: process.map(|p| vec![p.to_string()]),
            ..MfaSettings::default()
        }
    }

    #[test]
    fn what_doctor_says_about_each_prompt() {
        let bare = Env::from_pairs([("PATH", "/nonexistent")]);
        let (l, what, fix) =
            check_prompt(&bare, &settings(PromptKind::Zenity, None), "blue", false);
        assert_eq!(l, Level::Fail);
        assert!(what.contains("zenity is not installed"), "{what}");
        assert!(fix.unwrap().contains("--mfa-prompt"));
        let (l, what, _) = check_prompt(
            &bare,
            &settings(PromptKind::Process, Some("ykman")),
            "blue",
            false,
        );
        assert_eq!(l, Level::Fail);
        assert!(what.contains("`ykman` is not found"), "{what}");
        let (l, _, _) = check_prompt(
            &bare,
            &settings(PromptKind::Process, Some("/bin/sh")),
            "blue",
            false,
        );
        assert_eq!(l, Level::Ok);
        let (l, _, fix) = check_prompt(&bare, &settings(PromptKind::Auto, None), "blue", false);
        if !cfg!(target_os = "macos") {
            assert_eq!(l, Level::Warn);
            assert!(fix.unwrap().contains("crossrole exec blue -- true"));
        }
        let (l, _, _) = check_prompt(&bare, &settings(PromptKind::Auto, None), "blue", true);
        assert_eq!(l, Level::Ok);
    }
}
