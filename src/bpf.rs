//! Classic BPF (socket filters, SO_ATTACH_FILTER): a disassembler in `tcpdump -d`'s
//! notation (libpcap's bpf_image) and an analyser that says, where the program shows
//! it, which packets it accepts. Programs come from other processes' sockets: any
//! instruction array, jumps out of range and unknown opcodes are handled without
//! panicking, and the analyser only states conditions the program tests.

use std::collections::HashMap;

/// One `struct sock_filter` (host order, as SO_GET_FILTER returns it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// BPF_MAXINSNS: the kernel refuses longer classic programs.
pub const MAX_INSNS: usize = 4096;

/// Size of one `struct sock_filter` in bytes.
pub const INSN_SIZE: usize = 8;

impl Insn {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// Decodes `struct sock_filter` records (native endianness); a trailing partial
    /// record is ignored.
    pub fn parse_all(bytes: &[u8]) -> Vec<Insn> {
        bytes
            .chunks_exact(INSN_SIZE)
            .map(|c| Insn {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect()
    }
}

// Opcode parts (linux/bpf_common.h, linux/filter.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const ALU_OPS: [(u16, &str); 10] = [
    (0x00, "add"),
    (0x10, "sub"),
    (0x20, "mul"),
    (0x30, "div"),
    (0x90, "mod"),
    (0x50, "and"),
    (0x40, "or"),
    (0xa0, "xor"),
    (0x60, "lsh"),
    (0x70, "rsh"),
];
const NEG: u16 = 0x80;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// SKF_AD_OFF: absolute loads at this (negative) offset read skb metadata.
const SKF_AD_OFF: u32 = 0xffff_f000;
const SKF_AD_MAX: u32 = 64;

fn ancillary_name(k: u32) -> Option<&'static str> {
    let off = k.wrapping_sub(SKF_AD_OFF);
    if k < SKF_AD_OFF || off >= SKF_AD_MAX {
        return None;
    }
    Some(match off {
        0 => "proto",
        4 => "type",
        8 => "ifidx",
        12 => "nla",
        16 => "nlan",
        20 => "mark",
        24 => "queue",
        28 => "hatype",
        32 => "rxhash",
        36 => "cpu",
        40 => "xor_x",
        44 => "vlan_tci",
        48 => "vlanp",
        52 => "poff",
        56 => "random",
        60 => "vlan_tpid",
        _ => return None,
    })
}

fn abs_operand(k: u32) -> String {
    match ancillary_name(k) {
        Some(name) => format!("[{name}]"),
        None => format!("[{}]", k as i32),
    }
}

/// Instruction `n` as `tcpdump -d` prints it (libpcap 1.10's bpf_image), byte for byte.
pub fn image(insn: &Insn, n: usize) -> String {
    let k = insn.k;
    let code = insn.code;
    let (op, operand): (&str, String) = match code {
        c if c == RET | K => ("ret", format!("#{}", k as i32)),
        c if c == RET | A => ("ret", String::new()),
        c if c == LD | W | ABS => ("ld", abs_operand(k)),
        c if c == LD | H | ABS => ("ldh", abs_operand(k)),
        c if c == LD | B | ABS => ("ldb", abs_operand(k)),
        c if c == LD | W | LEN => ("ld", "#pktlen".into()),
        c if c == LD | W | IND => ("ld", format!("[x + {}]", k as i32)),
        c if c == LD | H | IND => ("ldh", format!("[x + {}]", k as i32)),
        c if c == LD | B | IND => ("ldb", format!("[x + {}]", k as i32)),
        c if c == LD | IMM => ("ld", format!("#0x{k:x}")),
        c if c == LDX | IMM => ("ldx", format!("#0x{k:x}")),
        c if c == LDX | MSH | B => ("ldxb", format!("4*([{}]&0xf)", k as i32)),
        c if c == LD | MEM => ("ld", format!("M[{}]", k as i32)),
        c if c == LDX | MEM => ("ldx", format!("M[{}]", k as i32)),
        c if c == ST => ("st", format!("M[{}]", k as i32)),
        c if c == STX => ("stx", format!("M[{}]", k as i32)),
        c if c == JMP | JA => (
            "ja",
            format!("{}", (n as u32).wrapping_add(1).wrapping_add(k) as i32),
        ),
        c if c == JMP | JGT | K => ("jgt", format!("#0x{k:x}")),
        c if c == JMP | JGE | K => ("jge", format!("#0x{k:x}")),
        c if c == JMP | JEQ | K => ("jeq", format!("#0x{k:x}")),
        c if c == JMP | JSET | K => ("jset", format!("#0x{k:x}")),
        c if c == JMP | JGT | X => ("jgt", "x".into()),
        c if c == JMP | JGE | X => ("jge", "x".into()),
        c if c == JMP | JEQ | X => ("jeq", "x".into()),
        c if c == JMP | JSET | X => ("jset", "x".into()),
        c if c == ALU | NEG => ("neg", String::new()),
        c if c == MISC | TAX => ("tax", String::new()),
        c if c == MISC | TXA => ("txa", String::new()),
        c => match ALU_OPS
            .iter()
            .find(|(op, _)| c == ALU | op | X || c == ALU | op | K)
        {
            Some(&(_, name)) if c & X != 0 => (name, "x".into()),
            // and, or, xor print their constant in hex, the others in decimal.
            Some(&(0x50 | 0x40 | 0xa0, name)) => (name, format!("#0x{k:x}")),
            Some(&(_, name)) => (name, format!("#{}", k as i32)),
            None => ("unimp", format!("0x{c:x}")),
        },
    };
    if code & 0x07 == JMP && code & 0xf0 != JA {
        format!(
            "({n:03}) {op:<8} {operand:<16} jt {}\tjf {}",
            n + 1 + insn.jt as usize,
            n + 1 + insn.jf as usize
        )
    } else {
        format!("({n:03}) {op:<8} {operand}")
    }
}

