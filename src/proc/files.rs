//! What lsof lists besides the socket tables: per-process stat ids, memory maps,
//! fdinfo (offset, open flags, eventfd id), /proc/locks, and the netlink and packet
//! socket tables. Pure parsers over bytes plus thin readers taking a [`ProcRoot`].

use super::{dec_u64, fields, hex_u64, numbered_lines, ParseWarning, ProcRoot, Table};
use std::io;
use std::path::Path;

/// The parts of stat(2) lsof prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub dev: u64,
    pub rdev: u64,
    pub ino: u64,
    pub size: i64,
    pub nlink: u64,
}

impl FileStat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub(crate) fn from_raw(st: &libc::stat64) -> FileStat {
        FileStat {
            mode: st.st_mode,
            dev: st.st_dev,
            rdev: st.st_rdev,
            ino: st.st_ino,
            size: st.st_size,
            nlink: st.st_nlink,
        }
    }
}

/// glibc's major()/minor() of a dev_t.
pub fn dev_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}

pub fn dev_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}

/// A mounted file system, from a line of /proc/self/mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub dev: u64,
    /// The mount point, unescaped.
    pub dir: Vec<u8>,
    pub fstype: String,
    /// The mount source (device or server path), unescaped.
    pub source: Vec<u8>,
}

/// The mount table of this process's mount namespace, in mount order; empty when
/// unreadable. Bounded like every proc read.
pub fn read_mounts(root: &ProcRoot) -> Vec<Mount> {
    root.read("self/mountinfo")
        .map(|d| parse_mountinfo(&d))
        .unwrap_or_default()
}

/// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`.
pub fn parse_mountinfo(data: &[u8]) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == b"-") else {
            continue;
        };
        let (Some(devf), Some(dir), Some(fstype)) =
            (fields.get(2), fields.get(4), fields.get(sep + 1))
        else {
            continue;
        };
        let devf = String::from_utf8_lossy(devf);
        let Some((maj, min)) = devf.split_once(':') else {
            continue;
        };
        let (Ok(maj), Ok(min)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        out.push(Mount {
            dev: make_dev(maj, min),
            dir: unescape_mount(dir),
            fstype: String::from_utf8_lossy(fstype).into_owned(),
            source: fields
                .get(sep + 2)
                .map(|s| unescape_mount(s))
                .unwrap_or_default(),
        });
    }
    out
}

/// The kernel writes space, tab, newline and backslash in mount paths as `\ooo`.
pub fn unescape_mount(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|o| b[i] == b'\\' && o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(o) => {
                let v = o.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// glibc's makedev().
pub fn make_dev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// stat(2) (following links) of a path; the errno on failure. rustix's stat makes
/// glibc stat64's newfstatat(2) on 64-bit targets; std's metadata() would use statx,
/// which, unlike stat, triggers automounts.
pub fn stat_path(path: &Path) -> Result<FileStat, io::Error> {
    let st = rustix::fs::stat(path)?;
    // The field types differ between architectures (u32 or u64 nlink, ...).
    #[allow(clippy::unnecessary_cast)]
    Ok(FileStat {
        mode: st.st_mode as u32,
        dev: st.st_dev as u64,
        rdev: st.st_rdev as u64,
        ino: st.st_ino as u64,
        size: st.st_size as i64,
        nlink: st.st_nlink as u64,
    })
}

/// Fields of /proc/PID/stat lsof uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcStat {
    pub comm: Vec<u8>,
    pub state: u8,
    pub ppid: u32,
    pub pgid: u32,
    /// num_threads, when the line has it: a process of one thread has no task to list.
    pub threads: Option<u64>,
}

/// Parses /proc/PID/stat: the command sits between the first `(` and the last `)`.
pub fn parse_stat(data: &[u8]) -> Option<ProcStat> {
    let open = data.iter().position(|&b| b == b'(')?;
    let close = data.iter().rposition(|&b| b == b')')?;
    let comm = data.get(open + 1..close)?.to_vec();
    let mut rest = fields(data.get(close + 1..)?);
    let state = *rest.next()?.first()?;
    let ppid = dec_u64(rest.next()?)?;
    let pgid = dec_u64(rest.next()?)?;
    // session .. nice come between pgrp and num_threads.
    let threads = rest.nth(14).and_then(dec_u64);
    Some(ProcStat {
        comm,
        state,
        ppid: u32::try_from(ppid).ok()?,
        pgid: u32::try_from(pgid).ok()?,
        threads,
    })
}

pub fn read_stat(root: &ProcRoot, pid: u32) -> Option<ProcStat> {
    with_small_file(
        &root.join(&format!("{pid}/stat")),
        64 << 10,
        true,
        parse_stat,
    )?
}

/// Reads a small file with [`super::read_file_into`] into a buffer this thread keeps,
/// so the walk over every process allocates none per file.
fn with_small_file<R>(
    path: &Path,
    max: usize,
    one_record: bool,
    parse: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    use std::cell::RefCell;
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        // A parser never reads another file, so the buffer is never borrowed twice;
        // should that change, a fresh one is used rather than a panic.
        let mut own = Vec::new();
        let mut guard = buf.try_borrow_mut();
        let buf = guard.as_deref_mut().unwrap_or(&mut own);
        super::read_file_into(path, buf, max, one_record).ok()?;
        let out = parse(buf);
        // A rare huge file (a long maps) does not keep its buffer.
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        Some(out)
    })
}

