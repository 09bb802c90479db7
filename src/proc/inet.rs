//! /proc/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6}: one record per line,
//! every column netstat and lsof use (including the timer columns procfs drops).

use super::{
    dec_u64, fields, for_each_line_read_ahead, hex_u64, numbered_lines, ParseWarning, ProcRoot,
    Table,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    UdpLite,
    Raw,
}

impl Proto {
    pub const ALL: [Proto; 4] = [Proto::Tcp, Proto::Udp, Proto::UdpLite, Proto::Raw];

    /// The file under /proc/net for this protocol and family.
    pub fn file(self, v6: bool) -> &'static str {
        match (self, v6) {
            (Proto::Tcp, false) => "tcp",
            (Proto::Tcp, true) => "tcp6",
            (Proto::Udp, false) => "udp",
            (Proto::Udp, true) => "udp6",
            (Proto::UdpLite, false) => "udplite",
            (Proto::UdpLite, true) => "udplite6",
            (Proto::Raw, false) => "raw",
            (Proto::Raw, true) => "raw6",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::UdpLite => "udplite",
            Proto::Raw => "raw",
        }
    }
}

/// One socket of an inet table, as the kernel printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InetSocket {
    pub proto: Proto,
    /// Read from the v6 file (addresses may still be v4-mapped).
    pub v6: bool,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// Kernel state number (TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11).
    pub state: u8,
    pub tx_queue: u64,
    pub rx_queue: u64,
    /// Which timer runs (0 none, 1 retransmit, 2 keepalive, 3 timewait, 4 probe).
    pub timer: u8,
    /// Clock ticks (USER_HZ) until the timer fires.
    pub timer_ticks: u64,
    pub retransmits: u64,
    pub uid: u32,
    pub timeout: u64,
    pub inode: u64,
}

/// Parses `8 hex digits` (IPv4, network bytes printed as a host-order word) or
/// `32 hex digits` (IPv6, four such words).
pub fn parse_hex_addr(hex: &[u8]) -> Option<IpAddr> {
    match hex.len() {
        8 => {
            let word = hex_u64(hex)? as u32;
            Some(IpAddr::V4(Ipv4Addr::from(word.to_le_bytes())))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in hex.chunks(8).enumerate() {
                let word = hex_u64(chunk)? as u32;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

fn parse_endpoint(field: &[u8]) -> Option<(IpAddr, u16)> {
    let colon = field.iter().position(|&b| b == b':')?;
    let addr = parse_hex_addr(&field[..colon])?;
    let port = hex_u64(&field[colon + 1..]).filter(|&p| p <= 0xffff)? as u16;
    Some((addr, port))
}

fn parse_pair(field: &[u8]) -> Option<(u64, u64)> {
    let colon = field.iter().position(|&b| b == b':')?;
    Some((hex_u64(&field[..colon])?, hex_u64(&field[colon + 1..])?))
}

/// Parses one data line; `Err` carries the reason for the warning.
pub fn parse_line(line: &[u8], proto: Proto, v6: bool) -> Result<InetSocket, &'static str> {
    let mut f = fields(line);
    let slot = f.next().ok_or("empty line")?;
    if !slot.ends_with(b":") {
        return Err("no slot number");
    }
    let (local, local_port) = f
        .next()
        .and_then(parse_endpoint)
        .ok_or("bad local address")?;
    let (remote, remote_port) = f
        .next()
        .and_then(parse_endpoint)
        .ok_or("bad remote address")?;
    let state = f
        .next()
        .and_then(hex_u64)
        .filter(|&s| s <= 0xff)
        .ok_or("bad state")? as u8;
    let (tx_queue, rx_queue) = f.next().and_then(parse_pair).ok_or("bad queues")?;
    let (timer, timer_ticks) = f.next().and_then(parse_pair).ok_or("bad timer")?;
    let retransmits = f.next().and_then(hex_u64).ok_or("bad retransmit count")?;
    let uid = f
        .next()
        .and_then(dec_u64)
        .filter(|&u| u <= u32::MAX as u64)
        .ok_or("bad uid")? as u32;
    let timeout = f.next().and_then(dec_u64).ok_or("bad timeout")?;
    let inode = f.next().and_then(dec_u64).ok_or("bad inode")?;
    Ok(InetSocket {
        proto,
        v6,
        local,
        local_port,
        remote,
        remote_port,
        state,
        tx_queue,
        rx_queue,
        timer: timer.min(0xff) as u8,
        timer_ticks,
        retransmits,
        uid,
        timeout,
        inode,
    })
}

/// What ss's tcp_show_line() reads of a /proc/net/tcp record after its inode:
/// `ref pointer rto ato quick cwnd ssthresh` and any text after them. Fields are
/// read as its sscanf() reads them (a number's longest prefix, C's conversions), each
/// only when the ones before it were; unread ones stay 0 as in ss.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpTail {
    /// How many of refcount, pointer, rto, ato, quick, cwnd, ssthresh and the rest
    /// were read (0..=8): ss's field count less the nine before them.
    pub read: u8,
    pub refcount: i32,
    /// The socket's (possibly hashed) kernel address.
    pub sk: u64,
    /// icsk_rto and icsk_ack.ato in clock ticks.
    pub rto: i32,
    pub ato: i32,
    /// `quick << 1 | pingpong`.
    pub quick: i32,
    pub cwnd: u32,
    /// -1 in initial slow start; a listener's fastopen queue length.
    pub ssthresh: i32,
    /// The rest of the line after ssthresh and its white space (empty when none).
    pub rest: Vec<u8>,
}

/// A cursor over a line with scanf's number conversions.
struct Scan<'a> {
    s: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// Skips `n` white-space separated words.
    fn skip_words(&mut self, n: usize) -> bool {
        for _ in 0..n {
            self.skip_space();
            let start = self.at;
            while self
                .s
                .get(self.at)
                .is_some_and(|b| !b.is_ascii_whitespace())
            {
                self.at += 1;
            }
            if self.at == start {
                return false;
            }
        }
        true
    }

    /// `%d`/`%u`/`%x`: white space, a sign, digits of `radix` (a `0x` prefix for 16),
    /// as strtol/strtoul's value in 64 bits (saturated on overflow, negated with a
    /// sign); `None` when no digit follows.
    fn number(&mut self, radix: u32, signed: bool) -> Option<i64> {
        self.skip_space();
        let mut at = self.at;
        let negative = match self.s.get(at) {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        // glibc takes a `0x` prefix whole, even with no hex digit after it (`0x` is 0).
        let mut prefixed = false;
        if radix == 16
            && self.s.get(at) == Some(&b'0')
            && matches!(self.s.get(at + 1), Some(b'x' | b'X'))
        {
            at += 2;
            prefixed = true;
        }
        let digits = at;
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(d) = self.s.get(at).and_then(|&b| (b as char).to_digit(radix)) {
            match v
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(d)))
            {
                Some(n) => v = n,
                None => overflow = true,
            }
            at += 1;
        }
        if at == digits && !prefixed {
            return None;
        }
        self.at = at;
        Some(if signed {
            // strtol: clamped to the long's range.
            let max = if negative {
                1u64 << 63
            } else {
                i64::MAX as u64
            };
            let m = if overflow { max } else { v.min(max) };
            if negative {
                (m as i64).wrapping_neg()
            } else {
                m as i64
            }
        } else {
            // strtoul: ULONG_MAX on overflow (whatever the sign), else negated in
            // unsigned arithmetic.
            (if overflow {
                u64::MAX
            } else if negative {
                v.wrapping_neg()
            } else {
                v
            }) as i64
        })
    }
}

