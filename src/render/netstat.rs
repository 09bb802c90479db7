//! netstat's socket tables, byte for byte (see shared/spec/formats.md, A2-A4).

use super::text::{self, Cell, Decimal};
use crate::addr::{netstat_endpoint_parts, write_netstat_host};
use crate::color::{Palette, Role};
use crate::escape::escape;
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::unix::{UnixSocket, SO_ACCEPTCON, SO_NOSPACE, SO_WAITDATA};
use crate::resolve::{HostNames, Services, Users};
use crate::snapshot::{Owners, ProcessRecord};
use std::io::{self, Write};
use std::net::IpAddr;

/// Which rows: netstat's -a, -l, or the default (connected only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rows {
    #[default]
    Connected,
    Listening,
    All,
}

impl Rows {
    fn title(self) -> &'static str {
        match self {
            Rows::All => "(servers and established)",
            Rows::Listening => "(only servers)",
            Rows::Connected => "(w/o servers)",
        }
    }

    fn keep(self, is_server: bool) -> bool {
        match self {
            Rows::All => true,
            Rows::Listening => is_server,
            Rows::Connected => !is_server,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SocketOptions {
    pub rows: Rows,
    pub numeric_hosts: bool,
    pub numeric_ports: bool,
    pub numeric_users: bool,
    /// -e: User and Inode columns.
    pub extend: bool,
    /// -p: PID/Program name column.
    pub programs: bool,
    /// -o: Timer column.
    pub timers: bool,
    /// -W: no address truncation.
    pub wide: bool,
    /// --all-netns: a namespace column after the last netstat column.
    pub netns_column: bool,
    /// Terminal colour (off for pipes and files, which get netstat's bytes).
    pub palette: Palette,
}

/// Names and owners a row may need; all looked up beforehand, never from /proc here.
pub struct RowContext<'a> {
    pub services: &'a Services,
    pub hosts: &'a HostNames,
    pub users: &'a mut Users,
    pub owners: Option<&'a Owners>,
    /// The program column's texts, made once per process.
    pub programs: ProgramTexts,
    /// The namespace the next rows come from (printed with `netns_column`).
    pub netns: Option<&'a str>,
}

/// netstat's server test differs per protocol: TCP looks at the remote port,
/// UDP and raw at the remote address.
pub fn inet_is_server(s: &InetSocket) -> bool {
    match s.proto {
        Proto::Tcp => s.remote_port == 0,
        _ => s.remote.is_unspecified(),
    }
}

pub fn inet_selected(s: &InetSocket, rows: Rows) -> bool {
    rows.keep(inet_is_server(s))
}

pub fn unix_selected(s: &UnixSocket, rows: Rows) -> bool {
    rows.keep(s.is_listening())
}

/// Addresses a set of rows will print by name (for the concurrent resolver).
pub fn addresses_to_resolve<'a>(
    rows: impl Iterator<Item = &'a InetSocket> + 'a,
) -> impl Iterator<Item = IpAddr> + 'a {
    rows.flat_map(|s| [s.local, s.remote])
        .filter(crate::addr::netstat_wants_lookup)
}

pub fn write_inet_header(w: &mut impl Write, opts: &SocketOptions) -> io::Result<()> {
    let title = format!("Active Internet connections {}", opts.rows.title());
    writeln!(w, "{}", opts.palette.paint(Role::Header, &title))?;
    write!(
        w,
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State      "
    )?;
    if opts.extend {
        write!(w, " User       Inode     ")?;
    }
    if opts.programs {
        write!(w, " {:<20}", "PID/Program name")?;
    }
    if opts.timers {
        write!(w, " Timer")?;
    }
    if opts.netns_column {
        write!(w, " Netns")?;
    }
    writeln!(w)
}

pub fn write_unix_header(w: &mut impl Write, opts: &SocketOptions) -> io::Result<()> {
    let title = format!("Active UNIX domain sockets {}", opts.rows.title());
    writeln!(w, "{}", opts.palette.paint(Role::Header, &title))?;
    write!(
        w,
        "Proto RefCnt Flags       Type       State         I-Node  "
    )?;
    if opts.programs {
        write!(w, " {:<20}", "PID/Program name")?;
    }
    write!(w, " Path")?;
    if opts.netns_column {
        write!(w, " Netns")?;
    }
    writeln!(w)
}

fn proto_label(s: &InetSocket) -> &'static str {
    match (s.proto, s.v6) {
        (Proto::Tcp, false) => "tcp",
        (Proto::Tcp, true) => "tcp6",
        (Proto::Udp, false) => "udp",
        (Proto::Udp, true) => "udp6",
        (Proto::UdpLite, false) => "udpl",
        (Proto::UdpLite, true) => "udpl6",
        (Proto::Raw, false) => "raw",
        (Proto::Raw, true) => "raw6",
    }
}

