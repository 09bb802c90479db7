//! `--json`: one document per run (one line per refresh), schema in docs/json.md.
//! Dedicated output structs, so the parser records stay free to change: every field is
//! always present, names that were not (or could not be) resolved are `null`, numbers
//! are numbers, and addresses and ports are separate fields.

use super::lsof::{EndpointDetail, FdName, ProcessRows, SizeOff};
use super::netstat::{program_name, tcp_state_name, unix_type_name, RowContext, SocketOptions};
use crate::addr::ntop6;
use crate::netns::NetNs;
use crate::proc::arp::ArpEntry;
use crate::proc::dev::*;
use crate::proc::igmp::Membership;
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::route::{Route4, Route6};
use crate::proc::snmp::{Section, Value};
use crate::proc::unix::{UnixSocket, SO_ACCEPTCON, SO_NOSPACE, SO_WAITDATA};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// The schema's version; bumped only when a field changes meaning or type.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Debug)]
pub struct SocketDocument {
    pub schema: u32,
    pub view: &'static str,
    pub namespaces: Vec<Namespace>,
    pub inet: Vec<InetRow>,
    pub unix: Vec<UnixRow>,
    pub groups: Vec<GroupRow>,
}

/// The rows of a socket view, each with the index of its namespace.
pub struct SocketRows<'a> {
    pub inet: &'a [(usize, InetSocket)],
    pub unix: &'a [(usize, UnixSocket)],
    pub groups: &'a [(usize, Membership)],
}

#[derive(Serialize, Debug)]
pub struct GroupRow {
    pub interface: String,
    pub family: &'static str,
    pub group: String,
    pub group_host: Option<String>,
    pub users: i64,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Namespace {
    pub inode: Option<u64>,
    pub name: Option<String>,
    pub pid: Option<u32>,
    pub own: bool,
}

#[derive(Serialize, Debug)]
pub struct Owner {
    pub pid: u32,
    pub fd: u32,
    pub program: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Timer {
    pub kind: &'static str,
    pub seconds: f64,
    pub retransmits: u64,
    pub timeout: u64,
}

#[derive(Serialize, Debug)]
pub struct InetRow {
    pub proto: &'static str,
    pub family: &'static str,
    pub local_address: String,
    pub local_port: u16,
    pub local_host: Option<String>,
    pub local_service: Option<String>,
    pub remote_address: String,
    pub remote_port: u16,
    pub remote_host: Option<String>,
    pub remote_service: Option<String>,
    pub state: &'static str,
    pub state_code: u8,
    pub listening: bool,
    pub recv_queue: u64,
    pub send_queue: u64,
    pub uid: u32,
    pub user: Option<String>,
    pub inode: u64,
    pub timer: Timer,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
    pub owner: Option<Owner>,
    /// Read back from a capture made with --queues: the socket's receive-queue dump.
    pub queue: Option<QueueCapture>,
}

/// A receive queue captured with `--capture DIR --queues` (see src/queues.rs).
#[derive(Serialize, Debug)]
pub struct QueueCapture {
    pub file: String,
    pub bytes: u64,
    pub datagrams: Option<u64>,
    pub complete: bool,
    pub cut: bool,
}

impl QueueCapture {
    pub fn from_manifest(m: &crate::queues::ManifestLine) -> Option<QueueCapture> {
        Some(QueueCapture {
            file: m.file.clone()?,
            bytes: m.bytes,
            datagrams: m.datagrams,
            complete: m.complete,
            cut: m.cut,
        })
    }
}

#[derive(Serialize, Debug)]
pub struct UnixRow {
    pub proto: &'static str,
    pub refcnt: u64,
    pub flags: Vec<&'static str>,
    #[serde(rename = "type")]
    pub sock_type: &'static str,
    pub state: &'static str,
    pub state_code: u8,
    pub listening: bool,
    pub inode: u64,
    pub path: Option<String>,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
    pub owner: Option<Owner>,
    pub queue: Option<QueueCapture>,
}

/// Kernel bytes as a JSON string in the one lossless form ([`crate::escape::json_text`]:
/// invalid UTF-8 as `\\xNN`, a backslash doubled; JSON escapes control characters).
fn text(bytes: &[u8]) -> String {
    crate::escape::json_text(bytes).into_owned()
}

/// The numeric address, IPv6 in inet_ntop's form.
pub fn address_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => ntop6(a),
    }
}

