//! ss's column layout: every field of every row is buffered, then the columns are
//! sized from the longest field seen (plus the delimiter) and, on a terminal, the
//! screen width is shared out among them, as iproute2 6.1's render() does.
//!
//! ss buffers in 1 MiB chunks and renders (and frees) what it has when a row ends
//! with 5 or more chunks allocated; later rows keep the widths measured so far. The
//! chunk arithmetic is replayed here so a large table breaks at the same rows.

use crate::netlink::ss_attrs::{NetlinkDiag, PacketDiag, UnixDiag};
use crate::proc::cgroup::CgroupPaths;
use crate::render::ss_detail::{self, DetailOptions};
use crate::render::ss_filters::{self, HeldFilters};
use std::io::{self, Write};

pub const COL_NETID: usize = 0;
pub const COL_STATE: usize = 1;
pub const COL_RECVQ: usize = 2;
pub const COL_SENDQ: usize = 3;
pub const COL_ADDR: usize = 4;
pub const COL_SERV: usize = 5;
pub const COL_RADDR: usize = 6;
pub const COL_RSERV: usize = 7;
pub const COL_PROC: usize = 8;
pub const COL_EXT: usize = 9;
const COL_MAX: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

const ALIGN: [Align; COL_MAX] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
    Align::Left,
    Align::Right,
    Align::Left,
    Align::Left,
    Align::Left,
];
const HEADER: [&str; COL_MAX] = [
    "Netid",
    "State",
    "Recv-Q",
    "Send-Q",
    "Local Address:",
    "Port",
    "Peer Address:",
    "Port",
    "Process",
    "",
];
const LDELIM: [&str; COL_MAX] = ["", " ", " ", " ", " ", "", " ", "", "", ""];

/// BUF_CHUNK minus the chunk header (next and end pointers).
const CHUNK_ROOM: usize = 1024 * 1024 - 16;
const CHUNKS_MAX: usize = 5;

/// ss's chunk bookkeeping, without the memory: how full the tail chunk is.
#[derive(Default)]
struct Chunks {
    /// Allocated since the last render; 0 = no buffer at all.
    count: usize,
    /// Bytes of the tail chunk in use, including the current token's length field.
    used: usize,
    /// Whether the current token is the first in its chunk.
    first: bool,
}

impl Chunks {
    fn new_chunk(&mut self) {
        self.count += 1;
        self.used = 2;
        self.first = true;
    }

    /// out(): `len` more bytes for the current token of length `cur`.
    fn out(&mut self, cur: usize, len: usize) {
        if self.count == 0 {
            self.new_chunk();
        }
        let avail = CHUNK_ROOM - self.used;
        if len < avail || self.first {
            self.used += len.min(avail);
            return;
        }
        // The token moves to a new chunk and is printed again there.
        self.new_chunk();
        self.used += cur;
        let avail = CHUNK_ROOM - self.used;
        self.used += len.min(avail);
    }

    /// field_flush(): the token of length `cur` ends.
    fn flush(&mut self, cur: usize) {
        let pad = cur % 2;
        let avail = CHUNK_ROOM - self.used;
        if avail < pad + 2 {
            self.new_chunk();
            return;
        }
        self.used += pad + 2;
        self.first = false;
    }
}

/// The buffered table: fields in order, each a token of bytes.
pub struct Grid {
    disabled: [bool; COL_MAX],
    max_len: [usize; COL_MAX],
    /// Fields since the last render, back to back; `ends[i]` is where field i ends.
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// The column of the field being written.
    current: usize,
    /// Where the field being written starts in `buf`.
    start: usize,
    chunks: Chunks,
    /// Terminal width, `None` when stdout is not a terminal (compact output).
    screen_width: Option<usize>,
    /// --color: states and the header painted at print time (widths count the text).
    palette: crate::color::Palette,
    /// Whether the next rendered row is the header.
    header_pending: bool,
    /// Bytes at the end of the current field that ss would not have printed
    /// (--all-filters): neither measured for widths nor counted in chunks.
    unmeasured: usize,
}

impl Grid {
    pub fn new(show_netid: bool, show_state: bool, screen_width: Option<usize>) -> Grid {
        let mut disabled = [false; COL_MAX];
        disabled[COL_NETID] = !show_netid;
        disabled[COL_STATE] = !show_state;
        Grid {
            disabled,
            max_len: [0; COL_MAX],
            buf: Vec::with_capacity(1 << 20),
            ends: Vec::with_capacity(1 << 14),
            current: 0,
            start: 0,
            chunks: Chunks::default(),
            screen_width,
            palette: crate::color::Palette::PLAIN,
            header_pending: false,
            unmeasured: 0,
        }
    }

    /// Colours for the printed text (ss has none; rss --color).
    pub fn set_palette(&mut self, palette: crate::color::Palette) {
        self.palette = palette;
    }