/// The [`TcpTail`] of a record `parse_line` accepted (its first ten words are the
/// slot, addresses, state, queues, timer, retransmits, uid, probes and inode).
pub fn tcp_tail(line: &[u8]) -> TcpTail {
    let mut t = TcpTail::default();
    let mut s = Scan { s: line, at: 0 };
    if !s.skip_words(10) {
        return t;
    }
    macro_rules! next {
        ($field:ident, $radix:expr, $signed:expr, $ty:ty) => {
            match s.number($radix, $signed) {
                // C's conversion of the long to the field's type.
                Some(v) => {
                    t.$field = v as $ty;
                    t.read += 1;
                }
                None => return t,
            }
        };
    }
    next!(refcount, 10, true, i32);
    next!(sk, 16, false, u64);
    next!(rto, 10, true, i32);
    next!(ato, 10, true, i32);
    next!(quick, 10, true, i32);
    next!(cwnd, 10, false, u32);
    next!(ssthresh, 10, true, i32);
    s.skip_space();
    // %[^\n] into ss's 256-byte buffer: the line is shorter than that already.
    let rest = &line[s.at..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    if end > 0 {
        t.rest = rest[..end].to_vec();
        t.read += 1;
    }
    t
}

/// One line of a table: `None` for the header and blank lines, else the record or
/// the reason it is not one.
fn table_line(
    number: usize,
    line: &[u8],
    proto: Proto,
    v6: bool,
) -> Option<Result<InetSocket, &'static str>> {
    if number == 1 || line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(parse_line(line, proto, v6))
}

/// Parses a whole table (header line first). `name` labels warnings.
pub fn parse_table(data: &[u8], proto: Proto, v6: bool, name: &str) -> Table<InetSocket> {
    let mut table = Table::default();
    for (number, line) in numbered_lines(data) {
        match table_line(number, line, proto, v6) {
            None => {}
            Some(Ok(sock)) => table.rows.push(sock),
            Some(Err(why)) => table.warnings.push(warning(name, number, why)),
        }
    }
    table
}

fn warning(file: &str, line: usize, why: &str) -> ParseWarning {
    ParseWarning {
        file: file.to_string(),
        line,
        message: why.to_string(),
    }
}

