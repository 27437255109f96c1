//! Two readers, one meaning: every `setup` edit (both profiles, import
//! included) on generated config and credentials files, checked against
//! the two real readers of `~/.aws/config`:
//! - botocore (the AWS CLI, boto3): `raw_config_parse`, `build_profile_map`
//!   and `Session(profile=…)`, in one long-lived Python process
//!   (tests/fixtures/botocore_oracle.py);
//! - the AWS SDK for Rust's own parser (`aws_runtime::env_config`).
//!
//! Properties, per case:
//! - crossrole's models of both readers (`awsfile::meaning`, and the
//!   botocore model behind `reader_disagreements`) say what the real ones do:
//!   whether each can read the file, what each profile holds, and which
//!   profiles they read differently;
//! - a reader that cannot read the config makes setup refuse; setup
//!   refuses for the readers only when one cannot read a file or they
//!   disagree about a profile it writes, and when it goes on past such a
//!   disagreement it says so;
//! - after the edit both readers read both files; every section setup did
//!   not touch reads as before in each reader; the profiles it wrote read,
//!   in each reader and in botocore's resolved session, as crossrole meant.
//!
//! `CROSSROLE_READER_CASES` sets the number of generated cases (default
//! 5,000; bench/readers.sh runs 200,000). Shrunk failures go into
//! tests/fixtures/readers_corpus.jsonl, which is replayed first. Needs
//! python3 with botocore, like tests/awsfile_botocore.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_runtime::env_config::property::PropertiesKey;
use aws_runtime::env_config::section::EnvConfigSections;
use crossrole::awsfile::{AwsFile, DisagreementKind, FileKind};
use crossrole::commands::setup_plan::{plan, KeySource, SetupInput, Snapshot};
use crossrole::credentials::{LongTermKey, Secret};
use crossrole::env::Env;
use crossrole::profile::RoleFlags;
use crossrole::secrets::Backend;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const ID: &str = "AKIAABCDEFGHIJKLMNOP";
const SECRET: &str = "abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD";

// ---------------------------------------------------------------- oracles

