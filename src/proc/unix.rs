//! /proc/net/unix. Paths are kept whole (spaces, newlines and invalid UTF-8
//! included); renderers decide how much of them netstat or lsof would show.

use super::{
    dec_u64, for_each_line_read_ahead, hex_u64, numbered_lines, ParseWarning, ProcRoot, Table,
};

pub const SO_ACCEPTCON: u64 = 0x10000;
pub const SO_WAITDATA: u64 = 0x20000;
pub const SO_NOSPACE: u64 = 0x40000;

/// Socket states of struct socket (SS_*), as /proc/net/unix prints them in `St`.
pub const SS_UNCONNECTED: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocket {
    /// Kernel address of the socket (0 when kptr_restrict hides it).
    pub kernel_addr: u64,
    pub refcnt: u64,
    pub protocol: u64,
    pub flags: u64,
    pub sock_type: u16,
    pub state: u8,
    pub inode: u64,
    /// Bound name: a path, or `@name` for the abstract namespace; `None` when unnamed.
    pub path: Option<Vec<u8>>,
}

impl UnixSocket {
    pub fn is_listening(&self) -> bool {
        self.state == SS_UNCONNECTED && self.flags & SO_ACCEPTCON != 0
    }
}

fn next_field<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let tail = &rest[start..];
    let end = tail
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(tail.len());
    *rest = &tail[end..];
    Some(&tail[..end])
}

pub fn parse_line(line: &[u8]) -> Result<UnixSocket, &'static str> {
    let mut rest = line;
    let num = next_field(&mut rest).ok_or("empty line")?;
    let kernel_addr = num
        .strip_suffix(b":")
        .and_then(hex_u64)
        .ok_or("bad socket address")?;
    let mut hex = || next_field(&mut rest).and_then(hex_u64);
    let refcnt = hex().ok_or("bad RefCount")?;
    let protocol = hex().ok_or("bad Protocol")?;
    let flags = hex().ok_or("bad Flags")?;
    let sock_type = hex().filter(|&t| t <= 0xffff).ok_or("bad Type")? as u16;
    let state = hex().filter(|&s| s <= 0xff).ok_or("bad St")? as u8;
    let inode = next_field(&mut rest).and_then(dec_u64).ok_or("bad Inode")?;
    // The kernel writes one space and then the name verbatim.
    let path = match rest.split_first() {
        Some((b' ', name)) if !name.is_empty() => Some(name.to_vec()),
        _ => None,
    };
    Ok(UnixSocket {
        kernel_addr,
        refcnt,
        protocol,
        flags,
        sock_type,
        state,
        inode,
        path,
    })
}

/// Joins the lines of the table into records. A line that is not a record right after
/// a named socket is the rest of that socket's name (the kernel prints a newline in a
/// path raw), so a record is complete only when the next record (or the end) is seen.
struct Assembler {
    pending: Option<UnixSocket>,
    continues_path: bool,
}

impl Assembler {
    fn new() -> Self {
        Assembler {
            pending: None,
            continues_path: false,
        }
    }

    /// Feeds one line after the header; returns the record the line completed, if any,
    /// or the reason the line is bad.
    fn line(&mut self, line: &[u8]) -> Result<Option<UnixSocket>, &'static str> {
        match parse_line(line) {
            Ok(sock) => {
                self.continues_path = sock.path.is_some();
                Ok(self.pending.replace(sock))
            }
            Err(why) => {
                if self.continues_path && !looks_like_record(line) {
                    if let Some(path) = self.pending.as_mut().and_then(|s| s.path.as_mut()) {
                        path.push(b'\n');
                        path.extend_from_slice(line);
                        return Ok(None);
                    }
                }
                self.continues_path = false;
                Err(why)
            }
        }
    }

    fn finish(self) -> Option<UnixSocket> {
        self.pending
    }
}

fn warning(file: &str, line: usize, why: &str) -> ParseWarning {
    ParseWarning {
        file: file.to_string(),
        line,
        message: why.to_string(),
    }
}