/// A file mapped into a process, as /proc/PID/maps names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    pub dev: u64,
    pub inode: u64,
    pub path: Vec<u8>,
    /// The kernel appended " (deleted)" (already stripped from `path`).
    pub deleted: bool,
}

/// Mapped files in maps order, each (device, inode) once, anonymous maps left out.
pub fn parse_maps(data: &[u8]) -> Vec<MapEntry> {
    let mut out: Vec<MapEntry> = Vec::new();
    // A set, not a scan of `out`: a process can map hundreds of thousands of files.
    let mut seen = std::collections::HashSet::new();
    for (_, line) in numbered_lines(data) {
        let Some(entry) = parse_map_line(line) else {
            continue;
        };
        if !seen.insert((entry.dev, entry.inode)) {
            continue;
        }
        out.push(entry);
    }
    out
}

fn parse_map_line(line: &[u8]) -> Option<MapEntry> {
    // address perms offset dev inode, then spaces and the path (which may hold spaces).
    let mut rest = line;
    let mut take = || {
        let start = rest.iter().position(|b| *b != b' ')?;
        let tail = &rest[start..];
        let end = tail.iter().position(|b| *b == b' ').unwrap_or(tail.len());
        rest = &tail[end..];
        Some(&tail[..end])
    };
    let _range = take()?;
    let _perms = take()?;
    let _offset = take()?;
    let dev = take()?;
    let inode = dec_u64(take()?)?;
    let start = rest.iter().position(|b| *b != b' ')?;
    let mut path = rest[start..].to_vec();
    if path.is_empty() {
        return None;
    }
    let colon = dev.iter().position(|&b| b == b':')?;
    let dev = make_dev(hex_u64(&dev[..colon])?, hex_u64(&dev[colon + 1..])?);
    if dev == 0 && inode == 0 {
        return None;
    }
    const DELETED: &[u8] = b" (deleted)";
    let deleted = path.len() > DELETED.len() && path.ends_with(DELETED);
    if deleted {
        path.truncate(path.len() - DELETED.len());
    }
    Some(MapEntry {
        dev,
        inode,
        path,
        deleted,
    })
}

pub fn read_maps(root: &ProcRoot, pid: u32) -> Vec<MapEntry> {
    with_small_file(
        &root.join(&format!("{pid}/maps")),
        super::MAX_FILE_BYTES as usize,
        false,
        parse_maps,
    )
    .unwrap_or_default()
}

/// /proc/PID/fdinfo/FD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdInfo {
    pub pos: Option<u64>,
    /// open(2) flags (the file prints them in octal).
    pub flags: Option<u32>,
    pub eventfd_id: Option<u64>,
    /// A pidfd's process (`Pid:`; -1 once it has been reaped).
    pub pid: Option<i64>,
    /// A pty master's index (`tty-index:`).
    pub tty_index: Option<u32>,
    /// An epoll fd's watched descriptors (`tfd:` lines): the first [`EPOLL_TFDS_MAX`]
    /// as lsof keeps them, and how many lines there were.
    pub tfds: [u32; EPOLL_TFDS_MAX],
    pub tfd_count: usize,
}

/// lsof keeps 32 `tfd:` values and marks more with `...`.
pub const EPOLL_TFDS_MAX: usize = 32;

pub fn parse_fdinfo(data: &[u8]) -> FdInfo {
    let mut info = FdInfo::default();
    for (_, line) in numbered_lines(data) {
        let mut f = fields(line);
        let (Some(key), Some(value)) = (f.next(), f.next()) else {
            continue;
        };
        match key {
            b"pos:" => info.pos = dec_u64(value),
            b"flags:" => {
                info.flags = octal_u32(value);
            }
            b"eventfd-id:" => info.eventfd_id = dec_u64(value),
            b"Pid:" => {
                info.pid = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            b"tty-index:" => info.tty_index = dec_u64(value).and_then(|v| u32::try_from(v).ok()),
            b"tfd:" => {
                if let Some(fd) = dec_u64(value).and_then(|v| u32::try_from(v).ok()) {
                    if let Some(slot) = info.tfds.get_mut(info.tfd_count) {
                        *slot = fd;
                    }
                    info.tfd_count += 1;
                }
            }
            _ => {}
        }
    }
    info
}

fn octal_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v * 8 + (b - b'0') as u64;
    }
    u32::try_from(v).ok()
}

