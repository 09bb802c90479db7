//! The bpf(2) system calls the task_file iterator needs: BPF_PROG_LOAD, BPF_LINK_CREATE
//! and BPF_ITER_CREATE, through `libc::syscall(SYS_bpf)` with `#[repr(C)]` attribute
//! structs laid out as `union bpf_attr` (include/uapi/linux/bpf.h). No maintained crate
//! loads a program from instructions: aya and libbpf-rs load ELF objects a BPF compiler
//! made. Every descriptor comes back as an `OwnedFd`.

use super::asm::Insn;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_ITER_CREATE: libc::c_long = 33;

pub const BPF_PROG_TYPE_TRACING: u32 = 26;
pub const BPF_TRACE_ITER: u32 = 28;

/// The BPF_PROG_LOAD part of `union bpf_attr`, up to `attach_btf_obj_fd` (the kernel
/// zero-fills the fields after a shorter struct).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_btf_obj_fd: u32,
    core_relo_cnt: u32,
}

/// The BPF_LINK_CREATE part: no iterator parameters (every task of our pid namespace).
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    iter_info: u64,
    iter_info_len: u32,
    pad: u32,
}

/// The BPF_BTF_LOAD part, up to `btf_log_level`.
#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
}

#[repr(C)]
#[derive(Default)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// bpf(cmd, attr, size) for an attr struct of ours, returning the new descriptor.
fn bpf_fd<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] struct whose layout is the
    // command's part of union bpf_attr, and its size is passed with it; every pointer
    // inside it (set by the callers) points to memory that outlives the call. The
    // kernel reads at most `size` bytes and writes nothing back into these commands'
    // attrs (log_true_size lies past our struct).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| io::Error::other("bpf() returned a bad fd"))?;
    // SAFETY: the call succeeded and returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// BPF_PROG_LOAD's prog_flags bit for a program that may sleep (page faults in
/// bpf_copy_from_user_task); iterator programs may be sleepable since Linux 5.10.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// Loads a BPF_PROG_TYPE_TRACING program for the iterator whose `bpf_iter_*` function
/// has vmlinux BTF id `attach_btf_id`. On failure the verifier's log (when it wrote
/// one) is in the error.
pub fn load_iter_program(insns: &[Insn], attach_btf_id: u32, license: &str) -> io::Result<OwnedFd> {
    load_iter_program_named(insns, attach_btf_id, license, "rnt_owner", 0, None)
}

/// The program's own BTF and one `struct bpf_func_info` (instruction index, BTF
/// FUNC id) per function: the verifier wants them for a program with a callback.
pub struct FuncInfo<'a> {
    pub btf: &'a OwnedFd,
    pub funcs: &'a [[u32; 2]],
}

/// BPF_BTF_LOAD of a BTF blob (the program's own types).
pub fn load_btf(blob: &[u8]) -> io::Result<OwnedFd> {
    let mut attr = BtfLoadAttr {
        btf: blob.as_ptr() as u64,
        btf_size: u32::try_from(blob.len()).map_err(|_| io::Error::other("BTF too large"))?,
        ..BtfLoadAttr::default()
    };
    bpf_fd(BPF_BTF_LOAD, &mut attr)
        .map_err(|e| io::Error::new(e.kind(), format!("BPF_BTF_LOAD: {e}")))
}

/// [`load_iter_program`] with the program's name (up to 15 bytes, shown by bpftool),
/// prog_flags (e.g. [`BPF_F_SLEEPABLE`]) and, for a program with subprograms, their
/// [`FuncInfo`].
pub fn load_iter_program_named(
    insns: &[Insn],
    attach_btf_id: u32,
    license: &str,
    prog_name: &str,
    prog_flags: u32,
    funcs: Option<FuncInfo<'_>>,
) -> io::Result<OwnedFd> {
    let code = super::asm::to_bytes(insns);
    let license = std::ffi::CString::new(license).map_err(|_| io::Error::other("bad license"))?;
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    let n = prog_name.len().min(15);
    name[..n].copy_from_slice(&prog_name.as_bytes()[..n]);
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_TRACING,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| io::Error::other("program too long"))?,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_TRACE_ITER,
        prog_flags,
        attach_btf_id,
        ..ProgLoadAttr::default()
    };
    if let Some(f) = &funcs {
        use std::os::fd::AsRawFd;
        attr.prog_btf_fd = f.btf.as_raw_fd() as u32;
        attr.func_info_rec_size = 8;
        attr.func_info = f.funcs.as_ptr() as u64;
        attr.func_info_cnt =
            u32::try_from(f.funcs.len()).map_err(|_| io::Error::other("too many functions"))?;
    }
    match bpf_fd(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            // Load again with the verifier's log, only to say why.
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            match bpf_fd(BPF_PROG_LOAD, &mut attr) {
                Ok(fd) => Ok(fd),
                Err(_) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    // The last lines say what the verifier refused.
                    let tail: Vec<&str> = text.lines().rev().take(12).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    Err(io::Error::new(
                        first.kind(),
                        format!("BPF_PROG_LOAD: {first}; verifier: {}", tail.join(" | ")),
                    ))
                }
            }
        }
    }
}

/// BPF_LINK_CREATE of an iterator program.
pub fn link_iter(prog: &OwnedFd) -> io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_TRACE_ITER,
        ..LinkCreateAttr::default()
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr)
        .map_err(|e| io::Error::new(e.kind(), format!("BPF_LINK_CREATE: {e}")))
}

/// BPF_ITER_CREATE: a descriptor whose reads run the iterator.
pub fn iter_create(link: &OwnedFd) -> io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut attr = IterCreateAttr {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    bpf_fd(BPF_ITER_CREATE, &mut attr)
        .map_err(|e| io::Error::new(e.kind(), format!("BPF_ITER_CREATE: {e}")))
}

/// A read-only private mapping of a file that does not change while mapped (the
/// kernel's BTF: kernel memory, never truncated), unmapped on drop.
pub(crate) struct Mapping {
    ptr: std::ptr::NonNull<libc::c_void>,
    len: usize,
}

impl Mapping {
    /// Maps the whole of `file` (`len` bytes, from its fstat).
    pub(crate) fn of(file: &std::fs::File, len: usize) -> io::Result<Mapping> {
        use nix::sys::mman::{mmap, MapFlags, ProtFlags};
        let size =
            std::num::NonZeroUsize::new(len).ok_or_else(|| io::Error::other("empty file"))?;
        // SAFETY: a new mapping chosen by the kernel (no address given) overlaps no
        // Rust object; it is read-only and private, and the callers map only files
        // whose contents cannot change or shrink while mapped.
        let ptr = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_POPULATE,
                file,
                0,
            )
        }
        .map_err(io::Error::from)?;
        Ok(Mapping { ptr, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live PROT_READ mapping of `len` bytes until drop, and
        // nothing writes to it (private, read-only).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `of` with this address and length, and the
        // borrow of `bytes()` ended with the borrow of `self`.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr, self.len) };
    }
}
