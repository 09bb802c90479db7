//! Per-process files: the pid list, fd links, comm, cmdline, owner, network namespace.
//! The fd walk uses one readlinkat per descriptor and nothing else, since it is the
//! hot path of every `-p` run.

use super::files::FileStat;
use super::{dec_u64, ProcRoot};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;

/// Pids under the root in readdir order (netstat's "first process wins" follows it).
pub fn pids(root: &ProcRoot) -> io::Result<Vec<u32>> {
    use rustix::fs::{openat, Mode, OFlags, RawDir, CWD};
    use std::mem::MaybeUninit;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = openat(CWD, root.path(), flags, Mode::empty())
        .map_err(io::Error::from)
        .inspect_err(super::note_error)?;
    let mut dents = [MaybeUninit::<u8>::uninit(); DENTS_BYTES];
    let mut entries = RawDir::new(&dir, &mut dents);
    let mut out = Vec::new();
    // A failed getdents ends the list, as readdir's did.
    while let Some(Ok(entry)) = entries.next() {
        if let Some(pid) = dec_u64(entry.file_name().to_bytes()).filter(|&p| p <= u32::MAX as u64) {
            out.push(pid as u32);
        }
    }
    Ok(out)
}

/// Calls `f(fd, link_target)` for every descriptor of `pid`. Descriptors closed while
/// we walk are skipped; an unreadable fd directory is an error (EACCES when not root,
/// ENOENT when the process exited).
pub fn for_each_fd_link(
    root: &ProcRoot,
    pid: u32,
    mut f: impl FnMut(u32, &[u8]),
) -> io::Result<()> {
    walk_fd_dir(root, pid, |_, _, fd, link| {
        if let Ok(link) = link {
            f(fd, link)
        }
    })
}

/// One descriptor as lsof sees it: the link target, the link's own mode (its owner
/// bits give the access mode) and stat(2) of what it points to.
#[derive(Clone, Debug)]
pub struct FdEntry<'a> {
    pub fd: u32,
    pub link: &'a [u8],
    /// Why readlink failed (then `link` is empty and `stat` an error too).
    pub readlink_errno: Option<i32>,
    /// lstat of /proc/PID/fd/N: `r--`/`-w-`/`rw-` owner bits say how the file is open.
    pub link_mode: Option<u32>,
    /// stat of the target, or the errno of the failed stat.
    pub stat: Result<FileStat, i32>,
}

/// How much [`for_each_fd_entry`] looks at one descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdWanted {
    Skip,
    /// readlink, lstat and stat.
    Full,
    /// readlink and stat, no lstat (`link_mode` is `None`): for a caller that reads the
    /// descriptor's fdinfo anyway, whose open flags tell the access mode.
    Stat,
    /// readlink and stat, and the lstat only when the target is a regular file,
    /// directory, symlink or FIFO: for a caller that reads fdinfo for the others only
    /// (a plain file's row prints its size, a FIFO's offset is always 0), so the link
    /// mode must give those their access mode. Made here, beside the stat, by name in
    /// the open fd directory rather than later by full path.
    StatPlainMode,
    /// A `socket:[N]` link whose inode the caller already knows: no lstat or stat;
    /// the stat of the target is made up from the link text (mode S_IFSOCK, inode
    /// N, everything else 0) and the link mode is `rw`. Saves two syscalls per
    /// socket on large socket populations.
    KnownSocket(u64),
    /// readlink only: no lstat or stat (`stat` is EWOULDBLOCK), for lsof's -b when
    /// an NFS mount could block them.
    LinkOnly,
}

