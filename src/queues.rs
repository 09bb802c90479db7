//! `--queues`: what a socket has received and its owner has not read yet, as
//! Volatility's linux_pkt_queues recovers it from a memory image, but on the live host
//! and without disturbing the owner.
//!
//! The owner's descriptor is duplicated (pidfd_getfd) and read with
//! MSG_PEEK|MSG_DONTWAIT, which copies queued data out and leaves it queued:
//! - Stream sockets (TCP, unix stream): one peek of up to the cap. A peek stops where
//!   the kernel does not join messages (a unix message carrying descriptors, TCP
//!   urgent data); then the rest is walked with SO_PEEK_OFF as below.
//! - Datagram sockets (UDP, unix datagram): a plain peek only ever shows the first
//!   datagram, so SO_PEEK_OFF (the socket's peek offset) is set to 0 and each peek
//!   then returns the next datagram, until the queue is exhausted (EAGAIN). Each
//!   datagram is framed with its length and source address.
//! - Raw and packet sockets have no SO_PEEK_OFF (EOPNOTSUPP): only the first datagram
//!   can be read without consuming it, and the dump says so.
//!
//! The peek offset belongs to the socket, which the duplicate shares with its owner.
//! A socket whose offset is already in use (not -1) is left alone. Otherwise the
//! offset is set back to -1 right after the walk (before anything is written), and
//! the window in between is microseconds. Within it: the owner's ordinary reads are
//! unaffected (the kernel moves the offset back by what they consume, so our walk
//! neither repeats nor skips a datagram); an owner's own MSG_PEEK would start at our
//! offset and see a later datagram than its head; an owner setting SO_PEEK_OFF itself
//! would have it reset to -1. A TCP peek moves no data and no window, but may send a
//! delayed ACK the kernel already owed. The send queue's content is never read (that
//! would need TCP_REPAIR, which freezes the connection): its size only.

use crate::audit::fdprobe;
use crate::outdir::OutDir;
use crate::snapshot::InodeMap;
use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Bytes kept per socket unless `--queue-cap` says otherwise.
pub const DEFAULT_CAP: usize = 4 << 20;
/// Frames per socket at most: zero-length datagrams cost no payload, only a header.
const MAX_DATAGRAMS: u64 = 1 << 16;

/// How the receive file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// The queued bytes as they are.
    Stream,
    /// For each datagram a line `datagram LEN from ADDR\n` (or
    /// `datagram LEN cut KEPT from ADDR\n`), the payload, and a newline.
    Datagram,
}

/// What a peek found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peeked {
    pub framing: Framing,
    /// The receive file's content.
    pub data: Vec<u8>,
    /// Payload bytes captured (without the frame lines).
    pub bytes: u64,
    /// Datagrams captured (datagram sockets).
    pub datagrams: Option<u64>,
    /// Everything queued at the time is in `data`.
    pub complete: bool,
    /// The cap was reached.
    pub cut: bool,
    /// SIOCINQ: unread bytes (stream), the first datagram's length (datagram).
    pub inq: Option<i64>,
    /// SIOCOUTQ: unsent (TCP) or not yet freed (others) bytes of the send queue.
    pub outq: Option<i64>,
    pub notes: Vec<String>,
}

fn ioctl_int(fd: BorrowedFd<'_>, request: libc::c_ulong) -> Option<i64> {
    let mut v: libc::c_int = 0;
    // SAFETY: SIOCINQ/SIOCOUTQ write one int through the pointer, which is valid.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, &mut v as *mut libc::c_int) };
    (r == 0).then_some(v.into())
}

fn peek_off(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the sizes given. (nix has no
    // SO_PEEK_OFF option.)
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEEK_OFF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    Errno::result(r).map(|_| v)
}

fn set_peek_off(fd: BorrowedFd<'_>, v: i32) -> Result<(), Errno> {
    // SAFETY: the option value is one int read from a valid pointer.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEEK_OFF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Errno::result(r).map(drop)
}

/// The peek offset is ours between `set` and drop, which puts it back to -1 (the only
/// value we ever find and change) on every path out of a walk.
struct PeekOffset<'a> {
    fd: BorrowedFd<'a>,
    restore_failed: bool,
}

