//! inet_diag dumps of TCP and UDP (v4 and v6, every state), returned as the same
//! [`InetSocket`] records the /proc/net readers give, so the two views compare
//! field for field.

use super::{read_u32, DiagSocket};
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::{ParseWarning, Table};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// sizeof(struct inet_diag_msg): family, state, timer, retrans, inet_diag_sockid (48),
/// expires, rqueue, wqueue, uid, inode.
const MSG_LEN: usize = 72;

/// struct inet_diag_req_v2 asking for every state (`!0`, which also brings the
/// kernel's pseudo-states such as bound-inactive on kernels that have them).
pub fn request(proto: Proto, v6: bool) -> Option<[u8; 56]> {
    let protocol = match proto {
        Proto::Tcp => libc::IPPROTO_TCP,
        Proto::Udp => libc::IPPROTO_UDP,
        Proto::UdpLite => libc::IPPROTO_UDPLITE,
        Proto::Raw => return None,
    };
    let mut req = [0u8; 56];
    req[0] = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    req[1] = protocol as u8;
    req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
    Some(req)
}

/// Parses one reply (struct inet_diag_msg and its attributes).
pub fn parse_message(data: &[u8], proto: Proto) -> Result<InetSocket, &'static str> {
    if data.len() < MSG_LEN {
        return Err("short inet_diag_msg");
    }
    let family = data[0] as i32;
    let v6 = match family {
        libc::AF_INET => false,
        libc::AF_INET6 => true,
        _ => return Err("unknown address family"),
    };
    let port = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    let addr = |at: usize| -> IpAddr {
        let mut b = [0u8; 16];
        b.copy_from_slice(&data[at..at + 16]);
        if v6 {
            IpAddr::V6(Ipv6Addr::from(b))
        } else {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
    };
    let word = |at: usize| read_u32(data, at).unwrap_or(0);
    let expires_ms = word(52) as u64;
    let state = data[1];
    // A listener's wqueue is its backlog limit; /proc/net/tcp prints write_seq - snd_una
    // there, which no listener has.
    let tx_queue = match (proto, state) {
        (Proto::Tcp, TCP_LISTEN) => 0,
        _ => word(60) as u64,
    };
    Ok(InetSocket {
        proto,
        v6,
        local: addr(8),
        local_port: port(4),
        remote: addr(24),
        remote_port: port(6),
        state,
        tx_queue,
        rx_queue: word(56) as u64,
        timer: data[2],
        // /proc prints clock ticks (USER_HZ = 100); sock_diag milliseconds.
        timer_ticks: expires_ms / 10,
        retransmits: data[3] as u64,
        uid: word(64),
        timeout: 0,
        inode: word(68) as u64,
    })
}

const TCP_LISTEN: u8 = 10;

/// TCPDIAG_GETSOCK: inet_diag's first request type, still served. Its dump is not
/// limited to one address family, so one walk of the TCP hash tables gives both.
const TCPDIAG_GETSOCK: u16 = 18;

/// The TCP states /proc/net/tcp lists: 1 to 12 (NEW_SYN_RECV is printed as SYN_RECV),
/// not the bound-only sockets (13) that newer kernels dump when asked.
pub const PROC_TCP_STATES: u32 = 0x1ffe;

/// TCP_LISTEN's bit in an idiag_states mask.
pub const LISTEN_STATE_BIT: u32 = 1 << TCP_LISTEN;

/// The old `struct inet_diag_req` (family, lengths, ext, sockid, states, dbs) asking
/// for the TCP sockets of both families whose state bit is in `states`.
fn tcp_request_both_families(states: u32) -> [u8; 60] {
    let mut req = [0u8; 60];
    req[52..56].copy_from_slice(&states.to_ne_bytes());
    req
}

/// Files one reply of a TCPDIAG_GETSOCK dump in `[IPv4, IPv6]` by its family.
fn file_tcp_reply(tables: &mut [Table<InetSocket>; 2], payload: &[u8]) -> Result<(), &'static str> {
    let s = parse_message(payload, Proto::Tcp)?;
    tables[usize::from(s.v6)].rows.push(s);
    Ok(())
}