struct Botocore {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Botocore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Botocore {
    fn start() -> Option<Botocore> {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/botocore_oracle.py");
        let home = std::env::temp_dir();
        let mut child = Command::new("python3")
            .arg(script)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("LC_ALL", "C.UTF-8")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = BufReader::new(child.stdout.take()?);
        Some(Botocore {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, config: &str, credentials: &str, profiles: &[&str]) -> Value {
        let req =
            serde_json::json!({"config": config, "credentials": credentials, "profiles": profiles});
        writeln!(self.stdin, "{req}").expect("write to the botocore oracle");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from the botocore oracle");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("botocore oracle: {e}: {line:?}"))
    }
}

fn botocore_available() -> bool {
    Command::new("python3")
        .args(["-c", "import botocore"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn oracle() -> Option<&'static Mutex<Botocore>> {
    static O: OnceLock<Option<Mutex<Botocore>>> = OnceLock::new();
    O.get_or_init(|| {
        if !botocore_available() {
            if std::env::var_os("CROSSROLE_SKIP_BOTOCORE").is_some_and(|v| v == "1") {
                return None;
            }
            panic!(
                "python3 cannot import botocore; run `./install.sh --test` \
                 (or set CROSSROLE_SKIP_BOTOCORE=1 to skip this test)"
            );
        }
        Some(Mutex::new(Botocore::start().expect("start python3")))
    })
    .as_ref()
}

/// The AWS SDK for Rust's parser on in-memory contents.
fn sdk_read(text: &str, kind: FileKind) -> Result<EnvConfigSections, String> {
    let k = match kind {
        FileKind::Config => EnvConfigFileKind::Config,
        FileKind::Credentials => EnvConfigFileKind::Credentials,
    };
    let files = EnvConfigFiles::builder().with_contents(k, text).build();
    let env = aws_types::os_shim_internal::Env::from_slice(&[]);
    let fs = aws_types::os_shim_internal::Fs::from_slice(&[]);
    let fut = aws_runtime::env_config::source::load(&env, &fs, &files);
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    // In-memory contents never wait.
    let std::task::Poll::Ready(source) = fut.as_mut().poll(&mut cx) else {
        panic!("env_config::source::load did not finish at once");
    };
    EnvConfigSections::parse(source.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Every key the SDK could have read: the text before the first `=` of
/// any line, trimmed of spaces/tabs and lowercased (its parser's rule).
fn candidate_keys(text: &str) -> BTreeSet<String> {
    text.split('\n')
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim_matches([' ', '\t']).to_ascii_lowercase())
        .filter(|k| !k.is_empty())
        .collect()
}

fn sdk_map(
    get: impl Fn(&str) -> Option<String>,
    keys: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    keys.iter()
        .filter_map(|k| get(k).map(|v| (k.clone(), v)))
        .collect()
}

/// Profile names whose sections the SDK merges in hash-map order
/// (differently spelled headers naming one profile): its reading of them
/// is not deterministic, so they are left out of value comparisons.
fn ambiguous(text: &str, kind: FileKind) -> BTreeSet<String> {
    let mut spellings: BTreeMap<String, BTreeSet<(bool, String)>> = BTreeMap::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.starts_with('[') {
            continue;
        }
        let cut = line.find(['#', ';']).unwrap_or(line.len());
        let t = line[..cut].trim_matches([' ', '\t']);
        let Some(raw) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            continue;
        };
        let inner = raw.trim_matches([' ', '\t']);
        let (prefixed, name) = match inner.split_once([' ', '\t']) {
            Some((p, n)) if p.trim() == "profile" && kind == FileKind::Config => (true, n.trim()),
            Some(_) => continue,
            None if kind == FileKind::Config && inner.trim() != "default" => continue,
            None => (false, inner.trim()),
        };
        spellings
            .entry(name.to_string())
            .or_default()
            .insert((prefixed, raw.to_string()));
    }
    spellings
        .into_iter()
        .filter(|(name, s)| {
            let counted = if kind == FileKind::Config && name == "default" && s.iter().any(|x| x.0)
            {
                s.iter().filter(|x| x.0).count()
            } else {
                s.len()
            };
            counted > 1
        })
        .map(|(n, _)| n)
        .collect()
}

/// botocore's value means the SDK's (a nested block as its lines split botocore's way).
fn same_value(sdk: &str, boto: &Value) -> bool {
    match boto {
        Value::String(s) => s == sdk,
        Value::Object(m) => {
            let parsed: BTreeMap<String, String> = sdk
                .split('\n')
                .filter_map(|l| l.split_once('='))
                // As the SDKs split sub-properties (aws_runtime's parse_sub_properties).
                .map(|(k, v)| {
                    let t = |x: &str| x.trim_matches([' ', '\t']).to_string();
                    (t(k), t(v))
                })
                .collect();
            sdk.starts_with('\n')
                && parsed.len() == m.len()
                && parsed
                    .iter()
                    .all(|(k, v)| m.get(k).and_then(Value::as_str) == Some(v.as_str()))
        }
        _ => false,
    }
}

fn same_section(sdk: &BTreeMap<String, String>, boto: &Value) -> bool {
    let Some(b) = boto.as_object() else {
        return false;
    };
    b.len() == sdk.len()
        && sdk
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|bv| same_value(v, bv)))
}

// ---------------------------------------------------------------- cases

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Case {
    config: String,
    credentials: String,
    source: String,
    import: bool,
    region: Option<String>,
    source_region: Option<String>,
}

const TARGET: &str = "blue";

#[derive(Default, Debug)]
struct Stats {
    cases: usize,
    planned: usize,
    refused_readers: usize,
    refused_other: usize,
    normalised: usize,
    unreadable: usize,
    disagreeing: usize,
    ambiguous: usize,
}

fn fail(case: &Case, what: String) -> Result<(), String> {
    Err(format!(
        "{what}\n  case (add to tests/fixtures/readers_corpus.jsonl): {}",
        serde_json::to_string(case).unwrap_or_default()
    ))
}

macro_rules! ensure {
    ($case:expr, $cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return fail($case, format!($($fmt)*));
        }
    };
}

struct Reading<'a> {
    boto: &'a Value,
    sdk: Result<EnvConfigSections, String>,
    keys: BTreeSet<String>,
    /// Keys as written (sub-property names keep their case).
    raw_keys: BTreeSet<String>,
    ambiguous: BTreeSet<String>,
}

impl Reading<'_> {
    fn boto_ok(&self) -> bool {
        self.boto.get("err").is_none()
    }

    fn boto_profiles(&self, config: bool) -> Option<&serde_json::Map<String, Value>> {
        if config {
            self.boto.pointer("/map/profiles")?.as_object()
        } else {
            self.boto.get("raw")?.as_object()
        }
    }

    fn sdk_profile(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let s = self.sdk.as_ref().ok()?;
        let p = s.get_profile(name)?;
        Some(sdk_map(|k| p.get(k).map(str::to_string), &self.keys))
    }

    fn sdk_names(&self) -> BTreeSet<String> {
        self.sdk
            .as_ref()
            .map(|s| s.profiles().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

fn reading<'a>(text: &str, kind: FileKind, boto: &'a Value) -> Reading<'a> {
    Reading {
        boto,
        sdk: sdk_read(text, kind),
        keys: candidate_keys(text),
        // Every stretch of a line before an `=` (`output = a=b` holds sub-property `a`).
        raw_keys: text
            .split('\n')
            .flat_map(|l| {
                let parts: Vec<&str> = l.split('=').collect();
                let n = parts.len().saturating_sub(1);
                parts.into_iter().take(n)
            })
            .map(|k| k.trim_matches([' ', '\t']).to_string())
            .chain(candidate_keys(text))
            .collect(),
        ambiguous: ambiguous(text, kind),
    }
}

