//! A live process's mapped files through PROCMAP_QUERY, an ioctl on an open
//! /proc/PID/maps (Linux 6.11+). The text of maps costs the kernel a d_path and a
//! formatted line for every VMA; the ioctl answers one VMA's device and inode without a
//! path, so a path is asked for only once per file of a process (a library has four or
//! five VMAs). The entries are exactly [`super::files::parse_maps`]'s of the text: the
//! same VMAs in address order, the same names (a newline written as maps writes it,
//! `\012`), the same dedup. Whenever the ioctl cannot give that (an older kernel, a
//! name longer than the buffer, an unexpected error, a file not on procfs) the caller
//! reads the text instead.

use super::files::MapEntry;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::ioctl::{opcode, Opcode, Updater};
use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// `struct procmap_query` of linux/fs.h (the 6.11 layout; `size` tells the kernel so).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// `_IOWR('f', 17, struct procmap_query)`.
const PROCMAP_QUERY: Opcode = opcode::read_write::<ProcmapQuery>(b'f', 17);
/// The VMA covering `query_addr`, or the next one above it.
const COVERING_OR_NEXT_VMA: u64 = 0x10;
/// File-backed VMAs only (anonymous ones, heap and stack have no device or inode).
const FILE_BACKED_VMA: u64 = 0x20;

/// The longest name asked for: PATH_MAX and room for " (deleted)". A longer one
/// (ENAMETOOLONG) sends the process to the text, whose buffer grows.
const NAME_BYTES: usize = 4096 + 64;

/// The most VMAs one walk asks about (16 times Linux's default vm.max_map_count): a
/// process that keeps mapping above the walk's cursor could otherwise hold it for
/// hours. Past it the text is read, whose size is bounded.
const MAX_VMAS: usize = 1 << 20;

/// Set once the kernel says it has no PROCMAP_QUERY: later processes go straight to
/// the text.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// The mapped files of the maps file at `path` (a live `/proc/PID/maps` or
/// `/proc/PID/task/TID/maps`), or `None` when the caller must read its text.
pub fn read(path: &Path) -> Option<Vec<MapEntry>> {
    use rustix::fs::{fstatfs, openat, Mode, OFlags, CWD, PROC_SUPER_MAGIC};
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return None;
    }
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = match openat(CWD, path, flags, Mode::empty()) {
        Ok(f) => f,
        // As the text reader: a process gone or not ours has no maps to list.
        Err(e) => {
            super::note_error(&io::Error::from(e));
            return Some(Vec::new());
        }
    };
    // Only procfs's own maps file gets the ioctl: whatever else sits at the path (a
    // bind mount over it) is read, and refused, as text.
    match fstatfs(&file) {
        Ok(fs) if fs.f_type == PROC_SUPER_MAGIC => {}
        _ => return None,
    }
    walk(file.as_fd())
}

/// The ioctl walk over one open maps file; see [`read`].
fn walk(fd: BorrowedFd<'_>) -> Option<Vec<MapEntry>> {
    let mut out = Vec::new();
    // A set, not a scan of `out`: a process can map hundreds of thousands of files.
    let mut seen = HashSet::new();
    let mut name = vec![0u8; NAME_BYTES];
    let mut addr = 0u64;
    for _ in 0..MAX_VMAS {
        let vma = match query(fd, addr, None) {
            Ok(q) => q,
            // No VMA at or above `addr`: the walk is over.
            Err(rustix::io::Errno::NOENT) => return Some(out),
            // No memory map (a kernel thread, a process exiting): maps reads empty.
            Err(rustix::io::Errno::SRCH) if addr == 0 => return Some(out),
            Err(e) => {
                if addr == 0 && matches!(e, rustix::io::Errno::NOTTY | rustix::io::Errno::INVAL) {
                    UNSUPPORTED.store(true, Ordering::Relaxed);
                }
                return None;
            }
        };
        // The kernel answers with a VMA ending above `addr`; anything else would loop.
        if vma.vma_end <= addr {
            return None;
        }
        addr = vma.vma_end;
        let dev = super::files::make_dev(u64::from(vma.dev_major), u64::from(vma.dev_minor));
        if seen.contains(&(dev, vma.inode)) {
            continue;
        }
        // A file not met yet in this process: its name, from the same VMA.
        let named = query(fd, vma.vma_start, Some(&mut name)).ok()?;
        if (named.vma_start, named.vma_end, named.inode) != (vma.vma_start, vma.vma_end, vma.inode)
        {
            // The map changed between the two calls: the text is one consistent read.
            return None;
        }
        let len = usize::try_from(named.vma_name_size).ok()?;
        // The size counts the terminating NUL.
        let text = name.get(..len.checked_sub(1)?)?;
        let Some(entry) = MapEntry::from_name(dev, vma.inode, maps_escaped(text)) else {
            continue;
        };
        seen.insert((dev, vma.inode));
        out.push(entry);
    }
    None
}

/// A path as maps prints it: seq_path writes a newline as `\012`.
fn maps_escaped(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b == b'\n' {
            out.extend_from_slice(b"\\012");
        } else {
            out.push(b);
        }
    }
    out
}

/// One PROCMAP_QUERY: the first file-backed VMA ending above `addr`, with its name
/// in `name` when one is given.
fn query(
    fd: BorrowedFd<'_>,
    addr: u64,
    name: Option<&mut [u8]>,
) -> rustix::io::Result<ProcmapQuery> {
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_flags: COVERING_OR_NEXT_VMA | FILE_BACKED_VMA,
        query_addr: addr,
        ..ProcmapQuery::default()
    };
    if let Some(buf) = name {
        q.vma_name_addr = buf.as_mut_ptr() as u64;
        q.vma_name_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    }
    // SAFETY: PROCMAP_QUERY reads and writes a `struct procmap_query`, which
    // `ProcmapQuery` is (#[repr(C)], the 6.11 layout, `size` set to it). The kernel
    // writes at most `vma_name_size` bytes at `vma_name_addr`, a buffer borrowed
    // mutably for this call (or none: size 0); no build id is asked for (size 0).
    unsafe {
        rustix::ioctl::ioctl(fd, Updater::<PROCMAP_QUERY, ProcmapQuery>::new(&mut q))?;
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::files::parse_maps;

    #[test]
    fn escapes_newlines_as_maps_does() {
        assert_eq!(maps_escaped(b"/a\nb c"), b"/a\\012b c");
        assert_eq!(maps_escaped(b"/plain"), b"/plain");
    }

    /// Our own maps both ways, exactly, once two reads of the text agree (another
    /// test's thread may map a file meanwhile).
    #[test]
    fn matches_the_text_of_own_maps() {
        let path = Path::new("/proc/self/maps");
        for _ in 0..20 {
            let before = std::fs::read(path).unwrap();
            let Some(by_ioctl) = read(path) else {
                // Before 6.11 there is no ioctl to compare; the text is all there is.
                assert!(UNSUPPORTED.load(Ordering::Relaxed));
                return;
            };
            if std::fs::read(path).unwrap() != before {
                continue;
            }
            assert!(!by_ioctl.is_empty());
            assert_eq!(by_ioctl, parse_maps(&before));
            return;
        }
        panic!("maps kept changing");
    }

    #[test]
    fn not_procfs_is_read_as_text() {
        let dir = std::env::temp_dir().join(format!("procmap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("maps");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(read(&file), None);
        if !UNSUPPORTED.load(Ordering::Relaxed) {
            assert_eq!(read(&dir.join("missing")), Some(Vec::new()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