    /// Appends to the current field (nothing when its column is disabled).
    pub fn out(&mut self, bytes: &[u8]) {
        if self.disabled[self.current] {
            return;
        }
        self.chunks.out(self.buf.len() - self.start, bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Lets `f` append to the current field in place (ss's detail text, written by
    /// render::ss_detail without a buffer of its own).
    pub fn out_with(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.disabled[self.current] {
            return;
        }
        let before = self.buf.len();
        f(&mut self.buf);
        let len = self.buf.len() - before;
        self.chunks.out(before - self.start, len);
    }

    /// Appends text that ss does not print to the current field: it leaves the column
    /// widths and ss's chunk arithmetic as they are, so every row ss prints is still
    /// printed byte for byte. Only for the last column (COL_EXT), which nothing pads.
    pub fn out_unmeasured(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.disabled[self.current] {
            return;
        }
        let before = self.buf.len();
        f(&mut self.buf);
        self.unmeasured += self.buf.len() - before;
    }

    pub fn out_str(&mut self, s: &str) {
        self.out(s.as_bytes());
    }

    /// `write!` into the current field.
    pub fn out_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        if self.disabled[self.current] {
            return;
        }
        let before = self.buf.len();
        let _ = self.buf.write_fmt(args);
        let len = self.buf.len() - before;
        self.chunks.out(before - self.start, len);
    }

    fn flush_field(&mut self) {
        if self.disabled[self.current] {
            return;
        }
        let len = self.buf.len() - self.start - std::mem::take(&mut self.unmeasured);
        if self.chunks.count == 0 {
            self.chunks.new_chunk();
        }
        self.max_len[self.current] = self.max_len[self.current].max(len);
        self.chunks.flush(len);
        self.ends.push(self.buf.len());
        self.start = self.buf.len();
    }

    /// field_next(): ends the field; at the end of a row with 5 chunks in use, ss
    /// renders what it has instead.
    pub fn next(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.current == COL_MAX - 1 && self.chunks.count >= CHUNKS_MAX {
            return self.render(w);
        }
        self.flush_field();
        self.current = if self.current == COL_MAX - 1 {
            0
        } else {
            self.current + 1
        };
        Ok(())
    }

    /// field_set(): moves on to column `col` (possibly in the next row).
    pub fn set(&mut self, col: usize, w: &mut impl Write) -> io::Result<()> {
        while self.current != col {
            self.next(w)?;
        }
        Ok(())
    }

    /// The header row.
    pub fn header(&mut self, w: &mut impl Write) -> io::Result<()> {
        self.header_pending = true;
        while self.current != COL_MAX - 1 {
            if !self.disabled[self.current] {
                self.out_str(HEADER[self.current]);
            }
            self.next(w)?;
        }
        Ok(())
    }

    /// render_calc_width(): each column's width from what it held.
    fn widths(&self) -> [usize; COL_MAX] {
        let mut width = [0usize; COL_MAX];
        let screen = self.screen_width.unwrap_or(usize::MAX);
        let mut first = true;
        for c in 0..COL_MAX {
            if self.disabled[c] {
                continue;
            }
            width[c] = if !first && self.max_len[c] > 0 {
                self.max_len[c] + LDELIM[c].len()
            } else {
                self.max_len[c]
            };
            width[c] = width[c].min(screen);
            if width[c] > 0 {
                first = false;
            }
        }
        if self.screen_width.is_none() {
            return width;
        }
        // Share the screen out among the columns of each line, favouring the left.
        let mut eol: isize = -1;
        let (mut len, mut linecols) = (0usize, 0usize);
        let mut c: isize = 0;
        while (c as usize) < COL_MAX {
            let cu = c as usize;
            if width[cu] == 0 {
                c += 1;
                continue;
            }
            linecols += 1;
            len += width[cu];
            let last = !(cu + 1..COL_MAX).any(|t| width[t] > 0);
            if !last && len < screen {
                c += 1;
                continue;
            }
            if len != screen {
                if len > screen {
                    len -= width[cu];
                    c -= 1;
                    linecols -= 1;
                }
                let pad = screen.saturating_sub(len);
                if let Some(spacing) = pad.checked_div(linecols) {
                    let mut rem = pad % linecols;
                    let mut t = c;
                    while t > eol {
                        let tu = t as usize;
                        if width[tu] > 0 {
                            width[tu] += spacing;
                            if rem > 0 {
                                width[tu] += 1;
                                rem -= 1;
                            }
                        }
                        t -= 1;
                    }
                }
            }
            eol = c;
            len = 0;
            linecols = 0;
            c += 1;
        }
        width
    }

    /// render(): prints the buffered fields with their spacing and frees them.
    pub fn render(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.chunks.count == 0 {
            self.current = 0;
            return Ok(());
        }
        // The field being written ends the buffer, unmeasured (ss does not flush it).
        self.ends.push(self.buf.len());
        let width = self.widths();
        let mut f = 0;
        while f < COL_MAX && width[f] == 0 {
            f += 1;
        }
        let mut line_started = false;
        let mut begin = 0;
        for &end in &self.ends {
            let f_ = f.min(COL_MAX - 1);
            let token = &self.buf[begin..end];
            begin = end;
            let mut printed = 0;
            if line_started {
                w.write_all(LDELIM[f_].as_bytes())?;
                printed = LDELIM[f_].len();
            }
            line_started = true;
            if width[f_] > 0 && ALIGN[f_] == Align::Right {
                let s = width[f_] as isize - token.len() as isize - printed as isize;
                if s > 0 {
                    spaces(w, s as usize)?;
                    printed += s as usize;
                }
            }
            self.write_token(w, f_, token)?;
            printed += token.len();
            if width[f_] > 0 && ALIGN[f_] == Align::Left && width[f_] > printed {
                spaces(w, width[f_] - printed)?;
            }
            loop {
                if f == COL_MAX - 1 {
                    w.write_all(b"\n")?;
                    f = 0;
                    line_started = false;
                    self.header_pending = false;
                } else {
                    f += 1;
                }
                if !self.disabled[f] {
                    break;
                }
            }
        }
        if line_started {
            w.write_all(b"\n")?;
        }
        self.buf.clear();
        self.ends.clear();
        self.start = 0;
        self.chunks = Chunks::default();
        self.current = 0;
        self.unmeasured = 0;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Rows: what ss prints in each field, family by family.
// ---------------------------------------------------------------------------

use crate::netlink::inet::SsInetSocket;
use crate::netlink::nldiag::DiagNetlinkSocket;
use crate::netlink::packet::DiagPacketSocket;
use crate::netlink::unix::DiagUnixSocket;
use crate::resolve::{HostNames, Services};
use crate::snapshot::Owners;
use std::net::IpAddr;

/// ss's state names, by kernel state number.
const STATE_NAMES: [&str; 12] = [
    "UNKNOWN",
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "UNCONN",
    "CLOSE-WAIT",
    "LAST-ACK",
    "LISTEN",
    "CLOSING",
];

pub fn state_name(state: u8) -> &'static str {
    STATE_NAMES
        .get(state as usize)
        .copied()
        .unwrap_or("UNKNOWN")
}

/// proto_name(): the Netid of an inet row.
pub fn inet_netid(protocol: u16) -> &'static str {
    match protocol {
        0 => "raw",
        17 => "udp",
        6 => "tcp",
        262 => "mptcp",
        132 => "sctp",
        33 => "dccp",
        58 => "icmp6",
        _ => "???",
    }
}

pub fn unix_netid(sock_type: u8) -> &'static str {
    match sock_type as i32 {
        libc::SOCK_STREAM => "u_str",
        libc::SOCK_SEQPACKET => "u_seq",
        _ => "u_dgr",
    }
}

/// ll_proto_n2a's names of ethertypes (first match wins, as in iproute2's table).
const LL_PROTOS: &[(u16, &str)] = &[
    (0x0060, "loop"),
    (0x0200, "pup"),
    (0x0201, "pupat"),
    (0x0800, "ip"),
    (0x0805, "x25"),
    (0x0806, "arp"),
    (0x08ff, "bpq"),
    (0x0a00, "ieeepup"),
    (0x0a01, "ieeepupat"),
    (0x6000, "dec"),
    (0x6001, "dna_dl"),
    (0x6002, "dna_rc"),
    (0x6003, "dna_rt"),
    (0x6004, "lat"),
    (0x6005, "diag"),
    (0x6006, "cust"),
    (0x6007, "sca"),
    (0x8035, "rarp"),
    (0x809b, "atalk"),
    (0x80f3, "aarp"),
    (0x8137, "ipx"),
    (0x86dd, "ipv6"),
    (0x8863, "ppp_disc"),
    (0x8864, "ppp_ses"),
    (0x884c, "atmmpoa"),
    (0x8884, "atmfate"),
    (0x0001, "802_3"),
    (0x0002, "ax25"),
    (0x0003, "all"),
    (0x0004, "802_2"),
    (0x0005, "snap"),
    (0x0006, "ddcmp"),
    (0x0007, "wan_ppp"),
    (0x0008, "ppp_mp"),
    (0x0009, "localtalk"),
    (0x000c, "can"),
    (0x0010, "ppptalk"),
    (0x0011, "tr_802_2"),
    (0x0015, "mobitex"),
    (0x0016, "control"),
    (0x0017, "irda"),
    (0x0018, "econet"),
    (0x88ca, "tipc"),
    (0x8892, "profinet"),
    (0x88a2, "aoe"),
    (0x88a4, "ethercat"),
    (0x8100, "802.1Q"),
    (0x88a8, "802.1ad"),
    (0x8847, "mpls_uc"),
    (0x8848, "mpls_mc"),
    (0x6558, "teb"),
    (0x8100, "802.1Q"),
    (0x88cc, "LLDP"),
    (0x0800, "ipv4"),
];

/// nl_proto_n2a's names (iproute2's table, which /etc/iproute2/nl_protos repeats).
fn netlink_proto(proto: u8) -> Option<&'static str> {
    Some(match proto {
        0 => "rtnl",
        1 => "unused",
        2 => "usersock",
        3 => "fw",
        4 => "tcpdiag",
        5 => "nflog",
        6 => "xfrm",
        7 => "selinux",
        8 => "iscsi",
        9 => "audit",
        10 => "fiblookup",
        11 => "connector",
        12 => "nft",
        13 => "ip6fw",
        14 => "dec-rt",
        15 => "uevent",
        16 => "genl",
        18 => "scsi-trans",
        19 => "ecryptfs",
        20 => "rdma",
        21 => "crypto",
        _ => return None,
    })
}

