//! Every process of our pid namespace as the kernel's task list has it, from a BPF
//! program on the kernel's `task` iterator (kernel/bpf/task_iter.c): in the kernel,
//! not through /proc's readdir, so a hider that filters getdents64 of /proc (an
//! LD_PRELOAD library does it in libc, a rootkit in the kernel's proc handlers) does
//! not reach it. The audit's hidden-process check compares it with /proc's listing.
//!
//! The iterator visits every task (threads too) of the pid namespace of the process
//! that creates it, in ascending pid order. The program keeps thread-group leaders
//! (task->pid == task->tgid) and writes for each: the pid as our namespace numbers it
//! (thread_pid->numbers[our level].nr, task_files::pid_in_our_namespace), the real uid
//! (task->cred->uid, the kernel's global uid), task->start_time (nanoseconds since
//! boot: with the pid, one process and not a later one that reused the number) and
//! task->comm.

use super::asm::{self, Cond, Insn, Program, Reg::*, Size};
use super::task_files::{pid_in_our_namespace, write_record_then_exit, Offsets, LICENSE};
use crate::btf::{Btf, Kind};
use std::io;

/// The function the task iterator's programs attach to.
pub(super) const ITER_FUNC: &str = "bpf_iter_task";

/// pid u32, uid u32, start_time u64, comm [u8; 16].
pub const RECORD_LEN: usize = 32;

/// uid when task->cred could not be read.
pub const NO_UID: u32 = u32::MAX;

/// One thread-group leader of our pid namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    /// Real uid (kernel-global); [`NO_UID`] when unknown.
    pub uid: u32,
    /// Nanoseconds since boot (CLOCK_MONOTONIC) when the process started.
    pub start_time: u64,
    pub comm: [u8; 16],
}

impl Task {
    /// comm up to its first NUL.
    pub fn comm(&self) -> &[u8] {
        let end = self.comm.iter().position(|&b| b == 0).unwrap_or(16);
        &self.comm[..end]
    }
}

/// What the program reads beyond what the task_file program reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOffsets {
    pub common: Offsets,
    pub iter_func: u32,
    pub task_start_time: i16,
    pub task_cred: i16,
    pub cred_uid: i16,
}

impl TaskOffsets {
    pub fn from_btf(btf: &Btf) -> io::Result<TaskOffsets> {
        let common = Offsets::from_btf(btf)?;
        let ids = btf.find_all(&[(Kind::Func, ITER_FUNC), (Kind::Struct, "cred")]);
        let (Some(func), Some(cred)) = (ids[0], ids[1]) else {
            return Err(io::Error::other(format!("BTF has no {ITER_FUNC} or cred")));
        };
        let task = btf.struct_id("task_struct").map_err(io::Error::other)?;
        let member = |id: u32, name: &str, size: u32| {
            super::member_offset(btf, id, name, &[size]).map(|(offset, _)| offset)
        };
        Ok(TaskOffsets {
            common,
            iter_func: func,
            task_start_time: member(task, "start_time", 8)?,
            task_cred: member(task, "cred", 8)?,
            cred_uid: member(cred, "uid", 4)?,
        })
    }
}

// The record at -32..-1 below R10.
const REC: i16 = -32;
const REC_UID: i16 = -28;
const REC_START: i16 = -24;
const REC_COMM: i16 = -16;

/// The program, for the context `struct bpf_iter__task { meta @0, task @8 }`.
pub fn program(t: &TaskOffsets) -> Option<Vec<Insn>> {
    let o = &t.common;
    let mut p = Program::new();
    p.push(asm::mov(R6, R1))
        // R7 = task; NULL on the final call.
        .push(asm::ldx(Size::DW, R7, R6, 8))
        .jmp_imm_to(Cond::Eq, R7, 0, "out")
        // Thread-group leaders only: /proc lists those.
        .push(asm::ldx(Size::W, R2, R7, o.task_pid))
        .push(asm::ldx(Size::W, R3, R7, o.task_tgid))
        .jmp_reg_to(Cond::Ne, R2, R3, "out")
        .push(asm::ldx(Size::DW, R2, R7, o.task_comm))
        .push(asm::stx(Size::DW, R10, REC_COMM, R2))
        .push(asm::ldx(Size::DW, R2, R7, o.task_comm + 8))
        .push(asm::stx(Size::DW, R10, REC_COMM + 8, R2))
        .push(asm::ldx(Size::DW, R2, R7, t.task_start_time))
        .push(asm::stx(Size::DW, R10, REC_START, R2))
        // uid = task->cred->uid, or NO_UID when cred is NULL.
        .push(asm::st(Size::W, R10, REC_UID, -1))
        .push(asm::ldx(Size::DW, R1, R7, t.task_cred))
        .jmp_imm_to(Cond::Eq, R1, 0, "pid")
        .push(asm::ldx(Size::W, R2, R1, t.cred_uid))
        .push(asm::stx(Size::W, R10, REC_UID, R2))
        .label("pid");
    pid_in_our_namespace(&mut p, o, REC, "out");
    write_record_then_exit(&mut p, REC, RECORD_LEN, "out");
    p.finish()
}

