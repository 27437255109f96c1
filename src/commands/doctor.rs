//! `crossrole doctor [PROFILE] [--offline]`: checks everything a working
//! setup depends on, one line each (ok / warn / FAIL) with the fix, and exits
//! non-zero when anything failed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::awsfile::{AwsFile, DisagreementKind, FileKind};
use crate::cache::{self, Lookup};
use crate::commands::doctor_plaintext as plaintext;
use crate::credentials::{mask_key_id, LongTermKey};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::profile::{
    is_crossrole_process, managed_names, read_managed, sts_target, ManagedProfile, RoleSettings,
};
use crate::sts_errors::{explain, Call};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Report<'a> {
    out: &'a mut dyn Write,
    failed: usize,
    warned: usize,
}

impl Report<'_> {
    fn line(&mut self, status: Status, what: &str, fix: Option<&str>) -> Result<()> {
        let tag = match status {
            Status::Ok => "ok  ",
            Status::Warn => {
                self.warned += 1;
                "warn"
            }
            Status::Fail => {
                self.failed += 1;
                "FAIL"
            }
        };
        let mut text = format!("[{tag}] {what}\n");
        if let Some(fix) = fix {
            text.push_str(&format!("       fix: {fix}\n"));
        }
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write", "stdout", e))
    }
}

/// Most a healthy clock may differ from STS's: SigV4 allows 5 minutes.
const MAX_SKEW_SECONDS: i64 = 300;

