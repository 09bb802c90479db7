//! Byte-level readers for the files under /proc. Every reader takes a [`ProcRoot`]
//! so tests and offline snapshots can point it at recorded files. Readers return
//! records plus warnings; they never print.

pub mod arp;
pub mod cgroup;
pub mod dev;
pub mod files;
pub mod igmp;
pub mod inet;
pub mod packet;
pub mod process;
pub mod procmap;
pub mod route;
pub mod snmp;
pub mod unix;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

/// Where "/proc" is. Live runs use `/proc`; tests and `--proc-root` use a directory.
#[derive(Clone, Debug)]
pub struct ProcRoot {
    root: PathBuf,
}

impl Default for ProcRoot {
    fn default() -> Self {
        ProcRoot::new("/proc")
    }
}

impl ProcRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcRoot { root: root.into() }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Whether this is the live system's /proc (not a capture or fixture).
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/proc")
    }

    /// Whether this is a copy (a capture, fixtures) rather than /proc or a part of it
    /// (`/proc/PID/task` trees are live too): a copy's owners and stat results come
    /// from what it recorded, never from the filesystem it sits on.
    pub fn is_copy(&self) -> bool {
        !self.root.starts_with("/proc")
    }

    /// The sysfs tree that matches this proc tree: `/sys` for the live system, and
    /// `sys` beside the proc directory of a capture (`DIR/proc` ↔ `DIR/sys`).
    pub fn sys(&self) -> PathBuf {
        self.sibling("sys")
    }

    /// The directory of named network namespaces (`ip netns add`) that matches this proc
    /// tree: `/run/netns` live, `run/netns` beside a captured proc directory.
    pub fn run_netns(&self) -> PathBuf {
        self.sibling("run/netns")
    }

    fn sibling(&self, rel: &str) -> PathBuf {
        if self.is_live() {
            return Path::new("/").join(rel);
        }
        match self.root.parent() {
            Some(parent) => parent.join(rel),
            None => PathBuf::from(rel),
        }
    }

    /// Reads a whole file below the root (e.g. `net/tcp`) with [`read_file`].
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        read_file(&self.join(rel))
    }

    /// Opens a file below the root for streaming with [`for_each_line`], as
    /// [`open_file`] does.
    pub fn open(&self, rel: &str) -> io::Result<BoundedFile> {
        open_file(&self.join(rel))
    }
}

/// The most [`read_file`] reads of one file: a /proc/net table of a million sockets
/// is 150 MB; a captured "table" that is bigger is not one.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// The longest line [`for_each_line`] accepts: the longest real line (a unix socket
/// path, a maps entry) is a few kilobytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How many opens failed for want of descriptors or memory, in this process.
static EXHAUSTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether an error means this process ran out of descriptors or memory (EMFILE,
/// ENFILE, ENOMEM), which says nothing about the file: never "process gone".
pub fn is_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOMEM)
    )
}

/// Counts `e` when it is an [`is_exhaustion`] error. Readers that take a failed open
/// for "gone" call this, so the runner can say the answer is incomplete.
pub fn note_error(e: &io::Error) {
    if is_exhaustion(e) {
        EXHAUSTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many reads failed for want of descriptors or memory so far (see [`note_error`]).
pub fn exhaustion_count() -> usize {
    EXHAUSTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Opens a file that must be a regular file: the final component is not followed
/// (O_NOFOLLOW), a FIFO does not block the open (O_NONBLOCK), and fstat must say
/// regular file, so a captured table that is a symlink to /dev/zero, a FIFO or a
/// device is an error, not an endless read or a hang. Reads stop with an error past
/// [`MAX_FILE_BYTES`]. THE way every file of /proc, /sys or a capture is opened.
pub fn open_file(path: &Path) -> io::Result<BoundedFile> {
    let (file, _) = open_checked(path)?;
    Ok(BoundedFile {
        file,
        left: MAX_FILE_BYTES,
    })
}

/// [`open_file`]'s open and checks; also gives the fstat it made.
fn open_checked(path: &Path) -> io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .inspect_err(note_error)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink.
            Some(libc::ELOOP) => io::Error::new(io::ErrorKind::InvalidData, "is a symbolic link"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    // /proc files say 0; a copied file says its size, so a huge one is refused unread.
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_long());
    }
    Ok((file, meta))
}

/// Reads a small file with one read(2) into `buf`, opened and checked as [`open_file`]
/// does (no symlink, no blocking open, regular files only): the per-process files of
/// an owner scan (cmdline, comm) without allocating. At most `buf.len()` bytes; the
/// caller treats a full buffer as "maybe longer". One read is what netstat makes of
/// cmdline, and all a /proc file this small needs.
pub fn read_small<'a>(path: &std::ffi::CStr, buf: &'a mut [u8]) -> io::Result<&'a [u8]> {
    use rustix::fs::{fstat, openat, FileType, Mode, OFlags, CWD};
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = openat(CWD, path, flags, Mode::empty())
        .map_err(|e| match e {
            // O_NOFOLLOW on a symlink.
            rustix::io::Errno::LOOP => {
                io::Error::new(io::ErrorKind::InvalidData, "is a symbolic link")
            }
            e => io::Error::from(e),
        })
        .inspect_err(note_error)?;
    let stat = fstat(&file)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let n = loop {
        match rustix::io::read(&file, &mut *buf) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other?,
        }
    };
    Ok(&buf[..n])
}