/// Which names a row's fields get.
pub struct RowContext<'a> {
    pub numeric: bool,
    pub resolve: bool,
    pub services: &'a Services,
    pub hosts: &'a HostNames,
    /// ip_local_port_range: ports in it are never given service names.
    pub ephemeral: (u16, u16),
    /// With -p/-T: every holder of each socket.
    pub owners: Option<&'a Owners>,
    pub show_threads: bool,
    /// Interface index → name, for `%ifname` and packet sockets.
    pub ifname: &'a dyn Fn(u32) -> String,
    /// Netlink port id → `comm/pid` (reads /proc/PID/stat, as ss does).
    pub netlink_owner: &'a dyn Fn(u32) -> Option<Vec<u8>>,
    /// -o/-e/-m/-i/--tos/--cgroup/--inet-sockopt/-b, written from each row's raw reply.
    pub details: DetailOptions,
    /// cgroup v2 ids → paths for `cgroup:` (walked on first use).
    pub cgroups: &'a CgroupPaths,
    /// --all-filters: every listed socket's filter, read before rendering.
    pub filters: Option<&'a HeldFilters>,
}

/// sock_state_print(): Netid, State and the queues, then on to the address.
fn state_fields(
    g: &mut Grid,
    w: &mut impl Write,
    netid: &str,
    state: u8,
    rq: u32,
    wq: u32,
) -> io::Result<()> {
    g.set(COL_NETID, w)?;
    g.out_str(netid);
    g.set(COL_STATE, w)?;
    g.out_str(state_name(state));
    g.set(COL_RECVQ, w)?;
    g.out_fmt(format_args!("{:<6}", rq as i32));
    g.set(COL_SENDQ, w)?;
    g.out_fmt(format_args!("{:<6}", wq as i32));
    g.set(COL_ADDR, w)
}