impl<'a> PeekOffset<'a> {
    fn set(fd: BorrowedFd<'a>, at: i32) -> Result<PeekOffset<'a>, Errno> {
        set_peek_off(fd, at)?;
        Ok(PeekOffset {
            fd,
            restore_failed: false,
        })
    }

    fn restore(mut self) -> bool {
        self.restore_failed = set_peek_off(self.fd, -1).is_err();
        let ok = !self.restore_failed;
        std::mem::forget(self);
        ok
    }
}

impl Drop for PeekOffset<'_> {
    fn drop(&mut self) {
        let _ = set_peek_off(self.fd, -1);
    }
}

const PEEK: libc::c_int = libc::MSG_PEEK | libc::MSG_DONTWAIT;

/// One peek into `buf`: the length the kernel reports (the datagram's full length
/// with MSG_TRUNC) and the source address as text. Hand-written over libc: nix's
/// recvmsg builds a UnixAddr from the zero-length address the kernel gives for an
/// unnamed sender, which then panics when read.
fn peek_into(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: libc::c_int,
    unix: bool,
) -> Result<(usize, String), Errno> {
    // SAFETY: an all-zero sockaddr_storage and msghdr are valid values.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut ss as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: msg points at the storage and the one iovec above, which cover
    // exactly the memory of `ss` and `buf` and outlive the call; no control buffer.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(Errno::last());
    }
    let len = (msg.msg_namelen as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: `len` bytes of `ss` are initialised (all of it is, zeroed above).
    let name = unsafe {
        std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), len)
    };
    Ok((n as usize, source_text(name, unix)))
}

/// A datagram's source from the raw socket address the kernel wrote: `ADDR:PORT`,
/// `[ADDR6]:PORT`, `unix:PATH` (escaped), `unix:@NAME` (abstract), `unix:-` (unnamed),
/// `ifindex:N` (packet), `family:N` (other), `-` (none).
pub fn source_text(name: &[u8], unix: bool) -> String {
    let family = match name.get(..2) {
        Some(f) => u16::from_ne_bytes([f[0], f[1]]) as i32,
        None if unix => return "unix:-".to_string(),
        None => return "-".to_string(),
    };
    let port = || name.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match family {
        libc::AF_INET => match (port(), name.get(4..8)) {
            (Some(port), Some(a)) => format!("{}.{}.{}.{}:{port}", a[0], a[1], a[2], a[3]),
            _ => "-".to_string(),
        },
        libc::AF_INET6 => match (
            port(),
            name.get(8..24).and_then(|a| <[u8; 16]>::try_from(a).ok()),
        ) {
            (Some(port), Some(a)) => {
                format!(
                    "[{}]:{port}",
                    crate::addr::ntop6(&std::net::Ipv6Addr::from(a))
                )
            }
            _ => "-".to_string(),
        },
        libc::AF_UNIX => {
            let path = &name[2..];
            match path.first() {
                None => "unix:-".to_string(),
                Some(0) => format!("unix:@{}", crate::escape::escape(&path[1..])),
                Some(_) => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    format!("unix:{}", crate::escape::escape(&path[..end]))
                }
            }
        }
        libc::AF_PACKET => match name.get(4..8) {
            Some(i) => format!("ifindex:{}", i32::from_ne_bytes([i[0], i[1], i[2], i[3]])),
            None => "-".to_string(),
        },
        other => format!("family:{other}"),
    }
}