fn owner(inode: u64, ctx: &mut RowContext<'_>, numeric_users: bool) -> Option<Owner> {
    let (proc_rec, fd) = ctx.owners?.get(inode)?;
    let user = proc_rec
        .uid
        .filter(|_| !numeric_users)
        .and_then(|uid| ctx.users.name(uid).map(str::to_string));
    Some(Owner {
        pid: proc_rec.pid,
        fd,
        program: proc_rec.argv0.as_deref().map(|a| text(program_name(a))),
        uid: proc_rec.uid,
        user,
    })
}

fn timer(s: &InetSocket) -> Timer {
    let kind = match (s.proto, s.timer) {
        (_, 0) => "off",
        (Proto::Tcp, 1) => "on",
        (Proto::Tcp, 2) => "keepalive",
        (Proto::Tcp, 3) => "timewait",
        (Proto::Tcp, 4) => "probe",
        (_, 1) => "on1",
        (_, 2) => "on2",
        _ => "unknown",
    };
    Timer {
        kind,
        seconds: s.timer_ticks as f64 / 100.0,
        retransmits: s.retransmits,
        timeout: s.timeout,
    }
}

fn service(
    s: &InetSocket,
    port: u16,
    opts: &SocketOptions,
    ctx: &RowContext<'_>,
) -> Option<String> {
    if port == 0 || opts.numeric_ports {
        return None;
    }
    let name = match s.proto {
        Proto::Tcp => ctx.services.tcp(port),
        Proto::Udp | Proto::UdpLite => ctx.services.udp(port),
        Proto::Raw => ctx.services.protocol(port),
    };
    name.map(str::to_string)
}

fn host(ip: &IpAddr, opts: &SocketOptions, ctx: &RowContext<'_>) -> Option<String> {
    ctx.hosts
        .get(ip)
        .filter(|_| !opts.numeric_hosts)
        .map(str::to_string)
}

fn ns_fields(namespaces: &[NetNs], index: usize) -> (Option<u64>, Option<String>) {
    namespaces
        .get(index)
        .map_or((None, None), |ns| (ns.inode, ns.name.clone()))
}

pub fn inet_row(
    s: &InetSocket,
    ns: (Option<u64>, Option<String>),
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> InetRow {
    let user = if opts.numeric_users {
        None
    } else {
        ctx.users.name(s.uid).map(str::to_string)
    };
    InetRow {
        proto: s.proto.name(),
        family: if s.v6 { "inet6" } else { "inet" },
        local_address: address_text(&s.local),
        local_port: s.local_port,
        local_host: host(&s.local, opts, ctx),
        local_service: service(s, s.local_port, opts, ctx),
        remote_address: address_text(&s.remote),
        remote_port: s.remote_port,
        remote_host: host(&s.remote, opts, ctx),
        remote_service: service(s, s.remote_port, opts, ctx),
        state: tcp_state_name(s.state),
        state_code: s.state,
        listening: super::netstat::inet_is_server(s),
        recv_queue: s.rx_queue,
        send_queue: s.tx_queue,
        uid: s.uid,
        user,
        inode: s.inode,
        timer: timer(s),
        netns: ns.0,
        netns_name: ns.1,
        owner: owner(s.inode, ctx, opts.numeric_users),
        queue: None,
    }
}

/// Unix states by name; an unconnected socket is `UNCONNECTED` (netstat prints nothing).
fn unix_state(s: &UnixSocket) -> &'static str {
    match s.state {
        0 => "FREE",
        1 if s.flags & SO_ACCEPTCON != 0 => "LISTENING",
        1 => "UNCONNECTED",
        2 => "CONNECTING",
        3 => "CONNECTED",
        4 => "DISCONNECTING",
        _ => "UNKNOWN",
    }
}

