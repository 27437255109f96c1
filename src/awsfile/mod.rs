//! Format-preserving reader and editor for `~/.aws/config` and
//! `~/.aws/credentials`.
//!
//! CONTRACT (the rest of crossrole relies on exactly this API):
//! - `AwsFile::parse(text, kind)` never fails; `to_text()` returns the input
//!   byte for byte when nothing was edited, valid or not.
//! - Profiles are addressed by their *profile name* ("green", "default");
//!   the editor maps that to `[profile green]` / `[default]` in a config file
//!   and to `[green]` in a credentials file.
//! - `profile()` returns what the AWS SDKs read (shared SDK rules, see
//!   `meaning`), `None` when the profile does not exist.
//! - Edits touch only the lines they must and refuse (with `Error`) a file
//!   whose edited section appears twice, or whose edited key appears twice in
//!   that section, naming the line numbers; and names/values that botocore
//!   could not read back.
//! - `save()` is atomic (temp file in the same folder, fsync, rename), keeps the
//!   mode, follows a symlink to edit its target, creates a new file 0600 and a
//!   missing parent folder 0700.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod botocore;
mod edit;
mod headers;
mod meaning;
mod parse;
mod readers;
mod save;

pub use headers::{HeaderMismatch, Seen};
pub use readers::{Disagreement, DisagreementKind, Outside};
pub use save::Saved;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: section [{section}] appears more than once (lines {lines}); botocore cannot read this file. Merge them into one and run again")]
    DuplicateSection {
        path: String,
        section: String,
        lines: String,
    },
    #[error("{path}: key `{key}` appears more than once in [{section}] (lines {lines}); keep one and run again")]
    DuplicateKey {
        path: String,
        section: String,
        key: String,
        lines: String,
    },
    #[error("invalid profile name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue { key: String, reason: &'static str },
    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What a strict reader (the AWS SDKs) rejects; see [`AwsFile::validate`].
    #[error("{path}: line {line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path} is not valid UTF-8 text (at byte {offset}); fix or remove the bad bytes and run again")]
    NotUtf8 { path: PathBuf, offset: usize },
}

/// Which of the two shared files this is: they name sections differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
}

/// What the SDKs read for one profile: top-level properties, and nested
/// blocks (`s3 =` followed by indented `key = value` lines) as sub-maps.
///
/// Keys are lowercased. `properties` holds every value exactly as the SDKs
/// read it, so a nested block's value is its text (`"\nname = value"`) and a
/// value continued on indented lines is joined with `\n`; `nested` holds the
/// nested blocks parsed into maps (botocore's way).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub properties: BTreeMap<String, String>,
    pub nested: BTreeMap<String, BTreeMap<String, String>>,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }
}

/// A parsed file that remembers its exact text.
#[derive(Clone, Debug)]
pub struct AwsFile {
    kind: FileKind,
    path: Option<PathBuf>,
    doc: parse::Document,
    /// Where the profiles are, built on first use and dropped by each edit.
    index: std::sync::OnceLock<meaning::Index>,
}

impl AwsFile {
    pub fn parse(text: &str, kind: FileKind) -> AwsFile {
        AwsFile {
            kind,
            path: None,
            doc: parse::Document::parse(text),
            index: std::sync::OnceLock::new(),
        }
    }

    /// Reads `path`; a missing file is an empty document (saved later as a new 0600 file).
    pub fn load(path: &Path, kind: FileKind) -> Result<AwsFile, Error> {
        let text = save::load(path)?.unwrap_or_default();
        let mut file = AwsFile::parse(&text, kind);
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole text, exactly as parsed plus any edits.
    pub fn to_text(&self) -> String {
        self.doc.to_text()
    }

    /// Profile names in file order (config: `[default]` and `[profile x]`; credentials: `[x]`).
    pub fn profile_names(&self) -> Vec<String> {
        self.index().names()
    }

    /// `(header, key, value)`, in file order, for every line setting one of
    /// `keys`, in any section, read by the SDKs or not (`[ profile x ]`, `[x]`
    /// in a config file): a secret is on disk either way. `header` is the
    /// text between the brackets ("" before the first header).
    pub fn keys_in_any_section(&self, keys: &[&str]) -> Vec<(String, String, String)> {
        let mut header = String::new();
        let mut found = Vec::new();
        for line in &self.doc.lines {
            match &line.kind {
                parse::LineKind::Header { raw } => header = raw.clone(),
                parse::LineKind::Property { key, value, .. } if keys.contains(&key.as_str()) => {
                    found.push((header.clone(), key.clone(), value.clone()))
                }
                _ => {}
            }
        }
        found
    }

    pub fn profile(&self, name: &str) -> Option<Profile> {
        meaning::profile(&self.doc, self.index(), name)
    }

    fn index(&self) -> &meaning::Index {
        self.index
            .get_or_init(|| meaning::Index::build(&self.doc, self.kind))
    }

    /// A `[services NAME]` section of a config file, per the SDK rules.
    pub fn services(&self, name: &str) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
        meaning::services(&self.doc, self.kind, name)
    }

