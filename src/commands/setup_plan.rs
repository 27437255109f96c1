//! `setup`'s decisions, made as data before anything is touched: from the
//! inputs and a snapshot of both AWS files and the stored key, the new text
//! of each file, the key to store, the plaintext to remove, the backups and
//! what to tell the user. No I/O here: every refusal comes before the first
//! write (no backup, no keyring entry), and the plan can be made again when
//! a file changed under setup's feet (see `setup::apply`).

use std::fmt;
use std::path::Path;

use crate::awsfile::{AwsFile, Disagreement, DisagreementKind, FileKind, Profile};
use crate::cache;
use crate::credentials::{mask_key_id, LongTermKey, Secret};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::profile::{self, NativeKeys, RoleFlags, RoleSettings};
use crate::secrets::Backend;
use crate::validate;

/// Where the source key comes from.
pub enum KeySource {
    /// The source profile's keys in the shared credentials file (or, failing
    /// that, in its config profile), removed from both files afterwards.
    Import { keep_backup: bool },
    /// An id from the command line and a secret from stdin or a no-echo prompt.
    Given(LongTermKey),
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    Env,
    /// Whatever the keyring already holds for the source profile.
    Stored,
}

/// Validated inputs of `setup`.
pub struct SetupInput {
    /// `--source-profile`; else the role profile's own, else `green`.
    pub source_profile: Option<String>,
    pub target_profile: String,
    /// `--region`: for the role profile (and a source profile that has none).
    pub region: Option<String>,
    /// `--source-region`: the only way to change the source profile's region.
    pub source_region: Option<String>,
    /// `--output`; a new profile gets `json` without it.
    pub output: Option<String>,
    /// The role settings given as flags (`source_profile` unused here).
    pub role: RoleFlags,
    pub key_source: KeySource,
    pub verify: bool,
    /// `--yes`: confirms what setup would otherwise ask on a terminal.
    pub yes: bool,
    /// `--mfa-session-seconds`, `--mfa-prompt`, `--mfa-process`.
    pub mfa: crate::mfa::setup::MfaFlags,
}

/// What setup reads before deciding anything.
pub struct Snapshot {
    pub config: AwsFile,
    pub credentials: AwsFile,
    pub stored: Option<LongTermKey>,
    pub backend: Backend,
    /// Hard links of each file: another name keeps removed plaintext.
    pub config_links: u64,
    pub credentials_links: u64,
}

/// The new state of one file.
pub struct FilePlan {
    pub file: AwsFile,
    /// Headers of the sections whose text changes, in the order edited.
    pub sections: Vec<String>,
    /// What plaintext goes, e.g. "aws_access_key_id, aws_secret_access_key of [green]".
    pub removed: Option<String>,
    /// A private copy of the file is written just before it is saved.
    pub backup: bool,
}

impl FilePlan {
    fn new(file: &AwsFile) -> FilePlan {
        FilePlan {
            file: file.clone(),
            sections: Vec::new(),
            removed: None,
            backup: false,
        }
    }

    fn touched(&mut self, header: String) {
        if !self.sections.contains(&header) {
            self.sections.push(header);
        }
    }
}

pub struct SetupPlan {
    pub source: String,
    pub role: RoleSettings,
    pub key: LongTermKey,
    /// The keyring does not hold this key yet.
    pub store_key: bool,
    pub config: FilePlan,
    pub credentials: FilePlan,
    /// Import removes the plaintext while the key goes to a store that does
    /// not survive a reboot, with no backup: the user must confirm.
    pub needs_consent: bool,
    /// Warnings and notes, said first.
    pub notes: Vec<String>,
}

impl fmt::Debug for FilePlan {
    // The text may hold other profiles' plaintext keys: never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePlan")
            .field("path", &self.file.path())
            .field("sections", &self.sections)
            .field("removed", &self.removed)
            .field("backup", &self.backup)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SetupPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupPlan")
            .field("source", &self.source)
            .field("role", &self.role)
            .field("key", &mask_key_id(&self.key.access_key_id))
            .field("store_key", &self.store_key)
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .field("needs_consent", &self.needs_consent)
            .field("notes", &self.notes)
            .finish()
    }
}