/// The whole program, one `tcpdump -d` line per instruction.
pub fn disassemble(prog: &[Insn]) -> Vec<String> {
    prog.iter().enumerate().map(|(n, i)| image(i, n)).collect()
}

/// Where offset 0 of the packet the filter sees lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// An Ethernet header (packet sockets of type SOCK_RAW on Ethernet-like links).
    Ethernet,
    /// An IPv4 header (raw IPv4 sockets; packet SOCK_DGRAM sockets receiving IPv4).
    Ipv4,
    /// Not known (IPv6 raw sockets see the transport header, cooked packet sockets
    /// any network protocol): offsets are shown as they are.
    Unknown,
}

/// What the analyser can tell about a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// The program is malformed (the kernel would refuse it): the reason.
    Invalid(String),
    /// Every path returns 0.
    Nothing,
    /// Accepted packets satisfy one of these conjunctions of conditions (each a
    /// pcap-filter-like phrase); an empty conjunction is every packet.
    Paths(Vec<Vec<String>>),
    /// Too many paths to enumerate within the analyser's bounds.
    TooComplex,
}

impl Accepts {
    /// One line: `udp and dst port 53 and udp[8:4] = 0x5254 or ...`.
    pub fn describe(&self) -> String {
        match self {
            Accepts::Invalid(why) => format!("invalid program ({why})"),
            Accepts::Nothing => "nothing (every path returns 0)".into(),
            Accepts::TooComplex => "not determined (too many paths to follow)".into(),
            Accepts::Paths(paths) if paths.iter().any(|p| p.is_empty()) => "every packet".into(),
            Accepts::Paths(paths) => {
                let shown: Vec<String> = paths
                    .iter()
                    .take(MAX_SHOWN_PATHS)
                    .map(|p| {
                        let s = p.join(" and ");
                        if paths.len() > 1 && p.len() > 1 {
                            format!("({s})")
                        } else {
                            s
                        }
                    })
                    .collect();
                let mut s = shown.join(" or ");
                if paths.len() > MAX_SHOWN_PATHS {
                    s.push_str(&format!(" or {} more", paths.len() - MAX_SHOWN_PATHS));
                }
                s
            }
        }
    }
}

const MAX_SHOWN_PATHS: usize = 8;
/// Bounds of the path walk: accepting paths kept, instructions visited in all.
const MAX_PATHS: usize = 64;
const MAX_STEPS: usize = 200_000;

/// The kernel's structural checks (sk_chk_filter): length, known opcodes, jumps
/// in range, scratch memory indices, a return at the end.
pub fn validate(prog: &[Insn]) -> Result<(), String> {
    if prog.is_empty() {
        return Err("empty".into());
    }
    if prog.len() > MAX_INSNS {
        return Err(format!(
            "{} instructions, more than {MAX_INSNS}",
            prog.len()
        ));
    }
    let len = prog.len() as u64;
    for (n, i) in prog.iter().enumerate() {
        let at = n as u64 + 1;
        let class = i.code & 0x07;
        let known =
            image(i, n).get(6..11) != Some("unimp") || i.code == RET | X || i.code == LDX | W | LEN;
        if !known {
            return Err(format!("unknown opcode 0x{:x} at {n}", i.code));
        }
        match class {
            JMP if i.code & 0xf0 == JA && at + i.k as u64 >= len => {
                return Err(format!("jump out of range at {n}"));
            }
            JMP if i.code & 0xf0 != JA && at + i.jt.max(i.jf) as u64 >= len => {
                return Err(format!("jump out of range at {n}"));
            }
            LD | LDX if i.code & 0xe0 == MEM && i.k >= 16 => {
                return Err(format!("scratch memory index {} at {n}", i.k))
            }
            ST | STX if i.k >= 16 => return Err(format!("scratch memory index {} at {n}", i.k)),
            ALU if matches!(i.code & 0xf0, 0x30 | 0x90) && i.code & X == 0 && i.k == 0 => {
                return Err(format!("division by zero at {n}"))
            }
            _ => {}
        }
    }
    if prog.last().map(|i| i.code & 0x07) != Some(RET) {
        return Err("does not end with a return".into());
    }
    Ok(())
}

/// A value the accumulator or index register holds, as far as it is known.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Val {
    Const(u32),
    /// A load of `size` bytes at `off`, absolute or after the IPv4 header whose
    /// first byte is at `msh` (`ldxb 4*([msh]&0xf)` then `ld [x + off]`).
    Load {
        msh: Option<u32>,
        off: u32,
        size: u8,
    },
    /// `4*([off]&0xf)`: an IPv4 header length.
    Msh(u32),
    Len,
    Masked(Box<Val>, u32),
    Unknown,
}

