//! Hand-written config/credentials files: each must print back byte for
//! byte, and one edit on each must give exactly the expected text. Then the
//! refusals (text unchanged, line numbers in the message) and `save`.

use crossrole::awsfile::{AwsFile, Error, FileKind};

use FileKind::{Config as C, Credentials as K};

enum Edit {
    Set(&'static str, &'static str, &'static str),
    RemoveKey(&'static str, &'static str),
    RemoveProfile(&'static str),
}
use Edit::*;

struct Case {
    name: &'static str,
    kind: FileKind,
    input: &'static str,
    edit: Edit,
    /// Expected text after the edit (None: the edit changes nothing).
    expected: Option<&'static str>,
}

const fn case(
    name: &'static str,
    kind: FileKind,
    input: &'static str,
    edit: Edit,
    expected: Option<&'static str>,
) -> Case {
    Case {
        name,
        kind,
        input,
        edit,
        expected,
    }
}

const SETUP: &str = r#"[profile green]
credential_process = "/home/ana/.local/bin/crossrole" credential-process green
region = eu-west-1
output = json

[profile blue]
credential_process = "/home/ana/.local/bin/crossrole" credential-process blue
region = eu-west-1
output = json
crossrole_source_profile = green
crossrole_role_arn = arn:aws:iam::222222222222:role/CrossAccountS3Access-Role
"#;

fn cases() -> Vec<Case> {
    vec![
        case("empty file", C, "", Set("green", "region", "eu-west-1"),
            Some("[profile green]\nregion = eu-west-1\n")),
        case("empty credentials", K, "", Set("default", "aws_access_key_id", "AKIA"),
            Some("[default]\naws_access_key_id = AKIA\n")),
        case("whitespace only", C, "  \n\t\n", Set("a", "k", "v"),
            Some("  \n\t\n[profile a]\nk = v\n")),
        case("whitespace only no newline", C, "   ", Set("a", "k", "v"),
            Some("   \n[profile a]\nk = v\n")),
        case("only a comment", C, "# my config\n", Set("a", "k", "v"),
            Some("# my config\n\n[profile a]\nk = v\n")),
        case("simple update in place", C, "[profile a]\nregion = us-east-1\noutput = json\n",
            Set("a", "region", "eu-west-1"),
            Some("[profile a]\nregion = eu-west-1\noutput = json\n")),
        case("update keeps odd spacing", C, "[profile a]\nregion\t=   us-east-1\n",
            Set("a", "region", "eu-west-1"), Some("[profile a]\nregion\t=   eu-west-1\n")),
        case("update with no spacing", C, "[profile a]\nregion=us-east-1\n",
            Set("a", "region", "eu-west-1"), Some("[profile a]\nregion=eu-west-1\n")),
        case("same value is no change", C, "[profile a]\nregion=eu-west-1  \n",
            Set("a", "region", "eu-west-1"), None),
        case("key match is case-insensitive", C, "[profile a]\nRegion = us-east-1\n",
            Set("a", "region", "eu-west-1"), Some("[profile a]\nRegion = eu-west-1\n")),
        case("new key after last property, before comments of next", C,
            "[profile a]\nx = 1\n\n# next is b\n[profile b]\ny = 2\n",
            Set("a", "z", "3"),
            Some("[profile a]\nx = 1\nz = 3\n\n# next is b\n[profile b]\ny = 2\n")),
        case("new key in empty section", C, "[profile a]\n\n[profile b]\n",
            Set("a", "z", "3"), Some("[profile a]\nz = 3\n\n[profile b]\n")),
        case("new key in last section without newline", C, "[profile a]\nx = 1",
            Set("a", "z", "3"), Some("[profile a]\nx = 1\nz = 3")),
        case("new profile at end", C, SETUP,
            Set("red", "region", "us-east-2"),
            Some(concat!(
                "[profile green]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process green\nregion = eu-west-1\noutput = json\n\n",
                "[profile blue]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/CrossAccountS3Access-Role\n",
                "\n[profile red]\nregion = us-east-2\n"))),
        case("new profile after file ending with blank line", C, "[profile a]\nx = 1\n\n",
            Set("b", "k", "v"), Some("[profile a]\nx = 1\n\n[profile b]\nk = v\n")),
        case("new profile, missing final newline", C, "[profile a]\nx = 1",
            Set("b", "k", "v"), Some("[profile a]\nx = 1\n\n[profile b]\nk = v\n")),
        case("remove profile in the middle", C, SETUP, RemoveProfile("green"),
            Some("[profile blue]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = arn:aws:iam::222222222222:role/CrossAccountS3Access-Role\n")),
        case("remove last profile drops separating blank", C, SETUP, RemoveProfile("blue"),
            Some("[profile green]\ncredential_process = \"/home/ana/.local/bin/crossrole\" credential-process green\nregion = eu-west-1\noutput = json\n")),
        case("remove middle keeps comment of next", C,
            "[profile a]\nx = 1\n\n[profile b]\ny = 2\n\n# about c\n; more\n[profile c]\nz = 3\n",
            RemoveProfile("b"), Some("[profile a]\nx = 1\n\n# about c\n; more\n[profile c]\nz = 3\n")),
        case("remove missing profile", C, "[profile a]\nx = 1\n", RemoveProfile("b"), None),
        case("hash and semicolon comments", C,
            "# top\n; also top\n[profile a] # header comment\nx = 1 # inline\ny = 2;not-a-comment\n",
            Set("a", "x", "2"), Some("# top\n; also top\n[profile a] # header comment\nx = 2\ny = 2;not-a-comment\n")),
        case("nested block replaced by plain value", C,
            "[profile a]\ns3 =\n  addressing_style = path\n  signature_version = s3v4\nregion = x\n",
            Set("a", "s3", "plain"), Some("[profile a]\ns3 = plain\nregion = x\n")),
        case("new key goes after nested block", C,
            "[profile a]\ns3 =\n  addressing_style = path\n\n[profile b]\n",
            Set("a", "region", "eu-west-1"),
            Some("[profile a]\ns3 =\n  addressing_style = path\nregion = eu-west-1\n\n[profile b]\n")),
        case("remove nested key", C,
            "[profile a]\nregion = x\ns3 =\n  addressing_style = path\n\n  max_concurrent_requests = 20\noutput = json\n",
            RemoveKey("a", "s3"), Some("[profile a]\nregion = x\noutput = json\n")),
        case("continuation lines", C,
            "[profile a]\nname = value\n -continued\n -more\n[profile b]\n",
            Set("a", "other", "v"),
            Some("[profile a]\nname = value\n -continued\n -more\nother = v\n[profile b]\n")),
        case("replace multi-line value", C,
            "[profile a]\nname = value\n -continued\nz = 1\n",
            Set("a", "name", "one"), Some("[profile a]\nname = one\nz = 1\n")),
        case("sso-session untouched", C,
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\n",
            Set("dev", "region", "eu-west-1"),
            Some("[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nregion = eu-west-1\n")),
        case("services section untouched", C,
            "[profile dev]\nservices = local\n\n[services local]\nsts =\n  endpoint_url = http://localhost:4566\ns3 =\n  endpoint_url = http://localhost:4566\n",
            Set("dev", "region", "eu-west-1"),
            Some("[profile dev]\nservices = local\nregion = eu-west-1\n\n[services local]\nsts =\n  endpoint_url = http://localhost:4566\ns3 =\n  endpoint_url = http://localhost:4566\n")),
        case("a services section is not a profile", C,
            "[services dev]\nsts =\n  endpoint_url = http://x\n",
            Set("dev", "region", "r"),
            Some("[services dev]\nsts =\n  endpoint_url = http://x\n\n[profile dev]\nregion = r\n")),
        case("default section in config", C, "[default]\nregion = us-east-1\n",
            Set("default", "output", "json"), Some("[default]\nregion = us-east-1\noutput = json\n")),
        case("profile default in config", C, "[profile default]\nregion = us-east-1\n",
            Set("default", "region", "eu-west-1"), Some("[profile default]\nregion = eu-west-1\n")),
        case("config default created as [default]", C, "[profile a]\n",
            Set("default", "region", "r"), Some("[profile a]\n\n[default]\nregion = r\n")),
        case("sections without prefix ignored in config", C, "[a]\nx = 1\n",
            Set("a", "x", "2"), Some("[a]\nx = 1\n\n[profile a]\nx = 2\n")),
        case("credentials [x] is profile x", K, "[default]\naws_access_key_id = A\n\n[work]\naws_access_key_id = B\naws_secret_access_key = S\n",
            RemoveKey("work", "aws_secret_access_key"), Some("[default]\naws_access_key_id = A\n\n[work]\naws_access_key_id = B\n")),
        case("credentials remove last key", K, "[work]\naws_access_key_id = B\n",
            RemoveKey("work", "aws_access_key_id"), Some("[work]\n")),
        case("remove missing key", K, "[work]\naws_access_key_id = B\n",
            RemoveKey("work", "nope"), None),
        case("credentials remove profile", K, "[a]\nk = 1\n\n[b]\nk = 2\n",
            RemoveProfile("a"), Some("[b]\nk = 2\n")),
        case("CRLF file gets CRLF lines", C, "[profile a]\r\nx = 1\r\n",
            Set("a", "y", "2"), Some("[profile a]\r\nx = 1\r\ny = 2\r\n")),
        case("CRLF new section", C, "[profile a]\r\nx = 1\r\n",
            Set("b", "y", "2"), Some("[profile a]\r\nx = 1\r\n\r\n[profile b]\r\ny = 2\r\n")),
        case("CRLF update keeps CRLF", C, "[profile a]\r\nx = 1\r\nz = 3\r\n",
            Set("a", "x", "2"), Some("[profile a]\r\nx = 2\r\nz = 3\r\n")),
        case("mixed endings", C, "[profile a]\r\nx = 1\n[profile b]\r\ny = 2\r\n",
            Set("a", "z", "3"), Some("[profile a]\r\nx = 1\n\
z = 3\r\n[profile b]\r\ny = 2\r\n")),
        case("BOM survives", C, "\u{feff}[profile a]\nx = 1\n",
            Set("a", "x", "2"), Some("\u{feff}[profile a]\nx = 2\n")),
        case("BOM only", C, "\u{feff}", Set("a", "x", "2"), Some("\u{feff}[profile a]\nx = 2\n")),
        case("tabs survive", C, "[profile\ta]\n\tx\t=\t1\nk\t=\tv\n",
            Set("a", "k", "w"), Some("[profile\ta]\n\tx\t=\t1\nk\t=\tw\n")),
        case("unicode survives", C, "# café ☕ 日本\n[profile a]\nnote = ünïcødé 🎉\n",
            Set("a", "region", "eu-west-1"), Some("# café ☕ 日本\n[profile a]\nnote = ünïcødé 🎉\nregion = eu-west-1\n")),
        case("unicode value", C, "[profile a]\n", Set("a", "note", "héllo→wörld"),
            Some("[profile a]\nnote = héllo→wörld\n")),
        case("garbage lines elsewhere", C,
            "this is junk\n[profile bad\n[profile a]\nx = 1\n@@@\n[profile b]\n",
            Set("b", "k", "v"),
            Some("this is junk\n[profile bad\n[profile a]\nx = 1\n@@@\n[profile b]\nk = v\n")),
        case("garbage line in edited section stays", C,
            "[profile a]\nx = 1\nnot a property\n\n[profile b]\n",
            Set("a", "k", "v"), Some("[profile a]\nx = 1\nnot a property\nk = v\n\n[profile b]\n")),
        case("odd sections elsewhere are not checked", C,
            "[profile x]\nk = 1\n[profile x]\nk = 2\n[profile a]\nj = 1\nj = 2\n[profile b]\n",
            Set("b", "k", "v"),
            Some("[profile x]\nk = 1\n[profile x]\nk = 2\n[profile a]\nj = 1\nj = 2\n[profile b]\nk = v\n")),
        case("header with comment", C, "[profile a] ; note\nx = 1\n",
            RemoveProfile("a"), Some("")),
        case("trimmed header name", C, "[profile  a ]\nx = 1\n",
            Set("a", "x", "2"), Some("[profile  a ]\nx = 2\n")),
        case("remove only key keeps missing newline", C, "[profile a]\nk = 1\nx = 1",
            RemoveKey("a", "x"), Some("[profile a]\nk = 1")),
        case("remove last section without final newline", C, "[profile a]\nk = 1\n\n[profile b]\nx = 1",
            RemoveProfile("b"), Some("[profile a]\nk = 1")),
        case("indented comment is a continuation for SDKs", C,
            "[profile a]\nx = 1\n  # indented\n[profile b]\n",
            Set("a", "y", "2"), Some("[profile a]\nx = 1\n  # indented\ny = 2\n[profile b]\n")),
        case("trailing comments at end of file stay with section", C,
            "[profile a]\nx = 1\n# trailing\n",
            Set("a", "y", "2"), Some("[profile a]\nx = 1\ny = 2\n# trailing\n")),
        case("values with equals and colons", C, "[profile a]\n",
            Set("a", "crossrole_role_arn", "arn:aws:iam::222222222222:role/R=1"),
            Some("[profile a]\ncrossrole_role_arn = arn:aws:iam::222222222222:role/R=1\n")),
        case("quoted credential_process value", C, "[profile a]\ncredential_process = old\n",
            Set("a", "credential_process", "\"/path with space/crossrole\" credential-process a"),
            Some("[profile a]\ncredential_process = \"/path with space/crossrole\" credential-process a\n")),
    ]
}

fn apply(f: &mut AwsFile, e: &Edit) -> Result<bool, Error> {
    match *e {
        Set(p, k, v) => f.set(p, k, v),
        RemoveKey(p, k) => f.remove_key(p, k),
        RemoveProfile(p) => f.remove_profile(p),
    }
}

#[test]
fn hand_written_files_roundtrip_and_edit() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let mut f = AwsFile::parse(c.input, c.kind);
        if f.to_text() != c.input {
            failures.push(format!("{}: does not round-trip", c.name));
            continue;
        }
        match apply(&mut f, &c.edit) {
            Ok(changed) => {
                let want = c.expected.unwrap_or(c.input);
                if changed != c.expected.is_some() {
                    failures.push(format!("{}: changed = {changed}", c.name));
                }
                if f.to_text() != want {
                    failures.push(format!(
                        "{}:\n--- expected\n{want:?}\n--- got\n{:?}",
                        c.name,
                        f.to_text()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: error {e}", c.name)),
        }
    }
    println!("{} hand-written files checked", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn set_then_remove_restores_exactly() {
    for (text, kind) in [
        (SETUP, C),
        ("", C),
        ("[profile a]\r\nx = 1\r\n", C),
        ("# only comment\n", C),
        ("[a]\nk = v\n", K),
    ] {
        let mut f = AwsFile::parse(text, kind);
        assert!(f.set("newone", "k", "v").unwrap());
        assert!(f.set("newone", "k2", "v2").unwrap());
        assert!(f.remove_profile("newone").unwrap());
        assert_eq!(f.to_text(), text);
    }
}

#[test]
fn meaning_of_profiles() {
    let text = "[default]\nregion = a\n[profile default]\nregion = b\n[profile x]\ns3 =\n  addressing_style = path\nname = v # comment\nname2 = v#kept\n[sso-session s]\nsso_region = r\n[services loc]\nsts =\n  endpoint_url = http://localhost\n";
    let f = AwsFile::parse(text, C);
    assert_eq!(f.profile_names(), vec!["default", "x"]);
    assert_eq!(f.profile("default").unwrap().get("region"), Some("b"));
    let x = f.profile("x").unwrap();
    assert_eq!(x.get("name"), Some("v"));
    assert_eq!(x.get("name2"), Some("v#kept"));
    assert_eq!(x.nested["s3"]["addressing_style"], "path");
    assert!(f.profile("s").is_none());
    assert_eq!(f.sso_session("s").unwrap()["sso_region"], "r");
    assert_eq!(
        f.services("loc").unwrap()["sts"]["endpoint_url"],
        "http://localhost"
    );
    let k = AwsFile::parse("[x]\naws_access_key_id = A\n[profile y]\n", K);
    assert_eq!(k.profile_names(), vec!["x"]);
    assert_eq!(k.profile("x").unwrap().get("aws_access_key_id"), Some("A"));
}

/// Runs an edit that must be refused: checks the message contains each of
/// `needles` and the text is unchanged.
fn refused(text: &str, kind: FileKind, edit: Edit, needles: &[&str]) {
    let mut f = AwsFile::parse(text, kind);
    let err = apply(&mut f, &edit).expect_err(text);
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "{msg:?} lacks {n:?}");
    }
    assert_eq!(f.to_text(), text);
}

#[test]
fn refusals() {
    // Duplicate sections, with their line numbers.
    let dup = "[profile blue]\nx = 1\n\n[profile green]\n[profile blue]\ny = 2\n";
    refused(
        dup,
        C,
        Set("blue", "k", "v"),
        &["lines 1, 5", "profile blue"],
    );
    refused(dup, C, RemoveKey("blue", "x"), &["lines 1, 5"]);
    refused(dup, C, RemoveProfile("blue"), &["lines 1, 5"]);
    refused(
        "[profile blue]\n[profile  blue ]\n",
        C,
        Set("blue", "k", "v"),
        &["lines 1, 2"],
    );
    refused(
        "# c\n[default]\nx = 1\n[profile default]\n",
        C,
        Set("default", "k", "v"),
        &["lines 2, 4"],
    );
    refused("[a]\n[ a ]\n", K, Set("a", "k", "v"), &["lines 1, 2"]);
    // Duplicate keys (case-insensitive), with their line numbers.
    let dupkey = "[profile a]\nregion = x\noutput = json\nRegion = y\n";
    refused(
        dupkey,
        C,
        Set("a", "region", "z"),
        &["lines 2, 4", "`region`"],
    );
    refused(dupkey, C, RemoveKey("a", "region"), &["lines 2, 4"]);
    // A duplicate of another key is fine.
    let mut f = AwsFile::parse(dupkey, C);
    assert!(f.set("a", "output", "text").unwrap());
    // Bad profile names.
    for name in [
        "", "a b", "a\nb", "a\rb", "a]", "[a", "a\tb", "a!b", "é", "a#b", "a;b",
    ] {
        refused(
            "[profile a]\n",
            C,
            Set(name, "k", "v"),
            &["invalid profile name"],
        );
        refused(
            "[profile a]\n",
            C,
            RemoveProfile(name),
            &["invalid profile name"],
        );
    }
    // Bad keys.
    for key in ["", "a b", "a\nb", "a=b", "[x]"] {
        refused("[profile a]\n", C, Set("a", key, "v"), &["invalid key"]);
    }
    // Bad values.
    for value in [
        "",
        " v",
        "v ",
        "\tv",
        "a\nb",
        "a\rb",
        "a\0b",
        "a #b",
        "a ;b",
        "a\t#b",
        "#v",
        ";v",
        "a\u{2028}b",
        "a\u{7}b",
    ] {
        refused(
            "[profile a]\nk = old\n",
            C,
            Set("a", "k", value),
            &["invalid value for `k`"],
        );
    }
    // `#`/`;` not after whitespace is fine.
    let mut f = AwsFile::parse("", C);
    assert!(f.set("a", "k", "a#b;c").unwrap());
    assert_eq!(f.profile("a").unwrap().get("k"), Some("a#b;c"));
}

#[test]
fn validate_reports_sdk_errors() {
    let f = AwsFile::parse("[profile a]\nx = 1\nbroken\n", C);
    let e = f.validate().unwrap_err().to_string();
    assert!(e.contains("line 3"), "{e}");
    assert!(AwsFile::parse("[profile a]\nx = 1\n", C).validate().is_ok());
}

#[cfg(unix)]
mod save {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn mode(p: &std::path::Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn edit_and_save(path: &std::path::Path) {
        let mut f = AwsFile::load(path, C).unwrap();
        f.set("a", "k", "v").unwrap();
        f.save(path).unwrap();
    }

    #[test]
    fn keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, "[profile a]\nx = 1\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        edit_and_save(&p);
        assert_eq!(mode(&p), 0o640);
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "[profile a]\nx = 1\nk = v\n"
        );
        // No temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn new_file_is_0600_and_missing_folder_0700() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("home/.aws/config");
        let f = AwsFile::load(&p, C).unwrap();
        assert_eq!(f.to_text(), "");
        assert_eq!(f.path(), Some(p.as_path()));
        edit_and_save(&p);
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&dir.path().join("home/.aws")), 0o700);
        assert_eq!(fs::read_to_string(&p).unwrap(), "[profile a]\nk = v\n");
    }

    #[test]
    fn symlink_kept_and_target_edited() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/aws-config");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, "[profile a]\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
        let mid = dir.path().join("mid");
        symlink(&real, &mid).unwrap();
        let link = dir.path().join("config");
        symlink("mid", &link).unwrap(); // relative link to a link
        edit_and_save(&link);
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(&mid).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "[profile a]\nk = v\n");
        assert_eq!(mode(&real), 0o644);
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        let f = AwsFile::parse("[profile a]\n", C);
        let e = f.save(&a).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(AwsFile::load(&a, C).is_err());
    }

    #[test]
    fn directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = AwsFile::load(dir.path(), C).unwrap_err();
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        let f = AwsFile::parse("[profile a]\n", C);
        assert!(f.save(dir.path()).is_err());
    }

    #[test]
    fn not_utf8_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, b"[profile a]\nx = \xff\n").unwrap();
        match AwsFile::load(&p, C) {
            Err(Error::NotUtf8 { offset, .. }) => assert_eq!(offset, 16),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failed_save_keeps_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        fs::write(&p, "old").unwrap();
        // Make the folder read-only: the temp file cannot be created.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let f = AwsFile::parse("new", C);
        let r = f.save(&p);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        if r.is_ok() {
            // Running as root: permissions are not enforced.
            return;
        }
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temp_files_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        let stale = dir.path().join(".config.crossrole-tmp-1-abc");
        let fresh = dir.path().join(".config.crossrole-tmp-2-def");
        let other = dir.path().join(".credentials.crossrole-tmp-1-abc");
        for f in [&stale, &fresh, &other] {
            fs::write(f, "x").unwrap();
        }
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs::File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(old)
            .unwrap();
        edit_and_save(&p);
        assert!(!stale.exists());
        assert!(fresh.exists());
        assert!(other.exists());
    }
}
