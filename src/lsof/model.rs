//! The file model: a process (or task) and the files found open in it, before
//! names are resolved and rows are built.

use crate::proc::files::{FdInfo, FileStat, PacketSocket};
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::{unix, ProcRoot};
use crate::render::lsof::{FdName, ProcessNetns};
use crate::select::lsof::{InetFacts, InetProto};
use std::net::IpAddr;

/// A selected file before its names are resolved.
pub(crate) enum Kind {
    Path {
        fd: FdName,
        stat: Option<FileStat>,
        name: Vec<u8>,
        /// An fd (not cwd/rtd/txt/mem): offsets and flags come from fdinfo.
        is_fd: bool,
    },
    Inet(InetSocket),
    Unix(unix::UnixSocket),
    Raw(InetSocket),
    Icmp(InetSocket),
    Netlink(u32),
    Packet(PacketSocket),
    Sock(Vec<u8>),
}

/// Where a process or one of its threads is, its id, and (for a thread) TID and command.
pub(crate) type ScanTarget = (ProcRoot, u32, Option<(u32, Vec<u8>)>);

/// An fd entry copied out of the walk: fd, link, link mode, stat.
pub(crate) type OwnedFd = (u32, Vec<u8>, Option<u32>, Result<FileStat, i32>);

/// What joins the ends of a file that is not a socket or pipe, for `-E`/`+E`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EndKey {
    /// A POSIX message queue, by inode.
    Mqueue(u64),
    /// An eventfd, by its eventfd-id.
    Eventfd(u64),
    /// /dev/ptmx, by the index of its pty.
    PtyMaster(u32),
    /// /dev/pts/N.
    PtySlave(u32),
}

impl EndKey {
    /// The key of the files at the other end.
    pub(crate) fn other(self) -> EndKey {
        match self {
            EndKey::PtyMaster(i) => EndKey::PtySlave(i),
            EndKey::PtySlave(i) => EndKey::PtyMaster(i),
            k => k,
        }
    }
}

pub(crate) struct Candidate {
    /// Set under -E/+E for message queues, eventfds and ptys.
    pub(crate) end: Option<EndKey>,
    /// A selected descriptor's fdinfo, read once in the scan (its flags gave the
    /// access mode); `None` when the row reads it, if it needs it.
    pub(crate) fdinfo: Option<Box<FdInfo>>,
    /// The namespace label of a socket found in another namespace's tables.
    pub(crate) netns: Option<String>,
    pub(crate) fd: FdName,
    pub(crate) access: u8,
    pub(crate) inode: u64,
    pub(crate) dev: u64,
    pub(crate) kind: Kind,
}

pub(crate) struct ProcInfo {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    pub(crate) pgid: u32,
    pub(crate) uid: u32,
    pub(crate) comm: Vec<u8>,
    /// A thread's id and command (lsof's TID and TASKCMD).
    pub(crate) task: Option<(u32, Vec<u8>)>,
    /// Its network namespace when it is not ours.
    pub(crate) netns: Option<ProcessNetns>,
    /// Where this process's (or task's) files are: `/proc` or `/proc/PID/task`.
    pub(crate) proc_root: ProcRoot,
    pub(crate) id: u32,
    pub(crate) files: Vec<Candidate>,
}

/// The access mode fdinfo's open flags give, where they surely say what the fd
/// link's owner bits say (the kernel sets both from O_ACCMODE). An O_PATH file's link
/// says `u` whatever its flags, and O_ACCMODE 3 is no mode: those need the lstat.
pub(crate) fn access_from_flags(flags: u32) -> Option<u8> {
    if flags & libc::O_PATH as u32 != 0 {
        return None;
    }
    match flags & libc::O_ACCMODE as u32 {
        f if f == libc::O_RDONLY as u32 => Some(b'r'),
        f if f == libc::O_WRONLY as u32 => Some(b'w'),
        f if f == libc::O_RDWR as u32 => Some(b'u'),
        _ => None,
    }
}

pub(crate) fn access_from_link_mode(mode: Option<u32>) -> u8 {
    match mode.map(|m| m & (libc::S_IRUSR | libc::S_IWUSR)) {
        Some(m) if m == libc::S_IRUSR => b'r',
        Some(m) if m == libc::S_IWUSR => b'w',
        Some(_) => b'u',
        None => b' ',
    }
}

/// lsof's getlinksrc: a path stays whole, `pipe:[123]` becomes `pipe` + `[123]`.
pub(crate) fn split_link(link: &[u8]) -> (&[u8], &[u8]) {
    if link.first() == Some(&b'/') {
        return (link, b"");
    }
    match link.iter().position(|&b| b == b':') {
        Some(c) => (&link[..c], &link[c + 1..]),
        None => (link, b""),
    }
}

pub(crate) type Endpoint = Option<(IpAddr, u16)>;

pub(crate) fn v4_view(s: &InetSocket) -> (Endpoint, Endpoint) {
    let present = |ip: &IpAddr, port: u16| !ip.is_unspecified() || port != 0;
    let local = present(&s.local, s.local_port).then_some((s.local, s.local_port));
    let remote = present(&s.remote, s.remote_port).then_some((s.remote, s.remote_port));
    let mapped = |e: &Option<(IpAddr, u16)>| {
        e.is_some_and(|(ip, _)| matches!(ip, IpAddr::V6(a) if a.to_ipv4_mapped().is_some()))
    };
    if mapped(&local) || mapped(&remote) {
        let tail = |e: Option<(IpAddr, u16)>| {
            e.map(|(ip, p)| match ip {
                IpAddr::V6(a) => {
                    let o = a.octets();
                    (IpAddr::from([o[12], o[13], o[14], o[15]]), p)
                }
                v4 => (v4, p),
            })
        };
        return (tail(local), tail(remote));
    }
    (local, remote)
}

pub(crate) fn inet_proto(p: Proto) -> InetProto {
    match p {
        Proto::Udp => InetProto::Udp,
        Proto::UdpLite => InetProto::UdpLite,
        _ => InetProto::Tcp,
    }
}

pub(crate) fn inet_facts(s: &InetSocket) -> InetFacts {
    let (local, remote) = v4_view(s);
    InetFacts {
        proto: inet_proto(s.proto),
        v6_table: s.v6,
        local,
        remote,
        state: s.state,
    }
}
