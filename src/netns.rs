//! Network namespaces: which exist, which one we are in, what they are called, and
//! where each one's tables are read. Shared by rnetstat (--all-netns, --netns) and
//! rlsof (sockets of processes in other namespaces).
//!
//! A namespace is known by the inode of its nsfs file (`/proc/PID/ns/net` →
//! `net:[N]`). Processes are grouped by that inode; the first pid in /proc readdir
//! order represents its namespace, and `/proc/PID/net/*` shows that namespace's tables,
//! so every namespace is read once whatever number of processes live in it. Namespaces
//! that only `ip netns add` holds (no process inside) are entered by a helper thread.
//!
//! A socket's key is (namespace, inode): its row carries the namespace whose table
//! lists it. Its owner is found by inode alone, which sockfs numbers machine-wide, so a
//! process holding a socket of another namespace (made before a setns, or received
//! over a unix socket) is still named, under the socket's namespace, not its own.

use crate::proc::{process, ProcRoot};
use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One network namespace and how to reach its tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetNs {
    /// nsfs inode; `None` when unknown (a captured proc tree without ns links).
    pub inode: Option<u64>,
    /// The first process found inside (readdir order).
    pub pid: Option<u32>,
    /// Its name under /run/netns, when `ip netns` named it, in JSON's lossless form
    /// (escape::json_text); text output goes through [`NetNs::label`].
    pub name: Option<String>,
    /// The namespace rnetstat itself runs in.
    pub own: bool,
    /// A namespace file to enter when no process lives inside (a /run/netns entry).
    pub file: Option<PathBuf>,
}

/// Where a namespace's `net/*` files are, relative to the proc root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetDir {
    /// A directory below the proc root: `net` (own) or `PID/net`.
    Dir(String),
    /// No process lives inside: a thread enters this namespace file and reads
    /// `thread-self/net` (live /proc only).
    Enter(PathBuf),
}

impl NetNs {
    /// The namespace of the running process, read through the plain `net` directory.
    /// Also what captures without namespace links get.
    pub fn own(root: &ProcRoot) -> NetNs {
        let inode = own_inode(root);
        let name = inode.and_then(|i| names(root).remove(&i));
        NetNs {
            inode,
            pid: None,
            name,
            own: true,
            file: None,
        }
    }

    pub fn net_dir(&self) -> Option<NetDir> {
        if self.own {
            return Some(NetDir::Dir("net".to_string()));
        }
        if let Some(pid) = self.pid {
            return Some(NetDir::Dir(format!("{pid}/net")));
        }
        self.file.clone().map(NetDir::Enter)
    }

    /// The file a thread can enter this namespace through (live /proc only): its
    /// /run/netns entry, or the namespace link of a process inside.
    pub fn enter_file(&self, root: &ProcRoot) -> Option<PathBuf> {
        self.file
            .clone()
            .or_else(|| self.pid.map(|pid| root.join(&format!("{pid}/ns/net"))))
    }

    /// The name for a column or message: the /run/netns name, else `net:[N]`.
    pub fn label(&self) -> String {
        match (&self.name, self.inode) {
            (Some(name), _) => crate::escape::escape(name.as_bytes()).into_owned(),
            (None, Some(inode)) => format!("net:[{inode}]"),
            (None, None) => "net:[?]".to_string(),
        }
    }

    /// Runs `read` with the directory of this namespace's tables (relative to `root`).
    /// `Ok(None)` when the namespace can no longer be reached (its processes exited).
    pub fn read<T: Send>(
        &self,
        root: &ProcRoot,
        read: impl FnOnce(&str) -> T + Send,
    ) -> io::Result<Option<T>> {
        match self.net_dir() {
            None => Ok(None),
            Some(NetDir::Dir(dir)) => {
                if !self.own && !root.join(&dir).is_dir() {
                    return Ok(None);
                }
                Ok(Some(read(&dir)))
            }
            Some(NetDir::Enter(file)) => {
                if !root.is_live() {
                    return Ok(None);
                }
                crate::threads::on_own_thread(|| {
                    enter(&file)?;
                    Ok(Some(read("thread-self/net")))
                })
            }
        }
    }
}

