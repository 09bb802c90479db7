//! The socket tables rlsof reads: ours, and those of other network namespaces,
//! each read once, on the first socket met there.

use super::model::Kind;
use super::name::first_token;
use crate::netlink;
use crate::netns::{self, NetNs};
use crate::proc::files::{self, FileStat, PacketSocket};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::{unix, ProcRoot};
use crate::render::lsof::ProcessNetns;
use crate::snapshot::InodeMap;
use crate::tables::{read_inet_tables, TableSource};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Every socket of one network namespace by inode.
#[derive(Default)]
pub(crate) struct Sockets {
    pub(crate) inet: InodeMap<InetSocket>,
    pub(crate) raw: InodeMap<InetSocket>,
    /// IPv4 ping sockets (lsof reads no icmp6 table: those stay `sock`).
    pub(crate) icmp: InodeMap<InetSocket>,
    pub(crate) unix: InodeMap<unix::UnixSocket>,
    /// The (device, inode) lsof 4.95 matches a unix socket's file by when its path
    /// cannot be stat()ed: see [`stale_stats`].
    pub(crate) unix_stale: InodeMap<(u64, u64)>,
    pub(crate) netlink: InodeMap<u32>,
    pub(crate) packet: InodeMap<PacketSocket>,
}

impl Sockets {
    pub(crate) fn contains(&self, ino: u64) -> bool {
        self.inet.contains_key(&ino)
            || self.unix.contains_key(&ino)
            || self.raw.contains_key(&ino)
            || self.icmp.contains_key(&ino)
            || self.netlink.contains_key(&ino)
            || self.packet.contains_key(&ino)
    }

    /// Reads the tables under `net_dir` (`net`, or `PID/net` for another namespace).
    /// `stat_unix_paths`: the run has file names to match and looks at this machine's
    /// own files (see [`stale_stats`]).
    pub(crate) fn load(
        root: &ProcRoot,
        net_dir: &str,
        tables: Tables,
        stat_unix_paths: bool,
    ) -> Sockets {
        let mut s = Sockets::default();
        // TCP and UDP records are the same from sock_diag as from /proc/net, in the
        // columns lsof prints.
        let source =
            TableSource::for_namespace(root, net_dir == "net", netlink::inet::PROC_TCP_STATES);
        let wanted: Vec<(Proto, bool)> = [Proto::Tcp, Proto::Udp, Proto::UdpLite]
            .into_iter()
            .flat_map(|p| [(p, false), (p, true)])
            .collect();
        for (_, _, table) in read_inet_tables(root, net_dir, &wanted, source) {
            if let Ok(t) = table {
                s.inet.reserve(t.rows.len());
                for sock in t.rows {
                    s.inet.insert(sock.inode, sock);
                }
            }
        }
        if tables == Tables::Inet {
            return s;
        }
        if let Ok(t) = unix::read_table(root, net_dir) {
            if stat_unix_paths {
                s.unix_stale = stale_stats(&t.rows, |p| {
                    files::stat_path(Path::new(OsStr::from_bytes(p))).ok()
                });
            }
            for sock in t.rows {
                s.unix.insert(sock.inode, sock);
            }
        }
        for v6 in [false, true] {
            if let Ok(t) = inet::read_table(root, net_dir, Proto::Raw, v6) {
                for sock in t.rows {
                    s.raw.insert(sock.inode, sock);
                }
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/icmp")) {
            // The same columns as the raw table; `proto` only tags the records.
            for sock in inet::parse_table(&d, Proto::Raw, false, "icmp").rows {
                s.icmp.insert(sock.inode, sock);
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/netlink")) {
            for n in files::parse_netlink(&d, "netlink").rows {
                s.netlink.insert(n.inode, n.protocol);
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/packet")) {
            for p in files::parse_packet(&d, "packet").rows {
                s.packet.insert(p.inode, p);
            }
        }
        s
    }

    /// The decoded kind of socket `inode`, when one of these tables lists it.
    pub(crate) fn kind(&self, inode: u64) -> Option<Kind> {
        Some(if let Some(r) = self.raw.get(&inode) {
            Kind::Raw(r.clone())
        } else if let Some(r) = self.icmp.get(&inode) {
            Kind::Icmp(r.clone())
        } else if let Some(&p) = self.netlink.get(&inode) {
            Kind::Netlink(p)
        } else if let Some(p) = self.packet.get(&inode) {
            Kind::Packet(*p)
        } else if let Some(u) = self.unix.get(&inode) {
            Kind::Unix(u.clone())
        } else {
            Kind::Inet(self.inet.get(&inode)?.clone())
        })
    }
}

/// lsof 4.95 stat()s the path of every unix socket record whose path is absolute, in
/// table order, but its test is inverted (`if (sr && S_ISSOCK)`, fixed in lsof 4.97):
/// a path that cannot be stat()ed (gone, or cut short at a blank) takes the stat
/// buffer the last path that could left behind, and the socket is matched against the
/// file names by that file's device and inode. So `lsof /run/a.sock` also lists a
/// socket bound to `/tmp/x y.sock` that follows a.sock's record. Reproduced here, as
/// the reference selects it, from `stat` (this machine's files; a record before any
/// successful stat finds lsof's buffer uninitialised, taken as no socket).
pub(crate) fn stale_stats(
    rows: &[unix::UnixSocket],
    mut stat: impl FnMut(&[u8]) -> Option<FileStat>,
) -> InodeMap<(u64, u64)> {
    let mut out = InodeMap::default();
    let mut buffer: Option<FileStat> = None;
    // lsof skips a record whose inode it has seen (before any stat()).
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        if !seen.insert(row.inode) {
            continue;
        }
        let Some(path) = row.path.as_deref().and_then(first_token) else {
            continue;
        };
        if !path.starts_with(b"/") {
            continue;
        }
        match stat(path) {
            Some(st) => buffer = Some(st),
            None => {
                if let Some(st) = buffer.filter(|st| st.file_type() == libc::S_IFSOCK) {
                    out.insert(row.inode, (st.dev, st.ino));
                }
            }
        }
    }
    out
}

/// Which socket tables a run reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tables {
    /// TCP, UDP and UDP-Lite only: a run that can list no other file (`-i` alone).
    Inet,
    All,
}

/// The network namespaces other than ours that scanned processes live in: names from
/// netns discovery, and each one's tables read once, on the first socket met there.
/// A socket's key is (namespace, inode): a foreign process's socket is looked up in its
/// namespace's tables.
#[derive(Default)]
pub(crate) struct ForeignNetns {
    pub(crate) discovered: OnceLock<Vec<NetNs>>,
    /// Locked while a namespace's tables are read, so each is read once.
    pub(crate) tables: Mutex<HashMap<u64, Option<Arc<Sockets>>>>,
}

impl ForeignNetns {
    pub(crate) fn find(&self, root: &ProcRoot, inode: u64) -> Option<&NetNs> {
        self.discovered
            .get_or_init(|| netns::discover(root).unwrap_or_default())
            .iter()
            .find(|ns| ns.inode == Some(inode))
    }