/// A condition on one path: `val op k` held (`taken`) or not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cond {
    val: Val,
    op: u16,
    k: u32,
    taken: bool,
}

#[derive(Clone)]
struct State {
    a: Val,
    x: Val,
    mem: [Val; 16],
    conds: Vec<Cond>,
}

fn holds(op: u16, v: u32, k: u32) -> bool {
    match op {
        JEQ => v == k,
        JGT => v > k,
        JGE => v >= k,
        _ => v & k != 0,
    }
}

impl State {
    /// Whether the path's earlier conditions already decide `val op k`.
    fn decided(&self, val: &Val, op: u16, k: u32) -> Option<bool> {
        match val {
            Val::Const(v) => return Some(holds(op, *v, k)),
            // Two unknown values are not the same value.
            Val::Unknown => return None,
            _ => {}
        }
        for c in &self.conds {
            if &c.val != val {
                continue;
            }
            if c.op == JEQ && c.taken {
                return Some(holds(op, c.k, k));
            }
            if c.op == op && c.k == k {
                return Some(c.taken);
            }
            if op == JEQ && c.op == JEQ && !c.taken && c.k == k {
                return Some(false);
            }
        }
        None
    }
}

fn alu(op: u16, a: &Val, b: &Val) -> Val {
    match (a, b) {
        (Val::Const(x), Val::Const(y)) => {
            let (x, y) = (*x, *y);
            let r = match op {
                0x00 => Some(x.wrapping_add(y)),
                0x10 => Some(x.wrapping_sub(y)),
                0x20 => Some(x.wrapping_mul(y)),
                0x30 => x.checked_div(y),
                0x90 => x.checked_rem(y),
                0x50 => Some(x & y),
                0x40 => Some(x | y),
                0xa0 => Some(x ^ y),
                0x60 => Some(if y >= 32 { 0 } else { x << y }),
                0x70 => Some(if y >= 32 { 0 } else { x >> y }),
                _ => None,
            };
            r.map_or(Val::Unknown, Val::Const)
        }
        (v, Val::Const(m)) if op == 0x50 && *v != Val::Unknown => match v {
            Val::Masked(inner, m0) => Val::Masked(inner.clone(), m0 & m),
            _ => Val::Masked(Box::new(v.clone()), *m),
        },
        _ => Val::Unknown,
    }
}

/// Which packets `prog` accepts, seen at `layer`.
pub fn analyse(prog: &[Insn], layer: Layer) -> Accepts {
    match walk(prog) {
        Err(a) => a,
        Ok(accepting) if accepting.is_empty() => Accepts::Nothing,
        Ok(accepting) => {
            let mut paths: Vec<Vec<String>> =
                accepting.iter().map(|c| describe(c, layer)).collect();
            paths.dedup();
            Accepts::Paths(paths)
        }
    }
}

