//! netstat's program name (argv[0], the start of /proc/PID/cmdline) of every process of
//! our pid namespace, from a sleepable BPF iterator over the kernel's `task` iterator:
//! one read instead of an open, fstat, read and close of /proc/PID/cmdline per process.
//!
//! The program reproduces what a 511-byte read at offset 0 of /proc/PID/cmdline returns
//! (fs/proc/base.c, get_task_cmdline and get_mm_cmdline), which is what netstat reads
//! (prg_cache_load) and what [`crate::proc::process::argv0`] reads:
//! - no mm (a kernel thread, PF_KTHREAD, or an exiting process), `mm->env_end == 0` (not
//!   spawned far enough) or `arg_start >= arg_end`: nothing;
//! - the byte at `arg_end - 1` is not NUL (setproctitle overwrote it): up to the first
//!   NUL from `arg_start`, at most up to `env_end` when the environment directly
//!   follows the arguments (`env_start == arg_end && env_end >= env_start`), else up to
//!   `arg_end` (get_mm_proctitle);
//! - else the bytes `arg_start..arg_end`.
//!
//! It copies the first min(511, end - arg_start) of those bytes from the process with
//! bpf_copy_from_user_task (which may fault pages in, hence sleepable) and userspace
//! cuts them at the first NUL, as the reader of cmdline does. Where a copy fails the
//! record says so and the caller reads /proc/PID/cmdline for that process instead.
//!
//! One difference the program cannot see: /proc reads the argument area only from
//! anonymous memory (FOLL_ANON), the helper from any mapping. Only a process with
//! CAP_SYS_RESOURCE can move its argument area (prctl PR_SET_MM) into a file mapping;
//! /proc then shows an empty name where this shows the file's bytes (docs/ebpf.md).

use super::asm::{self, Alu, Cond, Insn, Program, Reg::*, Size};
use super::task_files::{pid_in_our_namespace, Offsets, PidSlots, LICENSE, SEQ_WRITE};
use crate::btf::{Btf, Kind};
use std::io;

/// bpf_copy_from_user_task (include/uapi/linux/bpf.h): sleepable programs only.
const COPY_FROM_USER_TASK: i32 = 191;

/// The function the task iterator's programs attach to.
const ITER_FUNC: &str = "bpf_iter_task";

/// include/linux/sched.h: get_task_mm() gives a kernel thread no mm.
const PF_KTHREAD: i32 = 0x0020_0000;

/// What netstat reads of cmdline: `read(fd, buf, sizeof(buf) - 1)` with a 512-byte
/// buffer.
pub const ARGV_MAX: usize = 511;

/// A record: pid u32, length u32, that many bytes, status u8.
const HEADER_LEN: usize = 8;

/// The status byte: the bytes are /proc's.
const COPIED: u8 = 0;
/// The status byte: the program could not copy them; read /proc/PID/cmdline.
const NOT_COPIED: u8 = 1;

/// Where the argv program finds what it reads, beside [`Offsets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgvOffsets {
    pub task: Offsets,
    pub iter_func: u32,
    pub task_flags: i16,
    pub task_mm: i16,
    pub mm_arg_start: i16,
    pub mm_arg_end: i16,
    pub mm_env_start: i16,
    pub mm_env_end: i16,
}

