//! unix_diag dumps: every AF_UNIX socket of a namespace with its bound name, its
//! peer, and for a listener the clients waiting in its accept queue (the audit's
//! cross-view and lsof's `+E`/`-E` both read this).

use super::{attributes, read_u32, DiagSocket};
use crate::proc::{ParseWarning, Table};
use crate::snapshot::InodeMap;
use std::io;

const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UDIAG_SHOW_ICONS: u32 = 0x08;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
const UNIX_DIAG_RQLEN: u16 = 4;
/// udiag_show bits ss sets: RQLEN always, MEMINFO with -m, VFS and ICONS with -e.
pub const UDIAG_SHOW_NAME_PEER: u32 = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
pub const UDIAG_SHOW_VFS: u32 = 0x02;
pub const UDIAG_SHOW_ICONS_BIT: u32 = UDIAG_SHOW_ICONS;
pub const UDIAG_SHOW_RQLEN: u32 = 0x10;
pub const UDIAG_SHOW_MEMINFO: u32 = 0x20;
/// sizeof(struct unix_diag_msg).
const MSG_LEN: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagUnixSocket {
    pub sock_type: u8,
    /// TCP-style state numbers (TCP_LISTEN = 10, TCP_ESTABLISHED = 1, TCP_CLOSE = 7).
    pub state: u8,
    pub inode: u64,
    /// Bound name as the kernel stores it: a path, or a leading NUL for abstract names.
    pub name: Option<Vec<u8>>,
    pub peer: Option<u64>,
    /// For a listener: inodes of the connections waiting to be accepted.
    pub incoming: Vec<u64>,
    /// UNIX_DIAG_RQLEN: receive and send queue (a listener: backlog and its limit).
    pub rqueue: u32,
    pub wqueue: u32,
    /// The whole reply (unix_diag_msg and attributes), kept when a detail view asks.
    pub raw: Option<Box<[u8]>>,
}

/// struct unix_diag_req for every state, with names, peers and accept queues.
pub fn request() -> [u8; 24] {
    let mut req = [0u8; 24];
    req[0] = libc::AF_UNIX as u8;
    req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
    let show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS;
    req[12..16].copy_from_slice(&show.to_ne_bytes());
    // udiag_cookie: none
    req[16..24].copy_from_slice(&[0xff; 8]);
    req
}

pub fn parse_message(data: &[u8]) -> Result<DiagUnixSocket, &'static str> {
    let head = data.get(..MSG_LEN).ok_or("short unix_diag_msg")?;
    if head[0] as i32 != libc::AF_UNIX {
        return Err("not an AF_UNIX reply");
    }
    let mut sock = DiagUnixSocket {
        sock_type: head[1],
        state: head[2],
        inode: read_u32(head, 4).unwrap_or(0) as u64,
        ..DiagUnixSocket::default()
    };
    for (kind, value) in attributes(data.get(MSG_LEN..).unwrap_or_default()) {
        match kind {
            UNIX_DIAG_NAME => {
                // A path ends at its NUL; an abstract name starts with one and is
                // taken whole.
                let name = match value.first() {
                    Some(0) => value,
                    _ => value.split(|&b| b == 0).next().unwrap_or_default(),
                };
                sock.name = Some(name.to_vec());
            }
            UNIX_DIAG_PEER => sock.peer = read_u32(value, 0).map(u64::from).filter(|&p| p != 0),
            UNIX_DIAG_ICONS => {
                sock.incoming = value
                    .chunks_exact(4)
                    .filter_map(|c| read_u32(c, 0).map(u64::from))
                    .collect()
            }
            UNIX_DIAG_RQLEN => {
                sock.rqueue = read_u32(value, 0).unwrap_or(0);
                sock.wqueue = read_u32(value, 4).unwrap_or(0);
            }
            _ => {}
        }
    }
    Ok(sock)
}

