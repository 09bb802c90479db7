//! A tiny typed assembler for eBPF instructions (Documentation/bpf/standardization/
//! instruction-set.rst): each function returns one 8-byte `struct bpf_insn`, so the
//! programs in this module read as assembly rather than as arrays of numbers.

/// One `struct bpf_insn`: opcode, dst_reg (low nibble) and src_reg (high nibble),
/// signed offset, signed immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// Registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 kept across
/// calls, R10 the read-only frame pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}

/// Load/store widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    B = 0x10,
    H = 0x08,
    W = 0x00,
    DW = 0x18,
}

/// 64-bit ALU operations (BPF_ALU64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Mov = 0xb0,
}

/// Conditional jumps (BPF_JMP, 64-bit compares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Ne = 0x50,
    Lt = 0xa0,
    Le = 0xb0,
}

const LD: u8 = 0x00;
const IMM: u8 = 0x00;
const DW_SIZE: u8 = 0x18;
const LDX: u8 = 0x01;
const STX: u8 = 0x03;
const ST: u8 = 0x02;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const MEM: u8 = 0x60;
const K: u8 = 0x00;
const X: u8 = 0x08;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;

fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src as u8) << 4 | dst as u8,
        off,
        imm,
    }
}

/// `dst op= imm` (64-bit).
pub fn alu_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
    insn(ALU64 | op as u8 | K, dst, Reg::R0, 0, imm)
}

/// `dst op= src` (64-bit).
pub fn alu_reg(op: Alu, dst: Reg, src: Reg) -> Insn {
    insn(ALU64 | op as u8 | X, dst, src, 0, 0)
}

/// `dst = imm` (sign-extended to 64 bits).
pub fn mov_imm(dst: Reg, imm: i32) -> Insn {
    alu_imm(Alu::Mov, dst, imm)
}

/// `dst = src`.
pub fn mov(dst: Reg, src: Reg) -> Insn {
    alu_reg(Alu::Mov, dst, src)
}

/// `dst = *(size *)(src + off)`, zero-extended.
pub fn ldx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    insn(LDX | MEM | size as u8, dst, src, off, 0)
}

/// `*(size *)(dst + off) = src`.
pub fn stx(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
    insn(STX | MEM | size as u8, dst, src, off, 0)
}

/// `*(size *)(dst + off) = imm`.
pub fn st(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
    insn(ST | MEM | size as u8, dst, Reg::R0, off, imm)
}

/// `if dst cond imm goto +off` (off counts instructions after this one).
pub fn jmp_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Insn {
    insn(JMP | cond as u8 | K, dst, Reg::R0, off, imm)
}

/// `if dst cond src goto +off`.
pub fn jmp_reg(cond: Cond, dst: Reg, src: Reg, off: i16) -> Insn {
    insn(JMP | cond as u8 | X, dst, src, off, 0)
}

/// `goto +off`.
pub fn ja(off: i16) -> Insn {
    insn(JMP, Reg::R0, Reg::R0, off, 0)
}

/// Calls helper number `helper` (arguments in R1-R5, result in R0).
pub fn call(helper: i32) -> Insn {
    insn(JMP | CALL, Reg::R0, Reg::R0, 0, helper)
}

pub fn exit() -> Insn {
    insn(JMP | EXIT, Reg::R0, Reg::R0, 0, 0)
}

impl Insn {
    /// The kernel's little- or big-endian layout is the host's (native byte order).
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        // struct bpf_insn's bitfields: dst_reg is the low nibble on little-endian
        // hosts, the high one on big-endian ones.
        b[1] = if cfg!(target_endian = "little") {
            self.regs
        } else {
            self.regs.rotate_left(4)
        };
        b[2..4].copy_from_slice(&self.off.to_ne_bytes());
        b[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        b
    }
}