/// crossrole's models of the two readers against the real ones.
fn check_models(case: &Case, file: &AwsFile, r: &Reading, stats: &mut Stats) -> Result<(), String> {
    let config = file.kind() == FileKind::Config;
    let d = file.reader_disagreements();
    let has = |k: DisagreementKind| d.iter().any(|x| x.kind == k);
    ensure!(
        case,
        file.validate().is_ok() == r.sdk.is_ok(),
        "{:?}: crossrole says the SDK {} read it, the SDK says {:?}",
        file.kind(),
        if file.validate().is_ok() {
            "can"
        } else {
            "cannot"
        },
        r.sdk.as_ref().err()
    );
    ensure!(
        case,
        has(DisagreementKind::CliCannotRead) != r.boto_ok(),
        "{:?}: crossrole's botocore model {} read it, botocore says {}",
        file.kind(),
        if has(DisagreementKind::CliCannotRead) {
            "cannot"
        } else {
            "can"
        },
        r.boto
    );
    if r.sdk.is_err() || !r.boto_ok() {
        stats.unreadable += 1;
        return Ok(());
    }
    let boto = r.boto_profiles(config).cloned().unwrap_or_default();
    let mut names = r.sdk_names();
    names.extend(file.profile_names());
    names.extend(boto.keys().cloned());
    let flagged: BTreeSet<String> = d
        .iter()
        .filter(|x| matches!(x.kind, DisagreementKind::Header | DisagreementKind::Value))
        .filter_map(|x| x.profile.clone())
        .collect();
    for name in names {
        if r.ambiguous.contains(&name) {
            stats.ambiguous += 1;
            continue;
        }
        let sdk = r.sdk_profile(&name);
        let ours = file.profile(&name).map(|p| p.properties);
        ensure!(
            case,
            ours == sdk,
            "{:?} profile {name}: crossrole reads {ours:?}, the SDK {sdk:?}",
            file.kind()
        );
        let agree = match (&sdk, boto.get(&name)) {
            (None, None) => true,
            (Some(s), Some(b)) => same_section(s, b),
            _ => false,
        };
        if !agree {
            stats.disagreeing += 1;
        }
        ensure!(
            case,
            agree != flagged.contains(&name),
            "{:?} profile {name}: SDK {sdk:?}, botocore {:?}, crossrole {} a disagreement: {d:?}",
            file.kind(),
            boto.get(&name),
            if agree { "reports" } else { "misses" }
        );
    }
    if config {
        if let (Ok(s), Some(bs)) = (&r.sdk, r.boto.pointer("/map/sso_sessions")) {
            for name in s.sso_sessions() {
                let sdk = s
                    .sso_session(name)
                    .map(|p| sdk_map(|k| p.get(k).map(str::to_string), &r.keys));
                ensure!(
                    case,
                    file.sso_session(name) == sdk,
                    "sso-session {name}: crossrole {:?}, SDK {sdk:?}",
                    file.sso_session(name)
                );
                let _ = bs;
            }
        }
        if let (Ok(s), Some(svc)) = (
            &r.sdk,
            r.boto.pointer("/map/services").and_then(Value::as_object),
        ) {
            let names: BTreeSet<&str> = svc.keys().map(String::as_str).chain(["local"]).collect();
            for name in names {
                let ours = file.services(name).unwrap_or_default();
                let sdk = sdk_services(s, name, &r.raw_keys);
                ensure!(
                    case,
                    ours == sdk,
                    "[services {name}]: crossrole {ours:?}, SDK {sdk:?}"
                );
            }
        }
    }
    Ok(())
}

/// A `[services NAME]` section as the SDK stores it (sub-properties only).
fn sdk_services(
    s: &EnvConfigSections,
    name: &str,
    keys: &BTreeSet<String>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in keys {
        for sp in keys {
            let key = PropertiesKey::builder()
                .section_key("services")
                .section_name(name)
                .property_name(p)
                .sub_property_name(sp)
                .build();
            if let Some(v) = key.ok().and_then(|k| s.other_sections().get(&k).cloned()) {
                out.entry(p.clone()).or_default().insert(sp.clone(), v);
            }
        }
    }
    out
}

/// Whether the real readers disagree about `name`, or cannot read the file.
fn troubled(file: &AwsFile, r: &Reading, name: &str) -> bool {
    if r.sdk.is_err() || !r.boto_ok() {
        return true;
    }
    let config = file.kind() == FileKind::Config;
    let boto = r.boto_profiles(config).and_then(|m| m.get(name));
    match (r.sdk_profile(name), boto) {
        (None, None) => false,
        (Some(s), Some(b)) => !same_section(&s, b),
        _ => true,
    }
}

const SET_KEYS: [&str; 3] = ["credential_process", "region", "output"];
const REMOVED: [&str; 10] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "mfa_serial",
    "external_id",
    "duration_seconds",
    "role_session_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

fn setup_keys(k: &str) -> bool {
    k.starts_with("crossrole_") || SET_KEYS.contains(&k) || REMOVED.contains(&k)
}

