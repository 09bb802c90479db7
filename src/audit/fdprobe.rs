//! Whether a socket another process holds is in a state the tables must list. A
//! socket() that was never bound is in no table, so its absence is no evidence.
//! The descriptor is duplicated with pidfd_getfd (read-only queries, then closed);
//! where that is not allowed, the sockfs protocol name decides for the kinds that
//! are listed from creation on.

use super::sockets::Listability;
use nix::sys::socket::{getsockname, SockaddrStorage};
use std::os::fd::{AsRawFd, OwnedFd};

/// An int socket option by level and name, for src/queues.rs's SO_TYPE and SO_DOMAIN
/// (rustix's `sockopt::socket_type`/`socket_domain` could take them there).
pub(crate) fn sockopt_int(fd: &impl AsRawFd, level: i32, name: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut i32).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

fn local_name(fd: &OwnedFd) -> Option<SockaddrStorage> {
    getsockname(fd.as_raw_fd()).ok()
}

fn port_of(ss: &SockaddrStorage) -> u16 {
    ss.as_sockaddr_in()
        .map(|a| a.port())
        .or_else(|| ss.as_sockaddr_in6().map(|a| a.port()))
        .unwrap_or(0)
}

fn classify(fd: &OwnedFd) -> Listability {
    use rustix::net::{ipproto, sockopt, AddressFamily, SocketType};
    let Ok(domain) = sockopt::socket_domain(fd) else {
        return Listability::Unknown;
    };
    let protocol = sockopt::socket_protocol(fd).ok().flatten();
    let sock_type = sockopt::socket_type(fd).ok();
    let v6 = domain == AddressFamily::INET6;
    match domain {
        AddressFamily::UNIX => Listability::Listed("unix"),
        AddressFamily::PACKET => Listability::Listed("packet"),
        AddressFamily::NETLINK => match local_name(fd) {
            Some(ss) if ss.as_netlink_addr().is_some_and(|nl| nl.pid() != 0) => {
                Listability::Listed("netlink")
            }
            Some(_) => Listability::Unlisted,
            None => Listability::Unknown,
        },
        AddressFamily::INET | AddressFamily::INET6 => {
            if sock_type == Some(SocketType::RAW) {
                return Listability::Listed(if v6 { "raw6" } else { "raw" });
            }
            let port = local_name(fd).map(|ss| port_of(&ss)).unwrap_or(0);
            match protocol {
                Some(ipproto::TCP) => {
                    // tcp_info's first byte is the state; CLOSE (7) sockets are in no table.
                    let mut info = [0u8; 8];
                    let mut len = info.len() as libc::socklen_t;
                    // SAFETY: info is writable for len bytes. (Neither nix nor rustix
                    // reads TCP_INFO.)
                    let r = unsafe {
                        libc::getsockopt(
                            fd.as_raw_fd(),
                            libc::IPPROTO_TCP,
                            libc::TCP_INFO,
                            info.as_mut_ptr().cast(),
                            &mut len,
                        )
                    };
                    if r != 0 {
                        return Listability::Unknown;
                    }
                    if info[0] == 7 {
                        Listability::Unlisted
                    } else {
                        Listability::Listed(if v6 { "tcp6" } else { "tcp" })
                    }
                }
                Some(ipproto::UDP) | Some(ipproto::UDPLITE) if port != 0 => {
                    Listability::Listed(if v6 { "udp6" } else { "udp" })
                }
                Some(ipproto::ICMP) | Some(ipproto::ICMPV6) if port != 0 => {
                    Listability::Listed("icmp")
                }
                _ => Listability::Unlisted,
            }
        }
        _ => Listability::Unlisted,
    }
}

/// Classifies descriptor `fd` of `pid`; `proc_root` is used for the xattr fallback.
pub fn listability(proc_root: &std::path::Path, pid: u32, fd: u32) -> Listability {
    if let Ok(dup) = crate::sockfilter::duplicate(pid, fd) {
        return classify(&dup);
    }
    // Kinds listed from creation on need no state: their protocol name suffices.
    match sockprotoname(proc_root, pid, fd).as_deref() {
        Some(b"UNIX") | Some(b"UNIX-STREAM") | Some(b"UNIX-DGRAM") | Some(b"UNIX-SEQPACKET") => {
            Listability::Listed("unix")
        }
        Some(b"PACKET") => Listability::Listed("packet"),
        Some(b"RAW") => Listability::Listed("raw"),
        Some(b"RAWv6") => Listability::Listed("raw6"),
        Some(b"TCP") | Some(b"TCPv6") | Some(b"UDP") | Some(b"UDPv6") | Some(b"NETLINK")
        | Some(b"PING") | Some(b"PINGv6") | Some(b"UDP-Lite") | Some(b"UDPLITEv6") => {
            Listability::Unknown
        }
        _ => Listability::Unlisted,
    }
}

fn sockprotoname(proc_root: &std::path::Path, pid: u32, fd: u32) -> Option<Vec<u8>> {
    let path = proc_root.join(format!("{pid}/fd/{fd}"));
    let mut buf = [0u8; 64];
    let n = rustix::fs::getxattr(&path, c"system.sockprotoname", &mut buf[..]).ok()?;
    if n == 0 {
        return None;
    }
    let mut v = buf.get(..n)?.to_vec();
    while v.last() == Some(&0) {
        v.pop();
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    #[test]
    fn classifies_own_sockets() {
        let me = std::process::id();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let unbound = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        // SAFETY: a plain socket(2); closed by OwnedFd.
        let fresh =
            unsafe { OwnedFd::from_raw_fd(libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0)) };
        let root = std::path::Path::new("/proc");
        let l = |fd: i32| listability(root, me, fd as u32);
        assert_eq!(l(listener.as_raw_fd()), Listability::Listed("tcp"));
        assert_eq!(l(unbound.as_raw_fd()), Listability::Listed("udp"));
        assert_eq!(l(a.as_raw_fd()), Listability::Listed("unix"));
        assert_eq!(l(fresh.as_raw_fd()), Listability::Unlisted);
    }
}
