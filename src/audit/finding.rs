//! What the audit reports: findings with a severity, the check that made them and
//! the evidence an incident responder needs to follow them up.

use crate::escape::escape;
use crate::proc::inet::InetSocket;
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The checks, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    CrossView,
    PortProbe,
    UnownedSocket,
    GhostSocket,
    HiddenProcess,
    Sniffer,
    SocketFilter,
    Promiscuous,
    Arp,
    Ndp,
    Process,
    Preload,
}

impl Check {
    pub const ALL: [Check; 12] = [
        Check::CrossView,
        Check::PortProbe,
        Check::UnownedSocket,
        Check::GhostSocket,
        Check::HiddenProcess,
        Check::Sniffer,
        Check::SocketFilter,
        Check::Promiscuous,
        Check::Arp,
        Check::Ndp,
        Check::Process,
        Check::Preload,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::CrossView => "cross-view",
            Check::PortProbe => "port-probe",
            Check::UnownedSocket => "unowned-socket",
            Check::GhostSocket => "ghost-socket",
            Check::HiddenProcess => "hidden-process",
            Check::Sniffer => "sniffer",
            Check::SocketFilter => "socket-filter",
            Check::Promiscuous => "promiscuous",
            Check::Arp => "arp",
            Check::Ndp => "ndp",
            Check::Process => "process",
            Check::Preload => "preload",
        }
    }
}

/// Evidence fields; those that do not apply are null (empty for `addresses`). Text
/// that came from the kernel or another process is escaped (crate::escape) before it
/// is stored here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Evidence {
    pub namespace: Option<u64>,
    pub pid: Option<u32>,
    pub fd: Option<u32>,
    pub program: Option<String>,
    /// The process's real uid (hidden-process: the kernel's, from the task iterator).
    pub uid: Option<u32>,
    pub exe: Option<String>,
    pub protocol: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub remote: Option<String>,
    pub state: Option<String>,
    pub inode: Option<u64>,
    pub interface: Option<String>,
    pub mac: Option<String>,
    pub addresses: Vec<String>,
    pub detail: Option<String>,
    pub filter: Option<SocketFilter>,
    /// Every socket a hidden process holds, one line each (hidden-process).
    pub sockets: Vec<String>,
}

/// A socket's attached BPF filter (check socket-filter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct SocketFilter {
    /// Whether the program could be read (a classic one); false for eBPF.
    pub readable: bool,
    pub instructions: Option<usize>,
    /// `tcpdump -d` lines (crate::bpf::disassemble); empty when unreadable.
    pub disassembly: Vec<String>,
    /// Which packets it accepts, as far as the program shows (crate::bpf::analyse).
    pub accepts: Option<String>,
}

impl Evidence {
    pub fn in_namespace(netns: u64) -> Evidence {
        Evidence {
            namespace: Some(netns),
            ..Evidence::default()
        }
    }

    /// Protocol, endpoints, state and inode of an inet socket.
    pub fn socket(netns: u64, s: &InetSocket) -> Evidence {
        let remote = (!s.remote.is_unspecified() || s.remote_port != 0)
            .then(|| endpoint(&s.remote, s.remote_port));
        Evidence {
            namespace: Some(netns),
            protocol: Some(s.proto.file(s.v6).to_string()),
            address: Some(ip_text(&s.local)),
            port: Some(s.local_port),
            remote,
            state: Some(inet_state_name(s).to_string()),
            inode: Some(s.inode),
            ..Evidence::default()
        }
    }

    pub fn set_process(
        &mut self,
        pid: u32,
        fd: Option<u32>,
        comm: Option<&[u8]>,
        exe: Option<&[u8]>,
    ) {
        self.pid = Some(pid);
        self.fd = fd;
        self.program = comm.map(|c| escape(c).into_owned());
        self.exe = exe.map(|e| escape(e).into_owned());
    }

    /// `key=value` pairs for the text report, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let mut push = |k: &'static str, val: Option<String>| {
            if let Some(val) = val {
                v.push((k, val));
            }
        };
        push("pid", self.pid.map(|p| p.to_string()));
        push("fd", self.fd.map(|p| p.to_string()));
        push("program", self.program.clone());
        push("uid", self.uid.map(|u| u.to_string()));
        push("exe", self.exe.clone());
        push("proto", self.protocol.clone());
        push("address", self.address.clone());
        push("port", self.port.map(|p| p.to_string()));
        push("remote", self.remote.clone());
        push("state", self.state.clone());
        push("inode", self.inode.map(|p| p.to_string()));
        push("interface", self.interface.clone());
        push("mac", self.mac.clone());
        push(
            "addresses",
            (!self.addresses.is_empty()).then(|| self.addresses.join(",")),
        );
        push("netns", self.namespace.map(|p| p.to_string()));
        push("detail", self.detail.clone());
        push(
            "sockets",
            (!self.sockets.is_empty()).then(|| self.sockets.join("; ")),
        );
        if let Some(f) = &self.filter {
            push(
                "filter",
                Some(match f.instructions {
                    Some(n) if f.readable => format!("{n} instructions"),
                    _ => "unreadable".into(),
                }),
            );
            push("accepts", f.accepts.clone());
        }
        v
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub check: Check,
    pub summary: String,
    pub evidence: Evidence,
}

impl Finding {
    pub fn new(
        severity: Severity,
        check: Check,
        summary: impl Into<String>,
        evidence: Evidence,
    ) -> Self {
        Finding {
            severity,
            check,
            summary: summary.into(),
            evidence,
        }
    }
}

/// A check (or part of one) the audit could not do, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotDone {
    /// None: every check (a namespace that could not be entered).
    pub check: Option<Check>,
    pub namespace: Option<u64>,
    pub reason: String,
}

/// IPv4 dotted, IPv6 as inet_ntop writes it (the address printer's rule).
pub fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => crate::addr::ntop6(a),
    }
}

pub fn endpoint(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(_) => format!("{}:{port}", ip_text(ip)),
        IpAddr::V6(_) => format!("[{}]:{port}", ip_text(ip)),
    }
}

/// TCP state names for TCP; UDP's two states are shown as bound/connected.
pub fn inet_state_name(s: &InetSocket) -> &'static str {
    use crate::proc::inet::Proto;
    match s.proto {
        Proto::Tcp => crate::render::netstat::tcp_state_name(s.state),
        _ if s.state == 1 => "CONNECTED",
        _ => "UNCONNECTED",
    }
}
