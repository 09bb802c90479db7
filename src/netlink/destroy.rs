//! Closing sockets and watching them close, as `ss -K` and `ss -E` do: SOCK_DESTROY
//! requests (the kernel needs CONFIG_INET_DIAG_DESTROY and CAP_NET_ADMIN) and the
//! sock_diag multicast groups the kernel reports destroyed TCP/UDP sockets to.

use super::{
    netlink_socket, read_i32, recv, DiagSocket, Messages, SockProtocol, NLMSG_ERROR, NLM_F_REQUEST,
    SOCK_DIAG_BY_FAMILY,
};
use nix::sys::socket::{bind, NetlinkAddr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// SOCK_DESTROY (linux/sock_diag.h).
pub const SOCK_DESTROY: u16 = 21;

/// Multicast groups (SKNLGRP_*) as bits of sockaddr_nl.nl_groups: 1 << (group - 1).
pub mod groups {
    pub const INET_TCP_DESTROY: u32 = 1 << 0;
    pub const INET_UDP_DESTROY: u32 = 1 << 1;
    pub const INET6_TCP_DESTROY: u32 = 1 << 2;
    pub const INET6_UDP_DESTROY: u32 = 1 << 3;
}

/// struct inet_diag_req_v2 for SOCK_DESTROY of the socket an inet_diag_msg (`msg`)
/// describes, as ss's kill_inet_sock builds it: the reply's family and id, the
/// request's protocol (a u8: MPTCP's 262 is cut as ss cuts it) and, for raw sockets,
/// the socket's own protocol in sdiag_raw_protocol.
pub fn inet_request(msg: &[u8], protocol: u32, raw_protocol: u8) -> Option<[u8; 56]> {
    let mut req = [0u8; 56];
    req[0] = *msg.first()?;
    req[1] = protocol as u8;
    if protocol == libc::IPPROTO_RAW as u32 {
        req[3] = raw_protocol;
    }
    req[8..56].copy_from_slice(msg.get(4..52)?);
    Some(req)
}

const NLM_F_ACK: u16 = 4;

impl DiagSocket {
    /// Sends one request of type `kind` asking for an acknowledgement: Ok when the
    /// kernel answers 0, its error otherwise.
    pub fn request_ack(&self, kind: u16, request: &[u8]) -> io::Result<()> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_ACK, request)?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = recv(&self.fd, &mut buf)?;
            for m in Messages::new(&buf[..n]) {
                let Some(m) = m else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "malformed netlink acknowledgement",
                    ));
                };
                if m.seq != seq || m.kind != NLMSG_ERROR {
                    continue;
                }
                return match read_i32(m.payload, 0) {
                    Some(0) => Ok(()),
                    Some(code) => Err(io::Error::from_raw_os_error(code.saturating_neg())),
                    None => Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "short netlink acknowledgement",
                    )),
                };
            }
        }
    }
}

/// A NETLINK_SOCK_DIAG socket subscribed to destroy groups (bits of [`groups`]).
pub struct EventSocket {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl AsFd for EventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl EventSocket {
    pub fn open(groups: u32) -> io::Result<EventSocket> {
        let fd = netlink_socket(SockProtocol::NetlinkSockDiag)?;
        // rtnl_open_byproto()'s 1 MiB: as many events queue before a loss as for ss.
        nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::RcvBuf, &(1 << 20))?;
        // Port 0: the kernel picks ours.
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        Ok(EventSocket {
            fd,
            buf: vec![0u8; 64 * 1024],
        })
    }

    /// Waits for the next datagram and calls `f` with the inet_diag_msg payload of
    /// each socket it reports. Returns how many malformed messages were skipped.
    pub fn next(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let n = recv(&self.fd, &mut self.buf)?;
        let mut malformed = 0;
        for m in Messages::new(&self.buf[..n]) {
            match m {
                Some(m) if m.kind == SOCK_DIAG_BY_FAMILY => f(m.payload),
                Some(_) => {}
                None => malformed += 1,
            }
        }
        Ok(malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A destroy request for a socket that does not exist: ENOENT (or, without the
    /// kernel option or privilege, EOPNOTSUPP / EPERM), never a hang or a panic.
    #[test]
    fn destroying_a_missing_socket_is_refused() {
        let sock = DiagSocket::open().unwrap();
        let mut req = [0u8; 56];
        req[0] = libc::AF_INET as u8;
        req[1] = libc::IPPROTO_TCP as u8;
        req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        let err = sock.request_ack(SOCK_DESTROY, &req).unwrap_err();
        let code = err.raw_os_error().unwrap();
        assert!(
            [libc::ENOENT, libc::EOPNOTSUPP, libc::EPERM].contains(&code),
            "{err}"
        );
    }
}
