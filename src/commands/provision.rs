//! `crossrole provision`: the whole tutorial in one command. In Blue the
//! bucket, the permission policy and the role; in Green the group, the
//! user and one access key, whose secret goes from IAM's answer straight
//! into the keyring. Then `setup` writes both profiles and checks them.
//!
//! Every resource is looked at before the first change (so a refusal or
//! `--dry-run` changes nothing), then made in dependency order, one line
//! each. A run that fails part-way says what exists; running it again
//! continues, since each step finds what the last run made.

use std::io::Write;

use crate::admin::accounts::{Accounts, Side};
use crate::admin::error::Context;
use crate::admin::names::Names;
use crate::admin::own_keys;
use crate::admin::steps::{Action, Step, World, ALL};
use crate::admin::wait;
use crate::commands::setup::{self, KeySource, SetupInput};
use crate::credentials::{mask_key_id, LongTermKey};
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::profile::RoleFlags;
use crate::sts::AssumeRoleRequest;
use crate::{keys, prompt};

/// Validated flags.
pub struct ProvisionInput {
    pub green_admin: String,
    pub blue_admin: String,
    pub names: Names,
    pub create_bucket: bool,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub region: Option<String>,
    pub source_profile: String,
    pub target_profile: String,
    pub dry_run: bool,
    pub yes: bool,
}

pub fn run(deps: &Deps<'_>, input: &ProvisionInput, out: &mut dyn Write) -> Result<()> {
    if !input.dry_run && !input.yes && !prompt::can_ask() {
        return Err(Error::Usage(
            "provision creates IAM users, roles, policies and an access key in two accounts; without a terminal to ask on, pass --yes (or --dry-run to see the plan)".into(),
        ));
    }
    let accounts = Accounts::open(
        &deps.paths,
        &input.green_admin,
        &input.blue_admin,
        input.region.as_deref(),
    )?;
    let region = input
        .region
        .clone()
        .unwrap_or_else(|| accounts.blue.region());
    let (docs, own_keys) = accounts.documents(
        &input.names,
        input.mfa_serial.is_some(),
        input.external_id.as_deref(),
    );
    let world = World {
        accounts: &accounts,
        names: &input.names,
        docs,
        own_keys,
        create_bucket: input.create_bucket,
        region: region.clone(),
    };
    let store = deps.stores.secret(deps.env)?;
    let stored = match keys::load(store, &input.source_profile) {
        Ok(k) => k,
        Err(Error::NotAKey { .. }) => None,
        Err(e) => return Err(e),
    };
    let stored_id = stored.as_ref().map(|k| k.access_key_id.as_str());

    // 1. Look at everything; nothing changes yet.
    let mut plan = Vec::new();
    for step in ALL {
        plan.push((step, world.survey(step, stored_id)?));
    }
    let lines: Vec<String> = plan
        .iter()
        .map(|(step, action)| line(&world, *step, &action.to_string()))
        .collect();
    say(
        out,
        &format!(
            "Plan: Green account {} (profile {}), Blue account {} (profile {}), region {region}\n{}\n  local  profiles {} and {} in {}: {}",
            accounts.green_id,
            accounts.green_profile,
            accounts.blue_id,
            accounts.blue_profile,
            lines.join("\n"),
            input.source_profile,
            input.target_profile,
            deps.paths.config_file.display(),
            if stored.is_some() { "check" } else { "write" }
        ),
    )?;
    for (step, action) in &plan {
        if let Action::Keep(why) = action {
            say(out, &format!("note: {}: {why}", world.describe(*step)))?;
        }
    }
    if input.dry_run {
        return say(out, "dry run: nothing was changed");
    }
    if !input.yes && !prompt::confirm("Make these changes? [y/N] ")? {
        return Err(Error::Cancelled("nothing was changed".into()));
    }

    // 2. Make what is missing, in order.
    let mut done: Vec<String> = Vec::new();
    let mut key = stored;
    for (step, action) in &plan {
        let result = if *step == Step::AccessKey && *action != Action::Exists {
            create_key(deps, &world, &input.source_profile).map(|k| {
                key = Some(k);
            })
        } else {
            world.apply(*step, action)
        };
        if let Err(e) = result {
            return Err(stopped(input, &world, *step, &done, e));
        }
        let word = match action {
            Action::Exists | Action::Keep(_) => "exists",
            Action::Create => "created",
            Action::Update => "updated",
        };
        say(out, &line(&world, *step, word))?;
        done.push(world.describe(*step));
    }
    let Some(key) = key else {
        return Err(Error::Other("no access key came out of provision".into()));
    };

    // 3. IAM is eventually consistent: wait until STS takes the key and
    // lets it assume the role, then let setup write and check the profiles.
    let role_arn = input.names.role_arn(&accounts.partition, &accounts.blue_id);
    wait_until_usable(deps, input, &key, &role_arn, &region, out)
        .map_err(|e| stopped(input, &world, Step::AccessKey, &done, e))?;
    let setup_input = SetupInput {
        source_profile: Some(input.source_profile.clone()),
        target_profile: input.target_profile.clone(),
        region: Some(region),
        source_region: None,
        output: None,
        role: RoleFlags {
            source_profile: None,
            role_arn: Some(role_arn),
            mfa_serial: input.mfa_serial.clone(),
            external_id: input.external_id.clone(),
            duration_seconds: None,
            role_session_name: None,
            source_identity: None,
        },
        key_source: KeySource::Stored,
        verify: true,
        yes: true,
        mfa: Default::default(),
    };
    setup::run(deps, setup_input, out)
}

