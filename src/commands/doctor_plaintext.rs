//! The secrets `doctor` finds left in plaintext: keys in the shared config and
//! credentials files (any section, read by the SDKs or not), those files open
//! to other users, and botocore's assume-role cache (`~/.aws/cli/cache`) still
//! holding sessions of a role that crossrole now serves. Pure findings; doctor
//! prints them.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::OffsetDateTime;

use crate::awsfile::AwsFile;
use crate::commands::export::shell_quote;
use crate::credentials::mask_key_id;
use crate::env::Env;

/// One thing to report: `fail` makes doctor exit non-zero.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub fail: bool,
    pub what: String,
    pub fix: String,
}

/// What one section of a file holds in plaintext.
struct Section {
    header: String,
    key_id: Option<String>,
    secret: bool,
    token: bool,
}

/// Every section of `file` holding `aws_access_key_id` or
/// `aws_secret_access_key`. A profile crossrole manages fails (the AWS CLI
/// takes the file's key before crossrole's `credential_process`); any other
/// is a warning, since something else may still use it.
pub fn keys_in_file(file: &AwsFile, path: &Path, managed: &[String]) -> Vec<Finding> {
    let mut sections: Vec<Section> = Vec::new();
    let keys = [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ];
    for (header, key, value) in file.keys_in_any_section(&keys) {
        let i = match sections.iter().position(|s| s.header == header) {
            Some(i) => i,
            None => {
                sections.push(Section {
                    header,
                    key_id: None,
                    secret: false,
                    token: false,
                });
                sections.len() - 1
            }
        };
        let s = &mut sections[i];
        match key.as_str() {
            "aws_access_key_id" => s.key_id = Some(value),
            "aws_secret_access_key" => s.secret = true,
            _ => s.token = true,
        }
    }
    sections
        .into_iter()
        .filter(|s| s.key_id.is_some() || s.secret)
        .map(|s| finding_for(&s, path, managed))
        .collect()
}

fn finding_for(s: &Section, path: &Path, managed: &[String]) -> Finding {
    let name = profile_name(&s.header);
    let id = s
        .key_id
        .as_deref()
        .map(|id| format!(" {}", mask_key_id(id)))
        .unwrap_or_default();
    if managed.iter().any(|m| m == name) {
        return Finding {
            fail: true,
            what: format!(
                "profile {name} still has a plaintext key{id} in {}, which the AWS CLI uses instead of crossrole",
                path.display()
            ),
            fix: format!("crossrole setup --source-profile {name} --import-credentials"),
        };
    }
    let kind = if s.token {
        "temporary credentials"
    } else {
        "long-term key"
    };
    let section = if s.header.is_empty() {
        "before any section".to_string()
    } else {
        format!("in [{}]", s.header)
    };
    let fix = if name.is_empty() {
        "delete it from the file: no AWS tool reads a key outside a section".to_string()
    } else if s.token {
        "delete them from the file once nothing needs them (they expire, but stay readable until then)".to_string()
    } else {
        format!(
            "to keep it in the keyring instead: crossrole setup --source-profile {name} --import-credentials --role-arn ARN; if nothing uses it, delete it from the file (and deactivate it in IAM)"
        )
    };
    Finding {
        fail: false,
        what: format!("plaintext {kind}{id} {section} of {}", path.display()),
        fix,
    }
}

/// The profile a header names, near enough for a message: `profile x` → `x`.
fn profile_name(header: &str) -> &str {
    let h = header.trim();
    h.strip_prefix("profile")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .map(str::trim)
        .unwrap_or(h)
}

/// A config or credentials file that group or others can open, or that is
/// executable. Fails when the file holds a secret, warns otherwise.
#[cfg(unix)]
pub fn file_mode(path: &Path, holds_secret: bool) -> Option<Finding> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    if mode & 0o7177 == 0 {
        return None;
    }
    let what = if holds_secret {
        "and it holds a plaintext key"
    } else {
        "(it holds no key now, but `aws configure` would write one there)"
    };
    Some(Finding {
        fail: holds_secret,
        what: format!(
            "{} has mode {mode:04o}, more open than 0600, {what}",
            path.display()
        ),
        fix: format!("chmod 600 {}", shell_quote(&path.to_string_lossy())),
    })
}

