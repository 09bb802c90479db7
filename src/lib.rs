//! rnetstat and rlsof: netstat's and lsof's views of a live Linux system, read from
//! /proc (or a captured copy of it), joined on socket inodes, printed line for line.
//!
//! Data flows one way: `proc` (readers) → `snapshot` (the join) → selection →
//! `render` (one renderer per view) → `app::output`.

pub mod addr;
pub mod app;
pub mod audit;
pub mod bpf;
pub mod btf;
pub mod capture;
pub mod cli;
pub mod color;
pub mod docs;
pub mod ebpf;
pub mod escape;
pub mod lsof;
pub mod netlink;
pub mod netns;
pub mod outdir;
pub mod proc;
pub mod queues;
pub mod render;
pub mod resolve;
pub mod rpc;
pub mod select;
pub mod snapshot;
pub mod sockfilter;
pub mod ss;
pub mod tables;
pub mod threads;
