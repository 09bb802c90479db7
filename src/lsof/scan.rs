//! The walk over one process's (and its tasks') files: cwd/rtd/txt, maps, fds,
//! each sorted into selected files and spare endpoint candidates.

use super::model::{
    access_from_flags, access_from_link_mode, inet_facts, Candidate, EndKey, Kind, OwnedFd,
    ProcInfo, ScanTarget,
};
use super::name::first_token;
use super::sockets::{ForeignNetns, Sockets, Tables};
use super::RowContext;
use crate::cli::lsof::Config;
use crate::ebpf::task_files::SocketFd;
use crate::proc::files::{self, FileStat, MapEntry};
use crate::proc::process::{self, FdWanted};
use crate::proc::ProcRoot;
use crate::render::lsof::{FdName, ProcessNetns, ProcessRows};
use crate::select::lsof::{FdRef, FileFacts, FileMore, Found, Selection};
use crate::snapshot::IteratedSockets;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

pub(crate) fn name_hit(sel: &Selection, dev: u64, ino: u64) -> Option<usize> {
    sel.name_hit(dev, ino)
}

/// A `(readlink: Permission denied)`-style NAME for a link lsof could not read.
pub(crate) fn unreadable(path: &Path, errno: i32, op: &str) -> Vec<u8> {
    let msg = crate::cli::strerror(&io::Error::from_raw_os_error(errno));
    let mut name = path.as_os_str().as_bytes().to_vec();
    name.extend_from_slice(format!(" ({op}: {msg})").as_bytes());
    name
}

/// Looks at one process's (or task's) files and sorts them into selected ones
/// and spare endpoint candidates.
pub(crate) struct Scan<'a> {
    pub(crate) sel: &'a Selection,
    /// Read on the first socket met (or ahead, on a thread of its own): a run that
    /// meets none never reads the tables.
    pub(crate) sockets: &'a OnceLock<Sockets>,
    pub(crate) tables: Tables,
    /// Whether the tables stat() unix socket paths (see `Sockets::load`).
    pub(crate) stat_unix_paths: bool,
    pub(crate) root: &'a ProcRoot,
    /// The process's network namespace when it is not ours, and those namespaces' tables.
    pub(crate) netns: Option<&'a ProcessNetns>,
    pub(crate) foreign: &'a ForeignNetns,
    pub(crate) pid: u32,
    /// The process-level selection verdict; `None` = excluded (scanned for
    /// endpoints only).
    pub(crate) verdict: Option<u16>,
    pub(crate) skip_inet: bool,
    /// Devices of mqueue mounts (PSXMQ files).
    pub(crate) mqueue_devs: &'a [u64],
    /// Where the files being scanned are (`/proc` or `/proc/PID/task`) and whose.
    pub(crate) id_root: &'a ProcRoot,
    pub(crate) id: u32,
    /// Devices of the NFS mounts (for `-N`).
    pub(crate) nfs_devs: &'a [u64],
    pub(crate) endpoints: bool,
    /// Descriptors are walked without lstat: a selected one's fdinfo flags give its
    /// access mode (live, and without -E, whose spare files need theirs unread).
    pub(crate) fdinfo_access: bool,
    /// Every row prints something of fdinfo (-o, -F, +f, --json); otherwise only
    /// devices, FIFOs and anonymous inodes do (their offset and names).
    pub(crate) fdinfo_always: bool,
    /// lsof lists unreadable links (with the error in NAME) only when warnings
    /// are on; `-w` and `-t` drop them.
    pub(crate) warnings: bool,
    /// stat results of mapped files, shared by the pass.
    pub(crate) mapped: &'a MappedStats,
    /// The socket descriptors of the process from the BPF iterator, instead of its fd
    /// directory (only when the pass lists nothing else).
    pub(crate) iterated: Option<&'a [SocketFd]>,
    /// `-b` with an NFS mount (`Config::avoid_stat`): no file is stat'ed.
    pub(crate) avoid_stat: bool,
    /// The paths whose stat that avoided, in lsof's order (for its warnings).
    pub(crate) avoided: RefCell<Vec<Vec<u8>>>,
}

