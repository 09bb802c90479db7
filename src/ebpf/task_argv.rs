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
//! cuts them at the first NUL, as the reader of cmdline does. Where a copy fails, or
//! the task's mm is not the one the bounds came from any more (an exec meanwhile), the
//! record says so and the caller reads /proc/PID/cmdline for that process instead.
//!
//! /proc reads the argument area only from anonymous memory (FOLL_ANON), the helper
//! from any mapping: a process can move its arguments into a file or shared mapping
//! (prctl PR_SET_MM_MAP, or mmap over its stack), and /proc then shows nothing. So the
//! program asks bpf_find_vma for the mapping holding `arg_start` and copies only when
//! it is anonymous (no vm_ops, vma_is_anonymous) and holds the whole area read; else
//! (another mapping, none, or the mmap lock busy) /proc answers.

use super::asm::{self, Alu, Cond, Insn, Program, Reg::*, Size};
use super::task_files::{pid_in_our_namespace, Offsets, LICENSE, SEQ_WRITE};
use super::tasks::ITER_FUNC;
use crate::btf::{Btf, Kind};
use std::io;

/// bpf_copy_from_user_task (include/uapi/linux/bpf.h): sleepable programs only.
const COPY_FROM_USER_TASK: i32 = 191;
/// bpf_find_vma(task, addr, callback, ctx, 0): calls back with the vma holding addr.
const FIND_VMA: i32 = 180;

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
    pub vma_vm_end: i16,
    pub vma_vm_ops: i16,
}

impl ArgvOffsets {
    /// `task`: the task_file program's offsets, which a caller loading both programs
    /// has already looked up.
    pub fn from_btf(btf: &Btf, task: Offsets) -> io::Result<ArgvOffsets> {
        let names = [
            (Kind::Func, ITER_FUNC),
            (Kind::Struct, "task_struct"),
            (Kind::Struct, "mm_struct"),
            (Kind::Struct, "vm_area_struct"),
        ];
        let ids = btf.find_all(&names);
        let id =
            |i: usize| ids[i].ok_or_else(|| io::Error::other(format!("BTF has no {}", names[i].1)));
        let (func, task_id, mm, vma) = (id(0)?, id(1)?, id(2)?, id(3)?);
        let member = |id: u32, name: &str, size: u32| {
            super::member_offset(btf, id, name, &[size]).map(|(offset, _)| offset)
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
            vma_vm_end: member(vma, "vm_end", 8)?,
            vma_vm_ops: member(vma, "vm_ops", 8)?,
        })
    }
}

// Stack layout: the copied bytes at -512..-2, the status byte at -1. Before the copy
// the start of that area holds the header (pid, length) and the bounds read.
const BUF: i16 = -512;
const HDR_LEN: i16 = BUF + 4;
const PROCTITLE_END: i16 = -480;
const ARG_END: i16 = -472;
const LAST_BYTE: i16 = -464;
const VMA_END: i16 = -456;
const MM: i16 = -448;
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
    pid_in_our_namespace(&mut p, t, BUF, "out");
    p.push(asm::mov_imm(R9, 0))
        .push(asm::st(Size::B, R10, STATUS, COPIED as i32))
        // get_task_mm(): none for a kernel thread or an exiting process.
        .push(asm::ldx(Size::W, R2, R7, o.task_flags))
        .push(asm::alu_imm(Alu::And, R2, PF_KTHREAD))
        .jmp_imm_to(Cond::Ne, R2, 0, "header")
        .push(asm::ldx(Size::DW, R1, R7, o.task_mm))
        .jmp_imm_to(Cond::Eq, R1, 0, "header")
        .push(asm::stx(Size::DW, R10, MM, R1))
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
        // /proc reads only anonymous memory: the vma holding arg_start must be
        // anonymous and reach past both ends the read may use (its end, from the
        // callback, else 0).
        .push(asm::st(Size::DW, R10, VMA_END, 0))
        .push(asm::mov(R1, R7))
        .push(asm::mov(R2, R8))
        .ld_func_to(R3, "vma_end")
        .push(asm::mov(R4, R10))
        .push(asm::alu_imm(Alu::Add, R4, VMA_END as i32))
        .push(asm::mov_imm(R5, 0))
        .push(asm::call(FIND_VMA))
        .jmp_imm_to(Cond::Ne, R0, 0, "not_copied")
        .push(asm::ldx(Size::DW, R1, R10, VMA_END))
        .push(asm::ldx(Size::DW, R2, R10, ARG_END))
        .jmp_reg_to(Cond::Gt, R2, R1, "not_copied")
        .push(asm::ldx(Size::DW, R2, R10, PROCTITLE_END))
        .jmp_reg_to(Cond::Gt, R2, R1, "not_copied")
        // The byte at arg_end - 1.
        .push(asm::ldx(Size::DW, R3, R10, ARG_END))
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
    // R8 holds the mm from here: the helpers read task->mm when called, so an exec
    // since the bounds were read would have them read another program's memory.
    p.push(asm::mov(R2, R9))
        .push(asm::mov(R3, R8))
        .push(asm::ldx(Size::DW, R8, R10, MM));
    copy_r2_r3(&mut p, BUF);
    p.jmp_imm_to(Cond::Ne, R0, 0, "copy_failed")
        .push(asm::ldx(Size::DW, R1, R7, o.task_mm))
        .jmp_reg_to(Cond::Eq, R1, R8, "data")
        .label("copy_failed")
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
    p.label("out").push(asm::mov_imm(R0, 0)).push(asm::exit());
    // bpf_find_vma's callback (task R1, vma R2, ctx R3): *ctx = vm_end when the vma
    // is anonymous (vma_is_anonymous: no vm_ops).
    p.label("vma_end")
        .push(asm::ldx(Size::DW, R0, R2, o.vma_vm_ops))
        .jmp_imm_to(Cond::Ne, R0, 0, "vma_end_out")
        .push(asm::ldx(Size::DW, R0, R2, o.vma_vm_end))
        .push(asm::stx(Size::DW, R3, 0, R0))
        .label("vma_end_out")
        .push(asm::mov_imm(R0, 0))
        .push(asm::exit());
    p.finish()
}