    /// An `[sso-session NAME]` section of a config file, per the SDK rules.
    pub fn sso_session(&self, name: &str) -> Option<BTreeMap<String, String>> {
        meaning::sso_session(&self.doc, self.kind, name)
    }

    /// `[sso-session x]` names in file order.
    pub fn sso_session_names(&self) -> Vec<String> {
        meaning::sso_session_names(&self.doc, self.kind)
    }

    /// The first error a strict reader (the AWS SDKs' shared parser) would
    /// raise for this text, as `Error::Syntax` with a 1-based line number.
    /// `profile()` and friends read such files leniently (bad lines skipped).
    pub fn validate(&self) -> Result<(), Error> {
        meaning::validate(&self.doc, self.kind).map_err(|e| Error::Syntax {
            path: self.label(),
            line: e.line,
            message: e.message,
        })
    }

    fn label(&self) -> String {
        match (&self.path, self.kind) {
            (Some(p), _) => p.display().to_string(),
            (None, FileKind::Config) => "config file".to_string(),
            (None, FileKind::Credentials) => "credentials file".to_string(),
        }
    }

    /// Runs an edit on a copy, so a refused edit leaves the text unchanged.
    fn edit(
        &mut self,
        f: impl FnOnce(&mut parse::Document, &edit::Ctx) -> Result<bool, Error>,
    ) -> Result<bool, Error> {
        let label = self.label();
        let ctx = edit::Ctx {
            kind: self.kind,
            path: &label,
        };
        let mut doc = self.doc.clone();
        let changed = f(&mut doc, &ctx)?;
        if changed {
            self.doc = doc;
            self.index = std::sync::OnceLock::new();
        }
        Ok(changed)
    }

    /// Sets `key = value` in the profile, creating the section at the end
    /// (after one blank line) if it does not exist. A key that exists keeps
    /// its place and only its value changes. Returns whether the text changed.
    pub fn set(&mut self, profile: &str, key: &str, value: &str) -> Result<bool, Error> {
        self.edit(|doc, ctx| edit::set(doc, ctx, profile, key, value))
    }

    /// Removes the key (with its nested block, if any). Returns whether it existed.
    pub fn remove_key(&mut self, profile: &str, key: &str) -> Result<bool, Error> {
        self.edit(|doc, ctx| edit::remove_key(doc, ctx, profile, key))
    }

    /// Removes the whole section (header, properties, and the comments and
    /// blank lines that belong to it). Returns whether it existed.
    pub fn remove_profile(&mut self, profile: &str) -> Result<bool, Error> {
        self.edit(|doc, ctx| edit::remove_profile(doc, ctx, profile))
    }

    /// Atomically writes the text to `path` (see the module contract).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        save::save(&self.to_text(), path)
    }

    /// `save`, unless the file no longer holds `read` (the text this edit
    /// started from): then nothing is written and the new text is returned,
    /// for the caller to plan its edits again.
    pub fn save_if_unchanged(&self, path: &Path, read: &str) -> Result<Saved, Error> {
        save::save_if_unchanged(&self.to_text(), path, read)
    }

    /// How many hard links the file at `path` has (1 if it is missing).
    pub fn link_count(path: &Path) -> u64 {
        save::link_count(path)
    }

    /// The header a profile has in this file: `[profile x]`, `[default]`, `[x]`.
    pub fn header_of(&self, profile: &str) -> String {
        format!("[{}]", edit::section_label(self.kind, profile))
    }

    /// Headers that the AWS SDKs and botocore read as different profiles.
    pub fn header_mismatches(&self) -> Vec<HeaderMismatch> {
        headers::mismatches(&self.doc, self.kind)
    }

    /// Every place the AWS SDKs and botocore (the AWS CLI) read this file
    /// differently, or where one of them cannot read it at all.
    pub fn reader_disagreements(&self) -> Vec<Disagreement> {
        readers::disagreements(&self.doc, self.kind)
    }

    /// What both readers see outside the profiles `names` (see [`Outside`]).
    pub fn read_outside(&self, names: &[&str]) -> Outside {
        readers::outside(&self.doc, self.kind, names)
    }

    /// Rewrites the headers of `profile` that botocore does not read as
    /// `profile` to the plain spelling; returns the old headers.
    pub fn normalize_header(&mut self, profile: &str) -> Vec<String> {
        let old = headers::normalize(&mut self.doc, self.kind, profile);
        if !old.is_empty() {
            self.index = std::sync::OnceLock::new();
        }
        old
    }
}
