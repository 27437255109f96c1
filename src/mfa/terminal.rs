//! The controlling terminal (/dev/tty), never stdout/stderr, which the AWS
//! CLI captures. The question and answer go through `crate::prompt`.

use zeroize::Zeroizing;

use super::prompt::{Code, CodeRequest, Driver, PromptError};
use crate::env::Env;

pub struct Terminal;

/// Whether there is a controlling terminal to ask on.
pub fn available() -> bool {
    crate::prompt::has_tty()
}

impl Driver for Terminal {
    fn what(&self) -> &'static str {
        "terminal prompt"
    }

    fn ask(&self, _env: &Env, req: &CodeRequest<'_>) -> Result<Code, PromptError> {
        if !available() {
            return Err(PromptError::NoWay(format!(
                "profile `{}` needs an MFA code ({}) and there is no terminal to ask on (crossrole_mfa_prompt = terminal). Run `crossrole exec {} -- true` once from a terminal, or choose another prompt with `crossrole setup … --mfa-prompt auto|zenity|kdialog|process`",
                req.profile, req.serial, req.profile
            )));
        }
        crate::prompt::ask(&req.text())
            .map(Zeroizing::new)
            .map_err(|e| PromptError::Failed(e.to_string()))
    }
}