/// Reads the receive queue of `fd` without consuming it, keeping at most `cap`
/// payload bytes. `Err` is the reason nothing was read (the socket was left as it was).
pub fn peek(fd: BorrowedFd<'_>, cap: usize) -> Result<Peeked, String> {
    let sock_type = fdprobe::sockopt_int(&fd, libc::SOL_SOCKET, libc::SO_TYPE)
        .ok_or_else(|| "not a socket".to_string())?;
    let framing = match sock_type {
        libc::SOCK_STREAM => Framing::Stream,
        libc::SOCK_DGRAM | libc::SOCK_RAW | libc::SOCK_SEQPACKET => Framing::Datagram,
        other => return Err(format!("socket type {other} is not read")),
    };
    let mut p = Peeked {
        framing,
        data: Vec::new(),
        bytes: 0,
        datagrams: None,
        complete: false,
        cut: false,
        inq: ioctl_int(fd, libc::FIONREAD as libc::c_ulong),
        outq: ioctl_int(fd, libc::TIOCOUTQ as libc::c_ulong),
        notes: Vec::new(),
    };
    // An offset in use is the owner's: moving it would change what its next peek sees.
    let offset_supported = match peek_off(fd) {
        Ok(off) if off >= 0 => {
            return Err(format!(
                "its owner uses SO_PEEK_OFF (offset {off}); not touched"
            ))
        }
        Ok(_) => true,
        Err(Errno::EOPNOTSUPP) => false,
        Err(e) => return Err(format!("SO_PEEK_OFF: {}", e.desc())),
    };
    match framing {
        Framing::Stream => peek_stream(fd, cap, offset_supported, &mut p)?,
        Framing::Datagram => peek_datagrams(fd, cap, offset_supported, &mut p)?,
    }
    Ok(p)
}

fn peek_stream(
    fd: BorrowedFd<'_>,
    cap: usize,
    offset_supported: bool,
    p: &mut Peeked,
) -> Result<(), String> {
    let queued = p.inq.unwrap_or(0).max(0) as u64;
    // One byte beyond the cap tells a full queue from a cut one. Zeroed pages are not
    // touched until the kernel writes them.
    let mut buf = vec![0u8; cap.saturating_add(1)];
    let mut got = match peek_into(fd, &mut buf, PEEK, false) {
        Ok((n, _)) => n.min(buf.len()),
        Err(Errno::EAGAIN) => 0,
        // A listening or unconnected stream socket has no data queue.
        Err(Errno::EINVAL) | Err(Errno::ENOTCONN) => 0,
        Err(e) => return Err(format!("peek: {}", e.desc())),
    };
    if got > 0 && (got as u64) < queued && got < buf.len() {
        if offset_supported {
            let at = i32::try_from(got).map_err(|_| "offset beyond i32".to_string())?;
            let offset =
                PeekOffset::set(fd, at).map_err(|e| format!("SO_PEEK_OFF: {}", e.desc()))?;
            while got < buf.len() {
                match peek_into(fd, &mut buf[got..], PEEK, false) {
                    Ok((0, _)) | Err(Errno::EAGAIN) => break,
                    Ok((n, _)) => got += n,
                    Err(e) => {
                        p.notes.push(format!("peek stopped: {}", e.desc()));
                        break;
                    }
                }
            }
            if !offset.restore() {
                p.notes
                    .push("SO_PEEK_OFF could not be set back to -1".to_string());
            }
        } else {
            p.notes.push(
                "the kernel stopped the peek at a message boundary and has no SO_PEEK_OFF for \
                 this socket"
                    .to_string(),
            );
        }
    }
    p.cut = got > cap;
    buf.truncate(got.min(cap));
    p.bytes = buf.len() as u64;
    p.data = buf;
    p.complete = !p.cut && p.bytes >= queued;
    if p.cut {
        p.notes.push(format!("cut at {cap} bytes (--queue-cap)"));
    } else if !p.complete {
        p.notes.push(format!(
            "the kernel returned {} of {queued} queued bytes",
            p.bytes
        ));
    }
    Ok(())
}

fn frame(out: &mut Vec<u8>, len: usize, kept: usize, from: &str, payload: &[u8]) {
    let header = if kept < len {
        format!("datagram {len} cut {kept} from {from}\n")
    } else {
        format!("datagram {len} from {from}\n")
    };
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out.push(b'\n');
}