#[cfg(not(unix))]
pub fn file_mode(_path: &Path, _holds_secret: bool) -> Option<Finding> {
    None
}

/// Where botocore (the AWS CLI) caches assume-role sessions: `~/.aws/cli/cache`,
/// `~` being USERPROFILE on Windows (Python's expanduser), HOME elsewhere.
pub fn botocore_cache_dir(env: &Env) -> Option<PathBuf> {
    let home = if cfg!(windows) {
        env.get_os("USERPROFILE").or_else(|| env.get_os("HOME"))
    } else {
        env.get_os("HOME")
    }?;
    Some(PathBuf::from(home).join(".aws").join("cli").join("cache"))
}

/// Only the fields looked at; the credentials in the file are skipped by the
/// parser, never kept.
#[derive(Deserialize)]
struct CacheEntry {
    #[serde(rename = "AssumedRoleUser")]
    user: Option<AssumedRoleUser>,
    #[serde(rename = "Credentials")]
    credentials: Option<CacheCredentials>,
}

#[derive(Deserialize)]
struct AssumedRoleUser {
    #[serde(rename = "Arn")]
    arn: Option<String>,
}

#[derive(Deserialize)]
struct CacheCredentials {
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
}

/// botocore cache files holding a session of one of `roles` ((profile, role
/// ARN) of crossrole's role profiles): left from when the profile assumed the
/// role through botocore (`role_arn` + `source_profile`). Fails while any is
/// still valid (a live session in plaintext), warns once all have expired.
pub fn botocore_cache(
    dir: &Path,
    roles: &[(String, String)],
    now: OffsetDateTime,
) -> Option<Finding> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut profiles: Vec<&str> = Vec::new();
    let mut live = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some((profile, valid)) = cache_file_role(&path, roles, now) else {
            continue;
        };
        live |= valid;
        if !profiles.contains(&profile) {
            profiles.push(profile);
        }
        files.push(path);
    }
    if files.is_empty() {
        return None;
    }
    files.sort();
    let state = if live {
        "a session still valid"
    } else {
        "expired sessions"
    };
    Some(Finding {
        fail: live,
        what: format!(
            "botocore's assume-role cache {} has {} file(s) with plaintext {state} of the role of profile {}, left from before crossrole served it",
            dir.display(),
            files.len(),
            profiles.join(", ")
        ),
        fix: format!(
            "rm -f -- {}",
            files
                .iter()
                .map(|f| shell_quote(&f.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    })
}

/// The profile whose role `path` holds a session of, and whether it is valid
/// (an unreadable expiration counts as valid).
fn cache_file_role<'r>(
    path: &Path,
    roles: &'r [(String, String)],
    now: OffsetDateTime,
) -> Option<(&'r str, bool)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return None;
    }
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).ok()?);
    let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
    let arn = entry.user?.arn?;
    let (profile, _) = roles
        .iter()
        .find(|(_, role_arn)| is_session_of(&arn, role_arn))?;
    let valid = entry
        .credentials
        .and_then(|c| c.expiration)
        .and_then(|e| {
            OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339).ok()
        })
        .is_none_or(|at| at > now);
    Some((profile, valid))
}