/// Like [`for_each_fd_link`], plus lstat and stat of each descriptor, but only for
/// those whose link target `wanted` asks for (so a sockets-only scan stats only sockets).
pub fn for_each_fd_entry(
    root: &ProcRoot,
    pid: u32,
    mut wanted: impl FnMut(&[u8]) -> FdWanted,
    mut f: impl FnMut(FdEntry<'_>),
) -> io::Result<()> {
    walk_fd_dir(root, pid, |dir_fd, name, fd, link| {
        let link = match link {
            Ok(link) => link,
            Err(errno) => {
                if wanted(b"") != FdWanted::Skip {
                    f(FdEntry {
                        fd,
                        link: b"",
                        readlink_errno: Some(errno),
                        link_mode: None,
                        stat: Err(errno),
                    });
                }
                return;
            }
        };
        let how = wanted(link);
        if how == FdWanted::Skip {
            return;
        }
        let (link_mode, stat) = match how {
            // Every socket file is opened read-write (socket(2), accept(2),
            // socketpair(2) and SCM_RIGHTS copies alike), so its link says `rw`.
            FdWanted::KnownSocket(ino) => known_socket(ino),
            FdWanted::Stat => stat_fd_entry(root, pid, dir_fd, name, fd, link, LinkMode::No),
            FdWanted::StatPlainMode => {
                stat_fd_entry(root, pid, dir_fd, name, fd, link, LinkMode::IfPlain)
            }
            FdWanted::LinkOnly => (None, Err(libc::EWOULDBLOCK)),
            _ => stat_fd_entry(root, pid, dir_fd, name, fd, link, LinkMode::Yes),
        };
        f(FdEntry {
            fd,
            link,
            readlink_errno: None,
            link_mode,
            stat,
        })
    })
}

/// Whether [`stat_fd_entry`] makes the lstat for the link mode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkMode {
    No,
    Yes,
    /// When the target is a regular file, directory, symlink or FIFO (see
    /// [`FdWanted::StatPlainMode`]).
    IfPlain,
}

/// The link mode (lstat) and target stat of `name` in the fd directory `dir_fd`.
fn stat_fd_entry(
    root: &ProcRoot,
    pid: u32,
    dir_fd: libc::c_int,
    name: &std::ffi::CStr,
    fd: u32,
    link: &[u8],
    want_link_mode: LinkMode,
) -> (Option<u32>, Result<FileStat, i32>) {
    // A copy answers from its records, never from the analyst's disk: its links
    // point there, or wherever whoever made the copy wanted root to look.
    if root.is_copy() {
        return match recorded_stat(root, pid, &format!("fd/{fd}")) {
            Some(rec) => (rec.link_mode, rec.stat),
            None => (None, pseudo_file_stat(link).ok_or(libc::ENOENT)),
        };
    }
    let stat_at = |flags: libc::c_int| {
        // SAFETY: stat64 is plain data; name is NUL-terminated; dir_fd is open (or
        // AT_FDCWD with an absolute or relative path).
        let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat64(dir_fd, name.as_ptr(), &mut st, flags) } == 0 {
            Ok(FileStat::from_raw(&st))
        } else {
            Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    };
    let lstat = || stat_at(libc::AT_SYMLINK_NOFOLLOW).ok().map(|s| s.mode);
    let link_mode = if want_link_mode == LinkMode::Yes {
        lstat()
    } else {
        None
    };
    let stat = match stat_at(0) {
        // In a capture the link is a plain symlink whose target text names a
        // kernel object; its type and inode are in that text.
        Err(libc::ENOENT) if !root.is_live() => pseudo_file_stat(link).ok_or(libc::ENOENT),
        other => other,
    };
    let plain = stat.as_ref().is_ok_and(|s| {
        matches!(
            s.file_type(),
            libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK | libc::S_IFIFO
        )
    });
    if want_link_mode == LinkMode::IfPlain && plain {
        return (lstat(), stat);
    }
    (link_mode, stat)
}

/// The link mode and stat of a socket descriptor known by its inode alone, without
/// asking the kernel: every socket file is open for reading and writing (socket(),
/// accept() and socketpair() make them with O_RDWR, sock_alloc_file in net/socket.c),
/// so its /proc/PID/fd link is `lrwx`; the device is learnt from the tables.
pub fn known_socket(ino: u64) -> (Option<u32>, Result<FileStat, i32>) {
    (
        Some(libc::S_IFLNK | libc::S_IRUSR | libc::S_IWUSR),
        Ok(FileStat {
            mode: libc::S_IFSOCK,
            ino,
            ..FileStat::default()
        }),
    )
}

