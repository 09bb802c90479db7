//! Check 2, unhide-tcp's method for TCP and UDP, v4 and v6: bind() every port on the
//! wildcard address of the namespace the calling thread is in. EADDRINUSE while no
//! socket in any view holds the port means a socket is hidden from both views.
//! Nothing is ever listened on, accepted or sent; each bound socket is closed at once.

use crate::proc::inet::Proto;
use nix::errno::Errno;
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6,
};
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};

/// One of the four port spaces probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Space {
    pub proto: Proto,
    pub v6: bool,
}

pub const SPACES: [Space; 4] = [
    Space {
        proto: Proto::Tcp,
        v6: false,
    },
    Space {
        proto: Proto::Tcp,
        v6: true,
    },
    Space {
        proto: Proto::Udp,
        v6: false,
    },
    Space {
        proto: Proto::Udp,
        v6: true,
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindResult {
    Free,
    InUse,
    /// Any other error (EACCES below the unprivileged port range, no IPv6, ...).
    Failed(i32),
}

/// A socket of one space, reused across ports until a bind succeeds.
struct Prober {
    space: Space,
    fd: Option<OwnedFd>,
}

impl Prober {
    fn new(space: Space) -> Self {
        Prober { space, fd: None }
    }

    fn socket(&self) -> io::Result<OwnedFd> {
        let domain = if self.space.v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let kind = if self.space.proto == Proto::Tcp {
            SockType::Stream
        } else {
            SockType::Datagram
        };
        let fd = socket(domain, kind, SockFlag::SOCK_CLOEXEC, None)?;
        if self.space.proto == Proto::Tcp {
            // A listening socket conflicts whatever SO_REUSEADDR says, so this hides
            // no listener; it keeps the probe's own short bind from failing another
            // process's bind of a port set SO_REUSEADDR too (a loop of bind/close
            // could otherwise make the probe report that port at will). Not for UDP,
            // where it would hide bound sockets that set it.
            let _ = setsockopt(&fd, sockopt::ReuseAddr, &true);
        }
        if self.space.v6 {
            // v6-only, so the v4 space is probed on its own and a dual-stack bind
            // does not collide with v4 sockets.
            let _ = setsockopt(&fd, sockopt::Ipv6V6Only, &true);
        }
        Ok(fd)
    }

    fn try_bind(&mut self, port: u16) -> io::Result<BindResult> {
        let fd = match self.fd.take() {
            Some(fd) => fd,
            None => self.socket()?,
        };
        // The wildcard address of the space.
        let r = if self.space.v6 {
            let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
            bind(fd.as_raw_fd(), &SockaddrIn6::from(any))
        } else {
            let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
            bind(fd.as_raw_fd(), &SockaddrIn::from(any))
        };
        let Err(errno) = r else {
            drop(fd); // bound: release the port at once
            return Ok(BindResult::Free);
        };
        // A failed bind leaves the socket unbound: keep it for the next port.
        self.fd = Some(fd);
        Ok(match errno {
            Errno::EADDRINUSE => BindResult::InUse,
            e => BindResult::Failed(e as i32),
        })
    }
}

/// Outcome of a sweep of one space.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    pub in_use: Vec<u16>,
    /// Ports whose bind failed for another reason, with the first errno seen.
    pub failed: usize,
    pub first_error: Option<i32>,
}

/// Binds every port from `first` to 65535 in one space.
pub fn sweep(space: Space, first: u16) -> io::Result<Sweep> {
    let mut p = Prober::new(space);
    let mut out = Sweep::default();
    for port in first.max(1)..=u16::MAX {
        match p.try_bind(port)? {
            BindResult::Free => {}
            BindResult::InUse => out.in_use.push(port),
            BindResult::Failed(e) => {
                out.failed += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    Ok(out)
}

/// Sweeps the four spaces on parallel threads (they inherit the caller's namespace).
pub fn sweep_all(first: u16) -> Vec<(Space, io::Result<Sweep>)> {
    std::thread::scope(|scope| {
        // A space whose thread cannot be started is swept here, after the others.
        let handles: Vec<_> = SPACES
            .iter()
            .map(|&space| {
                (
                    space,
                    crate::threads::try_spawn(scope, move || sweep(space, first)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(space, h)| {
                let r = match h {
                    Ok(h) => h
                        .join()
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| Err(io::Error::other("probe thread panicked"))),
                    Err(run_here) => run_here(),
                };
                (space, r)
            })
            .collect()
    })
}

/// Binds one port again (a confirmation).
pub fn rebind(space: Space, port: u16) -> io::Result<BindResult> {
    Prober::new(space).try_bind(port)
}

/// Ports the views account for: any socket of the protocol, either family, with that
/// local port (a v6 dual-stack socket holds the v4 port as well).
pub fn held_ports<'a>(
    sockets: impl Iterator<Item = &'a crate::proc::inet::InetSocket>,
) -> HashSet<(Proto, u16)> {
    sockets.map(|s| (s.proto, s.local_port)).collect()
}

/// In-use ports no view accounts for.
pub fn unexplained(space: Space, in_use: &[u16], held: &HashSet<(Proto, u16)>) -> Vec<u16> {
    in_use
        .iter()
        .copied()
        .filter(|&p| !held.contains(&(space.proto, p)))
        .collect()
}

/// Keeps the candidates that, on each of `rounds` further looks, are still in use
/// and still held by no socket of the fresh views. Stops early when none is left.
pub fn confirm<E>(
    mut candidates: Vec<(Space, u16)>,
    rounds: usize,
    mut fresh_held: impl FnMut() -> Result<HashSet<(Proto, u16)>, E>,
    mut rebind: impl FnMut(Space, u16) -> Option<BindResult>,
) -> Result<Vec<(Space, u16)>, E> {
    for _ in 0..rounds {
        if candidates.is_empty() {
            break;
        }
        let held = fresh_held()?;
        candidates.retain(|&(space, port)| {
            !held.contains(&(space.proto, port)) && rebind(space, port) == Some(BindResult::InUse)
        });
    }
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_any_view_holds_is_explained() {
        let mut sock = crate::proc::inet::parse_line(
            b"0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 77 1",
            Proto::Tcp,
            true,
        )
        .unwrap();
        let held = held_ports(std::iter::once(&sock));
        let tcp4 = Space {
            proto: Proto::Tcp,
            v6: false,
        };
        let udp4 = Space {
            proto: Proto::Udp,
            v6: false,
        };
        // A dual-stack [::]:80 listener explains port 80 in the v4 space too.
        assert_eq!(unexplained(tcp4, &[80, 81], &held), vec![81]);
        assert_eq!(unexplained(udp4, &[80], &held), vec![80]);
        sock.local_port = 81;
        assert!(held_ports(std::iter::once(&sock)).contains(&(Proto::Tcp, 81)));
    }

    #[test]
    fn only_a_lasting_unexplained_port_is_confirmed() {
        let tcp = Space {
            proto: Proto::Tcp,
            v6: false,
        };
        let udp6 = Space {
            proto: Proto::Udp,
            v6: true,
        };
        // 1000: stays in use, never explained (hidden). 2000: a socket that was
        // opening during the sweep and shows up in the second views. 3000: closed
        // before the last confirmation. 4000: still in use, explained on the last look.
        let candidates = vec![(tcp, 1000), (tcp, 2000), (udp6, 3000), (udp6, 4000)];
        let mut look = 0;
        let mut binds = Vec::new();
        let out = confirm(
            candidates,
            2,
            || {
                look += 1;
                let mut held = HashSet::new();
                held.insert((Proto::Tcp, 2000));
                if look == 2 {
                    held.insert((Proto::Udp, 4000));
                }
                Ok::<_, ()>(held)
            },
            |_space, port| {
                binds.push(port);
                let free = port == 3000 && binds.iter().filter(|&&p| p == 3000).count() == 2;
                Some(if free {
                    BindResult::Free
                } else {
                    BindResult::InUse
                })
            },
        )
        .unwrap();
        assert_eq!(out, vec![(tcp, 1000)]);
        assert_eq!(look, 2);
        // Nothing to confirm: no further look at all.
        let out = confirm(
            Vec::new(),
            2,
            || -> Result<_, ()> { panic!("no look needed") },
            |_, _| None,
        );
        assert_eq!(out, Ok(vec![]));
        // A failed look ends the probe with its error.
        assert_eq!(
            confirm(vec![(tcp, 1)], 2, || Err("gone"), |_, _| None),
            Err("gone")
        );
    }

    #[test]
    fn a_held_port_is_in_use_and_a_free_one_is_free() {
        let space = Space {
            proto: Proto::Tcp,
            v6: false,
        };
        // Once released, the port is back in the ephemeral pool, where another process's
        // connect() can take it before we look: a few ports, one must come back free.
        let mut freed = Vec::new();
        for _ in 0..3 {
            let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
            let port = l.local_addr().unwrap().port();
            assert_eq!(rebind(space, port).unwrap(), BindResult::InUse);
            drop(l);
            freed.push(rebind(space, port).unwrap());
            if freed.last() == Some(&BindResult::Free) {
                return;
            }
        }
        panic!("released ports still in use: {freed:?}");
    }
}