/// Parses the iterator's output. `None` when it is not a whole number of records or
/// one is impossible (pid 0, pids not strictly ascending).
pub fn parse_records(bytes: &[u8]) -> Option<Vec<Task>> {
    if bytes.len() % RECORD_LEN != 0 {
        return None;
    }
    let mut out: Vec<Task> = Vec::with_capacity(bytes.len() / RECORD_LEN);
    for r in bytes.chunks_exact(RECORD_LEN) {
        let mut comm = [0u8; 16];
        comm.copy_from_slice(&r[16..32]);
        let task = Task {
            pid: u32::from_ne_bytes(r[0..4].try_into().ok()?),
            uid: u32::from_ne_bytes(r[4..8].try_into().ok()?),
            start_time: u64::from_ne_bytes(r[8..16].try_into().ok()?),
            comm,
        };
        if task.pid == 0 || out.last().is_some_and(|l| l.pid >= task.pid) {
            return None;
        }
        out.push(task);
    }
    Some(out)
}

/// A loaded program, to run the iterator more than once (the audit looks twice).
pub struct TaskIterator {
    link: std::os::fd::OwnedFd,
}

impl TaskIterator {
    pub fn load() -> io::Result<TaskIterator> {
        let btf = Btf::vmlinux().map_err(io::Error::other)?;
        let offsets = TaskOffsets::from_btf(&btf)?;
        drop(btf);
        let insns = program(&offsets).ok_or_else(|| io::Error::other("program has a bad jump"))?;
        let prog = super::sys::load_iter_program_named(
            &insns,
            offsets.iter_func,
            LICENSE,
            "rnt_tasks",
            0,
            None,
        )?;
        let link = super::sys::link_iter(&prog)?;
        Ok(TaskIterator { link })
    }

    /// One walk of the kernel's task list.
    pub fn tasks(&self) -> io::Result<Vec<Task>> {
        let iter = super::sys::iter_create(&self.link)?;
        let bytes = super::task_files::read_all(std::fs::File::from(iter))?;
        parse_records(&bytes)
            .ok_or_else(|| io::Error::other("the task iterator's output does not parse"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, uid: u32, start: u64, comm: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&pid.to_ne_bytes());
        r.extend_from_slice(&uid.to_ne_bytes());
        r.extend_from_slice(&start.to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm);
        r.extend_from_slice(&c);
        r
    }

    #[test]
    fn records_parse_and_bad_output_is_refused() {
        let mut bytes = record(1, 0, 10, b"init");
        bytes.extend(record(40, 1000, 99, b"fifteen-bytes-x"));
        let got = parse_records(&bytes).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].pid, got[1].uid, got[1].start_time), (40, 1000, 99));
        assert_eq!(got[0].comm(), b"init");
        assert_eq!(got[1].comm(), b"fifteen-bytes-x");
        assert!(parse_records(&bytes[..31]).is_none(), "short");
        assert!(parse_records(&record(0, 0, 1, b"x")).is_none(), "pid 0");
        let mut twice = record(5, 0, 1, b"a");
        twice.extend(record(5, 0, 2, b"a"));
        assert!(parse_records(&twice).is_none(), "a pid twice");
        assert_eq!(parse_records(&[]), Some(Vec::new()));
    }

    #[test]
    fn the_program_assembles_with_the_recorded_offsets() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/btf/task_file.btf"
        );
        let btf = Btf::parse(std::fs::read(path).unwrap()).unwrap();
        let t = TaskOffsets {
            common: Offsets::from_btf(&btf).unwrap(),
            iter_func: 1,
            task_start_time: 200,
            task_cred: 208,
            cred_uid: 4,
        };
        let insns = program(&t).unwrap();
        // Every jump lands inside the program.
        for (i, insn) in insns.iter().enumerate() {
            if insn.code & 0x07 == 0x05 && insn.code & 0xf0 != 0x80 && insn.code & 0xf0 != 0x90 {
                let to = i as i64 + 1 + insn.off as i64;
                assert!((0..insns.len() as i64).contains(&to), "jump at {i}");
            }
        }
    }
}
