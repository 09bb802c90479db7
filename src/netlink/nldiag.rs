//! netlink_diag dumps (AF_NETLINK sockets), as `ss -A netlink` reads them.

use super::{attributes, read_u32, DiagSocket, DumpStatus};
use std::io;

const NDIAG_SHOW_MEMINFO: u32 = 0x1;
const NDIAG_SHOW_GROUPS: u32 = 0x2;
const NDIAG_PROTO_ALL: u8 = 255;
const NETLINK_DIAG_MEMINFO: u16 = 0;
/// sizeof(struct netlink_diag_msg).
const MSG_LEN: usize = 28;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagNetlinkSocket {
    pub protocol: u8,
    /// NETLINK_CONNECTED (1) or unconnected (0).
    pub state: u8,
    /// The port id: 0 for the kernel, a pid, or a negative number the kernel chose.
    pub portid: u32,
    pub dst_portid: u32,
    pub dst_group: u32,
    pub inode: u64,
    /// SK_MEMINFO_RMEM_ALLOC and WMEM_ALLOC: ss's Recv-Q and Send-Q.
    pub rmem_alloc: u32,
    pub wmem_alloc: u32,
    /// The whole reply, kept when a detail view asks.
    pub raw: Option<Box<[u8]>>,
    /// Read from /proc/net/netlink: what the file has and sock_diag lacks.
    pub file_ids: Option<NetlinkFileIds>,
}

/// The `sk`, Dump (ss's `cb`) and Groups columns of /proc/net/netlink, which ss's
/// `-e` prints for the file's rows (sock_diag rows show `sk=0 cb=0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetlinkFileIds {
    pub sk: u64,
    pub cb: u64,
    pub groups: u32,
}

/// struct netlink_diag_req: every protocol, groups and memory as ss asks.
pub fn request() -> [u8; 20] {
    let mut req = [0u8; 20];
    req[0] = libc::AF_NETLINK as u8;
    req[1] = NDIAG_PROTO_ALL;
    req[8..12].copy_from_slice(&(NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO).to_ne_bytes());
    req
}

pub fn parse_message(data: &[u8]) -> Result<DiagNetlinkSocket, &'static str> {
    let head = data.get(..MSG_LEN).ok_or("short netlink_diag_msg")?;
    if head[0] as i32 != libc::AF_NETLINK {
        return Err("not an AF_NETLINK reply");
    }
    let mut s = DiagNetlinkSocket {
        protocol: head[2],
        state: head[3],
        portid: read_u32(head, 4).unwrap_or(0),
        dst_portid: read_u32(head, 8).unwrap_or(0),
        dst_group: read_u32(head, 12).unwrap_or(0),
        inode: read_u32(head, 16).unwrap_or(0) as u64,
        ..DiagNetlinkSocket::default()
    };
    for (kind, value) in attributes(data.get(MSG_LEN..).unwrap_or_default()) {
        if kind == NETLINK_DIAG_MEMINFO {
            s.rmem_alloc = read_u32(value, 0).unwrap_or(0);
            s.wmem_alloc = read_u32(value, 8).unwrap_or(0);
        }
    }
    Ok(s)
}

/// Dumps the netlink sockets of the namespace `sock` was opened in.
pub fn dump(
    sock: &DiagSocket,
    keep_raw: bool,
    mut f: impl FnMut(DiagNetlinkSocket),
) -> io::Result<DumpStatus> {
    sock.dump(&request(), |payload| {
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
    fn parses_ports_and_queues() {
        let mut m = vec![libc::AF_NETLINK as u8, 3, 4, 0];
        m.extend_from_slice(&1234u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&77u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[20, 0, 0, 0]);
        for v in [832u32, 0, 16] {
            m.extend_from_slice(&v.to_ne_bytes());
        }
        m.extend_from_slice(&[0; 4]);
        let s = parse_message(&m).unwrap();
        assert_eq!((s.protocol, s.portid, s.inode), (4, 1234, 77));
        assert_eq!((s.rmem_alloc, s.wmem_alloc), (832, 16));
        assert!(parse_message(&m[..10]).is_err());
    }
}