/// sock_addr_print(): `addr` + delimiter in one field, the port in the next.
fn addr_fields(
    g: &mut Grid,
    w: &mut impl Write,
    addr: &[u8],
    delim: &str,
    port: &[u8],
) -> io::Result<()> {
    g.out(addr);
    g.out_str(delim);
    g.next(w)?;
    g.out(port);
    g.next(w)
}

/// ` users:((...),...)`: every holder, the last found first, as ss's hash chain
/// lists them. Process names are escaped (ss prints them raw).
fn users(g: &mut Grid, ctx: &RowContext<'_>, inode: u64) {
    let Some(owners) = ctx.owners else { return };
    if inode == 0 {
        return;
    }
    let holders: Vec<_> = owners.holders(inode).collect();
    if holders.is_empty() {
        return;
    }
    g.out_str(" users:(");
    for (i, (process, fd)) in holders.iter().rev().enumerate() {
        if i > 0 {
            g.out_str(",");
        }
        let comm = process.comm.as_deref().unwrap_or_default();
        // ss reads the name from /proc/PID/stat as `(%[^)])`.
        let comm = comm.split(|&b| b == b')').next().unwrap_or_default();
        g.out_str("(\"");
        g.out_str(&crate::escape::escape(comm));
        g.out_fmt(format_args!("\",pid={},", process.pid));
        if ctx.show_threads {
            g.out_fmt(format_args!("tid={},", process.tid.unwrap_or(process.pid)));
        }
        g.out_fmt(format_args!("fd={})", fd));
    }
    g.out_str(")");
}

