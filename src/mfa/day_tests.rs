//! A working day with an injected clock, an in-memory keyring, an in-process
//! STS and a prompter that counts its questions: how many MFA codes does a
//! person type? Also serve-don't-fail at the library level.

use std::cell::Cell;

use time::{Duration, OffsetDateTime};

use super::prompt::{Code, CodeRequest, PromptError, Prompter};
use super::MfaSettings;
use crate::awsfile::{AwsFile, FileKind};
use crate::clock::FixedClock;
use crate::credentials::{LongTermKey, Secret, Session};
use crate::deps::{Deps, Stores, Sts};
use crate::env::Env;
use crate::paths::Paths;
use crate::profile::{read_managed, ManagedProfile, RoleSettings};
use crate::secrets::memory::MemStore as Mem;
use crate::sts::{AssumeRoleRequest, Identity, SessionTokenRequest, StsError, StsTarget};

const SERIAL: &str = "arn:aws:iam::111111111111:mfa/ana";
const KEY_ID: &str = "AKIAAAAAAAAAAAAAAAA1";

/// GetSessionToken and AssumeRole, answering sessions that last what was
/// asked from the simulated now; `down` makes every call fail as a dead
/// network would.
#[derive(Default)]
struct DaySts {
    now: Cell<Option<OffsetDateTime>>,
    session_tokens: Cell<usize>,
    assume_with_key: Cell<usize>,
    assume_with_session: Cell<usize>,
    down: Cell<bool>,
}

impl DaySts {
    fn answer(&self, prefix: &str, n: usize, seconds: i64) -> Result<Session, StsError> {
        if self.down.get() {
            return Err(StsError::Unreachable {
                endpoint: "http://127.0.0.1:1".into(),
                detail: "connection refused".into(),
            });
        }
        Ok(Session {
            access_key_id: format!("ASIA{prefix}{n:012}"),
            secret_access_key: Secret::new(format!("secret-{prefix}-{n}")),
            session_token: Secret::new(format!("token-{prefix}-{n}")),
            expiration: self.now.get().unwrap() + Duration::seconds(seconds),
        })
    }
}

impl Sts for DaySts {
    fn get_caller_identity(&self, _: &LongTermKey, _: &StsTarget) -> Result<Identity, StsError> {
        unreachable!("not in a day's work")
    }
    fn assume_role(
        &self,
        key: &LongTermKey,
        _: &StsTarget,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError> {
        assert_eq!(key.access_key_id, KEY_ID);
        assert!(req.mfa_code.is_some(), "per-role MFA sends the code");
        self.assume_with_key.set(self.assume_with_key.get() + 1);
        let n = self.assume_with_key.get();
        self.answer("ROLEKEY", n, req.duration_seconds.unwrap_or(3600).into())
    }
    fn get_session_token(
        &self,
        key: &LongTermKey,
        _: &StsTarget,
        req: &SessionTokenRequest<'_>,
    ) -> Result<Session, StsError> {
        assert_eq!(key.access_key_id, KEY_ID);
        assert_eq!(req.mfa_serial, Some(SERIAL));
        assert_eq!(req.mfa_code, Some("123456"));
        self.session_tokens.set(self.session_tokens.get() + 1);
        let n = self.session_tokens.get();
        self.answer("MFA", n, req.duration_seconds.unwrap_or(43200).into())
    }
    fn assume_role_with_session(
        &self,
        session: &Session,
        _: &StsTarget,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<Session, StsError> {
        assert!(
            session.access_key_id.starts_with("ASIAMFA"),
            "signed with the MFA session"
        );
        assert!(
            req.mfa_code.is_none() && req.mfa_serial.is_none(),
            "no code when chained"
        );
        assert!(
            req.duration_seconds.unwrap_or(3600) <= 3600,
            "chained: at most 1 h"
        );
        self.assume_with_session
            .set(self.assume_with_session.get() + 1);
        let n = self.assume_with_session.get();
        self.answer("ROLE", n, req.duration_seconds.unwrap_or(3600).into())
    }
}

/// Answers "123456" (or refuses, when `away`), counting the questions.
#[derive(Default)]
struct Person {
    asked: Cell<usize>,
    away: Cell<bool>,
}

impl Prompter for Person {
    fn ask(&self, _: &Env, _: &MfaSettings, _: &CodeRequest<'_>) -> Result<Code, PromptError> {
        if self.away.get() {
            return Err(PromptError::Cancelled("MFA dialog"));
        }
        self.asked.set(self.asked.get() + 1);
        Ok(zeroize::Zeroizing::new("123456".into()))
    }
}

struct Day {
    env: Env,
    store: Mem,
    sts: DaySts,
    person: Person,
    config: AwsFile,
    run: tempfile::TempDir,
}

impl Day {
    fn new(extra_role_keys: &str) -> Day {
        let mut text = String::from("[profile green]\nregion = eu-west-1\n");
        for n in 1..=3 {
            text.push_str(&format!(
                "[profile blue{n}]\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::22222222222{n}:role/R\ncrossrole_mfa_serial = {SERIAL}\n{extra_role_keys}"
            ));
        }
        let day = Day {
            env: Env::from_pairs([("USER", "ana")]),
            store: Mem::default(),
            sts: DaySts::default(),
            person: Person::default(),
            config: AwsFile::parse(&text, FileKind::Config),
            run: tempfile::tempdir().unwrap(),
        };
        let key = LongTermKey {
            access_key_id: KEY_ID.into(),
            secret_access_key: Secret::new("long-term-secret".into()),
        };
        crate::keys::save(&day.store, "green", &key).unwrap();
        day
    }

    fn role(&self, name: &str) -> RoleSettings {
        match read_managed(&self.config, std::path::Path::new("config"), name).unwrap() {
            ManagedProfile::Role(r) => r,
            ManagedProfile::Key { .. } => unreachable!(),
        }
    }

    /// One credential-process call for `profile`, as a new process at `at`.
    fn call(&self, profile: &str, at: OffsetDateTime) -> crate::Result<Session> {
        self.sts.now.set(Some(at));
        let clock = FixedClock(at);
        let (secrets, sessions) = (self.store.clone(), self.store.clone());
        let deps = Deps {
            env: &self.env,
            paths: Paths::in_dir(self.run.path()),
            clock: &clock,
            sts: &self.sts,
            stores: Stores::shared(secrets, sessions),
            prompter: &self.person,
            self_exe: "/usr/bin/crossrole".into(),
        };
        crate::role_session::get(&deps, &self.config, &self.role(profile)).map(|(s, _)| s)
    }

    /// Every profile, every minute, from 9:00 for `hours`.
    fn work(&self, hours: i64) {
        for minute in 0..hours * 60 {
            let at = nine() + Duration::minutes(minute);
            for p in ["blue1", "blue2", "blue3"] {
                let s = self
                    .call(p, at)
                    .unwrap_or_else(|e| panic!("{p} at {minute}: {e}"));
                assert!(s.expiration - at > Duration::minutes(15), "{p} at {minute}");
            }
        }
    }
}

fn nine() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_942_800).unwrap()
}