pub fn unix_row(
    s: &UnixSocket,
    ns: (Option<u64>, Option<String>),
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> UnixRow {
    let flags = [(SO_ACCEPTCON, "ACC"), (SO_WAITDATA, "W"), (SO_NOSPACE, "N")]
        .into_iter()
        .filter(|(bit, _)| s.flags & bit != 0)
        .map(|(_, name)| name)
        .collect();
    UnixRow {
        proto: "unix",
        refcnt: s.refcnt,
        flags,
        sock_type: unix_type_name(s.sock_type),
        state: unix_state(s),
        state_code: s.state,
        listening: s.is_listening(),
        inode: s.inode,
        path: s.path.as_deref().map(text),
        netns: ns.0,
        netns_name: ns.1,
        owner: owner(s.inode, ctx, opts.numeric_users),
        queue: None,
    }
}

pub fn namespace(ns: &NetNs) -> Namespace {
    Namespace {
        inode: ns.inode,
        name: ns.name.clone(),
        pid: ns.pid,
        own: ns.own,
    }
}

/// The socket view's document; rows carry the index of their namespace.
pub fn socket_document(
    namespaces: &[NetNs],
    rows: SocketRows<'_>,
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> SocketDocument {
    let SocketRows { inet, unix, groups } = rows;
    SocketDocument {
        schema: SCHEMA_VERSION,
        view: "sockets",
        namespaces: namespaces.iter().map(namespace).collect(),
        inet: inet
            .iter()
            .map(|(i, s)| inet_row(s, ns_fields(namespaces, *i), opts, ctx))
            .collect(),
        unix: unix
            .iter()
            .map(|(i, s)| unix_row(s, ns_fields(namespaces, *i), opts, ctx))
            .collect(),
        groups: groups
            .iter()
            .map(|(i, m)| {
                let (netns, netns_name) = ns_fields(namespaces, *i);
                GroupRow {
                    interface: text(&m.device),
                    family: if m.group.is_ipv6() { "inet6" } else { "inet" },
                    group: address_text(&m.group),
                    group_host: host(&m.group, opts, ctx),
                    users: m.users,
                    netns,
                    netns_name,
                }
            })
            .collect(),
    }
}

#[derive(Serialize, Debug)]
pub struct InterfaceDocument {
    pub schema: u32,
    pub view: &'static str,
    pub namespaces: Vec<Namespace>,
    pub interfaces: Vec<InterfaceRow>,
}

#[derive(Serialize, Debug)]
pub struct InterfaceRow {
    pub name: String,
    pub flags: Vec<&'static str>,
    pub flags_code: u16,
    pub mtu: i64,
    pub tx_queue_len: Option<i64>,
    pub hw_type: u16,
    pub hw_address: Option<String>,
    pub ipv4: Option<Ipv4Row>,
    pub ipv6: Vec<Ipv6Row>,
    pub counters: Option<DevCounters>,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Ipv4Row {
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub broadcast: Option<String>,
    pub destination: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Ipv6Row {
    pub address: String,
    pub prefix_len: u32,
    pub scope: &'static str,
}

/// One interface of one namespace, with the IPv6 addresses /proc/net/if_inet6 lists
/// for it.
pub struct InterfaceInput<'a> {
    pub ns: usize,
    pub name: &'a [u8],
    pub link: &'a Link,
    pub counters: Option<&'a DevCounters>,
    pub inet6: &'a [Inet6Addr],
}

const IFF_NAMES: [(u16, &str); 16] = [
    (IFF_UP, "UP"),
    (IFF_BROADCAST, "BROADCAST"),
    (IFF_DEBUG, "DEBUG"),
    (IFF_LOOPBACK, "LOOPBACK"),
    (IFF_POINTOPOINT, "POINTOPOINT"),
    (IFF_NOTRAILERS, "NOTRAILERS"),
    (IFF_RUNNING, "RUNNING"),
    (IFF_NOARP, "NOARP"),
    (IFF_PROMISC, "PROMISC"),
    (IFF_ALLMULTI, "ALLMULTI"),
    (IFF_MASTER, "MASTER"),
    (IFF_SLAVE, "SLAVE"),
    (IFF_MULTICAST, "MULTICAST"),
    (IFF_PORTSEL, "PORTSEL"),
    (IFF_AUTOMEDIA, "AUTOMEDIA"),
    (IFF_DYNAMIC, "DYNAMIC"),
];

fn ipv6_scope(scope: u32) -> &'static str {
    match scope & 0xf0 {
        0x00 => "global",
        0x10 => "host",
        0x20 => "link",
        0x40 => "site",
        0x80 => "compat",
        _ => "unknown",
    }
}

pub fn interface_document(namespaces: &[NetNs], rows: &[InterfaceInput<'_>]) -> InterfaceDocument {
    let v4 = |a: Option<std::net::Ipv4Addr>| a.map(|a| a.to_string());
    InterfaceDocument {
        schema: SCHEMA_VERSION,
        view: "interfaces",
        namespaces: namespaces.iter().map(namespace).collect(),
        interfaces: rows
            .iter()
            .map(|r| {
                let (netns, netns_name) = ns_fields(namespaces, r.ns);
                let hw = &r.link.hw_addr;
                InterfaceRow {
                    name: text(r.name),
                    flags: IFF_NAMES
                        .into_iter()
                        .filter(|(bit, _)| r.link.flags & bit != 0)
                        .map(|(_, n)| n)
                        .collect(),
                    flags_code: r.link.flags,
                    mtu: r.link.mtu.into(),
                    tx_queue_len: r.link.tx_queue_len.map(i64::from),
                    hw_type: r.link.hw_type,
                    hw_address: (hw.iter().any(|&b| b != 0)).then(|| {
                        hw[..6]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":")
                    }),
                    ipv4: r.link.ipv4.as_ref().map(|c| Ipv4Row {
                        address: v4(c.address),
                        netmask: v4(c.netmask),
                        broadcast: v4(c.broadcast),
                        destination: v4(c.destination),
                    }),
                    ipv6: r
                        .inet6
                        .iter()
                        .filter(|a| a.name == r.name)
                        .map(|a| Ipv6Row {
                            address: ntop6(&a.address),
                            prefix_len: a.prefix_len,
                            scope: ipv6_scope(a.scope),
                        })
                        .collect(),
                    counters: r.counters.cloned(),
                    netns,
                    netns_name,
                }
            })
            .collect(),
    }
}

#[derive(Serialize, Debug)]
pub struct StatisticsDocument {
    pub schema: u32,
    pub view: &'static str,
    pub namespaces: Vec<Namespace>,
    pub sections: Vec<SectionRow>,
}

#[derive(Serialize, Debug)]
pub struct SectionRow {
    pub file: &'static str,
    pub name: String,
    pub counters: Vec<CounterRow>,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct CounterRow {
    pub name: String,
    /// Counters are unsigned except a few the kernel prints signed (Tcp MaxConn -1).
    pub value: serde_json::Number,
}

pub fn statistics_document(
    namespaces: &[NetNs],
    sections: &[(usize, &'static str, Section)],
) -> StatisticsDocument {
    StatisticsDocument {
        schema: SCHEMA_VERSION,
        view: "statistics",
        namespaces: namespaces.iter().map(namespace).collect(),
        sections: sections
            .iter()
            .map(|(i, file, s)| {
                let (netns, netns_name) = ns_fields(namespaces, *i);
                SectionRow {
                    file,
                    name: text(&s.name),
                    counters: s
                        .counters
                        .iter()
                        .map(|c| CounterRow {
                            name: text(&c.key),
                            value: match c.value {
                                Value::Unsigned(v) => v.into(),
                                Value::Signed(v) => v.into(),
                            },
                        })
                        .collect(),
                    netns,
                    netns_name,
                }
            })
            .collect(),
    }
}

#[derive(Serialize, Debug)]
pub struct FilesDocument {
    pub schema: u32,
    pub view: &'static str,
    pub processes: Vec<ProcessRow>,
}

#[derive(Serialize, Debug)]
pub struct ProcessRow {
    pub pid: u32,
    pub tid: Option<u32>,
    pub ppid: u32,
    pub pgid: u32,
    pub command: String,
    pub uid: u32,
    pub user: Option<String>,
    pub netns: Option<u64>,
    pub other_netns: bool,
    /// The /run/netns name of the process's namespace when it is another than ours.
    pub netns_name: Option<String>,
    pub files: Vec<FileJson>,
}

#[derive(Serialize, Debug)]
pub struct FileJson {
    pub fd: String,
    pub fd_number: Option<u32>,
    pub access: Option<String>,
    pub lock: Option<String>,
    #[serde(rename = "type")]
    pub file_type: String,
    pub device: Option<String>,
    pub size: Option<u64>,
    pub offset: Option<u64>,
    pub node: Option<String>,
    pub inode: Option<u64>,
    pub protocol: Option<&'static str>,
    pub name: String,
    pub socket: Option<InetEndpoints>,
}

#[derive(Serialize, Debug)]
pub struct InetEndpoints {
    pub local_address: Option<String>,
    pub local_port: Option<u16>,
    pub local_host: Option<String>,
    pub local_service: Option<String>,
    pub remote_address: Option<String>,
    pub remote_port: Option<u16>,
    pub remote_host: Option<String>,
    pub remote_service: Option<String>,
    pub state: Option<String>,
    pub recv_queue: u64,
    pub send_queue: u64,
}

fn non_blank(c: u8) -> Option<String> {
    (c != b' ' && c != 0).then(|| (c as char).to_string())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// rlsof's document: every listed process with its files.
pub fn files_document(procs: &[ProcessRows], own_netns: Option<u64>) -> FilesDocument {
    FilesDocument {
        schema: SCHEMA_VERSION,
        view: "files",
        processes: procs
            .iter()
            .filter(|p| !p.files.is_empty())
            .map(|p| ProcessRow {
                pid: p.pid,
                tid: p.task.as_ref().map(|(tid, _)| *tid),
                netns: p.netns,
                other_netns: matches!((p.netns, own_netns), (Some(a), Some(b)) if a != b),
                ppid: p.ppid,
                pgid: p.pgid,
                command: text(&p.command),
                uid: p.uid,
                user: p.login.clone(),
                netns_name: p.other_netns.as_ref().and_then(|n| n.name.clone()),
                files: p
                    .files
                    .iter()
                    .map(|f| {
                        let (size, offset) = match f.size_off {
                            SizeOff::None => (None, None),
                            SizeOff::Size(n) => (Some(n), None),
                            SizeOff::Offset(n) => (None, Some(n)),
                        };
                        let side = |e: &Option<EndpointDetail>| {
                            e.as_ref().map(|e| {
                                (
                                    address_text(&e.address),
                                    e.port,
                                    e.host.clone(),
                                    e.service.clone(),
                                )
                            })
                        };
                        FileJson {
                            fd: f.fd.text(),
                            fd_number: match f.fd {
                                FdName::Num(n) => Some(n),
                                _ => None,
                            },
                            access: non_blank(f.access),
                            lock: non_blank(f.lock),
                            file_type: f.file_type.to_string(),
                            device: non_empty(&f.device.text()),
                            size,
                            offset,
                            node: non_empty(&f.node.text()),
                            inode: f.inode.or(f.socket.as_ref().map(|s| s.inode)),
                            protocol: f.protocol,
                            name: text(&f.name),
                            socket: f.socket.as_ref().map(|s| {
                                let local = side(&s.local);
                                let remote = side(&s.remote);
                                InetEndpoints {
                                    local_address: local.as_ref().map(|l| l.0.clone()),
                                    local_port: local.as_ref().map(|l| l.1),
                                    local_host: local.as_ref().and_then(|l| l.2.clone()),
                                    local_service: local.as_ref().and_then(|l| l.3.clone()),
                                    remote_address: remote.as_ref().map(|r| r.0.clone()),
                                    remote_port: remote.as_ref().map(|r| r.1),
                                    remote_host: remote.as_ref().and_then(|r| r.2.clone()),
                                    remote_service: remote.as_ref().and_then(|r| r.3.clone()),
                                    state: s.state.clone(),
                                    recv_queue: s.recv_queue,
                                    send_queue: s.send_queue,
                                }
                            }),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[derive(Serialize, Debug)]
pub struct RouteDocument {
    pub schema: u32,
    pub view: &'static str,
    pub namespaces: Vec<Namespace>,
    pub ipv4: Vec<Route4Row>,
    pub ipv6: Vec<Route6Row>,
}

#[derive(Serialize, Debug)]
pub struct Route4Row {
    pub destination: String,
    pub genmask: String,
    pub prefix_len: Option<u32>,
    pub gateway: String,
    pub flags: String,
    pub flags_code: u32,
    pub metric: i64,
    pub refcnt: i64,
    #[serde(rename = "use")]
    pub use_count: i64,
    pub mss: i64,
    pub window: i64,
    pub irtt: i64,
    pub iface: String,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Route6Row {
    pub destination: String,
    pub prefix_len: u8,
    pub source: String,
    pub source_prefix_len: u8,
    pub next_hop: String,
    pub flags: String,
    pub flags_code: u32,
    pub metric: u32,
    pub refcnt: u32,
    #[serde(rename = "use")]
    pub use_count: u32,
    pub iface: String,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

/// A contiguous netmask's length; `None` for a non-contiguous one.
fn mask_len(mask: std::net::Ipv4Addr) -> Option<u32> {
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then_some(len)
}

/// Every route of the tables read (numeric; `-n` does not change the document).
pub fn route_document(
    namespaces: &[NetNs],
    v4: &[(usize, &Route4)],
    v6: &[(usize, &Route6)],
) -> RouteDocument {
    use super::route::{route4_flags, route6_flags};
    RouteDocument {
        schema: SCHEMA_VERSION,
        view: "routes",
        namespaces: namespaces.iter().map(namespace).collect(),
        ipv4: v4
            .iter()
            .map(|(i, r)| {
                let (netns, netns_name) = ns_fields(namespaces, *i);
                Route4Row {
                    destination: r.destination.to_string(),
                    genmask: r.mask.to_string(),
                    prefix_len: mask_len(r.mask),
                    gateway: r.gateway.to_string(),
                    flags: route4_flags(r.flags),
                    flags_code: r.flags,
                    metric: r.metric,
                    refcnt: r.refcnt,
                    use_count: r.use_count,
                    mss: r.mtu,
                    window: r.window,
                    irtt: r.irtt,
                    iface: text(&r.iface),
                    netns,
                    netns_name,
                }
            })
            .collect(),
        ipv6: v6
            .iter()
            .map(|(i, r)| {
                let (netns, netns_name) = ns_fields(namespaces, *i);
                Route6Row {
                    destination: ntop6(&r.destination),
                    prefix_len: r.prefix_len,
                    source: ntop6(&r.source),
                    source_prefix_len: r.source_prefix_len,
                    next_hop: ntop6(&r.next_hop),
                    flags: route6_flags(r.flags),
                    flags_code: r.flags,
                    metric: r.metric,
                    refcnt: r.refcnt,
                    use_count: r.use_count,
                    iface: text(&r.iface),
                    netns,
                    netns_name,
                }
            })
            .collect(),
    }
}

#[derive(Serialize, Debug)]
pub struct ArpDocument {
    pub schema: u32,
    pub view: &'static str,
    pub namespaces: Vec<Namespace>,
    pub entries: Vec<ArpRow>,
}

#[derive(Serialize, Debug)]
pub struct ArpRow {
    pub address: String,
    pub hw_type: u32,
    pub hw_type_name: &'static str,
    pub hw_address: Option<String>,
    pub flags: Vec<&'static str>,
    pub flags_code: u32,
    pub mask: String,
    pub device: String,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
}

pub fn arp_document(namespaces: &[NetNs], entries: &[(usize, &ArpEntry)]) -> ArpDocument {
    use crate::proc::arp::flags as af;
    const NAMES: [(u32, &str); 7] = [
        (af::COM, "C"),
        (af::PERM, "M"),
        (af::PUBL, "P"),
        (af::USETRAILERS, "T"),
        (af::NETMASK, "NETMASK"),
        (af::DONTPUB, "DONTPUB"),
        (af::MAGIC, "MAGIC"),
    ];
    ArpDocument {
        schema: SCHEMA_VERSION,
        view: "arp",
        namespaces: namespaces.iter().map(namespace).collect(),
        entries: entries
            .iter()
            .map(|(i, e)| {
                let (netns, netns_name) = ns_fields(namespaces, *i);
                ArpRow {
                    address: e.address.to_string(),
                    hw_type: e.hw_type,
                    hw_type_name: super::arp::hw_type_name(e.hw_type),
                    hw_address: non_empty(&e.hw_address),
                    flags: NAMES
                        .into_iter()
                        .filter(|(bit, _)| e.flags & bit != 0)
                        .map(|(_, n)| n)
                        .collect(),
                    flags_code: e.flags,
                    mask: e.mask.clone(),
                    device: text(&e.device),
                    netns,
                    netns_name,
                }
            })
            .collect(),
    }
}

/// Writes one document as one line.
pub fn write_line(w: &mut impl Write, doc: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *w, doc).map_err(io::Error::other)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::inet;
    use crate::resolve::{DuplicatePolicy, HostNames, Services, Users};

    #[test]
    fn inet_row_fields() {
        let line = b"0: 0100007F:0CEA 00000000:0000 0A 00000002:00000001 00:00000000 00000000     0        0 19087 1";
        let s = inet::parse_line(line, Proto::Tcp, false).unwrap();
        let services = Services::parse(b"mysql 3306/tcp\n", b"", DuplicatePolicy::LastWins);
        let hosts = HostNames::default();
        let mut users = Users::default();
        let mut ctx = RowContext {
            services: &services,
            hosts: &hosts,
            users: &mut users,
            owners: None,
            programs: Default::default(),
            netns: None,
        };
        let row = inet_row(&s, (Some(7), None), &SocketOptions::default(), &mut ctx);
        let v = serde_json::to_value(&row).unwrap();
        assert_eq!(v["local_address"], "127.0.0.1");
        assert_eq!(v["local_port"], 3306);
        assert_eq!(v["local_service"], "mysql");
        assert_eq!(v["remote_service"], serde_json::Value::Null);
        assert_eq!(v["state"], "LISTEN");
        assert_eq!(v["recv_queue"], 1);
        assert_eq!(v["send_queue"], 2);
        assert_eq!(v["user"], "root");
        assert_eq!(v["netns"], 7);
        assert_eq!(v["owner"], serde_json::Value::Null);
        assert_eq!(v["timer"]["kind"], "off");
    }
}