impl RowContext<'_> {
    /// resolve_service(), written into the current field: `*` for 0, a service name
    /// unless numeric or ephemeral, a protocol name for raw sockets.
    fn service(&self, g: &mut Grid, port: u16, table: Table) {
        if port == 0 {
            return g.out_str("*");
        }
        if self.numeric {
            return g.out_fmt(format_args!("{port}"));
        }
        if table == Table::Raw {
            return match self.services.protocol(port) {
                Some(name) => g.out_str(name),
                None => g.out_fmt(format_args!("ipproto-{port}")),
            };
        }
        // -r: a port registered with rpcbind, even an ephemeral one.
        if let Some(rpc) = self.rpc_name(port, table) {
            return match rpc {
                Some(name) => g.out_str(name),
                None => g.out_fmt(format_args!("{port}")),
            };
        }
        if !(self.ephemeral.0..=self.ephemeral.1).contains(&port) {
            let name = match table {
                Table::Udp => self.services.udp(port),
                Table::Any => self.services.tcp(port).or_else(|| self.services.udp(port)),
                _ => self.services.tcp(port),
            };
            if let Some(name) = name {
                return g.out_str(name);
            }
        }
        g.out_fmt(format_args!("{port}"))
    }

    /// ss matches rpcbind's tcp/udp entries against the table being shown.
    fn rpc_name(&self, port: u16, table: Table) -> Option<Option<&str>> {
        match table {
            Table::Tcp => self.services.rpc(port, false),
            Table::Udp => self.services.rpc(port, true),
            Table::Raw | Table::Any => None,
        }
    }

    /// inet_addr_print()'s host part, written into the current field.
    fn host(&self, g: &mut Grid, addr: &IpAddr, v6only: bool) {
        if let Some(name) = self.resolved(addr) {
            // A name has no ':'; an IPv6 address the resolver gave back would.
            if addr.is_ipv6() && name.contains(':') {
                return g.out_fmt(format_args!("[{name}]"));
            }
            return g.out_str(&name);
        }
        match addr {
            IpAddr::V4(a) => g.out_fmt(format_args!("{a}")),
            IpAddr::V6(a) => {
                if !v6only && a.is_unspecified() {
                    return g.out_str("*");
                }
                g.out_fmt(format_args!("[{}]", crate::addr::ntop6(a)))
            }
        }
    }

    fn resolved(&self, addr: &IpAddr) -> Option<std::borrow::Cow<'_, str>> {
        if !self.resolve {
            return None;
        }
        self.hosts
            .get(&lookup_key(addr))
            .map(|n| crate::escape::escape(n.as_bytes()))
    }
}

/// The address ss asks the resolver about: v4-mapped IPv6 as IPv4.
pub fn lookup_key(addr: &IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => *addr,
        },
        v4 => *v4,
    }
}

/// Which table a row came from; decides service names (ss's dg_proto).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Tcp,
    Udp,
    Raw,
    /// No table (-E: ss's dg_proto is still unset): a name of either protocol.
    Any,
}

pub fn inet_row(
    g: &mut Grid,
    w: &mut impl Write,
    ctx: &RowContext<'_>,
    s: &SsInetSocket,
    table: Table,
) -> io::Result<()> {
    let sock = &s.sock;
    state_fields(
        g,
        w,
        inet_netid(s.protocol),
        sock.state,
        sock.rx_queue as u32,
        sock.tx_queue as u32,
    )?;
    let v6only = s.v6only.unwrap_or(false) && sock.v6;
    ctx.host(g, &sock.local, v6only);
    if s.iface != 0 {
        g.out_str("%");
        g.out_str(&(ctx.ifname)(s.iface));
    }
    g.out_str(":");
    g.next(w)?;
    ctx.service(g, sock.local_port, table);
    g.next(w)?;
    ctx.host(g, &sock.remote, v6only);
    g.out_str(":");
    g.next(w)?;
    ctx.service(g, sock.remote_port, table);
    g.next(w)?;
    users(g, ctx, sock.inode);
    // Details follow users:(...) in the same field.
    if let Some(raw) = s.raw.as_deref().filter(|_| ctx.details.any()) {
        let protocol = s.protocol.min(255) as u8;
        g.out_with(|buf| ss_detail::inet_payload(buf, raw, protocol, &ctx.details, ctx.cgroups));
    } else if let Some(tail) = s.proc_tail.as_deref().filter(|_| ctx.details.any()) {
        let hz = ss_detail::user_hz();
        g.out_with(|buf| ss_detail::proc_tcp(buf, sock, tail, hz, &ctx.details));
    }
    ctx.filter_text(g, w, sock.inode, None)
}

pub fn unix_row(
    g: &mut Grid,
    w: &mut impl Write,
    ctx: &RowContext<'_>,
    s: &DiagUnixSocket,
) -> io::Result<()> {
    state_fields(g, w, unix_netid(s.sock_type), s.state, s.rqueue, s.wqueue)?;
    match &s.name {
        // An abstract name: every NUL shows as '@'.
        Some(n) if n.first() == Some(&0) => {
            let at: Vec<u8> = n.iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
            g.out_str(&crate::escape::escape(&at));
        }
        Some(n) => g.out_str(&crate::escape::escape(n)),
        None => g.out_str("*"),
    }
    g.out_str(" ");
    g.next(w)?;
    g.out_fmt(format_args!("{}", s.inode as u32 as i32));
    g.next(w)?;
    g.out_str("* ");
    g.next(w)?;
    g.out_fmt(format_args!("{}", s.peer.unwrap_or(0) as u32 as i32));
    g.next(w)?;
    users(g, ctx, s.inode);
    if let Some(d) = s
        .raw
        .as_deref()
        .filter(|_| ctx.details.any())
        .and_then(UnixDiag::parse)
    {
        g.out_with(|buf| ss_detail::unix(buf, &d, &ctx.details));
    }
    ctx.filter_text(g, w, s.inode, None)
}