const STATIC_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];
/// botocore's own assume-role keys: beside `credential_process` they would
/// make the CLI assume the role itself (caching plaintext) or reject the profile.
const NATIVE_ROLE_KEYS: [&str; 7] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "mfa_serial",
    "external_id",
    "duration_seconds",
    "role_session_name",
];

/// The source profile: the flag, else the one the role profile names
/// (crossrole's key, or botocore's `source_profile` being migrated), else green.
pub fn source_profile(flag: Option<&str>, config: &AwsFile, target: &str) -> Result<String> {
    if let Some(f) = flag {
        return Ok(f.to_string());
    }
    let existing = config.profile(target).unwrap_or_default();
    let Some((key, name)) = [profile::KEY_SOURCE_PROFILE, "source_profile"]
        .into_iter()
        .find_map(|k| existing.get(k).map(|v| (k, v)))
    else {
        return Ok("green".to_string());
    };
    validate::profile_name(name).map_err(|e| Error::invalid_setting(target, key, e))?;
    Ok(name.to_string())
}

pub fn plan(input: &SetupInput, snap: &Snapshot, env: &Env, self_exe: &Path) -> Result<SetupPlan> {
    let tgt = input.target_profile.as_str();
    let src = source_profile(input.source_profile.as_deref(), &snap.config, tgt)?;
    if src == tgt {
        return Err(Error::Usage(format!(
            "--source-profile and --target-profile are both `{src}`; the role profile needs its own name"
        )));
    }
    let mut config = FilePlan::new(&snap.config);
    let mut creds = FilePlan::new(&snap.credentials);
    let mut notes = Vec::new();

    // 1. The key, and the plaintext copies it replaces.
    let key = match &input.key_source {
        KeySource::Given(k) => k.clone(),
        KeySource::Env => key_from_env(env)?,
        KeySource::Stored => snap.stored.clone().ok_or_else(|| {
            Error::NotFound(format!(
                "no key for profile `{src}` is stored yet; give one with --import-credentials, --access-key-id ID (secret on stdin) or --keys-from-env"
            ))
        })?,
        KeySource::Import { keep_backup } => {
            let from_creds = take_static_key(&mut creds, &src)?;
            let from_config = take_static_key(&mut config, &src)?;
            for (fp, links) in [
                (&mut creds, snap.credentials_links),
                (&mut config, snap.config_links),
            ] {
                if fp.removed.is_some() {
                    fp.backup = *keep_backup;
                    if links > 1 {
                        notes.push(format!(
                            "warning: {} has {links} hard links; the other names keep the plaintext key after setup removes it here. Delete them (find -samefile)",
                            label(&fp.file)
                        ));
                    }
                }
            }
            match from_creds.or(from_config).or_else(|| snap.stored.clone()) {
                Some(k) => k,
                None => {
                    return Err(Error::NotFound(format!(
                        "no aws_access_key_id / aws_secret_access_key for profile `{src}` in {} to import; run `aws configure --profile {src}` first, or use --access-key-id",
                        label(&snap.credentials)
                    )))
                }
            }
        }
    };
    let importing = matches!(input.key_source, KeySource::Import { .. });
    if !importing {
        for file in [&snap.credentials, &snap.config] {
            if file
                .profile(&src)
                .is_some_and(|p| p.get("aws_access_key_id").is_some())
            {
                notes.push(format!(
                    "warning: {} has a plaintext key in {}, which the AWS CLI uses before crossrole; re-run with --import-credentials to move it into the keyring",
                    label(file),
                    file.header_of(&src)
                ));
            }
        }
    }

    // 2. The role profile's settings: flags over what the profile has.
    let existing = snap.config.profile(tgt).unwrap_or_default();
    let flags = RoleFlags {
        source_profile: Some(src.clone()),
        ..input.role.clone()
    };
    let role = RoleSettings::from_profile(tgt, &existing, &flags, NativeKeys::Migrate)?;
    if role
        .duration_seconds
        .is_some_and(|d| i64::from(d) <= cache::REFRESH_WINDOW.whole_seconds() + 300)
    {
        notes.push(format!(
            "warning: sessions of {} seconds start within the {}-minute refresh window, so nearly every call to profile {} will ask STS again; 3600 (the default) or more lets the cache work",
            role.duration_seconds.unwrap_or_default(),
            cache::REFRESH_WINDOW.whole_minutes(),
            role.profile
        ));
    }

    // 3. Regions: --region is for the role profile; the source profile keeps
    // its own unless --source-region says otherwise.
    let source_existing = snap.config.profile(&src).unwrap_or_default();
    let source_region = profile::pick_region([
        input.source_region.as_deref(),
        source_existing.get("region"),
        input.region.as_deref(),
        profile::env_region(env),
    ]);
    let target_region = profile::pick_region([
        input.region.as_deref(),
        existing.get("region"),
        Some(source_region.as_str()),
    ]);
    let bad_region = |profile: &str, e: String| {
        Error::InvalidSetting {
        profile: profile.to_string(),
        key: "region".into(),
        message: format!(
            "region: {e}; fix `region` in the config, AWS_REGION, or pass --region / --source-region"
        ),
    }
    };
    validate::region(&source_region).map_err(|e| bad_region(&src, e))?;
    validate::region(&target_region).map_err(|e| bad_region(tgt, e))?;

    // 4. The profiles, edited in memory.
    let program = crate::process_line::program(self_exe, &[&src, tgt])?;
    let process = |name: &str| format!("{program} credential-process {name}");
    let output = |p: &Option<Profile>| match (&input.output, p) {
        (Some(o), _) => Some(o.clone()),
        (None, None) => Some("json".to_string()),
        (None, Some(_)) => None,
    };
    let mut sets: Vec<(&str, &str, String)> = vec![
        (&src, "credential_process", process(&src)),
        (&src, "region", source_region.clone()),
    ];
    if let Some(o) = output(&snap.config.profile(&src)) {
        sets.push((&src, "output", o));
    }
    sets.push((tgt, "credential_process", process(tgt)));
    sets.push((tgt, "region", target_region.clone()));
    if let Some(o) = output(&snap.config.profile(tgt)) {
        sets.push((tgt, "output", o));
    }
    for (k, v) in role.keys() {
        if let Some(v) = v {
            sets.push((tgt, k, v));
        }
    }
    for (name, k, v) in sets {
        if config.file.set(name, k, &v)? {
            config.touched(config.file.header_of(name));
        }
    }
    if crate::mfa::setup::apply(&mut config.file, tgt, &input.mfa, &role, &mut notes)? {
        config.touched(config.file.header_of(tgt));
    }
    let removals = NATIVE_ROLE_KEYS
        .iter()
        .chain(STATIC_KEYS.iter())
        .map(|k| (tgt, *k))
        .chain(
            ["role_arn", "source_profile", "credential_source"]
                .into_iter()
                .map(|k| (src.as_str(), k)),
        );
    for (name, k) in removals {
        if config.file.remove_key(name, k)? {
            config.touched(config.file.header_of(name));
        }
    }

    // 5. Headers only one of the two readers understands.
    for name in [src.as_str(), tgt] {
        normalize(&mut config, name, &mut notes);
    }
    if creds.removed.is_some() {
        normalize(&mut creds, &src, &mut notes);
    }

    // 6. What the two readers (the AWS SDKs, the AWS CLI) make of the result.
    // Both files: the AWS CLI and the SDKs resolve a profile from both.
    check_readers(&snap.config, &config, &[src.as_str(), tgt], &mut notes)?;
    check_readers(&snap.credentials, &creds, &[src.as_str(), tgt], &mut notes)?;

    // 7. Keys that would live only in the kernel keyring.
    let removes_plaintext = creds.removed.is_some() || config.removed.is_some();
    let store_key = !snap.stored.as_ref().is_some_and(|s| same_key(s, &key));
    let keep_backup = matches!(input.key_source, KeySource::Import { keep_backup: true });
    if let Some(replaced) = snap
        .stored
        .as_ref()
        .filter(|s| s.access_key_id != key.access_key_id)
    {
        notes.push(replaced_key_note(&src, &replaced.access_key_id));
    }
    let volatile = snap.backend == Backend::Keyutils;
    if volatile && store_key {
        notes.push(format!(
            "warning: the keyutils backend keeps the key in the kernel keyring, which a reboot empties: keep another copy of key {} (or use CROSSROLE_BACKEND=file for a durable store without a desktop keyring)",
            mask_key_id(&key.access_key_id)
        ));
    }
    Ok(SetupPlan {
        source: src,
        role,
        key,
        store_key,
        needs_consent: volatile && removes_plaintext && !keep_backup,
        config,
        credentials: creds,
        notes,
    })
}

