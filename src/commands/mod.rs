//! One file per subcommand; each a plain function taking its inputs and its
//! dependencies, writing its output to the writer it is given.

pub mod credential_process;
pub mod setup;