fn peek_datagrams(
    fd: BorrowedFd<'_>,
    cap: usize,
    offset_supported: bool,
    p: &mut Peeked,
) -> Result<(), String> {
    let mut buf = vec![0u8; cap];
    let unix = fdprobe::sockopt_int(&fd, libc::SOL_SOCKET, libc::SO_DOMAIN) == Some(libc::AF_UNIX);
    let offset = if offset_supported {
        Some(PeekOffset::set(fd, 0).map_err(|e| format!("SO_PEEK_OFF: {}", e.desc()))?)
    } else {
        None
    };
    let mut count = 0u64;
    let mut used = 0usize;
    let mut exhausted = false;
    loop {
        if count >= MAX_DATAGRAMS {
            p.notes
                .push(format!("stopped after {MAX_DATAGRAMS} datagrams"));
            break;
        }
        let room = cap - used;
        let flags = PEEK | libc::MSG_TRUNC;
        match peek_into(fd, &mut buf[..room], flags, unix) {
            Ok((len, from)) => {
                let kept = len.min(room);
                frame(&mut p.data, len, kept, &from, &buf[..kept]);
                count += 1;
                used += kept;
                if kept < len {
                    p.cut = true;
                    break;
                }
            }
            Err(Errno::EAGAIN) => {
                exhausted = true;
                break;
            }
            Err(Errno::EINVAL) | Err(Errno::ENOTCONN) if count == 0 => {
                exhausted = true;
                break;
            }
            Err(e) => {
                p.notes.push(format!("peek stopped: {}", e.desc()));
                break;
            }
        }
        if offset.is_none() {
            break;
        }
    }
    if let Some(offset) = offset {
        if !offset.restore() {
            p.notes
                .push("SO_PEEK_OFF could not be set back to -1".to_string());
        }
    }
    p.bytes = used as u64;
    p.datagrams = Some(count);
    p.complete = exhausted && !p.cut;
    if p.cut {
        p.notes.push(format!("cut at {cap} bytes (--queue-cap)"));
    }
    if !offset_supported && count > 0 {
        p.complete = false;
        p.notes.push(
            "first datagram only: this kind of socket has no SO_PEEK_OFF, and reading further \
             would consume data"
                .to_string(),
        );
    }
    Ok(())
}

/// Duplicates descriptor `fd` of `pid` and peeks it, after checking it is still the
/// socket `inode` (the descriptor may have been closed and reused since the scan; a
/// different socket is not ours to touch).
pub fn peek_held(pid: u32, fd: u32, inode: u64, cap: usize) -> Result<Peeked, String> {
    let dup = crate::sockfilter::duplicate(pid, fd).map_err(|e| format!("pidfd_getfd: {e}"))?;
    use std::os::fd::AsFd;
    let st = nix::sys::stat::fstat(dup.as_fd()).map_err(|e| format!("fstat: {}", e.desc()))?;
    if st.st_ino != inode {
        return Err(format!(
            "descriptor {fd} of {pid} is no longer socket {inode}; not touched"
        ));
    }
    peek(dup.as_fd(), cap)
}

/// The dump's subdirectory, its manifest (one JSON object per line, one line per
/// socket) and its summary.
pub const DIR: &str = "queues";
pub const MANIFEST: &str = "manifest.jsonl";
pub const SUMMARY: &str = "summary.json";

/// One socket of the dump: a receive file was written, or queued data could not be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestLine {
    /// The process and descriptor read through (`null`: no holder was visible).
    pub pid: Option<u32>,
    pub fd: Option<u32>,
    /// Its argv[0], escaped.
    pub program: Option<String>,
    pub inode: u64,
    pub netns: Option<u64>,
    pub netns_name: Option<String>,
    /// `tcp`, `tcp6`, `udp`, ..., `unix`.
    pub protocol: String,
    /// `stream`, `dgram`, `seqpacket`, `raw`.
    pub socket_type: String,
    pub local: String,
    pub remote: String,
    pub state: String,
    /// Recv-Q and Send-Q as the /proc table gave them (`null` for unix sockets,
    /// whose table has none).
    pub recv_q: Option<u64>,
    pub send_q: Option<u64>,
    /// SIOCINQ and SIOCOUTQ on the socket when it was read.
    pub siocinq: Option<i64>,
    pub siocoutq: Option<i64>,
    /// The receive file, relative to the dump's directory.
    pub file: Option<String>,
    pub framing: Option<Framing>,
    /// Payload bytes in the file.
    pub bytes: u64,
    pub datagrams: Option<u64>,
    /// Everything queued when it was read is in the file.
    pub complete: bool,
    /// The cap cut it.
    pub cut: bool,
    pub notes: Vec<String>,
}