/// The index of the callback's first instruction in [`program`]'s output.
fn callback_start(insns: &[Insn]) -> Option<u32> {
    // The main program ends at its (first) exit; the callback follows.
    let exit = asm::exit();
    let at = insns.iter().position(|i| *i == exit)?;
    u32::try_from(at + 1).ok()
}

/// The program's own BTF: the verifier wants a FUNC for each function when one is
/// passed to a helper as a callback (static, so it is checked at its call).
fn program_btf() -> Vec<u8> {
    const INT: u32 = 1;
    const PTR: u32 = 2;
    const FUNC: u32 = 12;
    const FUNC_PROTO: u32 = 13;
    let mut strings: Vec<u8> = vec![0];
    let mut name = |s: &str| {
        let off = strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        off
    };
    let (int, ctx, main, task, vma, data, cb) = (
        name("int"),
        name("ctx"),
        name("rnt_argv0"),
        name("task"),
        name("vma"),
        name("data"),
        name("argv0_vma"),
    );
    let types: Vec<u32> = vec![
        // [1] int
        int,
        INT << 24,
        4,
        1 << 24 | 32,
        // [2] void *
        0,
        PTR << 24,
        0,
        // [3] int (void *ctx)
        0,
        FUNC_PROTO << 24 | 1,
        1,
        ctx,
        2,
        // [4] global int rnt_argv0(void *ctx)
        main,
        FUNC << 24 | 1,
        3,
        // [5] int (void *task, void *vma, void *data)
        0,
        FUNC_PROTO << 24 | 3,
        1,
        task,
        2,
        vma,
        2,
        data,
        2,
        // [6] static int argv0_vma(...)
        cb,
        FUNC << 24,
        5,
    ];
    let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    out.extend_from_slice(&[1, 0]);
    let (type_len, str_len) = (type_bytes.len() as u32, strings.len() as u32);
    for w in [24u32, 0, type_len, type_len, str_len] {
        out.extend_from_slice(&w.to_ne_bytes());
    }
    out.extend_from_slice(&type_bytes);
    out.extend_from_slice(&strings);
    out
}

/// BTF type ids of [`program_btf`]'s two FUNCs.
const MAIN_FUNC: u32 = 4;
const CALLBACK_FUNC: u32 = 6;

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
    /// Loads, verifies and attaches the program for `offsets` (see
    /// [`ArgvOffsets::from_btf`]).
    pub fn load(offsets: &ArgvOffsets) -> io::Result<ArgvIterator> {
        let insns = program(offsets).ok_or_else(|| io::Error::other("program has a bad jump"))?;
        let callback = callback_start(&insns).ok_or_else(|| io::Error::other("no callback"))?;
        let btf = super::sys::load_btf(&program_btf())?;
        let prog = super::sys::load_iter_program_named(
            &insns,
            offsets.iter_func,
            LICENSE,
            "rnt_argv0",
            super::sys::BPF_F_SLEEPABLE,
            Some(super::sys::FuncInfo {
                btf: &btf,
                funcs: &[[0, MAIN_FUNC], [callback, CALLBACK_FUNC]],
            }),
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
    fn the_program_its_callback_and_its_btf_agree() {
        let task = Offsets {
            iter_func: 1,
            file_f_inode: 16,
            inode_i_mode: 0,
            inode_i_mode_size: 2,
            inode_i_ino: 8,
            inode_i_sb: 40,
            sb_s_magic: 96,
            sb_s_magic_size: 8,
            task_pid: 32,
            task_tgid: 36,
            task_comm: 64,
            task_thread_pid: 40,
            pid_level: 4,
            pid_numbers: 8,
            upid_size: 16,
            upid_nr: 0,
        };
        let o = ArgvOffsets {
            task,
            iter_func: 2,
            task_flags: 44,
            task_mm: 48,
            mm_arg_start: 0,
            mm_arg_end: 8,
            mm_env_start: 16,
            mm_env_end: 24,
            vma_vm_end: 8,
            vma_vm_ops: 40,
        };
        let insns = program(&o).expect("every label placed");
        let callback = callback_start(&insns).unwrap() as usize;
        // The function-address load points at the callback, which reads vm_ops first.
        let load = insns.iter().position(|i| i.code == 0x18).unwrap();
        assert_eq!(load + insns[load].imm as usize + 1, callback);
        assert_eq!(insns[callback], asm::ldx(Size::DW, R0, R2, 40));
        assert_eq!(insns.last(), Some(&asm::exit()));
        let btf = Btf::parse(program_btf()).unwrap();
        assert_eq!(btf.func("rnt_argv0").ok(), Some(MAIN_FUNC));
        assert_eq!(btf.func("argv0_vma").ok(), Some(CALLBACK_FUNC));
        // A kernel without the members: an error, not a panic.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/btf/task_file.btf"
        );
        let recorded = Btf::parse(std::fs::read(path).unwrap()).unwrap();
        let task = Offsets::from_btf(&recorded).unwrap();
        assert!(ArgvOffsets::from_btf(&recorded, task).is_err());
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
