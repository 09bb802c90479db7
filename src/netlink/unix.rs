//! unix_diag dumps: every AF_UNIX socket of the namespace with its bound name and
//! peer inode.

use super::{attributes, read_u32, DiagSocket};
use crate::proc::{ParseWarning, Table};
use std::io;

const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
/// sizeof(struct unix_diag_msg).
const MSG_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagUnixSocket {
    pub sock_type: u8,
    /// TCP-style state numbers (TCP_LISTEN = 10, TCP_ESTABLISHED = 1, TCP_CLOSE = 7).
    pub state: u8,
    pub inode: u64,
    /// Bound name as the kernel stores it: a path, or a leading NUL for abstract names.
    pub name: Option<Vec<u8>>,
    pub peer: Option<u64>,
}

/// struct unix_diag_req for every state, with names and peers.
pub fn request() -> [u8; 24] {
    let mut req = [0u8; 24];
    req[0] = libc::AF_UNIX as u8;
    req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
    req[12..16].copy_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER).to_ne_bytes());
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
        name: None,
        peer: None,
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
            UNIX_DIAG_PEER => sock.peer = read_u32(value, 0).map(u64::from),
            _ => {}
        }
    }
    Ok(sock)
}

/// Dumps the namespace `sock` was opened in; the flag says the dump was interrupted.
pub fn dump(sock: &mut DiagSocket) -> io::Result<(Table<DiagUnixSocket>, bool)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn parses_name_and_peer() {
        let mut m = vec![libc::AF_UNIX as u8, 1, 10, 0];
        m.extend_from_slice(&77u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[8, 0, 0, 0, b'/', b'x', b'y', 0]);
        m.extend_from_slice(&[8, 0, 2, 0]);
        m.extend_from_slice(&78u32.to_ne_bytes());
        let s = parse_message(&m).unwrap();
        assert_eq!(s.inode, 77);
        assert_eq!(s.name.as_deref(), Some(&b"/xy"[..]));
        assert_eq!(s.peer, Some(78));
        assert!(parse_message(&m[..10]).is_err());
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
        let mut sock = DiagSocket::open().unwrap();
        let (table, _) = dump(&mut sock).unwrap();
        let found = table.rows.iter().find(|s| s.inode == ia).expect("listed");
        assert_eq!(found.peer, Some(ib));
    }
}