fn check_case(case: &Case, o: &mut Botocore, stats: &mut Stats) -> Result<(), String> {
    stats.cases += 1;
    let src = case.source.as_str();
    let cfg = AwsFile::parse(&case.config, FileKind::Config);
    let cred = AwsFile::parse(&case.credentials, FileKind::Credentials);
    let before = o.ask(&case.config, &case.credentials, &[src, TARGET]);
    let rc = reading(&case.config, FileKind::Config, &before["config"]);
    let rk = reading(
        &case.credentials,
        FileKind::Credentials,
        &before["credentials"],
    );
    check_models(case, &cfg, &rc, stats)?;
    check_models(case, &cred, &rk, stats)?;

    let input = SetupInput {
        source_profile: Some(src.to_string()),
        target_profile: TARGET.to_string(),
        region: case.region.clone(),
        source_region: case.source_region.clone(),
        output: None,
        role: RoleFlags {
            role_arn: Some("arn:aws:iam::222222222222:role/R".into()),
            ..RoleFlags::default()
        },
        key_source: if case.import {
            KeySource::Import { keep_backup: false }
        } else {
            KeySource::Given(LongTermKey {
                access_key_id: ID.into(),
                secret_access_key: Secret::new(SECRET.into()),
            })
        },
        verify: false,
        yes: true,
        mfa: Default::default(),
    };
    let snap = Snapshot {
        config: cfg.clone(),
        credentials: cred.clone(),
        stored: None,
        backend: Backend::SecretService,
        config_links: 1,
        credentials_links: 1,
    };
    let env = Env::from_pairs([("AWS_REGION", "eu-west-1")]);
    let cfg_trouble = rc.sdk.is_err() || !rc.boto_ok() || rk.sdk.is_err() || !rk.boto_ok();
    let touched_trouble = [src, TARGET]
        .iter()
        .any(|n| troubled(&cfg, &rc, n) || troubled(&cred, &rk, n));
    let p = match plan(&input, &snap, &env, Path::new("/opt/crossrole")) {
        Err(e) => {
            let e = e.to_string();
            if e.contains("would not read it alike") {
                stats.refused_readers += 1;
                // Refusing what the edit would leave (e.g. a `[DEFAULT]` key that
                // botocore gives each new profile) rests on crossrole's models,
                // which check_models holds to the real readers on every file.
                ensure!(
                    case,
                    touched_trouble || e.contains("after setup's edit"),
                    "refused though the real readers agree: {e}"
                );
                ensure!(case, e.contains("line "), "refusal names no line: {e}");
            } else {
                stats.refused_other += 1;
                if std::env::var_os("CROSSROLE_READER_VERBOSE").is_some() {
                    eprintln!("refused: {e}");
                }
            }
            return Ok(());
        }
        Ok(p) => p,
    };
    stats.planned += 1;
    // The SDK merges two spellings of one header in no set order: its
    // reading then cannot be compared.
    let touched_ambiguous = [src, TARGET]
        .iter()
        .any(|n| rc.ambiguous.contains(*n) || rk.ambiguous.contains(*n));
    // Going on past a file a reader cannot read, or a profile they read
    // differently, is right only when the edit resolves it (checked below,
    // on the result) and setup says so.
    if cfg_trouble || (touched_trouble && !touched_ambiguous) {
        stats.normalised += 1;
        ensure!(
            case,
            p.notes
                .iter()
                .any(|n| n.contains("after setup's edit both read")
                    || n.contains("rewrote the header")),
            "readers disagreed about a profile setup wrote and it said nothing: {:?}",
            p.notes
        );
    }
    let cfg2 = p.config.file.to_text();
    let cred2 = p.credentials.file.to_text();
    let after = o.ask(&cfg2, &cred2, &[src, TARGET]);
    let ac = reading(&cfg2, FileKind::Config, &after["config"]);
    let ak = reading(&cred2, FileKind::Credentials, &after["credentials"]);
    check_models(case, &p.config.file, &ac, stats)?;
    check_models(case, &p.credentials.file, &ak, stats)?;
    ensure!(
        case,
        ac.sdk.is_ok() && ac.boto_ok(),
        "after setup a reader cannot read the config: SDK {:?}, botocore {}\n{cfg2:?}",
        ac.sdk.as_ref().err(),
        ac.boto
    );
    let cred_changed = cred2 != case.credentials;
    ensure!(
        case,
        (rk.sdk.is_err() || ak.sdk.is_ok()) && (!rk.boto_ok() || ak.boto_ok()),
        "credentials: a reader could read it before setup and cannot after"
    );
    ensure!(
        case,
        !cred_changed || (ak.sdk.is_ok() && ak.boto_ok()),
        "credentials: setup edited a file a reader cannot read"
    );

    // Sections setup did not touch read as before, in each reader.
    let written: [&str; 2] = [src, TARGET];
    for key in ["/map/sso_sessions", "/map/services"] {
        ensure!(
            case,
            !rc.boto_ok() || rc.boto.pointer(key) == ac.boto.pointer(key),
            "botocore {key} changed"
        );
    }
    let untouched = |m: Option<&serde_json::Map<String, Value>>, skip: &[&str]| {
        m.map(|m| {
            m.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        })
    };
    if let (Some(b0), Some(b1)) = (rc.boto.get("map"), ac.boto.get("map")) {
        let others = |m: &Value| {
            m.as_object().map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !["profiles", "sso_sessions", "services"].contains(&k.as_str())
                    })
                    // A header setup normalised (`[ profile blue ]`) was one of these.
                    .filter(|(k, _)| {
                        !k.split_whitespace()
                            .last()
                            .is_some_and(|n| written.contains(&n))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        ensure!(
            case,
            others(b0) == others(b1),
            "botocore: a non-profile section changed"
        );
    }
    ensure!(
        case,
        !rc.boto_ok()
            || untouched(rc.boto_profiles(true), &written)
                == untouched(ac.boto_profiles(true), &written),
        "botocore: a config profile setup did not write changed"
    );
    let cred_skip: &[&str] = if case.import { &[src] } else { &[] };
    ensure!(
        case,
        !rk.boto_ok()
            || untouched(rk.boto_profiles(false), cred_skip)
                == untouched(ak.boto_profiles(false), cred_skip),
        "botocore: a credentials profile setup did not edit changed"
    );
    for (r0, r1, skip) in [(&rc, &ac, &written[..]), (&rk, &ak, cred_skip)] {
        if r0.sdk.is_err() {
            continue;
        }
        for name in r0.sdk_names().union(&r1.sdk_names()) {
            if skip.contains(&name.as_str()) || r0.ambiguous.contains(name) {
                continue;
            }
            ensure!(
                case,
                r0.sdk_profile(name) == r1.sdk_profile(name),
                "SDK: profile {name}, which setup did not write, changed: {:?} -> {:?}",
                r0.sdk_profile(name),
                r1.sdk_profile(name)
            );
        }
        if let (Ok(s0), Ok(s1)) = (&r0.sdk, &r1.sdk) {
            let sso = |s: &EnvConfigSections, keys: &BTreeSet<String>| {
                s.sso_sessions()
                    .map(|n| {
                        let p = s.sso_session(n);
                        (
                            n.to_string(),
                            p.map(|p| sdk_map(|k| p.get(k).map(str::to_string), keys)),
                        )
                    })
                    .collect::<BTreeMap<_, _>>()
            };
            let keys: BTreeSet<String> = r0.keys.union(&r1.keys).cloned().collect();
            ensure!(
                case,
                sso(s0, &keys) == sso(s1, &keys),
                "SDK: an sso-session changed"
            );
        }
    }

    // The profiles setup wrote read as crossrole meant, in each reader.
    let boto_after = ac.boto_profiles(true).cloned().unwrap_or_default();
    for name in written {
        let meant = p
            .config
            .file
            .profile(name)
            .map(|x| x.properties)
            .unwrap_or_default();
        let cp = meant.get("credential_process").cloned().unwrap_or_default();
        ensure!(
            case,
            cp == format!("\"/opt/crossrole\" credential-process {name}")
                && meant.contains_key("region"),
            "profile {name}: crossrole meant {meant:?}"
        );
        ensure!(
            case,
            !ac.ambiguous.contains(name),
            "profile {name} left under two spellings"
        );
        ensure!(
            case,
            ac.sdk_profile(name).as_ref() == Some(&meant),
            "SDK reads profile {name} as {:?}, crossrole meant {meant:?}\n{cfg2:?}",
            ac.sdk_profile(name)
        );
        ensure!(
            case,
            boto_after
                .get(name)
                .is_some_and(|b| same_section(&meant, b)),
            "botocore reads profile {name} as {:?}, crossrole meant {meant:?}\n{cfg2:?}",
            boto_after.get(name)
        );
        let resolved = after.pointer(&format!("/resolved/{name}"));
        for k in ["credential_process", "region"] {
            ensure!(
                case,
                resolved.and_then(|r| r.get(k)).and_then(Value::as_str)
                    == meant.get(k).map(String::as_str)
                    || ak
                        .boto_profiles(false)
                        .is_some_and(|m| m.get(name).and_then(|p| p.get(k)).is_some()),
                "botocore Session(profile={name}) resolves {k} to {:?}, crossrole meant {:?}",
                resolved.and_then(|r| r.get(k)),
                meant.get(k)
            );
        }
        for k in ["role_arn", "source_profile"]
            .iter()
            .filter(|_| name == TARGET)
        {
            ensure!(case, !meant.contains_key(*k), "profile {name} keeps {k}");
        }
        // Keys setup does not manage read as before.
        if let (Some(b), false) = (rc.sdk_profile(name), rc.ambiguous.contains(name)) {
            for (k, v) in b.iter().filter(|(k, _)| !setup_keys(k)) {
                ensure!(
                    case,
                    meant.get(k) == Some(v),
                    "profile {name}: `{k}` was {v:?}, now {:?}",
                    meant.get(k)
                );
            }
        }
    }
    if case.import && cred_changed {
        let k = ak.sdk_profile(src).unwrap_or_default();
        let b = ak.boto_profiles(false).and_then(|m| m.get(src)).cloned();
        for key in [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
        ] {
            ensure!(
                case,
                !k.contains_key(key) && b.as_ref().and_then(|b| b.get(key)).is_none(),
                "credentials [{src}] still has {key} after import"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- grammar

fn header(name: &str, style: u8, config: bool) -> String {
    if !config {
        return match style {
            0..=5 => format!("[{name}]"),
            6 => format!("[ {name} ]"),
            7 => format!("[{name}] # c"),
            8 => format!("[profile {name}]"),
            9 => format!("[{name}"),
            10 => format!("[{}]", name.to_uppercase()),
            11 => "[DEFAULT]".to_string(),
            12 => format!("[{name}];c"),
            _ => format!("[\"{name}\"]"),
        };
    }
    if name == "default" && style.is_multiple_of(2) && style < 8 {
        return "[default]".to_string();
    }
    match style {
        0..=4 => format!("[profile {name}]"),
        5 => format!("[profile  {name}]"),
        6 => format!("[ profile {name} ]"),
        7 => format!("[profile\t{name}]"),
        8 => format!("[profile {name}] # c"),
        9 => format!("[profile {name}];c"),
        10 => format!("[Profile {name}]"),
        11 => format!("[profile \"{name}\"]"),
        12 => format!("[profile {name}"),
        13 => match name {
            "default" => "[ default ]".to_string(),
            _ => format!("[profile {name}]]"),
        },
        14 => "[DEFAULT]".to_string(),
        _ => format!("[profile {}]", name.to_uppercase()),
    }
}

fn plain_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("eu-west-1"),
        Just("json"),
        Just("v1"),
        Just("a=b"),
        Just("x:y"),
        Just("caf\u{e9} \u{1f389}"),
        Just("tab\tin"),
        Just("us-east-2"),
        Just("v#nospace"),
    ]
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => plain_value(),
        3 => prop_oneof![
            Just("eu-west-1 # main account"), Just("json ;c"), Just("v;nospace"),
            Just("v\t#tab"), Just("v # "),
        ].prop_map(str::to_string),
        1 => prop_oneof![Just(""), Just("a\rb"), Just("a\rk = c"), Just("v\u{a0}"), Just("\u{b}v")]
            .prop_map(str::to_string),
        1 => "[a-z#; =:\u{e9}]{1,8}",
    ]
}

fn plain_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("region"),
        Just("output"),
        Just("k1"),
        Just("k2"),
        Just("cli_pager"),
        Just("role_arn"),
        Just("source_profile"),
        Just("credential_process"),
        Just("Region"),
    ]
    .prop_map(str::to_string)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => plain_key(),
        1 => prop_oneof![Just("REGION"), Just("my key"), Just("k\u{e9}"), Just("k\t")]
            .prop_map(str::to_string),
    ]
}