impl ArgvOffsets {
    pub fn from_btf(btf: &Btf) -> io::Result<ArgvOffsets> {
        let task = Offsets::from_btf(btf)?;
        let names = [
            (Kind::Func, ITER_FUNC),
            (Kind::Struct, "task_struct"),
            (Kind::Struct, "mm_struct"),
        ];
        let ids = btf.find_all(&names);
        let id =
            |i: usize| ids[i].ok_or_else(|| io::Error::other(format!("BTF has no {}", names[i].1)));
        let (func, task_id, mm) = (id(0)?, id(1)?, id(2)?);
        let member = |id: u32, name: &str, size: u32| -> io::Result<i16> {
            let m = btf.member_of(id, name).map_err(io::Error::other)?;
            if m.size != size {
                return Err(io::Error::other(format!(
                    "BTF: member {name} has size {}, expected {size}",
                    m.size
                )));
            }
            i16::try_from(m.offset)
                .ok()
                .filter(|&o| o < i16::MAX - 16)
                .ok_or_else(|| io::Error::other(format!("BTF: member {name} too far")))
        };
        Ok(ArgvOffsets {
            task,
            iter_func: func,
            task_flags: member(task_id, "flags", 4)?,
            task_mm: member(task_id, "mm", 8)?,
            mm_arg_start: member(mm, "arg_start", 8)?,
            mm_arg_end: member(mm, "arg_end", 8)?,
            mm_env_start: member(mm, "env_start", 8)?,
            mm_env_end: member(mm, "env_end", 8)?,
        })
    }
}

// Stack layout: the copied bytes at -512..-2, the status byte at -1. Before the copy
// the start of that area holds the header (pid, length) and scratch.
const BUF: i16 = -512;
const HDR_LEN: i16 = BUF + 4;
const SCRATCH_PTR: i16 = -496;
const SCRATCH_U32: i16 = -488;
const PROCTITLE_END: i16 = -480;
const ARG_END: i16 = -472;
const LAST_BYTE: i16 = -464;
const STATUS: i16 = -1;

/// `bpf_copy_from_user_task(R10 + dst, R2, R3, task R7, 0)`: R2 and R3 already set.
fn copy_r2_r3(p: &mut Program, dst: i16) {
    p.push(asm::mov(R1, R10))
        .push(asm::alu_imm(Alu::Add, R1, dst as i32))
        .push(asm::mov(R4, R7))
        .push(asm::mov_imm(R5, 0))
        .push(asm::call(COPY_FROM_USER_TASK));
}

/// `seq_write(meta->seq, R10 + at, R3)`: R3 already set.
fn seq_write_r3(p: &mut Program, at: i16) {
    p.push(asm::ldx(Size::DW, R1, R6, 0))
        .push(asm::ldx(Size::DW, R1, R1, 0))
        .push(asm::mov(R2, R10))
        .push(asm::alu_imm(Alu::Add, R2, at as i32))
        .push(asm::call(SEQ_WRITE));
}

