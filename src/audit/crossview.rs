//! Check 1: a socket one kernel interface lists and the other does not, on two looks
//! in a row. Rootkits hide sockets by hooking the /proc/net seq_show functions (or,
//! more rarely, the sock_diag dumpers); sockets that are merely opening or closing
//! differ on one look and not on the next.

use super::finding::{Check, Evidence, Finding, Severity};
use super::views::Views;
use crate::escape::escape;
use crate::proc::inet::{InetSocket, Proto};
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

/// Which interface does not show the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HiddenFrom {
    Proc,
    Netlink,
}

/// A socket as both interfaces must agree on it: the state is left out, since it
/// may change between the two reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Inet {
        proto: Proto,
        v6: bool,
        local: IpAddr,
        local_port: u16,
        remote: IpAddr,
        remote_port: u16,
        inode: u64,
    },
    Unix {
        inode: u64,
    },
}

fn inet_key(s: &InetSocket) -> Key {
    Key::Inet {
        proto: s.proto,
        v6: s.v6,
        local: s.local,
        local_port: s.local_port,
        remote: s.remote,
        remote_port: s.remote_port,
        inode: s.inode,
    }
}

/// Sockets both interfaces can list, and that a process can own. /proc/net/tcp has
/// no entry for a closed or bound-only TCP socket, which sock_diag may report
/// (TCP_CLOSE, and the bound-inactive pseudo-state above TCP_CLOSING). Sockets without
/// an inode (TIME_WAIT, SYN_RECV, orphans) belong to no process, and /proc/net/tcp,
/// read in pieces, skips some of them when tens of thousands churn.
fn comparable(s: &InetSocket) -> bool {
    if s.inode == 0 {
        return false;
    }
    match s.proto {
        Proto::Tcp => s.state != 7 && s.state <= 11,
        Proto::Udp => true,
        Proto::UdpLite | Proto::Raw => false,
    }
}

/// Unix sockets by inode; an orphaned one (inode 0, its owner gone) has no identity
/// to compare and no descriptor to hide.
fn unix_keys(inodes: impl Iterator<Item = u64>) -> impl Iterator<Item = Key> {
    inodes.filter(|&i| i != 0).map(|inode| Key::Unix { inode })
}

fn differences(v: &Views) -> Option<BTreeSet<(HiddenFrom, Key)>> {
    let diag_inet = v.diag_inet.as_ref()?;
    let diag_unix = v.diag_unix.as_ref()?;
    let proc_keys: HashSet<Key> = v
        .proc_inet
        .iter()
        .filter(|s| comparable(s))
        .map(inet_key)
        .chain(unix_keys(v.proc_unix.iter().map(|s| s.inode)))
        .collect();
    let diag_keys: HashSet<Key> = diag_inet
        .iter()
        .filter(|s| comparable(s))
        .map(inet_key)
        .chain(unix_keys(diag_unix.iter().map(|s| s.inode)))
        .collect();
    let mut out = BTreeSet::new();
    out.extend(
        diag_keys
            .difference(&proc_keys)
            .map(|k| (HiddenFrom::Proc, k.clone())),
    );
    out.extend(
        proc_keys
            .difference(&diag_keys)
            .map(|k| (HiddenFrom::Netlink, k.clone())),
    );
    Some(out)
}

/// Differences that hold on both looks, as findings. `None` when either look lacks
/// the netlink view (the comparison could not be made).
pub fn compare(first: &Views, second: &Views, netns: u64) -> Option<Vec<Finding>> {
    compare_looks(&[first, second], netns)
}

/// Differences that hold on every look (evidence from the last). `None` when a look
/// lacks the netlink view or no look is given.
pub fn compare_looks(looks: &[&Views], netns: u64) -> Option<Vec<Finding>> {
    let (last, earlier) = looks.split_last()?;
    let mut common = differences(last)?;
    for look in earlier {
        let d = differences(look)?;
        common.retain(|k| d.contains(k));
    }
    let mut findings = Vec::new();
    for (from, key) in &common {
        let view = *last;
        let missing_in = match from {
            HiddenFrom::Proc => "/proc/net",
            HiddenFrom::Netlink => "sock_diag netlink",
        };
        let evidence = match key {
            Key::Inet {
                proto,
                v6,
                local,
                local_port,
                remote,
                remote_port,
                inode,
            } => {
                let shown = find_inet(view, *from, key);
                match shown {
                    Some(s) => Evidence::socket(netns, s),
                    None => Evidence::socket(
                        netns,
                        &InetSocket {
                            proto: *proto,
                            v6: *v6,
                            local: *local,
                            local_port: *local_port,
                            remote: *remote,
                            remote_port: *remote_port,
                            state: 0,
                            tx_queue: 0,
                            rx_queue: 0,
                            timer: 0,
                            timer_ticks: 0,
                            retransmits: 0,
                            uid: 0,
                            timeout: 0,
                            inode: *inode,
                        },
                    ),
                }
            }
            Key::Unix { inode } => unix_evidence(view, *from, *inode, netns),
        };
        let what = evidence.protocol.clone().unwrap_or_default();
        findings.push(Finding::new(
            Severity::High,
            Check::CrossView,
            format!("{what} socket missing from {missing_in} on two looks"),
            evidence,
        ));
    }
    Some(findings)
}

/// The record of the view that does show the socket.
fn find_inet<'a>(v: &'a Views, from: HiddenFrom, key: &Key) -> Option<&'a InetSocket> {
    let list: &[InetSocket] = match from {
        HiddenFrom::Proc => v.diag_inet.as_deref().unwrap_or_default(),
        HiddenFrom::Netlink => &v.proc_inet,
    };
    list.iter().find(|s| inet_key(s) == *key)
}

fn unix_evidence(v: &Views, from: HiddenFrom, inode: u64, netns: u64) -> Evidence {
    let mut e = Evidence::in_namespace(netns);
    e.protocol = Some("unix".to_string());
    e.inode = Some(inode);
    let name = match from {
        HiddenFrom::Proc => v
            .diag_unix
            .iter()
            .flatten()
            .find(|s| s.inode == inode)
            .and_then(|s| s.name.clone())
            .map(|mut n| {
                // sock_diag gives abstract names with their leading NUL; /proc prints '@'.
                if n.first() == Some(&0) {
                    n[0] = b'@';
                }
                n
            }),
        HiddenFrom::Netlink => v
            .proc_unix
            .iter()
            .find(|s| s.inode == inode)
            .and_then(|s| s.path.clone()),
    };
    e.address = name.map(|n| escape(&n).into_owned());
    e
}
