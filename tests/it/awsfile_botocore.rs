//! Edits checked against the real AWS CLI reader: botocore's
//! `configloader.raw_config_parse` reads the file before and after each edit;
//! every section other than the edited one must read exactly as before, and
//! the edited one must read the new value.
//!
//! Needs `python3` with botocore (installed with awscli). Without it the test
//! FAILS and says to run `./install.sh --test`, unless
//! `CROSSROLE_SKIP_BOTOCORE=1` is set.

use std::path::Path;
use std::process::Command;

use crossrole::awsfile::{AwsFile, FileKind};
use serde_json::{Map, Value};

use FileKind::{Config as C, Credentials as K};

const READ: &str = r#"
import json, sys
from botocore.configloader import raw_config_parse
out = []
for p in sys.argv[1:]:
    try:
        out.append({"ok": raw_config_parse(p)})
    except Exception as e:
        out.append({"err": str(e)})
print(json.dumps(out))
"#;

enum Edit {
    Set(&'static str, &'static str, &'static str),
    RemoveKey(&'static str, &'static str),
    RemoveProfile(&'static str),
}
use Edit::*;

struct Case {
    name: &'static str,
    kind: FileKind,
    text: &'static str,
    edit: Edit,
    /// The section as botocore names it (`profile blue`, `default`, `blue`).
    section: &'static str,
}

const SETUP: &str = "# crossrole profiles\n[profile green]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process green\nregion = eu-west-1\noutput = json\n\n[profile blue]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/CrossAccountS3Access-Role\n";

fn cases() -> Vec<Case> {
    let c = |name, kind, text, edit, section| Case {
        name,
        kind,
        text,
        edit,
        section,
    };
    vec![
        c("new key", C, SETUP, Set("blue", "crossrole_mfa_serial", "arn:aws:iam::111111111111:mfa/ana"), "profile blue"),
        c("update in place", C, SETUP, Set("green", "region", "us-east-2"), "profile green"),
        c("new profile", C, SETUP, Set("red", "credential_process", "\"/opt/my tools/crossrole\" credential-process red"), "profile red"),
        c("remove profile", C, SETUP, RemoveProfile("green"), "profile green"),
        c("nested block kept", C,
            "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n  signature_version = s3v4\n\n[profile dev]\ns3 =\n  max_concurrent_requests = 20\n",
            Set("dev", "region", "eu-west-1"), "profile dev"),
        c("nested block replaced", C,
            "[profile dev]\ns3 =\n  max_concurrent_requests = 20\noutput = json\n[profile other]\ns3 =\n  x = 1\n",
            Set("dev", "s3", "plain"), "profile dev"),
        c("CRLF", C, "[profile a]\r\nregion = x\r\n\r\n[profile b]\r\noutput = text\r\n",
            Set("a", "output", "json"), "profile a"),
        c("missing final newline", C, "[profile a]\nregion = x\n\n[profile b]\noutput = text",
            Set("b", "region", "eu-west-1"), "profile b"),
        c("comments and inline comments elsewhere", C,
            "; header comment\n[profile a] # note\nregion = x # botocore keeps this\n# between\n[profile b]\noutput = json;kept\n",
            Set("b", "cli_pager", "less"), "profile b"),
        c("sso-session and services", C,
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_registration_scopes = sso:account:access\n\n[profile dev]\nsso_session = corp\nservices = local\n\n[services local]\nsts =\n  endpoint_url = http://localhost:4566\n",
            Set("dev", "region", "eu-west-1"), "profile dev"),
        c("continuation replaced", C,
            "[profile a]\nname = value\n  continued\nregion = x\n[profile b]\nk = v\n",
            Set("a", "name", "single"), "profile a"),
        c("unicode and tabs", C,
            "# café ☕\n[profile\ta]\n\tregion\t=\tx\nnote = ünïcødé 🎉\n\n[profile b]\nk = v\n",
            Set("a", "note", "héllo→wörld"), "profile\ta"),
        c("default section", C, "[default]\nregion = us-east-1\n\n[profile x]\nk = v\n",
            Set("default", "output", "json"), "default"),
        c("credentials remove key", K,
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\n\n[work]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\n",
            RemoveKey("work", "aws_secret_access_key"), "work"),
        c("credentials new profile", K, "[default]\naws_access_key_id = AKIA1\n",
            Set("work", "aws_access_key_id", "AKIA2"), "work"),
        c("credentials remove profile", K,
            "[default]\naws_access_key_id = AKIA1\n\n[work]\naws_access_key_id = AKIA2\n\n# trailing\n[other]\nx = y\n",
            RemoveProfile("work"), "work"),
    ]
}

fn botocore_available() -> bool {
    Command::new("python3")
        .args(["-c", "import botocore"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn read_all(paths: &[&Path]) -> Vec<Value> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(READ)
        .args(paths)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON from python3");
    v.as_array().cloned().unwrap_or_default()
}

fn sections(v: &Value, what: &str) -> Map<String, Value> {
    match v.get("ok") {
        Some(Value::Object(m)) => m.clone(),
        _ => panic!("{what}: botocore could not read it: {v}"),
    }
}

#[test]
fn botocore_reads_edits_as_intended() {
    if !botocore_available() {
        if std::env::var_os("CROSSROLE_SKIP_BOTOCORE").is_some_and(|v| v == "1") {
            println!("SKIPPED: botocore not available and CROSSROLE_SKIP_BOTOCORE=1");
            return;
        }
        panic!(
            "python3 cannot import botocore; run `./install.sh --test` to install the test tools \
             (or set CROSSROLE_SKIP_BOTOCORE=1 to skip this test)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let mut paths = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut f = AwsFile::parse(c.text, c.kind);
        let changed = match c.edit {
            Set(p, k, v) => f.set(p, k, v),
            RemoveKey(p, k) => f.remove_key(p, k),
            RemoveProfile(p) => f.remove_profile(p),
        };
        assert!(changed.unwrap(), "{}: edit did nothing", c.name);
        let before = dir.path().join(format!("{i}-before"));
        let after = dir.path().join(format!("{i}-after"));
        std::fs::write(&before, c.text).unwrap();
        f.save(&after).unwrap();
        paths.push(before);
        paths.push(after);
    }
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let results = read_all(&refs);
    assert_eq!(results.len(), paths.len());
    let mut checked = 0;
    for (i, c) in cases.iter().enumerate() {
        let before = sections(&results[2 * i], &format!("{} (before)", c.name));
        let after = sections(&results[2 * i + 1], &format!("{} (after)", c.name));
        for (name, v) in &before {
            if name != c.section {
                assert_eq!(
                    after.get(name),
                    Some(v),
                    "{}: section [{name}] changed",
                    c.name
                );
            }
        }
        for name in after.keys() {
            assert!(
                name == c.section || before.contains_key(name),
                "{}: new section [{name}]",
                c.name
            );
        }
        let old = before
            .get(c.section)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let new = after.get(c.section).and_then(Value::as_object).cloned();
        match c.edit {
            Set(_, key, value) => {
                let new = new.unwrap_or_else(|| panic!("{}: section missing after", c.name));
                assert_eq!(
                    new.get(key).and_then(Value::as_str),
                    Some(value),
                    "{}",
                    c.name
                );
                for (k, v) in &old {
                    if k != key {
                        assert_eq!(new.get(k), Some(v), "{}: key {k} changed", c.name);
                    }
                }
                assert_eq!(
                    new.len(),
                    old.len() + usize::from(!old.contains_key(key)),
                    "{}",
                    c.name
                );
            }
            RemoveKey(_, key) => {
                let new = new.unwrap_or_else(|| panic!("{}: section missing after", c.name));
                assert!(
                    old.contains_key(key) && !new.contains_key(key),
                    "{}",
                    c.name
                );
                assert_eq!(new.len() + 1, old.len(), "{}", c.name);
            }
            RemoveProfile(_) => {
                assert!(before.contains_key(c.section), "{}", c.name);
                assert!(new.is_none(), "{}: section still there", c.name);
            }
        }
        checked += 1;
    }
    println!("botocore agreed on {checked} edits");
}