/// Storing a key over another one leaves the other one in IAM, where an
/// unused key is a risk: say so, and how to avoid it next time.
fn replaced_key_note(src: &str, old_id: &str) -> String {
    format!(
        "note: this replaces key {old} of profile {src} in the keyring; key {old} may still be active in IAM. Once nothing uses it, delete it: `aws --profile {src} iam list-access-keys` shows the full ids, `aws --profile {src} iam delete-access-key --access-key-id ID` deletes one (or use the IAM console). Next time, `crossrole rotate {src}` replaces the key and deletes the old one in one step",
        old = mask_key_id(old_id)
    )
}

fn normalize(fp: &mut FilePlan, name: &str, notes: &mut Vec<String>) {
    let header = fp.file.header_of(name);
    for old in fp.file.normalize_header(name) {
        notes.push(format!(
            "rewrote the header `{old}` as `{header}` in {}: the AWS CLI (botocore) did not read it as profile {name}",
            label(&fp.file)
        ));
        fp.touched(header.clone());
    }
}

/// Refuses a file that a reader cannot read, or whose profiles `names` the
/// two readers would read differently after the edit; a disagreement in
/// those profiles that the edit itself resolved is said. Line numbers are
/// those of the file as the user has it.
fn check_readers(
    before: &AwsFile,
    fp: &FilePlan,
    names: &[&str],
    notes: &mut Vec<String>,
) -> Result<()> {
    let concerns = |d: &Disagreement| match d.kind {
        DisagreementKind::SdkCannotRead | DisagreementKind::CliCannotRead => true,
        _ => d.profile.as_deref().is_some_and(|p| names.contains(&p)),
    };
    let was: Vec<Disagreement> = before
        .reader_disagreements()
        .into_iter()
        .filter(concerns)
        .collect();
    let now: Vec<Disagreement> = fp
        .file
        .reader_disagreements()
        .into_iter()
        .filter(concerns)
        .collect();
    if !before
        .read_outside(names)
        .kept_in(&fp.file.read_outside(names))
    {
        return Err(Error::Usage(format!(
            "{}: setup's edit of {} would change how the AWS CLI or the SDKs read other sections (a line with a carriage return inside is two lines to botocore); setup changed nothing. Run `crossrole doctor` to see the lines",
            label(&fp.file),
            names.join(" and ")
        )));
    }
    if !now.is_empty() {
        // Name the lines as the user has them: those still at fault after the
        // edit, or (when the edit itself causes it) the edited file's.
        let same = |a: &Disagreement, b: &Disagreement| {
            a.kind == b.kind && a.text == b.text && a.profile == b.profile
        };
        let still: Vec<&Disagreement> = was
            .iter()
            .filter(|w| now.iter().any(|n| same(w, n)))
            .collect();
        let (shown, when) = if still.is_empty() {
            (now.iter().collect(), " after setup's edit")
        } else {
            (still, "")
        };
        let list: Vec<String> = shown
            .iter()
            .map(|d| format!("  {d}\n    fix: {}", d.fix))
            .collect();
        return Err(Error::Usage(format!(
            "{}: the AWS SDKs and the AWS CLI (botocore) would not read it alike{when}; setup changed nothing:\n{}",
            label(&fp.file),
            list.join("\n")
        )));
    }
    for d in &was {
        let said = format!("rewrote the header `{}`", d.text);
        if d.kind == DisagreementKind::Header && notes.iter().any(|n| n.contains(&said)) {
            continue;
        }
        let now_reads = match d.kind {
            DisagreementKind::SdkCannotRead | DisagreementKind::CliCannotRead => "the file",
            _ => "the profile the same",
        };
        notes.push(format!(
            "{}: {d}; after setup's edit both read {now_reads}",
            label(&fp.file)
        ));
    }
    Ok(())
}