/// What [`for_each_fd_entry`] with [`FdWanted::Full`] gives for descriptor `fd` of
/// `pid`, for a caller that walked with [`FdWanted::KnownSocket`] first and learnt only
/// later that it needs the real stat. `link` is the target text read in the walk.
pub fn restat_fd(
    root: &ProcRoot,
    pid: u32,
    fd: u32,
    link: &[u8],
) -> (Option<u32>, Result<FileStat, i32>) {
    let path = root.path().join(format!("{pid}/fd/{fd}"));
    match CString::new(path.as_os_str().as_bytes()) {
        Ok(c_path) => stat_fd_entry(root, pid, libc::AT_FDCWD, &c_path, fd, link, LinkMode::Yes),
        Err(_) => (None, Err(libc::EINVAL)),
    }
}

/// lstat of /proc/PID/fd/N alone: the link's owner bits say how the file is open
/// (in a copy, the recorded mode).
pub fn fd_link_mode(root: &ProcRoot, pid: u32, fd: u32) -> Option<u32> {
    if root.is_copy() {
        return recorded_stat(root, pid, &format!("fd/{fd}"))?.link_mode;
    }
    std::fs::symlink_metadata(root.path().join(format!("{pid}/fd/{fd}")))
        .ok()
        .map(|m| m.mode())
}

/// The stat a live /proc gives for `socket:[N]` and `pipe:[N]` links (device unknown).
fn pseudo_file_stat(link: &[u8]) -> Option<super::files::FileStat> {
    let (mode, inode) = if let Some(inode) = socket_inode(link) {
        (libc::S_IFSOCK, inode)
    } else {
        let rest = link.strip_prefix(b"pipe:[")?.strip_suffix(b"]")?;
        (libc::S_IFIFO, dec_u64(rest)?)
    };
    Some(super::files::FileStat {
        mode: mode | 0o600,
        ino: inode,
        nlink: 1,
        ..Default::default()
    })
}

/// Bytes of directory entries one getdents64 returns: an fd entry takes 32, so 1,024
/// descriptors per call (glibc's readdir reads 32 KiB too).
const DENTS_BYTES: usize = 32 * 1024;

/// Reads /proc/PID/fd with one open directory fd; calls `f(dir_fd, name, fd, target)`
/// (the target is the readlink errno when that failed).
///
/// The hot path of every `-p` run: one openat, getdents64 into a stack buffer (no
/// fdopendir and its fstat and fcntl), and one readlinkat per descriptor into a
/// reused buffer. No allocation.
fn walk_fd_dir(
    root: &ProcRoot,
    pid: u32,
    mut f: impl FnMut(libc::c_int, &std::ffi::CStr, u32, Result<&[u8], i32>),
) -> io::Result<()> {
    use rustix::fs::{openat, readlinkat_raw, Mode, OFlags, RawDir, CWD};
    use std::mem::MaybeUninit;
    use std::os::fd::AsRawFd;

    let mut path = PidPath::new();
    let dir = path
        .with_pid_file(root, pid, b"fd")
        .and_then(|p| {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            openat(CWD, &*p, flags, Mode::empty()).map_err(io::Error::from)
        })
        .inspect_err(super::note_error)?;
    let dir_fd = dir.as_raw_fd();
    let mut dents = [MaybeUninit::<u8>::uninit(); DENTS_BYTES];
    let mut entries = RawDir::new(&dir, &mut dents);
    let mut link = [MaybeUninit::<u8>::uninit(); libc::PATH_MAX as usize];
    // A failed getdents ends the walk, as readdir's did.
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name();
        let Some(fd) = dec_u64(name.to_bytes()).filter(|&n| n <= u32::MAX as u64) else {
            continue;
        };
        match readlinkat_raw(&dir, name, &mut link) {
            Ok((target, _)) => f(dir_fd, name, fd as u32, Ok(target)),
            // A descriptor closed while we walk is simply gone.
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => f(dir_fd, name, fd as u32, Err(e.raw_os_error())),
        }
    }
    Ok(())
}

/// A NUL-terminated path `ROOT/PID/NAME` built in a fixed buffer: the per-process
/// files of a scan are opened without allocating.
struct PidPath {
    bytes: [u8; 256],
}

impl PidPath {
    fn new() -> PidPath {
        PidPath { bytes: [0; 256] }
    }

