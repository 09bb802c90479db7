//! packet_diag dumps (AF_PACKET sockets), as `ss -0` reads them.

use super::{attributes, read_u16, read_u32, DiagSocket, DumpStatus};
use std::io;

const PACKET_SHOW_INFO: u32 = 0x01;
const PACKET_SHOW_RING_CFG: u32 = 0x04;
const PACKET_SHOW_FANOUT: u32 = 0x08;
const PACKET_SHOW_MEMINFO: u32 = 0x10;
const PACKET_SHOW_FILTER: u32 = 0x20;
/// The show bits ss always sends.
pub const SS_SHOW: u32 = PACKET_SHOW_INFO
    | PACKET_SHOW_MEMINFO
    | PACKET_SHOW_FILTER
    | PACKET_SHOW_RING_CFG
    | PACKET_SHOW_FANOUT;

const PACKET_DIAG_INFO: u16 = 0;
const PACKET_DIAG_UID: u16 = 5;
const PACKET_DIAG_MEMINFO: u16 = 6;
/// sizeof(struct packet_diag_msg).
const MSG_LEN: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagPacketSocket {
    /// SOCK_RAW or SOCK_DGRAM.
    pub sock_type: u8,
    /// The ethertype in host order (ETH_P_ALL = 3).
    pub protocol: u16,
    pub inode: u64,
    pub cookie: u64,
    /// Bound interface index (PACKET_DIAG_INFO), 0 for none.
    pub iface: u32,
    pub uid: u32,
    /// SK_MEMINFO_RMEM_ALLOC: what ss prints as Recv-Q. `None` without MEMINFO, where
    /// ss stops trusting the dump.
    pub rmem_alloc: Option<u32>,
    /// The whole reply, kept when a detail view asks.
    pub raw: Option<Box<[u8]>>,
    /// Read from /proc/net/packet (ss's `-e` prints uid, ino and `sk:0` then).
    pub from_proc: bool,
}

/// struct packet_diag_req with ss's show bits.
pub fn request(show: u32) -> [u8; 20] {
    let mut req = [0u8; 20];
    req[0] = libc::AF_PACKET as u8;
    req[8..12].copy_from_slice(&show.to_ne_bytes());
    req
}

pub fn parse_message(data: &[u8]) -> Result<DiagPacketSocket, &'static str> {
    let head = data.get(..MSG_LEN).ok_or("short packet_diag_msg")?;
    if head[0] as i32 != libc::AF_PACKET {
        return Err("not an AF_PACKET reply");
    }
    let mut s = DiagPacketSocket {
        sock_type: head[1],
        protocol: read_u16(head, 2).unwrap_or(0),
        inode: read_u32(head, 4).unwrap_or(0) as u64,
        cookie: (read_u32(head, 12).unwrap_or(0) as u64) << 32
            | read_u32(head, 8).unwrap_or(0) as u64,
        ..DiagPacketSocket::default()
    };
    for (kind, value) in attributes(data.get(MSG_LEN..).unwrap_or_default()) {
        match kind {
            PACKET_DIAG_INFO => s.iface = read_u32(value, 0).unwrap_or(0),
            PACKET_DIAG_UID => s.uid = read_u32(value, 0).unwrap_or(0),
            PACKET_DIAG_MEMINFO => s.rmem_alloc = Some(read_u32(value, 0).unwrap_or(0)),
            _ => {}
        }
    }
    Ok(s)
}

/// Dumps the packet sockets of the namespace `sock` was opened in.
pub fn dump(
    sock: &DiagSocket,
    keep_raw: bool,
    mut f: impl FnMut(DiagPacketSocket),
) -> io::Result<DumpStatus> {
    sock.dump(&request(SS_SHOW), |payload| {
        if let Ok(mut s) = parse_message(payload) {
            if keep_raw {
                s.raw = Some(payload.into());
            }
            f(s)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_protocol_iface_and_queue() {
        let mut m = vec![libc::AF_PACKET as u8, 3];
        m.extend_from_slice(&0x0800u16.to_ne_bytes());
        m.extend_from_slice(&99u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[28, 0, 0, 0]);
        m.extend_from_slice(&2u32.to_ne_bytes());
        m.extend_from_slice(&[0; 20]);
        m.extend_from_slice(&[12, 0, 6, 0]);
        m.extend_from_slice(&768u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        let s = parse_message(&m).unwrap();
        assert_eq!((s.sock_type, s.protocol, s.inode), (3, 0x0800, 99));
        assert_eq!((s.iface, s.rmem_alloc), (2, Some(768)));
        assert!(parse_message(&m[..8]).is_err());
        assert_eq!(parse_message(&m[..20]).unwrap().iface, 0);
    }
}