/// The TCP sockets of the namespace `sock` was opened in whose state bit is in
/// `states` ([`PROC_TCP_STATES`] for all /proc shows), as `[IPv4, IPv6]` tables in
/// the order of /proc/net/tcp and /proc/net/tcp6 (the dump walks the same listening
/// and established hashes, bucket by bucket, as their seq_files do). Without
/// [`LISTEN_STATE_BIT`] the kernel skips the listening hash; with only it, the
/// established one. A reply that does not parse fails the whole dump (InvalidData),
/// so the caller reads /proc rather than print a table with holes.
pub fn dump_tcp(sock: &DiagSocket, states: u32) -> io::Result<[Table<InetSocket>; 2]> {
    let mut tables: [Table<InetSocket>; 2] = Default::default();
    let mut malformed = 0usize;
    let status = sock.dump_as(
        TCPDIAG_GETSOCK,
        &tcp_request_both_families(states),
        |payload| {
            if file_tcp_reply(&mut tables, payload).is_err() {
                malformed += 1;
            }
        },
    )?;
    if malformed + status.malformed > 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "sock_diag tcp: {} malformed netlink messages",
                malformed + status.malformed
            ),
        ));
    }
    Ok(tables)
}

/// Dumps one protocol and family from the namespace `sock` was opened in.
/// `interrupted` is true when the kernel flagged the dump as inconsistent.
pub fn dump(sock: &DiagSocket, proto: Proto, v6: bool) -> io::Result<(Table<InetSocket>, bool)> {
    let Some(req) = request(proto, v6) else {
        return Err(io::ErrorKind::Unsupported.into());
    };
    let mut table = Table::default();
    let status = sock.dump(&req, |payload| match parse_message(payload, proto) {
        Ok(s) => table.rows.push(s),
        Err(why) => table.warnings.push(ParseWarning {
            file: format!("sock_diag {}{}", proto.name(), if v6 { "6" } else { "" }),
            line: 0,
            message: why.to_string(),
        }),
    })?;
    if status.malformed > 0 {
        table.warnings.push(ParseWarning {
            file: format!("sock_diag {}{}", proto.name(), if v6 { "6" } else { "" }),
            line: 0,
            message: format!("{} malformed netlink messages", status.malformed),
        });
    }
    Ok((table, status.interrupted))
}

/// An inet_diag reply as ss reads it: the socket in the one model ([`InetSocket`])
/// plus what ss shows beyond /proc's columns. Send-Q is the kernel's wqueue as is
/// (a listener's backlog limit, which ss prints and /proc does not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsInetSocket {
    pub sock: InetSocket,
    /// The protocol ss names the row by: INET_DIAG_PROTOCOL when the reply has it,
    /// else the protocol of the request (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW ...).
    pub protocol: u16,
    /// idiag_if: the bound interface (printed as `%ifname`).
    pub iface: u32,
    /// INET_DIAG_SKV6ONLY of an IPv6 socket; `None` when the reply lacks it.
    pub v6only: Option<bool>,
    /// idiag_cookie as ss folds it (`sk:` with -e).
    pub cookie: u64,
    /// idiag_expires in milliseconds (ss's `timer:(...)`).
    pub expires_ms: u32,
    /// The whole reply (inet_diag_msg and attributes), kept when a detail view asks.
    pub raw: Option<Box<[u8]>>,
    /// INET_DIAG_MARK (SO_MARK; the kernel reports it to CAP_NET_ADMIN), else 0.
    pub mark: u32,
    /// INET_DIAG_CGROUP_ID, else 0.
    pub cgroup_id: u64,
    /// A TCP row read from /proc/net/tcp*: the record's columns after the inode,
    /// which ss's -o/-e/-i print in place of the reply's attributes.
    pub proc_tail: Option<Box<crate::proc::inet::TcpTail>>,
}

