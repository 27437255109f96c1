//! A macOS dialog by osascript (`display dialog`), which gives up by itself
//! at the timeout. The texts are passed as arguments, never pasted into the
//! script, so no profile name can change what the script does. Compiled
//! everywhere, exercised only on macOS.

use super::process::{first_line, run, stderr_note};
use super::prompt::{Code, CodeRequest, Driver, PromptError};
use super::zenity::{dialog_text, TITLE};
use crate::env::Env;

pub struct Osascript;

const SCRIPT: &str = r#"on run argv
set r to display dialog (item 1 of argv) default answer "" with title (item 2 of argv) giving up after ((item 3 of argv) as integer)
if gave up of r then error "timed out" number 5
return text returned of r
end run"#;

impl Driver for Osascript {
    fn what(&self) -> &'static str {
        "MFA dialog"
    }

    fn ask(&self, env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError> {
        let secs = req.timeout.as_secs().max(1);
        let args = vec![
            "-e".to_string(),
            SCRIPT.to_string(),
            dialog_text(req),
            TITLE.to_string(),
            secs.to_string(),
        ];
        let backstop = req.timeout + std::time::Duration::from_secs(5);
        let out = run(env, "osascript", &args, &[], backstop, self.what())?;
        match out.status {
            Some(0) => first_line(&out.stdout).ok_or(PromptError::Cancelled(self.what())),
            _ if out.stderr.contains("(-128)") => Err(PromptError::Cancelled(self.what())),
            _ if out.stderr.contains("timed out") => Err(PromptError::TimedOut(self.what(), secs)),
            status => Err(PromptError::Failed(format!(
                "osascript could not show the MFA dialog (exit status {status:?}){}",
                stderr_note(&out.stderr)
            ))),
        }
    }
}
