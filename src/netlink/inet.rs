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
const PROC_TCP_STATES: u32 = 0x1ffe;

/// The old `struct inet_diag_req` (family, lengths, ext, sockid, states, dbs) asking
/// for every TCP socket /proc/net/tcp and tcp6 show.
fn tcp_request_both_families() -> [u8; 60] {
    let mut req = [0u8; 60];
    req[52..56].copy_from_slice(&PROC_TCP_STATES.to_ne_bytes());
    req
}

/// Every TCP socket of the namespace `sock` was opened in, as `[IPv4, IPv6]` tables in
/// the order of /proc/net/tcp and /proc/net/tcp6 (the dump walks the same listening
/// and established hashes, bucket by bucket, as their seq_files do).
pub fn dump_tcp(sock: &DiagSocket) -> io::Result<[Table<InetSocket>; 2]> {
    let mut tables: [Table<InetSocket>; 2] = Default::default();
    let mut malformed = 0usize;
    let status =
        sock.dump_as(
            TCPDIAG_GETSOCK,
            &tcp_request_both_families(),
            |payload| match parse_message(payload, Proto::Tcp) {
                Ok(s) => tables[usize::from(s.v6)].rows.push(s),
                Err(_) => malformed += 1,
            },
        )?;
    if malformed + status.malformed > 0 {
        tables[0].warnings.push(ParseWarning {
            file: "sock_diag tcp".to_string(),
            line: 0,
            message: format!(
                "{} malformed netlink messages",
                malformed + status.malformed
            ),
        });
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