fn nested(value: BoxedStrategy<String>, wild: bool) -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec(("[a-z_]{1,5}", value), 1..3),
        any::<u8>(),
    )
        .prop_map(move |(subs, extra)| {
            let mut out = vec!["s3 =".to_string()];
            out.extend(subs.iter().map(|(k, v)| format!("  {k} = {v}")));
            match (wild, extra % 5) {
                (_, 0) => out.insert(2, String::new()),
                (true, 1) => out.insert(2, "  # inside".to_string()),
                (_, 2) => out.push("\tx = y".to_string()),
                _ => {}
            }
            out
        })
}

/// A region setup accepts, for a tame file's `region` key.
fn tame(key: &str, v: String) -> String {
    match key.eq_ignore_ascii_case("region") {
        true if v.len().is_multiple_of(2) => "eu-west-1".to_string(),
        true => "us-east-2".to_string(),
        false => v,
    }
}

/// Lines both readers read alike.
fn plain_item() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        10 => (plain_key(), plain_value()).prop_map(|(k, v)| vec![format!("{k} = {}", tame(&k, v))]),
        2 => (plain_key(), plain_value()).prop_map(|(k, v)| vec![format!("{k}={}", tame(&k, v))]),
        2 => nested(plain_value().boxed(), false),
        2 => prop_oneof![Just("# c"), Just("; c"), Just("#"), Just("# caf\u{e9}")]
            .prop_map(|c| vec![c.to_string()]),
        2 => prop_oneof![Just(""), Just("  "), Just("\t")].prop_map(|c| vec![c.to_string()]),
    ]
}

