//! Two empty moto accounts with an admin in each, as profiles `green-admin`
//! and `blue-admin` (static keys), for provision, deprovision and rotate.

use std::process::Output;

use super::{moto_fixture, ok, Moto, TestEnv};

pub const GREEN: &str = "111111111111";
pub const BLUE: &str = "222222222222";

pub struct AdminWorld {
    pub env: TestEnv,
    pub moto: Moto,
    /// The fixture's answer: both admins' keys.
    pub json: serde_json::Value,
}

/// moto with IAM enforcement on and nothing in it but the two admins;
/// `fixture` takes admins.py's options.
pub fn admin_world(env: TestEnv, fixture: &[&str]) -> AdminWorld {
    let moto = Moto::start();
    let json = moto_fixture("admins.py", &moto, fixture);
    let mut env = env;
    env.endpoint = Some(moto.url());
    let k = |side: &str, f: &str| json[side][f].as_str().unwrap().to_string();
    env.write_credentials(&format!(
        "[green-admin]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[blue-admin]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        k("green", "access_key_id"),
        k("green", "secret_access_key"),
        k("blue", "access_key_id"),
        k("blue", "secret_access_key"),
    ));
    env.write_config(
        "[profile green-admin]\nregion = eu-west-1\n\n[profile blue-admin]\nregion = eu-west-1\n",
    );
    AdminWorld { env, moto, json }
}

/// `provision` with two admin profiles and a bucket: the part every
/// provision command line has.
pub fn provision_args<'a>(green: &'a str, blue: &'a str, bucket: &'a str) -> Vec<&'a str> {
    vec![
        "provision",
        "--green-admin-profile",
        green,
        "--blue-admin-profile",
        blue,
        "--bucket",
        bucket,
    ]
}

impl AdminWorld {
    pub fn secret_of(&self, side: &str) -> String {
        self.json[side]["secret_access_key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `crossrole provision` with the two admin profiles, the tutorial's
    /// bucket (created), `--yes`, and `extra`.
    pub fn provision(&self, extra: &[&str]) -> Output {
        let mut args = vec!["--create-bucket", "--yes"];
        args.extend_from_slice(extra);
        self.provision_as("green-admin", "blue-admin", "the-bucket", &args)
    }

    /// `crossrole provision` with these admin profiles and bucket, and
    /// `extra` only.
    pub fn provision_as(&self, green: &str, blue: &str, bucket: &str, extra: &[&str]) -> Output {
        let mut args = provision_args(green, blue, bucket);
        args.extend_from_slice(extra);
        self.env.crossrole(&args, None)
    }

    pub fn deprovision(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "deprovision",
            "--green-admin-profile",
            "green-admin",
            "--blue-admin-profile",
            "blue-admin",
            "--yes",
        ];
        args.extend_from_slice(extra);
        self.env.crossrole(&args, None)
    }

    /// The AWS CLI as an admin profile; its JSON answer.
    pub fn admin_json(&self, profile: &str, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--profile", profile, "--output", "json"];
        a.extend_from_slice(args);
        let text = ok(&self.env.aws(&a));
        if text.trim().is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_str(&text).unwrap()
    }

    /// The access key ids of `user` in Green.
    pub fn user_keys(&self, user: &str) -> Vec<String> {
        let v = self.admin_json(
            "green-admin",
            &["iam", "list-access-keys", "--user-name", user],
        );
        v["AccessKeyMetadata"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["AccessKeyId"].as_str().unwrap().to_string())
            .collect()
    }

    /// Whether user `name` exists in Green.
    pub fn user_exists(&self, name: &str) -> bool {
        self.exists("green-admin", &["iam", "get-user", "--user-name", name])
    }

    /// Whether role `name` exists in Blue.
    pub fn role_exists(&self, name: &str) -> bool {
        self.exists("blue-admin", &["iam", "get-role", "--role-name", name])
    }

    /// Whether bucket `name` exists (for Blue's admin).
    pub fn bucket_exists(&self, name: &str) -> bool {
        self.exists("blue-admin", &["s3api", "head-bucket", "--bucket", name])
    }

    /// Whether `aws --profile PROFILE ARGS` finds the resource.
    pub fn exists(&self, profile: &str, args: &[&str]) -> bool {
        let mut a = vec!["--profile", profile];
        a.extend_from_slice(args);
        self.env.aws(&a).status.success()
    }
}