pub fn packet_row(
    g: &mut Grid,
    w: &mut impl Write,
    ctx: &RowContext<'_>,
    s: &DiagPacketSocket,
) -> io::Result<()> {
    let netid = if s.sock_type as i32 == libc::SOCK_RAW {
        "p_raw"
    } else {
        "p_dgr"
    };
    state_fields(g, w, netid, 7, s.rmem_alloc.unwrap_or(0), 0)?;
    let addr = if s.protocol == 3 {
        "*".to_string()
    } else {
        let name = (!ctx.numeric)
            .then(|| LL_PROTOS.iter().find(|(id, _)| *id == s.protocol))
            .flatten();
        match name {
            Some((_, name)) => name.to_string(),
            None => format!("[{}]", s.protocol),
        }
    };
    let port = if s.iface == 0 {
        "*".to_string()
    } else {
        (ctx.ifname)(s.iface)
    };
    addr_fields(g, w, addr.as_bytes(), ":", port.as_bytes())?;
    addr_fields(g, w, b"", "*", b"")?;
    users(g, ctx, s.inode);
    if let Some(d) = s
        .raw
        .as_deref()
        .filter(|_| ctx.details.any())
        .and_then(PacketDiag::parse)
    {
        g.out_with(|buf| ss_detail::packet(buf, &d, &ctx.details));
    } else if s.from_proc && ctx.details.extended {
        g.out_with(|buf| ss_detail::proc_packet(buf, s.uid, s.inode, &ctx.details));
    }
    ctx.filter_text(g, w, s.inode, packet_diag_filter(s))
}

/// The program PACKET_DIAG_FILTER gave (what ss -b lists), when the reply was kept.
pub fn packet_diag_filter(s: &DiagPacketSocket) -> Option<Vec<crate::bpf::Insn>> {
    let d = s.raw.as_deref().and_then(PacketDiag::parse)?;
    ss_filters::diag_program(d.filter)
}

impl RowContext<'_> {
    /// --all-filters' text after the row, when asked for.
    fn filter_text(
        &self,
        g: &mut Grid,
        w: &mut impl Write,
        inode: u64,
        diag: Option<Vec<crate::bpf::Insn>>,
    ) -> io::Result<()> {
        match self.filters {
            Some(f) => ss_filters::text(g, w, f, inode, diag, self.details.oneline),
            None => Ok(()),
        }
    }
}

pub fn netlink_row(
    g: &mut Grid,
    w: &mut impl Write,
    ctx: &RowContext<'_>,
    s: &DiagNetlinkSocket,
) -> io::Result<()> {
    state_fields(g, w, "nl", 7, s.rmem_alloc, s.wmem_alloc)?;
    let proto = match netlink_proto(s.protocol).filter(|_| !ctx.numeric) {
        Some(name) => name.to_string(),
        None => s.protocol.to_string(),
    };
    let pid = s.portid as i32;
    let owner: Vec<u8> = if pid == -1 {
        b"*".to_vec()
    } else if ctx.numeric || pid < 0 {
        pid.to_string().into_bytes()
    } else if pid == 0 {
        b"kernel".to_vec()
    } else {
        match (ctx.netlink_owner)(pid as u32) {
            Some(comm) => {
                let mut v = crate::escape::escape(&comm).into_owned().into_bytes();
                v.extend_from_slice(format!("/{pid}").as_bytes());
                v
            }
            None => pid.to_string().into_bytes(),
        }
    };
    addr_fields(g, w, proto.as_bytes(), ":", &owner)?;
    if s.state == 1 {
        let group = (s.dst_group as i32).to_string();
        let port = (s.dst_portid as i32).to_string();
        addr_fields(g, w, group.as_bytes(), ":", port.as_bytes())?;
    } else {
        addr_fields(g, w, b"", "*", b"")?;
    }
    if let Some(d) = s
        .raw
        .as_deref()
        .filter(|_| ctx.details.any())
        .and_then(NetlinkDiag::parse)
    {
        g.out_with(|buf| ss_detail::netlink(buf, &d, &ctx.details));
    } else if let Some(ids) = s.file_ids.filter(|_| ctx.details.extended) {
        g.out_with(|buf| ss_detail::proc_netlink(buf, ids.sk, ids.cb, ids.groups, &ctx.details));
    }
    ctx.filter_text(g, w, s.inode, None)
}

