//! The unix socket dump (UNIX_DIAG_PEER): inode → peer inode, for lsof's `+E`/`-E`.

use super::{for_each_attr, DiagSocket};
use crate::snapshot::InodeMap;
use std::io;

const UDIAG_SHOW_PEER: u32 = 0x4;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_MSG_LEN: usize = 16;

/// The request: unix_diag_req for every state, asking for peers.
fn request() -> Vec<u8> {
    let mut r = Vec::with_capacity(24);
    r.push(libc::AF_UNIX as u8); // sdiag_family
    r.push(0); // sdiag_protocol
    r.extend_from_slice(&0u16.to_ne_bytes()); // pad
    r.extend_from_slice(&u32::MAX.to_ne_bytes()); // udiag_states: all
    r.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino
    r.extend_from_slice(&UDIAG_SHOW_PEER.to_ne_bytes());
    r.extend_from_slice(&[0xff; 8]); // udiag_cookie: none
    r
}

/// Parses one unix_diag_msg answer into (inode, peer inode).
pub fn parse_answer(msg: &[u8]) -> Option<(u64, u64)> {
    let ino = msg.get(4..8)?;
    let ino = u32::from_ne_bytes([ino[0], ino[1], ino[2], ino[3]]) as u64;
    let mut peer = None;
    for_each_attr(msg.get(UNIX_DIAG_MSG_LEN..)?, |ty, value| {
        if ty == UNIX_DIAG_PEER && value.len() >= 4 {
            peer = Some(u32::from_ne_bytes([value[0], value[1], value[2], value[3]]) as u64);
        }
    });
    Some((ino, peer?))
}

/// Every unix socket of our network namespace that has a peer.
pub fn peers() -> io::Result<InodeMap<u64>> {
    let sock = DiagSocket::open()?;
    let mut out = InodeMap::default();
    sock.dump(&request(), |msg| {
        if let Some((ino, peer)) = parse_answer(msg) {
            if peer != 0 {
                out.insert(ino, peer);
            }
        }
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_with_and_without_peer() {
        let mut msg = vec![1u8, 1, 1, 0];
        msg.extend_from_slice(&42u32.to_ne_bytes());
        msg.extend_from_slice(&[0; 8]);
        assert_eq!(parse_answer(&msg), None);
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&UNIX_DIAG_PEER.to_ne_bytes());
        msg.extend_from_slice(&43u32.to_ne_bytes());
        assert_eq!(parse_answer(&msg), Some((42, 43)));
        assert_eq!(parse_answer(&msg[..3]), None);
        // A truncated attribute is ignored, not a panic.
        assert_eq!(parse_answer(&msg[..22]), None);
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
