//! One module per subcommand; each maps its flags to library calls and prints.

pub mod completions;
pub mod controller;
pub mod keys;
pub mod lint;
pub mod man;
pub mod report;
pub mod reseal;
pub mod rotate;
pub mod seal;
pub mod serve;
pub mod unseal;
pub mod verify;
