//! Every socket descriptor of every process of our pid namespace, from a BPF iterator
//! over the kernel's task_file iterator (kernel/bpf/task_iter.c): one program run per
//! open file, in the kernel, without the dentry /proc/PID/fd instantiates per fd.
//!
//! The iterator visits the tasks of the pid namespace of the process that creates it,
//! in ascending pid order, each task's files in ascending fd order, and skips threads
//! sharing their leader's file table. The program keeps thread-group leaders
//! (task->pid == task->tgid) whose file is a socket (S_ISSOCK of f_inode->i_mode) and
//! writes one record for each: the pid as our namespace numbers it
//! (thread_pid->numbers[our level].nr), the fd, the inode number and task->comm. That
//! is /proc's readdir order and /proc/PID/fd's contents, so the join keeps its "first
//! holder wins" rule.
//!
//! Kernel struct offsets come from the running kernel's BTF (src/btf.rs); loads from
//! the iterator's task and file pointers are checked by the verifier against the same
//! BTF, the pid-number lookup (an array index) goes through bpf_probe_read_kernel.

use super::asm::{self, Alu, Cond, Insn, Program, Reg::*, Size};
use crate::btf::{Btf, Kind};
use std::io;

/// Helper ids (include/uapi/linux/bpf.h, `___BPF_FUNC_MAPPER`).
/// bpf_get_current_task_btf: current as a pointer the verifier types (plain loads).
const GET_CURRENT_TASK_BTF: i32 = 158;
const PROBE_READ_KERNEL: i32 = 113;
pub(super) const SEQ_WRITE: i32 = 127;

/// The helpers above are GPL-only; the kernel's license_is_gpl_compatible() accepts
/// this dual licence (the project is MIT OR Apache-2.0; the program is a few
/// instructions generated at run time).
pub(super) const LICENSE: &str = "Dual MIT/GPL";

/// The function the task_file iterator's programs attach to (DEFINE_BPF_ITER_FUNC).
const ITER_FUNC: &str = "bpf_iter_task_file";

/// Deepest pid namespace nesting the kernel allows is 32 (MAX_PID_NS_LEVEL); the
/// index is bounded before it addresses the array.
const MAX_LEVEL: i32 = 63;

/// sockfs's superblock magic (include/uapi/linux/magic.h). An O_PATH descriptor of a
/// socket file on disk (a bound unix socket's path) has an S_IFSOCK inode too, but of
/// that file system: its link in /proc/PID/fd is the path, not `socket:[N]`, and its
/// inode number is the file system's, which may equal a real socket's (FUSE chooses
/// its inode numbers). Only sockfs's inodes are sockets.
const SOCKFS_MAGIC: i32 = 0x534F_434B;

/// One record as the program writes it: pid u32, fd u32, inode u64, comm [u8; 16].
pub const RECORD_LEN: usize = 32;

/// The largest output read (8 M sockets); more is not believed and the caller falls back.
const MAX_OUTPUT: usize = 256 << 20;

/// One socket descriptor of a thread-group leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketFd {
    /// As /proc of our pid namespace numbers the process.
    pub pid: u32,
    pub fd: u32,
    pub inode: u64,
    /// task->comm, NUL-padded.
    pub comm: [u8; 16],
}

impl SocketFd {
    /// comm up to its first NUL, as /proc/PID/comm shows it (without the newline).
    pub fn comm(&self) -> &[u8] {
        let end = self.comm.iter().position(|&b| b == 0).unwrap_or(16);
        &self.comm[..end]
    }
}

/// Where the program finds what it reads, in bytes, from vmlinux BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    pub iter_func: u32,
    pub file_f_inode: i16,
    pub inode_i_mode: i16,
    pub inode_i_mode_size: u32,
    pub inode_i_ino: i16,
    pub inode_i_sb: i16,
    pub sb_s_magic: i16,
    pub sb_s_magic_size: u32,
    pub task_pid: i16,
    pub task_tgid: i16,
    pub task_comm: i16,
    pub task_thread_pid: i16,
    pub pid_level: i16,
    pub pid_numbers: i32,
    pub upid_size: i32,
    pub upid_nr: i32,
}