impl Grid {
    /// One field's text, painted when --color asks: the header bold, states by kind.
    fn write_token(&self, w: &mut impl Write, col: usize, token: &[u8]) -> io::Result<()> {
        use crate::color::Role;
        if !self.palette.enabled() || token.is_empty() {
            return w.write_all(token);
        }
        let text = String::from_utf8_lossy(token);
        let role = if self.header_pending {
            Role::Header
        } else if col == COL_STATE {
            // The palette knows states by netstat's names.
            Role::State(match text.as_ref() {
                "ESTAB" => "ESTABLISHED",
                "SYN-SENT" => "SYN_SENT",
                "SYN-RECV" => "SYN_RECV",
                "FIN-WAIT-1" => "FIN_WAIT1",
                "FIN-WAIT-2" => "FIN_WAIT2",
                "TIME-WAIT" => "TIME_WAIT",
                "CLOSE-WAIT" => "CLOSE_WAIT",
                "LAST-ACK" => "LAST_ACK",
                "UNCONN" => "",
                other => other,
            })
        } else {
            Role::Plain
        };
        w.write_all(self.palette.paint(role, &text).as_bytes())
    }
}

// ---------------------------------------------------------------------------
// --json: the rows of the text view as `ss_socket` objects (docs/json.md).
// ---------------------------------------------------------------------------