/// Streams `<root>/<net_dir>/<file>` record by record through one small buffer, so a
/// view that prints as it reads never holds the table. `on_row` may stop the walk with
/// an error (a closed stdout); bad lines go to `on_warning`. A missing file gives
/// `Err(NotFound)` before any call, as [`read_table`] does.
pub fn for_each_socket<E: From<std::io::Error>>(
    root: &ProcRoot,
    net_dir: &str,
    proto: Proto,
    v6: bool,
    mut on_row: impl FnMut(InetSocket) -> Result<(), E>,
    mut on_warning: impl FnMut(ParseWarning),
) -> Result<(), E> {
    let rel = format!("{net_dir}/{}", proto.file(v6));
    let file = root.open(&rel)?;
    for_each_line_read_ahead(file, |number, line| {
        match table_line(number, line, proto, v6) {
            None => Ok(()),
            Some(Ok(sock)) => on_row(sock),
            Some(Err(why)) => {
                on_warning(warning(&root.join(&rel).display().to_string(), number, why));
                Ok(())
            }
        }
    })
}

/// Reads `<root>/<net_dir>/<file>`; `net_dir` is `net` or `PID/net` for another namespace.
/// A missing file gives `Err(NotFound)` so callers can report unsupported protocols.
pub fn read_table(
    root: &ProcRoot,
    net_dir: &str,
    proto: Proto,
    v6: bool,
) -> std::io::Result<Table<InetSocket>> {
    let mut table = Table::default();
    for_each_socket::<std::io::Error>(
        root,
        net_dir,
        proto,
        v6,
        |sock| {
            table.rows.push(sock);
            Ok(())
        },
        |w| table.warnings.push(w),
    )?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &[u8] = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19087 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:B7F2 0100007F:0CEA 01 00000003:00000000 02:000AFC80 00000000  1000        0 123456 2 0000000000000000 20 4 30 10 -1\n";

    #[test]
    fn tcp_tails_read_as_sscanf_reads_them() {
        let head = "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19087";
        let tail = |rest: &str| tcp_tail(format!("{head} {rest}").as_bytes());
        let full = tail("2 ffff00001234 20 4 3 10 -1");
        assert_eq!(full.read, 7);
        assert_eq!((full.refcount, full.sk), (2, 0xffff00001234));
        assert_eq!((full.rto, full.ato, full.quick), (20, 4, 3));
        assert_eq!((full.cwnd, full.ssthresh), (10, -1));
        assert!(full.rest.is_empty());
        let opt = tail("1 0 20 4 0 10 0 more  text ");
        assert_eq!(
            (opt.read, opt.rest.as_slice()),
            (8, b"more  text ".as_slice())
        );
        // A number glued to text ends the scan after its digits.
        let glued = tail("1 0x9 20abc 4");
        assert_eq!((glued.read, glued.sk, glued.rto, glued.ato), (3, 9, 20, 0));
        // glibc reads a bare `0x` as 0; strtoull's overflow ignores the sign.
        let bare = tail("1 0x 5 -0x");
        assert_eq!((bare.read, bare.sk, bare.rto, bare.ato), (4, 0, 5, 0));
        let over = tail("1 -123456789abcdef01");
        assert_eq!(over.sk, u64::MAX);
        // strtol's clamp, then C's truncation to int; %u of a negative wraps.
        let big = tail("1 0 99999999999999999999 -1 0 -1 0");
        assert_eq!((big.rto, big.ato, big.cwnd), (-1, -1, u32::MAX));
        assert_eq!(tcp_tail(head.as_bytes()).read, 0);
        assert_eq!(tcp_tail(b"short").read, 0);
    }

    #[test]
    fn parses_tcp_lines() {
        let t = parse_table(TCP, Proto::Tcp, false, "tcp");
        assert!(t.warnings.is_empty());
        assert_eq!(t.rows.len(), 2);
        let l = &t.rows[0];
        assert_eq!(l.local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(l.local_port, 3306);
        assert_eq!(l.state, 0x0a);
        assert_eq!(l.inode, 19087);
        let e = &t.rows[1];
        assert_eq!(e.remote_port, 3306);
        assert_eq!((e.timer, e.timer_ticks), (2, 0xAFC80));
        assert_eq!(e.tx_queue, 3);
        assert_eq!(e.uid, 1000);
    }

    #[test]
    fn parses_v6_and_mapped() {
        let any = parse_hex_addr(b"00000000000000000000000000000000").unwrap();
        assert_eq!(any, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let lo = parse_hex_addr(b"00000000000000000000000001000000").unwrap();
        assert_eq!(lo, IpAddr::V6(Ipv6Addr::LOCALHOST));
        let mapped = parse_hex_addr(b"0000000000000000FFFF00000100007F").unwrap();
        assert_eq!(mapped.to_string(), "::ffff:127.0.0.1");
    }

    #[test]
    fn garbage_lines_warn_and_the_rest_survives() {
        let data = b"header\n   0: zz:0CEA\n\n   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   2: 0100007F:0CEA";
        let t = parse_table(data, Proto::Tcp, false, "tcp");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.warnings.len(), 2);
        assert_eq!(t.warnings[0].line, 2);
        assert_eq!(t.warnings[1].line, 5);
    }
}
