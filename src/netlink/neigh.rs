//! IPv6 neighbours (NETLINK_ROUTE, RTM_GETNEIGH): there is no /proc file for them.
//! The reply records are untrusted bytes: short or odd ones are skipped.

use super::{attributes, read_u16, DiagSocket};
use std::io;
use std::net::Ipv6Addr;

const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
/// struct ndmsg: family, pad, pad, ifindex, state, flags, type.
const NDMSG_LEN: usize = 12;

/// Neighbour states (NUD_*) that carry no usable link-layer address.
pub const NUD_INCOMPLETE: u16 = 0x01;
pub const NUD_FAILED: u16 = 0x20;
pub const NUD_NOARP: u16 = 0x40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour6 {
    pub ifindex: i32,
    pub address: Ipv6Addr,
    pub lladdr: Vec<u8>,
    pub state: u16,
}

/// Parses one RTM_NEWNEIGH payload (ndmsg + attributes); None for other families
/// or records without a destination.
pub fn parse(payload: &[u8]) -> Option<Neighbour6> {
    if payload.len() < NDMSG_LEN || payload[0] != libc::AF_INET6 as u8 {
        return None;
    }
    let ifindex = i32::from_ne_bytes(payload.get(4..8)?.try_into().ok()?);
    let state = read_u16(payload, 8)?;
    let mut address = None;
    let mut lladdr = Vec::new();
    for (kind, value) in attributes(payload.get(NDMSG_LEN..)?) {
        match kind {
            NDA_DST => {
                address = <[u8; 16]>::try_from(value).ok().map(Ipv6Addr::from);
            }
            NDA_LLADDR => lladdr = value.iter().take(32).copied().collect(),
            _ => {}
        }
    }
    Some(Neighbour6 {
        ifindex,
        address: address?,
        lladdr,
        state,
    })
}

/// The IPv6 neighbour table of the calling thread's network namespace.
pub fn read_neighbours6() -> io::Result<Vec<Neighbour6>> {
    let sock = DiagSocket::open_protocol(super::SockProtocol::NetlinkRoute)?;
    let mut req = [0u8; NDMSG_LEN];
    req[0] = libc::AF_INET6 as u8;
    let mut out = Vec::new();
    sock.dump_replies(RTM_GETNEIGH, RTM_NEWNEIGH, &req, |p| {
        out.extend(parse(p));
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_record_and_survives_garbage() {
        let mut p = vec![10u8, 0, 0, 0];
        p.extend_from_slice(&3i32.to_ne_bytes());
        p.extend_from_slice(&0x80u16.to_ne_bytes());
        p.extend_from_slice(&[0, 1]);
        p.extend_from_slice(&20u16.to_ne_bytes());
        p.extend_from_slice(&NDA_DST.to_ne_bytes());
        p.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&10u16.to_ne_bytes());
        p.extend_from_slice(&NDA_LLADDR.to_ne_bytes());
        p.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
        let n = parse(&p).unwrap();
        assert_eq!(n.ifindex, 3);
        assert_eq!(n.state, 0x80);
        assert_eq!(n.address, "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(n.lladdr, vec![2, 0, 0, 0, 0, 1]);
        for cut in 0..p.len() {
            let _ = parse(&p[..cut]);
        }
        // The live table can be read (in whatever namespace the test runs).
        read_neighbours6().unwrap();
    }
}
