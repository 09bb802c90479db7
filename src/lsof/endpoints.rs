//! `-E`/`+E`: who is at the other end of a unix socket, a pipe or a local TCP/UDP
//! connection, and the endpoint files `+E` adds to the listing.

use super::model::{Candidate, EndKey, Kind, ProcInfo};
use super::sockets::Sockets;
use crate::proc::inet::Proto;
use crate::render::lsof::FdName;
use crate::snapshot::InodeMap;
use std::net::IpAddr;

/// lsof's view of unix socket links: peers filled in both directions (first one
/// wins) and, for listeners, the first waiting client; only sockets of our
/// /proc/net/unix count.
#[derive(Default)]
pub(crate) struct UnixEndpoints {
    pub(crate) peer: InodeMap<u64>,
    pub(crate) incoming: InodeMap<u64>,
    /// A TCP/UDP socket whose other end is a socket of this host: the inode of the
    /// socket with the same addresses the other way round (same table).
    pub(crate) inet_peer: InodeMap<u64>,
}

impl UnixEndpoints {
    /// The inodes whose holders a unix file's NAME lists.
    pub(crate) fn of(&self, inode: u64) -> Vec<u64> {
        if let Some(&p) = self.peer.get(&inode) {
            return vec![p];
        }
        let mut out = Vec::new();
        let mut cur = self.incoming.get(&inode).copied();
        while let Some(c) = cur {
            if c == inode || out.contains(&c) {
                break;
            }
            out.push(c);
            cur = self.incoming.get(&c).copied();
        }
        out
    }
}

pub(crate) fn unix_links(sockets: &Sockets) -> UnixEndpoints {
    let mut e = UnixEndpoints::default();
    type Key = (bool, Proto, IpAddr, u16, IpAddr, u16);
    let by_addr: std::collections::HashMap<Key, u64> = sockets
        .inet
        .values()
        .filter(|s| s.remote_port != 0)
        .map(|s| {
            (
                (
                    s.v6,
                    s.proto,
                    s.local,
                    s.local_port,
                    s.remote,
                    s.remote_port,
                ),
                s.inode,
            )
        })
        .collect();
    for s in sockets.inet.values().filter(|s| s.remote_port != 0) {
        let back = (
            s.v6,
            s.proto,
            s.remote,
            s.remote_port,
            s.local,
            s.local_port,
        );
        if let Some(&peer) = by_addr.get(&back) {
            e.inet_peer.insert(s.inode, peer);
        }
    }
    let known = |i: &u64| sockets.unix.contains_key(i);
    for l in crate::netlink::unix::dump().unwrap_or_default() {
        if !known(&l.inode) {
            continue;
        }
        if let Some(p) = l.peer.filter(|p| known(p)) {
            e.peer.entry(l.inode).or_insert(p);
            e.peer.entry(p).or_insert(l.inode);
        }
        if let Some(&c) = l.incoming.iter().find(|c| known(c)) {
            e.incoming.entry(l.inode).or_insert(c);
        }
    }
    e
}

/// Who holds each unix socket and each pipe: `pid,command,fd+mode` of every
/// scanned holder. Unix holders are kept latest-scanned first (lsof prepends),
/// pipe holders in scan order.
#[derive(Default)]
pub(crate) struct Holders {
    pub(crate) unix: InodeMap<Vec<(u32, u32, String)>>,
    pub(crate) pipes: InodeMap<Vec<(u32, u32, String)>>,
    pub(crate) inet: InodeMap<Vec<(u32, u32, String)>>,
    /// Message queues, eventfds and both ends of ptys, in pid/fd order.
    pub(crate) ends: std::collections::HashMap<EndKey, Vec<(u32, u32, String)>>,
}