/// stat(2) of mapped files by (device, inode), shared by a pass's scanning threads:
/// most processes map the same libraries, and one stat answers for all of them.
#[derive(Default)]
pub(crate) struct MappedStats(Mutex<HashMap<(u64, u64), MappedStat>>);

/// The path a mapped file was stat'ed by, and what that gave (see
/// [`process::stat_mapped`]).
type MappedStat = (Box<[u8]>, Option<Result<FileStat, i32>>);

impl MappedStats {
    /// stat(2) of mapping `index` of `id`'s maps by its path.
    fn stat(
        &self,
        root: &ProcRoot,
        id: u32,
        index: usize,
        m: &MapEntry,
    ) -> Option<Result<FileStat, i32>> {
        let key = (m.dev, m.inode);
        let fresh = || process::stat_mapped(root, id, index, &m.path);
        // A copy answers by the mapping's index, from its own records.
        if root.is_copy() {
            return fresh();
        }
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((path, st)) = lock().get(&key) {
            if **path == *m.path {
                return *st;
            }
        }
        // Not under the lock: the other thread goes on meanwhile.
        let st = fresh();
        lock()
            .entry(key)
            .or_insert_with(|| (m.path.clone().into_boxed_slice(), st));
        st
    }
}

/// What lsof adds to the NAME of a mapped file, not deleted, whose path does not stat
/// to it: the stat error, or the device and inode the path has instead.
fn mapped_stat_note(m: &MapEntry, st: Result<FileStat, i32>) -> Vec<u8> {
    let st = match st {
        Err(errno) => return unreadable(Path::new(""), errno, "stat"),
        Ok(st) => st,
    };
    // Two notes when both differ, which lsof joins with a blank:
    // "(path dev=M,N, inode=I)".
    let mut note = String::from(" (path ");
    if st.dev != m.dev {
        let (major, minor) = (files::dev_major(st.dev), files::dev_minor(st.dev));
        note += &format!("dev={major},{minor}");
        note += if st.ino == m.inode { ")" } else { ", " };
    }
    if st.ino != m.inode {
        note += &format!("inode={})", st.ino);
    }
    note.into_bytes()
}

