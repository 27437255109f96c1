//! `crossrole list [--json]`: the profiles crossrole manages, where their
//! secrets live, and what the cache holds. Never calls STS.

use std::io::Write;

use serde::Serialize;

use crate::awsfile::{AwsFile, FileKind};
use crate::cache;
use crate::credentials::mask_key_id;
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::profile::{managed_names, read_managed, ManagedProfile};

#[derive(Serialize)]
pub struct Row {
    pub profile: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source_profile: Option<String>,
    pub role_arn: Option<String>,
    /// Where the long-term key (of the profile, or of its source) lives.
    pub backend: String,
    /// Whether that keyring can be read now: `ok`, `locked` or `unavailable`.
    pub keyring: &'static str,
    /// For a store that can be locked (`file`): locked, or unlocked until when.
    pub backend_state: Option<String>,
    pub key_id: Option<String>,
    /// `valid`, `refresh-due`, `none`, or `n/a` for key profiles.
    pub session: &'static str,
    pub expires: Option<String>,
    pub minutes_left: Option<i64>,
    pub problem: Option<String>,
}

pub fn run(deps: &Deps<'_>, json: bool, out: &mut dyn Write) -> Result<()> {
    let config = AwsFile::load(&deps.paths.config_file, FileKind::Config)?;
    // Asked once: a locked or absent keyring is shown as such, even when
    // the key id comes from the session cache's index.
    let keyring = match deps.stores.secret(deps.env) {
        Ok(store) => store.readiness(),
        Err(_) => crate::secrets::Readiness::Unavailable,
    }
    .name();
    let rows: Vec<Row> = managed_names(&config)
        .iter()
        .map(|name| Row {
            keyring,
            ..row(deps, &config, name)
        })
        .collect();
    let text = if json {
        serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
    } else if rows.is_empty() {
        format!(
            "no profiles managed by crossrole in {}; run `crossrole setup`\n",
            deps.paths.config_file.display()
        )
    } else {
        table(&rows) + &mfa_table(deps)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", "stdout", e))
}

fn row(deps: &Deps<'_>, config: &AwsFile, name: &str) -> Row {
    let backend = crate::secrets::Backend::select(deps.env)
        .map(|b| b.name().to_string())
        .unwrap_or_else(|_| "unavailable".into());
    let mut r = Row {
        profile: name.to_string(),
        kind: "key",
        source_profile: None,
        role_arn: None,
        backend,
        keyring: "ok",
        backend_state: None,
        key_id: None,
        session: "n/a",
        expires: None,
        minutes_left: None,
        problem: None,
    };
    let managed = match read_managed(config, &deps.paths.config_file, name) {
        Ok(m) => m,
        Err(e) => {
            r.problem = Some(e.to_string());
            return r;
        }
    };
    let sessions = deps.stores.sessions(deps.env).ok();
    let key_profile = match &managed {
        ManagedProfile::Key { profile } => profile.clone(),
        ManagedProfile::Role(role) => role.source_profile.clone(),
    };
    // The index in the session cache first (no keyring prompt), else the
    // keyring itself; a keyring that cannot be reached is reported as such,
    // not as a missing key.
    let key_id = match sessions.and_then(|s| cache::indexed_key_id(s, &key_profile)) {
        Some(id) => Ok(id),
        None => match deps.stores.secret(deps.env) {
            Err(e) => Err(format!("keyring unavailable: {e}")),
            Ok(store) => match crate::keys::load(store, &key_profile) {
                Ok(Some(k)) => Ok(k.access_key_id.clone()),
                Ok(None) => Err(format!("no key stored for `{key_profile}`")),
                Err(e @ Error::NotAKey { .. }) => Err(e.to_string()),
                Err(e) => Err(format!("keyring cannot be read: {e}")),
            },
        },
    };
    let key_id = match key_id {
        Ok(id) => Some(id),
        Err(problem) => {
            r.problem = Some(problem);
            None
        }
    };
    r.key_id = key_id.as_deref().map(mask_key_id);
    // After the key was read, which may have unlocked the store.
    r.backend_state = deps.stores.secret(deps.env).ok().and_then(|s| s.state());
    if let ManagedProfile::Role(role) = managed {
        r.kind = "role";
        r.source_profile = Some(role.source_profile.clone());
        r.role_arn = Some(role.role_arn.clone());
        r.session = "none";
        if let (Some(store), Some(id)) = (sessions, key_id) {
            let entry = cache::session_key(&role, &id);
            let now = deps.clock.now();
            match crate::cache_full::get(deps, store, &entry)
                .map(|b| serde_json::from_slice::<crate::credentials::Session>(&b))
            {
                Some(Ok(s)) => {
                    r.session = if cache::is_fresh(&s, now) {
                        "valid"
                    } else {
                        "refresh-due"
                    };
                    r.expires = Some(crate::credentials::format_expiration(s.expiration));
                    r.minutes_left = Some((s.expiration - now).whole_minutes().max(0));
                }
                Some(Err(_)) => r.session = "corrupt",
                None => {}
            }
        }
    }
    r
}

fn table(rows: &[Row]) -> String {
    let header = [
        "PROFILE", "TYPE", "SOURCE", "ROLE", "KEYRING", "KEY", "SESSION",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let session = match (r.session, r.minutes_left) {
                ("valid", Some(m)) => format!("valid, {} left", human_minutes(m)),
                ("refresh-due", Some(m)) => format!("refresh due ({} left)", human_minutes(m)),
                (s, _) => s.to_string(),
            };
            let session = match &r.problem {
                Some(p) => format!("{session}; {p}"),
                None => session,
            };
            [
                r.profile.clone(),
                r.kind.to_string(),
                r.source_profile.clone().unwrap_or_else(|| "-".into()),
                r.role_arn.clone().unwrap_or_else(|| "-".into()),
                match (r.keyring, &r.backend_state) {
                    ("ok", None) => r.backend.clone(),
                    ("ok", Some(state)) => format!("{} ({state})", r.backend),
                    (state, _) => format!("{} ({state})", r.backend),
                },
                r.key_id.clone().unwrap_or_else(|| "-".into()),
                session,
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for c in &cells {
        for (i, v) in c.iter().enumerate() {
            widths[i] = widths[i].max(v.chars().count());
        }
    }
    let line = |vals: Vec<String>| -> String {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i + 1 == vals.len() {
                s.push_str(v);
            } else {
                s.push_str(&format!("{v:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for c in cells {
        out.push_str(&line(c.to_vec()));
    }
    out
}

/// The cached MFA sessions, each shared by the profiles with its source and serial.
fn mfa_table(deps: &Deps<'_>) -> String {
    let Ok(store) = deps.stores.sessions(deps.env) else {
        return String::new();
    };
    let listed = crate::mfa::session::list(store);
    if listed.is_empty() {
        return String::new();
    }
    let now = deps.clock.now();
    let mut out = String::from("\nMFA SESSION OF  SERIAL  KEY  TIME LEFT\n");
    for m in listed {
        let left = (m.expiration - now).whole_minutes().max(0);
        let state = if left > cache::REFRESH_WINDOW.whole_minutes() {
            format!("valid, {} left", human_minutes(left))
        } else {
            format!("refresh due ({} left)", human_minutes(left))
        };
        out.push_str(&format!(
            "{}  {}  {}  {state}\n",
            m.source_profile,
            m.serial,
            mask_key_id(&m.source_key_id)
        ));
    }
    out
}

fn human_minutes(m: i64) -> String {
    if m >= 60 {
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{m}m")
    }
}
