//! The NAME rules (and TYPE, DEVICE, SIZE/OFF, NODE): one selected file of the
//! model becomes the row lsof prints for it.

use super::endpoints::{is_pipe, Holders, UnixEndpoints};
use super::model::{inet_proto, split_link, v4_view, Candidate, EndKey, Kind, ProcInfo};
use super::Names;
use crate::addr::lsof_host;
use crate::cli::lsof::Config;
use crate::proc::files::{self, FileLock, FileStat};
use crate::proc::inet::InetSocket;
use crate::proc::{unix, ProcRoot};
use crate::render::lsof::{Device, FdName, FileRow, Node, RowExtra, SizeOff};
use crate::select::lsof::{InetProto, TCP_STATE_NAMES};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The path lsof 4.95 takes from a /proc/net/unix record: it splits the line into
/// fields at blanks, tabs, newlines and colons (get_fields with ":"), so the path is
/// the bound name up to the first of them; an empty one is no path at all.
pub(crate) fn first_token(p: &[u8]) -> Option<&[u8]> {
    let start = p
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(p.len());
    let p = &p[start..];
    let end = p
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | b':'))
        .unwrap_or(p.len());
    Some(&p[..end]).filter(|t| !t.is_empty())
}

pub(crate) fn type_name(st: &FileStat, link_head: &[u8]) -> Cow<'static, str> {
    match st.file_type() {
        libc::S_IFBLK => "BLK".into(),
        libc::S_IFCHR => "CHR".into(),
        libc::S_IFDIR => "DIR".into(),
        libc::S_IFIFO => "FIFO".into(),
        libc::S_IFREG => "REG".into(),
        libc::S_IFLNK => "LINK".into(),
        0 if link_head == b"anon_inode" => "a_inode".into(),
        t => format!("{:04o}", (t >> 12) & 0xf).into(),
    }
}

/// What `-T` adds to NAME: ` (LISTEN)`, ` (LISTEN QR=0 QS=0)`, a lone space when
/// asked-for parts are missing (UDP has no state), nothing with a bare `-T`.
pub(crate) fn tcp_tpi_suffix(
    config: &Config,
    state: Option<&str>,
    queues: Option<(u64, u64)>,
) -> Cow<'static, str> {
    let t = config.tcp_tpi;
    if !t.state && !t.queues && !t.flags {
        return Cow::Borrowed("");
    }
    // The default (the state alone) borrows: this runs for every socket row.
    if t.state && !t.queues {
        if let Some(s) = state.and_then(state_suffix) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(32);
    out.push_str(" (");
    if let (true, Some(st)) = (t.state, state) {
        out.push_str(st);
    }
    if let (true, Some((rq, sq))) = (t.queues, queues) {
        if out.len() > 2 {
            out.push(' ');
        }
        let _ = write!(out, "QR={rq} QS={sq}");
    }
    if out.len() == 2 {
        return Cow::Borrowed(" ");
    }
    out.push(')');
    Cow::Owned(out)
}

/// ` (STATE)` for the TCP and unix state names.
fn state_suffix(state: &str) -> Option<&'static str> {
    Some(match state {
        "CLOSED" => " (CLOSED)",
        "ESTABLISHED" => " (ESTABLISHED)",
        "SYN_SENT" => " (SYN_SENT)",
        "SYN_RECV" => " (SYN_RECV)",
        "FIN_WAIT1" => " (FIN_WAIT1)",
        "FIN_WAIT2" => " (FIN_WAIT2)",
        "TIME_WAIT" => " (TIME_WAIT)",
        "CLOSE" => " (CLOSE)",
        "CLOSE_WAIT" => " (CLOSE_WAIT)",
        "LAST_ACK" => " (LAST_ACK)",
        "LISTEN" => " (LISTEN)",
        "CLOSING" => " (CLOSING)",
        "UNCONNECTED" => " (UNCONNECTED)",
        "CONNECTING" => " (CONNECTING)",
        "CONNECTED" => " (CONNECTED)",
        "DISCONNECTING" => " (DISCONNECTING)",
        "UNKNOWN" => " (UNKNOWN)",
        _ => return None,
    })
}

