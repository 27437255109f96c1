//! A GTK dialog by zenity (GNOME and most X11/Wayland desktops), for callers
//! with no terminal: an IDE, a GUI client, a `cdk` run from a launcher.
//! zenity closes the dialog itself at the timeout (exit 5); cancel is exit 1.

use super::process::{first_line, run, stderr_note};
use super::prompt::{Code, CodeRequest, Driver, PromptError};
use crate::env::Env;

pub struct Zenity;

/// The dialog's title; tests find the window by it.
pub const TITLE: &str = "crossrole: MFA code";

impl Driver for Zenity {
    fn what(&self) -> &'static str {
        "MFA dialog"
    }

    fn ask(&self, env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError> {
        let secs = req.timeout.as_secs().max(1);
        let args = vec![
            "--entry".to_string(),
            format!("--title={TITLE}"),
            format!("--text={}", dialog_text(req)),
            format!("--timeout={secs}"),
        ];
        // zenity times itself out; the kill is only a backstop.
        let backstop = req.timeout + std::time::Duration::from_secs(5);
        let out = run(env, "zenity", &args, &[], backstop, self.what())?;
        match out.status {
            Some(0) => first_line(&out.stdout).ok_or(PromptError::Cancelled(self.what())),
            // zenity also exits 1 when it cannot show anything at all.
            Some(1) if lost_display(&out.stderr) => Err(PromptError::Failed(format!(
                "zenity cannot use the display{}",
                stderr_note(&out.stderr)
            ))),
            Some(1) => Err(PromptError::Cancelled(self.what())),
            Some(5) => Err(PromptError::TimedOut(self.what(), secs)),
            status => Err(PromptError::Failed(format!(
                "zenity could not show the MFA dialog (exit status {status:?}){}",
                stderr_note(&out.stderr)
            ))),
        }
    }
}

/// The text of a dialog: the profile and the serial, and why it is asked again.
pub fn dialog_text(req: &CodeRequest<'_>) -> String {
    let again = req.again.map(|a| format!("{a}.\n\n")).unwrap_or_default();
    format!(
        "{again}Enter the MFA code for AWS profile {}\n({})",
        req.profile, req.serial
    )
}

/// GTK's words for a display it cannot open or lost (exit status 1, as a cancel).
fn lost_display(stderr: &str) -> bool {
    stderr.contains("cannot open display") || stderr.contains("X server")
}