/// The State column: TCP names, UDP's ESTABLISHED/empty/UNKNOWN, raw's number.
pub fn inet_state_text(s: &InetSocket) -> std::borrow::Cow<'static, str> {
    match s.proto {
        Proto::Tcp => tcp_state_name(s.state).into(),
        Proto::Udp | Proto::UdpLite => match s.state {
            1 => "ESTABLISHED".into(),
            7 => "".into(),
            _ => "UNKNOWN".into(),
        },
        Proto::Raw => s.state.to_string().into(),
    }
}

pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// The port as netstat prints it: `*` for 0, a service name unless numeric, else digits.
fn write_port(
    out: &mut Cell,
    s: &InetSocket,
    port: u16,
    opts: &SocketOptions,
    services: &Services,
) {
    if port == 0 {
        return out.push(b"*");
    }
    let name = if opts.numeric_ports {
        None
    } else {
        match s.proto {
            Proto::Tcp => services.tcp(port),
            Proto::Udp | Proto::UdpLite => services.udp(port),
            Proto::Raw => services.protocol(port),
        }
    };
    match name {
        Some(name) => out.push(name.as_bytes()),
        None => out.push(Decimal::new(port.into()).as_bytes()),
    }
}

/// `host:port`, cut as netstat cuts it without -W.
fn endpoint(
    s: &InetSocket,
    ip: &IpAddr,
    port: u16,
    opts: &SocketOptions,
    ctx: &RowContext<'_>,
) -> Cell {
    let mut joined = Cell::new();
    let _ = write_netstat_host(&mut joined, ip, opts.numeric_hosts, ctx.hosts);
    let host_len = joined.as_bytes().len();
    joined.push(b":");
    write_port(&mut joined, s, port, opts, ctx.services);
    if opts.wide || joined.as_bytes().len() <= 23 {
        // Nothing to cut, the common case: no UTF-8 view needed.
        return joined;
    }
    let mut host = Cell::new();
    host.push(&joined.as_bytes()[..host_len]);
    let mut port_text = Cell::new();
    port_text.push(&joined.as_bytes()[host_len + 1..]);
    let (h, p) = netstat_endpoint_parts(host.as_str(), port_text.as_str(), opts.wide);
    let mut cut = Cell::new();
    cut.push(h.as_bytes());
    cut.push(b":");
    cut.push(p.as_bytes());
    cut
}

/// `text` left-justified in `width`, coloured by its role when the palette is on.
/// Without colour the padding counts bytes, as printf's does.
fn cell(
    w: &mut impl Write,
    palette: Palette,
    role: Role<'_>,
    text: &[u8],
    width: usize,
) -> io::Result<()> {
    if palette.enabled() {
        let text = String::from_utf8_lossy(text);
        return write!(w, "{}", palette.left(role, &text, width));
    }
    text::left(w, text, width)
}

fn timer_text(s: &InetSocket) -> String {
    let secs = s.timer_ticks as f64 / 100.0;
    let (retr, tmo) = (s.retransmits, s.timeout);
    if s.proto == Proto::Tcp {
        return match s.timer {
            0 => format!("off (0.00/{retr}/{tmo})"),
            1 => format!("on ({secs:.2}/{retr}/{tmo})"),
            2 => format!("keepalive ({secs:.2}/{retr}/{tmo})"),
            3 => format!("timewait ({secs:.2}/{retr}/{tmo})"),
            4 => format!("probe ({secs:.2}/{retr}/{tmo})"),
            n => format!("unkn-{n} ({secs:.2}/{retr}/{tmo})"),
        };
    }
    // netstat zeroes the retransmit count for UDP but not for raw sockets.
    let retr = if s.proto == Proto::Raw { retr } else { 0 };
    match s.timer {
        0 => format!("off (0.00/{retr}/{tmo})"),
        n @ (1 | 2) => format!("on{n} ({secs:.2}/{retr}/{tmo})"),
        n => format!("unkn-{n} ({secs:.2}/{retr}/{tmo})"),
    }
}

/// "PID/argv0" as netstat builds it: argv0 after its last '/' when it is an absolute
/// path, the whole cut to 19 bytes (escaped afterwards).
fn program_text(proc_rec: &ProcessRecord) -> Option<Cell> {
    let name = program_name(proc_rec.argv0.as_deref()?);
    let mut raw = Cell::new();
    raw.push(Decimal::new(proc_rec.pid.into()).as_bytes());
    raw.push(b"/");
    raw.push(name.get(..19).unwrap_or(name));
    raw.truncate(19);
    Some(raw)
}