/// struct unix_diag_req as ss sends it: its state mask and `show` bits.
pub fn ss_request(states: u32, show: u32) -> [u8; 24] {
    let mut req = [0u8; 24];
    req[0] = libc::AF_UNIX as u8;
    req[4..8].copy_from_slice(&states.to_ne_bytes());
    req[12..16].copy_from_slice(&show.to_ne_bytes());
    req
}

/// A dump for ss: rows to `f` as they arrive, the raw reply kept when asked.
pub fn dump_ss(
    sock: &DiagSocket,
    states: u32,
    show: u32,
    keep_raw: bool,
    mut f: impl FnMut(DiagUnixSocket),
) -> io::Result<super::DumpStatus> {
    sock.dump(&ss_request(states, show), |payload| {
        if let Ok(mut s) = parse_message(payload) {
            if keep_raw {
                s.raw = Some(payload.into());
            }
            f(s)
        }
    })
}

/// Dumps the namespace `sock` was opened in; the flag says the dump was interrupted.
pub fn dump_with(sock: &DiagSocket) -> io::Result<(Table<DiagUnixSocket>, bool)> {
    let mut table = Table::default();
    let status = sock.dump(&request(), |payload| match parse_message(payload) {
        Ok(s) => table.rows.push(s),
        Err(why) => table.warnings.push(ParseWarning {
            file: "sock_diag unix".to_string(),
            line: 0,
            message: why.to_string(),
        }),
    })?;
    Ok((table, status.interrupted))
}

/// Every unix socket of the caller's network namespace.
pub fn dump() -> io::Result<Vec<DiagUnixSocket>> {
    Ok(dump_with(&DiagSocket::open()?)?.0.rows)
}

/// inode → peer inode, for sockets that have one.
pub fn peers() -> io::Result<InodeMap<u64>> {
    Ok(dump()?
        .into_iter()
        .filter_map(|s| Some((s.inode, s.peer?)))
        .collect())
}

/// The name as /proc/net/unix prints it: an abstract name's NULs (the leading one
/// included) as `@`.
fn proc_form(name: &[u8]) -> Vec<u8> {
    match name.first() {
        Some(0) => name
            .iter()
            .map(|&b| if b == 0 { b'@' } else { b })
            .collect(),
        _ => name.to_vec(),
    }
}

/// Repairs rows of /proc/net/unix that a bound path holding newlines broke up: the
/// kernel prints the path raw, so a path like `x\n0000...: ... 31337 @FAKE` makes a
/// reader see a socket 31337 that does not exist and a path cut at `x`. sock_diag
/// (`diag`, dumped in the same namespace) has the whole name; each row whose name goes
/// on past a newline gets it back, and the rows made of the rest of its lines are
/// dropped. Returns how many forged rows were dropped. Rows sock_diag does not list
/// (closed in between) are left as they are.
pub fn repair_proc_rows(
    rows: &mut Vec<crate::proc::unix::UnixSocket>,
    diag: &[DiagUnixSocket],
) -> usize {
    let names: crate::snapshot::InodeMap<&[u8]> = diag
        .iter()
        .filter_map(|s| Some((s.inode, s.name.as_deref()?)))
        .filter(|(_, n)| n.contains(&b'\n'))
        .collect();
    if names.is_empty() {
        return 0;
    }
    let newlines = |p: &[u8]| p.iter().filter(|&&b| b == b'\n').count();
    let mut out = Vec::with_capacity(rows.len());
    let mut dropped = 0;
    // Lines of the current row's true name not yet accounted for by rows seen.
    let mut swallow = 0usize;
    for row in rows.drain(..) {
        let row_lines = 1 + row.path.as_deref().map_or(0, newlines);
        if swallow > 0 {
            swallow = swallow.saturating_sub(row_lines);
            dropped += 1;
            continue;
        }
        let mut row = row;
        if let (Some(path), Some(name)) = (row.path.as_ref(), names.get(&row.inode)) {
            let whole = proc_form(name);
            // Only a continuation of what /proc showed: never a different name.
            if whole.len() > path.len()
                && whole.starts_with(path)
                && whole.get(path.len()) == Some(&b'\n')
            {
                swallow = newlines(&whole) - newlines(path);
                row.path = Some(whole);
            }
        }
        out.push(row);
    }
    *rows = out;
    dropped
}

