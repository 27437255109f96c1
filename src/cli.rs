//! Command-line shape (clap derive) only. `lib::run` turns these into
//! validated inputs for the commands; nothing below knows about clap.

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "crossrole",
    // Usage and help name the program `crossrole` even when it is run
    // through another path or link name (argv[0]).
    bin_name = "crossrole",
    version,
    about = "Cross-account AWS credentials for the AWS CLI and SDKs: a long-term key in the OS keyring, role sessions cached securely, served through credential_process",
    long_about = None,
    propagate_version = true,
    after_help = "Start with:\n  crossrole setup --import-credentials --role-arn arn:aws:iam::222222222222:role/CrossAccountS3Access-Role --region eu-west-1\n  aws --profile blue sts get-caller-identity\n\nThen `crossrole list` shows what is set up and `crossrole doctor` checks it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Put the source (green) key in the OS keyring and write both profiles to ~/.aws/config
    Setup(Box<SetupArgs>),
    /// Print credentials for PROFILE as credential_process JSON (called by the AWS CLI)
    #[command(name = "credential-process")]
    CredentialProcess(CredentialProcessArgs),
    /// Run a command with PROFILE's credentials in AWS_* environment variables
    Exec(ExecArgs),
    /// Print PROFILE's credentials as shell exports or credential_process JSON
    Export(ExportArgs),
    /// Open the AWS console signed in as PROFILE (or print the sign-in URL with --stdout)
    Login(LoginArgs),
    /// Show the profiles crossrole manages, where their secrets are, and cached sessions
    List(ListArgs),
    /// Drop cached role sessions (all, or PROFILE's)
    Clear(ClearArgs),
    /// Delete PROFILE's keyring entries and cached sessions, and remove it from ~/.aws/config
    Remove(RemoveArgs),
    /// Replace PROFILE's access key: a new one in IAM and the keyring, the old one deleted
    Rotate(RotateArgs),
    /// Check the config, binary path, keyring, keys, STS, identity, role and clock
    Doctor(DoctorArgs),
    /// Print the three IAM policy documents of the cross-account setup
    Policy(PolicyArgs),
    /// Create the whole setup in both accounts with their admin profiles: bucket, policy, role, group, user, access key (into the keyring), then both profiles
    Provision(Box<ProvisionArgs>),
    /// Delete what provision made in both accounts, and both profiles with their keyring entries
    Deprovision(Box<DeprovisionArgs>),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout
    #[command(name = "man")]
    Man,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// The profile whose credentials the command gets
    pub profile: String,
    /// Run even inside another `crossrole exec` (its credentials are replaced)
    #[arg(long)]
    pub force: bool,
    /// Drop the cached session and ask STS for a new one first
    #[arg(long)]
    pub refresh: bool,
    /// For a key profile: the long-term key itself instead of a GetSessionToken session
    #[arg(long)]
    pub no_session: bool,
    /// Serve credentials to CMD from a loopback endpoint that refreshes them, for jobs that outlive a session
    #[arg(long)]
    pub server: bool,
    /// Set AWS_REGION and AWS_DEFAULT_REGION to this instead of the profile's region
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The command and its arguments, after `--` [default: $SHELL, else /bin/sh]
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The profile to sign in as
    pub profile: String,
    /// Print the sign-in URL instead of opening it (it signs in whoever holds it)
    #[arg(long)]
    pub stdout: bool,
    /// The console page to open [default: the console home of the region]
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
    /// The console's region [default: the profile's]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// `export AWS_…=…` lines, quoted for `eval`
    Env,
    /// The credential_process JSON document
    Json,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The profile whose credentials are printed
    pub profile: String,
    /// `env` for shell exports, `json` for the credential_process document
    #[arg(long, value_enum, default_value_t = ExportFormat::Env)]
    pub format: ExportFormat,
    /// For a key profile: the long-term key itself instead of a GetSessionToken session
    #[arg(long)]
    pub no_session: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ClearArgs {
    /// Only this profile's sessions
    pub profile: Option<String>,
    /// Drop MFA sessions too (the next call asks for a code again)
    #[arg(long)]
    pub mfa: bool,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The profile to remove (a key profile only once no role profile uses it)
    pub profile: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The key profile whose access key is replaced
    #[arg(default_value = "green")]
    pub profile: String,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Check only this profile (and its source) [default: all managed profiles]
    pub profile: Option<String>,
    /// Skip the checks that call STS and IAM (key age)
    #[arg(long)]
    pub offline: bool,
}

#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// The account holding the IAM users (Green)
    #[arg(long, value_name = "ID")]
    pub green_account: String,
    /// The account holding the role and the bucket (Blue)
    #[arg(long, value_name = "ID", required_unless_present = "user")]
    pub blue_account: Option<String>,
    /// The bucket the role may read and write
    #[arg(long, value_name = "NAME", required_unless_present = "user")]
    pub bucket: Option<String>,
    /// The role's name in Blue
    #[arg(long, default_value = "CrossAccountS3Access-Role", value_name = "NAME")]
    pub role_name: String,
    /// Trust only this user or group ARN in Green [default: the whole Green account]
    #[arg(long, value_name = "ARN")]
    pub user_or_group: Option<String>,
    /// Require MFA in the trust policy
    #[arg(long)]
    pub require_mfa: bool,
    /// Require this external id in the trust policy
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Also print this Green user's policy for managing only their own access keys (alone with just --green-account)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Print one JSON object instead of labelled documents
    #[arg(long)]
    pub json: bool,
}