impl ManifestLine {
    /// Fills in what a peek found.
    pub fn record(&mut self, p: &Peeked) {
        self.siocinq = p.inq;
        self.siocoutq = p.outq;
        self.framing = Some(p.framing);
        self.bytes = p.bytes;
        self.datagrams = p.datagrams;
        self.complete = p.complete;
        self.cut = p.cut;
        self.notes.extend(p.notes.iter().cloned());
    }

    /// Whether the peek found data worth a file.
    pub fn has_data(p: &Peeked) -> bool {
        !p.data.is_empty()
    }

    /// `receive.PID.FD`, as Volatility's linux_pkt_queues names them.
    pub fn file_name(pid: u32, fd: u32) -> String {
        format!("receive.{pid}.{fd}")
    }
}

/// The writing side of a dump: `queues/` below `parent`, created fresh.
pub struct Writer {
    dir: OutDir,
    manifest: io::BufWriter<std::fs::File>,
}

impl Writer {
    pub fn create(parent: &OutDir) -> io::Result<Writer> {
        let dir = parent.create_subdir(DIR)?;
        let manifest = io::BufWriter::new(dir.create_file(MANIFEST)?);
        Ok(Writer { dir, manifest })
    }

    /// Writes the receive file (when there is data) and the socket's manifest line.
    pub fn add(&mut self, line: &mut ManifestLine, data: &[u8]) -> io::Result<()> {
        if let (Some(pid), Some(fd), false) = (line.pid, line.fd, data.is_empty()) {
            let name = ManifestLine::file_name(pid, fd);
            let mut f = self.dir.create_file(&name)?;
            f.write_all(data)?;
            line.file = Some(format!("{DIR}/{name}"));
        }
        serde_json::to_writer(&mut self.manifest, line)?;
        self.manifest.write_all(b"\n")
    }

    /// Writes the summary and puts everything on disk: one syncfs for the whole dump
    /// (an fsync per file made a dump of 3,000 sockets take 20 s instead of 1).
    pub fn finish(mut self, summary: &serde_json::Value) -> io::Result<()> {
        self.manifest.flush()?;
        let mut f = self.dir.create_file(SUMMARY)?;
        writeln!(f, "{summary:#}")?;
        nix::unistd::syncfs(self.dir.as_fd()).map_err(io::Error::from)
    }
}

/// Bounds for reading a dump back: it is a file anyone could have planted.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// The manifest beside a captured proc tree (`DIR/queues/manifest.jsonl` for
/// `--proc-root DIR/proc`), by socket inode: `None` when there is none. Lines that do
/// not parse are counted, not fatal.
pub fn read_manifest(proc_root: &std::path::Path) -> Option<(InodeMap<ManifestLine>, usize)> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::{fstat, Mode, SFlag};
    use std::os::fd::AsFd;
    let path = proc_root.parent()?.join(DIR).join(MANIFEST);
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = open(&path, flags, Mode::empty()).ok()?;
    let st = fstat(fd.as_fd()).ok()?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return None;
    }
    let mut data = Vec::new();
    std::fs::File::from(fd)
        .take(MANIFEST_LIMIT)
        .read_to_end(&mut data)
        .ok()?;
    let mut map = InodeMap::default();
    let mut bad = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<ManifestLine>(line) {
            Ok(m) if m.file.is_some() => {
                map.insert(m.inode, m);
            }
            Ok(_) => {}
            Err(_) => bad += 1,
        }
    }
    Some((map, bad))
}

