//! A socket's attached filter, read from another process: its descriptor is
//! duplicated with pidfd_getfd and getsockopt(SOL_SOCKET, SO_GET_FILTER) asked,
//! first for the instruction count (length 0), then for the instructions. What the
//! kernel tells (net/core/filter.c, sk_get_filter): no filter, length 0; a classic
//! program, its instructions; an eBPF program (SO_ATTACH_BPF, which keeps no
//! classic original), EACCES. pidfd_open/pidfd_getfd come from rustix (nix has
//! neither); nix does not offer SO_GET_FILTER either, so that is a raw call here
//! (SO_BINDTODEVICE is nix's).

use crate::bpf::{Insn, INSN_SIZE, MAX_INSNS};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// What a socket carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    None,
    Classic(Vec<Insn>),
    /// A program is attached but SO_GET_FILTER cannot return it (eBPF).
    Unreadable(String),
}

/// Duplicates descriptor `fd` of process `pid` into ours (close-on-exec).
pub fn duplicate(pid: u32, fd: u32) -> io::Result<OwnedFd> {
    use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let pidfd = pidfd_open(pid, PidfdFlags::empty())?;
    Ok(pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty())?)
}

/// The duplicate must still be socket `inode`: the holder may have closed the
/// descriptor since the scan and reused its number. Another file is EBADF, as if
/// the descriptor were closed.
fn check_inode(sock: OwnedFd, inode: u64) -> io::Result<OwnedFd> {
    let st = nix::sys::stat::fstat(&sock).map_err(io::Error::from)?;
    if st.st_ino != inode || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    Ok(sock)
}

/// [`duplicate`], checked to be socket `inode` still.
pub fn duplicate_socket(pid: u32, fd: u32, inode: u64) -> io::Result<OwnedFd> {
    check_inode(duplicate(pid, fd)?, inode)
}

/// Whether a failed read means the socket left its holder (the process exited, the
/// descriptor was closed or now names another file) rather than a refusal.
pub fn holder_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ESRCH | libc::EBADF))
}