/// Where a row came from, for --json.
pub struct NamespaceTag<'a> {
    pub inode: Option<u64>,
    pub name: Option<&'a str>,
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn holders_json(ctx: &RowContext<'_>, inode: u64) -> serde_json::Value {
    let Some(owners) = ctx.owners.filter(|_| inode != 0) else {
        return serde_json::Value::Array(Vec::new());
    };
    let list: Vec<serde_json::Value> = owners
        .holders(inode)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|(p, fd)| {
            let comm = p.comm.as_deref().unwrap_or_default();
            serde_json::json!({
                "name": lossy(comm.split(|&b| b == b')').next().unwrap_or_default()),
                "pid": p.pid,
                "tid": if ctx.show_threads { Some(p.tid.unwrap_or(p.pid)) } else { None },
                "fd": fd,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

impl RowContext<'_> {
    fn service_json(&self, port: u16, table: Table) -> Option<String> {
        if port == 0 || self.numeric {
            return None;
        }
        if let Some(rpc) = self.rpc_name(port, table) {
            return rpc.map(str::to_string);
        }
        let name = match table {
            Table::Raw => self.services.protocol(port),
            _ if (self.ephemeral.0..=self.ephemeral.1).contains(&port) => None,
            Table::Udp => self.services.udp(port),
            Table::Tcp => self.services.tcp(port),
            Table::Any => self.services.tcp(port).or_else(|| self.services.udp(port)),
        };
        name.map(str::to_string)
    }
}

pub fn inet_json(
    ctx: &RowContext<'_>,
    s: &SsInetSocket,
    table: Table,
    ns: &NamespaceTag<'_>,
) -> serde_json::Value {
    let sock = &s.sock;
    let addr = |a: &IpAddr| match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => crate::addr::ntop6(v6),
    };
    serde_json::json!({
        "netid": inet_netid(s.protocol),
        "state": state_name(sock.state),
        "state_code": sock.state,
        "recv_queue": sock.rx_queue,
        "send_queue": sock.tx_queue,
        "local_address": addr(&sock.local),
        "local_port": sock.local_port,
        "local_host": ctx.resolved(&sock.local).map(|n| n.into_owned()),
        "local_service": ctx.service_json(sock.local_port, table),
        "peer_address": addr(&sock.remote),
        "peer_port": sock.remote_port,
        "peer_host": ctx.resolved(&sock.remote).map(|n| n.into_owned()),
        "peer_service": ctx.service_json(sock.remote_port, table),
        "interface": (s.iface != 0).then(|| (ctx.ifname)(s.iface)),
        "v6only": s.v6only.filter(|_| sock.v6),
        "inode": sock.inode,
        "uid": Some(sock.uid),
        "netns": ns.inode,
        "netns_name": ns.name,
        "processes": holders_json(ctx, sock.inode),
        "filter": ss_filters::json(ctx.filters, sock.inode, None),
    })
}

pub fn unix_json(
    ctx: &RowContext<'_>,
    s: &DiagUnixSocket,
    ns: &NamespaceTag<'_>,
) -> serde_json::Value {
    let name = s.name.as_ref().map(|n| {
        let at: Vec<u8> = n.iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
        lossy(&at)
    });
    serde_json::json!({
        "netid": unix_netid(s.sock_type),
        "state": state_name(s.state),
        "state_code": s.state,
        "recv_queue": s.rqueue,
        "send_queue": s.wqueue,
        "local_address": name,
        "local_port": s.inode,
        "local_host": null,
        "local_service": null,
        "peer_address": null,
        "peer_port": s.peer.unwrap_or(0),
        "peer_host": null,
        "peer_service": null,
        "interface": null,
        "v6only": null,
        "inode": s.inode,
        "uid": null,
        "netns": ns.inode,
        "netns_name": ns.name,
        "processes": holders_json(ctx, s.inode),
        "filter": ss_filters::json(ctx.filters, s.inode, None),
    })
}

pub fn packet_json(
    ctx: &RowContext<'_>,
    s: &DiagPacketSocket,
    ns: &NamespaceTag<'_>,
) -> serde_json::Value {
    let proto = (s.protocol != 3).then(|| {
        LL_PROTOS
            .iter()
            .find(|(id, _)| *id == s.protocol)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| format!("[{}]", s.protocol))
    });
    serde_json::json!({
        "netid": if s.sock_type as i32 == libc::SOCK_RAW { "p_raw" } else { "p_dgr" },
        "state": "UNCONN",
        "state_code": 7,
        "recv_queue": s.rmem_alloc.unwrap_or(0),
        "send_queue": 0,
        "local_address": proto,
        "local_port": s.protocol,
        "local_host": null,
        "local_service": null,
        "peer_address": null,
        "peer_port": null,
        "peer_host": null,
        "peer_service": null,
        "interface": (s.iface != 0).then(|| (ctx.ifname)(s.iface)),
        "v6only": null,
        "inode": s.inode,
        "uid": Some(s.uid),
        "netns": ns.inode,
        "netns_name": ns.name,
        "processes": holders_json(ctx, s.inode),
        "filter": ss_filters::json(ctx.filters, s.inode, packet_diag_filter(s)),
    })
}

pub fn netlink_json(
    ctx: &RowContext<'_>,
    s: &DiagNetlinkSocket,
    ns: &NamespaceTag<'_>,
) -> serde_json::Value {
    serde_json::json!({
        "netid": "nl",
        "state": "UNCONN",
        "state_code": 7,
        "recv_queue": s.rmem_alloc,
        "send_queue": s.wmem_alloc,
        "local_address": netlink_proto(s.protocol).map(str::to_string).unwrap_or_else(|| s.protocol.to_string()),
        "local_port": s.portid as i32,
        "local_host": null,
        "local_service": null,
        "peer_address": (s.state == 1).then(|| s.dst_group.to_string()),
        "peer_port": (s.state == 1).then_some(s.dst_portid as i32),
        "peer_host": null,
        "peer_service": null,
        "interface": null,
        "v6only": null,
        "inode": s.inode,
        "uid": null,
        "netns": ns.inode,
        "netns_name": ns.name,
        "processes": [],
        "filter": ss_filters::json(ctx.filters, s.inode, None),
    })
}

fn spaces(w: &mut impl Write, n: usize) -> io::Result<()> {
    const SPACES: [u8; 64] = [b' '; 64];
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        left -= k;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(g: &mut Grid, out: &mut Vec<u8>, fields: &[&str]) {
        g.set(COL_NETID, out).unwrap();
        for (i, f) in fields.iter().enumerate() {
            g.set(i, out).unwrap();
            g.out_str(f);
        }
    }

    #[test]
    fn unmeasured_text_leaves_every_row_as_it_was() {
        let rows: [&[&str]; 2] = [
            &[
                "", "LISTEN", "0     ", "128   ", "0.0.0.0:", "2024", "0.0.0.0:", "*", "",
            ],
            &[
                "",
                "UNCONN",
                "0     ",
                "0     ",
                "127.0.0.1:",
                "53",
                "0.0.0.0:",
                "*",
                "",
            ],
        ];
        let mut plain = Vec::new();
        let mut g = Grid::new(false, true, Some(80));
        for r in rows {
            row(&mut g, &mut plain, r);
        }
        g.render(&mut plain).unwrap();
        let mut extra = Vec::new();
        let mut g = Grid::new(false, true, Some(80));
        row(&mut g, &mut extra, rows[0]);
        g.set(COL_EXT, &mut extra).unwrap();
        let long = format!("\n\tbpf filter (1): {}", " 0x06 0 0 0,".repeat(40));
        g.out_unmeasured(|b| b.extend_from_slice(long.as_bytes()));
        row(&mut g, &mut extra, rows[1]);
        g.render(&mut extra).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        let (first, second) = plain.split_once('\n').unwrap();
        assert_eq!(
            String::from_utf8(extra).unwrap(),
            format!("{first}{long}\n{second}")
        );
    }

    #[test]
    fn compact_widths_as_ss_prints_them() {
        let mut out = Vec::new();
        let mut g = Grid::new(false, true, None);
        g.header(&mut out).unwrap();
        row(
            &mut g,
            &mut out,
            &[
                "", "LISTEN", "0     ", "128   ", "0.0.0.0:", "2024", "0.0.0.0:", "*", "",
            ],
        );
        row(
            &mut g,
            &mut out,
            &[
                "",
                "TIME-WAIT",
                "0     ",
                "0     ",
                "192.0.2.2:",
                "54266",
                "203.0.113.80:",
                "80",
                "",
            ],
        );
        g.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
             LISTEN    0      128          0.0.0.0:2024       0.0.0.0:*          \n\
             TIME-WAIT 0      0          192.0.2.2:54266 203.0.113.80:80         \n"
        );
    }

    #[test]
    fn terminal_width_is_shared_out() {
        let mut out = Vec::new();
        let mut g = Grid::new(false, true, Some(100));
        g.header(&mut out).unwrap();
        g.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.trim_end_matches('\n').len(), 100, "{text:?}");
    }
}