/// The conditions of every path that ends in a non-zero return.
fn walk(prog: &[Insn]) -> Result<Vec<Vec<Cond>>, Accepts> {
    if let Err(why) = validate(prog) {
        return Err(Accepts::Invalid(why));
    }
    let unknown: [Val; 16] = std::array::from_fn(|_| Val::Unknown);
    let mut stack = vec![(
        0usize,
        State {
            a: Val::Const(0),
            x: Val::Const(0),
            mem: unknown,
            conds: Vec::new(),
        },
    )];
    let mut accepting: Vec<Vec<Cond>> = Vec::new();
    let mut steps = 0usize;
    while let Some((mut pc, mut st)) = stack.pop() {
        loop {
            steps += 1;
            if steps > MAX_STEPS || accepting.len() > MAX_PATHS {
                return Err(Accepts::TooComplex);
            }
            // validate() guarantees pc is in range and the program ends with a return.
            let Some(&i) = prog.get(pc) else {
                return Err(Accepts::Invalid(format!("runs past the end at {pc}")));
            };
            let k = i.k;
            let class = i.code & 0x07;
            let size = match i.code & 0x18 {
                W => 4,
                H => 2,
                _ => 1,
            };
            match class {
                LD | LDX => {
                    let v = match i.code & 0xe0 {
                        IMM => Val::Const(k),
                        ABS if class == LD => Val::Load {
                            msh: None,
                            off: k,
                            size,
                        },
                        IND if class == LD => match &st.x {
                            Val::Const(x) => Val::Load {
                                msh: None,
                                off: x.wrapping_add(k),
                                size,
                            },
                            Val::Msh(m) => Val::Load {
                                msh: Some(*m),
                                off: k,
                                size,
                            },
                            _ => Val::Unknown,
                        },
                        MEM => st.mem.get(k as usize).cloned().unwrap_or(Val::Unknown),
                        LEN => Val::Len,
                        MSH if class == LDX => Val::Msh(k),
                        _ => Val::Unknown,
                    };
                    if class == LD {
                        st.a = v;
                    } else {
                        st.x = v;
                    }
                    pc += 1;
                }
                ST | STX => {
                    let v = if class == ST {
                        st.a.clone()
                    } else {
                        st.x.clone()
                    };
                    if let Some(slot) = st.mem.get_mut(k as usize) {
                        *slot = v;
                    }
                    pc += 1;
                }
                ALU => {
                    let op = i.code & 0xf0;
                    st.a = if op == NEG {
                        match st.a {
                            Val::Const(c) => Val::Const(c.wrapping_neg()),
                            _ => Val::Unknown,
                        }
                    } else {
                        let b = if i.code & X != 0 {
                            st.x.clone()
                        } else {
                            Val::Const(k)
                        };
                        alu(op, &st.a, &b)
                    };
                    pc += 1;
                }
                MISC => {
                    if i.code & 0xf8 == TXA {
                        st.a = st.x.clone();
                    } else {
                        st.x = st.a.clone();
                    }
                    pc += 1;
                }
                JMP => {
                    let op = i.code & 0xf0;
                    if op == JA {
                        pc += 1 + k as usize;
                        continue;
                    }
                    let t = pc + 1 + i.jt as usize;
                    let f = pc + 1 + i.jf as usize;
                    if t == f {
                        pc = t;
                        continue;
                    }
                    let (val, kk) = if i.code & X != 0 {
                        match st.x {
                            Val::Const(x) => (st.a.clone(), x),
                            _ => (Val::Unknown, 0),
                        }
                    } else {
                        (st.a.clone(), k)
                    };
                    match st.decided(&val, op, kk) {
                        Some(true) => pc = t,
                        Some(false) => pc = f,
                        None => {
                            let mut other = st.clone();
                            other.conds.push(Cond {
                                val: val.clone(),
                                op,
                                k: kk,
                                taken: false,
                            });
                            stack.push((f, other));
                            st.conds.push(Cond {
                                val,
                                op,
                                k: kk,
                                taken: true,
                            });
                            pc = t;
                        }
                    }
                }
                _ => {
                    // RET: K accepts k bytes, A what the accumulator holds, X (not a
                    // libpcap opcode) the index register.
                    let ret = match i.code & 0x18 {
                        K => Val::Const(k),
                        A => st.a.clone(),
                        _ => st.x.clone(),
                    };
                    match ret {
                        Val::Const(0) => {}
                        Val::Const(_) => accepting.push(st.conds),
                        v => {
                            let mut conds = st.conds;
                            conds.push(Cond {
                                val: v,
                                op: JGT,
                                k: 0,
                                taken: true,
                            });
                            accepting.push(conds)
                        }
                    }
                    break;
                }
            }
        }
    }
    Ok(accepting)
}

/// Names that the conditions of one path give to offsets: the ethertype and IP
/// protocol known so far decide what `[23]` or `[x + 16]` mean.
struct Context {
    layer: Layer,
    /// The network protocol the path established (an ethertype, or the IP version
    /// nibble where the packet starts at the IP header).
    ethertype: Option<u32>,
    ipproto: Option<u32>,
}

impl Context {
    /// Offset and ethertype of the network header, when known.
    fn l3(&self) -> Option<(u32, u32)> {
        match (self.layer, self.ethertype) {
            (Layer::Ethernet, Some(t @ (0x800 | 0x86dd))) => Some((14, t)),
            (Layer::Ethernet, _) => None,
            (_, Some(t @ (0x800 | 0x86dd))) => Some((0, t)),
            (Layer::Ipv4, _) => Some((0, 0x800)),
            _ => None,
        }
    }

    /// Where the IP version nibble is: `ip[0] & 0xf0` of a packet that starts with
    /// an IP header (or behind an Ethernet header before the ethertype is known).
    fn is_version(&self, v: &Val) -> bool {
        let at = if self.layer == Layer::Ethernet { 14 } else { 0 };
        matches!(v, Val::Masked(inner, 0xf0)
            if **inner == Val::Load { msh: None, off: at, size: 1 })
            && (self.layer != Layer::Ethernet || self.ethertype.is_some())
    }

    fn transport_name(&self) -> &'static str {
        match self.ipproto {
            Some(6) => "tcp",
            Some(17) => "udp",
            Some(1) => "icmp",
            Some(58) => "icmp6",
            Some(132) => "sctp",
            _ => "l4",
        }
    }
}

fn ethertype_name(v: u32) -> Option<&'static str> {
    Some(match v {
        0x800 => "ip",
        0x86dd => "ip6",
        0x806 => "arp",
        0x8035 => "rarp",
        0x8100 => "vlan",
        0x88cc => "lldp",
        _ => return None,
    })
}

fn ipproto_name(v: u32) -> Option<&'static str> {
    Some(match v {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        58 => "icmp6",
        132 => "sctp",
        _ => return None,
    })
}