pub fn same_key(a: &LongTermKey, b: &LongTermKey) -> bool {
    a.access_key_id == b.access_key_id && a.secret_access_key == b.secret_access_key
}

fn label(file: &AwsFile) -> String {
    file.path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| match file.kind() {
            FileKind::Config => "the config file".into(),
            FileKind::Credentials => "the credentials file".into(),
        })
}

/// Removes every static key of `profile` from the file and returns the key
/// when both halves were there (an empty credentials section goes too).
fn take_static_key(fp: &mut FilePlan, profile: &str) -> Result<Option<LongTermKey>> {
    let Some(p) = fp.file.profile(profile) else {
        return Ok(None);
    };
    let key = match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => {
            let bad = |key: &str, message: String| Error::InvalidSetting {
                profile: profile.to_string(),
                key: key.to_string(),
                message,
            };
            validate::access_key_id(id).map_err(|e| {
                bad(
                    "aws_access_key_id",
                    format!("{}: [{profile}] aws_access_key_id: {e}", label(&fp.file)),
                )
            })?;
            validate::secret_access_key(secret)
                .map_err(|e| bad("aws_secret_access_key", format!("[{profile}]: {e}")))?;
            Some(LongTermKey {
                access_key_id: id.to_string(),
                secret_access_key: Secret::new(secret.to_string()),
            })
        }
        _ => None,
    };
    let header = fp.file.header_of(profile);
    let mut removed = Vec::new();
    for k in STATIC_KEYS {
        if fp.file.remove_key(profile, k)? {
            removed.push(k);
        }
    }
    if removed.is_empty() {
        return Ok(key);
    }
    fp.touched(header.clone());
    if fp.file.kind() == FileKind::Credentials
        && fp
            .file
            .profile(profile)
            .is_some_and(|p| p.properties.is_empty())
    {
        fp.file.remove_profile(profile)?;
    }
    fp.removed = Some(format!("{} of {header}", removed.join(", ")));
    Ok(key)
}

