//! Every socket descriptor of every visible process, not only the first holder
//! (the netstat join keeps one owner per inode; the audit needs all of them and the
//! holder's namespace).

use crate::proc::{process, ProcRoot};
use crate::snapshot::InodeMap;
use std::collections::HashMap;
use std::io;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub fd: u32,
}

/// What the audit shows about a process. Read once per socket-holding process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub netns: Option<u64>,
    pub comm: Option<Vec<u8>>,
    pub exe: Option<Vec<u8>>,
    pub args: Vec<Vec<u8>>,
}

#[derive(Default)]
pub struct Holders {
    pub by_inode: InodeMap<Vec<Holder>>,
    pub procs: HashMap<u32, ProcInfo>,
    /// Processes whose descriptors we were not allowed to read.
    pub denied: usize,
    /// Sockets of the audit's own process: held, but never evidence.
    pub own: std::collections::HashSet<u64>,
    /// The pids /proc's listing gave (the hidden-process check's side of /proc).
    pub listed: Vec<u32>,
    /// Sockets of processes hidden from that listing (check hidden-process), with
    /// their comm: their descriptors are not in `by_inode`.
    pub hidden: InodeMap<Vec<Holder>>,
    pub hidden_comm: HashMap<u32, Vec<u8>>,
}

impl Holders {
    /// One pass over /proc/*/fd, on every core (`snapshot::scan_in_parallel`, results
    /// merged in pid order). The sockets of `skip_pid` (our own process) count as held
    /// but name no holder: the audit's own sockets are not evidence.
    pub fn scan(root: &ProcRoot, skip_pid: u32) -> io::Result<Holders> {
        let pids = process::pids(root)?;
        let scanned = crate::snapshot::scan_in_parallel(&pids, 4, |pid| {
            let mut sockets = Vec::new();
            let walked = process::for_each_fd_link(root, pid, |fd, link| {
                if let Some(inode) = process::socket_inode(link) {
                    sockets.push((inode, fd));
                }
            });
            let info =
                (pid != skip_pid && walked.is_ok() && !sockets.is_empty()).then(|| ProcInfo {
                    netns: process::netns_inode(root, pid),
                    comm: process::comm(root, pid),
                    exe: process::exe(root, pid),
                    args: process::cmdline_args(root, pid, 4096).unwrap_or_default(),
                });
            (walked, sockets, info)
        });
        let mut h = Holders::default();
        h.listed.clone_from(&pids);
        for (&pid, scan) in pids.iter().zip(scanned) {
            let Some((walked, sockets, info)) = scan else {
                continue;
            };
            if pid == skip_pid {
                h.own.extend(sockets.iter().map(|&(inode, _)| inode));
                continue;
            }
            match walked {
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => h.denied += 1,
                Err(_) => {}
                Ok(()) => {
                    for (inode, fd) in sockets {
                        h.by_inode
                            .entry(inode)
                            .or_default()
                            .push(Holder { pid, fd });
                    }
                    if let Some(info) = info {
                        h.procs.insert(pid, info);
                    }
                }
            }
        }
        Ok(h)
    }

    pub fn holders(&self, inode: u64) -> &[Holder] {
        self.by_inode.get(&inode).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_held(&self, inode: u64) -> bool {
        !self.holders(inode).is_empty() || self.own.contains(&inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn own_sockets_are_held_by_nobody_reportable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = listener.as_raw_fd();
        let inode = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino();
        let h = Holders::scan(&ProcRoot::default(), std::process::id()).unwrap();
        assert!(h.is_held(inode));
        assert!(h.holders(inode).is_empty());
        assert!(!h.procs.contains_key(&std::process::id()));
    }
}