/// What a value is called, and whether its comparisons read better in decimal.
fn name_of(v: &Val, cx: &Context) -> (String, bool) {
    match v {
        Val::Const(c) => (format!("0x{c:x}"), false),
        Val::Len => ("len".into(), true),
        Val::Msh(off) => (format!("4*(pkt[{off}]&0xf)"), true),
        Val::Unknown => ("a computed value".into(), false),
        Val::Masked(inner, m) => {
            let (n, _) = name_of(inner, cx);
            (format!("{n} & 0x{m:x}"), false)
        }
        Val::Load { msh, off, size } => {
            let (off, size) = (*off, *size);
            if let Some(name) = ancillary_name(off) {
                return (format!("skb {name}"), true);
            }
            match (msh, cx.l3()) {
                (Some(m), Some((l3, 0x800))) if *m == l3 => {
                    let proto = cx.transport_name();
                    let rel = off.wrapping_sub(l3);
                    match (proto, rel, size) {
                        ("tcp" | "udp" | "sctp", 0, 2) => (format!("{proto} src port"), true),
                        ("tcp" | "udp" | "sctp", 2, 2) => (format!("{proto} dst port"), true),
                        _ => (format!("{proto}[{rel}:{size}]"), false),
                    }
                }
                (Some(m), _) => (format!("pkt[4*(pkt[{m}]&0xf) + {off}:{size}]"), false),
                (None, Some((l3, 0x800))) if off >= l3 && off < l3 + 20 => {
                    let rel = off - l3;
                    match (rel, size) {
                        (9, 1) => ("ip proto".into(), true),
                        (12, 4) => ("ip src".into(), false),
                        (16, 4) => ("ip dst".into(), false),
                        _ => (format!("ip[{rel}:{size}]"), false),
                    }
                }
                (None, Some((l3, 0x86dd))) if off >= l3 => {
                    let rel = off - l3;
                    let proto = cx.transport_name();
                    match (rel, size) {
                        (6, 1) => ("ip6 proto".into(), true),
                        (40, 2) if proto != "l4" => (format!("{proto} src port"), true),
                        (42, 2) if proto != "l4" => (format!("{proto} dst port"), true),
                        (r, _) if r >= 40 => (format!("{proto}[{}:{size}]", r - 40), false),
                        _ => (format!("ip6[{rel}:{size}]"), false),
                    }
                }
                _ if cx.layer == Layer::Ethernet => match (off, size) {
                    (12, 2) => ("ether proto".into(), false),
                    _ => (format!("ether[{off}:{size}]"), false),
                },
                _ => (format!("pkt[{off}:{size}]"), false),
            }
        }
    }
}

fn ipv4_text(k: u32) -> String {
    std::net::Ipv4Addr::from(k).to_string()
}