/// The names provision and deprovision share.
#[derive(Args, Debug)]
pub struct AdminArgs {
    /// A profile with IAM admin rights in the Green account (the users' account); any profile the AWS SDKs can use
    #[arg(long, value_name = "PROFILE")]
    pub green_admin_profile: String,
    /// A profile with IAM and S3 admin rights in the Blue account (the role's and the bucket's)
    #[arg(long, value_name = "PROFILE")]
    pub blue_admin_profile: String,
    /// The IAM user in Green
    #[arg(long, default_value = "s3-prod-user", value_name = "NAME")]
    pub user: String,
    /// The IAM group in Green whose policy may assume the role
    #[arg(long, default_value = "prod-s3-users", value_name = "NAME")]
    pub group: String,
    /// The role in Blue
    #[arg(long, default_value = "CrossAccountS3Access-Role", value_name = "NAME")]
    pub role: String,
    /// The role's permission policy in Blue
    #[arg(long, default_value = "CrossAccountS3Access", value_name = "NAME")]
    pub policy: String,
    /// The profile holding the user's key
    #[arg(long, default_value = "green", value_name = "NAME")]
    pub source_profile: String,
    /// The profile that assumes the role
    #[arg(long, default_value = "blue", value_name = "NAME")]
    pub target_profile: String,
    /// Region of the bucket and the profiles [default: the Blue admin profile's, else us-east-1]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The bucket the role may read and write (in Blue)
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    /// Create the bucket if it does not exist
    #[arg(long)]
    pub create_bucket: bool,
    /// Require MFA in the role's trust policy, and set this device on the profiles
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// Require this external id in the role's trust policy, and set it on the role profile
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Print the plan (each resource: exists or create) and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct DeprovisionArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The bucket provision created; deleted only if provision created it and it is empty [default: none is touched]
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug, Default)]
pub struct SetupArgs {
    /// The profile holding the IAM user's long-term key [default: the one the role profile names, else green]
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
    /// The profile that assumes the role
    #[arg(long, default_value = "blue", value_name = "NAME")]
    pub target_profile: String,
    /// The role to assume, e.g. arn:aws:iam::222222222222:role/CrossAccountS3Access-Role
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Region of the role profile, and of the source profile if it has none [default: the role profile's, else the source profile's, else AWS_REGION / AWS_DEFAULT_REGION, else asked, else us-east-1]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Change the source profile's region (it otherwise keeps the one it has)
    #[arg(long, value_name = "REGION")]
    pub source_region: Option<String>,
    /// AWS CLI output format for both profiles [default: json for a new profile; an existing one keeps its own]
    #[arg(long, value_name = "FORMAT")]
    pub output: Option<String>,
    /// MFA device ARN (or serial) required by the role's trust policy
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// External id required by the role's trust policy
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Role session length in seconds (900-43200; the role's maximum applies)
    #[arg(long, value_name = "N")]
    pub duration_seconds: Option<String>,
    /// Role session name shown in CloudTrail [default: crossrole-<local user>]
    #[arg(long, value_name = "NAME")]
    pub role_session_name: Option<String>,
    /// Source identity set on the role session (must be allowed by the trust policy)
    #[arg(long, value_name = "ID")]
    pub source_identity: Option<String>,
    /// Move the source profile's key from the shared credentials file (or the config) into the keyring, removing it from both files
    #[arg(long, conflicts_with_all = ["access_key_id", "keys_from_env"])]
    pub import_credentials: bool,
    /// With --import-credentials: keep a private (0600) copy of each file before removing the key from it
    #[arg(long, requires = "import_credentials")]
    pub keep_backup: bool,
    /// Access key id of the source user; the secret is read from stdin (or asked with echo off on a terminal)
    #[arg(long, value_name = "ID", conflicts_with = "keys_from_env")]
    pub access_key_id: Option<String>,
    /// Take the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    #[arg(long)]
    pub keys_from_env: bool,
    /// Skip the STS checks (GetCallerIdentity and AssumeRole)
    #[arg(long)]
    pub no_verify: bool,
    /// Confirm without a terminal: with --import-credentials on the keyutils backend, delete the plaintext key although the kernel keyring does not survive a reboot
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// MFA session length: 900-129600 seconds [default: 28800]; 0 asks a code for each role session
    #[arg(long, value_name = "N")]
    pub mfa_session_seconds: Option<String>,
    /// How MFA codes are asked: auto, terminal, zenity, kdialog, osascript, process [default: auto]
    #[arg(long, value_name = "KIND")]
    pub mfa_prompt: Option<String>,
    /// With --mfa-prompt process: the command that prints the code (run without a shell)
    #[arg(long, value_name = "CMD")]
    pub mfa_process: Option<String>,
}

#[derive(Args, Debug)]
pub struct CredentialProcessArgs {
    /// The profile to print credentials for
    pub profile: String,
}
