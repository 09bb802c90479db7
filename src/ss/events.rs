//! `-E`, handle_follow_request(): the sock_diag destroy groups of the tables and
//! families asked for, and each socket the kernel reports as it is destroyed.

use super::inet_subject;
use crate::cli::ss::{self as cli, Options, Tables};
use crate::netlink::destroy::{self, groups};
use crate::netlink::inet::{self, SsInetSocket};
use crate::select::ss_filter::Filter;
use std::io;

/// The bound event socket and what decides which of its sockets are shown.
pub struct Events<'a> {
    socket: destroy::EventSocket,
    tables: &'a Tables,
    filter: &'a Filter,
    keep: bool,
}

/// Why there are no events to follow.
pub enum Refused {
    /// No destroy group applies to the tables and families (ss returns -1 quietly).
    NoGroup,
    /// The socket could not be opened or bound.
    Bind(io::Error),
}

/// Binds the groups of the selected tables (TCP/UDP) and families (4/6).
pub fn open<'a>(o: &Options, t: &'a Tables, filter: &'a Filter) -> Result<Events<'a>, Refused> {
    let tcp = t.has_db(cli::TCP_DB);
    let udp = t.has_db(cli::UDP_DB);
    let (v4, v6) = (t.has_af(cli::AF_INET), t.has_af(cli::AF_INET6));
    let mut mask = 0;
    for (on, bit) in [
        (v4 && tcp, groups::INET_TCP_DESTROY),
        (v4 && udp, groups::INET_UDP_DESTROY),
        (v6 && tcp, groups::INET6_TCP_DESTROY),
        (v6 && udp, groups::INET6_UDP_DESTROY),
    ] {
        if on {
            mask |= bit;
        }
    }
    if mask == 0 {
        return Err(Refused::NoGroup);
    }
    let socket = destroy::EventSocket::open(mask).map_err(Refused::Bind)?;
    Ok(Events {
        socket,
        tables: t,
        filter,
        keep: super::wants_details(o),
    })
}

impl std::os::fd::AsFd for Events<'_> {
    /// The event socket, to wait on several namespaces' at once.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Events<'_> {
    /// Waits for the next datagram of events and hands each message to `each`: the
    /// socket when ss would show it (its family selected, the filter matching, as
    /// show_one_inet_sock() decides), None when not (ss still renders after it).
    /// `Ok(false)` when the kernel dropped events because the socket's queue was full
    /// (ENOBUFS; the next datagrams are after the loss).
    pub fn next(
        &mut self,
        mut each: impl FnMut(Option<&SsInetSocket>) -> io::Result<()>,
    ) -> io::Result<bool> {
        // ss names these rows with IPPROTO_MAX unless the reply carries INET_DIAG_PROTOCOL.
        const IPPROTO_MAX: u16 = 263;
        let keep = self.keep;
        let mut batch = Vec::new();
        let read = self
            .socket
            .next(|payload| batch.push(inet::parse_ss_message(payload, IPPROTO_MAX, keep)));
        if let Err(e) = read {
            if e.raw_os_error() != Some(libc::ENOBUFS) {
                return Err(e);
            }
            return Ok(false);
        }
        for s in batch {
            let shown = s.ok().filter(|s| {
                let af = if s.sock.v6 {
                    cli::AF_INET6
                } else {
                    cli::AF_INET
                };
                self.tables.has_af(af) && self.filter.matches(&inet_subject(s))
            });
            each(shown.as_ref())?;
        }
        Ok(true)
    }
}
