//! The exit statuses, so that scripts can tell a failure from a mistake in
//! the command line and from a question nobody could answer. `exec` passes
//! its command's own status through instead; `doctor` exits 1 when a check
//! fails.

use crate::error::Error;

/// Anything that went wrong and is not one of the cases below.
pub const FAILURE: u8 = 1;
/// The command line was wrong (clap exits 2 for its own errors too).
pub const USAGE: u8 = 2;
/// An MFA code or a passphrase is needed and there is no way to ask a
/// person: run the command again where one can answer.
pub const NEEDS_PERSON: u8 = 3;

/// Each status and what it means, for the man page's EXIT STATUS section.
pub const MEANINGS: &[(u8, &str)] = &[
    (0, "Success."),
    (FAILURE, "A failure: STS refused or could not be reached, a profile or key is missing, a setting is invalid, the keyring refused, a person said no. doctor exits 1 when a check fails."),
    (USAGE, "The command line is wrong: an unknown or bad flag or value, a bad PROFILE name, flags that do not go together, or a --yes (or exec --force) the command needs where nobody can be asked."),
    (NEEDS_PERSON, "A person is needed and nobody can be asked: an MFA code, or the passphrase of the keys file or of a GPG key, with no terminal or desktop dialog to ask on. Run the command once where someone can answer."),
];

pub fn of(err: &Error) -> u8 {
    match err {
        Error::Usage(_) => USAGE,
        Error::NeedsPerson(_) => NEEDS_PERSON,
        _ => FAILURE,
    }
}

/// The status for an error that reached the binary's edge.
pub fn of_any(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Error>().map_or(FAILURE, of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_status() {
        assert_eq!(of(&Error::Usage("--region: bad".into())), USAGE);
        assert_eq!(of(&Error::NeedsPerson("no terminal".into())), NEEDS_PERSON);
        for failure in [
            Error::NotFound("no key".into()),
            Error::invalid_setting("blue", "crossrole_role_arn", "bad"),
            Error::NotAKey {
                profile: "green".into(),
            },
            Error::Cancelled("not removed".into()),
            Error::Sts {
                message: "cannot reach STS".into(),
                source: None,
            },
            Error::Other("x".into()),
            Error::from(crate::secrets::Error::Locked("locked".into())),
            Error::from(crate::secrets::Error::Unavailable("gone".into())),
        ] {
            assert_eq!(of(&failure), FAILURE, "{failure:?}");
        }
    }

    #[test]
    fn a_keyring_that_needs_a_person_says_so() {
        let e = Error::from(crate::secrets::Error::NeedsPerson("locked, no tty".into()));
        assert!(matches!(e, Error::NeedsPerson(_)));
        assert_eq!(of(&e), NEEDS_PERSON);
        let e = Error::from(crate::secrets::Error::Locked("locked".into()));
        assert!(matches!(e, Error::Locked(_)));
    }

    #[test]
    fn the_status_survives_the_edge() {
        let usage = anyhow::Error::from(Error::Usage("PROFILE: bad".into()));
        assert_eq!(of_any(&usage), USAGE);
        let person = anyhow::Error::from(Error::NeedsPerson("no terminal".into()));
        assert_eq!(of_any(&person), NEEDS_PERSON);
        assert_eq!(of_any(&anyhow::anyhow!("cannot find own path")), FAILURE);
    }
}
