//! Network namespaces to audit and running code inside one. Namespaces are found
//! from /proc/*/ns/net and the bind mounts of /run/netns (a namespace made with
//! `ip netns add` may hold no process). Until the shared src/netns.rs lands, this is
//! the audit's own enumeration.

use crate::proc::{process, ProcRoot};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    pub inode: u64,
    /// A file that opens the namespace (/proc/PID/ns/net or /run/netns/NAME).
    pub path: PathBuf,
    /// A process inside it, whose /proc/PID/net shows its tables.
    pub pid: Option<u32>,
    /// The `ip netns` name, when it has one.
    pub name: Option<String>,
}

/// The namespace the calling thread is in.
pub fn current_inode(root: &ProcRoot) -> io::Result<u64> {
    Ok(std::fs::metadata(root.join("thread-self/ns/net"))?.ino())
}

/// Every namespace that a process or /run/netns holds, ordered by inode.
pub fn list(root: &ProcRoot, run_netns: &Path) -> io::Result<Vec<Namespace>> {
    let mut found: BTreeMap<u64, Namespace> = BTreeMap::new();
    for pid in process::pids(root)? {
        let Some(inode) = process::netns_inode(root, pid) else {
            continue;
        };
        found.entry(inode).or_insert_with(|| Namespace {
            inode,
            path: root.join(&format!("{pid}/ns/net")),
            pid: Some(pid),
            name: None,
        });
    }
    if let Ok(dir) = std::fs::read_dir(run_netns) {
        for entry in dir.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            // An unmounted placeholder file lives on the /run filesystem, not nsfs.
            if meta.dev() == std::fs::metadata(run_netns).map(|m| m.dev()).unwrap_or(0) {
                continue;
            }
            let ns = found.entry(meta.ino()).or_insert_with(|| Namespace {
                inode: meta.ino(),
                path: path.clone(),
                pid: None,
                name: None,
            });
            ns.name = Some(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(found.into_values().collect())
}

fn open(path: &Path) -> io::Result<OwnedFd> {
    Ok(std::fs::File::open(path)?.into())
}

/// Gives the calling thread its own mount namespace with a sysfs of its network
/// namespace on /sys, as `ip netns exec` does, so /sys/class/net describes it.
fn private_sysfs() -> io::Result<()> {
    // SAFETY: unshare/mount with constant, NUL-terminated arguments; only this
    // thread's mount namespace changes.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        let root = c"/";
        if libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_SLAVE | libc::MS_REC,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        let sys = c"/sys";
        let fstype = c"sysfs";
        if libc::mount(
            fstype.as_ptr(),
            sys.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What a namespace thread could set up.
#[derive(Clone, Copy, Debug)]
pub struct Entered {
    /// /sys was remounted for this namespace (else it may show another one).
    pub own_sysfs: bool,
}

/// Runs `f` on a thread inside the namespace at `path` (or the current one when
/// `path` is None). With `remount_sys`, the thread also gets a sysfs of that
/// namespace. Sockets `f` opens belong to that namespace; /proc/thread-self/net
/// shows its tables.
pub fn run_in<T: Send>(
    path: Option<&Path>,
    remount_sys: bool,
    f: impl FnOnce(Entered) -> T + Send,
) -> io::Result<T> {
    let fd = path.map(open).transpose()?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                if let Some(fd) = &fd {
                    // SAFETY: fd is an open nsfs descriptor; setns affects this thread only.
                    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                let own_sysfs = remount_sys && private_sysfs().is_ok();
                Ok(f(Entered { own_sysfs }))
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

/// Whether the process may enter other namespaces and remount (CAP_SYS_ADMIN;
/// approximated by euid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
