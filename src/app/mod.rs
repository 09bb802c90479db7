//! Run a binary's job: arguments → snapshot → selection → renderer → output.

pub mod iface;
pub mod netstat;
pub mod output;
pub mod stats;