impl NetNs {
    /// The namespace file to enter: `/proc/PID/ns/net`, or the /run/netns entry.
    pub fn ns_file(&self, root: &ProcRoot) -> Option<PathBuf> {
        match (self.pid, &self.file) {
            (Some(pid), _) => Some(root.join(&format!("{pid}/ns/net"))),
            (None, Some(file)) => Some(file.clone()),
            (None, None) => None,
        }
    }

    /// Runs `f` with this namespace's `net` directory on a thread that has entered the
    /// namespace, for views that also ask the kernel through sockets (interface ioctls).
    /// The own namespace runs on the calling thread; a captured tree is only read.
    /// `Ok(None)` when the namespace can no longer be reached.
    pub fn run_inside<T: Send>(
        &self,
        root: &ProcRoot,
        f: impl FnOnce(&str) -> T + Send,
    ) -> io::Result<Option<T>> {
        if self.own || !root.is_live() {
            return self.read(root, f);
        }
        let Some(file) = self.ns_file(root).filter(|f| f.exists()) else {
            return Ok(None);
        };
        crate::threads::on_own_thread(|| {
            enter(&file)?;
            Ok(Some(f("thread-self/net")))
        })
    }
}

/// Moves the calling thread into the network namespace of `file`. Only the thread
/// changes namespace, so callers run this on a thread of their own.
pub fn enter(file: &Path) -> io::Result<()> {
    let ns = std::fs::File::open(file)?;
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

// NS_GET_NSTYPE is _IO(0xb7, 0x3) (linux/nsfs.h); nix offers no wrapper of its own.
nix::ioctl_none!(ns_get_nstype, 0xb7, 3);

/// Whether a namespace file is a network namespace (ioctl NS_GET_NSTYPE); `None`
/// when the kernel cannot say.
fn is_net_ns(path: &str) -> Option<bool> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the fd is open for the duration of the call; NS_GET_NSTYPE takes no
    // argument and only returns the namespace type.
    let kind = unsafe { ns_get_nstype(std::os::fd::AsRawFd::as_raw_fd(&file)) }.ok()?;
    Some(kind == libc::CLONE_NEWNET)
}

/// The namespace inode of the running process (`self/ns/net`).
pub fn own_inode(root: &ProcRoot) -> Option<u64> {
    let link = std::fs::read_link(root.join("self/ns/net")).ok()?;
    process::ns_link_inode(link.as_os_str().as_bytes())
}

/// The device of nsfs, so a stale plain file in /run/netns is not taken for a namespace.
fn nsfs_device(root: &ProcRoot) -> Option<u64> {
    std::fs::metadata(root.join("self/ns/net"))
        .ok()
        .map(|m| m.dev())
}

/// Names from /run/netns (bind mounts of namespace files), by namespace inode. A
/// namespace with several names gets the alphabetically first.
pub fn names(root: &ProcRoot) -> HashMap<u64, String> {
    named_files(root)
        .into_iter()
        .map(|(inode, name, _)| (inode, name))
        .collect()
}

/// (inode, name, path) of every /run/netns entry that is a namespace, sorted by name.
fn named_files(root: &ProcRoot) -> Vec<(u64, String, PathBuf)> {
    let dev = nsfs_device(root);
    let Ok(dir) = std::fs::read_dir(root.run_netns()) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, String, PathBuf)> = dir
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let meta = std::fs::metadata(&path).ok()?;
            if dev.is_some_and(|d| d != meta.dev()) {
                return None;
            }
            // Kept in JSON's form (escape::json_text); label() escapes it
            // for a terminal.
            let name = crate::escape::json_text(entry.file_name().as_bytes()).into_owned();
            Some((meta.ino(), name, path))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    let mut seen = std::collections::HashSet::new();
    found.retain(|(inode, _, _)| seen.insert(*inode));
    found
}

