//! The integration tests, one module per user-visible behaviour, linked
//! into one binary (one link instead of one per file).

// The harness drives Linux keyrings, D-Bus and moto; on other targets the
// suite is only compiled (the Windows lint), not run.
#![cfg(target_os = "linux")]

mod common;

mod awsfile_botocore;
mod awsfile_proptest;
mod awsfile_readers;
mod awsfile_roundtrip;
mod awsfile_vectors;
mod blue_cache;
mod blue_e2e;
mod blue_errors;
mod blue_mfa;
mod bootstrap_e2e;
mod cli_help;
mod cmd_completions;
mod cmd_deprovision;
mod cmd_doctor;
mod cmd_exec;
mod cmd_export;
mod cmd_list_clear;
mod cmd_login;
mod cmd_policy;
mod cmd_provision;
mod cmd_remove;
mod cmd_rotate;
mod cmd_setup;
mod concurrent_edits;
mod crash_safety;
mod direct_client;
mod exec_server;
mod exit_codes;
mod faults;
mod fuzz_corpus_replay;
mod headless_file;
mod headless_pass;
mod hostile_input;
mod install_script;
mod key_quota;
mod keyring_isolation;
mod keyring_messages;
mod mfa_desktop;
mod mfa_session;
mod no_secret_left;
mod permissions;
mod sdk_client;
mod secrets_backends;
mod setup_interactive;