/// Reads a whole file opened with [`open_file`]: at most [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    read_file_max(path, MAX_FILE_BYTES)
}

/// [`read_file`] with a smaller cap, for files that are small by nature.
pub fn read_file_max(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use io::Read;
    let mut file = open_file(path)?;
    file.left = file.left.min(max);
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// Reads a file as [`read_file_max`] does, but into `buf` (cleared first, its
/// allocation reused) with as few reads as the file allows, and gives the fstat
/// made on opening. A copy's file is read up to the size fstat gave. A /proc file
/// that is `one_record` (stat, fdinfo: the kernel hands all of it to a read that is
/// big enough) is whole after a short read; others (maps, which the kernel hands out
/// a page at a time) are read until the end.
pub fn read_file_into(
    path: &Path,
    buf: &mut Vec<u8>,
    max: usize,
    one_record: bool,
) -> io::Result<std::fs::Metadata> {
    use io::Read;
    let (mut file, meta) = open_checked(path)?;
    let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    // One byte past `max` says the file is too long.
    let limit = max.saturating_add(1);
    let first = if size > 0 {
        size.saturating_add(1)
    } else {
        4096
    };
    buf.clear();
    buf.resize(first.clamp(1, limit), 0);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled >= limit {
                buf.clear();
                return Err(too_long());
            }
            buf.resize(filled.saturating_mul(2).min(limit), 0);
        }
        let n = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.clear();
                return Err(e);
            }
        };
        let short = filled + n < buf.len();
        filled += n;
        if n == 0 || (size > 0 && filled >= size) || (size == 0 && one_record && short) {
            break;
        }
    }
    buf.truncate(filled);
    if filled > max {
        buf.clear();
        return Err(too_long());
    }
    Ok(meta)
}

/// A file opened by [`open_file`]: reading past its cap is an error (never a silent cut).
#[derive(Debug)]
pub struct BoundedFile {
    file: std::fs::File,
    left: u64,
}

impl io::Read for BoundedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // At the cap: one byte more means the file is too long.
            let mut probe = [0u8; 1];
            return match self.file.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(too_long()),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn too_long() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("longer than {} MiB", MAX_FILE_BYTES >> 20),
    )
}

/// [`for_each_line`] with the reading done on a helper thread: the kernel formats a
/// /proc/net table (most of the cost of reading it) while the caller parses the chunks
/// already read. At most [`IN_FLIGHT`] chunks wait, so memory stays bounded. On one
/// core this is plain [`for_each_line`].
pub fn for_each_line_read_ahead<E: From<io::Error>>(
    reader: impl io::Read + Send,
    f: impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    if !several_cores() {
        return for_each_line(reader, f);
    }
    // The reader goes back to this thread when no helper can be started.
    let slot = std::sync::Mutex::new(Some(reader));
    let take = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel(IN_FLIGHT);
        let (empty_tx, empty_rx) = mpsc::channel();
        let pump = std::thread::Builder::new().spawn_scoped(scope, move || {
            if let Some(reader) = take() {
                pump_chunks(reader, full_tx, empty_rx)
            }
        });
        if pump.is_err() {
            if let Some(reader) = take() {
                return for_each_line(reader, f);
            }
        }
        let chunks = Chunks {
            full: full_rx,
            empty: empty_tx,
            current: Vec::new(),
            pos: 0,
        };
        // Dropping `chunks` when `f` stops early makes the pump's next send fail.
        for_each_line(chunks, f)
    })
}

const IN_FLIGHT: usize = 4;

fn several_cores() -> bool {
    cores() > 1
}

/// The cores this process may run on, asked once: std asks the scheduler and reads
/// the cgroup's CPU quota on every call.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The helper thread of [`for_each_line_read_ahead`]: fills chunks and sends them until
/// the end of the file, an error, or a consumer that went away.
fn pump_chunks(
    mut reader: impl io::Read,
    full: mpsc::SyncSender<io::Result<Vec<u8>>>,
    empty: mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = empty.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let mut at_end = false;
        while filled < CHUNK {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = full.send(Err(e));
                    return;
                }
            }
        }
        chunk.truncate(filled);
        if filled > 0 && full.send(Ok(chunk)).is_err() {
            return;
        }
        if at_end {
            return;
        }
    }
}

/// The consumer's side of [`pump_chunks`], as a reader.
struct Chunks {
    full: mpsc::Receiver<io::Result<Vec<u8>>>,
    empty: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl io::Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            let used = std::mem::take(&mut self.current);
            if used.capacity() > 0 {
                let _ = self.empty.send(used);
            }
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The pump hung up: end of file.
                Err(_) => return Ok(0),
            }
        }
        let rest = self.current.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// The chunk size of [`for_each_line`]. The kernel hands out /proc/net tables a page per