/// SO_GET_FILTER with a buffer of `count` instructions: Ok(n) is the program's length
/// (the optlen the kernel writes back, in instructions).
fn get_filter(sock: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = (buf.len() / INSN_SIZE) as libc::socklen_t;
    let ptr = if buf.is_empty() {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    // SAFETY: for SO_GET_FILTER optlen counts instructions: the kernel writes at
    // most len * 8 bytes, which is buf's length (nothing when len is 0).
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_GET_FILTER,
            ptr,
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

/// The filter of a socket descriptor we hold.
pub fn read(sock: &OwnedFd) -> io::Result<Filter> {
    // The program can be replaced between the two calls: a longer one makes the
    // second fail with EINVAL, so count again (a few times, then give up).
    for _ in 0..3 {
        let count = match get_filter(sock, &mut []) {
            Ok(0) => return Ok(Filter::None),
            Ok(n) => n.min(MAX_INSNS),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                return Ok(Filter::Unreadable(
                    "eBPF program (SO_ATTACH_BPF): the kernel keeps no classic copy".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        let mut buf = vec![0u8; count * INSN_SIZE];
        match get_filter(sock, &mut buf) {
            Ok(0) => return Ok(Filter::None),
            Ok(n) => {
                buf.truncate(n.min(count) * INSN_SIZE);
                return Ok(Filter::Classic(Insn::parse_all(&buf)));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                return Ok(Filter::Unreadable(
                    "eBPF program (SO_ATTACH_BPF): the kernel keeps no classic copy".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "the filter kept changing while it was read",
    ))
}

/// The filter of descriptor `fd` of process `pid`.
pub fn read_of(pid: u32, fd: u32) -> io::Result<Filter> {
    read(&duplicate(pid, fd)?)
}

/// SO_BINDTODEVICE of a socket we hold: the interface it is bound to, if any.
pub fn bound_device(sock: &OwnedFd) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    let name = nix::sys::socket::getsockopt(sock, nix::sys::socket::sockopt::BindToDevice)
        .ok()?
        .into_vec();
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    (!name.is_empty()).then(|| name.to_vec())
}

/// A socket's filter as found through the processes that hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Read from one holder's descriptor.
    Read(Filter),
    /// No holder's descriptor could be read (no holder, all exited, pidfd_getfd
    /// refused): whether a filter is attached is not known.
    NotRead(String),
    /// Every holder exited or closed the descriptor since the scan: the socket left
    /// them (and is most likely gone).
    Gone,
}

/// Reads the filters of many sockets, one pidfd per process (opened on first use).
#[derive(Default)]
pub struct Reader {
    pidfds: HashMap<u32, Result<OwnedFd, i32>>,
}

impl Reader {
    /// The filter of the socket that descriptors `holders` (pid, fd) refer to: each
    /// holder is tried in turn until one can be read.
    pub fn read(&mut self, inode: u64, holders: impl IntoIterator<Item = (u32, u32)>) -> Found {
        let mut why = None;
        for (pid, fd) in holders {
            match self.read_one(pid, fd, inode) {
                Ok(filter) => return Found::Read(filter),
                // A refusal says more than a holder that went away.
                Err(e) if holder_gone(&e) => why = why.or(Some(e)),
                Err(e) => why = Some(e),
            }
        }
        Found::NotRead(match why {
            None => "no process holds it".into(),
            Some(e) => match e.raw_os_error() {
                _ if holder_gone(&e) => return Found::Gone,
                Some(libc::EPERM) => "pidfd_getfd not permitted (needs root)".into(),
                Some(libc::ENOSYS) => "pidfd_getfd is not supported (Linux 5.6)".into(),
                _ => format!("reading it failed: {e}"),
            },
        })
    }

    fn read_one(&mut self, pid: u32, fd: u32, inode: u64) -> io::Result<Filter> {
        use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
        let pidfd = self.pidfds.entry(pid).or_insert_with(|| {
            let pid = i32::try_from(pid)
                .ok()
                .and_then(Pid::from_raw)
                .ok_or(libc::ESRCH)?;
            pidfd_open(pid, PidfdFlags::empty()).map_err(|e| e.raw_os_error())
        });
        let pidfd = pidfd
            .as_ref()
            .map_err(|&e| io::Error::from_raw_os_error(e))?;
        let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        let sock = check_inode(pidfd_getfd(pidfd, fd, PidfdGetfdFlags::empty())?, inode)?;
        read(&sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn attach(sock: &impl AsFd, prog: &[Insn]) {
        let raw: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: raw.len() as u16,
            filter: raw.as_ptr() as *mut _,
        };
        // SAFETY: fprog points at raw, alive for the call.
        let r = unsafe {
            libc::setsockopt(
                sock.as_fd().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "{}", io::Error::last_os_error());
    }

    #[test]
    fn reads_our_own_filter_through_a_duplicate() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let me = std::process::id();
        let fd = sock.as_raw_fd() as u32;
        assert_eq!(read_of(me, fd).unwrap(), Filter::None);
        let prog = [
            Insn::new(0x28, 0, 0, 12),
            Insn::new(0x15, 0, 1, 0x800),
            Insn::new(0x06, 0, 0, 0xffff),
            Insn::new(0x06, 0, 0, 0),
        ];
        attach(&sock, &prog);
        // pidfd_getfd on our own process needs no privilege beyond ptrace of self.
        match read_of(me, fd) {
            Ok(f) => assert_eq!(f, Filter::Classic(prog.to_vec())),
            Err(e) => panic!("{e}"),
        }
        // The Reader checks the duplicate is the socket it was asked about.
        let inode = nix::sys::stat::fstat(&sock).unwrap().st_ino;
        let mut reader = Reader::default();
        assert_eq!(
            reader.read(inode, [(me, fd)]),
            Found::Read(Filter::Classic(prog.to_vec()))
        );
        assert_eq!(reader.read(inode + 1, [(me, fd)]), Found::Gone);
        assert_eq!(
            reader.read(inode, []),
            Found::NotRead("no process holds it".into())
        );
        let dup = duplicate(me, fd).unwrap();
        assert_eq!(read(&dup).unwrap(), Filter::Classic(prog.to_vec()));
        assert_eq!(bound_device(&dup), None);
    }
}