/// Anything real files hold.
fn wild_item() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        6 => plain_item(),
        6 => (key(), value()).prop_map(|(k, v)| vec![format!("{k} = {v}")]),
        1 => (key(), value()).prop_map(|(k, v)| vec![format!("{k} : {v}")]),
        1 => value().prop_map(|v| vec![format!("a:b = {v}")]),
        2 => nested(value().boxed(), true),
        1 => (value(), "[a-z]{1,5}", any::<bool>()).prop_map(|(v, c, blank)| {
            let mut out = vec![format!("k3 = {v}")];
            if blank {
                out.push(String::new());
            }
            out.push(format!("  {c}"));
            out
        }),
        1 => Just(vec!["  # indented".to_string()]),
        1 => prop_oneof![Just("junk"), Just("= v"), Just("  region = indented")]
            .prop_map(|c| vec![c.to_string()]),
    ]
}

fn cred_item(wild: bool) -> BoxedStrategy<Vec<String>> {
    let other = if wild {
        wild_item().boxed()
    } else {
        plain_item().boxed()
    };
    prop_oneof![
        6 => Just(vec![
            format!("aws_access_key_id = {ID}"),
            format!("aws_secret_access_key = {SECRET}"),
        ]),
        1 => Just(vec![format!("aws_access_key_id = {ID} # work")]),
        1 => Just(vec!["aws_session_token = tok".to_string()]),
        4 => other,
    ]
    .boxed()
}