pub(crate) fn unix_holders<'a>(
    command_limit: usize,
    procs: impl Iterator<Item = &'a ProcInfo>,
) -> Holders {
    // (pid, fd, inode, 0 unix / 1 pipe / 2 inet, text)
    let mut all: Vec<(u32, u32, u64, u8, String)> = Vec::new();
    let mut ends: Vec<(u32, u32, EndKey, String)> = Vec::new();
    let limit = if command_limit == 0 {
        usize::MAX
    } else {
        command_limit
    };
    for p in procs.filter(|p| p.task.is_none()) {
        for c in &p.files {
            let FdName::Num(fd) = c.fd else { continue };
            let is_unix = matches!(c.kind, Kind::Unix(_));
            let is_pipe = matches!(&c.kind, Kind::Path { stat: Some(st), name, .. }
                if st.file_type() == libc::S_IFIFO && name.starts_with(b"pipe:"));
            let is_inet = matches!(c.kind, Kind::Inet(_));
            if !is_unix && !is_pipe && !is_inet && c.end.is_none() {
                continue;
            }
            let comm: Vec<u8> = p.comm.iter().copied().take(limit).collect();
            let text = format!(
                "{},{},{}{}",
                p.pid,
                String::from_utf8_lossy(&comm),
                fd,
                c.access as char
            );
            if let Some(key) = c.end {
                ends.push((p.pid, fd, key, text));
                continue;
            }
            let kind = if is_unix {
                0
            } else if is_pipe {
                1
            } else {
                2
            };
            all.push((p.pid, fd, c.inode, kind, text));
        }
    }
    all.sort_by_key(|(pid, fd, ..)| (*pid, *fd));
    all.dedup_by_key(|(pid, fd, ..)| (*pid, *fd));
    let mut h = Holders::default();
    for (pid, fd, inode, kind, text) in all.iter().rev() {
        if *kind == 0 {
            h.unix
                .entry(*inode)
                .or_default()
                .push((*pid, *fd, text.clone()));
        }
    }
    for (pid, fd, inode, kind, text) in all {
        match kind {
            1 => h.pipes.entry(inode).or_default().push((pid, fd, text)),
            2 => h.inet.entry(inode).or_default().push((pid, fd, text)),
            _ => {}
        }
    }
    ends.sort_by_key(|(pid, fd, ..)| (*pid, *fd));
    ends.dedup_by_key(|(pid, fd, ..)| (*pid, *fd));
    for (pid, fd, key, text) in ends {
        h.ends.entry(key).or_default().push((pid, fd, text));
    }
    h
}

/// `+E`: the endpoint files of listed unix sockets are listed too.
pub(crate) fn add_endpoint_files<'a>(
    procs: &mut Vec<ProcInfo>,
    spare: impl Iterator<Item = &'a ProcInfo>,
    links: &UnixEndpoints,
) {
    let mut wanted: std::collections::HashSet<u64> = procs
        .iter()
        .flat_map(|p| &p.files)
        .filter(|c| matches!(c.kind, Kind::Unix(_)))
        .flat_map(|c| links.of(c.inode))
        .collect();
    wanted.extend(
        procs
            .iter()
            .flat_map(|p| &p.files)
            .filter(|c| matches!(c.kind, Kind::Inet(_)))
            .filter_map(|c| links.inet_peer.get(&c.inode).copied()),
    );
    // A pipe's endpoints are the other holders of the same pipe inode.
    wanted.extend(
        procs
            .iter()
            .flat_map(|p| &p.files)
            .filter(|c| is_pipe(c))
            .map(|c| c.inode),
    );
    // Message queues, eventfds and ptys: the files with the same key (the other end's,
    // for a pty).
    let wanted_ends: std::collections::HashSet<EndKey> = procs
        .iter()
        .flat_map(|p| &p.files)
        .filter_map(|c| c.end.map(EndKey::other))
        .collect();
    for sp in spare {
        let is_wanted = |c: &&Candidate| match c.end {
            Some(k) => wanted_ends.contains(&k),
            None => wanted.contains(&c.inode),
        };
        for c in sp.files.iter().filter(is_wanted) {
            let copy = Candidate {
                end: c.end,
                fdinfo: c.fdinfo.clone(),
                netns: c.netns.clone(),
                fd: c.fd,
                access: c.access,
                inode: c.inode,
                dev: c.dev,
                kind: match &c.kind {
                    Kind::Unix(u) => Kind::Unix(u.clone()),
                    Kind::Inet(i) => Kind::Inet(i.clone()),
                    Kind::Path {
                        fd,
                        stat,
                        name,
                        is_fd,
                    } => Kind::Path {
                        fd: *fd,
                        stat: *stat,
                        name: name.clone(),
                        is_fd: *is_fd,
                    },
                    _ => continue,
                },
            };
            let same = |p: &&mut ProcInfo| p.pid == sp.pid && p.task == sp.task;
            match procs.iter_mut().find(same) {
                Some(p) => {
                    if !p.files.iter().any(|f| f.fd == copy.fd) {
                        p.files.push(copy);
                    }
                }
                None => procs.push(ProcInfo {
                    pid: sp.pid,
                    ppid: sp.ppid,
                    pgid: sp.pgid,
                    uid: sp.uid,
                    comm: sp.comm.clone(),
                    task: sp.task.clone(),
                    netns: sp.netns.clone(),
                    proc_root: sp.proc_root.clone(),
                    id: sp.id,
                    files: vec![copy],
                }),
            }
        }
    }
    procs.sort_by_key(|p| (p.pid, p.task.as_ref().map(|t| t.0)));
    for p in procs.iter_mut() {
        p.files.sort_by_key(|c| match c.fd {
            FdName::Num(n) => n as u64 + 1,
            _ => 0,
        });
    }
}

pub(crate) fn is_pipe(c: &Candidate) -> bool {
    matches!(&c.kind, Kind::Path { stat: Some(st), name, .. }
        if st.file_type() == libc::S_IFIFO && name.starts_with(b"pipe:"))
}
