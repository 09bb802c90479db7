//! Check socket-filter: packet, raw, TCP, UDP and unix sockets with a BPF filter
//! attached. Backdoors of the BPFDoor family sleep on a packet or raw socket until a
//! magic packet passes their filter; DHCP clients, LLDP agents and tcpdump use
//! filters too, and a filter on a TCP, UDP or unix socket is unusual. The finding
//! shows the program and what it accepts for a person to judge, and is high only
//! when the holder also runs a deleted or world-writable-directory executable.

use super::finding::{Check, Evidence, Finding, Severity, SocketFilter};
use super::holders::Holders;
use super::sockets::{attach_holder, suspicious_exe};
use super::views::Views;
use crate::bpf::{self, Layer};
use crate::escape::escape;
use crate::proc::inet::Proto;
use crate::sockfilter::Filter;
use std::collections::HashMap;
use std::io;

/// What reading one descriptor's filter gave: the filter, and the device the socket
/// is bound to (SO_BINDTODEVICE), if any.
pub type Read = io::Result<(Filter, Option<Vec<u8>>)>;

/// Reads a live descriptor (pidfd_getfd, SO_GET_FILTER, SO_BINDTODEVICE), checked
/// to be socket `inode` still.
pub fn read_live(pid: u32, fd: u32, inode: u64) -> Read {
    let sock = crate::sockfilter::duplicate_socket(pid, fd, inode)?;
    let filter = crate::sockfilter::read(&sock)?;
    Ok((filter, crate::sockfilter::bound_device(&sock)))
}

/// One socket to look at: inode, protocol name, interface (packet sockets), layer.
struct Candidate {
    inode: u64,
    protocol: &'static str,
    interface: Option<String>,
    layer: Layer,
    base: Evidence,
    /// Packet and raw sockets: one whose holders went away before its filter was
    /// read counts as unread. TCP, UDP and unix sockets come and go by the thousand:
    /// one that left its holders is gone, as the cross-view treats them.
    count_gone: bool,
}

