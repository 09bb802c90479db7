//! Run a binary's job: arguments → snapshot → selection → renderer → output.

pub mod audit;
pub mod iface;
pub mod lsof;
pub mod netstat;
pub mod output;
pub mod queues;
pub mod route;
pub mod ss;
pub mod stats;