#[test]
fn three_role_profiles_every_minute_for_eight_hours_cost_one_code() {
    let day = Day::new("");
    day.work(8);
    assert_eq!(day.person.asked.get(), 1, "one code for the whole day");
    assert_eq!(day.sts.session_tokens.get(), 1);
    assert_eq!(day.sts.assume_with_key.get(), 0);
    // Each 1-hour role session is refreshed 15 minutes early: every 45
    // minutes, 11 times in 8 hours, for each of the 3 profiles.
    assert_eq!(day.sts.assume_with_session.get(), 33);
}

#[test]
fn without_mfa_sessions_the_same_day_costs_a_code_per_role_session() {
    let day = Day::new("crossrole_mfa_session_seconds = 0\n");
    day.work(8);
    assert_eq!(
        day.person.asked.get(),
        33,
        "the old behaviour: a code every 45 minutes per role"
    );
    assert_eq!(day.sts.session_tokens.get(), 0);
    assert_eq!(day.sts.assume_with_key.get(), 33);
}

#[test]
fn a_longer_role_duration_is_capped_at_one_hour_when_chained() {
    let day = Day::new("crossrole_duration_seconds = 43200\n");
    let s = day.call("blue1", nine()).unwrap();
    assert_eq!(s.expiration, nine() + Duration::hours(1));
}

#[test]
fn a_role_session_with_14_minutes_left_is_served_when_sts_is_down_under_10_not() {
    let day = Day::new("");
    let first = day.call("blue1", nine()).unwrap();
    day.sts.down.set(true);
    let at = nine() + Duration::minutes(46);
    let served = day.call("blue1", at).expect("14 minutes left: served");
    assert_eq!(served.access_key_id, first.access_key_id);
    let e = day
        .call("blue1", nine() + Duration::minutes(51))
        .err()
        .expect("9 minutes left: refused");
    assert!(e.to_string().contains("cannot reach STS"), "{e}");
    day.sts.down.set(false);
    let fresh = day.call("blue1", nine() + Duration::minutes(51)).unwrap();
    assert_ne!(fresh.access_key_id, first.access_key_id);
}

#[test]
fn an_mfa_session_in_its_window_is_served_when_nobody_answers() {
    let day = Day::new("");
    day.call("blue1", nine()).unwrap();
    assert_eq!(day.person.asked.get(), 1);
    day.person.away.set(true);
    // 7h48: the MFA session has 12 minutes left; blue2's first role session
    // needs it, and the person does not answer: it still signs.
    let at = nine() + Duration::minutes(7 * 60 + 48);
    day.call("blue2", at)
        .expect("MFA session served inside the window");
    assert_eq!(day.sts.session_tokens.get(), 1);
    // 7h52: 8 minutes left, not served; the error says why.
    let e = day
        .call("blue3", nine() + Duration::minutes(7 * 60 + 52))
        .err()
        .expect("under 10 minutes");
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert!(matches!(e, crate::Error::Cancelled(_)), "{e:?}");
}