impl Scan<'_> {
    /// lsof's statsafely() under -b: no stat, a warning, EWOULDBLOCK.
    fn avoid(&self, path: &[u8]) {
        if self.warnings {
            self.avoided.borrow_mut().push(path.to_vec());
        }
    }

    /// lsof's statEx(), its fallback after such a declined stat of `target` (a link's
    /// text, cut at a `:` when not absolute): it tries the parent directory, which
    /// is declined too (EWOULDBLOCK); without one (`/tmp`, `socket`) it fails with
    /// ENOENT. The errno is what lsof's NAME then says.
    fn avoid_parent(&self, target: &[u8]) -> i32 {
        match target.iter().rposition(|&b| b == b'/') {
            Some(i) if i > 0 => {
                self.avoid(&target[..i]);
                libc::EWOULDBLOCK
            }
            _ => libc::ENOENT,
        }
    }

    pub(crate) fn our_sockets(&self) -> &Sockets {
        self.sockets
            .get_or_init(|| Sockets::load(self.root, "net", self.tables, self.stat_unix_paths))
    }

    /// The -E/+E key of a message queue, eventfd or pty descriptor.
    fn end_key(&self, c: &Candidate) -> Option<EndKey> {
        let (
            FdName::Num(fd),
            Kind::Path {
                stat: Some(st),
                name,
                ..
            },
        ) = (c.fd, &c.kind)
        else {
            return None;
        };
        let ft = st.file_type();
        if ft == libc::S_IFREG && self.mqueue_devs.contains(&st.dev) {
            return Some(EndKey::Mqueue(st.ino));
        }
        if name == b"anon_inode:[eventfd]" {
            let info = files::read_fdinfo(self.id_root, self.id, fd)?;
            return info.eventfd_id.map(EndKey::Eventfd);
        }
        if ft == libc::S_IFCHR {
            let (major, minor) = (files::dev_major(st.rdev), files::dev_minor(st.rdev));
            if (major, minor) == (5, 2) {
                let info = files::read_fdinfo(self.id_root, self.id, fd)?;
                return info.tty_index.map(EndKey::PtyMaster);
            }
            // Unix98 pty slaves: majors 136-143, 256 minors each.
            if (136..=143).contains(&major) && minor < 256 {
                return u32::try_from((major - 136) * 256 + minor)
                    .ok()
                    .map(EndKey::PtySlave);
            }
        }
        None
    }

    pub(crate) fn keep(
        &self,
        mut c: Candidate,
        info: &mut ProcInfo,
        spare: &mut Vec<Candidate>,
        found: &mut Found,
    ) {
        // -X: lsof reads no TCP, UDP or UDP-Lite table (nor raw6): such a socket,
        // like any it cannot place then, is a `sock` it cannot identify.
        if self.skip_inet {
            let unplaced = match &c.kind {
                Kind::Inet(_) | Kind::Sock(_) => true,
                Kind::Raw(r) => r.v6,
                _ => false,
            };
            if unplaced {
                c.kind = Kind::Sock(b"can't identify protocol (-X specified)".to_vec());
                // A socket the walk knew from the tables was not stat()ed: its row
                // shows sockfs's device now.
                if let (0, FdName::Num(fd)) = (c.dev, c.fd) {
                    let link = self.id_root.path().join(format!("{}/fd/{fd}", self.id));
                    if let Ok(st) = std::fs::metadata(link) {
                        c.dev = std::os::unix::fs::MetadataExt::dev(&st);
                    }
                }
            }
        }
        if self.endpoints {
            c.end = self.end_key(&c);
        }
        let endpoint_kind = c.end.is_some()
            || matches!(c.kind, Kind::Unix(_) | Kind::Inet(_))
            || matches!(&c.kind, Kind::Path { stat: Some(st), name, .. }
                if st.file_type() == libc::S_IFIFO && name.starts_with(b"pipe:"));
        let Some(pflags) = self.verdict else {
            if self.endpoints && endpoint_kind {
                spare.push(c);
            }
            return;
        };
        let sel = self.sel;
        let facts = match &c.kind {
            Kind::Inet(s) => Some(inet_facts(s)),
            _ => None,
        };
        let file_facts = match (&c.kind, &facts) {
            (Kind::Inet(_), Some(f)) => FileFacts::Inet(f),
            (Kind::Unix(u), _) => FileFacts::Unix {
                path: u.path.as_deref(),
            },
            _ => FileFacts::Other,
        };
        let hit = match &c.kind {
            // As lsof: by the device and inode its stale stat gives the socket, if
            // any (see `sockets::stale_stats`), else by the path's text.
            Kind::Unix(_) if sel.names.is_empty() => None,
            Kind::Unix(u) => {
                let stale = c
                    .netns
                    .is_none()
                    .then(|| self.our_sockets().unix_stale.get(&c.inode).copied())
                    .flatten();
                stale
                    .and_then(|(dev, ino)| sel.name_index.get(&(dev, ino)).copied())
                    .or_else(|| {
                        let path = u.path.as_deref().and_then(first_token)?;
                        sel.names.iter().position(|n| path == n.text.as_bytes())
                    })
            }
            Kind::Path { stat: Some(_), .. } => name_hit(sel, c.dev, c.inode),
            _ => None,
        };
        let fd_text;
        let fd = match c.fd {
            FdName::Num(n) => FdRef::Num(n),
            other => {
                fd_text = other.text();
                FdRef::Name(&fd_text)
            }
        };
        let more = match &c.kind {
            Kind::Path { stat: Some(st), .. } => FileMore {
                nlink: Some(st.nlink),
                nfs: self.nfs_devs.contains(&st.dev),
            },
            _ => FileMore::default(),
        };
        if sel.file(pflags, file_facts, more, fd, hit, found) {
            if self.fdinfo_access {
                self.add_fdinfo(&mut c);
            }
            info.files.push(c);
        } else if self.endpoints && endpoint_kind {
            spare.push(c);
        }
    }

    /// A selected descriptor walked without lstat: its fdinfo, when its row needs it
    /// for the offset and flags, gives the access mode; else the lstat is made now.
    fn add_fdinfo(&self, c: &mut Candidate) {
        let (
            FdName::Num(fd),
            Kind::Path {
                stat, is_fd: true, ..
            },
        ) = (c.fd, &c.kind)
        else {
            return;
        };
        // A regular file, directory or link prints its size, not its offset.
        let plain = stat.is_some_and(|st| {
            matches!(
                st.file_type(),
                libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK
            )
        });
        // A FIFO (pipe or named) is a stream: the kernel never moves its offset
        // (stream_open), so fdinfo would say `pos: 0`; the walk's lstat gave its
        // access mode.
        let fifo = stat.is_some_and(|st| st.file_type() == libc::S_IFIFO);
        let info = if plain && !self.fdinfo_always {
            None
        } else if fifo && !self.fdinfo_always && c.access != b' ' {
            Some(files::FdInfo {
                pos: Some(0),
                ..files::FdInfo::default()
            })
        } else {
            files::read_fdinfo(self.id_root, self.id, fd)
        };
        // A link readlink() refused (its NAME is the link's own path): lsof has no
        // lstat of it, so no access mode.
        if let Kind::Path {
            stat: None, name, ..
        } = &c.kind
        {
            let link = self.id_root.path().join(format!("{}/fd/{fd}", self.id));
            if name.starts_with(link.as_os_str().as_bytes()) {
                c.fdinfo = info.map(Box::new);
                return;
            }
        }
        c.access = match info.and_then(|i| access_from_flags(i.flags?)) {
            Some(access) => access,
            // The walk's lstat (FdWanted::StatPlainMode) already told it.
            None if c.access != b' ' => c.access,
            None => access_from_link_mode(process::fd_link_mode(self.id_root, self.id, fd)),
        };
        c.fdinfo = info.map(Box::new);
    }

    pub(crate) fn files(
        &self,
        root: &ProcRoot,
        id: u32,
        info: &mut ProcInfo,
        spare: &mut Vec<Candidate>,
        found: &mut Found,
    ) {
        let all_files = self
            .verdict
            .is_some_and(|pflags| self.sel.wants_all_files(pflags));
        if all_files {
            let mut exe = None;
            for (fd, link) in [
                (FdName::Cwd, "cwd"),
                (FdName::Rtd, "root"),
                (FdName::Txt, "exe"),
            ] {
                let path = root.path().join(format!("{id}/{link}"));
                let c = match std::fs::read_link(&path) {
                    Ok(target) => {
                        let mut name = target.as_os_str().as_bytes().to_vec();
                        let st = if self.avoid_stat {
                            self.avoid(path.as_os_str().as_bytes());
                            let errno = self.avoid_parent(&name);
                            if self.warnings {
                                name.extend_from_slice(&unreadable(Path::new(""), errno, "stat"));
                            }
                            None
                        } else {
                            process::stat_link(root, id, link)
                        };
                        if fd == FdName::Txt {
                            exe = st;
                        }
                        Candidate {
                            end: None,
                            fdinfo: None,
                            netns: None,
                            fd,
                            access: b' ',
                            inode: st.map_or(0, |s| s.ino),
                            dev: st.map_or(0, |s| s.dev),
                            kind: Kind::Path {
                                fd,
                                stat: st,
                                name,
                                is_fd: false,
                            },
                        }
                    }
                    Err(_) if !self.warnings => continue,
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(0);
                        // A kernel thread has no executable: lsof names the link.
                        let name = if fd == FdName::Txt && errno == libc::ENOENT && info.uid == 0 {
                            path.as_os_str().as_bytes().to_vec()
                        } else {
                            unreadable(&path, errno, "readlink")
                        };
                        Candidate {
                            end: None,
                            fdinfo: None,
                            netns: None,
                            fd,
                            access: b' ',
                            inode: 0,
                            dev: 0,
                            kind: Kind::Path {
                                fd,
                                stat: None,
                                name,
                                is_fd: false,
                            },
                        }
                    }
                };
                self.keep(c, info, spare, found);
            }
            // The txt row's stat: a mapping of the executable is not listed again.
            for (index, m) in files::read_maps(root, id).into_iter().enumerate() {
                if exe.is_some_and(|e| e.dev == m.dev && e.ino == m.inode) {
                    continue;
                }
                let by_path = if self.avoid_stat {
                    self.avoid(&m.path);
                    None
                } else {
                    self.mapped.stat(root, id, index, &m)
                };
                let st = by_path
                    .and_then(Result::ok)
                    .filter(|s| s.dev == m.dev && s.ino == m.inode);
                let fd = if st.is_none() && m.deleted {
                    FdName::Del
                } else {
                    FdName::Mem
                };
                let note = match (st, m.deleted, self.warnings, by_path) {
                    (None, false, true, Some(other)) => mapped_stat_note(&m, other),
                    // -b: the stat lsof avoided, told.
                    (None, false, true, None) if self.avoid_stat => {
                        unreadable(Path::new(""), libc::EWOULDBLOCK, "stat")
                    }
                    _ => Vec::new(),
                };
                let mut name = m.path;
                name.extend_from_slice(&note);
                // Without a matching stat lsof knows the device and inode only.
                let stat = st.unwrap_or(FileStat {
                    mode: libc::S_IFREG,
                    dev: m.dev,
                    ino: m.inode,
                    size: -1,
                    ..FileStat::default()
                });
                let c = Candidate {
                    end: None,
                    fdinfo: None,
                    netns: None,
                    fd,
                    access: b' ',
                    inode: m.inode,
                    dev: m.dev,
                    kind: Kind::Path {
                        fd,
                        stat: Some(stat),
                        name,
                        is_fd: false,
                    },
                };
                self.keep(c, info, spare, found);
            }
        }
        let mut entries: Vec<OwnedFd> = Vec::new();
        let want_pipes = self.endpoints;
        let walked = match self.iterated {
            Some(fds) => {
                // What the walk makes of a `socket:[N]` link (see FdWanted::KnownSocket).
                entries.extend(fds.iter().map(|s| {
                    let (link_mode, st) = process::known_socket(s.inode);
                    (s.fd, Vec::new(), link_mode, st)
                }));
                Ok(())
            }
            None => process::for_each_fd_entry(
                root,
                id,
                |link| {
                    // -b with an NFS mount: every descriptor is read, none stat'ed (lsof
                    // then cannot tell a socket from any other file).
                    if self.avoid_stat {
                        return FdWanted::LinkOnly;
                    }
                    if let Some(ino) = process::socket_inode(link) {
                        // No stat yet: the inode is in the link, and only a socket missing
                        // from the tables needs one (for its DEVICE), which is told once
                        // the tables are read, after the walk.
                        return FdWanted::KnownSocket(ino);
                    }
                    // -E/+E: any descriptor may be the end of a listed pipe, message
                    // queue, eventfd or pty.
                    if all_files || want_pipes || link.starts_with(b"socket:") {
                        match (self.fdinfo_access, self.fdinfo_always) {
                            (true, true) => FdWanted::Stat,
                            // add_fdinfo reads no fdinfo for plain files.
                            (true, false) => FdWanted::StatPlainMode,
                            (false, _) => FdWanted::Full,
                        }
                    } else {
                        FdWanted::Skip
                    }
                },
                |e| entries.push((e.fd, e.link.to_vec(), e.link_mode, e.stat)),
            ),
        };
        if let Err(e) = walked {
            // lsof reports an unreadable fd directory as a NOFD row; a process that
            // vanished is skipped.
            if all_files && self.warnings && e.kind() != io::ErrorKind::NotFound {
                let path = root.path().join(format!("{id}/fd"));
                let c = Candidate {
                    end: None,
                    fdinfo: None,
                    netns: None,
                    fd: FdName::NoFd,
                    access: b' ',
                    inode: 0,
                    dev: 0,
                    kind: Kind::Path {
                        fd: FdName::NoFd,
                        stat: None,
                        name: unreadable(&path, e.raw_os_error().unwrap_or(0), "opendir"),
                        is_fd: false,
                    },
                };
                self.keep(c, info, spare, found);
            }
        }
        entries.sort_by_key(|e| e.0);
        // A foreign namespace's tables are read on its first socket too.
        let foreign_tables = std::cell::OnceCell::new();
        let foreign = || {
            foreign_tables
                .get_or_init(|| {
                    self.netns.and_then(|ns| {
                        Some((self.foreign.tables(self.root, ns.inode, self.pid)?, ns))
                    })
                })
                .as_ref()
        };
        for (fd, link, mut link_mode, mut st) in entries {
            if let Ok(s) = &st {
                if s.file_type() == libc::S_IFSOCK {
                    let ino = s.ino;
                    let known = foreign().is_some_and(|(t, _)| t.contains(ino))
                        || self.our_sockets().contains(ino);
                    if !known {
                        if self.tables == Tables::Inet {
                            // Only TCP and UDP files can be listed.
                            continue;
                        }
                        (link_mode, st) = process::restat_fd(root, id, fd, &link);
                    }
                }
            }
            let access = access_from_link_mode(link_mode);
            let fdn = FdName::Num(fd);
            if self.avoid_stat && !link.is_empty() {
                let c = self.avoided_fd(root, id, fd, link);
                self.keep(c, info, spare, found);
                continue;
            }
            let c = match st {
                Ok(st) if st.file_type() == libc::S_IFSOCK => {
                    let ino = st.ino;
                    let foreign = foreign().and_then(|(t, ns)| Some((t.kind(ino)?, ns.label())));
                    // A foreign process may still hold a socket of ours (made before
                    // a setns, or passed over a unix socket): lsof decodes that one.
                    let (kind, netns) = match foreign {
                        Some((kind, label)) => (kind, Some(label)),
                        None => {
                            let kind = self
                                .our_sockets()
                                .kind(ino)
                                .unwrap_or_else(|| Kind::Sock(sock_protocol(root, id, fd)));
                            (kind, None)
                        }
                    };
                    Candidate {
                        end: None,
                        fdinfo: None,
                        netns,
                        fd: fdn,
                        access,
                        inode: ino,
                        dev: st.dev,
                        kind,
                    }
                }
                Ok(st) => Candidate {
                    end: None,
                    fdinfo: None,
                    netns: None,
                    fd: fdn,
                    access,
                    inode: st.ino,
                    dev: st.dev,
                    kind: Kind::Path {
                        fd: fdn,
                        stat: Some(st),
                        name: link,
                        is_fd: true,
                    },
                },
                Err(_) if !self.warnings && link.is_empty() => continue,
                Err(errno) => {
                    let path = root.path().join(format!("{id}/fd/{fd}"));
                    let (op, name) = if link.is_empty() {
                        ("readlink", path.as_os_str().as_bytes().to_vec())
                    } else {
                        ("stat", link)
                    };
                    let mut full = name;
                    if self.warnings {
                        full.extend_from_slice(&unreadable(Path::new(""), errno, op));
                    }
                    Candidate {
                        end: None,
                        fdinfo: None,
                        netns: None,
                        fd: fdn,
                        access,
                        inode: 0,
                        dev: 0,
                        kind: Kind::Path {
                            fd: fdn,
                            stat: None,
                            name: full,
                            is_fd: true,
                        },
                    }
                }
            };
            self.keep(c, info, spare, found);
        }
    }
}

