//! Renderers: functions from records and options to lines. They never touch /proc.

pub mod arp;
pub mod audit;
pub mod groups;
pub mod iface;
pub mod json;
pub mod lsof;
pub mod netstat;
pub mod route;
pub mod ss;
pub mod ss_detail;
pub mod ss_filters;
pub mod ss_json;
pub mod ss_summary;
pub mod stats;
pub mod text;
