//! Run a binary's job: arguments → snapshot → selection → renderer → output.

pub mod audit;
pub mod netstat;
pub mod output;