    /// `ROOT/PID/NAME` as a C string; a root too long for the buffer (a capture deep
    /// in some tree) falls back to an allocated one.
    fn with_pid_file<'a>(
        &'a mut self,
        root: &ProcRoot,
        pid: u32,
        name: &[u8],
    ) -> io::Result<std::borrow::Cow<'a, std::ffi::CStr>> {
        use std::io::Write;
        let root = root.path().as_os_str().as_bytes();
        let mut w = &mut self.bytes[..];
        let fits = w.write_all(root).is_ok()
            && write!(w, "/{pid}/").is_ok()
            && w.write_all(name).is_ok()
            && w.write_all(b"\0").is_ok();
        let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
        if !fits {
            let mut owned = Vec::with_capacity(root.len() + name.len() + 16);
            owned.extend_from_slice(root);
            owned.extend_from_slice(format!("/{pid}/").as_bytes());
            owned.extend_from_slice(name);
            return CString::new(owned)
                .map(std::borrow::Cow::Owned)
                .map_err(|_| invalid());
        }
        let len = 256 - w.len();
        std::ffi::CStr::from_bytes_with_nul(&self.bytes[..len])
            .map(std::borrow::Cow::Borrowed)
            .map_err(|_| invalid())
    }
}

pub use super::is_exhaustion;

/// The inode of a socket fd link: `socket:[12345]` (or the old `[0000]:12345`).
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    if let Some(rest) = link.strip_prefix(b"socket:[") {
        return dec_u64(rest.strip_suffix(b"]")?);
    }
    dec_u64(link.strip_prefix(b"[0000]:")?)
}

/// /proc/PID/comm without its newline.
pub fn comm(root: &ProcRoot, pid: u32) -> Option<Vec<u8>> {
    // The kernel's comm is at most 15 bytes and a newline: one read into the stack.
    let mut buf = [0u8; 64];
    let mut path = PidPath::new();
    let read = path
        .with_pid_file(root, pid, b"comm")
        .and_then(|p| super::read_small(&p, &mut buf));
    let mut c = match read {
        Ok(data) if data.len() < 64 => data.to_vec(),
        // Longer than any kernel's comm (a capture): read it whole.
        Ok(_) => root.read(&format!("{pid}/comm")).ok()?,
        Err(_) => return None,
    };
    if c.last() == Some(&b'\n') {
        c.pop();
    }
    Some(c)
}

/// argv[0]: the first NUL-terminated string of /proc/PID/cmdline, at most `limit` bytes
/// read (netstat reads 511). Empty for kernel threads.
pub fn argv0(root: &ProcRoot, pid: u32, limit: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    if limit <= 512 {
        // One read into the stack, as netstat makes it.
        let mut buf = [0u8; 512];
        let mut path = PidPath::new();
        let p = path.with_pid_file(root, pid, b"cmdline").ok()?;
        let data = super::read_small(&p, &mut buf[..limit]).ok()?;
        let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        return Some(data[..end].to_vec());
    }
    let file = root.open(&format!("{pid}/cmdline")).ok()?;
    let mut buf = Vec::with_capacity(limit.min(512));
    file.take(limit as u64).read_to_end(&mut buf).ok()?;
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        buf.truncate(nul);
    }
    Some(buf)
}

/// The effective uid that owns /proc/PID (what lsof reports as USER). A captured tree
/// belongs to whoever wrote it, so there the recorded owner (or the effective uid of
/// the captured `status`) answers.
pub fn owner_uid(root: &ProcRoot, pid: u32) -> Option<u32> {
    if root.is_copy() {
        let recorded = root
            .read(&format!("{pid}/{}", crate::capture::OWNER_FILE))
            .ok()
            .and_then(|d| dec_u64(d.trim_ascii()))
            .and_then(|u| u32::try_from(u).ok());
        if let Some(uid) = recorded.or_else(|| status_euid(root, pid)) {
            return Some(uid);
        }
    }
    // lstat: a captured pid "directory" that is a symlink names some other file.
    std::fs::symlink_metadata(root.path().join(pid.to_string()))
        .ok()
        .map(|m| m.uid())
}

/// The effective uid from the `Uid:` line of /proc/PID/status (real, effective, saved, fs).
fn status_euid(root: &ProcRoot, pid: u32) -> Option<u32> {
    let data = root.read(&format!("{pid}/status")).ok()?;
    let line = super::numbered_lines(&data)
        .map(|(_, l)| l)
        .find(|l| l.starts_with(b"Uid:"))?;
    let euid = super::fields(line).nth(2)?;
    u32::try_from(dec_u64(euid)?).ok()
}

