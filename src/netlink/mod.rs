//! Minimal sock_diag over raw netlink sockets (libc only): open, send one dump
//! request, walk the answers. Protocol-specific dumps live in submodules.

pub mod unix;

use std::io;

/// NETLINK_SOCK_DIAG's request/answer message type.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_DONE: u16 = 3;
const NLMSG_ERROR: u16 = 2;

/// An open NETLINK_SOCK_DIAG socket, closed on drop.
pub struct DiagSocket {
    fd: libc::c_int,
}

impl Drop for DiagSocket {
    fn drop(&mut self) {
        // SAFETY: fd is owned by this value and closed once.
        unsafe { libc::close(self.fd) };
    }
}

impl DiagSocket {
    pub fn open() -> io::Result<DiagSocket> {
        // SAFETY: plain socket(2) call.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(DiagSocket { fd })
    }

    /// Sends `payload` as a dump request and calls `f(payload)` for each answer
    /// message until the kernel says it is done.
    pub fn dump(&self, payload: &[u8], mut f: impl FnMut(&[u8])) -> io::Result<()> {
        let len = NLMSG_HDRLEN + payload.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        msg.extend_from_slice(payload);
        // SAFETY: msg is a valid buffer of msg.len() bytes.
        let sent = unsafe { libc::send(self.fd, msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: buf is writable for buf.len() bytes.
            let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut data = &buf[..n as usize];
            if data.is_empty() {
                return Ok(());
            }
            while data.len() >= NLMSG_HDRLEN {
                let mlen = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
                let mtype = u16::from_ne_bytes([data[4], data[5]]);
                if mlen < NLMSG_HDRLEN || mlen > data.len() {
                    return Ok(());
                }
                match mtype {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = data
                            .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(0);
                        if code == 0 {
                            return Ok(());
                        }
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    _ => f(&data[NLMSG_HDRLEN..mlen]),
                }
                let step = (mlen + 3) & !3;
                data = data.get(step..).unwrap_or(&[]);
            }
        }
    }
}

/// Walks the rtattr list after a fixed header: calls `f(type, value)`.
pub fn for_each_attr(mut data: &[u8], mut f: impl FnMut(u16, &[u8])) {
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]);
        if len < 4 || len > data.len() {
            return;
        }
        f(ty, &data[4..len]);
        let step = (len + 3) & !3;
        data = data.get(step..).unwrap_or(&[]);
    }
}