pub(crate) fn unix_type(t: u16) -> &'static str {
    match t {
        1 => "STREAM",
        2 => "DGRAM",
        3 => "RAW",
        4 => "RDM",
        5 => "SEQPACKET",
        _ => "unknown",
    }
}

pub(crate) fn unix_state(u: &unix::UnixSocket) -> &'static str {
    if u.flags == unix::SO_ACCEPTCON {
        return "LISTEN";
    }
    match u.state {
        1 => "UNCONNECTED",
        2 => "CONNECTING",
        3 => "CONNECTED",
        4 => "DISCONNECTING",
        _ => "UNKNOWN",
    }
}

pub(crate) fn tcp_state(n: u8) -> Cow<'static, str> {
    TCP_STATE_NAMES
        .get(n as usize)
        .map(|&s| Cow::Borrowed(s))
        .unwrap_or_else(|| format!("UNKNOWN_TCP_STATE_{n}").into())
}

pub(crate) fn netlink_name(p: u32) -> String {
    let name = match p {
        0 => "ROUTE",
        1 => "UNUSED",
        2 => "USERSOCK",
        3 => "FIREWALL",
        4 => "INET_DIAG",
        5 => "NFLOG",
        6 => "XFRM",
        7 => "SELINUX",
        8 => "ISCSI",
        9 => "AUDIT",
        10 => "FIB_LOOKUP",
        11 => "CONNECTOR",
        12 => "NETFILTER",
        13 => "IP6_FW",
        14 => "DNRTMSG",
        15 => "KOBJECT_UEVENT",
        16 => "GENERIC",
        18 => "SCSITRANSPORT",
        19 => "ECRYPTFS",
        20 => "RDMA",
        21 => "CRYPTO",
        _ => return format!("unknown protocol: {p}"),
    };
    name.into()
}

pub(crate) fn ethertype_name(p: u32) -> String {
    let name = match p {
        0x0003 => "ALL",
        0x0800 => "IP",
        0x0806 => "ARP",
        0x86DD => "IPV6",
        0x8035 => "RARP",
        0x8100 => "8021Q",
        0x0004 => "802.2",
        0x0001 => "802.3",
        _ => return p.to_string(),
    };
    name.into()
}

/// `LOCAL:PORT->REMOTE:PORT` in the tables' own hex, as lsof names raw and icmp sockets.
pub(crate) fn hex_endpoints(s: &InetSocket) -> String {
    format!(
        "{}->{}",
        raw_hex(&s.local, s.local_port),
        raw_hex(&s.remote, s.remote_port)
    )
}