pub fn run(
    deps: &Deps<'_>,
    only: Option<&str>,
    offline: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let mut r = Report {
        out,
        failed: 0,
        warned: 0,
    };
    let config_path = &deps.paths.config_file;
    let config = match check_config(&mut r, config_path)? {
        Some(c) => c,
        None => return finish(r),
    };
    let creds = AwsFile::load(&deps.paths.credentials_file, FileKind::Credentials).ok();
    for file in std::iter::once(&config).chain(creds.as_ref()) {
        check_headers(&mut r, file)?;
        check_readers(&mut r, file)?;
    }
    check_plaintext(&mut r, deps, &config, creds.as_ref())?;

    let mut names = managed_names(&config);
    if let Some(p) = only {
        if config.profile(p).is_none() {
            r.line(
                Status::Fail,
                &format!("profile `{p}` is not in {}", config_path.display()),
                Some("run `crossrole setup` to create it"),
            )?;
            return finish(r);
        }
        let mut wanted = vec![p.to_string()];
        if let Ok(ManagedProfile::Role(role)) = read_managed(&config, config_path, p) {
            wanted.push(role.source_profile);
        }
        names.retain(|n| wanted.contains(n));
        if names.is_empty() {
            names = wanted;
        }
    }
    if names.is_empty() {
        r.line(
            Status::Fail,
            "no profile in the config calls crossrole",
            Some("run `crossrole setup --import-credentials --role-arn ARN`"),
        )?;
        return finish(r);
    }

    let mut key_profiles = Vec::new();
    let mut role_profiles = Vec::new();
    for name in &names {
        check_profile_lines(&mut r, deps, &config, name)?;
        check_mfa_prompt(&mut r, deps, &config, name)?;
        match read_managed(&config, config_path, name) {
            Ok(ManagedProfile::Key { profile }) => key_profiles.push(profile),
            Ok(ManagedProfile::Role(role)) => {
                r.line(
                    Status::Ok,
                    &format!(
                        "profile {name}: assumes {} with the key of {}",
                        role.role_arn, role.source_profile
                    ),
                    None,
                )?;
                if !key_profiles.contains(&role.source_profile)
                    && !names.contains(&role.source_profile)
                {
                    key_profiles.push(role.source_profile.clone());
                }
                role_profiles.push(role);
            }
            Err(e) => r.line(Status::Fail, &format!("profile {name}: {e}"), None)?,
        }
    }

    // The keyring and the keys in it.
    let mut keys: Vec<(String, LongTermKey)> = Vec::new();
    match deps.stores.secret(deps.env) {
        Err(e) => r.line(Status::Fail, &format!("keyring: {e}"), None)?,
        Ok(store) => {
            let backend = store.backend();
            for p in &key_profiles {
                match crate::keys::require(store, p) {
                    Ok(k) => {
                        r.line(
                            Status::Ok,
                            &format!(
                                "keyring ({}): key {} for profile {p}",
                                backend.describe(),
                                mask_key_id(&k.access_key_id)
                            ),
                            None,
                        )?;
                        keys.push((p.clone(), k));
                    }
                    Err(e @ (Error::NotFound(_) | Error::NotAKey { .. })) => r.line(
                        Status::Fail,
                        &format!("keyring ({}): {e}", backend.describe()),
                        None,
                    )?,
                    Err(e) => {
                        let locked = store.readiness() == crate::secrets::Readiness::Locked;
                        let fix = match &e {
                            Error::Secrets(crate::secrets::Error::Unavailable(_))
                            | Error::NeedsPerson(_)
                                if !locked =>
                            {
                                "log in to a desktop session, whose keyring answers on its bus, or choose another with CROSSROLE_BACKEND"
                            }
                            _ => "unlock the keyring with your desktop's keyring tool (e.g. Seahorse) or log in to a desktop session, or choose another with CROSSROLE_BACKEND",
                        };
                        r.line(
                            Status::Fail,
                            &format!("keyring ({}) cannot be read: {e}", backend.describe()),
                            Some(fix),
                        )?
                    }
                }
            }
            if let Some(state) = store.state() {
                r.line(
                    Status::Ok,
                    &format!("{}: {state}", backend.describe()),
                    None,
                )?;
            }
        }
    }
    match deps.stores.sessions(deps.env) {
        Ok(s) => r.line(
            Status::Ok,
            &format!("session cache: {}", s.describe()),
            None,
        )?,
        Err(e) => r.line(
            Status::Warn,
            &format!("session cache unavailable: {e}"),
            None,
        )?,
    }

    if offline {
        r.line(Status::Ok, "network checks skipped (--offline)", None)?;
        return finish(r);
    }

    // STS: reachable, identity, clock, then each role. An endpoint found
    // unreachable is not tried again for the roles (each try may take the
    // whole STS timeout).
    let mut unreachable: Vec<crate::sts::StsTarget> = Vec::new();
    for (p, key) in &keys {
        let target = sts_target(deps.env, &config, p, None);
        match deps.sts.get_caller_identity(key, &target) {
            Ok(id) => {
                r.line(
                    Status::Ok,
                    &format!("STS: profile {p} is {} (account {})", id.arn, id.account),
                    None,
                )?;
                check_clock(&mut r, deps, id.server_time)?;
                check_key_age(&mut r, deps, &config, p, key, &id)?;
            }
            Err(e) => {
                if matches!(
                    e,
                    crate::sts::StsError::Unreachable { .. } | crate::sts::StsError::Timeout { .. }
                ) {
                    unreachable.push(target.clone());
                }
                let msg = explain(
                    e,
                    &Call::Identity {
                        profile: p,
                        key_id: &key.access_key_id,
                    },
                );
                r.line(Status::Fail, &format!("STS: {msg}"), None)?;
            }
        }
    }
    for role in &role_profiles {
        let Some((_, key)) = keys.iter().find(|(p, _)| p == &role.source_profile) else {
            r.line(
                Status::Fail,
                &format!(
                    "profile {}: cannot check the role without the key of {}",
                    role.profile, role.source_profile
                ),
                None,
            )?;
            continue;
        };
        let target = sts_target(deps.env, &config, &role.profile, Some(&role.source_profile));
        if unreachable.contains(&target) {
            r.line(
                Status::Warn,
                &format!(
                    "role: not checked for profile {} (STS at {} is unreachable, see above)",
                    role.profile,
                    target
                        .endpoint_url
                        .as_deref()
                        .unwrap_or("its default endpoint")
                ),
                None,
            )?;
            continue;
        }
        check_role(&mut r, deps, &config, role, key)?;
    }
    finish(r)
}