/// [`repair_proc_rows`] with a dump of the calling thread's namespace, made when some
/// row has a name (a forged row looks like any other, so any named row may be followed
/// by one). `Err` when the dump failed: the rows could then not be checked.
pub fn repair_with_dump(rows: &mut Vec<crate::proc::unix::UnixSocket>) -> io::Result<usize> {
    if !rows.iter().any(|r| r.path.is_some()) {
        return Ok(0);
    }
    let diag = dump()?;
    Ok(repair_proc_rows(rows, &diag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn forged_rows_are_dropped_and_the_path_made_whole() {
        let table = crate::proc::unix::parse_table(
            b"Num       RefCount Protocol Flags    Type St Inode Path\n\
              0000000000000000: 00000002 00000000 00010000 0001 01 10 x\n\
              0000000000000000: 00000002 00000000 00010000 0001 01 31337 @FAKE.sock\n\
              0000000000000000: 00000002 00000000 00000000 0001 01 11 /real\n",
            "unix",
        );
        let mut rows = table.rows;
        assert_eq!(rows.len(), 3);
        let diag = vec![
            DiagUnixSocket {
                inode: 10,
                name: Some(
                    b"x\n0000000000000000: 00000002 00000000 00010000 0001 01 31337 @FAKE.sock"
                        .to_vec(),
                ),
                ..Default::default()
            },
            DiagUnixSocket {
                inode: 11,
                name: Some(b"/real".to_vec()),
                ..Default::default()
            },
        ];
        assert_eq!(repair_proc_rows(&mut rows, &diag), 1);
        let inodes: Vec<u64> = rows.iter().map(|r| r.inode).collect();
        assert_eq!(inodes, vec![10, 11]);
        assert_eq!(rows[0].path.as_deref(), diag[0].name.as_deref());
        // A name that is not a continuation of the row's path changes nothing.
        let mut rows = vec![crate::proc::unix::UnixSocket {
            kernel_addr: 0,
            refcnt: 2,
            protocol: 0,
            flags: 0,
            sock_type: 1,
            state: 1,
            inode: 10,
            path: Some(b"y".to_vec()),
        }];
        assert_eq!(repair_proc_rows(&mut rows, &diag), 0);
        assert_eq!(rows[0].path.as_deref(), Some(&b"y"[..]));
    }

    #[test]
    fn parses_name_peer_and_queue() {
        let mut m = vec![libc::AF_UNIX as u8, 1, 10, 0];
        m.extend_from_slice(&77u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[8, 0, 0, 0, b'/', b'x', b'y', 0]);
        m.extend_from_slice(&[8, 0, 2, 0]);
        m.extend_from_slice(&78u32.to_ne_bytes());
        m.extend_from_slice(&[12, 0, 3, 0]);
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&8u32.to_ne_bytes());
        let s = parse_message(&m).unwrap();
        assert_eq!(s.inode, 77);
        assert_eq!(s.name.as_deref(), Some(&b"/xy"[..]));
        assert_eq!(s.peer, Some(78));
        assert_eq!(s.incoming, vec![7, 8]);
        assert!(parse_message(&m[..10]).is_err());
        // A truncated attribute is ignored, not a panic.
        assert_eq!(parse_message(&m[..22]).unwrap().peer, None);
    }

    #[test]
    fn sees_a_socketpair_with_its_peer() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let ino = |s: &std::os::unix::net::UnixStream| {
            use std::os::fd::AsRawFd;
            std::fs::metadata(format!("/proc/self/fd/{}", s.as_raw_fd()))
                .unwrap()
                .ino()
        };
        let (ia, ib) = (ino(&a), ino(&b));
        let found = dump().unwrap().into_iter().find(|s| s.inode == ia);
        assert_eq!(found.expect("listed").peer, Some(ib));
        assert_eq!(peers().unwrap().get(&ia), Some(&ib));
    }
}
