//! NETLINK_SOCK_DIAG: the kernel's second view of the socket tables (what `ss` reads).
//! This module only opens the socket, sends a dump request and walks the replies;
//! the per-family request and record layouts live in `inet` and `unix`.

pub mod destroy;
pub mod inet;
pub mod neigh;
pub mod nldiag;
pub mod packet;
pub mod ss_attrs;
pub mod unix;

use nix::errno::Errno;
pub use nix::sys::socket::SockProtocol;
use nix::sys::socket::{
    self, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockType,
};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// SOCK_DIAG_BY_FAMILY, the request and reply type of every sock_diag dump.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
/// Set on a dump reply when the table changed while it was dumped.
const NLM_F_DUMP_INTR: u16 = 0x10;

/// A NETLINK_SOCK_DIAG socket. Opened in the caller's (thread's) network namespace,
/// which is the namespace every dump through it describes.
pub struct DiagSocket {
    fd: OwnedFd,
    seq: std::cell::Cell<u32>,
}

/// Result of one dump: how many replies were passed on and whether the kernel said
/// the table changed underneath (the caller may want to look again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpStatus {
    pub messages: usize,
    pub interrupted: bool,
    /// Replies too short to hold their own header, skipped.
    pub malformed: usize,
    /// The (negative) errno an NLMSG_DONE carried: the dump ended early (ENOENT when
    /// no diag module serves the protocol). 0 for a complete dump.
    pub done_error: i32,
}

impl DiagSocket {
    pub fn open() -> io::Result<DiagSocket> {
        Self::open_protocol(SockProtocol::NetlinkSockDiag)
    }

    /// A netlink socket of another protocol (NETLINK_ROUTE for neighbours), with
    /// the same dump walk.
    pub fn open_protocol(protocol: SockProtocol) -> io::Result<DiagSocket> {
        Ok(DiagSocket {
            fd: netlink_socket(protocol)?,
            seq: std::cell::Cell::new(0),
        })
    }

    /// Sends `request` (the family's request struct) as a dump and calls `f` with the
    /// payload of every reply until the kernel says done.
    pub fn dump(&self, request: &[u8], f: impl FnMut(&[u8])) -> io::Result<DumpStatus> {
        self.dump_as(SOCK_DIAG_BY_FAMILY, request, f)
    }

    /// [`Self::dump`] with another request type (`kind`), whose replies carry that type.
    pub fn dump_as(
        &self,
        kind: u16,
        request: &[u8],
        f: impl FnMut(&[u8]),
    ) -> io::Result<DumpStatus> {
        self.dump_replies(kind, kind, request, f)
    }

    /// Sends one request of type `kind` with `flags` to the kernel; returns its sequence
    /// number.
    fn send(&self, kind: u16, flags: u16, request: &[u8]) -> io::Result<u32> {
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        let len = NLMSG_HDRLEN + request.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(request);
        // Port 0: the kernel.
        sendto(
            self.fd.as_raw_fd(),
            &msg,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )?;
        Ok(seq)
    }

    /// A dump whose replies carry type `reply_kind` (rtnetlink answers RTM_GET* with
    /// RTM_NEW*).
    pub fn dump_replies(
        &self,
        kind: u16,
        reply_kind: u16,
        request: &[u8],
        mut f: impl FnMut(&[u8]),
    ) -> io::Result<DumpStatus> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_DUMP, request)?;
        let mut status = DumpStatus::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(&self.fd, &mut buf)?;
            for m in Messages::new(&buf[..n]) {
                let Some(m) = m else {
                    status.malformed += 1;
                    break;
                };
                if m.seq != seq {
                    continue;
                }
                status.interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                match m.kind {
                    NLMSG_DONE => {
                        status.done_error = read_i32(m.payload, 0).unwrap_or(0).min(0);
                        return Ok(status);
                    }
                    NLMSG_ERROR => {
                        let code = read_i32(m.payload, 0).unwrap_or(0);
                        if code == 0 {
                            return Ok(status);
                        }
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    reply if reply == reply_kind => {
                        status.messages += 1;
                        f(m.payload);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A netlink socket of `protocol` in the calling thread's network namespace.
fn netlink_socket(protocol: SockProtocol) -> io::Result<OwnedFd> {
    Ok(socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        protocol,
    )?)
}

/// Receives one datagram into `buf` (retrying on EINTR): its length, never 0. A
/// datagram longer than `buf` (MSG_TRUNC reports its real length) is an error rather
/// than silently cut.
fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let n = loop {
        match socket::recv(fd.as_raw_fd(), buf, MsgFlags::MSG_TRUNC) {
            Err(Errno::EINTR) => continue,
            r => break r?,
        }
    };
    if n > buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "netlink reply larger than the receive buffer",
        ));
    }
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(n)
}