/// Reads into a stack buffer first: fdinfo of sockets, pipes and files is a few
/// hundred bytes, and `fs::read` would add an fstat and an allocation per fd.
pub fn read_fdinfo(root: &ProcRoot, pid: u32, fd: u32) -> Option<FdInfo> {
    // Long ones (epoll, inotify, fanotify lists) grow the buffer.
    with_small_file(
        &root.join(&format!("{pid}/fdinfo/{fd}")),
        super::MAX_FILE_BYTES as usize,
        true,
        parse_fdinfo,
    )
}

/// One lock holder of /proc/locks (waiters, `->` lines, are left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLock {
    pub pid: u32,
    pub dev: u64,
    pub inode: u64,
    /// lsof's lock character: `R`/`W` whole file, `r`/`w` part of it.
    pub kind: u8,
}

pub fn parse_locks(data: &[u8]) -> Vec<FileLock> {
    let mut out = Vec::new();
    // /proc/locks is system-wide and any user can take many locks: no quadratic dedup.
    let mut seen = std::collections::HashSet::new();
    for (_, line) in numbered_lines(data) {
        let f: Vec<&[u8]> = fields(line).collect();
        // 1: POSIX ADVISORY WRITE 15912 fe:00:10011346 0 EOF
        let (Some(&kind), Some(&pid), Some(&id), Some(&start), Some(&end)) =
            (f.get(3), f.get(4), f.get(5), f.get(6), f.get(7))
        else {
            continue;
        };
        if f.get(1) == Some(&&b"->"[..]) {
            continue;
        }
        let write = match kind.first() {
            Some(b'R') => false,
            Some(b'W') => true,
            _ => continue,
        };
        let mut parts = id.split(|&b| b == b':');
        let (Some(maj), Some(min), Some(ino)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Some(maj), Some(min), Some(inode), Some(pid)) =
            (hex_u64(maj), hex_u64(min), dec_u64(ino), dec_u64(pid))
        else {
            continue;
        };
        let whole = dec_u64(start) == Some(0) && end == b"EOF";
        let kind = match (write, whole) {
            (true, true) => b'W',
            (true, false) => b'w',
            (false, true) => b'R',
            (false, false) => b'r',
        };
        let lock = FileLock {
            pid: u32::try_from(pid).unwrap_or(u32::MAX),
            dev: make_dev(maj, min),
            inode,
            kind,
        };
        if seen.insert((lock.pid, lock.dev, lock.inode, lock.kind)) {
            out.push(lock);
        }
    }
    out
}

/// A netlink socket of /proc/net/netlink: its protocol, port id, queues and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetlinkSocket {
    pub protocol: u32,
    /// The port id (`Pid`): 0 for the kernel, a process id, or a negative number.
    pub pid: i32,
    pub rmem: u64,
    pub wmem: u64,
    pub inode: u64,
    /// The socket's (possibly hashed) kernel address.
    pub sk: u64,
    /// The first word of the multicast groups.
    pub groups: u32,
    /// Whether a dump is running (the `Dump` column, ss's `cb`).
    pub dump: u64,
}

/// One line of /proc/net/netlink (`sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`).
pub fn parse_netlink_line(line: &[u8]) -> Option<NetlinkSocket> {
    let f: Vec<&[u8]> = fields(line).take(10).collect();
    let pid = f
        .get(2)
        .and_then(|p| std::str::from_utf8(p).ok()?.parse::<i32>().ok())?;
    Some(NetlinkSocket {
        protocol: u32::try_from(dec_u64(f.get(1)?)?).ok()?,
        pid,
        rmem: dec_u64(f.get(4)?)?,
        wmem: dec_u64(f.get(5)?)?,
        inode: dec_u64(f.get(9)?)?,
        // Only ss's -e shows these: a line is not refused for them.
        sk: f.first().and_then(|v| hex_u64(v)).unwrap_or(0),
        groups: f.get(3).and_then(|v| hex_u64(v)).unwrap_or(0) as u32,
        dump: f.get(6).and_then(|v| hex_u64(v)).unwrap_or(0),
    })
}

pub fn parse_netlink(data: &[u8], name: &str) -> Table<NetlinkSocket> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data).skip(1) {
        match parse_netlink_line(line) {
            Some(n) => table.rows.push(n),
            None => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: "bad netlink line".into(),
            }),
        }
    }
    table
}