/// The program, for the context `struct bpf_iter__task { meta @0, task @8 }`: one
/// record per thread-group leader our namespace numbers. R6 the context, R7 the task,
/// R8 arg_start, R9 the length.
pub fn program(o: &ArgvOffsets) -> Option<Vec<Insn>> {
    let t = &o.task;
    let mut p = Program::new();
    p.push(asm::mov(R6, R1))
        .push(asm::ldx(Size::DW, R7, R6, 8))
        .jmp_imm_to(Cond::Eq, R7, 0, "out")
        .push(asm::ldx(Size::W, R2, R7, t.task_pid))
        .push(asm::ldx(Size::W, R3, R7, t.task_tgid))
        .jmp_reg_to(Cond::Ne, R2, R3, "out");
    pid_in_our_namespace(
        &mut p,
        t,
        PidSlots {
            pid: BUF,
            scratch_ptr: SCRATCH_PTR,
            scratch_u32: SCRATCH_U32,
        },
        "out",
    );
    p.push(asm::mov_imm(R9, 0))
        .push(asm::st(Size::B, R10, STATUS, COPIED as i32))
        // get_task_mm(): none for a kernel thread or an exiting process.
        .push(asm::ldx(Size::W, R2, R7, o.task_flags))
        .push(asm::alu_imm(Alu::And, R2, PF_KTHREAD))
        .jmp_imm_to(Cond::Ne, R2, 0, "header")
        .push(asm::ldx(Size::DW, R1, R7, o.task_mm))
        .jmp_imm_to(Cond::Eq, R1, 0, "header")
        .push(asm::ldx(Size::DW, R2, R1, o.mm_env_end))
        .jmp_imm_to(Cond::Eq, R2, 0, "header")
        .push(asm::ldx(Size::DW, R8, R1, o.mm_arg_start))
        .push(asm::ldx(Size::DW, R3, R1, o.mm_arg_end))
        .jmp_reg_to(Cond::Ge, R8, R3, "header")
        .push(asm::ldx(Size::DW, R4, R1, o.mm_env_start))
        // setproctitle's end: env_end when the environment follows the arguments.
        .push(asm::stx(Size::DW, R10, PROCTITLE_END, R3))
        .jmp_reg_to(Cond::Ne, R4, R3, "proctitle_end")
        .jmp_reg_to(Cond::Lt, R2, R4, "proctitle_end")
        .push(asm::stx(Size::DW, R10, PROCTITLE_END, R2))
        .label("proctitle_end")
        .push(asm::stx(Size::DW, R10, ARG_END, R3))
        // The byte at arg_end - 1.
        .push(asm::alu_imm(Alu::Add, R3, -1))
        .push(asm::mov_imm(R2, 1));
    copy_r2_r3(&mut p, LAST_BYTE);
    p.jmp_imm_to(Cond::Ne, R0, 0, "not_copied")
        .push(asm::ldx(Size::B, R1, R10, LAST_BYTE))
        .push(asm::ldx(Size::DW, R9, R10, ARG_END))
        .jmp_imm_to(Cond::Eq, R1, 0, "end_known")
        .push(asm::ldx(Size::DW, R9, R10, PROCTITLE_END))
        .label("end_known")
        .push(asm::alu_reg(Alu::Sub, R9, R8))
        .jmp_imm_to(Cond::Le, R9, ARGV_MAX as i32, "sized")
        .push(asm::mov_imm(R9, ARGV_MAX as i32))
        .label("sized")
        .push(asm::stx(Size::W, R10, HDR_LEN, R9))
        .push(asm::mov_imm(R3, HEADER_LEN as i32));
    seq_write_r3(&mut p, BUF);
    p.push(asm::mov(R2, R9)).push(asm::mov(R3, R8));
    copy_r2_r3(&mut p, BUF);
    p.jmp_imm_to(Cond::Eq, R0, 0, "data")
        .push(asm::st(Size::B, R10, STATUS, NOT_COPIED as i32))
        .label("data")
        .push(asm::mov(R3, R9));
    seq_write_r3(&mut p, BUF);
    p.ja_to("status")
        .label("not_copied")
        .push(asm::st(Size::B, R10, STATUS, NOT_COPIED as i32))
        .label("header")
        .push(asm::stx(Size::W, R10, HDR_LEN, R9))
        .push(asm::mov_imm(R3, HEADER_LEN as i32));
    seq_write_r3(&mut p, BUF);
    p.label("status").push(asm::mov_imm(R3, 1));
    seq_write_r3(&mut p, STATUS);
    p.label("out")
        .push(asm::mov_imm(R0, 0))
        .push(asm::exit());
    p.finish()
}

/// Every process's argv[0] as the iterator found it, in ascending pid order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Argv0s {
    records: Vec<(u32, Option<Vec<u8>>)>,
}