#[derive(Clone, Debug)]
struct Shape {
    wild: bool,
    bom: bool,
    preamble: Vec<String>,
    sections: Vec<(String, u8, Vec<Vec<String>>)>,
    endings: Vec<u8>,
    final_newline: bool,
}

/// The key a property line defines, as botocore would see it (for the
/// tame files, which keep each key once per section).
fn line_key(l: &str) -> Option<String> {
    if l.starts_with([' ', '\t', '#', ';']) {
        return None;
    }
    l.split_once('=').map(|(k, _)| k.trim().to_lowercase())
}

fn render(s: &Shape, config: bool) -> String {
    let mut lines: Vec<String> = s.preamble.clone();
    for (name, style, items) in &s.sections {
        let style = if s.wild { *style } else { style % 5 };
        lines.push(match name.as_str() {
            "sso" if config => "[sso-session corp]".to_string(),
            "svc" if config => "[services local]".to_string(),
            "other" => "[plugins]".to_string(),
            n => header(n, style, config),
        });
        let mut seen = BTreeSet::new();
        for item in items {
            if !s.wild {
                let keys: Vec<String> = item.iter().filter_map(|l| line_key(l)).collect();
                if keys.iter().any(|k| seen.contains(k)) {
                    continue;
                }
                seen.extend(keys);
            }
            lines.extend(item.iter().cloned());
        }
    }
    let mut text = String::new();
    if s.bom {
        text.push('\u{feff}');
    }
    let n = lines.len();
    for (i, l) in lines.into_iter().enumerate() {
        text.push_str(&l);
        if i + 1 < n || s.final_newline {
            text.push_str(
                match s
                    .endings
                    .get(i % s.endings.len().max(1))
                    .copied()
                    .unwrap_or(0)
                {
                    0..=5 => "\n",
                    6..=8 => "\r\n",
                    _ if s.wild => "\r",
                    _ => "\n",
                },
            );
        }
    }
    text
}

fn shape(config: bool) -> impl Strategy<Value = Shape> {
    prop::bool::weighted(0.4)
        .prop_flat_map(move |wild| {
            let items = match (config, wild) {
                (true, true) => wild_item().boxed(),
                (true, false) => plain_item().boxed(),
                (false, w) => cred_item(w),
            };
            let pool: &[&str] = if config {
                &["green", "blue", "default", "red", "sso", "svc", "other"]
            } else {
                &["green", "blue", "default", "red"]
            };
            let names = prop::sample::subsequence(pool.to_vec(), 0..=pool.len())
                .prop_shuffle()
                .prop_flat_map(move |names| {
                    let dup = prop::sample::select(pool.to_vec());
                    (
                        Just(names),
                        prop::bool::weighted(if wild { 0.2 } else { 0.0 }),
                        dup,
                    )
                })
                .prop_map(|(mut names, twice, dup)| {
                    if twice {
                        names.push(dup);
                    }
                    names
                });
            let sections = names.prop_flat_map(move |names| {
                let style = prop_oneof![12 => 0u8..5, 4 => 5u8..16];
                prop::collection::vec(
                    (style, prop::collection::vec(items.clone(), 0..5)),
                    names.len(),
                )
                .prop_map(move |v| {
                    names
                        .iter()
                        .zip(v)
                        .map(|(n, (st, it))| (n.to_string(), st, it))
                        .collect::<Vec<_>>()
                })
            });
            (
                Just(wild),
                prop::bool::weighted(if wild { 0.05 } else { 0.0 }),
                prop::collection::vec(
                    prop_oneof![
                        4 => Just("# top".to_string()),
                        4 => Just(String::new()),
                        if wild { 1 } else { 0 } => Just("orphan = v".to_string()),
                    ],
                    0..2,
                ),
                sections,
                prop::collection::vec(prop_oneof![30 => 0u8..6, 8 => 6u8..9, 1 => Just(9u8)], 1..8),
                prop::bool::weighted(0.8),
            )
        })
        .prop_map(
            |(wild, bom, preamble, sections, endings, final_newline)| Shape {
                wild,
                bom,
                preamble,
                sections,
                endings,
                final_newline,
            },
        )
}

/// An import needs the source profile's key somewhere in the file.
fn with_key(mut text: String, source: &str, import: bool) -> String {
    if import && !text.contains(&format!("[{source}]")) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "[{source}]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
        ));
    }
    text
}

fn case() -> impl Strategy<Value = Case> {
    (
        shape(true),
        shape(false),
        prop_oneof![6 => Just("green"), 1 => Just("default"), 1 => Just("red")],
        prop::bool::weighted(0.35),
        prop_oneof![Just(None), Just(Some("eu-west-1".to_string()))],
        prop_oneof![3 => Just(None), 1 => Just(Some("us-east-2".to_string()))],
    )
        .prop_map(|(c, k, source, import, region, source_region)| Case {
            config: render(&c, true),
            credentials: with_key(render(&k, false), source, import),
            source: source.to_string(),
            import,
            region,
            source_region,
        })
}

// ---------------------------------------------------------------- tests

