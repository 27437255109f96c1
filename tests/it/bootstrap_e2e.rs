//! The Bootstrap issue end to end: `setup --import-credentials` moves Green's
//! key from ~/.aws/credentials into a real keyring, writes both profiles, and
//! the real AWS CLI then works through `credential-process green` against
//! moto_server on loopback. Every other byte of both files stays as it was.

#![cfg(target_os = "linux")]
use crate::common;

use common::*;

const CONFIG_BEFORE: &str = "# my AWS config\n[default]\nregion = us-west-2\n\n[profile dev]\nregion = eu-central-1\ns3 =\n  max_concurrent_requests = 20\n\n[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://example.awsapps.com/start\n";

const CREDS_OTHER: &str = "[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = otherotherotherotherotherotherotherother\n";

fn import_and_call_green(env: TestEnv) {
    let moto = Moto::start();
    let t = tutorial(&moto, &[]);
    let mut env = env;
    env.endpoint = Some(moto.url());
    env.write_config(CONFIG_BEFORE);
    let creds_before = format!(
        "{CREDS_OTHER}\n[green]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        t.access_key_id, t.secret_access_key
    );
    env.write_credentials(&creds_before);

    let out = env.crossrole(&import_setup_args(&t.role_arn, &[]), None);
    let summary = ok(&out);
    assert!(
        summary.contains("arn:aws:iam::111111111111:user/s3-prod-user"),
        "{summary}"
    );
    assert!(!summary.contains(&t.secret_access_key));
    assert!(
        !summary.contains(&t.access_key_id),
        "key id must be masked: {summary}"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // The config: what was there, byte for byte, then the two profiles.
    let exe = std::fs::canonicalize(BIN).unwrap();
    let expected = format!(
        "{CONFIG_BEFORE}\n[profile green]\ncredential_process = \"{exe}\" credential-process green\nregion = eu-west-1\noutput = json\n\n[profile blue]\ncredential_process = \"{exe}\" credential-process blue\nregion = eu-west-1\noutput = json\ncrossrole_source_profile = green\ncrossrole_role_arn = {}\n",
        t.role_arn,
        exe = exe.display()
    );
    assert_eq!(env.read_config(), expected);
    // The credentials file: only the green section is gone.
    assert_eq!(env.read_credentials(), CREDS_OTHER);

    // The real AWS CLI, through credential_process.
    let who = ok(&env.aws(&["--profile", "green", "sts", "get-caller-identity"]));
    assert!(
        who.contains("arn:aws:iam::111111111111:user/s3-prod-user"),
        "{who}"
    );

    // credential-process prints exactly one JSON document.
    let doc = ok(&env.crossrole(&["credential-process", "green"], None));
    let v: serde_json::Value = serde_json::from_str(doc.trim()).unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"], t.access_key_id.as_str());
    assert_eq!(v["SecretAccessKey"], t.secret_access_key.as_str());
    assert!(v.get("SessionToken").is_none());

    // Idempotent: the same inputs again change nothing.
    let again = ok(&env.crossrole(&import_setup_args(&t.role_arn, &[]), None));
    assert!(again.contains("nothing to change"), "{again}");
    assert_eq!(env.read_config(), expected);
    assert_eq!(env.read_credentials(), CREDS_OTHER);

    env.assert_no_file_contains(&t.secret_access_key);
}

#[test]
fn import_with_keyutils_then_aws_cli_reads_green() {
    import_and_call_green(TestEnv::keyutils());
}

#[test]
fn import_with_secret_service_then_aws_cli_reads_green() {
    import_and_call_green(TestEnv::secret_service());
}
