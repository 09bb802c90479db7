//! `rss --all-filters`: the classic BPF filter of every socket listed, beyond the
//! packet sockets whose filter ss -b prints (PACKET_DIAG_FILTER). The filters were
//! read before rendering (crate::sockfilter::Reader, through a duplicate of a
//! holder's descriptor); here they become ss-style continuation text and JSON.
//!
//! The text goes after the row ss prints, into the last column, unmeasured
//! ([`Grid::out_unmeasured`]): without it the output is `ss -b`'s byte for byte.

use super::ss::{Grid, COL_EXT};
use crate::bpf::{self, Insn};
use crate::sockfilter::{Filter, Found};
use std::collections::HashMap;
use std::io::{self, Write};

/// Every listed socket's filter, by inode, and how to show it.
#[derive(Default)]
pub struct HeldFilters {
    pub found: HashMap<u64, Found>,
    /// `--all-filters=disasm`: `tcpdump -d`'s lines under the instructions.
    pub disasm: bool,
}

/// What to show for one socket.
enum Shown {
    /// A classic program; `listed` when ss's own -b text already lists it (a packet
    /// socket's PACKET_DIAG_FILTER).
    Classic { prog: Vec<Insn>, listed: bool },
    /// A filter is attached and cannot be read (eBPF).
    Unreadable(String),
    /// No holder's descriptor could be read: whether there is a filter is not known.
    NotRead(String),
}

/// A packet socket's PACKET_DIAG_FILTER bytes as instructions.
pub fn diag_program(filter: Option<&[u8]>) -> Option<Vec<Insn>> {
    filter.map(Insn::parse_all)
}

fn shown(filters: &HeldFilters, inode: u64, diag: Option<Vec<Insn>>) -> Option<Shown> {
    // Without a socket file there is no descriptor to read and no filter to show.
    if inode == 0 {
        return None;
    }
    if let Some(prog) = diag {
        return Some(Shown::Classic { prog, listed: true });
    }
    match filters.found.get(&inode)? {
        Found::Read(Filter::None) => None,
        Found::Read(Filter::Classic(prog)) => Some(Shown::Classic {
            prog: prog.clone(),
            listed: false,
        }),
        Found::Read(Filter::Unreadable(why)) => Some(Shown::Unreadable(why.clone())),
        Found::NotRead(why) => Some(Shown::NotRead(why.clone())),
        Found::Gone => Some(Shown::NotRead("its holder exited or closed it".into())),
    }
}

/// Appends the socket's filter text to the row being written (the current column
/// must be the last ss writes to; the text goes into [`COL_EXT`]).
pub fn text(
    g: &mut Grid,
    w: &mut impl Write,
    filters: &HeldFilters,
    inode: u64,
    diag: Option<Vec<Insn>>,
    oneline: bool,
) -> io::Result<()> {
    let Some(shown) = shown(filters, inode, diag) else {
        return Ok(());
    };
    if matches!(shown, Shown::Classic { listed: true, .. }) && !filters.disasm {
        return Ok(());
    }
    g.set(COL_EXT, w)?;
    let sep: &[u8] = if oneline { b" " } else { b"\n\t" };
    g.out_unmeasured(|buf| match shown {
        Shown::Classic { prog, listed } => {
            if !listed {
                // ss's packet-socket format (ss_detail::packet).
                buf.extend_from_slice(sep);
                let _ = write!(buf, "bpf filter ({}): ", prog.len());
                for i in &prog {
                    let _ = write!(buf, " 0x{:02x} {} {} {},", i.code, i.jt, i.jf, i.k);
                }
            }
            if filters.disasm {
                for line in bpf::disassemble(&prog) {
                    buf.extend_from_slice(sep);
                    buf.extend_from_slice(line.as_bytes());
                }
            }
        }
        Shown::Unreadable(why) => {
            buf.extend_from_slice(sep);
            let _ = write!(buf, "bpf filter: present but unreadable ({why})");
        }
        Shown::NotRead(why) => {
            buf.extend_from_slice(sep);
            let _ = write!(buf, "bpf filter: not read ({why})");
        }
    });
    Ok(())
}

/// The `filter` field of an `ss_socket` (docs/json.md, `ss_filter`): null without
/// --all-filters and for a socket without a filter.
pub fn json(
    filters: Option<&HeldFilters>,
    inode: u64,
    diag: Option<Vec<Insn>>,
) -> serde_json::Value {
    match filters.and_then(|f| shown(f, inode, diag)) {
        Some(shown) => object(shown),
        None => serde_json::Value::Null,
    }
}

/// `-b` without --all-filters: a packet socket's PACKET_DIAG_FILTER (what ss -b
/// lists) as an `ss_filter`; null when it has none.
pub fn diag_json(diag: Option<Vec<Insn>>) -> serde_json::Value {
    match diag {
        Some(prog) => object(Shown::Classic { prog, listed: true }),
        None => serde_json::Value::Null,
    }
}

fn object(shown: Shown) -> serde_json::Value {
    let (present, prog, reason) = match shown {
        Shown::Classic { prog, .. } => (Some(true), Some(prog), None),
        Shown::Unreadable(why) => (Some(true), None, Some(why)),
        Shown::NotRead(why) => (None, None, Some(format!("not read: {why}"))),
    };
    let code: Vec<[u32; 4]> = prog
        .iter()
        .flatten()
        .map(|i| [i.code.into(), i.jt.into(), i.jf.into(), i.k])
        .collect();
    serde_json::json!({
        "present": present,
        "readable": prog.is_some(),
        "instructions": prog.as_ref().map(Vec::len),
        "code": code,
        "disassembly": prog.as_deref().map(bpf::disassemble).unwrap_or_default(),
        "reason": reason,
    })
}
