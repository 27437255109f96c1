//! crossrole: keeps an IAM user's long-term key in the OS keyring, assumes a
//! cross-account role with it, and serves both to the AWS CLI through
//! `credential_process`, caching role sessions in secure storage.
//!
//! The binary (`main.rs`) only parses arguments and maps errors to exit codes;
//! everything else lives here so it can be tested with injected dependencies.

pub mod admin;
pub mod admin_exec;
pub mod awsfile;
pub mod cache;
pub mod cache_full;
pub mod cli;
pub mod clock;
pub mod credentials;
pub mod deps;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod keys;
pub mod lock;
pub mod mfa;
pub mod partition;
pub mod paths;
pub mod process_line;
pub mod profile;
pub mod prompt;
pub mod resolve;
pub mod role_session;
pub mod secrets;
pub mod server;
pub mod signin;
pub mod stale;
pub mod sts;
pub mod sts_errors;
pub mod sys;
pub mod validate;

pub use error::{Error, Result};

pub mod commands;

use std::process::ExitCode;

use crate::cli::{Cli, Command, ExportFormat};

/// Runs one command with the real environment, clock, stores and STS.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let env = env::Env::from_process();
    let _report = DirectReport(env.get("CROSSROLE_DEBUG_DIRECT").is_some());
    // Built only by the commands that need files, keyring or network, so that
    // `policy` or `completions` work even without HOME.
    let deps = || -> anyhow::Result<deps::Deps<'_>> {
        let self_exe = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| anyhow::anyhow!("cannot find crossrole's own path: {e}"))?;
        real_deps(&env, self_exe)
    };
    match cli.command {
        Command::CredentialProcess(args) => {
            sys::disable_core_dumps();
            commands::credential_process::run(&deps()?, profile_arg(&args.profile)?, &mut stdout)?;
        }
        Command::Setup(args) => {
            sys::disable_core_dumps();
            sys::ignore_file_size_signal();
            let deps = deps()?;
            let input = commands::setup_input::from_args(*args, &deps)?;
            commands::setup::run(&deps, input, &mut stdout)?;
        }
        Command::Exec(args) => {
            profile_arg(&args.profile)?;
            sys::keep_out_of_core_dumps();
            let input = commands::exec::ExecInput {
                profile: args.profile,
                force: args.force,
                refresh: args.refresh,
                no_session: args.no_session,
                server: args.server,
                region: args.region,
                command: args.command,
            };
            return Ok(commands::exec::run(&deps()?, &input)?);
        }
        Command::Export(args) => {
            sys::disable_core_dumps();
            commands::export::run(
                &deps()?,
                profile_arg(&args.profile)?,
                match args.format {
                    ExportFormat::Env => commands::export::Format::Env,
                    ExportFormat::Json => commands::export::Format::Json,
                },
                args.no_session,
                &mut stdout,
            )?;
        }
        Command::Login(args) => {
            // Not a zero core limit: the browser the opener starts would inherit it.
            sys::keep_out_of_core_dumps();
            let input = commands::login::LoginInput {
                profile: profile_arg(&args.profile)?,
                stdout: args.stdout,
                destination: args.destination.as_deref(),
                region: args.region.as_deref(),
            };
            commands::login::run(&deps()?, &input, &mut stdout)?
        }
        Command::List(args) => {
            sys::disable_core_dumps();
            commands::list::run(&deps()?, args.json, &mut stdout)?
        }
        Command::Clear(args) => {
            let profile = args.profile.as_deref().map(profile_arg).transpose()?;
            commands::clear::run(&deps()?, profile, args.mfa, &mut stdout)?
        }
        Command::Remove(args) => {
            sys::disable_core_dumps();
            sys::ignore_file_size_signal();
            commands::remove::run(&deps()?, profile_arg(&args.profile)?, args.yes, &mut stdout)?
        }
        Command::Rotate(args) => {
            sys::disable_core_dumps();
            commands::rotate::run(&deps()?, profile_arg(&args.profile)?, args.yes, &mut stdout)?
        }
        Command::Doctor(args) => {
            sys::disable_core_dumps();
            let profile = args.profile.as_deref().map(profile_arg).transpose()?;
            return Ok(commands::doctor::run(
                &deps()?,
                profile,
                args.offline,
                &mut stdout,
            )?);
        }
        Command::Policy(args) => {
            let input = commands::policy::PolicyInput {
                green_account: args.green_account,
                blue_account: args.blue_account,
                bucket: args.bucket,
                role_name: args.role_name,
                user_or_group: args.user_or_group,
                require_mfa: args.require_mfa,
                external_id: args.external_id,
                user: args.user,
                json: args.json,
            };
            commands::policy::run(&input, &mut stdout)?
        }
        // IAM and S3 live in the companion binary, so that the SDK clients
        // they need never weigh on this one (see `admin_exec`).
        Command::Provision(_) | Command::Deprovision(_) => {
            return Ok(admin_exec::hand_over()?);
        }
        Command::Completions(args) => commands::completions::completions(args.shell, &mut stdout)?,
        Command::Man => commands::completions::man(&mut stdout)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands of `crossrole-admin`: provision, deprovision (and those
/// that call IAM with the user's own key). Called by that binary's `main`
/// with the same command line `crossrole` was given.
pub fn run_admin(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let env = env::Env::from_process();
    let _report = DirectReport(false);
    let deps = real_deps(&env, admin_exec::crossrole_path()?)?;
    sys::disable_core_dumps();
    sys::ignore_file_size_signal();
    match cli.command {
        Command::Provision(args) => {
            let input = commands::provision::from_args(*args)?;
            commands::provision::run(&deps, &input, &mut stdout)?
        }
        Command::Deprovision(args) => {
            let input = commands::deprovision::from_args(*args)?;
            commands::deprovision::run(&deps, &input, &mut stdout)?
        }
        _ => return Err(Error::Usage(
            "crossrole-admin runs only provision and deprovision; run the others with crossrole"
                .into(),
        )
        .into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// The real clock, stores, STS and MFA prompter; `self_exe` is the
/// `crossrole` the profiles' `credential_process` will run.
fn real_deps(env: &env::Env, self_exe: std::path::PathBuf) -> anyhow::Result<deps::Deps<'_>> {
    Ok(deps::Deps {
        env,
        paths: paths::Paths::resolve(env)?,
        clock: &clock::SystemClock,
        sts: &deps::AwsSts,
        stores: deps::Stores::real(),
        prompter: &mfa::prompt::SystemPrompter,
        self_exe,
    })
}

/// Once the command is done, whatever way it ends: wipes the Secret Service
/// transfer key, and with `CROSSROLE_DEBUG_DIRECT` set says on stderr how
/// often the direct client fell back to the keyring-core store (tests hold
/// it to 0).
struct DirectReport(bool);

impl Drop for DirectReport {
    fn drop(&mut self) {
        secrets::close_transfer_session();
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
        if self.0 {
            eprintln!(
                "crossrole: debug: direct Secret Service client fallbacks: {}",
                secrets::direct_fallbacks()
            );
        }
    }
}

/// A PROFILE argument, checked before it reaches a message, a file or a keyring entry name.
fn profile_arg(name: &str) -> Result<&str> {
    validate::profile_name(name).map_err(|e| Error::Usage(format!("PROFILE: {e}")))?;
    Ok(name)
}
