//! eBPF without a BPF compiler: a tiny assembler ([`asm`]), the few bpf(2) calls
//! ([`sys`]) and the programs the project runs: a `task_file` iterator that lists
//! every process's socket descriptors in one read ([`task_files`]), a sleepable `task`
//! iterator that reads every process's argv[0] as /proc/PID/cmdline gives it
//! ([`task_argv`]), and a `task` iterator that lists every process for the audit's
//! hidden-process check ([`tasks`]).

pub mod asm;
mod sys;

pub(crate) use sys::Mapping;
pub mod task_argv;
pub mod task_files;
pub mod tasks;
