//! crossrole: keeps an IAM user's long-term key in the OS keyring, assumes a
//! cross-account role with it, and serves both to the AWS CLI through
//! `credential_process`, caching role sessions in secure storage.
//!
//! The binary (`main.rs`) only parses arguments and maps errors to exit codes;
//! everything else lives here so it can be tested with injected dependencies.

pub mod awsfile;
pub mod cache;
pub mod clock;
pub mod credentials;
pub mod deps;
pub mod keys;
pub mod env;
pub mod error;
pub mod lock;
pub mod paths;
pub mod secrets;
pub mod sts;
pub mod sys;
pub mod validate;
pub mod profile;
pub mod prompt;
pub mod resolve;
pub mod role_session;
pub mod sts_errors;
pub mod cli;

pub use error::{Error, Result};

pub mod commands;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, Command, SetupArgs};

use crate::commands::setup::{KeySource, SetupInput};
use crate::credentials::{LongTermKey, Secret};

/// Runs one command with the real environment, clock, stores and STS.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    // Commands that need no files, keyring or network.
    match &cli.command {
        Command::Policy(args) => {
            commands::policy::run(args, &mut stdout)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Completions(args) => {
            commands::completions::completions(args.shell, &mut stdout)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            commands::completions::man(&mut stdout)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let env = env::Env::from_process();
    let paths = paths::Paths::resolve(&env)?;
    let clock = clock::SystemClock;
    let sts = deps::AwsSts;
    let self_exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| anyhow::anyhow!("cannot find crossrole's own path: {e}"))?;
    let deps = deps::Deps {
        env: &env,
        paths,
        clock: &clock,
        sts: &sts,
        stores: deps::Stores::real(),
        self_exe,
    };
    match cli.command {
        Command::CredentialProcess(args) => {
            sys::disable_core_dumps();
            commands::credential_process::run(&deps, &args.profile, &mut stdout)?;
        }
        Command::Setup(args) => {
            sys::disable_core_dumps();
            let input = setup_input(args, &deps)?;
            commands::setup::run(&deps, input, &mut stdout)?;
        }
        Command::Exec(args) => return Ok(commands::exec::run(&deps, &args)?),
        Command::Export(args) => {
            sys::disable_core_dumps();
            commands::export::run(&deps, &args.profile, args.format, &mut stdout)?;
        }
        Command::List(args) => commands::list::run(&deps, args.json, &mut stdout)?,
        Command::Clear(args) => commands::clear::run(&deps, args.profile.as_deref(), &mut stdout)?,
        Command::Remove(args) => commands::remove::run(&deps, &args.profile, args.yes, &mut stdout)?,
        Command::Doctor(args) => {
            return Ok(commands::doctor::run(&deps, args.profile.as_deref(), args.offline, &mut stdout)?)
        }
        Command::Policy(_) | Command::Completions(_) | Command::Man => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

fn usage(flag: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Usage(format!("{flag}: {e}"))
}

/// Turns `setup`'s flags into validated input, asking on the terminal for
/// what is missing when there is one.
fn setup_input(a: SetupArgs, deps: &deps::Deps<'_>) -> Result<SetupInput> {
    validate::profile_name(&a.source_profile).map_err(usage("--source-profile"))?;
    validate::profile_name(&a.target_profile).map_err(usage("--target-profile"))?;
    validate::output_format(&a.output).map_err(usage("--output"))?;
    let interactive = std::io::stdin().is_terminal() && prompt::has_tty();
    let check = |v: &Option<String>, f: fn(&str) -> std::result::Result<(), String>, flag: &'static str| {
        v.as_deref().map(f).transpose().map_err(usage(flag))
    };
    check(&a.role_arn, validate::role_arn, "--role-arn")?;
    check(&a.region, validate::region, "--region")?;
    check(&a.mfa_serial, validate::mfa_serial, "--mfa-serial")?;
    check(&a.external_id, validate::external_id, "--external-id")?;
    check(&a.role_session_name, validate::session_name, "--role-session-name")?;
    check(&a.source_identity, validate::source_identity, "--source-identity")?;
    let duration_seconds = a
        .duration_seconds
        .as_deref()
        .map(validate::duration_seconds)
        .transpose()
        .map_err(usage("--duration-seconds"))?;

    let key_source = if a.import_credentials {
        KeySource::Import {
            keep_backup: a.keep_backup,
        }
    } else if a.keys_from_env {
        KeySource::Env
    } else if let Some(id) = a.access_key_id.clone() {
        validate::access_key_id(&id).map_err(usage("--access-key-id"))?;
        let secret = if std::io::stdin().is_terminal() {
            prompt::ask_secret(&format!("Secret access key for {}: ", credentials::mask_key_id(&id)))?
        } else {
            prompt::read_secret_line(std::io::stdin().lock())?
        };
        validate::secret_access_key(&secret).map_err(usage("secret access key"))?;
        KeySource::Given(LongTermKey {
            access_key_id: id,
            secret_access_key: Secret::new(secret.to_string()),
        })
    } else if interactive && !has_stored_key(deps, &a.source_profile) {
        let id = prompt::ask(&format!("Access key id for profile {} (AKIA…): ", a.source_profile))?;
        validate::access_key_id(&id).map_err(usage("access key id"))?;
        let secret = prompt::ask_secret("Secret access key (not shown): ")?;
        validate::secret_access_key(&secret).map_err(usage("secret access key"))?;
        KeySource::Given(LongTermKey {
            access_key_id: id,
            secret_access_key: Secret::new(secret.to_string()),
        })
    } else {
        KeySource::Stored
    };

    let mut role_arn = a.role_arn.clone();
    let mut region = a.region.clone();
    if interactive {
        let config = awsfile::AwsFile::load(&deps.paths.config_file, awsfile::FileKind::Config)?;
        let target = config.profile(&a.target_profile).unwrap_or_default();
        if role_arn.is_none() && target.get(profile::KEY_ROLE_ARN).is_none() && target.get("role_arn").is_none() {
            let arn = prompt::ask("Role to assume (arn:aws:iam::ACCOUNT:role/NAME): ")?;
            validate::role_arn(&arn).map_err(usage("role ARN"))?;
            role_arn = Some(arn);
        }
        let has_region = config
            .profile(&a.source_profile)
            .is_some_and(|p| p.get("region").is_some())
            || deps.env.is_set("AWS_REGION")
            || deps.env.is_set("AWS_DEFAULT_REGION");
        if region.is_none() && !has_region {
            let r = prompt::ask("Region [us-east-1]: ")?;
            if !r.is_empty() {
                validate::region(&r).map_err(usage("region"))?;
                region = Some(r);
            }
        }
    }
    Ok(SetupInput {
        source_profile: a.source_profile,
        target_profile: a.target_profile,
        role_arn,
        region,
        output: a.output,
        mfa_serial: a.mfa_serial,
        external_id: a.external_id,
        duration_seconds,
        role_session_name: a.role_session_name,
        source_identity: a.source_identity,
        key_source,
        verify: !a.no_verify,
    })
}

fn has_stored_key(deps: &deps::Deps<'_>, profile: &str) -> bool {
    deps.stores
        .secret(deps.env)
        .ok()
        .and_then(|s| keys::load(s, profile).ok())
        .is_some()
}