/// One path's conditions as phrases, in program order.
fn describe(conds: &[Cond], layer: Layer) -> Vec<String> {
    let mut cx = Context {
        layer,
        ethertype: None,
        ipproto: None,
    };
    let mut out = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (n, c) in conds.iter().enumerate() {
        // "!= k" says nothing once a later test on the same value found it equal.
        let implied = !c.taken
            && c.op == JEQ
            && conds[n + 1..]
                .iter()
                .any(|l| l.val == c.val && l.op == JEQ && l.taken && l.k != c.k);
        if implied {
            continue;
        }
        if cx.is_version(&c.val) && c.op == JEQ && matches!(c.k, 0x40 | 0x60) {
            let name = if c.k == 0x40 { "ip" } else { "ip6" };
            let phrase = if c.taken {
                cx.ethertype = Some(if c.k == 0x40 { 0x800 } else { 0x86dd });
                name.to_string()
            } else {
                format!("not {name}")
            };
            if seen.insert(phrase.clone(), ()).is_none() {
                out.push(phrase);
            }
            continue;
        }
        let (name, decimal) = name_of(&c.val, &cx);
        let num = |k: u32| {
            if decimal {
                k.to_string()
            } else {
                format!("0x{k:x}")
            }
        };
        let phrase = match (name.as_str(), c.op, c.taken) {
            ("ether proto", JEQ, true) => {
                cx.ethertype = Some(c.k);
                ethertype_name(c.k)
                    .map_or_else(|| format!("ether proto 0x{:x}", c.k), str::to_string)
            }
            ("ip proto" | "ip6 proto", JEQ, true) => {
                cx.ipproto = Some(c.k);
                let fam = if name == "ip proto" { "ip" } else { "ip6" };
                match ipproto_name(c.k) {
                    Some(p) => format!("{fam} and {p}"),
                    None => format!("{name} {}", c.k),
                }
            }
            ("ip src" | "ip dst", JEQ, taken) => format!(
                "{}{} {}",
                if taken { "" } else { "not " },
                if name == "ip src" {
                    "src host"
                } else {
                    "dst host"
                },
                ipv4_text(c.k)
            ),
            ("ip[6:2]", JSET, false) if c.k == 0x1fff => "not a fragment".into(),
            ("ether proto", JEQ, false) => {
                format!(
                    "not {}",
                    ethertype_name(c.k)
                        .map_or_else(|| format!("ether proto 0x{:x}", c.k), str::to_string)
                )
            }
            (n, JEQ, false) if n.ends_with("proto") => match ipproto_name(c.k) {
                Some(p) => format!("not {p}"),
                None => format!("{n} != {}", c.k),
            },
            (n, JEQ, true) if n.ends_with("port") => format!("{n} {}", c.k),
            (_, JEQ, true) => format!("{name} = {}", num(c.k)),
            (_, JEQ, false) => format!("{name} != {}", num(c.k)),
            (_, JGT, true) => format!("{name} > {}", num(c.k)),
            (_, JGT, false) => format!("{name} <= {}", num(c.k)),
            (_, JGE, true) => format!("{name} >= {}", num(c.k)),
            (_, JGE, false) => format!("{name} < {}", num(c.k)),
            (_, _, true) => format!("{name} & 0x{:x} != 0", c.k),
            (_, _, false) => format!("{name} & 0x{:x} = 0", c.k),
        };
        // "ip and udp" after "ip": say "udp" only.
        let phrase = match phrase
            .strip_prefix("ip and ")
            .or(phrase.strip_prefix("ip6 and "))
        {
            Some(rest) if out.last().is_some_and(|l: &String| l == "ip" || l == "ip6") => {
                rest.to_string()
            }
            _ => phrase,
        };
        if seen.insert(phrase.clone(), ()).is_none() {
            out.push(phrase);
        }
    }
    // "ip and udp": the protocol implies the ethertype test before it.
    if out.len() >= 2
        && (out[0] == "ip" || out[0] == "ip6")
        && ipproto_name(cx.ipproto.unwrap_or(0)).is_some_and(|p| out[1] == p)
    {
        let proto = out.remove(1);
        out[0] = if out[0] == "ip6" {
            format!("ip6 and {proto}")
        } else {
            proto
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The kernel's classic interpreter, as far as the generated programs need it:
    /// Some(return value), None when a load fell outside the packet (which returns 0).
    fn run(prog: &[Insn], pkt: &[u8]) -> Option<u32> {
        let load = |off: u32, size: u8| -> Option<u32> {
            let at = off as usize;
            let bytes = pkt.get(at..at.checked_add(size as usize)?)?;
            Some(bytes.iter().fold(0u32, |v, &b| v << 8 | b as u32))
        };
        let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
        loop {
            let i = prog[pc];
            let size = match i.code & 0x18 {
                W => 4,
                H => 2,
                _ => 1,
            };
            pc += 1;
            match i.code & 0x07 {
                LD | LDX => {
                    let v = match i.code & 0xe0 {
                        IMM => i.k,
                        ABS => load(i.k, size)?,
                        IND => load(x.wrapping_add(i.k), size)?,
                        MEM => mem[i.k as usize],
                        LEN => pkt.len() as u32,
                        _ => 4 * (load(i.k, 1)? & 0xf),
                    };
                    if i.code & 0x07 == LD {
                        a = v
                    } else {
                        x = v
                    }
                }
                ST => mem[i.k as usize] = a,
                STX => mem[i.k as usize] = x,
                ALU => {
                    let b = if i.code & X != 0 { x } else { i.k };
                    a = match i.code & 0xf0 {
                        0x00 => a.wrapping_add(b),
                        0x10 => a.wrapping_sub(b),
                        0x20 => a.wrapping_mul(b),
                        0x30 => a.checked_div(b).unwrap_or(0),
                        0x90 => a.checked_rem(b).unwrap_or(0),
                        0x50 => a & b,
                        0x40 => a | b,
                        0xa0 => a ^ b,
                        0x60 => a.checked_shl(b).unwrap_or(0),
                        0x70 => a.checked_shr(b).unwrap_or(0),
                        _ => a.wrapping_neg(),
                    }
                }
                JMP if i.code & 0xf0 == JA => pc += i.k as usize,
                JMP => {
                    let b = if i.code & X != 0 { x } else { i.k };
                    pc += if holds(i.code & 0xf0, a, b) {
                        i.jt as usize
                    } else {
                        i.jf as usize
                    };
                }
                RET => {
                    return Some(match i.code & 0x18 {
                        K => i.k,
                        A => a,
                        _ => x,
                    })
                }
                _ => {
                    if i.code & 0xf8 == TXA {
                        a = x
                    } else {
                        x = a
                    }
                }
            }
        }
    }

    /// A value on a packet; None when unknown or outside the packet.
    fn eval(v: &Val, pkt: &[u8]) -> Option<u32> {
        let byte = |at: u32| pkt.get(at as usize).copied();
        match v {
            Val::Const(c) => Some(*c),
            Val::Len => Some(pkt.len() as u32),
            Val::Msh(off) => Some(4 * (byte(*off)? as u32 & 0xf)),
            Val::Masked(inner, m) => Some(eval(inner, pkt)? & m),
            Val::Unknown => None,
            Val::Load { msh, off, size } => {
                let base = match msh {
                    Some(m) => 4 * (byte(*m)? as u32 & 0xf),
                    None => 0,
                };
                let at = base.wrapping_add(*off) as usize;
                let bytes = pkt.get(at..at.checked_add(*size as usize)?)?;
                Some(bytes.iter().fold(0u32, |v, &b| v << 8 | b as u32))
            }
        }
    }

    /// Valid programs by construction: blocks of a load, an optional operation and a
    /// test (what filters are made of), some of them anything; loads near the start
    /// of the packet; forward jumps within the program; a return at the end.
    fn program() -> impl Strategy<Value = Vec<Insn>> {
        let load = prop::sample::select(vec![
            0x30u16, 0x28, 0x20, 0x50, 0x48, 0x40, 0xb1, 0x00, 0x01, 0x80, 0x60, 0x61, 0x87,
        ]);
        let alu = prop::sample::select(vec![
            0x54u16, 0x44, 0xa4, 0x04, 0x14, 0x24, 0x34, 0x94, 0x64, 0x74, 0x84, 0x0c, 0x1c, 0x5c,
            0x4c, 0x07, 0x02, 0x03,
        ]);
        let jump = prop::sample::select(vec![
            0x15u16, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d, 0x05, 0x06, 0x16,
        ]);
        let k = || prop_oneof![4 => 0u32..4, 1 => 0u32..24, 1 => Just(0x40)];
        // Each block loads one of two values chosen for the program, so that a value
        // is often tested more than once.
        let pool = prop::collection::vec((load, prop_oneof![3 => 0u32..2, 1 => 0u32..24]), 2);
        let block = (
            any::<bool>(),
            prop::option::weighted(0.4, alu),
            jump,
            k(),
            0u8..6,
            0u8..6,
        );
        (pool, prop::collection::vec(block, 1..8)).prop_map(|(pool, blocks)| {
            let mut raw = Vec::new();
            for (second, op, j, k2, jt, jf) in blocks {
                let (ld, k1) = pool[second as usize];
                raw.push(Insn::new(ld, 0, 0, k1));
                if let Some(op) = op {
                    raw.push(Insn::new(op, 0, 0, k2));
                }
                raw.push(Insn::new(j, jt, jf, k2));
            }
            let n = raw.len();
            let mut prog: Vec<Insn> = raw
                .into_iter()
                .enumerate()
                .map(|(at, i)| {
                    // Instructions after this one, the final return included.
                    let room = (n - at) as u8;
                    let k = match i.code {
                        0x60 | 0x61 | 0x02 | 0x03 => i.k % 16,
                        0x34 | 0x94 => i.k.max(1),
                        0x05 => i.k % room as u32,
                        0x06 => i.k % 3,
                        _ => i.k,
                    };
                    Insn::new(i.code, i.jt % room, i.jf % room, k)
                })
                .collect();
            prog.push(Insn::new(0x06, 0, 0, 1));
            prog
        })
    }

    /// Every packet the program accepts satisfies one of the paths the analyser
    /// reports (a condition it cannot evaluate counts as met), and a packet that meets
    /// every condition of a path is accepted (unless a load that is not a condition
    /// fell off the packet, which the analyser does not model).
    fn check(prog: &[Insn], pkts: &[Vec<u8>]) -> Result<(), String> {
        let Ok(paths) = walk(prog) else {
            return Ok(());
        };
        let listing = || disassemble(prog).join("\n");
        for pkt in pkts {
            let meets = |p: &Vec<Cond>| -> Vec<Option<bool>> {
                p.iter()
                    .map(|c| eval(&c.val, pkt).map(|v| holds(c.op, v, c.k) == c.taken))
                    .collect()
            };
            let accepted = run(prog, pkt);
            if accepted.is_some_and(|r| r != 0)
                && !paths
                    .iter()
                    .any(|p| meets(p).iter().all(|m| *m != Some(false)))
            {
                return Err(format!("accepted but on no path: {pkt:?}\n{}", listing()));
            }
            let on_a_path = paths
                .iter()
                .any(|p| meets(p).iter().all(|m| *m == Some(true)));
            if accepted == Some(0) && on_a_path {
                return Err(format!("on a path but rejected: {pkt:?}\n{}", listing()));
            }
        }
        Ok(())
    }

    #[test]
    fn the_check_sees_a_wrong_path() {
        // The same byte tested twice: the second test is decided by the first.
        let prog = [
            Insn::new(0x30, 0, 0, 0),
            Insn::new(0x15, 0, 3, 1),
            Insn::new(0x30, 0, 0, 0),
            Insn::new(0x15, 0, 1, 1),
            Insn::new(0x06, 0, 0, 1),
            Insn::new(0x06, 0, 0, 0),
        ];
        check(&prog, &[vec![1], vec![0], vec![]]).unwrap();
        assert_eq!(analyse(&prog, Layer::Unknown).describe(), "pkt[0:1] = 0x1");
        // The same test twice.
        let mut prog = prog;
        prog[1].code = 0x25;
        prog[3].code = 0x25;
        check(&prog, &[vec![1], vec![2], vec![]]).unwrap();
        assert_eq!(analyse(&prog, Layer::Unknown).describe(), "pkt[0:1] > 0x1");
    }

    proptest! {
        #[test]
        fn paths_are_what_the_program_accepts(
            prog in program(),
            pkts in prop::collection::vec(
                prop::collection::vec(prop_oneof![4 => 0u8..4, 1 => any::<u8>()], 0..32),
                1..32,
            ),
        ) {
            prop_assume!(validate(&prog).is_ok());
            if let Err(e) = check(&prog, &pkts) {
                prop_assert!(false, "{}", e);
            }
        }
    }

    /// `tcpdump -dd 'udp and port 53 and udp[8:4] = 0x5254'` (BPFDoor-like).
    pub const MAGIC: [Insn; 15] = [
        Insn::new(0x28, 0, 0, 0x0000000c),
        Insn::new(0x15, 0, 12, 0x00000800),
        Insn::new(0x30, 0, 0, 0x00000017),
        Insn::new(0x15, 0, 10, 0x00000011),
        Insn::new(0x28, 0, 0, 0x00000014),
        Insn::new(0x45, 8, 0, 0x00001fff),
        Insn::new(0xb1, 0, 0, 0x0000000e),
        Insn::new(0x48, 0, 0, 0x0000000e),
        Insn::new(0x15, 2, 0, 0x00000035),
        Insn::new(0x48, 0, 0, 0x00000010),
        Insn::new(0x15, 0, 3, 0x00000035),
        Insn::new(0x40, 0, 0, 0x00000016),
        Insn::new(0x15, 0, 1, 0x00005254),
        Insn::new(0x6, 0, 0, 0x00040000),
        Insn::new(0x6, 0, 0, 0x00000000),
    ];

    #[test]
    fn disassembles_like_tcpdump() {
        let want = "(000) ldh      [12]
(001) jeq      #0x800           jt 2\tjf 14
(002) ldb      [23]
(003) jeq      #0x11            jt 4\tjf 14
(004) ldh      [20]
(005) jset     #0x1fff          jt 14\tjf 6
(006) ldxb     4*([14]&0xf)
(007) ldh      [x + 14]
(008) jeq      #0x35            jt 11\tjf 9
(009) ldh      [x + 16]
(010) jeq      #0x35            jt 11\tjf 14
(011) ld       [x + 22]
(012) jeq      #0x5254          jt 13\tjf 14
(013) ret      #262144
(014) ret      #0";
        assert_eq!(disassemble(&MAGIC).join("\n"), want);
    }

    #[test]
    fn odd_instructions() {
        assert_eq!(image(&Insn::new(0x07, 0, 0, 0), 3), "(003) tax      ");
        assert_eq!(image(&Insn::new(0x16, 0, 0, 0), 3), "(003) ret      ");
        assert_eq!(
            image(&Insn::new(0xffff, 0, 0, 0), 0),
            "(000) unimp    0xffff"
        );
        assert_eq!(
            image(&Insn::new(0x30, 0, 0, 0xfffff000 + 44), 1),
            "(001) ldb      [vlan_tci]"
        );
        assert_eq!(
            image(&Insn::new(0x30, 0, 0, 0xfffff000 + 2), 1),
            "(001) ldb      [-4094]"
        );
        assert_eq!(
            image(&Insn::new(0x05, 0, 0, u32::MAX), 5),
            "(005) ja       5"
        );
        assert_eq!(image(&Insn::new(0x54, 0, 0, 0xf), 0), "(000) and      #0xf");
        assert_eq!(
            image(&Insn::new(0x14, 0, 0, 0xffffffff), 0),
            "(000) sub      #-1"
        );
        assert_eq!(image(&Insn::new(0x1c, 0, 0, 0), 0), "(000) sub      x");
    }

    #[test]
    fn analyses_the_magic_filter() {
        let a = analyse(&MAGIC, Layer::Ethernet);
        assert_eq!(
            a.describe(),
            "(udp and not a fragment and udp src port 53 and udp[8:4] = 0x5254) or \
             (udp and not a fragment and udp src port != 53 and udp dst port 53 and udp[8:4] = 0x5254)"
        );
    }

    #[test]
    fn unknown_values_are_not_one_value() {
        // Two computed values (A + X), each compared with 5: four ways, two accept.
        let prog = [
            Insn::new(0x30, 0, 0, 0),
            Insn::new(0x0c, 0, 0, 0),
            Insn::new(0x15, 0, 3, 5),
            Insn::new(0x30, 0, 0, 1),
            Insn::new(0x0c, 0, 0, 0),
            Insn::new(0x15, 0, 1, 5),
            Insn::new(0x06, 0, 0, 0),
            Insn::new(0x06, 0, 0, 1),
        ];
        // Accepts when the first is 5 and the second is not: the second test must not
        // be taken as decided by the first.
        let Accepts::Paths(paths) = analyse(&prog, Layer::Unknown) else {
            panic!()
        };
        assert_eq!(
            paths,
            vec![vec![
                "a computed value = 0x5".to_string(),
                "a computed value != 0x5".to_string()
            ]]
        );
    }

    #[test]
    fn simple_cases() {
        let all = [Insn::new(0x06, 0, 0, 0xffff)];
        assert_eq!(analyse(&all, Layer::Ethernet).describe(), "every packet");
        let none = [Insn::new(0x06, 0, 0, 0)];
        assert_eq!(analyse(&none, Layer::Ethernet), Accepts::Nothing);
        let out = [Insn::new(0x15, 5, 0, 1), Insn::new(0x06, 0, 0, 0)];
        assert!(matches!(
            analyse(&out, Layer::Ethernet),
            Accepts::Invalid(_)
        ));
        assert!(matches!(analyse(&[], Layer::Ethernet), Accepts::Invalid(_)));
        // Raw IPv4 socket: ip proto at offset 9, ports after the header.
        let raw = [
            Insn::new(0x30, 0, 0, 9),
            Insn::new(0x15, 0, 4, 6),
            Insn::new(0xb1, 0, 0, 0),
            Insn::new(0x48, 0, 0, 2),
            Insn::new(0x15, 0, 1, 1337),
            Insn::new(0x06, 0, 0, 0xffff),
            Insn::new(0x06, 0, 0, 0),
        ];
        assert_eq!(
            analyse(&raw, Layer::Ipv4).describe(),
            "ip and tcp and tcp dst port 1337"
        );
    }
}
