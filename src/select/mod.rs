//! Selections: which sockets and files a command line asks for.

pub mod lsof;
pub mod ss_filter;
