//! Checks `AwsFile::profile()` / `validate()` against the AWS SDKs' shared
//! profile-parser test vectors (`profile-parser-tests.json`), loaded from
//! `$CARGO_MANIFEST_DIR/../shared/aws-sdk-vectors` or `$CROSSROLE_SDK_VECTORS`.
//! When the folder is missing the test fails, naming the path.
//!
//! Deliberate deviations from the SDK reader (see `src/awsfile/meaning.rs`):
//! none of them is exercised by the vectors, so `ALLOWED_DEVIATIONS` is empty:
//! - sections naming one profile are merged in file order (smithy-rs: hash
//!   map order);
//! - a leading byte-order mark is ignored;
//! - `Profile::nested` splits `k = a = b` as `a = b` (botocore's way).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crossrole::awsfile::{AwsFile, FileKind};
use serde_json::Value;

/// Vector cases (by name) where crossrole knowingly reads differently from
/// the SDKs, each with the reason. Empty: every case passes.
const ALLOWED_DEVIATIONS: &[(&str, &str)] = &[];

fn vectors_dir() -> PathBuf {
    match std::env::var_os("CROSSROLE_SDK_VECTORS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/aws-sdk-vectors"),
    }
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

fn expected_sections(v: Option<&Value>) -> Sections {
    let mut out = Sections::new();
    if let Some(Value::Object(m)) = v {
        for (name, props) in m {
            let mut p = BTreeMap::new();
            if let Value::Object(pm) = props {
                for (k, v) in pm {
                    p.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                }
            }
            out.insert(name.clone(), p);
        }
    }
    out
}

fn actual_profiles(config: &AwsFile, creds: &AwsFile) -> Sections {
    let mut out = Sections::new();
    for f in [config, creds] {
        for name in f.profile_names() {
            let entry = out.entry(name.clone()).or_default();
            if let Some(p) = f.profile(&name) {
                // The credentials file is merged last: its properties win.
                entry.extend(p.properties);
            }
        }
    }
    out
}

fn actual_sso(config: &AwsFile) -> Sections {
    config
        .sso_session_names()
        .into_iter()
        .map(|n| {
            let s = config.sso_session(&n).unwrap_or_default();
            (n, s)
        })
        .collect()
}

/// Returns None when the case passes, else a description of the mismatch.
fn check(case: &Value) -> Option<String> {
    let input = &case["input"];
    let config = AwsFile::parse(input["configFile"].as_str().unwrap_or(""), FileKind::Config);
    let creds = AwsFile::parse(
        input["credentialsFile"].as_str().unwrap_or(""),
        FileKind::Credentials,
    );
    let output = &case["output"];
    if let Some(want) = output["errorContaining"].as_str() {
        let errors: Vec<String> = [config.validate(), creds.validate()]
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        if errors.iter().any(|e| e.contains(want)) {
            return None;
        }
        return Some(format!(
            "expected an error containing {want:?}, got {errors:?}"
        ));
    }
    for (f, which) in [(&config, "config"), (&creds, "credentials")] {
        if let Err(e) = f.validate() {
            return Some(format!("unexpected {which} error: {e}"));
        }
    }
    let want = expected_sections(output["config"].get("profiles"));
    let got = actual_profiles(&config, &creds);
    if want != got {
        return Some(format!("profiles: expected {want:?}, got {got:?}"));
    }
    if let Some(sso) = output["config"].get("sso_sessions") {
        let want = expected_sections(Some(sso));
        let got = actual_sso(&config);
        if want != got {
            return Some(format!("sso_sessions: expected {want:?}, got {got:?}"));
        }
    }
    None
}

#[test]
fn sdk_profile_parser_vectors() {
    let dir = vectors_dir();
    let file = dir.join("profile-parser-tests.json");
    // A missing folder is a failure, not a skip: a run that checked nothing
    // must not look green. CI always has `../shared` beside the clone; the
    // vectors are not copied into the repo (their README in shared/ asks so).
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "the AWS SDKs' shared profile-parser vectors are missing ({}: {e}); \
             put the shared/ folder beside the clone or set CROSSROLE_SDK_VECTORS",
            file.display()
        )
    });
    let json: Value = serde_json::from_str(&text).expect("vector file is JSON");
    let cases = json["tests"].as_array().expect("`tests` array");
    let mut passed = 0;
    let mut deviated = 0;
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        match check(case) {
            None => passed += 1,
            Some(why) => {
                if ALLOWED_DEVIATIONS.iter().any(|(n, _)| *n == name) {
                    deviated += 1;
                } else {
                    failures.push(format!("{name}: {why}"));
                }
            }
        }
    }
    println!(
        "SDK profile vectors: {passed} of {} passed, {deviated} allowed deviations",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "vector failures:\n{}",
        failures.join("\n")
    );
    assert!(passed > 0);
}