/// A packet socket of /proc/net/packet: socket type and ethertype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSocket {
    pub sock_type: u32,
    pub protocol: u32,
    pub inode: u64,
}

pub fn parse_packet(data: &[u8], name: &str) -> Table<PacketSocket> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data).skip(1) {
        let f: Vec<&[u8]> = fields(line).collect();
        match (
            f.get(2).and_then(|t| dec_u64(t)),
            f.get(3).and_then(|p| hex_u64(p)),
            f.get(8).and_then(|i| dec_u64(i)),
        ) {
            (Some(sock_type), Some(protocol), Some(inode)) => table.rows.push(PacketSocket {
                sock_type: sock_type as u32,
                protocol: protocol as u32,
                inode,
            }),
            _ => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: "bad packet line".into(),
            }),
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_parens_in_comm() {
        let s = parse_stat(b"15912 (py (x) 3) S 1 15906 5866 0 -1").unwrap();
        assert_eq!(s.comm, b"py (x) 3");
        assert_eq!((s.state, s.ppid, s.pgid), (b'S', 1, 15906));
        assert_eq!(s.threads, None);
        let line = b"7 (a) S 1 7 7 0 -1 4194560 98 0 0 0 0 0 0 0 20 0 3 0 1234 5";
        assert_eq!(parse_stat(line).unwrap().threads, Some(3));
        assert_eq!(parse_stat(b"12 (x"), None);
        assert_eq!(parse_stat(b""), None);
    }

    #[test]
    fn maps_dedup_and_deleted() {
        let data = b"5629-562a r--p 00000000 fe:00 18504                      /usr/bin/python3\n\
5629-562a r-xp 00001000 fe:00 18504                      /usr/bin/python3\n\
7f00-7f01 rw-p 00000000 00:00 0 \n\
7f00-7f01 rw-s 00000000 00:01 77                         /memfd:x (deleted)\n\
7f00-7f01 r--p 00000000 fe:00 99                         /tmp/with space\n\
garbage\n";
        let m = parse_maps(data);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].dev, make_dev(0xfe, 0));
        assert_eq!(m[1].path, b"/memfd:x");
        assert!(m[1].deleted);
        assert_eq!(m[2].path, b"/tmp/with space");
    }

    #[test]
    fn fdinfo_fields() {
        let i = parse_fdinfo(b"pos:\t12\nflags:\t02100000\nmnt_id:\t27\neventfd-id: 4\n");
        assert_eq!(i.pos, Some(12));
        assert_eq!(i.flags, Some(0o2100000));
        assert_eq!(i.eventfd_id, Some(4));
        assert_eq!(parse_fdinfo(b"flags: 9\n").flags, None);
    }

    #[test]
    fn locks() {
        let l = parse_locks(
            b"1: POSIX  ADVISORY  WRITE 15912 fe:00:10011346 0 EOF\n\
2: FLOCK  ADVISORY  READ 7 00:15:42 0 EOF\n\
2: -> FLOCK  ADVISORY  WRITE 8 00:15:42 0 EOF\n\
3: POSIX  ADVISORY  WRITE 9 fe:00:5 0 10\n",
        );
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].pid, l[0].kind), (15912, b'W'));
        assert_eq!(l[0].dev, make_dev(0xfe, 0));
        assert_eq!(l[1].kind, b'R');
        assert_eq!(l[2].kind, b'w');
    }

    #[test]
    fn dev_numbers_round_trip() {
        for (maj, min) in [(254, 0), (0, 15), (4095, 255), (4096, 1 << 20)] {
            let d = make_dev(maj, min);
            assert_eq!((dev_major(d), dev_minor(d)), (maj, min));
        }
        assert_eq!(make_dev(254, 0), 0xfe00);
    }

    #[test]
    fn netlink_and_packet_tables() {
        let n = parse_netlink(
            b"sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n000000007523deda 0   0          00000000 0        0        0     2        0        4\nbad\n",
            "netlink",
        );
        assert_eq!(
            n.rows,
            vec![NetlinkSocket {
                protocol: 0,
                pid: 0,
                rmem: 0,
                wmem: 0,
                inode: 4,
                sk: 0x7523deda,
                groups: 0,
                dump: 0,
            }]
        );
        assert_eq!(n.warnings.len(), 1);
        let p = parse_packet(
            b"sk       RefCnt Type Proto  Iface R Rmem   User   Inode\n0000000000000000 3      3    0003   0     1 0      0      190391\n",
            "packet",
        );
        assert_eq!(
            p.rows,
            vec![PacketSocket {
                sock_type: 3,
                protocol: 3,
                inode: 190391
            }]
        );
    }
}