/// The stored key's age, from ListAccessKeys signed with the key itself
/// (the IAM client is built only here, online); warns past 90 days.
fn check_key_age(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    config: &AwsFile,
    profile: &str,
    key: &LongTermKey,
    id: &crate::sts::Identity,
) -> Result<()> {
    use crate::admin::own_keys;
    let masked = mask_key_id(&key.access_key_id);
    let listed = crate::admin::Aws::from_key(deps.env, config, profile, key)
        .map_err(|e| e.to_string())
        .and_then(|aws| own_keys::list(&aws).map_err(|e| e.to_string()));
    let created = match listed {
        Ok(l) => l
            .keys
            .into_iter()
            .find(|k| k.id == key.access_key_id)
            .and_then(|k| k.created)
            .ok_or_else(|| {
                "IAM's list of the user's keys gives no creation date for it".to_string()
            }),
        Err(e) => Err(format!("iam:ListAccessKeys with the key failed ({e})")),
    };
    let created = match created {
        Ok(c) => c,
        Err(why) => {
            let user = id.arn.rsplit('/').next().unwrap_or("USER");
            let mfa = if crate::mfa::key_profile_serial(config, profile).is_ok_and(|s| s.is_some())
            {
                " (the user's policy may allow it only with MFA, which doctor does not ask for)"
            } else {
                ""
            };
            return r.line(
                Status::Warn,
                &format!("key age: cannot tell how old key {masked} of profile {profile} is: {why}{mfa}"),
                Some(&format!(
                    "let the user list its own keys (`crossrole policy --green-account {} --user {user}` prints a policy that also allows `crossrole rotate`), or look at the key in the IAM console",
                    id.account
                )),
            );
        }
    };
    let age = own_keys::age(created, deps.clock.now());
    let what = format!(
        "key age: key {masked} of profile {profile} is {} day(s) old (created {})",
        age.days,
        created.date()
    );
    if age.too_old {
        r.line(
            Status::Warn,
            &format!("{what}, past {} days", own_keys::MAX_KEY_AGE_DAYS),
            Some(&format!(
                "replace it with a new one: `crossrole rotate {profile}`"
            )),
        )
    } else {
        r.line(Status::Ok, &what, None)
    }
}

/// For a profile with an MFA serial: can its prompt reach the person here?
fn check_mfa_prompt(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    config: &AwsFile,
    name: &str,
) -> Result<()> {
    use crate::mfa::doctor::Level;
    let has_serial = config
        .profile(name)
        .is_some_and(|p| p.get(crate::profile::KEY_MFA_SERIAL).is_some());
    if !has_serial {
        return Ok(());
    }
    let settings = match crate::mfa::MfaSettings::of_profile(config, name) {
        Ok(s) => s,
        Err(e) => return r.line(Status::Fail, &e.to_string(), None),
    };
    let (level, what, fix) =
        crate::mfa::doctor::check_prompt(deps.env, &settings, name, crate::prompt::has_tty());
    let status = match level {
        Level::Ok => Status::Ok,
        Level::Warn => Status::Warn,
        Level::Fail => Status::Fail,
    };
    r.line(status, &what, fix.as_deref())
}

