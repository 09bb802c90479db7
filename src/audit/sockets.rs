//! Checks 3, 4, 5 and 8: the tables of one namespace joined with every process's
//! socket descriptors.

use super::finding::{Check, Evidence, Finding, Severity};
use super::holders::Holders;
use super::views::Views;
use crate::escape::escape;
use crate::proc::inet::{InetSocket, Proto};
use std::collections::{HashMap, HashSet};

/// Fills pid, fd, program and exe from the first holder of `inode`; more holders
/// are named in `detail`.
pub fn attach_holder(e: &mut Evidence, holders: &Holders, inode: u64) {
    let list = holders.holders(inode);
    let Some(first) = list.first() else { return };
    let info = holders.procs.get(&first.pid);
    e.set_process(
        first.pid,
        Some(first.fd),
        info.and_then(|i| i.comm.as_deref()),
        info.and_then(|i| i.exe.as_deref()),
    );
    let others: Vec<String> = list
        .iter()
        .skip(1)
        .map(|h| h.pid)
        .filter(|&p| p != first.pid)
        .map(|p| p.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !others.is_empty() {
        e.detail = Some(format!("also held by pid {}", others.join(",")));
    }
}

/// Names the first process hidden from /proc (check hidden-process) that holds
/// `inode`; false when none does.
fn attach_hidden_holder(e: &mut Evidence, holders: &Holders, inode: u64) -> bool {
    let Some(first) = holders.hidden.get(&inode).and_then(|l| l.first()) else {
        return false;
    };
    let comm = holders.hidden_comm.get(&first.pid).map(Vec::as_slice);
    e.set_process(first.pid, Some(first.fd), comm, None);
    true
}

fn serves(s: &InetSocket) -> bool {
    match s.proto {
        Proto::Tcp => s.state == 10 || s.state == 1,
        Proto::Udp | Proto::UdpLite => s.local_port != 0,
        Proto::Raw => false,
    }
}

/// Check 3: listening or connected sockets (inode set) that no visible process holds.
pub fn unowned(views: &Views, holders: &Holders, netns: u64) -> Vec<Finding> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let inet = views
        .proc_inet
        .iter()
        .chain(views.diag_inet.iter().flatten());
    for s in inet {
        if s.inode == 0 || !serves(s) || holders.is_held(s.inode) || !seen.insert(s.inode) {
            continue;
        }
        let what = if s.state == 10 {
            "listening"
        } else if s.proto == Proto::Tcp {
            "connected"
        } else {
            "bound"
        };
        let mut e = Evidence::socket(netns, s);
        let proto = s.proto.file(s.v6);
        out.push(if attach_hidden_holder(&mut e, holders, s.inode) {
            Finding::new(
                Severity::High,
                Check::UnownedSocket,
                format!("{what} {proto} socket held only by a process hidden from /proc (see hidden-process)"),
                e,
            )
        } else {
            Finding::new(
                Severity::Medium,
                Check::UnownedSocket,
                format!(
                    "{what} {proto} socket held by no visible process (hidden process, kernel socket, or descriptor in flight)"
                ),
                e,
            )
        });
    }
    let unix_listeners = views
        .proc_unix
        .iter()
        .filter(|s| s.is_listening())
        .map(|s| (s.inode, s.path.clone()))
        .chain(
            views
                .diag_unix
                .iter()
                .flatten()
                .filter(|s| s.state == 10)
                .map(|s| (s.inode, s.name.clone())),
        );
    for (inode, path) in unix_listeners {
        if inode == 0 || holders.is_held(inode) || !seen.insert(inode) {
            continue;
        }
        let mut e = Evidence::in_namespace(netns);
        e.protocol = Some("unix".into());
        e.inode = Some(inode);
        e.state = Some("LISTEN".into());
        e.address = path.map(|mut p| {
            if p.first() == Some(&0) {
                p[0] = b'@';
            }
            escape(&p).into_owned()
        });
        out.push(if attach_hidden_holder(&mut e, holders, inode) {
            Finding::new(
                Severity::High,
                Check::UnownedSocket,
                "listening unix socket held only by a process hidden from /proc (see hidden-process)",
                e,
            )
        } else {
            Finding::new(
                Severity::Medium,
                Check::UnownedSocket,
                "listening unix socket held by no visible process (hidden process or descriptor in flight)",
                e,
            )
        });
    }
    out
}

/// What a held socket turned out to be when looked at through a duplicate of the
/// descriptor (or its sockfs protocol name when that is not allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listability {
    /// In a state every table of its kind lists.
    Listed(&'static str),
    /// Unbound, closed or of a kind no table lists: its absence proves nothing.
    Unlisted,
    Unknown,
}