/// read() whatever the buffer, so a larger one only costs memory and cache.
const CHUNK: usize = 64 * 1024;

/// Calls `f(number, line)` for every line `reader` yields, numbered from 1, without the
/// newline, as [`numbered_lines`] does for a whole buffer; `f` may stop the walk with an
/// error. Memory stays at one chunk plus the longest line, however long the file (a
/// /proc/net table under 100,000 sockets is 15 MB).
pub fn for_each_line<E: From<io::Error>>(
    mut reader: impl io::Read,
    mut f: impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0;
    let mut number = 0;
    loop {
        if filled == buf.len() {
            // One line longer than the buffer: grow until it fits, up to a cap (a
            // hostile capture's table can be one endless line).
            if buf.len() >= MAX_LINE_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {} longer than {MAX_LINE_BYTES} bytes", number + 1),
                )
                .into());
            }
            buf.resize((buf.len() * 2).min(MAX_LINE_BYTES), 0);
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let end = filled + n;
        let mut start = 0;
        // Only the new bytes can hold the next newline.
        let mut search = filled;
        while let Some(pos) = buf[search..end].iter().position(|&b| b == b'\n') {
            let nl = search + pos;
            number += 1;
            f(number, &buf[start..nl])?;
            start = nl + 1;
            search = start;
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
    if filled > 0 {
        number += 1;
        f(number, &buf[..filled])?;
    }
    Ok(())
}

/// A line a reader could not make sense of; the rest of the table is still returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseWarning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Records of one file plus the warnings met while reading it.
#[derive(Clone, Debug)]
pub struct Table<T> {
    pub rows: Vec<T>,
    pub warnings: Vec<ParseWarning>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Parses unsigned hex without a prefix; `None` on anything else (empty, overflow).
pub fn hex_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = (b as char).to_digit(16)?;
        v = (v << 4) | d as u64;
    }
    Some(v)
}

/// Parses an unsigned decimal; `None` on anything else (empty, sign, overflow).
pub fn dec_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// Parses a decimal with an optional sign, as scanf's `%d` reads it; `None` on
/// anything else (empty, overflow of i64).
pub fn dec_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let magnitude = i64::try_from(dec_u64(digits)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Serializes kernel bytes (interface names) as JSON text ([`crate::escape::json_text`]).
pub fn serialize_lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::escape::json_text(bytes))
}

/// Splits on ASCII whitespace without allocating.
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// Iterates the lines of a file, numbered from 1.
pub fn numbered_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !data.is_empty() || !l.is_empty())
        .map(|(i, l)| (i + 1, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_dec() {
        assert_eq!(hex_u64(b"0A"), Some(10));
        assert_eq!(hex_u64(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex_u64(b"1ffffffffffffffff"), None);
        assert_eq!(hex_u64(b"zz"), None);
        assert_eq!(hex_u64(b""), None);
        assert_eq!(dec_u64(b"123"), Some(123));
        assert_eq!(dec_u64(b"-1"), None);
        assert_eq!(dec_u64(b"99999999999999999999999"), None);
        assert_eq!(dec_i64(b"-1"), Some(-1));
        assert_eq!(dec_i64(b"+7"), Some(7));
        assert_eq!(dec_i64(b"-"), None);
        assert_eq!(dec_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn streamed_lines_match_numbered_lines() {
        let long = "x".repeat(3 * CHUNK + 7);
        for data in [
            "a\nb\n".to_string(),
            "a\n\nb".to_string(),
            String::new(),
            format!("head\n{long}\nshort\n{long}"),
        ] {
            // A reader that hands out 7 bytes at a time puts line ends everywhere.
            struct Trickle<'a>(&'a [u8]);
            impl io::Read for Trickle<'_> {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    let n = self.0.len().min(buf.len()).min(7);
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let mut streamed = Vec::new();
            for_each_line::<io::Error>(Trickle(data.as_bytes()), |n, l| {
                streamed.push((n, l.to_vec()));
                Ok(())
            })
            .unwrap();
            let mut read_ahead = Vec::new();
            for_each_line_read_ahead::<io::Error>(Trickle(data.as_bytes()), |n, l| {
                read_ahead.push((n, l.to_vec()));
                Ok(())
            })
            .unwrap();
            assert_eq!(read_ahead, streamed);
            let whole: Vec<_> = numbered_lines(data.as_bytes())
                .map(|(n, l)| (n, l.to_vec()))
                .collect();
            assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn read_ahead_stops_when_the_consumer_does() {
        let data = "line\n".repeat(100_000);
        let mut seen = 0;
        let stopped = for_each_line_read_ahead(data.as_bytes(), |n, _| {
            seen = n;
            if n == 10 {
                return Err(io::Error::other("enough"));
            }
            Ok(())
        });
        assert!(stopped.is_err());
        assert_eq!(seen, 10);
    }

    #[test]
    fn lines_are_numbered_from_one() {
        let v: Vec<_> = numbered_lines(b"a\nb\n").collect();
        assert_eq!(v, vec![(1, &b"a"[..]), (2, &b"b"[..])]);
        assert_eq!(numbered_lines(b"").count(), 0);
    }
}