pub(crate) fn raw_hex(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{:08X}:{port:04X}", u32::from_le_bytes(a.octets())),
        IpAddr::V6(a) => {
            let o = a.octets();
            let mut s = String::new();
            for w in o.chunks(4) {
                s.push_str(&format!(
                    "{:08X}",
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]])
                ));
            }
            format!("{s}:{port:04X}")
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_row(
    c: &Candidate,
    p: &ProcInfo,
    config: &Config,
    names: &Names,
    root: &ProcRoot,
    locks: &[FileLock],
    links: &UnixEndpoints,
    holders: &Holders,
    mqueue_devs: &[u64],
) -> FileRow {
    let _ = root;
    // A socket's file offset is always 0 (sockets cannot seek and reads do not move
    // it), so its fdinfo matters only for the open flags, which only -F, --json and
    // +f print: skipping it saves three syscalls per row at 50,000 sockets.
    let socket_needs_no_fdinfo = matches!(c.kind, Kind::Unix(_) | Kind::Inet(_))
        && config.fields.is_none()
        && !config.json
        && config.file_flags.is_none();
    let plain_needs_no_fdinfo = matches!(&c.kind, Kind::Path { stat: Some(st), .. }
            if matches!(st.file_type(), libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK))
        && !(config.offsets
            || config.fields.is_some()
            || config.json
            || config.file_flags.is_some());
    let fdinfo = match c.fd {
        FdName::Num(_) if socket_needs_no_fdinfo => Some(files::FdInfo {
            pos: Some(0),
            ..files::FdInfo::default()
        }),
        FdName::Num(_) if c.fdinfo.is_some() => c.fdinfo.as_deref().copied(),
        // A regular file, directory or link shows its size: its offset and flags
        // are printed only by -o, +f, -F and --json.
        FdName::Num(_) if plain_needs_no_fdinfo => None,
        FdName::Num(fd) => files::read_fdinfo(&p.proc_root, p.id, fd),
        _ => None,
    };
    // `-F` alone prints the DEVICE field and the TCP/TPI entries kept apart.
    let for_fields = config.fields.is_some();
    let mut row = FileRow {
        fd: c.fd,
        access: c.access,
        lock: b' ',
        file_type: Cow::Borrowed(""),
        device: Device::None,
        device_field: Device::None,
        size_off: SizeOff::None,
        node: Node::Text(Cow::Borrowed("")),
        inode: None,
        protocol: None,
        nlink: None,
        flags: fdinfo.and_then(|i| i.flags),
        name: Vec::new(),
        name_suffix: Cow::Borrowed(""),
        socket: None,
        extra: c.netns.as_ref().map(|ns| {
            Box::new(RowExtra {
                netns: Some(ns.clone()),
                ..RowExtra::default()
            })
        }),
    };
    let socket_offset = || {
        if config.sizes {
            SizeOff::None
        } else {
            fdinfo
                .and_then(|i| i.pos)
                .map_or(SizeOff::None, SizeOff::Offset)
        }
    };
    match &c.kind {
        Kind::Path {
            stat, name, is_fd, ..
        } => {
            let (head, rest) = split_link(name);
            let Some(st) = stat else {
                // The NOFD row has no type at all.
                if c.fd != FdName::NoFd {
                    row.file_type = "unknown".into();
                }
                // -o: a descriptor not stat'ed (-b with NFS) still has fdinfo's offset.
                if *is_fd && config.offsets {
                    row.size_off = fdinfo
                        .and_then(|i| i.pos)
                        .map_or(SizeOff::None, SizeOff::Offset);
                }
                row.name = name.clone();
                return row;
            };
            row.file_type = type_name(st, head);
            let ft = st.file_type();
            let is_dev = ft == libc::S_IFCHR || ft == libc::S_IFBLK;
            row.device = Device::Number(if is_dev { st.rdev } else { st.dev });
            row.device_field = Device::Number(st.dev);
            row.inode = Some(st.ino);
            row.node = Node::Inode(st.ino);
            if *is_fd || st.size >= 0 {
                row.nlink = (st.nlink > 0 || *is_fd || c.fd == FdName::Mem).then_some(st.nlink);
            }
            if !is_fd && c.fd != FdName::Mem && c.fd != FdName::Del {
                row.nlink = Some(st.nlink);
            }
            let pos = fdinfo.and_then(|i| i.pos);
            row.size_off = if is_dev || ft == libc::S_IFIFO {
                match pos {
                    Some(o) if !config.sizes => SizeOff::Offset(o),
                    _ => SizeOff::None,
                }
            } else if config.offsets {
                pos.map_or(SizeOff::None, SizeOff::Offset)
            } else if st.size >= 0 {
                SizeOff::Size(st.size as u64)
            } else {
                SizeOff::None
            };
            if c.fd == FdName::Del {
                row.size_off = SizeOff::None;
                row.nlink = None;
            }
            row.lock = locks
                .iter()
                .find(|l| l.pid == p.pid && l.dev == st.dev && l.inode == st.ino)
                .map_or(b' ', |l| l.kind);
            if config.endpoints.is_some() && is_pipe(c) {
                let mut n = head.to_vec();
                let me = match c.fd {
                    FdName::Num(fd) => Some(fd),
                    _ => None,
                };
                for (pid, fd, w) in holders.pipes.get(&c.inode).into_iter().flatten() {
                    if *pid == p.pid && Some(*fd) == me {
                        continue;
                    }
                    n.push(b' ');
                    n.extend_from_slice(w.as_bytes());
                }
                row.name = n;
                return row;
            }
            if mqueue_devs.contains(&st.dev) && ft == libc::S_IFREG {
                row.file_type = "PSXMQ".into();
            }
            row.name = if row.file_type == "a_inode" && !rest.is_empty() {
                anon_inode_name(rest, fdinfo.as_ref())
            } else if let Some(arg) = named(config, st) {
                // A file named on the command line is printed as it was given.
                arg.as_bytes().to_vec()
            } else {
                head.to_vec()
            };
            if let (Some(key), true) = (c.end, config.endpoints.is_some()) {
                append_ends(&mut row.name, key, c, p, holders);
            }
        }
        Kind::Inet(s) => {
            let proto = inet_proto(s.proto);
            row.file_type = if s.v6 { "IPv6" } else { "IPv4" }.into();
            row.device = Device::Inode(c.inode);
            if for_fields {
                row.device_field = Device::Inode(c.inode);
            }
            row.size_off = socket_offset();
            row.node = Node::Text(proto.name().into());
            row.protocol = Some(proto.name());
            let (local, remote) = v4_view(s);
            let endpoint = |name: &mut String, (ip, port): (IpAddr, u16), ours: bool| {
                name.push_str(&lsof_host(&ip, config.numeric_hosts, &names.hosts));
                name.push(':');
                let service = match proto {
                    _ if port == 0 || config.numeric_ports => None,
                    InetProto::Tcp => names.services.tcp(port),
                    _ => names.services.udp(port),
                };
                match service {
                    _ if port == 0 => name.push('*'),
                    Some(svc) => name.push_str(svc),
                    None => {
                        let _ = write!(name, "{port}");
                    }
                }
                // +M: a port of this host registered with the portmapper gets the
                // program after it, `sunrpc[portmapper]` (TCP and UDP only).
                if config.portmap && ours && port != 0 {
                    let udp = match proto {
                        InetProto::Tcp => false,
                        InetProto::Udp => true,
                        _ => return,
                    };
                    if let Some(Some(program)) = names.portmap().get(port, udp) {
                        let _ = write!(name, "[{program}]");
                    }
                }
            };
            let mut name = String::with_capacity(48);
            if let Some(l) = local {
                endpoint(&mut name, l, true);
            }
            if let Some(r) = remote {
                name.push_str("->");
                // lsof takes the remote port as one of this host's when the remote
                // address is the loopback one or the local one.
                let local_ip = local.map(|(ip, _)| ip);
                let ours = match r.0 {
                    IpAddr::V4(a) => a == std::net::Ipv4Addr::LOCALHOST,
                    IpAddr::V6(a) => a.is_loopback(),
                } || local_ip.unwrap_or(match r.0 {
                    IpAddr::V4(_) => IpAddr::from([0u8; 4]),
                    IpAddr::V6(_) => IpAddr::from([0u8; 16]),
                }) == r.0;
                endpoint(&mut name, r, ours);
            }
            if config.endpoints.is_some() {
                if let Some(peer) = links.inet_peer.get(&c.inode) {
                    for (_, _, w) in holders.inet.get(peer).into_iter().flatten() {
                        name.push(' ');
                        name.push_str(w);
                    }
                }
            }
            row.name = name.into_bytes();
            let state = (proto == InetProto::Tcp).then(|| tcp_state(s.state));
            row.name_suffix =
                tcp_tpi_suffix(config, state.as_deref(), Some((s.rx_queue, s.tx_queue)));
            if for_fields {
                let info = &mut row.extra_mut().tcp_info;
                if let Some(st) = &state {
                    info.push(format!("ST={st}"));
                }
                info.push(format!("QR={}", s.rx_queue));
                info.push(format!("QS={}", s.tx_queue));
            }
            if config.json {
                let detail = |(ip, port): (IpAddr, u16)| {
                    let service = match proto {
                        _ if port == 0 || config.numeric_ports => None,
                        InetProto::Tcp => names.services.tcp(port),
                        _ => names.services.udp(port),
                    };
                    crate::render::lsof::EndpointDetail {
                        address: ip,
                        port,
                        host: names
                            .hosts
                            .get(&ip)
                            .filter(|_| !config.numeric_hosts)
                            .map(str::to_string),
                        service: service.map(str::to_string),
                    }
                };
                row.socket = Some(Box::new(crate::render::lsof::SocketDetail {
                    local: local.map(detail),
                    remote: remote.map(detail),
                    state: (proto == InetProto::Tcp).then(|| tcp_state(s.state).into_owned()),
                    recv_queue: s.rx_queue,
                    send_queue: s.tx_queue,
                    inode: c.inode,
                }));
            }
        }
        Kind::Unix(u) => {
            row.file_type = "unix".into();
            let dev = Device::Address(u.kernel_addr);
            if for_fields {
                row.device_field = dev;
            }
            row.device = dev;
            row.size_off = socket_offset();
            row.node = Node::Inode(c.inode);
            row.inode = Some(c.inode);
            let mut name = Vec::new();
            if let Some(path) = u.path.as_deref().and_then(first_token) {
                name.extend_from_slice(path);
                name.push(b' ');
            }
            name.extend_from_slice(b"type=");
            name.extend_from_slice(unix_type(u.sock_type).as_bytes());
            if config.endpoints.is_some() {
                for peer in links.of(c.inode) {
                    name.extend_from_slice(format!(" ->INO={peer}").as_bytes());
                    for (_, _, w) in holders.unix.get(&peer).into_iter().flatten() {
                        name.push(b' ');
                        name.extend_from_slice(w.as_bytes());
                    }
                }
            }
            row.name = name;
            let st = unix_state(u);
            row.name_suffix = tcp_tpi_suffix(config, Some(st), None);
            if for_fields {
                row.extra_mut().tcp_info.push(format!("ST={st}"));
            }
        }
        Kind::Raw(s) => {
            row.file_type = if s.v6 { "raw6" } else { "raw" }.into();
            row.size_off = socket_offset();
            row.node = Node::Inode(c.inode);
            row.inode = Some(c.inode);
            row.name = format!("{} st={:02X}", hex_endpoints(s), s.state).into_bytes();
        }
        Kind::Icmp(s) => {
            row.file_type = "icmp".into();
            row.size_off = socket_offset();
            row.node = Node::Inode(c.inode);
            row.inode = Some(c.inode);
            row.name = hex_endpoints(s).into_bytes();
        }
        Kind::Netlink(proto) => {
            row.file_type = "netlink".into();
            row.size_off = socket_offset();
            row.node = Node::Inode(c.inode);
            row.inode = Some(c.inode);
            row.name = netlink_name(*proto).into_bytes();
        }
        Kind::Packet(pk) => {
            row.file_type = "pack".into();
            row.device = Device::Inode(c.inode);
            row.device_field = Device::Inode(c.inode);
            row.size_off = socket_offset();
            row.node = Node::Text(ethertype_name(pk.protocol).into());
            let ty = match pk.sock_type {
                1 => "SOCK_STREAM".to_string(),
                2 => "SOCK_DGRAM".to_string(),
                3 => "SOCK_RAW".to_string(),
                5 => "SOCK_SEQPACKET".to_string(),
                t => t.to_string(),
            };
            row.name = format!("type={ty}").into_bytes();
        }
        Kind::Sock(proto) => {
            row.file_type = "sock".into();
            row.device = Device::Number(c.dev);
            row.device_field = Device::Number(c.dev);
            row.size_off = socket_offset();
            row.node = Node::Inode(c.inode);
            row.inode = Some(c.inode);
            row.name = proto.clone();
        }
    }
    row
}