impl Offsets {
    /// Looks every member up and checks its size is what the program loads.
    pub fn from_btf(btf: &Btf) -> io::Result<Offsets> {
        let names = [
            (Kind::Func, ITER_FUNC),
            (Kind::Struct, "file"),
            (Kind::Struct, "inode"),
            (Kind::Struct, "task_struct"),
            (Kind::Struct, "pid"),
            (Kind::Struct, "upid"),
            (Kind::Struct, "super_block"),
        ];
        let ids = btf.find_all(&names);
        let id =
            |i: usize| ids[i].ok_or_else(|| io::Error::other(format!("BTF has no {}", names[i].1)));
        let (func, file, inode, task, pid, upid) = (id(0)?, id(1)?, id(2)?, id(3)?, id(4)?, id(5)?);
        let super_block = id(6)?;
        let member =
            |id: u32, name: &str, sizes: &[u32]| super::member_offset(btf, id, name, sizes);
        let short = |(off, _): (i16, u32)| off;
        let numbers = btf.member_of(pid, "numbers").map_err(io::Error::other)?;
        let upid_size = btf.size_of(upid).map_err(io::Error::other)?;
        let elem = btf.array_elem(numbers.type_id).map_err(io::Error::other)?;
        if btf.size_of(elem).map_err(io::Error::other)? != upid_size {
            return Err(io::Error::other(
                "BTF: pid->numbers is not an array of upid",
            ));
        }
        let (i_mode, i_mode_size) = member(inode, "i_mode", &[2, 4])?;
        let (s_magic, s_magic_size) = member(super_block, "s_magic", &[4, 8])?;
        Ok(Offsets {
            iter_func: func,
            file_f_inode: short(member(file, "f_inode", &[8])?),
            inode_i_mode: i_mode,
            inode_i_mode_size: i_mode_size,
            inode_i_ino: short(member(inode, "i_ino", &[8])?),
            inode_i_sb: short(member(inode, "i_sb", &[8])?),
            sb_s_magic: s_magic,
            sb_s_magic_size: s_magic_size,
            task_pid: short(member(task, "pid", &[4])?),
            task_tgid: short(member(task, "tgid", &[4])?),
            task_comm: short(member(task, "comm", &[16])?),
            task_thread_pid: short(member(task, "thread_pid", &[8])?),
            pid_level: short(member(pid, "level", &[4])?),
            pid_numbers: i32::try_from(numbers.offset).map_err(io::Error::other)?,
            upid_size: i32::try_from(upid_size)
                .ok()
                .filter(|&s| (4..=64).contains(&s))
                .ok_or_else(|| io::Error::other("BTF: odd struct upid"))?,
            upid_nr: member(upid, "nr", &[4])?.0.into(),
        })
    }
}

// Stack layout (below R10): the record at -32..-1.
const REC: i16 = -32;
const REC_FD: i16 = -28;
const REC_INO: i16 = -24;
const REC_COMM: i16 = -16;

/// `probe_read_kernel(R10 + dst, size, R3)`: R3 already holds the address.
fn probe_read_r3(p: &mut Program, dst: i16, size: i32) {
    p.push(asm::mov(R1, R10))
        .push(asm::alu_imm(Alu::Add, R1, dst as i32))
        .push(asm::mov_imm(R2, size))
        .push(asm::call(PROBE_READ_KERNEL));
}

/// Writes the pid of the task in R7 as our pid namespace numbers it
/// (task->thread_pid->numbers[our level].nr, our level being current's) to the stack
/// at `pid_slot` (an offset from R10), or jumps to `fail` when the task is not numbered there. Clobbers
/// R0-R5, R8 and R9.
///
/// The pointers and levels are read with plain loads, which the verifier checks
/// against BTF and the JIT guards (a fault reads 0): no helper call per record. Only
/// `numbers[level]`, an index the verifier cannot bound, goes through
/// bpf_probe_read_kernel.
pub(super) fn pid_in_our_namespace(
    p: &mut Program,
    o: &Offsets,
    pid_slot: i16,
    fail: &'static str,
) {
    let (thread_pid, level) = (o.task_thread_pid, o.pid_level);
    // Our level: current->thread_pid->level.
    p.push(asm::call(GET_CURRENT_TASK_BTF))
        .push(asm::ldx(Size::DW, R1, R0, thread_pid))
        .jmp_imm_to(Cond::Eq, R1, 0, fail)
        .push(asm::ldx(Size::W, R9, R1, level))
        // The task's struct pid (R8 from here on) and its level.
        .push(asm::ldx(Size::DW, R8, R7, thread_pid))
        .jmp_imm_to(Cond::Eq, R8, 0, fail)
        .push(asm::ldx(Size::W, R1, R8, level))
        // A task our namespace numbers is at our level or deeper.
        .jmp_reg_to(Cond::Gt, R9, R1, fail)
        .jmp_imm_to(Cond::Gt, R9, MAX_LEVEL, fail)
        // pid = thread_pid->numbers[level].nr
        .push(asm::alu_imm(Alu::Mul, R9, o.upid_size))
        .push(asm::alu_imm(Alu::Add, R9, o.pid_numbers + o.upid_nr))
        .push(asm::mov(R3, R8))
        .push(asm::alu_reg(Alu::Add, R3, R9));
    probe_read_r3(p, pid_slot, 4);
}