fn line(world: &World<'_>, step: Step, word: &str) -> String {
    let side = match world.side(step) {
        Side::Green => "Green",
        Side::Blue => "Blue ",
    };
    format!("  {side}  {:<58} {word}", world.describe(step))
}

/// One line of a report on stdout, written at once so a run that stops
/// part-way has said what it did.
pub(super) fn say(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write the report", "stdout", e))
}

/// CreateAccessKey, and the secret straight into the keyring. If the
/// keyring refuses it, the new key is deleted again: a key whose secret
/// nobody holds is of no use and counts against the user's two.
fn create_key(deps: &Deps<'_>, world: &World<'_>, profile: &str) -> Result<LongTermKey> {
    let g = &world.accounts.green;
    let user = Some(world.names.user.as_str());
    let key = own_keys::create(g, user)
        .map_err(|e| e.into_error(&Context::new(&g.who, "iam:CreateAccessKey")))?
        .key;
    let stored = deps
        .stores
        .secret(deps.env)
        .and_then(|store| keys::save(store, profile, &key));
    if let Err(e) = stored {
        let undo = own_keys::delete(g, user, &key.access_key_id);
        let after = match undo {
            Ok(_) => format!(
                "the new key {} was deleted again",
                mask_key_id(&key.access_key_id)
            ),
            Err(u) => format!(
                "the new key {} could not be deleted again ({u}); delete it in IAM",
                mask_key_id(&key.access_key_id)
            ),
        };
        return Err(Error::Other(format!(
            "cannot store the new access key in the keyring: {e}; {after}"
        )));
    }
    Ok(key)
}

/// GetCallerIdentity, then AssumeRole (unless the role needs an MFA code),
/// each retried while IAM's news has not reached STS.
fn wait_until_usable(
    deps: &Deps<'_>,
    input: &ProvisionInput,
    key: &LongTermKey,
    role_arn: &str,
    region: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let config =
        crate::awsfile::AwsFile::load(&deps.paths.config_file, crate::awsfile::FileKind::Config)?;
    let mut target = crate::profile::sts_target(deps.env, &config, &input.source_profile, None);
    if deps.env.get("AWS_REGION").is_none() && deps.env.get("AWS_DEFAULT_REGION").is_none() {
        target.region = region.to_string();
    }
    let (r, n) = wait::sts(|| deps.sts.get_caller_identity(key, &target));
    r.map_err(|e| waited_too_long("GetCallerIdentity with the new key", n, e))?;
    if input.mfa_serial.is_some() {
        return Ok(());
    }
    let req = AssumeRoleRequest {
        role_arn,
        session_name: "crossrole-provision",
        duration_seconds: Some(900),
        external_id: input.external_id.as_deref(),
        mfa_serial: None,
        mfa_code: None,
        source_identity: None,
    };
    let (r, m) = wait::sts(|| deps.sts.assume_role(key, &target, &req));
    r.map_err(|e| waited_too_long("AssumeRole with the new key", m, e))?;
    if n + m > 2 {
        say(
            out,
            &format!("STS accepted the new key after {} tries", n + m),
        )?;
    }
    Ok(())
}