impl Scan<'_> {
    /// A descriptor under -b with an NFS mount, as lsof gives it: its lstat and stat
    /// declined (each followed by statEx's try of the target's parent), no type,
    /// device, size or access mode, the errors in NAME (lsof's `lstat: ...)` lacks
    /// its opening parenthesis).
    fn avoided_fd(&self, root: &ProcRoot, id: u32, fd: u32, link: Vec<u8>) -> Candidate {
        let path = root.path().join(format!("{id}/fd/{fd}"));
        // getlinksrc(): a target not absolute is cut at its first `:`.
        let mut name = link;
        if name.first() != Some(&b'/') {
            if let Some(colon) = name.iter().position(|&b| b == b':') {
                name.truncate(colon);
            }
        }
        let mut errnos = [0; 2];
        for errno in &mut errnos {
            self.avoid(path.as_os_str().as_bytes());
            *errno = self.avoid_parent(&name);
        }
        if self.warnings {
            let lstat = unreadable(Path::new(""), errnos[0], "lstat");
            // " (lstat: E)" less its " (": lsof writes "lstat: E)".
            name.push(b' ');
            name.extend_from_slice(&lstat[2..]);
            name.extend_from_slice(&unreadable(Path::new(""), errnos[1], "stat"));
        }
        let fdn = FdName::Num(fd);
        Candidate {
            end: None,
            fdinfo: None,
            netns: None,
            fd: fdn,
            access: b' ',
            inode: 0,
            dev: 0,
            kind: Kind::Path {
                fd: fdn,
                stat: None,
                name,
                is_fd: true,
            },
        }
    }
}