fn cases_wanted() -> u32 {
    std::env::var("CROSSROLE_READER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

#[test]
fn setup_edits_read_the_same_in_botocore_and_the_sdk() {
    // The grammar's nested strategies need more than the default stack in debug builds.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(generated_cases)
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn generated_cases() {
    let Some(o) = oracle() else {
        println!("SKIPPED: botocore not available and CROSSROLE_SKIP_BOTOCORE=1");
        return;
    };
    let n = cases_wanted();
    let started = Instant::now();
    let stats = Mutex::new(Stats::default());
    let mut runner = TestRunner::new(PtConfig {
        cases: n,
        failure_persistence: None,
        // Each shrink step asks botocore again: bounded, so a failure
        // still reports within the test's time.
        max_shrink_iters: 400,
        max_shrink_time: 60_000,
        ..PtConfig::default()
    });
    let result = runner.run(&case(), |c| {
        let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
        let r = check_case(&c, &mut o, &mut s).map_err(TestCaseError::fail);
        if s.cases % 20_000 == 0 {
            // Progress for the long run (bench/readers.sh), on stderr.
            eprintln!(
                "{} cases in {:.0}s",
                s.cases,
                started.elapsed().as_secs_f64()
            );
        }
        r
    });
    let s = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    println!(
        "{n} generated cases ({} checks incl. shrinking) in {:.1}s: {s:?}",
        s.cases,
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The grammar reaches every branch the properties have.
    assert!(
        s.planned > 0 && s.refused_readers > 0 && s.normalised > 0 && s.disagreeing > 0,
        "{s:?}"
    );
}

#[test]
fn regression_corpus_replays() {
    let Some(o) = oracle() else {
        println!("SKIPPED: botocore not available and CROSSROLE_SKIP_BOTOCORE=1");
        return;
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readers_corpus.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
    let mut stats = Stats::default();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| l.starts_with('{')) {
        let case: Case =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        if let Err(e) = check_case(&case, &mut o, &mut stats) {
            panic!("corpus line {}: {e}", i + 1);
        }
    }
    assert!(stats.cases >= 3, "{stats:?}");
    println!("{stats:?}");
}

/// Each difference the README lists ("What setup keeps"), shown on the two
/// real readers, and reported by crossrole.
#[test]
fn the_divergence_classes_in_the_readme_are_real() {
    let Some(o) = oracle() else {
        println!("SKIPPED: botocore not available and CROSSROLE_SKIP_BOTOCORE=1");
        return;
    };
    let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
    use FileKind::{Config as C, Credentials as K};
    // (file, kind, profile, SDK reads it, botocore reads it)
    let classes: &[(&str, FileKind, &str, bool, bool)] = &[
        (
            "[profile a]\nregion = eu-west-1 # main account\n",
            C,
            "a",
            true,
            true,
        ),
        ("[ profile a ]\nk = v\n", C, "a", true, true),
        ("[profilex a]\nk = v\n", C, "a", true, true),
        ("[profile \"a\"]\nk = v\n", C, "a", true, true),
        ("[ a ]\nk = v\n", K, "a", true, true),
        ("[profile a\nk = v\n", C, "a", false, false),
        ("[DEFAULT]\nq = 1\n[profile a]\nk = v\n", C, "a", true, true),
        (
            "[profile default]\nk = 1\n[default]\nk = 2\n",
            C,
            "default",
            true,
            true,
        ),
        (
            "[profile a]\nx = 1\n[profile  a]\ny = 2\n",
            C,
            "a",
            true,
            true,
        ),
        (
            "[profile a]\nk = 1\n[profile a]\nj = 2\n",
            C,
            "a",
            true,
            false,
        ),
        ("[profile a]\nk = 1\nk = 2\n", C, "a", true, false),
        ("[profile a]\nk : v\n", C, "a", false, true),
        ("[profile a]\na:b = c\n", C, "a", true, true),
        ("[profile a]\nmy key = v\n", C, "a", true, true),
        ("[profile a]\n  k = v\n", C, "a", false, true),
        ("[profile a]\nk = v\n  # c\n", C, "a", true, true),
        ("[profile a]\nk = v\n\n  more\n", C, "a", true, true),
        ("[profile a]\nk = v\rj = w\n", C, "a", true, true),
        ("\u{feff}[profile a]\nk = v\n", C, "a", false, false),
        ("[profile a]\nk = v\u{a0}\n", C, "a", true, true),
    ];
    for &(text, kind, name, sdk_reads, boto_reads) in classes {
        let (config, creds) = match kind {
            C => (text, ""),
            K => ("", text),
        };
        let answer = o.ask(config, creds, &[]);
        let boto = match kind {
            C => &answer["config"],
            K => &answer["credentials"],
        };
        let r = reading(text, kind, boto);
        assert_eq!(
            r.sdk.is_ok(),
            sdk_reads,
            "{text:?}: SDK {:?}",
            r.sdk.as_ref().err()
        );
        assert_eq!(r.boto_ok(), boto_reads, "{text:?}: botocore {boto}");
        if sdk_reads && boto_reads {
            let file = AwsFile::parse(text, kind);
            assert!(troubled(&file, &r, name), "{text:?}: the readers agree");
        }
        let d = AwsFile::parse(text, kind).reader_disagreements();
        assert!(!d.is_empty(), "{text:?}: crossrole sees no difference");
    }
}