/// The program, for the context `struct bpf_iter__task_file { meta @0, task @8,
/// u32 fd @16, file @24 }` (each a u64 slot).
pub fn program(o: &Offsets) -> Option<Vec<Insn>> {
    let mut p = Program::new();
    let mode_size = if o.inode_i_mode_size == 2 {
        Size::H
    } else {
        Size::W
    };
    let magic_size = if o.sb_s_magic_size == 4 {
        Size::W
    } else {
        Size::DW
    };
    p.push(asm::mov(R6, R1))
        // R7 = task, R8 = file; both NULL on the final call after the last file.
        .push(asm::ldx(Size::DW, R7, R6, 8))
        .jmp_imm_to(Cond::Eq, R7, 0, "out")
        .push(asm::ldx(Size::DW, R8, R6, 24))
        .jmp_imm_to(Cond::Eq, R8, 0, "out")
        // Sockets only: S_ISSOCK(file->f_inode->i_mode).
        .push(asm::ldx(Size::DW, R1, R8, o.file_f_inode))
        .jmp_imm_to(Cond::Eq, R1, 0, "out")
        .push(asm::ldx(mode_size, R2, R1, o.inode_i_mode))
        .push(asm::alu_imm(Alu::And, R2, 0o170000))
        .jmp_imm_to(Cond::Ne, R2, 0o140000, "out")
        // ... of sockfs: f_inode->i_sb->s_magic (see SOCKFS_MAGIC).
        .push(asm::ldx(Size::DW, R2, R1, o.inode_i_sb))
        .jmp_imm_to(Cond::Eq, R2, 0, "out")
        .push(asm::ldx(magic_size, R2, R2, o.sb_s_magic))
        .jmp_imm_to(Cond::Ne, R2, SOCKFS_MAGIC, "out")
        .push(asm::ldx(Size::DW, R2, R1, o.inode_i_ino))
        .push(asm::stx(Size::DW, R10, REC_INO, R2))
        // Thread-group leaders only: their table is /proc/PID/fd.
        .push(asm::ldx(Size::W, R2, R7, o.task_pid))
        .push(asm::ldx(Size::W, R3, R7, o.task_tgid))
        .jmp_reg_to(Cond::Ne, R2, R3, "out")
        .push(asm::ldx(Size::W, R2, R6, 16))
        .push(asm::stx(Size::W, R10, REC_FD, R2))
        .push(asm::ldx(Size::DW, R2, R7, o.task_comm))
        .push(asm::stx(Size::DW, R10, REC_COMM, R2))
        .push(asm::ldx(Size::DW, R2, R7, o.task_comm + 8))
        .push(asm::stx(Size::DW, R10, REC_COMM + 8, R2));
    pid_in_our_namespace(&mut p, o, REC, "out");
    write_record_then_exit(&mut p, REC, RECORD_LEN, "out");
    p.finish()
}

/// The end of an iterator program (its context in R6): seq_write(meta->seq, the
/// `len`-byte record at R10 + `record`), then label `out`, where the skips jump, and
/// return 0.
pub(super) fn write_record_then_exit(p: &mut Program, record: i16, len: usize, out: &'static str) {
    p.push(asm::ldx(Size::DW, R1, R6, 0))
        .push(asm::ldx(Size::DW, R1, R1, 0))
        .push(asm::mov(R2, R10))
        .push(asm::alu_imm(Alu::Add, R2, record as i32))
        .push(asm::mov_imm(R3, len as i32))
        .push(asm::call(SEQ_WRITE))
        .label(out)
        .push(asm::mov_imm(R0, 0))
        .push(asm::exit());
}

/// Parses the iterator's output. `None` when it is not a whole number of records or a
/// record is impossible (pid 0, a process's records not together in ascending pid
/// order): the caller then trusts /proc instead.
pub fn parse_records(bytes: &[u8]) -> Option<Vec<SocketFd>> {
    if bytes.len() % RECORD_LEN != 0 {
        return None;
    }
    let mut out: Vec<SocketFd> = Vec::with_capacity(bytes.len() / RECORD_LEN);
    for r in bytes.chunks_exact(RECORD_LEN) {
        let word = |at: usize| u32::from_ne_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
        let mut comm = [0u8; 16];
        comm.copy_from_slice(&r[16..32]);
        let rec = SocketFd {
            pid: word(0),
            fd: word(4),
            inode: u64::from_ne_bytes(r[8..16].try_into().ok()?),
            comm,
        };
        if rec.pid == 0 {
            return None;
        }
        if let Some(last) = out.last() {
            if rec.pid < last.pid || (rec.pid == last.pid && rec.fd <= last.fd) {
                return None;
            }
        }
        out.push(rec);
    }
    Some(out)
}