/// Findings for filtered sockets, and how many sockets' filters could not be read
/// through any holder (exited, or pidfd_getfd refused).
pub fn socket_filters(
    views: &Views,
    holders: &Holders,
    netns: u64,
    ifnames: &HashMap<i32, String>,
    mut read: impl FnMut(u32, u32, u64) -> Read,
) -> (Vec<Finding>, usize) {
    let mut candidates = Vec::new();
    for p in &views.proc_packet {
        let interface = if p.ifindex == 0 {
            "*".to_string()
        } else {
            ifnames
                .get(&p.ifindex)
                .cloned()
                .unwrap_or_else(|| format!("ifindex {}", p.ifindex))
        };
        // SOCK_RAW sees the link header (Ethernet on Ethernet-like links and
        // loopback); SOCK_DGRAM starts at the network header of its ethertype.
        let layer = match (p.sock_type, p.ethertype) {
            (3, _) => Layer::Ethernet,
            (_, 0x0800) => Layer::Ipv4,
            _ => Layer::Unknown,
        };
        let mut base = Evidence::in_namespace(netns);
        base.detail = Some(format!(
            "ethertype=0x{:04x} type={}",
            p.ethertype,
            if p.sock_type == 2 {
                "SOCK_DGRAM"
            } else {
                "SOCK_RAW"
            }
        ));
        candidates.push(Candidate {
            inode: p.inode,
            protocol: "packet",
            interface: Some(interface),
            layer,
            base,
            count_gone: true,
        });
    }
    for s in views.proc_inet.iter().filter(|s| s.proto == Proto::Raw) {
        let mut base = Evidence::socket(netns, s);
        base.state = None;
        base.port = None;
        base.detail = Some(format!("ip protocol {}", s.local_port));
        candidates.push(Candidate {
            inode: s.inode,
            protocol: if s.v6 { "raw6" } else { "raw" },
            interface: None,
            // An IPv4 raw socket's filter sees the IP header; an IPv6 one does not.
            layer: if s.v6 { Layer::Unknown } else { Layer::Ipv4 },
            base,
            count_gone: true,
        });
    }
    // TCP and UDP filters see the transport header or the payload, unix ones the
    // message: offsets are shown as they are.
    for s in views.proc_inet.iter().filter(|s| s.proto != Proto::Raw) {
        candidates.push(Candidate {
            inode: s.inode,
            protocol: s.proto.file(s.v6),
            interface: None,
            layer: Layer::Unknown,
            base: Evidence::socket(netns, s),
            count_gone: false,
        });
    }
    for s in &views.proc_unix {
        let mut base = Evidence::in_namespace(netns);
        base.address = s.path.clone().map(|mut p| {
            if p.first() == Some(&0) {
                p[0] = b'@';
            }
            escape(&p).into_owned()
        });
        candidates.push(Candidate {
            inode: s.inode,
            protocol: "unix",
            interface: None,
            layer: Layer::Unknown,
            base,
            count_gone: false,
        });
    }

    let mut out = Vec::new();
    let mut unread = 0;
    let mut seen = std::collections::HashSet::new();
    for c in candidates {
        if c.inode == 0 || !seen.insert(c.inode) {
            continue;
        }
        let list = holders.holders(c.inode);
        if list.is_empty() {
            continue;
        }
        let mut refused = false;
        let got = list.iter().find_map(|h| match read(h.pid, h.fd, c.inode) {
            Ok(r) => Some((*h, r)),
            Err(e) => {
                refused |= !crate::sockfilter::holder_gone(&e);
                None
            }
        });
        let Some((holder, (filter, device))) = got else {
            if refused || c.count_gone {
                unread += 1;
            }
            continue;
        };
        let info = match filter {
            Filter::None => continue,
            Filter::Classic(prog) => SocketFilter {
                readable: true,
                instructions: Some(prog.len()),
                disassembly: bpf::disassemble(&prog),
                accepts: Some(bpf::analyse(&prog, c.layer).describe()),
            },
            Filter::Unreadable(why) => SocketFilter {
                readable: false,
                instructions: None,
                disassembly: Vec::new(),
                accepts: Some(format!("not known: {why}")),
            },
        };
        let mut e = c.base;
        e.protocol = Some(c.protocol.to_string());
        e.inode = Some(c.inode);
        e.interface = c
            .interface
            .or_else(|| device.map(|d| escape(&d).into_owned()));
        let detail = e.detail.take();
        attach_holder(&mut e, holders, c.inode);
        // The holder whose descriptor was read names the process.
        let proc_info = holders.procs.get(&holder.pid);
        e.set_process(
            holder.pid,
            Some(holder.fd),
            proc_info.and_then(|i| i.comm.as_deref()),
            proc_info.and_then(|i| i.exe.as_deref()),
        );
        e.detail = match (detail, e.detail.take()) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        let bad_exe = list.iter().any(|h| {
            holders
                .procs
                .get(&h.pid)
                .and_then(|i| i.exe.as_deref())
                .is_some_and(suspicious_exe)
        });
        let readable = info.readable;
        e.filter = Some(info);
        let severity = if bad_exe {
            Severity::High
        } else {
            Severity::Medium
        };
        let summary = match (readable, bad_exe) {
            (true, false) => format!("{} socket with a BPF filter attached", c.protocol),
            (true, true) => format!(
                "{} socket with a BPF filter attached, held by a deleted or world-writable-directory executable",
                c.protocol
            ),
            (false, false) => format!(
                "{} socket with a filter attached that cannot be read (eBPF)",
                c.protocol
            ),
            (false, true) => format!(
                "{} socket with an unreadable (eBPF) filter, held by a deleted or world-writable-directory executable",
                c.protocol
            ),
        };
        out.push(Finding::new(severity, Check::SocketFilter, summary, e));
    }
    (out, unread)
}