impl Argv0s {
    /// `Some(bytes)`: argv[0] of `pid` (cut at the first NUL, at most 511 bytes, as a
    /// read of /proc/PID/cmdline gives it); `None`: the iterator did not see the
    /// process or could not copy its arguments, so /proc must answer.
    pub fn get(&self, pid: u32) -> Option<&[u8]> {
        let i = self.records.binary_search_by_key(&pid, |r| r.0).ok()?;
        self.records[i].1.as_deref()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Parses the iterator's output; `None` when it is not a sequence of whole records in
/// ascending pid order with lengths the program can write and a known status.
pub fn parse_records(bytes: &[u8]) -> Option<Argv0s> {
    let mut records: Vec<(u32, Option<Vec<u8>>)> = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = rest.get(..HEADER_LEN)?;
        let pid = u32::from_ne_bytes(header[..4].try_into().ok()?);
        let len = u32::from_ne_bytes(header[4..8].try_into().ok()?) as usize;
        if pid == 0 || len > ARGV_MAX || records.last().is_some_and(|r| r.0 >= pid) {
            return None;
        }
        let data = rest.get(HEADER_LEN..HEADER_LEN + len)?;
        let status = *rest.get(HEADER_LEN + len)?;
        let argv0 = match status {
            COPIED => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                Some(data[..end].to_vec())
            }
            NOT_COPIED => None,
            _ => return None,
        };
        records.push((pid, argv0));
        rest = &rest[HEADER_LEN + len + 1..];
    }
    Some(Argv0s { records })
}

/// The argv program loaded and attached once; [`ArgvIterator::argv0s`] runs it.
pub struct ArgvIterator {
    link: std::os::fd::OwnedFd,
}

impl ArgvIterator {
    pub fn load(btf: &Btf) -> io::Result<ArgvIterator> {
        let offsets = ArgvOffsets::from_btf(btf)?;
        let insns = program(&offsets).ok_or_else(|| io::Error::other("program has a bad jump"))?;
        let prog = super::sys::load_iter_program_named(
            &insns,
            offsets.iter_func,
            LICENSE,
            "rnt_argv0",
            super::sys::BPF_F_SLEEPABLE,
        )?;
        let link = super::sys::link_iter(&prog)?;
        Ok(ArgvIterator { link })
    }

    /// Runs the iterator to its end: argv[0] of every process of our pid namespace.
    pub fn argv0s(&self) -> io::Result<Argv0s> {
        let iter = super::sys::iter_create(&self.link)?;
        let bytes = super::task_files::read_all(std::fs::File::from(iter))?;
        parse_records(&bytes)
            .ok_or_else(|| io::Error::other("the argv iterator's output does not parse"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, data: &[u8], status: u8) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&pid.to_ne_bytes());
        r.extend_from_slice(&(data.len() as u32).to_ne_bytes());
        r.extend_from_slice(data);
        r.push(status);
        r
    }

    #[test]
    fn records_parse_and_bad_output_is_refused() {
        let mut bytes = record(1, b"/sbin/init\0splash\0", COPIED);
        bytes.extend(record(7, b"", COPIED));
        bytes.extend(record(9, &[0u8; 20], NOT_COPIED));
        bytes.extend(record(12, &[b'x'; 511], COPIED));
        bytes.extend(record(13, b"no nul \x1b[31m", COPIED));
        let got = parse_records(&bytes).unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got.get(1), Some(&b"/sbin/init"[..]));
        assert_eq!(got.get(7), Some(&b""[..]));
        assert_eq!(got.get(9), None, "not copied: /proc answers");
        assert_eq!(got.get(12).map(<[u8]>::len), Some(511));
        assert_eq!(got.get(13), Some(&b"no nul \x1b[31m"[..]));
        assert_eq!(got.get(8), None, "not seen");
        assert!(parse_records(&bytes[..bytes.len() - 1]).is_none(), "short");
        assert!(parse_records(&record(0, b"x", COPIED)).is_none(), "pid 0");
        assert!(parse_records(&record(3, b"x", 2)).is_none(), "status");
        assert!(
            parse_records(&record(3, &[b'y'; 512], COPIED)).is_none(),
            "too long"
        );
        let mut backwards = record(9, b"a", COPIED);
        backwards.extend(record(9, b"b", COPIED));
        assert!(parse_records(&backwards).is_none());
        let mut huge_len = 5u32.to_ne_bytes().to_vec();
        huge_len.extend_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse_records(&huge_len).is_none());
        assert_eq!(parse_records(&[]), Some(Argv0s::default()));
    }
}
