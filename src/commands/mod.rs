//! One file per subcommand; each a plain function taking its inputs and its
//! dependencies, writing its output to the writer it is given.

pub mod clear;
pub mod completions;
pub mod credential_process;
pub mod deprovision;
pub mod doctor;
pub mod doctor_plaintext;
pub mod exec;
pub mod export;
pub mod list;
pub mod login;
pub mod policy;
pub mod provision;
pub mod remove;
pub mod rotate;
pub mod setup;
pub mod setup_input;
pub mod setup_plan;