/// What one process (with its tasks) contributed to a pass.
pub(crate) struct PidScan {
    pub(crate) procs: Vec<ProcInfo>,
    /// The rows of `procs`, when the pass builds them in the scan.
    pub(crate) rows: Vec<ProcessRows>,
    pub(crate) spare: Vec<ProcInfo>,
    pub(crate) found: Found,
    /// Paths whose stat -b avoided (see `Scan::avoided`).
    pub(crate) avoided: Vec<Vec<u8>>,
}

/// What every process's scan of a pass shares (across the scanning threads).
pub(crate) struct PassContext<'a> {
    pub(crate) config: &'a Config,
    pub(crate) root: &'a ProcRoot,
    pub(crate) sockets: &'a OnceLock<Sockets>,
    pub(crate) tables: Tables,
    pub(crate) stat_unix_paths: bool,
    pub(crate) own_netns: Option<u64>,
    pub(crate) foreign: &'a ForeignNetns,
    /// This process, in a live /proc: scanned once the scanning threads are gone and
    /// listed without tasks, so it looks as a single-threaded lsof's own entry does.
    pub(crate) own_pid: Option<u32>,
    pub(crate) nfs_devs: &'a [u64],
    pub(crate) mqueue_devs: &'a [u64],
    pub(crate) mapped: &'a MappedStats,
    /// Set when a process's rows can be built as soon as it is scanned (no -E, no
    /// names to resolve first): its files are then never held for the whole pass.
    pub(crate) rows: Option<&'a RowContext<'a>>,
    /// Every process's socket descriptors, when the pass lists sockets only and the
    /// BPF iterator gave them: no fd directory is walked but this process's own.
    pub(crate) iterated: Option<&'a IteratedSockets>,
}