/// Whether `arn:P:sts::A:assumed-role/NAME/SESSION` is a session of
/// `arn:P:iam::A:role/PATH/NAME` (the role path is not in the session ARN).
fn is_session_of(session_arn: &str, role_arn: &str) -> bool {
    let Some(role) = role_arn.split_once(":iam::").and_then(|(p, rest)| {
        let (account, path) = rest.split_once(":role/")?;
        Some((p, account, path.rsplit('/').next()?))
    }) else {
        return false;
    };
    let Some(session) = session_arn.split_once(":sts::").and_then(|(p, rest)| {
        let (account, tail) = rest.split_once(":assumed-role/")?;
        Some((p, account, tail.split('/').next()?))
    }) else {
        return false;
    };
    role == session
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsfile::FileKind;

    const ROLE: &str = "arn:aws:iam::222222222222:role/team/CrossAccountS3Access-Role";

    #[test]
    fn session_arn_matches_its_role_only() {
        let s =
            "arn:aws:sts::222222222222:assumed-role/CrossAccountS3Access-Role/botocore-session-1";
        assert!(is_session_of(s, ROLE));
        assert!(!is_session_of(
            s,
            "arn:aws:iam::333333333333:role/team/CrossAccountS3Access-Role"
        ));
        assert!(!is_session_of(s, "arn:aws:iam::222222222222:role/Other"));
        assert!(!is_session_of(
            s,
            "arn:aws-cn:iam::222222222222:role/CrossAccountS3Access-Role"
        ));
        assert!(!is_session_of("garbage", ROLE));
    }

    #[test]
    fn every_section_with_a_key_is_found_and_masked() {
        let text = "aws_access_key_id = AKIAORPHANORPHAN0000\n[default]\naws_access_key_id = AKIADEFAULTDEFAULT00\naws_secret_access_key = s\n[profile green]\nregion = x\naws_access_key_id = AKIAGREENGREENGREEN0\n[ profile odd ]\naws_secret_access_key = s\n[profile tmp]\naws_access_key_id = ASIATEMPTEMPTEMPTEMP\naws_secret_access_key = s\naws_session_token = t\n[profile clean]\nregion = y\n";
        let file = AwsFile::parse(text, FileKind::Config);
        let found = keys_in_file(&file, Path::new("/c"), &["green".to_string()]);
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found[0].what.contains("before any section") && !found[0].fail);
        assert!(found[0].fix.starts_with("delete it"));
        assert!(found[1].what.contains("[default]") && !found[1].fail);
        assert!(found[1].fix.contains("--source-profile default"));
        assert!(found[2].fail && found[2].what.contains("profile green"));
        assert!(found[3].what.contains("[ profile odd ]"), "{found:?}");
        assert!(found[3].fix.contains("--source-profile odd "));
        assert!(found[4].what.contains("temporary credentials"));
        assert!(found[4].fix.starts_with("delete them"));
        for f in &found {
            for id in [
                "AKIAORPHANORPHAN0000",
                "AKIADEFAULTDEFAULT00",
                "AKIAGREENGREENGREEN0",
            ] {
                assert!(!f.what.contains(id), "{}", f.what);
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_flags_group_other_and_exec_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("credentials");
        std::fs::write(&p, "").unwrap();
        for (mode, flagged) in [
            (0o600, false),
            (0o400, false),
            (0o640, true),
            (0o604, true),
            (0o700, true),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(file_mode(&p, true).is_some(), flagged, "{mode:o}");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(file_mode(&p, true).unwrap().fail);
        let f = file_mode(&p, false).unwrap();
        assert!(!f.fail && f.what.contains("0644") && f.fix.starts_with("chmod 600 "));
    }

    #[test]
    fn cache_files_of_crossrole_roles_only() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let write = |name: &str, role: &str, exp: &str| {
            let doc = format!(
                r#"{{"Credentials": {{"AccessKeyId": "ASIAX", "SecretAccessKey": "secret", "SessionToken": "t", "Expiration": "{exp}"}}, "AssumedRoleUser": {{"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::222222222222:assumed-role/{role}/s"}}}}"#
            );
            std::fs::write(dir.path().join(name), doc).unwrap();
        };
        let roles = vec![("blue".to_string(), ROLE.to_string())];
        assert_eq!(botocore_cache(dir.path(), &roles, now), None);
        write("other.json", "Other", "2099-01-01T00:00:00+00:00");
        std::fs::write(dir.path().join("junk.json"), "{").unwrap();
        assert_eq!(botocore_cache(dir.path(), &roles, now), None);
        write(
            "old.json",
            "CrossAccountS3Access-Role",
            "2001-01-01T00:00:00+00:00",
        );
        let f = botocore_cache(dir.path(), &roles, now).unwrap();
        assert!(!f.fail, "expired only: a warning");
        assert!(f.what.contains("1 file(s)") && f.what.contains("profile blue"));
        assert!(f.fix.ends_with("old.json'") && !f.fix.contains("other.json"));
        write(
            "live.json",
            "CrossAccountS3Access-Role",
            "2099-01-01T00:00:00.123000+00:00",
        );
        let f = botocore_cache(dir.path(), &roles, now).unwrap();
        assert!(f.fail && f.what.contains("2 file(s)"), "{}", f.what);
        assert!(!f.what.contains("secret") && !f.fix.contains("secret"));
    }
}
