//! `--json`: one document per run (one line per refresh), schema in docs/json.md.
//! Dedicated output structs, so the parser records stay free to change: every field is
//! always present, names that were not (or could not be) resolved are `null`, numbers
//! are numbers, and addresses and ports are separate fields.

use super::netstat::{program_name, tcp_state_name, unix_type_name, RowContext, SocketOptions};
use crate::addr::ntop6;
use crate::netns::NetNs;
use crate::proc::inet::{InetSocket, Proto};
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
}

/// Kernel bytes as a JSON string; invalid UTF-8 becomes U+FFFD (JSON escapes the rest).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    inet: &[(usize, InetSocket)],
    unix: &[(usize, UnixSocket)],
    opts: &SocketOptions,
    ctx: &mut RowContext<'_>,
) -> SocketDocument {
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