/// In a capture, the stat results recorded for `key` of `pid` (`fd/N`, `cwd`, `root`,
/// `exe`, `map/I`); the last process looked up is kept, since a walk asks once per fd.
/// `None` live, and for trees without recorded stats (fixtures).
pub fn recorded_stat(root: &ProcRoot, pid: u32, key: &str) -> Option<crate::capture::RecordedStat> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Cached = (
        std::path::PathBuf,
        u32,
        HashMap<String, crate::capture::RecordedStat>,
    );
    thread_local! {
        static LAST: RefCell<Option<Cached>> = const { RefCell::new(None) };
    }
    if !root.is_copy() {
        return None;
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        let fresh = !matches!(&*last, Some((r, p, _)) if r == root.path() && *p == pid);
        if fresh {
            let stats = crate::capture::read_stats(root, pid).into_iter().collect();
            *last = Some((root.path().to_path_buf(), pid, stats));
        }
        last.as_ref()
            .and_then(|(_, _, stats)| stats.get(key).copied())
    })
}

/// stat(2) of what /proc/PID/`link` (cwd, root, exe) points to; in a copy, the
/// recorded result or nothing.
pub fn stat_link(root: &ProcRoot, pid: u32, link: &str) -> Option<FileStat> {
    if root.is_copy() {
        return recorded_stat(root, pid, link).and_then(|r| r.stat.ok());
    }
    super::files::stat_path(&root.path().join(format!("{pid}/{link}"))).ok()
}

/// stat(2) of the file at `index` of [`super::files::read_maps`] by its path, or the
/// errno; in a copy, the recorded result, `None` when there is none.
pub fn stat_mapped(
    root: &ProcRoot,
    pid: u32,
    index: usize,
    path: &[u8],
) -> Option<Result<FileStat, i32>> {
    if root.is_copy() {
        return recorded_stat(root, pid, &format!("map/{index}")).map(|r| r.stat);
    }
    let st = super::files::stat_path(std::path::Path::new(std::ffi::OsStr::from_bytes(path)));
    Some(st.map_err(|e| e.raw_os_error().unwrap_or(0)))
}

/// The inode of the process's network namespace (`net:[4026531840]`).
pub fn netns_inode(root: &ProcRoot, pid: u32) -> Option<u64> {
    let link = std::fs::read_link(root.path().join(format!("{pid}/ns/net"))).ok()?;
    ns_link_inode(link.as_os_str().as_bytes())
}

/// The target of /proc/PID/exe (` (deleted)` appended by the kernel when the file is gone).
pub fn exe(root: &ProcRoot, pid: u32) -> Option<Vec<u8>> {
    let link = std::fs::read_link(root.path().join(format!("{pid}/exe"))).ok()?;
    Some(link.into_os_string().into_vec())
}

/// The NUL-separated arguments of /proc/PID/cmdline, at most `limit` bytes read.
pub fn cmdline_args(root: &ProcRoot, pid: u32, limit: usize) -> Option<Vec<Vec<u8>>> {
    use std::io::Read;
    let file = root.open(&format!("{pid}/cmdline")).ok()?;
    let mut buf = Vec::with_capacity(limit.min(4096));
    file.take(limit as u64).read_to_end(&mut buf).ok()?;
    let buf = buf.strip_suffix(b"\0").unwrap_or(&buf);
    if buf.is_empty() {
        return Some(Vec::new());
    }
    Some(buf.split(|&b| b == 0).map(<[u8]>::to_vec).collect())
}

/// Parses `net:[N]`.
pub fn ns_link_inode(link: &[u8]) -> Option<u64> {
    dec_u64(link.strip_prefix(b"net:[")?.strip_suffix(b"]")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[190357]"), Some(190357));
        assert_eq!(socket_inode(b"[0000]:42"), Some(42));
        assert_eq!(socket_inode(b"socket:[x]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(ns_link_inode(b"net:[4026531840]"), Some(4026531840));
    }

    #[test]
    fn walks_own_fds() {
        let root = ProcRoot::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut found = false;
        for_each_fd_link(&root, std::process::id(), |_, link| {
            found |= socket_inode(link).is_some();
        })
        .unwrap();
        drop(listener);
        assert!(found);
    }
}