/// Check 4: sockets held by processes of the namespace that no table of it lists.
/// `elsewhere` says whether another namespace's tables list the inode; `probe`
/// classifies a descriptor.
pub fn ghosts(
    views: &Views,
    holders: &Holders,
    netns: u64,
    mut elsewhere: impl FnMut(u64) -> bool,
    mut probe: impl FnMut(u32, u32) -> Listability,
) -> (Vec<Finding>, usize) {
    let listed = views.listed_inodes();
    let mut out = Vec::new();
    let mut unknown = 0;
    let mut seen = HashSet::new();
    let mut pids: Vec<_> = holders
        .procs
        .iter()
        .filter(|(_, i)| i.netns == Some(netns))
        .map(|(&p, _)| p)
        .collect();
    pids.sort_unstable();
    let pid_set: HashSet<u32> = pids.iter().copied().collect();
    let mut candidates: Vec<(u64, u32, u32)> = holders
        .by_inode
        .iter()
        .filter(|(ino, _)| !listed.contains(ino))
        .flat_map(|(&ino, hs)| hs.iter().map(move |h| (ino, h.pid, h.fd)))
        .filter(|(_, pid, _)| pid_set.contains(pid))
        .collect();
    candidates.sort_unstable();
    for (inode, pid, fd) in candidates {
        if seen.contains(&inode) || elsewhere(inode) {
            continue;
        }
        let kind = match probe(pid, fd) {
            Listability::Listed(kind) => kind,
            Listability::Unlisted => continue,
            Listability::Unknown => {
                unknown += 1;
                continue;
            }
        };
        seen.insert(inode);
        let mut e = Evidence::in_namespace(netns);
        e.protocol = Some(kind.to_string());
        e.inode = Some(inode);
        attach_holder(&mut e, holders, inode);
        e.pid = Some(pid);
        e.fd = Some(fd);
        out.push(Finding::new(
            Severity::High,
            Check::GhostSocket,
            format!("{kind} socket held by a process but listed in no table of its namespace"),
            e,
        ));
    }
    (out, unknown)
}

fn ethertype_name(t: u16) -> String {
    let name = match t {
        0x0003 => "ALL",
        0x0800 => "IP",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x88cc => "LLDP",
        0x888e => "EAPOL",
        _ => return format!("0x{t:04x}"),
    };
    format!("0x{t:04x} ({name})")
}

/// Check 5: packet and raw sockets with the processes holding them.
pub fn sniffers(
    views: &Views,
    holders: &Holders,
    netns: u64,
    ifnames: &HashMap<i32, String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &views.proc_packet {
        let mut e = Evidence::in_namespace(netns);
        e.protocol = Some("packet".into());
        e.inode = Some(p.inode);
        e.interface = Some(if p.ifindex == 0 {
            "*".to_string()
        } else {
            ifnames
                .get(&p.ifindex)
                .cloned()
                .unwrap_or_else(|| format!("ifindex {}", p.ifindex))
        });
        attach_holder(&mut e, holders, p.inode);
        let kind = if p.sock_type == 2 {
            "SOCK_DGRAM"
        } else {
            "SOCK_RAW"
        };
        let held = e.pid.is_some();
        let mut detail = format!("ethertype={} type={kind}", ethertype_name(p.ethertype));
        if let Some(d) = e.detail.take() {
            detail = format!("{detail}; {d}");
        }
        e.detail = Some(detail);
        let (severity, summary) = if !held && p.inode != 0 {
            (Severity::High, "packet socket held by no visible process")
        } else if p.ethertype == 0x0003 {
            (Severity::Medium, "packet socket capturing every protocol")
        } else {
            (Severity::Low, "packet socket")
        };
        out.push(Finding::new(severity, Check::Sniffer, summary, e));
    }
    for s in views.proc_inet.iter().filter(|s| s.proto == Proto::Raw) {
        let mut e = Evidence::socket(netns, s);
        e.state = None;
        e.detail = Some(format!("ip protocol {}", s.local_port));
        e.port = None;
        attach_holder(&mut e, holders, s.inode);
        let (severity, summary) = if e.pid.is_none() && s.inode != 0 {
            (Severity::High, "raw socket held by no visible process")
        } else {
            (Severity::Low, "raw socket")
        };
        out.push(Finding::new(severity, Check::Sniffer, summary, e));
    }
    out
}

const WORLD_WRITABLE: [&[u8]; 3] = [b"/tmp/", b"/var/tmp/", b"/dev/shm/"];