fn key_from_env(env: &Env) -> Result<LongTermKey> {
    let id = env
        .get("AWS_ACCESS_KEY_ID")
        .ok_or_else(|| Error::Other("--keys-from-env: AWS_ACCESS_KEY_ID is not set".into()))?;
    let secret = env
        .get("AWS_SECRET_ACCESS_KEY")
        .ok_or_else(|| Error::Other("--keys-from-env: AWS_SECRET_ACCESS_KEY is not set".into()))?;
    validate::access_key_id(id).map_err(|e| Error::Other(format!("AWS_ACCESS_KEY_ID: {e}")))?;
    validate::secret_access_key(secret)
        .map_err(|e| Error::Other(format!("AWS_SECRET_ACCESS_KEY: {e}")))?;
    Ok(LongTermKey {
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIAABCDEFGHIJKLMNOP";
    const SECRET: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD";
    const ROLE: &str = "arn:aws:iam::222222222222:role/R";

    fn key(id: &str) -> LongTermKey {
        LongTermKey {
            access_key_id: id.into(),
            secret_access_key: Secret::new(SECRET.into()),
        }
    }

    fn input(key_source: KeySource) -> SetupInput {
        SetupInput {
            source_profile: None,
            target_profile: "blue".into(),
            region: Some("eu-west-1".into()),
            source_region: None,
            output: None,
            role: RoleFlags {
                role_arn: Some(ROLE.into()),
                ..RoleFlags::default()
            },
            key_source,
            verify: false,
            yes: false,
            mfa: Default::default(),
        }
    }

    fn snap(config: &str, creds: &str, stored: Option<LongTermKey>) -> Snapshot {
        Snapshot {
            config: AwsFile::parse(config, FileKind::Config),
            credentials: AwsFile::parse(creds, FileKind::Credentials),
            stored,
            backend: Backend::SecretService,
            config_links: 1,
            credentials_links: 1,
        }
    }

    fn plan_of(input: &SetupInput, snap: &Snapshot) -> Result<SetupPlan> {
        let env = Env::from_pairs([("AWS_REGION", "ap-south-1")]);
        plan(input, snap, &env, Path::new("/opt/crossrole"))
    }

    const CREDS: &str = "[green]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\naws_secret_access_key = abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD\n";

    #[test]
    fn import_takes_the_key_from_both_files_and_plans_a_backup() {
        let config = "[profile green]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\naws_secret_access_key = abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD\n";
        let p = plan_of(
            &input(KeySource::Import { keep_backup: true }),
            &snap(config, CREDS, None),
        )
        .unwrap();
        assert_eq!(p.key.access_key_id, ID);
        assert!(p.store_key);
        for fp in [&p.credentials, &p.config] {
            let text = fp.file.to_text();
            assert!(!text.contains("aws_access_key_id"), "{text}");
            assert!(!text.contains(SECRET), "{text}");
            assert!(fp.backup);
        }
        assert_eq!(p.credentials.file.to_text(), "");
        assert_eq!(
            p.config.removed.as_deref(),
            Some("aws_access_key_id, aws_secret_access_key of [profile green]")
        );
        // No secret in the plan's Debug output, only the masked id.
        let debug = format!("{p:?}");
        assert!(!debug.contains(SECRET) && !debug.contains(ID), "{debug}");
        assert!(debug.contains("AKIA…MNOP"), "{debug}");
    }

    #[test]
    fn given_env_and_stored_keys() {
        let given = plan_of(&input(KeySource::Given(key(ID))), &snap("", "", None)).unwrap();
        assert!(given.store_key && given.credentials.removed.is_none());
        let cfg = given.config.file.to_text();
        assert_eq!(
            cfg,
            "[profile green]\ncredential_process = \"/opt/crossrole\" credential-process green\nregion = eu-west-1\noutput = json\n\n[profile blue]\ncredential_process = \"/opt/crossrole\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/R\n"
        );
        assert_eq!(given.config.sections, ["[profile green]", "[profile blue]"]);

        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", ID), ("AWS_SECRET_ACCESS_KEY", SECRET)]);
        let from_env = plan(
            &input(KeySource::Env),
            &snap("", "", None),
            &env,
            Path::new("/opt/crossrole"),
        )
        .unwrap();
        assert_eq!(from_env.key.access_key_id, ID);

        let stored = plan_of(&input(KeySource::Stored), &snap("", "", Some(key(ID)))).unwrap();
        assert!(!stored.store_key);
        // A plaintext key left in the credentials file is warned about.
        let warned = plan_of(&input(KeySource::Stored), &snap("", CREDS, Some(key(ID)))).unwrap();
        assert!(warned
            .notes
            .iter()
            .any(|n| n.contains("plaintext key in [green]")));
    }

    #[test]
    fn a_new_key_over_another_says_the_old_one_may_still_be_active() {
        const OTHER: &str = "AKIAZZZZZZZZZZZZ0042";
        let p = plan_of(
            &input(KeySource::Given(key(ID))),
            &snap("", "", Some(key(OTHER))),
        )
        .unwrap();
        assert!(p.store_key);
        let note = p
            .notes
            .iter()
            .find(|n| n.contains("may still be active in IAM"))
            .unwrap_or_else(|| panic!("no note about the old key: {:?}", p.notes));
        assert!(note.contains("AKIA…0042"), "{note}");
        assert!(!note.contains(OTHER), "full id shown: {note}");
        assert!(note.contains("iam delete-access-key"), "{note}");
        assert!(note.contains("`crossrole rotate green`"), "{note}");
        // The same key again, or a first key: nothing to say.
        for stored in [Some(key(ID)), None] {
            let p = plan_of(&input(KeySource::Given(key(ID))), &snap("", "", stored)).unwrap();
            assert!(
                !p.notes.iter().any(|n| n.contains("may still be active")),
                "{:?}",
                p.notes
            );
        }
    }

    #[test]
    fn migration_uses_the_profiles_own_source_profile() {
        let config = "[profile blue]\nrole_arn = arn:aws:iam::222222222222:role/Old\nsource_profile = work\nexternal_id = ext-123\n";
        let creds = CREDS.replace("[green]", "[work]");
        let mut i = input(KeySource::Import { keep_backup: false });
        i.role.role_arn = None;
        let p = plan_of(&i, &snap(config, &creds, None)).unwrap();
        assert_eq!(p.source, "work");
        assert_eq!(p.role.source_profile, "work");
        assert_eq!(p.role.role_arn, "arn:aws:iam::222222222222:role/Old");
        assert_eq!(p.role.external_id.as_deref(), Some("ext-123"));
        let cfg = p.config.file.to_text();
        assert!(cfg.contains("[profile work]\ncredential_process"), "{cfg}");
        assert!(
            !cfg.contains("\nrole_arn") && !cfg.contains("\nsource_profile"),
            "{cfg}"
        );
        // --source-profile still wins.
        i.source_profile = Some("green".into());
        let p = plan_of(&i, &snap(config, CREDS, None)).unwrap();
        assert_eq!(p.role.source_profile, "green");
    }

    #[test]
    fn a_second_role_profile_leaves_the_source_profile_alone() {
        let config = "[profile green]\ncredential_process = \"/opt/crossrole\" credential-process green\nregion = eu-west-1\noutput = text\n";
        let mut i = input(KeySource::Stored);
        i.target_profile = "blue-prod".into();
        i.region = Some("us-west-2".into());
        let p = plan_of(&i, &snap(config, "", Some(key(ID)))).unwrap();
        let cfg = p.config.file.to_text();
        assert!(cfg.starts_with(config), "{cfg}");
        assert!(cfg.contains("[profile blue-prod]\ncredential_process = \"/opt/crossrole\" credential-process blue-prod\nregion = us-west-2\noutput = json\n"), "{cfg}");
        assert_eq!(p.config.sections, ["[profile blue-prod]"]);
        assert!(!p.store_key);
        // --source-region is the way to change it.
        i.source_region = Some("eu-central-1".into());
        let p = plan_of(&i, &snap(config, "", Some(key(ID)))).unwrap();
        assert!(p.config.file.to_text().contains("[profile green]\ncredential_process = \"/opt/crossrole\" credential-process green\nregion = eu-central-1\n"));
    }

    #[test]
    fn refusals() {
        // No role ARN anywhere: refused, whatever the key source.
        let mut i = input(KeySource::Import { keep_backup: true });
        i.role.role_arn = None;
        let e = plan_of(&i, &snap("", CREDS, None)).unwrap_err();
        assert!(e.to_string().contains("--role-arn is required"), "{e}");
        // Same source and target.
        let mut i = input(KeySource::Given(key(ID)));
        i.source_profile = Some("blue".into());
        assert!(plan_of(&i, &snap("", "", None)).is_err());
        // Nothing to import and nothing stored.
        let e = plan_of(
            &input(KeySource::Import { keep_backup: false }),
            &snap("", "", None),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("aws configure --profile green"),
            "{e}"
        );
        // A duplicate section.
        let dup = "[profile blue]\nregion = x\n[profile blue]\nregion = y\n";
        assert!(plan_of(&input(KeySource::Given(key(ID))), &snap(dup, "", None)).is_err());
    }

    #[test]
    fn keyutils_import_needs_consent_unless_backed_up() {
        let mut s = snap("", CREDS, None);
        s.backend = Backend::Keyutils;
        let p = plan_of(&input(KeySource::Import { keep_backup: false }), &s).unwrap();
        assert!(p.needs_consent);
        assert!(p.notes.iter().any(|n| n.contains("reboot")));
        let p = plan_of(&input(KeySource::Import { keep_backup: true }), &s).unwrap();
        assert!(!p.needs_consent);
        let p = plan_of(&input(KeySource::Given(key(ID))), &s).unwrap();
        assert!(!p.needs_consent);
    }

    #[test]
    fn existing_output_is_kept_and_default_named_as_such() {
        let config = "[default]\noutput = table\nregion = eu-west-1\n";
        let mut i = input(KeySource::Given(key(ID)));
        i.source_profile = Some("default".into());
        i.region = None;
        let p = plan_of(&i, &snap(config, "", None)).unwrap();
        let cfg = p.config.file.to_text();
        assert!(
            cfg.starts_with("[default]\noutput = table\nregion = eu-west-1\ncredential_process"),
            "{cfg}"
        );
        assert_eq!(cfg.matches("output = ").count(), 2, "{cfg}");
        assert_eq!(p.config.sections, ["[default]", "[profile blue]"]);
        i.output = Some("yaml".into());
        let p = plan_of(&i, &snap(config, "", None)).unwrap();
        assert!(p
            .config
            .file
            .to_text()
            .starts_with("[default]\noutput = yaml\n"));
    }

    #[test]
    fn spaced_headers_are_normalised_and_said() {
        let config = "[ profile blue ]\nregion = eu-west-1\n";
        let p = plan_of(&input(KeySource::Given(key(ID))), &snap(config, "", None)).unwrap();
        let cfg = p.config.file.to_text();
        assert!(
            cfg.contains("\n[profile blue]\nregion = eu-west-1\n")
                || cfg.starts_with("[profile blue]\nregion = eu-west-1\n"),
            "{cfg}"
        );
        assert!(!cfg.contains("[ profile blue ]"), "{cfg}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("`[ profile blue ]` as `[profile blue]`")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn files_the_readers_disagree_about() {
        let given = || input(KeySource::Given(key(ID)));
        // botocore cannot read a broken header: refused, naming the line.
        let broken = "[profile green]\nregion = eu-west-1\n[profile blue\nregion = eu-west-1\n";
        let e = plan_of(&given(), &snap(broken, "", None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3: `[profile blue`"), "{e}");
        assert!(
            e.contains("cannot read") && e.contains("changed nothing"),
            "{e}"
        );
        // An inline comment in a value setup rewrites: done, and said.
        let commented = "[profile blue]\nregion = eu-west-1 # main account\n";
        let p = plan_of(&given(), &snap(commented, "", None)).unwrap();
        assert!(p.config.file.to_text().contains("\nregion = eu-west-1\n"));
        assert!(
            p.notes.iter().any(|n| n.contains("line 2")
                && n.contains("`eu-west-1 # main account`")
                && n.contains("both read the profile the same")),
            "{:?}",
            p.notes
        );
        // One setup leaves alone: refused, with both readings.
        let kept = "[profile blue]\noutput = json # mine\n";
        let e = plan_of(&given(), &snap(kept, "", None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2: `output = json # mine`") && e.contains("`json`"),
            "{e}"
        );
        // Elsewhere in the file: not setup's business (doctor lists it).
        let other = "[profile red]\noutput = json # mine\n";
        assert!(plan_of(&given(), &snap(other, "", None)).is_ok());
    }

    #[test]
    fn hard_links_are_warned_about() {
        let mut s = snap("", CREDS, None);
        s.credentials_links = 2;
        let p = plan_of(&input(KeySource::Import { keep_backup: false }), &s).unwrap();
        assert!(
            p.notes.iter().any(|n| n.contains("2 hard links")),
            "{:?}",
            p.notes
        );
    }
}
