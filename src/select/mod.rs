//! Selections: which sockets and files a command line asks for.

pub mod lsof;
