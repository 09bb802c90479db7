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

/// Offset and size of member `name` of the struct with BTF id `id`, for a load at a
/// 16-bit displacement (with room for the bytes after it); refused unless the size is
/// one of `sizes`, the widths the program loads it with.
pub(crate) fn member_offset(
    btf: &crate::btf::Btf,
    id: u32,
    name: &str,
    sizes: &[u32],
) -> std::io::Result<(i16, u32)> {
    use std::io;
    let m = btf.member_of(id, name).map_err(io::Error::other)?;
    if !sizes.contains(&m.size) {
        return Err(io::Error::other(format!(
            "BTF: member {name} has size {}, expected one of {sizes:?}",
            m.size
        )));
    }
    let offset = i16::try_from(m.offset)
        .ok()
        .filter(|&o| o < i16::MAX - 16)
        .ok_or_else(|| io::Error::other(format!("BTF: member {name} too far")))?;
    Ok((offset, m.size))
}