fn finish(r: Report<'_>) -> Result<ExitCode> {
    let summary = match (r.failed, r.warned) {
        (0, 0) => "all checks passed\n".to_string(),
        (0, w) => format!("all checks passed, {w} warning(s)\n"),
        (f, w) => format!("{f} check(s) failed, {w} warning(s)\n"),
    };
    r.out
        .write_all(summary.as_bytes())
        .map_err(|e| Error::io("cannot write", "stdout", e))?;
    Ok(if r.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check_config(r: &mut Report<'_>, path: &Path) -> Result<Option<AwsFile>> {
    if !path.exists() {
        r.line(
            Status::Fail,
            &format!("config file {} does not exist", path.display()),
            Some("run `crossrole setup`"),
        )?;
        return Ok(None);
    }
    match AwsFile::load(path, FileKind::Config) {
        Err(e) => {
            r.line(Status::Fail, &format!("config file: {e}"), None)?;
            Ok(None)
        }
        Ok(config) => {
            match config.validate() {
                Ok(()) => r.line(
                    Status::Ok,
                    &format!("config file {} reads cleanly", path.display()),
                    None,
                )?,
                Err(e) => r.line(
                    Status::Fail,
                    &format!("config file: {e}"),
                    Some("fix that line: the AWS CLI and SDKs may refuse or misread the file"),
                )?,
            }
            Ok(Some(config))
        }
    }
}

/// Headers the AWS SDKs and the AWS CLI (botocore) read as different
/// profiles, e.g. `[ profile blue ]`: one of them misses the profile.
fn check_headers(r: &mut Report<'_>, file: &AwsFile) -> Result<()> {
    let path = file
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for m in file.header_mismatches() {
        let seen = |s: &crate::awsfile::Seen| match s {
            crate::awsfile::Seen::Profile(n) => format!("profile `{n}`"),
            crate::awsfile::Seen::Nothing => "no profile".to_string(),
            crate::awsfile::Seen::Unsure => "an unclear name".to_string(),
        };
        let fix = match &m.sdk {
            crate::awsfile::Seen::Profile(n) => format!(
                "write it as `{}` (crossrole setup does this for the profiles it edits)",
                file.header_of(n)
            ),
            _ => "write it as `[profile NAME]` (config) or `[NAME]` (credentials), without spaces or quotes".to_string(),
        };
        r.line(
            Status::Warn,
            &format!(
                "{path}: line {}: header `{}` is read as {} by the AWS SDKs but as {} by the AWS CLI",
                m.line,
                m.header,
                seen(&m.sdk),
                seen(&m.botocore)
            ),
            Some(&fix),
        )?;
    }
    Ok(())
}

/// Every other place the AWS SDKs and the AWS CLI (botocore) read the file
/// differently, e.g. `region = eu-west-1 # main` (botocore keeps the
/// comment), or where botocore cannot read it at all. Headers are
/// `check_headers`' and the SDKs' syntax errors in the config `check_config`'s.
fn check_readers(r: &mut Report<'_>, file: &AwsFile) -> Result<()> {
    let path = file
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for d in file.reader_disagreements() {
        let status = match d.kind {
            DisagreementKind::Header => continue,
            DisagreementKind::SdkCannotRead if file.kind() == FileKind::Config => continue,
            DisagreementKind::SdkCannotRead | DisagreementKind::CliCannotRead => Status::Fail,
            DisagreementKind::Value => Status::Warn,
        };
        r.line(status, &format!("{path}: {d}"), Some(&d.fix))?;
    }
    Ok(())
}

fn check_profile_lines(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    config: &AwsFile,
    name: &str,
) -> Result<()> {
    let Some(p) = config.profile(name) else {
        return r.line(
            Status::Fail,
            &format!("profile {name} is missing from the config"),
            Some("run `crossrole setup`"),
        );
    };
    match p.get("credential_process") {
        None => r.line(
            Status::Fail,
            &format!("profile {name} has no credential_process"),
            Some("run `crossrole setup` to write it"),
        )?,
        Some(cp) if !is_crossrole_process(cp) => r.line(
            Status::Fail,
            &format!("profile {name}: credential_process does not call crossrole"),
            Some("run `crossrole setup` to write it"),
        )?,
        Some(cp) => match first_word(cp).map(PathBuf::from) {
            None => r.line(
                Status::Fail,
                &format!("profile {name}: credential_process is empty"),
                None,
            )?,
            Some(path) => check_binary(r, deps, name, &path)?,
        },
    }
    let native: Vec<&str> = ["role_arn", "source_profile", "credential_source"]
        .into_iter()
        .filter(|k| p.get(k).is_some())
        .collect();
    if !native.is_empty() {
        r.line(
            Status::Fail,
            &format!("profile {name} has {} beside credential_process", native.join(", ")),
            Some("remove them (botocore would assume the role itself, caching plaintext credentials); `crossrole setup` does this"),
        )?;
    }
    Ok(())
}

/// Secrets left in plaintext on disk, whichever profiles are being checked:
/// keys in either file, the files' modes, botocore's assume-role cache.
fn check_plaintext(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    config: &AwsFile,
    creds: Option<&AwsFile>,
) -> Result<()> {
    let managed = managed_names(config);
    let mut findings = Vec::new();
    let files = [
        (Some(config), &deps.paths.config_file),
        (creds, &deps.paths.credentials_file),
    ];
    for (file, path) in files {
        let keys = file
            .map(|f| plaintext::keys_in_file(f, path, &managed))
            .unwrap_or_default();
        let holds_secret = !keys.is_empty();
        findings.extend(keys);
        findings.extend(plaintext::file_mode(path, holds_secret));
    }
    let roles: Vec<(String, String)> = managed
        .iter()
        .filter_map(|n| match read_managed(config, &deps.paths.config_file, n) {
            Ok(ManagedProfile::Role(role)) => Some((role.profile, role.role_arn)),
            _ => None,
        })
        .collect();
    if let Some(dir) = plaintext::botocore_cache_dir(deps.env) {
        findings.extend(plaintext::botocore_cache(&dir, &roles, deps.clock.now()));
    }
    if findings.is_empty() {
        return r.line(
            Status::Ok,
            "no plaintext key or cached session on disk",
            None,
        );
    }
    for f in findings {
        let status = if f.fail { Status::Fail } else { Status::Warn };
        r.line(status, &f.what, Some(&f.fix))?;
    }
    Ok(())
}

fn check_binary(r: &mut Report<'_>, deps: &Deps<'_>, name: &str, path: &Path) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => {
            return r.line(
                Status::Fail,
                &format!(
                    "profile {name}: credential_process runs {}, which does not exist",
                    path.display()
                ),
                Some("re-run `crossrole setup` from the installed binary to rewrite the path"),
            )
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return r.line(
                Status::Fail,
                &format!(
                    "profile {name}: {} is not an executable file",
                    path.display()
                ),
                Some(&format!("chmod +x {}", path.display())),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let same = std::fs::canonicalize(path).is_ok_and(|p| p == deps.self_exe);
    if same {
        r.line(
            Status::Ok,
            &format!("profile {name}: credential_process runs this crossrole"),
            None,
        )
    } else {
        r.line(
            Status::Warn,
            &format!(
                "profile {name}: credential_process runs {}, not this binary ({})",
                path.display(),
                deps.self_exe.display()
            ),
            Some("if that is an old copy, re-run `crossrole setup` with the one you want"),
        )
    }
}

/// The program of a `credential_process` line, split as botocore does on
/// this platform.
fn first_word(s: &str) -> Option<String> {
    first_word_for(s, cfg!(windows))
}

/// shlex on POSIX; on Windows (C runtime rules) a backslash is literal
/// unless it precedes a quote, so `"C:\Program Files\…"` keeps its backslashes.
fn first_word_for(s: &str, windows: bool) -> Option<String> {
    let s = s.trim_start();
    let mut chars = s.chars();
    let mut word = String::new();
    match chars.next()? {
        // setup never writes a `"` inside a Windows path (src/process_line.rs).
        '"' if windows => s[1..].find('"').map(|end| s[1..=end].to_string()),
        '"' => {
            let mut escaped = false;
            for c in chars {
                match (escaped, c) {
                    (true, c) => {
                        word.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => return Some(word),
                    (false, c) => word.push(c),
                }
            }
            None
        }
        '\'' if !windows => chars
            .position(|c| c == '\'')
            .map(|end| s[1..=end].to_string()),
        c => {
            word.push(c);
            word.extend(chars.take_while(|c| !c.is_whitespace()));
            Some(word)
        }
    }
}

fn check_clock(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    server: Option<time::OffsetDateTime>,
) -> Result<()> {
    let Some(server) = server else {
        return r.line(
            Status::Warn,
            "clock: STS sent no Date header to compare with",
            None,
        );
    };
    let skew = (deps.clock.now() - server).whole_seconds();
    if skew.abs() <= MAX_SKEW_SECONDS {
        r.line(
            Status::Ok,
            &format!("clock: within {}s of STS", skew.abs().max(1)),
            None,
        )
    } else {
        r.line(
            Status::Fail,
            &format!("clock: {}s {} STS's", skew.abs(), if skew > 0 { "ahead of" } else { "behind" }),
            Some("sync the clock (e.g. `timedatectl set-ntp true`); AWS rejects requests more than 5 minutes off"),
        )
    }
}

fn check_role(
    r: &mut Report<'_>,
    deps: &Deps<'_>,
    config: &AwsFile,
    role: &RoleSettings,
    key: &LongTermKey,
) -> Result<()> {
    if role.mfa_serial.is_some() {
        // Only a cached session can be checked without asking for a code.
        if let Ok(sessions) = deps.stores.sessions(deps.env) {
            let entry = cache::session_key(role, &key.access_key_id);
            if let Lookup::Fresh(_) = cache::lookup(sessions, &entry, deps.clock.now()) {
                return r.line(
                    Status::Ok,
                    &format!("role: profile {} has a valid cached session", role.profile),
                    None,
                );
            }
        }
        if !crate::prompt::has_tty() {
            return r.line(
                Status::Warn,
                &format!("role: not checked for profile {} (it needs an MFA code and there is no terminal)", role.profile),
                None,
            );
        }
    }
    match crate::role_session::assume(deps, config, role, key) {
        Ok(s) => r.line(
            Status::Ok,
            &format!(
                "role: profile {} assumes {} (session until {})",
                role.profile,
                role.role_arn,
                crate::credentials::format_expiration(s.expiration)
            ),
            None,
        ),
        Err(e) => r.line(Status::Fail, &format!("role: {e}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::first_word;

    #[test]
    fn splits_credential_process_like_shlex() {
        assert_eq!(
            first_word(r#""/a b/crossrole" credential-process x"#).as_deref(),
            Some("/a b/crossrole")
        );
        assert_eq!(first_word(r#""/a\"b" x"#).as_deref(), Some("/a\"b"));
        assert_eq!(
            first_word("/usr/bin/crossrole credential-process x").as_deref(),
            Some("/usr/bin/crossrole")
        );
        assert_eq!(first_word("'/x y' z").as_deref(), Some("/x y"));
        assert_eq!(first_word("\"unterminated"), None);
    }

    #[test]
    fn splits_windows_lines_keeping_backslashes() {
        use super::first_word_for;
        assert_eq!(
            first_word_for(
                r#""C:\Program Files\crossrole\crossrole.exe" credential-process blue"#,
                true
            )
            .as_deref(),
            Some(r"C:\Program Files\crossrole\crossrole.exe")
        );
        assert_eq!(
            first_word_for(
                r"\\server\share\crossrole.exe credential-process blue",
                true
            )
            .as_deref(),
            Some(r"\\server\share\crossrole.exe")
        );
        assert_eq!(
            first_word_for(r"C:\it's\crossrole.exe x", true).as_deref(),
            Some(r"C:\it's\crossrole.exe")
        );
        assert_eq!(
            first_word_for(r#""\\server\team tools\crossrole.exe" x"#, true).as_deref(),
            Some(r"\\server\team tools\crossrole.exe")
        );
    }
}
