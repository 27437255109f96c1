//! A KDE dialog by kdialog. kdialog has no timeout of its own, so the dialog
//! is closed (killed) at the prompt timeout; cancel is exit 1.

use super::process::{first_line, run, stderr_note};
use super::prompt::{Code, CodeRequest, Driver, PromptError};
use super::zenity::{dialog_text, TITLE};
use crate::env::Env;

pub struct Kdialog;

impl Driver for Kdialog {
    fn what(&self) -> &'static str {
        "MFA dialog"
    }

    fn ask(&self, env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError> {
        let args = vec![
            "--title".to_string(),
            TITLE.to_string(),
            "--inputbox".to_string(),
            dialog_text(req),
        ];
        let out = run(env, "kdialog", &args, &[], req.timeout, self.what())?;
        match out.status {
            Some(0) => first_line(&out.stdout).ok_or(PromptError::Cancelled(self.what())),
            Some(1) => Err(PromptError::Cancelled(self.what())),
            status => Err(PromptError::Failed(format!(
                "kdialog could not show the MFA dialog (exit status {status:?}){}",
                stderr_note(&out.stderr)
            ))),
        }
    }
}
