//! Command-line definitions, shared by the binaries, the man pages and the completions.

pub mod getopt;
pub mod lsof;
pub mod netstat;
pub mod ss;