impl PassContext<'_> {
    pub(crate) fn process(&self, pid: u32) -> PidScan {
        let (config, root) = (self.config, self.root);
        let sel = &config.selection;
        let mut out = PidScan {
            procs: Vec::new(),
            rows: Vec::new(),
            spare: Vec::new(),
            found: sel.new_found(),
            avoided: Vec::new(),
        };
        let found = &mut out.found;
        let Some(stat) = files::read_stat(root, pid) else {
            return out;
        };
        // Threads are listed when nothing is selected (lsof without -K), and with -K.
        let lists_tasks =
            (sel.flags() == 0 || sel.tasks) && self.own_pid != Some(pid) && !config.ignore_tasks;
        // lsof leaves zombies out, but not the living threads of a process whose leader
        // exited: they are listed as tasks whenever tasks are.
        let zombie = stat.state == b'Z';
        if zombie && !lists_tasks {
            return out;
        }
        let Some(uid) = process::owner_uid(root, pid) else {
            return out;
        };
        let endpoints = config.endpoints.is_some();
        // A process excluded even as a task (-K) is looked at for endpoints only. (With
        // -K the test runs on a copy: it must not count as a task located.)
        let mut probe_found = if sel.tasks {
            Some(sel.new_found())
        } else {
            None
        };
        let probe = sel.process(
            pid,
            stat.pgid,
            uid,
            &stat.comm,
            sel.tasks,
            probe_found.as_mut().unwrap_or(found),
        );
        if probe.is_none() && !endpoints {
            return out;
        }
        let mut ids: Vec<ScanTarget> = Vec::new();
        if !zombie {
            ids.push((root.clone(), pid, None));
        }
        // A process of one thread has no other task: its task directory is not read.
        if lists_tasks && (zombie || stat.threads != Some(1)) {
            let task_root = ProcRoot::new(root.join(&format!("{pid}/task")));
            let mut tids = process::pids(&task_root).unwrap_or_default();
            tids.sort_unstable();
            for tid in tids.into_iter().filter(|&t| t != pid) {
                match files::read_stat(&task_root, tid) {
                    Some(t) if t.state != b'Z' => {
                        ids.push((task_root.clone(), tid, Some((tid, t.comm))));
                    }
                    _ => {}
                }
            }
        }
        // -a -K: the main entry of a process with tasks counts as a task (lsof lists
        // it along with them); a single-threaded one does not (nor a zombie's: it has
        // no entry).
        let main_as_task = sel.and && ids.len() > 1;
        for (id_root, id, task) in ids {
            let is_task = task.is_some();
            // Unknown (a capture without namespace links, a process we may not look
            // at) counts as ours, as lsof sees it.
            let netns = self
                .own_netns
                .and_then(|own| process::netns_inode(&id_root, id).filter(|&ns| ns != own))
                .map(|inode| self.foreign.describe(root, inode));
            let mut info = ProcInfo {
                netns: netns.clone(),
                pid,
                ppid: stat.ppid,
                pgid: stat.pgid,
                uid,
                comm: stat.comm.clone(),
                task,
                proc_root: id_root.clone(),
                id,
                files: Vec::new(),
            };
            let mut spare_files = Vec::new();
            let scan = Scan {
                netns: netns.as_ref(),
                foreign: self.foreign,
                pid,
                sel,
                sockets: self.sockets,
                tables: self.tables,
                stat_unix_paths: self.stat_unix_paths,
                root,
                verdict: sel.process(
                    pid,
                    stat.pgid,
                    uid,
                    &stat.comm,
                    is_task || main_as_task,
                    found,
                ),
                nfs_devs: self.nfs_devs,
                skip_inet: config.skip_inet,
                mqueue_devs: self.mqueue_devs,
                id_root: &id_root,
                id,
                endpoints,
                // -b with an NFS mount: lsof has no access mode without the lstat.
                fdinfo_access: !endpoints && !id_root.is_copy() && !config.avoid_stat,
                fdinfo_always: config.offsets
                    || config.fields.is_some()
                    || config.json
                    || config.file_flags.is_some(),
                warnings: config.warnings,
                mapped: self.mapped,
                avoid_stat: config.avoid_stat,
                avoided: RefCell::default(),
                iterated: self
                    .iterated
                    .filter(|_| !is_task && self.own_pid != Some(pid))
                    .map(|it| it.of(pid)),
            };
            scan.files(&id_root, id, &mut info, &mut spare_files, found);
            out.avoided.extend(scan.avoided.take());
            if !spare_files.is_empty() {
                out.spare.push(ProcInfo {
                    files: spare_files,
                    comm: info.comm.clone(),
                    task: info.task.clone(),
                    netns: info.netns.clone(),
                    proc_root: info.proc_root.clone(),
                    ..info
                });
            }
            if !info.files.is_empty() {
                match self.rows {
                    Some(ctx) => out.rows.push(ctx.rows(&info)),
                    None => out.procs.push(info),
                }
            }
        }
        out
    }
}

/// `protocol: TCP` from the socket's xattr, as lsof prints sockets it can't place.
pub(crate) fn sock_protocol(root: &ProcRoot, pid: u32, fd: u32) -> Vec<u8> {
    let path = root.path().join(format!("{pid}/fd/{fd}"));
    let mut buf = [0u8; 64];
    let n = match rustix::fs::getxattr(&path, c"system.sockprotoname", &mut buf[..]) {
        Ok(n) if n > 0 => n,
        _ => return Vec::new(),
    };
    let v = &buf[..n];
    let v = v.strip_suffix(b"\0").unwrap_or(v);
    let mut out = b"protocol: ".to_vec();
    out.extend_from_slice(v);
    out
}
