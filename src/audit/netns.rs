//! Running audit code inside a network namespace (which ones exist is
//! crate::netns's business): a thread enters it and, as root, mounts a sysfs of its
//! own so /sys/class/net describes that namespace too.

use crate::proc::ProcRoot;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The namespace the calling thread is in.
pub fn current_inode(root: &ProcRoot) -> io::Result<u64> {
    Ok(std::fs::metadata(root.join("thread-self/ns/net"))?.ino())
}

/// Gives the calling thread its own mount namespace with a sysfs of its network
/// namespace on /sys, as `ip netns exec` does, so /sys/class/net describes it.
fn private_sysfs() -> io::Result<()> {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    // Mounts made here must not propagate back to the host's namespace.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )?;
    mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    )?;
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
    // Set when the work runs on the calling thread, which must not remount /sys.
    let here = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let here = &here;
        let inside = move || {
            if let Some(path) = path {
                crate::netns::enter(path)?;
            }
            let own_thread = !here.load(std::sync::atomic::Ordering::Relaxed);
            let own_sysfs = remount_sys && own_thread && private_sysfs().is_ok();
            Ok(f(Entered { own_sysfs }))
        };
        match crate::threads::try_spawn(scope, inside) {
            Ok(handle) => handle
                .join()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(io::Error::other("namespace thread panicked"))),
            // Entering another namespace would move this thread for good.
            Err(_) if path.is_some() => Err(io::Error::other(
                "cannot start a thread to enter the namespace",
            )),
            // No thread to spare (a fork-bombed host): the own namespace is read here,
            // without a private sysfs.
            Err(run_here) => {
                here.store(true, std::sync::atomic::Ordering::Relaxed);
                run_here()
            }
        }
    })
}

/// Whether the process may enter other namespaces and remount (CAP_SYS_ADMIN;
/// approximated by euid 0).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