/// Parses the whole table (header line first).
pub fn parse_table(data: &[u8], name: &str) -> Table<UnixSocket> {
    let mut table: Table<UnixSocket> = Table::default();
    let mut records = Assembler::new();
    for (number, line) in numbered_lines(data).skip(1) {
        match records.line(line) {
            Ok(done) => table.rows.extend(done),
            Err(why) => table.warnings.push(warning(name, number, why)),
        }
    }
    table.rows.extend(records.finish());
    table
}

/// A record starts with the kernel address: hex digits and a colon.
fn looks_like_record(line: &[u8]) -> bool {
    let mut rest = line;
    next_field(&mut rest)
        .and_then(|f| f.strip_suffix(b":"))
        .is_some_and(|hex| hex_u64(hex).is_some())
}

/// Streams `<root>/<net_dir>/unix` record by record through one small buffer (see
/// [`crate::proc::inet::for_each_socket`]).
pub fn for_each_socket<E: From<std::io::Error>>(
    root: &ProcRoot,
    net_dir: &str,
    mut on_row: impl FnMut(UnixSocket) -> Result<(), E>,
    mut on_warning: impl FnMut(ParseWarning),
) -> Result<(), E> {
    let rel = format!("{net_dir}/unix");
    let file = root.open(&rel)?;
    let mut records = Assembler::new();
    for_each_line_read_ahead(file, |number, line| {
        if number == 1 {
            return Ok(());
        }
        match records.line(line) {
            Ok(Some(done)) => on_row(done),
            Ok(None) => Ok(()),
            Err(why) => {
                on_warning(warning(&root.join(&rel).display().to_string(), number, why));
                Ok(())
            }
        }
    })?;
    match records.finish() {
        Some(last) => on_row(last),
        None => Ok(()),
    }
}

pub fn read_table(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<UnixSocket>> {
    let mut table = Table::default();
    for_each_socket::<std::io::Error>(
        root,
        net_dir,
        |sock| {
            table.rows.push(sock);
            Ok(())
        },
        |w| table.warnings.push(w),
    )?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n";

    #[test]
    fn named_unnamed_abstract_and_spaces() {
        let data = format!(
            "{HDR}0000000000000000: 00000002 00000000 00010000 0001 01 190379 /tmp/a b.sock\n\
             0000000000000000: 00000003 00000000 00000000 0001 03 190381\n\
             0000000000000000: 00000002 00000000 00010000 0005 01 190384 @abs@name\n"
        );
        let t = parse_table(data.as_bytes(), "unix");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].path.as_deref(), Some(&b"/tmp/a b.sock"[..]));
        assert!(t.rows[0].is_listening());
        assert_eq!(t.rows[1].path, None);
        assert_eq!(t.rows[1].state, 3);
        assert_eq!(t.rows[2].sock_type, 5);
    }

    #[test]
    fn newline_in_path_joins_the_next_line() {
        let mut bytes = HDR.as_bytes().to_vec();
        bytes.extend_from_slice(
            b"0000000000000000: 00000002 00000000 00010000 0001 01 7 /tmp/new\nline\xff\n\
              0000000000000000: 00000002 00000000 00000000 0002 07 8\n",
        );
        let t = parse_table(&bytes, "unix");
        assert!(t.warnings.is_empty());
        assert_eq!(t.rows[0].path.as_deref(), Some(&b"/tmp/new\nline\xff"[..]));
        assert_eq!(t.rows[1].inode, 8);
    }

    #[test]
    fn garbage_is_reported_with_its_line() {
        let data = format!("{HDR}garbage here\n0000: 1 0 0 1 1\n");
        let t = parse_table(data.as_bytes(), "unix");
        assert!(t.rows.is_empty());
        assert_eq!(t.warnings.len(), 2);
        assert_eq!(t.warnings[1].line, 3);
    }
}
