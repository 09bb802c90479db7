//! The unix socket dump (UNIX_DIAG_PEER): inode → peer inode, for lsof's `+E`/`-E`.

use super::{for_each_attr, DiagSocket};
use crate::snapshot::InodeMap;
use std::io;

const UDIAG_SHOW_PEER: u32 = 0x4;
const UDIAG_SHOW_ICONS: u32 = 0x8;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
const UNIX_DIAG_MSG_LEN: usize = 16;

/// The request: unix_diag_req for every state, asking for peers.
fn request() -> Vec<u8> {
    let mut r = Vec::with_capacity(24);
    r.push(libc::AF_UNIX as u8); // sdiag_family
    r.push(0); // sdiag_protocol
    r.extend_from_slice(&0u16.to_ne_bytes()); // pad
    r.extend_from_slice(&u32::MAX.to_ne_bytes()); // udiag_states: all
    r.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino
    r.extend_from_slice(&(UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS).to_ne_bytes());
    r.extend_from_slice(&[0xff; 8]); // udiag_cookie: none
    r
}

/// One unix socket's links: its peer, and for a listener the inodes of the
/// clients waiting in its accept queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnixLinks {
    pub inode: u64,
    pub peer: Option<u64>,
    pub incoming: Vec<u64>,
}

fn word(b: &[u8]) -> Option<u64> {
    Some(u32::from_ne_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]) as u64)
}

/// Parses one unix_diag_msg answer.
pub fn parse_answer(msg: &[u8]) -> Option<UnixLinks> {
    let mut links = UnixLinks {
        inode: word(msg.get(4..8)?)?,
        ..UnixLinks::default()
    };
    for_each_attr(msg.get(UNIX_DIAG_MSG_LEN..)?, |ty, value| match ty {
        UNIX_DIAG_PEER => links.peer = word(value).filter(|&p| p != 0),
        UNIX_DIAG_ICONS => links.incoming = value.chunks_exact(4).filter_map(word).collect(),
        _ => {}
    });
    Some(links)
}

/// Every unix socket of our network namespace, with its links.
pub fn dump() -> io::Result<Vec<UnixLinks>> {
    let sock = DiagSocket::open()?;
    let mut out = Vec::new();
    sock.dump(&request(), |msg| {
        if let Some(links) = parse_answer(msg) {
            out.push(links);
        }
    })?;
    Ok(out)
}

/// inode → peer inode, for sockets that have one.
pub fn peers() -> io::Result<InodeMap<u64>> {
    Ok(dump()?
        .into_iter()
        .filter_map(|l| Some((l.inode, l.peer?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_with_and_without_peer() {
        let mut msg = vec![1u8, 1, 1, 0];
        msg.extend_from_slice(&42u32.to_ne_bytes());
        msg.extend_from_slice(&[0; 8]);
        assert_eq!(parse_answer(&msg).unwrap().peer, None);
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&UNIX_DIAG_PEER.to_ne_bytes());
        msg.extend_from_slice(&43u32.to_ne_bytes());
        msg.extend_from_slice(&12u16.to_ne_bytes());
        msg.extend_from_slice(&UNIX_DIAG_ICONS.to_ne_bytes());
        msg.extend_from_slice(&7u32.to_ne_bytes());
        msg.extend_from_slice(&8u32.to_ne_bytes());
        let l = parse_answer(&msg).unwrap();
        assert_eq!((l.inode, l.peer, l.incoming), (42, Some(43), vec![7, 8]));
        assert_eq!(parse_answer(&msg[..3]), None);
        // A truncated attribute is ignored, not a panic.
        assert_eq!(parse_answer(&msg[..22]).unwrap().peer, None);
    }

    #[test]
    fn socketpair_peers_are_found() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::unix::fs::MetadataExt;
        let ino = |s: &std::os::unix::net::UnixStream| {
            use std::os::fd::AsRawFd;
            std::fs::metadata(format!("/proc/self/fd/{}", s.as_raw_fd()))
                .unwrap()
                .ino()
        };
        let peers = peers().unwrap();
        assert_eq!(peers.get(&ino(&a)), Some(&ino(&b)));
    }
}