/// The tag a listing puts after a row whose queue was captured.
pub fn row_tag(m: &ManifestLine) -> String {
    let file = m.file.as_deref().unwrap_or("-");
    let state = if m.cut {
        ", cut"
    } else if !m.complete {
        ", incomplete"
    } else {
        ""
    };
    format!(
        "[queued: {}, {} bytes{state}]",
        crate::escape::escape(file.as_bytes()),
        m.bytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::{UnixDatagram, UnixStream};

    /// Splits a datagram dump into (source, payload) pairs.
    fn frames(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n').unwrap();
            let header = std::str::from_utf8(&data[..nl]).unwrap().to_string();
            let words: Vec<&str> = header.split(' ').collect();
            let len: usize = words[1].parse().unwrap();
            let from = header.rsplit_once(" from ").unwrap().1.to_string();
            let payload = data[nl + 1..nl + 1 + len].to_vec();
            assert_eq!(data[nl + 1 + len], b'\n');
            data = &data[nl + 2 + len..];
            out.push((from, payload));
        }
        out
    }

    #[test]
    fn unix_datagrams_in_order_and_left_queued() {
        let (a, b) = UnixDatagram::pair().unwrap();
        for m in [&b"first"[..], b"", b"third\n"] {
            a.send(m).unwrap();
        }
        let p = peek(b.as_fd(), 1 << 20).unwrap();
        assert!(p.complete && !p.cut, "{p:?}");
        assert_eq!(p.datagrams, Some(3));
        let got = frames(&p.data);
        let payloads: Vec<&[u8]> = got.iter().map(|(_, d)| &d[..]).collect();
        assert_eq!(payloads, vec![&b"first"[..], b"", b"third\n"]);
        assert_eq!(peek_off(b.as_fd()), Ok(-1));
        let mut buf = [0u8; 16];
        for want in [&b"first"[..], b"", b"third\n"] {
            let n = b.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], want);
        }
    }

    #[test]
    fn stream_with_descriptor_boundary_and_cap() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"abc").unwrap();
        // A message carrying a descriptor stops a plain peek after it.
        let fds = [a.as_raw_fd()];
        let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
        nix::sys::socket::sendmsg::<()>(
            a.as_raw_fd(),
            &[std::io::IoSlice::new(b"def")],
            &cmsg,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        a.write_all(b"ghi").unwrap();
        let p = peek(b.as_fd(), 1 << 20).unwrap();
        assert_eq!(p.data, b"abcdefghi");
        assert!(p.complete && !p.cut);
        let small = peek(b.as_fd(), 4).unwrap();
        assert_eq!(small.data, b"abcd");
        assert!(small.cut && !small.complete);
        assert_eq!(peek_off(b.as_fd()), Ok(-1));
        let mut all = [0u8; 9];
        (&b).read_exact(&mut all).unwrap();
        assert_eq!(&all, b"abcdefghi");
    }

    #[test]
    fn owner_peek_offset_is_left_alone() {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"x").unwrap();
        set_peek_off(b.as_fd(), 0).unwrap();
        let e = peek(b.as_fd(), 1024).unwrap_err();
        assert!(e.contains("SO_PEEK_OFF"), "{e}");
        assert_eq!(peek_off(b.as_fd()), Ok(0));
    }

    #[test]
    fn datagram_cut_at_cap() {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"0123456789").unwrap();
        a.send(b"more").unwrap();
        let p = peek(b.as_fd(), 4).unwrap();
        assert!(p.cut && !p.complete);
        assert!(
            p.data.starts_with(b"datagram 10 cut 4 from "),
            "{:?}",
            p.data
        );
        assert_eq!(peek_off(b.as_fd()), Ok(-1));
    }

    #[test]
    fn source_addresses_never_panic() {
        assert_eq!(source_text(&[], true), "unix:-");
        assert_eq!(source_text(&[], false), "-");
        let unix = (libc::AF_UNIX as u16).to_ne_bytes();
        assert_eq!(source_text(&unix, true), "unix:-");
        let mut abs = unix.to_vec();
        abs.extend_from_slice(b"\0x\n");
        assert_eq!(source_text(&abs, true), "unix:@x\\n");
        let mut path = unix.to_vec();
        path.extend_from_slice(b"/run/a\0junk");
        assert_eq!(source_text(&path, true), "unix:/run/a");
        let mut v4 = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        v4.extend_from_slice(&[0x13, 0x88, 192, 0, 2, 1]);
        assert_eq!(source_text(&v4, false), "192.0.2.1:5000");
        assert_eq!(source_text(&v4[..5], false), "-");
        let inet6 = (libc::AF_INET6 as u16).to_ne_bytes();
        assert_eq!(source_text(&inet6, false), "-");
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let _ = source_text(&bytes, len % 2 == 0);
        }
    }

    #[test]
    fn empty_queue() {
        let (_a, b) = UnixStream::pair().unwrap();
        let p = peek(b.as_fd(), 1024).unwrap();
        assert!(p.complete && p.data.is_empty());
    }
}