fn waited_too_long(what: &str, tries: u32, e: crate::sts::StsError) -> Error {
    Error::Sts {
        message: format!(
            "{what} still failed after {tries} tries over up to {} s: {e}",
            wait::BUDGET.as_secs()
        ),
        source: Some(e),
    }
}

/// The message of a run that stopped part-way: the cause, what exists now,
/// and the two ways on.
fn stopped(
    input: &ProvisionInput,
    world: &World<'_>,
    at: Step,
    done: &[String],
    e: Error,
) -> Error {
    let exists = if done.is_empty() {
        "nothing was created".to_string()
    } else {
        format!("these exist now: {}", done.join("; "))
    };
    let key_note =
        if done.iter().any(|d| d == &world.describe(Step::AccessKey)) || at == Step::AccessKey {
            format!(
                " The access key, if one was made, is in the keyring under profile {}.",
                input.source_profile
            )
        } else {
            String::new()
        };
    Error::Other(format!(
        "{e}\nprovision stopped at: {}. {exists}.{key_note}\nRun the same provision command again to continue, or `crossrole deprovision --green-admin-profile {} --blue-admin-profile {}` (with the same names) to remove what provision made.",
        world.describe(at),
        input.green_admin,
        input.blue_admin
    ))
}

/// The names both commands share, checked before any call.
pub fn names_from(a: &crate::cli::AdminArgs, bucket: &str) -> Result<Names> {
    use crate::commands::policy::{bucket_name, group_name, policy_name, role_name, user_name};
    use crate::validate;
    fn usage(flag: &'static str) -> impl Fn(String) -> Error {
        move |e| Error::Usage(format!("{flag}: {e}"))
    }
    for (flag, v) in [
        ("--green-admin-profile", &a.green_admin_profile),
        ("--blue-admin-profile", &a.blue_admin_profile),
        ("--source-profile", &a.source_profile),
        ("--target-profile", &a.target_profile),
    ] {
        validate::profile_name(v).map_err(usage(flag))?;
    }
    if a.source_profile == a.target_profile {
        return Err(Error::Usage(format!(
            "--source-profile and --target-profile are both `{}`",
            a.source_profile
        )));
    }
    if let Some(r) = &a.region {
        validate::region(r).map_err(usage("--region"))?;
    }
    if !bucket.is_empty() {
        bucket_name(bucket).map_err(usage("--bucket"))?;
    }
    user_name(&a.user).map_err(usage("--user"))?;
    group_name(&a.group).map_err(usage("--group"))?;
    role_name(&a.role).map_err(usage("--role"))?;
    policy_name(&a.policy).map_err(usage("--policy"))?;
    Ok(Names {
        bucket: bucket.to_string(),
        user: a.user.clone(),
        group: a.group.clone(),
        role: a.role.clone(),
        policy: a.policy.clone(),
    })
}

pub fn from_args(a: crate::cli::ProvisionArgs) -> Result<ProvisionInput> {
    use crate::validate;
    let names = names_from(&a.admin, &a.bucket)?;
    if let Some(m) = &a.mfa_serial {
        validate::mfa_serial(m).map_err(|e| Error::Usage(format!("--mfa-serial: {e}")))?;
    }
    if let Some(x) = &a.external_id {
        validate::external_id(x).map_err(|e| Error::Usage(format!("--external-id: {e}")))?;
    }
    Ok(ProvisionInput {
        green_admin: a.admin.green_admin_profile,
        blue_admin: a.admin.blue_admin_profile,
        names,
        create_bucket: a.create_bucket,
        mfa_serial: a.mfa_serial,
        external_id: a.external_id,
        region: a.admin.region,
        source_profile: a.admin.source_profile,
        target_profile: a.admin.target_profile,
        dry_run: a.dry_run,
        yes: a.admin.yes,
    })
}
