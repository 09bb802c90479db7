//! eBPF without a BPF compiler: a tiny assembler ([`asm`]), the few bpf(2) calls
//! ([`sys`]) and the programs the project runs: a `task_file` iterator that lists every
//! process's socket descriptors in one read ([`task_files`]) and a sleepable `task`
//! iterator that reads every process's argv[0] as /proc/PID/cmdline gives it
//! ([`task_argv`]).

pub mod asm;
mod sys;

pub(crate) use sys::Mapping;
pub mod task_argv;
pub mod task_files;