    pub(crate) fn describe(&self, root: &ProcRoot, inode: u64) -> ProcessNetns {
        ProcessNetns {
            inode,
            name: self.find(root, inode).and_then(|ns| ns.name.clone()),
        }
    }

    /// The tables of namespace `inode`, which process `pid` lives in (read through
    /// it when discovery, which ran earlier, did not see the namespace yet).
    pub(crate) fn tables(&self, root: &ProcRoot, inode: u64, pid: u32) -> Option<Arc<Sockets>> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tables.get(&inode) {
            return t.clone();
        }
        let ns = self.find(root, inode).cloned().unwrap_or(NetNs {
            inode: Some(inode),
            pid: Some(pid),
            name: None,
            own: false,
            file: None,
        });
        let read = ns
            .read(root, |dir| Sockets::load(root, dir, Tables::All, false))
            .ok()
            .flatten()
            .map(Arc::new);
        tables.insert(inode, read.clone());
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_stat_takes_the_last_socket_stat_before_it() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 1 /gone x.sock\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 2 /run/a.sock\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 3\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 4 @abstract\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 5 /tmp/cut 1.sock\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 2 /tmp/file:again\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 6 /tmp/cut:2.sock\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 7 /tmp/file:x\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 8 /tmp/cut 3.sock\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 9 /run/b.sock\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 10 /tmp/cut 4.sock\n";
        let rows = unix::parse_table(table.as_bytes(), "unix").rows;
        let mut asked = Vec::new();
        let stale = stale_stats(&rows, |p| {
            asked.push(String::from_utf8_lossy(p).into_owned());
            let (mode, ino) = match p {
                b"/run/a.sock" => (libc::S_IFSOCK, 100),
                b"/run/b.sock" => (libc::S_IFSOCK, 200),
                b"/tmp/file" => (libc::S_IFREG, 300),
                _ => return None,
            };
            Some(FileStat {
                mode,
                dev: 7,
                ino,
                ..FileStat::default()
            })
        });
        // Absolute paths only, each cut as lsof cuts it; inode 2 again is skipped.
        assert_eq!(
            asked,
            [
                "/gone",
                "/run/a.sock",
                "/tmp/cut",
                "/tmp/cut",
                "/tmp/file",
                "/tmp/cut",
                "/run/b.sock",
                "/tmp/cut"
            ]
        );
        let mut got: Vec<_> = stale.into_iter().collect();
        got.sort_unstable();
        // 1: no stat before it; 8: the last stat was a regular file's.
        assert_eq!(got, [(5, (7, 100)), (6, (7, 100)), (10, (7, 200))]);
    }
}