/// One netlink message of a datagram.
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Walks the messages packed in one datagram; yields `None` once and stops when a
/// header is inconsistent with the bytes that are there.
pub struct Messages<'a> {
    rest: &'a [u8],
    broken: bool,
}

impl<'a> Messages<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Messages {
            rest: data,
            broken: false,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Option<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.broken || self.rest.is_empty() {
            return None;
        }
        let len = read_u32(self.rest, 0).map(|l| l as usize);
        let Some(len) = len.filter(|&l| l >= NLMSG_HDRLEN && l <= self.rest.len()) else {
            self.broken = true;
            return Some(None);
        };
        let msg = Message {
            kind: read_u16(self.rest, 4).unwrap_or(0),
            flags: read_u16(self.rest, 6).unwrap_or(0),
            seq: read_u32(self.rest, 8).unwrap_or(0),
            payload: self.rest.get(NLMSG_HDRLEN..len).unwrap_or_default(),
        };
        let advance = align4(len).min(self.rest.len());
        self.rest = self.rest.get(advance..).unwrap_or_default();
        Some(Some(msg))
    }
}

/// Route attributes (struct rtattr) after a fixed-size record: `(type, value)`.
/// Stops quietly at the first inconsistent length.
pub fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = read_u16(data, 0)? as usize;
        let kind = read_u16(data, 2)?;
        if len < 4 || len > data.len() {
            return None;
        }
        let value = data.get(4..len)?;
        data = data.get(align4(len).min(data.len())..).unwrap_or_default();
        Some((kind & 0x3fff, value))
    })
}

/// [`attributes`] as a callback: `f(type, value)` for each one.
pub fn for_each_attr(data: &[u8], mut f: impl FnMut(u16, &[u8])) {
    for (kind, value) in attributes(data) {
        f(kind, value);
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stop_at_a_lying_length() {
        let mut data = Vec::new();
        data.extend_from_slice(&20u32.to_ne_bytes());
        data.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        data.extend_from_slice(&0u16.to_ne_bytes());
        data.extend_from_slice(&7u32.to_ne_bytes());
        data.extend_from_slice(&0u32.to_ne_bytes());
        data.extend_from_slice(&[1, 2, 3, 4]);
        data.extend_from_slice(&1000u32.to_ne_bytes());
        let got: Vec<_> = Messages::new(&data).collect();
        assert_eq!(got.len(), 2);
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            (first.kind, first.seq, first.payload),
            (20, 7, &[1u8, 2, 3, 4][..])
        );
        assert!(got[1].is_none());
        assert_eq!(Messages::new(&[1, 2, 3]).count(), 1);
    }

    #[test]
    fn attributes_tolerate_garbage() {
        let data = [8u8, 0, 2, 0, 9, 9, 9, 9, 200, 0, 1, 0];
        let got: Vec<_> = attributes(&data).collect();
        assert_eq!(got, vec![(2, &[9u8, 9, 9, 9][..])]);
        assert_eq!(attributes(&[0, 0]).count(), 0);
    }
}