/// The escaped program column text of each owning process (`None`: no argv[0], a
/// `-`), made when the first row prints: a process holds many sockets.
#[derive(Default)]
pub struct ProgramTexts(Vec<Option<Box<[u8]>>>);

impl ProgramTexts {
    fn of<'t>(&'t mut self, owners: &Owners, inode: u64) -> Option<&'t [u8]> {
        let index = owners.process_index(inode)?;
        if self.0.len() != owners.processes.len() {
            self.0 = owners
                .processes
                .iter()
                .map(|p| program_text(p).map(|raw| escape(raw.as_bytes()).as_bytes().into()))
                .collect();
        }
        self.0.get(index)?.as_deref()
    }
}

/// netstat's program name: argv[0] after its last '/' when it is an absolute path,
/// else argv[0] verbatim.
pub fn program_name(argv0: &[u8]) -> &[u8] {
    match argv0.first() {
        Some(b'/') => argv0
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(argv0, |i| &argv0[i + 1..]),
        _ => argv0,
    }
}

fn write_program_column(
    w: &mut impl Write,
    inode: u64,
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> io::Result<()> {
    w.write_all(b" ")?;
    let text = match ctx.owners {
        Some(owners) => ctx.programs.of(owners, inode),
        None => None,
    };
    match text {
        Some(text) => text::left(w, text, 20),
        None => cell(w, opts.palette, Role::UnknownOwner, b"-", 20),
    }
}

/// The namespace tag after the last netstat column (--all-netns).
fn write_netns_column(
    w: &mut impl Write,
    opts: &SocketOptions,
    ctx: &RowContext<'_>,
) -> io::Result<()> {
    match ctx.netns.filter(|_| opts.netns_column) {
        Some(label) => write!(w, " {}", opts.palette.paint(Role::Namespace, label)),
        None => Ok(()),
    }
}

fn write_owner_columns(
    w: &mut impl Write,
    uid: u32,
    inode: u64,
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> io::Result<()> {
    if opts.extend {
        w.write_all(b" ")?;
        match ctx.users.name(uid).filter(|_| !opts.numeric_users) {
            Some(user) => text::left(w, user.as_bytes(), 10)?,
            None => text::left(w, Decimal::new(uid.into()).as_bytes(), 10)?,
        }
        w.write_all(b" ")?;
        text::left(w, Decimal::new(inode).as_bytes(), 10)?;
    }
    if opts.programs {
        write_program_column(w, inode, opts, ctx)?;
    }
    Ok(())
}

/// One row, written straight into the buffered writer: at 100,000 rows a `format!`
/// per column would be most of the user time.
pub fn write_inet_row(
    w: &mut impl Write,
    s: &InetSocket,
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> io::Result<()> {
    let local = endpoint(s, &s.local, s.local_port, opts, ctx);
    let remote = endpoint(s, &s.remote, s.remote_port, opts, ctx);
    let state = inet_state_text(s);
    let palette = opts.palette;
    let local_role = if inet_is_server(s) {
        Role::Listening
    } else {
        Role::Plain
    };
    text::left(w, proto_label(s).as_bytes(), 5)?;
    w.write_all(b" ")?;
    text::right(w, Decimal::new(s.rx_queue).as_bytes(), 6)?;
    w.write_all(b" ")?;
    text::right(w, Decimal::new(s.tx_queue).as_bytes(), 6)?;
    w.write_all(b" ")?;
    cell(w, palette, local_role, local.as_bytes(), 23)?;
    w.write_all(b" ")?;
    text::left(w, remote.as_bytes(), 23)?;
    w.write_all(b" ")?;
    cell(w, palette, Role::State(&state), state.as_bytes(), 11)?;
    write_owner_columns(w, s.uid, s.inode, opts, ctx)?;
    if opts.timers {
        write!(w, " {}", timer_text(s))?;
    }
    write_netns_column(w, opts, ctx)?;
    w.write_all(b"\n")
}

pub fn unix_type_name(t: u16) -> &'static str {
    match t {
        1 => "STREAM",
        2 => "DGRAM",
        3 => "RAW",
        4 => "RDM",
        5 => "SEQPACKET",
        _ => "UNKNOWN",
    }
}

pub fn unix_state_name(s: &UnixSocket) -> &'static str {
    match s.state {
        0 => "FREE",
        1 if s.flags & SO_ACCEPTCON != 0 => "LISTENING",
        1 => "",
        2 => "CONNECTING",
        3 => "CONNECTED",
        4 => "DISCONNECTING",
        _ => "UNKNOWN",
    }
}

/// The path as netstat shows it: the first whitespace-delimited token.
fn unix_path_token(path: Option<&[u8]>) -> &[u8] {
    let Some(path) = path else { return b"" };
    let start = path
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(path.len());
    let rest = &path[start..];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}

pub fn write_unix_row(
    w: &mut impl Write,
    s: &UnixSocket,
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> io::Result<()> {
    let mut flags = Cell::new();
    flags.push(b"[ ");
    for (bit, label) in [
        (SO_ACCEPTCON, "ACC "),
        (SO_WAITDATA, "W "),
        (SO_NOSPACE, "N "),
    ] {
        if s.flags & bit != 0 {
            flags.push(label.as_bytes());
        }
    }
    flags.push(b"]");
    let state = unix_state_name(s);
    text::left(w, if s.protocol == 0 { b"unix" } else { b"??" }, 5)?;
    w.write_all(b" ")?;
    text::left(w, Decimal::new(s.refcnt).as_bytes(), 6)?;
    w.write_all(b" ")?;
    text::left(w, flags.as_bytes(), 11)?;
    w.write_all(b" ")?;
    text::left(w, unix_type_name(s.sock_type).as_bytes(), 10)?;
    w.write_all(b" ")?;
    cell(w, opts.palette, Role::State(state), state.as_bytes(), 13)?;
    w.write_all(b" ")?;
    text::left(w, Decimal::new(s.inode).as_bytes(), 8)?;
    if opts.programs {
        write_program_column(w, s.inode, opts, ctx)?;
    }
    w.write_all(b" ")?;
    w.write_all(escape(unix_path_token(s.path.as_deref())).as_bytes())?;
    write_netns_column(w, opts, ctx)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::{inet, unix};

    fn render_inet(line: &str, proto: Proto, v6: bool, opts: SocketOptions) -> String {
        let s = inet::parse_line(line.as_bytes(), proto, v6).unwrap();
        let hosts = HostNames::default();
        let services = Services::parse(
            b"mysql 3306/tcp\n",
            b"icmp 1 ICMP\n",
            crate::resolve::DuplicatePolicy::LastWins,
        );
        let mut users = Users::default();
        let mut ctx = RowContext {
            services: &services,
            hosts: &hosts,
            users: &mut users,
            owners: None,
            programs: Default::default(),
            netns: None,
        };
        let mut out = Vec::new();
        write_inet_row(&mut out, &s, &opts, &mut ctx).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tcp_listener_line() {
        let line = "0: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19087 1";
        let opts = SocketOptions {
            numeric_hosts: true,
            ..Default::default()
        };
        assert_eq!(
            render_inet(line, Proto::Tcp, false, opts),
            "tcp        0      0 0.0.0.0:mysql           0.0.0.0:*               LISTEN     \n"
        );
        let opts = SocketOptions {
            numeric_hosts: true,
            numeric_ports: true,
            numeric_users: true,
            extend: true,
            programs: true,
            timers: true,
            ..Default::default()
        };
        assert_eq!(
            render_inet(line, Proto::Tcp, false, opts),
            "tcp        0      0 0.0.0.0:3306            0.0.0.0:*               LISTEN      0          19087      -                    off (0.00/0/0)\n"
        );
    }

    #[test]
    fn udp_and_raw_states_and_timers() {
        let udp = "0: 0100007F:0035 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 5 2";
        let opts = SocketOptions {
            numeric_hosts: true,
            numeric_ports: true,
            timers: true,
            ..Default::default()
        };
        assert_eq!(
            render_inet(udp, Proto::Udp, false, opts),
            "udp      832      0 127.0.0.1:53            0.0.0.0:*                           off (0.00/0/0)\n"
        );
        let raw = "0: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 6 2";
        let opts = SocketOptions {
            numeric_hosts: true,
            ..Default::default()
        };
        assert_eq!(
            render_inet(raw, Proto::Raw, false, opts),
            "raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7          \n"
        );
    }

    #[test]
    fn unix_lines() {
        let s = unix::parse_line(
            b"0000000000000000: 00000002 00000000 00010000 0001 01 190384 @abs name",
        )
        .unwrap();
        let hosts = HostNames::default();
        let services = Services::default();
        let mut users = Users::default();
        let mut ctx = RowContext {
            services: &services,
            hosts: &hosts,
            users: &mut users,
            owners: None,
            programs: Default::default(),
            netns: None,
        };
        let mut out = Vec::new();
        write_unix_row(&mut out, &s, &SocketOptions::default(), &mut ctx).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "unix  2      [ ACC ]     STREAM     LISTENING     190384   @abs\n"
        );
    }
}