/// A program under construction, with forward jumps to named labels resolved at the end.
#[derive(Default)]
pub struct Program {
    insns: Vec<Insn>,
    /// (index of a jump, label it goes to).
    fixups: Vec<(usize, &'static str)>,
    /// (index of a function-address load, label of the function).
    func_fixups: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl Program {
    pub fn new() -> Program {
        Program::default()
    }

    pub fn push(&mut self, i: Insn) -> &mut Program {
        self.insns.push(i);
        self
    }

    /// A conditional jump to `label` (placed later with [`Program::label`]).
    pub fn jmp_imm_to(
        &mut self,
        cond: Cond,
        dst: Reg,
        imm: i32,
        label: &'static str,
    ) -> &mut Program {
        self.fixups.push((self.insns.len(), label));
        self.push(jmp_imm(cond, dst, imm, 0))
    }

    pub fn jmp_reg_to(
        &mut self,
        cond: Cond,
        dst: Reg,
        src: Reg,
        label: &'static str,
    ) -> &mut Program {
        self.fixups.push((self.insns.len(), label));
        self.push(jmp_reg(cond, dst, src, 0))
    }

    /// `dst = &function at label` (BPF_LD_IMM64 with src BPF_PSEUDO_FUNC, two slots):
    /// a callback for helpers such as bpf_find_vma. The function is a subprogram after
    /// the main program's exit.
    pub fn ld_func_to(&mut self, dst: Reg, label: &'static str) -> &mut Program {
        self.func_fixups.push((self.insns.len(), label));
        self.push(insn(LD | IMM | DW_SIZE, dst, Reg::R4, 0, 0))
            .push(insn(0, Reg::R0, Reg::R0, 0, 0))
    }

    /// An unconditional jump to `label`.
    pub fn ja_to(&mut self, label: &'static str) -> &mut Program {
        self.fixups.push((self.insns.len(), label));
        self.push(ja(0))
    }

    pub fn label(&mut self, name: &'static str) -> &mut Program {
        self.labels.push((name, self.insns.len()));
        self
    }

    /// The instructions with every jump to a label resolved; `None` when a label is
    /// missing or out of a jump's reach (a bug in the program text).
    pub fn finish(mut self) -> Option<Vec<Insn>> {
        for &(at, label) in &self.fixups {
            let target = self.labels.iter().find(|(n, _)| *n == label)?.1;
            let off = i16::try_from(target as isize - at as isize - 1).ok()?;
            self.insns.get_mut(at)?.off = off;
        }
        // The immediate counts instructions from the one after the load's first slot.
        for &(at, label) in &self.func_fixups {
            let target = self.labels.iter().find(|(n, _)| *n == label)?.1;
            let imm = i32::try_from(target as isize - at as isize - 1).ok()?;
            self.insns.get_mut(at)?.imm = imm;
        }
        Some(self.insns)
    }
}

/// The instructions as the bytes BPF_PROG_LOAD takes.
pub fn to_bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::Reg::*;
    use super::*;

    /// Each against the encoding `llvm-mc --triple=bpf -show-encoding` gives for the
    /// instruction in the comment (LLVM 14).
    #[test]
    fn encodings_match_llvm() {
        let cases: &[(Insn, [u8; 8])] = &[
            // r0 = 0
            (mov_imm(R0, 0), [0xb7, 0x00, 0, 0, 0, 0, 0, 0]),
            // exit
            (exit(), [0x95, 0, 0, 0, 0, 0, 0, 0]),
            // r1 = *(u64 *)(r1 + 8)
            (ldx(Size::DW, R1, R1, 8), [0x79, 0x11, 0x08, 0, 0, 0, 0, 0]),
            // if r7 == 0 goto +3
            (
                jmp_imm(Cond::Eq, R7, 0, 3),
                [0x15, 0x07, 0x03, 0, 0, 0, 0, 0],
            ),
            // call 127
            (call(127), [0x85, 0, 0, 0, 0x7f, 0, 0, 0]),
            // *(u64 *)(r10 - 8) = r2
            (
                stx(Size::DW, R10, -8, R2),
                [0x7b, 0x2a, 0xf8, 0xff, 0, 0, 0, 0],
            ),
            // r3 += -16
            (
                alu_imm(Alu::Add, R3, -16),
                [0x07, 0x03, 0, 0, 0xf0, 0xff, 0xff, 0xff],
            ),
            // w0 = *(u32 *)(r6 + 16)
            (ldx(Size::W, R0, R6, 16), [0x61, 0x60, 0x10, 0, 0, 0, 0, 0]),
            // r0 &= 61440
            (
                alu_imm(Alu::And, R0, 0xf000),
                [0x57, 0x00, 0, 0, 0x00, 0xf0, 0, 0],
            ),
            // if r0 != 49152 goto +5
            (
                jmp_imm(Cond::Ne, R0, 0xc000, 5),
                [0x55, 0x00, 0x05, 0, 0x00, 0xc0, 0, 0],
            ),
            // r1 = r10
            (mov(R1, R10), [0xbf, 0xa1, 0, 0, 0, 0, 0, 0]),
            // r2 = *(u16 *)(r9 + 0)
            (ldx(Size::H, R2, R9, 0), [0x69, 0x92, 0, 0, 0, 0, 0, 0]),
            // r1 <<= 4
            (alu_imm(Alu::Lsh, R1, 4), [0x67, 0x01, 0, 0, 0x04, 0, 0, 0]),
            // if r1 > 63 goto -2
            (
                jmp_imm(Cond::Gt, R1, 63, -2),
                [0x25, 0x01, 0xfe, 0xff, 0x3f, 0, 0, 0],
            ),
            // r1 += r2
            (alu_reg(Alu::Add, R1, R2), [0x0f, 0x21, 0, 0, 0, 0, 0, 0]),
            // if r1 != r2 goto +1
            (
                jmp_reg(Cond::Ne, R1, R2, 1),
                [0x5d, 0x21, 0x01, 0, 0, 0, 0, 0],
            ),
            // *(u32 *)(r10 - 4) = 7   (llvm-mc 14 has no syntax for it; the docs' opcode 0x62)
            (
                st(Size::W, R10, -4, 7),
                [0x62, 0x0a, 0xfc, 0xff, 0x07, 0, 0, 0],
            ),
            // goto +2
            (ja(2), [0x05, 0, 0x02, 0, 0, 0, 0, 0]),
        ];
        for (insn, bytes) in cases {
            assert_eq!(&insn.to_bytes(), bytes, "{insn:?}");
        }
    }

    #[test]
    fn labels_resolve_forward_and_a_missing_one_fails() {
        let mut p = Program::new();
        p.jmp_imm_to(Cond::Eq, R1, 0, "out")
            .push(mov_imm(R0, 1))
            .label("out")
            .push(exit());
        let insns = p.finish().unwrap();
        assert_eq!(insns[0].off, 1);
        let mut p = Program::new();
        p.ja_to("end")
            .push(mov_imm(R0, 1))
            .push(exit())
            .label("end");
        let insns = p.finish().unwrap();
        assert_eq!(insns[0], ja(2));
        // r3 = <function 2 slots after the load's second slot> (llvm-mc: 18 43 ...)
        let mut p = Program::new();
        p.ld_func_to(R3, "f")
            .push(exit())
            .push(exit())
            .label("f")
            .push(exit());
        let insns = p.finish().unwrap();
        assert_eq!(insns[0].to_bytes(), [0x18, 0x43, 0, 0, 3, 0, 0, 0]);
        assert_eq!(insns[1].to_bytes(), [0; 8]);
        let mut p = Program::new();
        p.jmp_imm_to(Cond::Eq, R1, 0, "nowhere");
        assert!(p.finish().is_none());
    }
}
