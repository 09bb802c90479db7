//! Renderers: functions from records and options to lines. They never touch /proc.

pub mod netstat;
pub mod text;