/// Every network namespace: the own one first, then the others in the order their
/// first process appears in /proc, then named ones nobody lives in.
pub fn discover(root: &ProcRoot) -> io::Result<Vec<NetNs>> {
    let own = NetNs::own(root);
    let mut by_inode: HashMap<u64, usize> = HashMap::new();
    let mut found = vec![own];
    if let Some(inode) = found[0].inode {
        by_inode.insert(inode, 0);
    }
    for pid in process::pids(root)? {
        let Some(inode) = process::netns_inode(root, pid) else {
            continue;
        };
        by_inode.entry(inode).or_insert_with(|| {
            found.push(NetNs {
                inode: Some(inode),
                pid: Some(pid),
                name: None,
                own: false,
                file: None,
            });
            found.len() - 1
        });
    }
    for (inode, name, path) in named_files(root) {
        match by_inode.get(&inode) {
            Some(&i) => found[i].name = Some(name),
            None => {
                by_inode.insert(inode, found.len());
                found.push(NetNs {
                    inode: Some(inode),
                    pid: None,
                    name: Some(name),
                    own: false,
                    file: Some(path),
                });
            }
        }
    }
    Ok(found)
}

/// The namespace `spec` names: a /run/netns name, a pid, or a path to a namespace file
/// (`/proc/PID/ns/net`, `/run/netns/NAME`, a container runtime's bind mount).
pub fn select(root: &ProcRoot, spec: &str) -> Result<NetNs, String> {
    let inode = if let Some(pid) = crate::proc::dec_u64(spec.as_bytes()) {
        let pid = u32::try_from(pid).map_err(|_| format!("no such process: {spec}"))?;
        process::netns_inode(root, pid)
            .ok_or_else(|| format!("cannot read the network namespace of process {spec}"))?
    } else if spec.contains('/') {
        let meta = std::fs::metadata(spec).map_err(|e| format!("{spec}: {e}"))?;
        if nsfs_device(root).is_some_and(|dev| dev != meta.dev()) || is_net_ns(spec) == Some(false)
        {
            return Err(format!("{spec} is not a network namespace"));
        }
        meta.ino()
    } else {
        named_files(root)
            .into_iter()
            .find(|(_, name, _)| name == spec)
            .map(|(inode, _, _)| inode)
            .ok_or_else(|| {
                format!(
                    "no network namespace named `{}' in {}",
                    crate::escape::escape(spec.as_bytes()),
                    root.run_netns().display()
                )
            })?
    };
    let all = discover(root).map_err(|e| format!("{}: {e}", root.path().display()))?;
    if let Some(ns) = all.into_iter().find(|ns| ns.inode == Some(inode)) {
        return Ok(ns);
    }
    // A namespace file that neither a process nor /run/netns holds (a path elsewhere).
    if spec.contains('/') {
        return Ok(NetNs {
            inode: Some(inode),
            pid: None,
            name: None,
            own: false,
            file: Some(PathBuf::from(spec)),
        });
    }
    Err(format!("{spec} is not a network namespace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_comes_first_and_reads_net() {
        let root = ProcRoot::default();
        let all = discover(&root).unwrap();
        assert!(all[0].own);
        assert_eq!(all[0].inode, own_inode(&root));
        assert_eq!(all[0].net_dir(), Some(NetDir::Dir("net".into())));
        let inodes: std::collections::HashSet<_> = all.iter().map(|n| n.inode).collect();
        assert_eq!(inodes.len(), all.len(), "each namespace once");
        let me = select(&root, &std::process::id().to_string()).unwrap();
        assert!(me.own);
        let by_path = select(&root, "/proc/self/ns/net").unwrap();
        assert!(by_path.own);
    }

    #[test]
    fn captures_without_links_fall_back_to_net() {
        let root = ProcRoot::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/proc/live"
        ));
        let all = discover(&root).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].label(), "net:[?]");
        let rows = all[0].read(&root, |dir| dir.to_string()).unwrap();
        assert_eq!(rows.as_deref(), Some("net"));
    }

    #[test]
    fn labels() {
        let mut ns = NetNs {
            inode: Some(4026531840),
            pid: Some(7),
            name: None,
            own: false,
            file: None,
        };
        assert_eq!(ns.label(), "net:[4026531840]");
        assert_eq!(ns.net_dir(), Some(NetDir::Dir("7/net".into())));
        ns.name = Some("blue".into());
        assert_eq!(ns.label(), "blue");
    }
}