/// Loads the program, runs the iterator to its end and returns its records.
pub fn socket_fds() -> io::Result<Vec<SocketFd>> {
    let btf = Btf::vmlinux().map_err(io::Error::other)?;
    let iterator = SocketIterator::load(&btf)?;
    drop(btf);
    iterator.socket_fds()
}

/// The program loaded and attached once: each [`SocketIterator::socket_fds`] is one
/// BPF_ITER_CREATE and the reads, so a tool that looks again (`rnetstat -c`) does not
/// load and verify the program every time.
pub struct SocketIterator {
    link: std::os::fd::OwnedFd,
}

impl SocketIterator {
    /// Finds the offsets in `btf` (the running kernel's), loads and attaches the program.
    pub fn load(btf: &Btf) -> io::Result<SocketIterator> {
        SocketIterator::with_offsets(&Offsets::from_btf(btf)?)
    }

    /// [`SocketIterator::load`] with the offsets already looked up.
    pub fn with_offsets(offsets: &Offsets) -> io::Result<SocketIterator> {
        let insns = program(offsets).ok_or_else(|| io::Error::other("program has a bad jump"))?;
        let prog = super::sys::load_iter_program(&insns, offsets.iter_func, LICENSE)?;
        // The link holds the program; its descriptor can go.
        let link = super::sys::link_iter(&prog)?;
        Ok(SocketIterator { link })
    }

    /// Runs the iterator to its end and returns its records.
    pub fn socket_fds(&self) -> io::Result<Vec<SocketFd>> {
        let iter = super::sys::iter_create(&self.link)?;
        let bytes = read_all(std::fs::File::from(iter))?;
        parse_records(&bytes)
            .ok_or_else(|| io::Error::other("the iterator's output does not parse"))
    }
}

pub(super) fn read_all(mut file: std::fs::File) -> io::Result<Vec<u8>> {
    use std::io::Read;
    // read_to_end reads straight into the vector's spare room.
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let room = (MAX_OUTPUT + 1 - out.len().min(MAX_OUTPUT)) as u64;
        match (&mut file).take(room).read_to_end(&mut out) {
            Ok(_) if out.len() > MAX_OUTPUT => {
                return Err(io::Error::other("the iterator's output is too large"))
            }
            Ok(_) => return Ok(out),
            // EAGAIN: a million files visited without a record in one read; the next
            // read continues where it stopped. (EINTR is retried by read_to_end.)
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading the iterator: {e}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, fd: u32, inode: u64, comm: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&pid.to_ne_bytes());
        r.extend_from_slice(&fd.to_ne_bytes());
        r.extend_from_slice(&inode.to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm);
        r.extend_from_slice(&c);
        r
    }

    #[test]
    fn records_parse_and_bad_output_is_refused() {
        let mut bytes = record(7, 3, 1234, b"sshd");
        bytes.extend(record(7, 5, 99, b"sshd"));
        bytes.extend(record(12, 0, 1, b"fifteen-bytes-x"));
        let got = parse_records(&bytes).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].pid, got[0].fd, got[0].inode), (7, 3, 1234));
        assert_eq!(got[0].comm(), b"sshd");
        assert_eq!(got[2].comm(), b"fifteen-bytes-x");
        assert!(parse_records(&bytes[..bytes.len() - 1]).is_none(), "short");
        assert!(parse_records(&record(0, 1, 1, b"x")).is_none(), "pid 0");
        let mut backwards = record(9, 1, 1, b"a");
        backwards.extend(record(8, 1, 2, b"b"));
        assert!(parse_records(&backwards).is_none());
        let mut same_fd = record(9, 1, 1, b"a");
        same_fd.extend(record(9, 1, 2, b"a"));
        assert!(parse_records(&same_fd).is_none());
        assert_eq!(parse_records(&[]), Some(Vec::new()));
    }

    #[test]
    fn offsets_from_the_recorded_btf() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/btf/task_file.btf"
        );
        let btf = Btf::parse(std::fs::read(path).unwrap()).unwrap();
        let o = Offsets::from_btf(&btf).unwrap();
        assert_eq!(
            (
                o.file_f_inode,
                o.inode_i_mode,
                o.inode_i_ino,
                o.task_pid,
                o.task_tgid
            ),
            (16, 0, 8, 32, 36)
        );
        assert_eq!((o.inode_i_sb, o.sb_s_magic, o.sb_s_magic_size), (40, 96, 8));
        assert_eq!((o.task_comm, o.task_thread_pid, o.pid_level), (64, 40, 4));
        assert_eq!((o.pid_numbers, o.upid_size, o.upid_nr), (8, 16, 0));
        assert!(program(&o).is_some());
    }
}