/// INET_DIAG_PROTOCOL and INET_DIAG_SKV6ONLY attribute numbers.
const INET_DIAG_PROTOCOL: u16 = 10;
const INET_DIAG_SKV6ONLY: u16 = 11;
const INET_DIAG_MARK: u16 = 15;
const INET_DIAG_CGROUP_ID: u16 = 21;
/// INET_DIAG_REQ_BYTECODE: the request attribute carrying a filter program.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// INET_DIAG_REQ_PROTOCOL: the request attribute for protocols above 255 (MPTCP).
const INET_DIAG_REQ_PROTOCOL: u16 = 2;
/// DCCPDIAG_GETSOCK, the compat request type for DCCP.
const DCCPDIAG_GETSOCK: u16 = 19;

/// Parses a reply for ss; `protocol` is the IPPROTO number the request asked for.
pub fn parse_ss_message(
    data: &[u8],
    protocol: u16,
    keep_raw: bool,
) -> Result<SsInetSocket, &'static str> {
    let proto = match protocol as i32 {
        libc::IPPROTO_UDP => Proto::Udp,
        libc::IPPROTO_UDPLITE => Proto::UdpLite,
        libc::IPPROTO_RAW => Proto::Raw,
        _ => Proto::Tcp,
    };
    let mut sock = parse_message(data, proto)?;
    // ss prints the queues as the kernel gives them (a listener's Send-Q is its backlog).
    sock.tx_queue = read_u32(data, 60).unwrap_or(0) as u64;
    let mut out = SsInetSocket {
        sock,
        protocol,
        iface: read_u32(data, 40).unwrap_or(0),
        v6only: None,
        cookie: {
            let lo = read_u32(data, 44).unwrap_or(0) as u64;
            let hi = read_u32(data, 48).unwrap_or(0) as u64;
            (hi << 32) | lo
        },
        expires_ms: read_u32(data, 52).unwrap_or(0),
        raw: keep_raw.then(|| data.into()),
        mark: 0,
        cgroup_id: 0,
        proc_tail: None,
    };
    for (kind, value) in super::attributes(data.get(MSG_LEN..).unwrap_or_default()) {
        match kind {
            INET_DIAG_PROTOCOL => {
                if let Some(&p) = value.first() {
                    out.protocol = p as u16;
                }
            }
            INET_DIAG_SKV6ONLY => out.v6only = value.first().map(|&b| b != 0),
            INET_DIAG_MARK => out.mark = read_u32(value, 0).unwrap_or(0),
            INET_DIAG_CGROUP_ID => {
                if let Some(b) = value.get(..8) {
                    out.cgroup_id = u64::from_ne_bytes(b.try_into().unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// struct inet_diag_req_v2 as ss sends it: one family and protocol, the state mask
/// and the extension bits (`ext`) its detail options ask for; protocols above 255
/// go in an INET_DIAG_REQ_PROTOCOL attribute.
pub fn ss_request(family: u8, protocol: u32, states: u32, ext: u8) -> Vec<u8> {
    let mut req = vec![0u8; 56];
    req[0] = family;
    req[1] = protocol.min(255) as u8;
    req[2] = ext;
    req[4..8].copy_from_slice(&states.to_ne_bytes());
    if protocol > 255 {
        req.extend_from_slice(&8u16.to_ne_bytes());
        req.extend_from_slice(&INET_DIAG_REQ_PROTOCOL.to_ne_bytes());
        req.extend_from_slice(&protocol.to_ne_bytes());
    }
    req
}

/// The INET_DIAG_REQ_BYTECODE attribute for `code` (an inet_diag filter program, as
/// `select::ss_filter` compiles it), to follow a request.
pub fn bytecode_attribute(code: &[u8]) -> Vec<u8> {
    let len = (4 + code.len()).min(u16::MAX as usize) as u16;
    let mut v = Vec::with_capacity(4 + code.len() + 3);
    v.extend_from_slice(&len.to_ne_bytes());
    v.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    v.extend_from_slice(code);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

/// The old struct inet_diag_req ss falls back to (family AF_INET, as ss sends it).
fn ss_compat_request(states: u32, ext: u8) -> [u8; 60] {
    let mut req = [0u8; 60];
    req[0] = libc::AF_INET as u8;
    req[3] = ext;
    req[52..56].copy_from_slice(&states.to_ne_bytes());
    req
}

/// Both families' TCP sockets in one walk of the kernel's hash tables (the compat
/// request with AF_UNSPEC), where ss walks them once per family: the rows of each
/// family come in the order that family's own dump gives them. `f` gets every row.
pub fn dump_ss_tcp_both(
    sock: &DiagSocket,
    states: u32,
    ext: u8,
    keep_raw: bool,
    bytecode: Option<&[u8]>,
    mut f: impl FnMut(SsInetSocket),
) -> io::Result<super::DumpStatus> {
    let mut req = tcp_request_both_families(states).to_vec();
    req[3] = ext;
    // The filter program applies to both families alike, as to each of ss's dumps.
    if let Some(code) = bytecode {
        req.extend_from_slice(&bytecode_attribute(code));
    }
    sock.dump_as(TCPDIAG_GETSOCK, &req, |payload| {
        if let Ok(s) = parse_ss_message(payload, libc::IPPROTO_TCP as u16, keep_raw) {
            f(s)
        }
    })
}

/// One dump for ss: `family` AF_INET or AF_INET6, or AF_UNSPEC for the compat request
/// (TCP and DCCP only; `Unsupported` for the others, as ss gives up there). Rows are
/// passed to `f` as they arrive; a reply that does not parse is counted, not shown.
/// `bytecode`: ss's filter program, sent with either request as ss sends it.
#[allow(clippy::too_many_arguments)]
pub fn dump_ss(
    sock: &DiagSocket,
    family: u8,
    protocol: u32,
    states: u32,
    ext: u8,
    keep_raw: bool,
    bytecode: Option<&[u8]>,
    mut f: impl FnMut(SsInetSocket),
) -> io::Result<super::DumpStatus> {
    let attr = bytecode.map(bytecode_attribute).unwrap_or_default();
    let mut handle = |payload: &[u8]| {
        if let Ok(s) = parse_ss_message(payload, protocol as u16, keep_raw) {
            f(s)
        }
    };
    if family == libc::AF_UNSPEC as u8 {
        let kind = match protocol as i32 {
            libc::IPPROTO_TCP => TCPDIAG_GETSOCK,
            libc::IPPROTO_DCCP => DCCPDIAG_GETSOCK,
            _ => return Err(io::ErrorKind::Unsupported.into()),
        };
        let mut req = ss_compat_request(states, ext).to_vec();
        req.extend_from_slice(&attr);
        return sock.dump_as(kind, &req, &mut handle);
    }
    // ss puts the bytecode before the protocol attribute.
    let full = ss_request(family, protocol, states, ext);
    let (head, tail) = full.split_at(56.min(full.len()));
    let mut req = head.to_vec();
    req.extend_from_slice(&attr);
    req.extend_from_slice(tail);
    sock.dump(&req, handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_recorded_message() {
        let mut m = vec![0u8; MSG_LEN + 8];
        m[0] = libc::AF_INET as u8;
        m[1] = 10;
        m[4..6].copy_from_slice(&8080u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        m[68..72].copy_from_slice(&424242u32.to_ne_bytes());
        let s = parse_message(&m, Proto::Tcp).unwrap();
        assert_eq!(s.local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            (s.local_port, s.state, s.uid, s.inode),
            (8080, 10, 1000, 424242)
        );
        assert!(parse_message(&m[..40], Proto::Tcp).is_err());
        m[0] = 99;
        assert!(parse_message(&m, Proto::Tcp).is_err());
    }

    /// Replies of a TCPDIAG_GETSOCK dump as the kernel packs them in one datagram: a
    /// v4 listener (wqueue = its backlog limit), a v6 established socket, then a reply
    /// of an unknown family.
    fn compat_datagram() -> Vec<u8> {
        let mut listener = vec![0u8; MSG_LEN];
        listener[0] = libc::AF_INET as u8;
        listener[1] = TCP_LISTEN;
        listener[4..6].copy_from_slice(&22u16.to_be_bytes());
        listener[56..60].copy_from_slice(&2u32.to_ne_bytes());
        listener[60..64].copy_from_slice(&128u32.to_ne_bytes());
        listener[68..72].copy_from_slice(&1111u32.to_ne_bytes());
        // With an attribute after the fixed part, as dumps carry (INET_DIAG_SHUTDOWN).
        let mut established = vec![0u8; MSG_LEN + 8];
        established[0] = libc::AF_INET6 as u8;
        established[1] = 1;
        established[4..6].copy_from_slice(&22u16.to_be_bytes());
        established[6..8].copy_from_slice(&40000u16.to_be_bytes());
        established[23] = 1;
        established[39] = 1;
        established[56..60].copy_from_slice(&7u32.to_ne_bytes());
        established[60..64].copy_from_slice(&9u32.to_ne_bytes());
        established[72..76].copy_from_slice(&[5, 0, 8, 0]);
        let mut alien = vec![0u8; MSG_LEN];
        alien[0] = 99;
        let mut data = Vec::new();
        for row in [listener, established, alien] {
            data.extend_from_slice(&(16 + row.len() as u32).to_ne_bytes());
            data.extend_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
            data.extend_from_slice(&2u16.to_ne_bytes());
            data.extend_from_slice(&1u32.to_ne_bytes());
            data.extend_from_slice(&0u32.to_ne_bytes());
            data.extend_from_slice(&row);
        }
        data
    }

    #[test]
    fn files_compat_replies_by_family_as_proc_prints_them() {
        let mut tables: [Table<InetSocket>; 2] = Default::default();
        let results: Vec<_> = crate::netlink::Messages::new(&compat_datagram())
            .map(|m| {
                let m = m.expect("well-formed message");
                assert_eq!(m.kind, TCPDIAG_GETSOCK);
                file_tcp_reply(&mut tables, m.payload)
            })
            .collect();
        assert_eq!(results, vec![Ok(()), Ok(()), Err("unknown address family")]);
        let [v4, v6] = tables.map(|t| t.rows);
        assert_eq!(v4.len(), 1);
        // /proc prints a listener's Send-Q as 0, not the backlog limit.
        assert_eq!((v4[0].state, v4[0].rx_queue, v4[0].tx_queue), (10, 2, 0));
        assert_eq!(v4[0].inode, 1111);
        assert_eq!(v6.len(), 1);
        let s = &v6[0];
        assert_eq!(s.local, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(s.remote, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!((s.local_port, s.remote_port), (22, 40000));
        assert_eq!((s.rx_queue, s.tx_queue, s.v6), (7, 9, true));
    }

    #[test]
    fn compat_request_carries_the_states_and_nothing_else() {
        let req = tcp_request_both_families(PROC_TCP_STATES & !LISTEN_STATE_BIT);
        assert_eq!(req[..52], [0u8; 52]);
        assert_eq!(read_u32(&req, 52), Some(0x1ffe & !(1 << 10)));
        assert_eq!(read_u32(&req, 56), Some(0));
    }

    #[test]
    fn tcp_dump_honours_the_state_mask() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let sock = DiagSocket::open().unwrap();
        let ours = |states| -> Vec<u8> {
            let [v4, _] = dump_tcp(&sock, states).unwrap();
            v4.rows
                .iter()
                .filter(|s| s.local_port == port || s.remote_port == port)
                .map(|s| s.state)
                .collect()
        };
        let mut all = ours(PROC_TCP_STATES);
        all.sort_unstable();
        assert_eq!(all, vec![1, 1, 10], "two ends and the listener");
        assert_eq!(ours(LISTEN_STATE_BIT), vec![10]);
        assert_eq!(ours(PROC_TCP_STATES & !LISTEN_STATE_BIT), vec![1, 1]);
    }

    #[test]
    fn sees_our_own_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sock = DiagSocket::open().unwrap();
        // A dump resumes by position in the kernel's hash tables, so while other
        // processes open and close sockets it can skip a row: look up to 3 times.
        let mut seen = false;
        for _ in 0..3 {
            let (table, _) = dump(&sock, Proto::Tcp, false).unwrap();
            assert!(table.warnings.is_empty(), "{:?}", table.warnings);
            seen = table
                .rows
                .iter()
                .any(|s| s.local_port == port && s.state == 10 && s.inode != 0);
            if seen {
                break;
            }
        }
        assert!(seen, "our listener on port {port} is in no dump");
    }
}