/// `-E`: a message queue's or eventfd's other holders, a pty master's slave
/// (`->/dev/pts/N`) and its holders, a pty slave's master holders.
fn append_ends(name: &mut Vec<u8>, key: EndKey, c: &Candidate, p: &ProcInfo, holders: &Holders) {
    if let EndKey::PtyMaster(i) = key {
        name.extend_from_slice(format!(" ->/dev/pts/{i}").as_bytes());
    }
    let me = match c.fd {
        FdName::Num(fd) => Some(fd),
        _ => None,
    };
    for (pid, fd, w) in holders.ends.get(&key.other()).into_iter().flatten() {
        if *pid == p.pid && Some(*fd) == me {
            continue;
        }
        name.push(b' ');
        name.extend_from_slice(w.as_bytes());
    }
}

/// lsof's names of anonymous inodes: `[eventfd:ID]`, `[pidfd:PID]`,
/// `[eventpoll:FD,FD]` (sorted, `...` past 32) from fdinfo; others as the link says.
fn anon_inode_name(rest: &[u8], info: Option<&files::FdInfo>) -> Vec<u8> {
    match (rest, info) {
        (
            b"[eventfd]",
            Some(files::FdInfo {
                eventfd_id: Some(id),
                ..
            }),
        ) => format!("[eventfd:{id}]").into_bytes(),
        (b"[pidfd]", Some(files::FdInfo { pid: Some(pid), .. })) => {
            format!("[pidfd:{pid}]").into_bytes()
        }
        (b"[eventpoll]", Some(i)) if i.tfd_count > 0 => {
            let kept = i.tfd_count.min(files::EPOLL_TFDS_MAX);
            let mut fds = i.tfds[..kept].to_vec();
            fds.sort_unstable();
            let list: Vec<String> = fds.iter().map(u32::to_string).collect();
            let more = if i.tfd_count > files::EPOLL_TFDS_MAX {
                "..."
            } else {
                ""
            };
            format!("[eventpoll:{}{more}]", list.join(",")).into_bytes()
        }
        _ => rest.to_vec(),
    }
}

/// The command-line name argument that is this very file, if one is.
fn named<'a>(config: &'a Config, st: &FileStat) -> Option<&'a str> {
    config
        .selection
        .names
        .iter()
        .rev()
        .find(|n| !n.whole_fs && n.dev == st.dev && n.ino == st.ino)
        .map(|n| n.text.as_str())
}

#[cfg(test)]
mod tests {
    use super::first_token;

    #[test]
    fn the_path_is_cut_where_lsof_splits_fields() {
        let cases: [(&[u8], Option<&[u8]>); 9] = [
            (b"/tmp/a.sock", Some(b"/tmp/a.sock")),
            (b"/tmp/a b.sock", Some(b"/tmp/a")),
            (b"/tmp/a\tb", Some(b"/tmp/a")),
            (b"/tmp/a:b", Some(b"/tmp/a")),
            (b"/tmp/a\nb", Some(b"/tmp/a")),
            // Not separators to lsof.
            (b"/tmp/a\x0cb\r", Some(b"/tmp/a\x0cb\r")),
            (b"  x y", Some(b"x")),
            (b":x", None),
            (b"", None),
        ];
        for (path, want) in cases {
            assert_eq!(first_token(path), want, "{}", path.escape_ascii());
        }
    }
}