/// An exe link (/proc/PID/exe) that names a deleted file or one in a world-writable
/// directory.
pub fn suspicious_exe(exe: &[u8]) -> bool {
    let path = exe.strip_suffix(b" (deleted)").unwrap_or(exe);
    path.len() != exe.len() || WORLD_WRITABLE.iter().any(|d| path.starts_with(d))
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// comm is the basename of the file exec'd, cut to 15 bytes: for a script it names
/// the script, for a symlinked interpreter the link (python3 → python3.11).
fn comm_matches(comm: &[u8], exe: &[u8], args: &[Vec<u8>]) -> bool {
    let cut = |b: &[u8]| b[..b.len().min(15)].to_vec();
    let exe_name = cut(basename(exe));
    if comm == exe_name.as_slice() || exe_name.starts_with(comm) || comm.starts_with(&exe_name) {
        return true;
    }
    // A script's comm is its own name, the interpreter's first argument.
    args.get(1).is_some_and(|a| cut(basename(a)) == comm)
}

/// Check 8: socket-holding processes of the namespace with a deleted executable, one
/// in a world-writable directory, or a name that is not their executable's.
pub fn processes(holders: &Holders, netns: u64) -> Vec<Finding> {
    let mut pids: Vec<_> = holders
        .procs
        .iter()
        .filter(|(_, i)| i.netns == Some(netns))
        .collect();
    pids.sort_unstable_by_key(|(&p, _)| p);
    let mut out = Vec::new();
    for (&pid, info) in pids {
        let Some(exe) = info.exe.as_deref() else {
            continue;
        };
        let (path, deleted) = match exe.strip_suffix(b" (deleted)") {
            Some(p) => (p, true),
            None => (exe, false),
        };
        let evidence = || {
            let mut e = Evidence::in_namespace(netns);
            e.set_process(pid, None, info.comm.as_deref(), Some(exe));
            e
        };
        if deleted {
            out.push(Finding::new(
                Severity::High,
                Check::Process,
                "socket-holding process runs a deleted executable",
                evidence(),
            ));
        }
        if WORLD_WRITABLE.iter().any(|d| path.starts_with(d)) {
            out.push(Finding::new(
                Severity::High,
                Check::Process,
                "socket-holding process runs an executable from a world-writable directory",
                evidence(),
            ));
        }
        if let Some(comm) = info.comm.as_deref() {
            if !comm_matches(comm, path, &info.args) {
                out.push(Finding::new(
                    Severity::Low,
                    Check::Process,
                    "socket-holding process's name differs from its executable's",
                    evidence(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audit::holders::{Holder, ProcInfo};
    use crate::proc::unix::UnixSocket;

    fn holding(pid: u32, netns: u64, inodes: &[u64]) -> Holders {
        let mut h = Holders::default();
        for (fd, &inode) in inodes.iter().enumerate() {
            h.by_inode.entry(inode).or_default().push(Holder {
                pid,
                fd: fd as u32 + 3,
            });
        }
        h.procs.insert(
            pid,
            ProcInfo {
                netns: Some(netns),
                comm: Some(b"evil".to_vec()),
                exe: Some(b"/usr/sbin/evil".to_vec()),
                args: vec![],
            },
        );
        h
    }

    #[test]
    fn ghosts_need_a_listable_state_and_no_table_anywhere() {
        let views = Views {
            proc_unix: vec![UnixSocket {
                kernel_addr: 0,
                refcnt: 2,
                protocol: 0,
                flags: 0,
                sock_type: 1,
                state: 1,
                inode: 10,
                path: None,
            }],
            ..Views::default()
        };
        let holders = holding(100, 5, &[10, 11, 12, 13, 14]);
        let (found, unknown) = ghosts(
            &views,
            &holders,
            5,
            |inode| inode == 13,
            |_, fd| match fd {
                4 => Listability::Listed("tcp"),
                5 => Listability::Unlisted,
                6 => Listability::Listed("udp"),
                _ => Listability::Unknown,
            },
        );
        assert_eq!(unknown, 1);
        assert_eq!(found.len(), 1, "{found:?}");
        let e = &found[0].evidence;
        assert_eq!((e.inode, e.pid, e.fd), (Some(11), Some(100), Some(4)));
        assert_eq!(e.program.as_deref(), Some("evil"));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        // A process of another namespace is not judged by this one's tables.
        let (found, _) = ghosts(
            &views,
            &holders,
            6,
            |_| false,
            |_, _| Listability::Listed("tcp"),
        );
        assert!(found.is_empty());
    }

    #[test]
    fn comm_rules() {
        assert!(comm_matches(b"python3", b"/usr/bin/python3.11", &[]));
        assert!(comm_matches(
            b"systemd-journal",
            b"/usr/lib/systemd/systemd-journald",
            &[]
        ));
        assert!(comm_matches(
            b"networkd-dispat",
            b"/usr/bin/python3.11",
            &[
                b"/usr/bin/python3".to_vec(),
                b"/usr/bin/networkd-dispatcher".to_vec()
            ]
        ));
        assert!(!comm_matches(
            b"sshd",
            b"/tmp/.x/miner",
            &[b"sshd".to_vec()]
        ));
    }
}
