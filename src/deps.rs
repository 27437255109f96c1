//! What a command needs from the outside world, passed in rather than reached
//! for: environment, file locations, clock, secret stores, STS. Tests build
//! their own; `main` builds the real ones. Stores open lazily, so a command
//! pays only for the backends it touches.

use std::cell::OnceCell;
use std::path::PathBuf;

use crate::clock::Clock;
use crate::credentials::{LongTermKey, Session};
use crate::env::Env;
use crate::error::Result;
use crate::paths::Paths;
use crate::secrets::{SecretStore, SessionStore};
use crate::sts::{AssumeRoleRequest, Identity, SessionTokenRequest, StsError, StsTarget};

/// The STS calls, behind a trait so command logic can be tested offline.
/// The MFA-session calls have defaults so that a fake which never needs them
/// stays small; the real STS implements every one.
pub trait Sts {
    fn get_caller_identity(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
    ) -> Result<Identity, StsError>;
    fn assume_role(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError>;
    fn get_session_token(
        &self,
        _key: &LongTermKey,
        _target: &StsTarget,
        _req: &SessionTokenRequest<'_>,
    ) -> Result<Session, StsError> {
        Err(StsError::Setup(
            "this STS cannot make GetSessionToken calls".into(),
        ))
    }
    fn assume_role_with_session(
        &self,
        _session: &Session,
        _target: &StsTarget,
        _req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError> {
        Err(StsError::Setup(
            "this STS cannot make AssumeRole calls with a session".into(),
        ))
    }
    /// GetFederationToken (console sign-in for key profiles). Fakes that
    /// never sign in need not implement it.
    fn get_federation_token(
        &self,
        _key: &LongTermKey,
        _target: &StsTarget,
        _name: &str,
        _policy_arn: &str,
    ) -> Result<Session, StsError> {
        Err(StsError::Setup(
            "GetFederationToken is not available here".into(),
        ))
    }
}

/// The real STS, through the AWS SDK.
pub struct AwsSts;

impl Sts for AwsSts {
    fn get_caller_identity(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
    ) -> Result<Identity, StsError> {
        crate::sts::get_caller_identity(key, target)
    }

    fn assume_role(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError> {
        crate::sts::assume_role(key, target, req)
    }

    fn get_session_token(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
        req: &SessionTokenRequest<'_>,
    ) -> Result<Session, StsError> {
        crate::sts::get_session_token(key, target, req)
    }

    fn assume_role_with_session(
        &self,
        session: &Session,
        target: &StsTarget,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError> {
        crate::sts::assume_role_with_session(session, target, req)
    }

    fn get_federation_token(
        &self,
        key: &LongTermKey,
        target: &StsTarget,
        name: &str,
        policy_arn: &str,
    ) -> Result<Session, StsError> {
        crate::sts::get_federation_token(key, target, name, policy_arn)
    }
}

type SecretOpener = Box<dyn Fn(&Env) -> Result<Box<dyn SecretStore>, crate::secrets::Error>>;
type SessionOpener = Box<dyn Fn(&Env) -> Result<Box<dyn SessionStore>, crate::secrets::Error>>;

/// Secret and session stores, opened on first use and kept for the process.
pub struct Stores {
    secret: OnceCell<Box<dyn SecretStore>>,
    session: OnceCell<Box<dyn SessionStore>>,
    open_secret: SecretOpener,
    open_session: SessionOpener,
}

impl Stores {
    pub fn real() -> Self {
        Stores::with_openers(
            Box::new(crate::secrets::open_secret_store),
            Box::new(crate::secrets::open_session_store),
        )
    }

    /// Stores that open as clones of `secrets` and `sessions`: test stores
    /// whose clones share one map, so several "processes" see one keyring.
    #[cfg(test)]
    pub fn shared<S, T>(secrets: S, sessions: T) -> Self
    where
        S: SecretStore + Clone + 'static,
        T: SessionStore + Clone + 'static,
    {
        Stores::with_openers(
            Box::new(move |_| Ok(Box::new(secrets.clone()) as Box<dyn SecretStore>)),
            Box::new(move |_| Ok(Box::new(sessions.clone()) as Box<dyn SessionStore>)),
        )
    }

    pub fn with_openers(open_secret: SecretOpener, open_session: SessionOpener) -> Self {
        Stores {
            secret: OnceCell::new(),
            session: OnceCell::new(),
            open_secret,
            open_session,
        }
    }

    pub fn secret(&self, env: &Env) -> Result<&dyn SecretStore> {
        if let Some(s) = self.secret.get() {
            return Ok(s.as_ref());
        }
        let opened = (self.open_secret)(env)?;
        Ok(self.secret.get_or_init(|| opened).as_ref())
    }

    pub fn sessions(&self, env: &Env) -> Result<&dyn SessionStore> {
        if let Some(s) = self.session.get() {
            return Ok(s.as_ref());
        }
        let opened = (self.open_session)(env)?;
        Ok(self.session.get_or_init(|| opened).as_ref())
    }
}

pub struct Deps<'a> {
    pub env: &'a Env,
    pub paths: Paths,
    pub clock: &'a dyn Clock,
    pub sts: &'a dyn Sts,
    pub stores: Stores,
    /// Asks for MFA codes (the configured driver; tests count the questions).
    pub prompter: &'a dyn crate::mfa::prompt::Prompter,
    /// The absolute path written into `credential_process`.
    pub self_exe: PathBuf,
}
