//! rlsof: arguments → one pass over /proc (socket tables, then each process's
//! cwd/rtd/txt/maps/fds) → selection → names resolved in one batch → rows →
//! table, `-F` fields or `-t` pids. `-r`/`+r` repeat the pass.

use super::output;
use crate::addr::lsof_host;
use crate::cli::lsof::{self as cli, Action, Config, Endpoints};
use crate::netlink;
use crate::netns::{self, NetNs};
use crate::proc::files::{self, FileLock, FileStat, PacketSocket};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::process::FdWanted;
use crate::proc::{process, unix, ProcRoot};
use crate::render::lsof::{
    self as view, DeviceField, FdName, FileRow, ProcessNetns, ProcessRows, SizeOff, TableOptions,
};
use crate::resolve::{DuplicatePolicy, HostNames, Services, Users, HOST_DEADLINE};
use crate::select::lsof::{
    FdRef, FileFacts, Found, InetFacts, InetProto, Lookups, NameArg, Selection, TCP_STATE_NAMES,
};
use crate::snapshot::InodeMap;
use crate::tables::{read_inet_tables, TableSource};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

const PROG: &str = "rlsof";

struct AppLookups<'a> {
    services: &'a Services,
}

impl Lookups for AppLookups<'_> {
    fn service_port(&self, name: &str, udp: bool) -> Option<u16> {
        self.services.port_of(name, udp)
    }
    fn host_addrs(&self, name: &str, family: crate::select::lsof::Family) -> Vec<IpAddr> {
        crate::resolve::host_addresses(name, family == crate::select::lsof::Family::V6)
    }
}

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    let args: Vec<OsString> = args.into_iter().skip(1).collect();
    // Hidden, as in rnetstat: man page and completions from the clap description.
    if let [flag, kind] = args.as_slice() {
        if flag == "--generate" {
            let kind = kind.to_string_lossy();
            return crate::docs::generate(cli::command(), &crate::docs::RLSOF_MAN, &kind);
        }
    }
    let services = Services::load(DuplicatePolicy::FirstWins);
    let parsed = cli::parse(
        &args,
        &AppLookups {
            services: &services,
        },
    );
    let mut config = match parsed {
        Ok(Action::Run(c)) => c,
        Ok(Action::Help) => {
            let _ = writeln!(io::stdout(), "{}", cli::command().render_help());
            return 0;
        }
        Ok(Action::Version) => {
            let _ = writeln!(io::stdout(), "rlsof {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(e) => {
            output::warn(PROG, &e.message);
            if e.usage {
                let _ = writeln!(
                    io::stderr(),
                    " {}\nUse the ``-h'' option to get more help information.",
                    cli::USAGE
                );
            }
            return 1;
        }
    };
    for name in std::mem::take(&mut config.names) {
        match files::stat_path(Path::new(&name)) {
            Ok(st) => config.selection.names.push(NameArg {
                text: name.to_string_lossy().into_owned(),
                dev: st.dev,
                ino: st.ino,
                rdev: matches!(st.file_type(), libc::S_IFCHR | libc::S_IFBLK).then_some(st.rdev),
            }),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.split(" (os error").next().unwrap_or(&msg);
                output::warn(
                    PROG,
                    format_args!("status error on {}: {msg}", name.to_string_lossy()),
                );
                return 1;
            }
        }
    }
    let mut out = output::stdout();
    let root = config
        .proc_root
        .clone()
        .map(ProcRoot::new)
        .unwrap_or_default();
    let status = match run(&config, &root, services, &mut out) {
        Ok(s) => s,
        Err(e) => {
            output::warn(PROG, e);
            1
        }
    };
    let _ = out.flush();
    status
}

/// Runs one pass, or repeats as `-r`/`+r` ask.
pub fn run(
    config: &Config,
    root: &ProcRoot,
    services: Services,
    out: &mut impl Write,
) -> io::Result<u8> {
    let mut names = Names {
        services,
        hosts: HostNames::default(),
        users: Users::default(),
    };
    let mut first = true;
    let mut best_status = 1;
    let mut passes = 0u64;
    loop {
        let (procs, status) = pass(config, root, &mut names)?;
        passes += 1;
        let listed = procs.iter().any(|p| !p.files.is_empty());
        if config.json {
            crate::render::json::write_line(
                out,
                &crate::render::json::files_document(&procs, crate::netns::own_inode(root)),
            )?;
        } else if let Some(fields) = &config.fields {
            view::write_fields(out, &procs, fields)?;
        } else if config.terse {
            view::write_terse(out, &procs)?;
        } else {
            let size_title = if config.offsets {
                "OFFSET"
            } else if config.sizes {
                "SIZE"
            } else {
                "SIZE/OFF"
            };
            view::write_table(
                out,
                &procs,
                &TableOptions {
                    command_limit: config.command_limit,
                    size_title,
                },
            )?;
        }
        let Some(repeat) = &config.repeat else {
            return Ok(status);
        };
        // An item found in any pass counts as found.
        best_status = best_status.min(status);
        if repeat.until_empty && !listed {
            return Ok(if first { 1 } else { 0 });
        }
        first = false;
        match (&config.fields, &repeat.marker) {
            (Some(f), _) => {
                out.write_all(if f.nul { b"m\0\n" } else { b"m\n" })?;
            }
            (None, Some(fmt)) => writeln!(out, "{}", strftime_now(fmt))?,
            (None, None) => out.write_all(b"=======\n")?,
        }
        out.flush()?;
        if repeat.count.is_some_and(|c| passes >= c) {
            return Ok(best_status);
        }
        std::thread::sleep(std::time::Duration::from_secs(repeat.seconds));
    }
}

/// The `-r m<fmt>` marker: strftime(3) of the local time.
fn strftime_now(fmt: &str) -> String {
    let Ok(c) = std::ffi::CString::new(fmt) else {
        return fmt.to_string();
    };
    // SAFETY: time/localtime_r/strftime write only into the buffers given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return fmt.to_string();
        }
        let mut buf = [0u8; 1024];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

struct Names {
    services: Services,
    hosts: HostNames,
    users: Users,
}

/// Every socket of one network namespace by inode.
#[derive(Default)]
struct Sockets {
    inet: InodeMap<InetSocket>,
    raw: InodeMap<InetSocket>,
    /// IPv4 ping sockets (lsof reads no icmp6 table: those stay `sock`).
    icmp: InodeMap<InetSocket>,
    unix: InodeMap<unix::UnixSocket>,
    netlink: InodeMap<u32>,
    packet: InodeMap<PacketSocket>,
}

impl Sockets {
    fn contains(&self, ino: u64) -> bool {
        self.inet.contains_key(&ino)
            || self.unix.contains_key(&ino)
            || self.raw.contains_key(&ino)
            || self.icmp.contains_key(&ino)
            || self.netlink.contains_key(&ino)
            || self.packet.contains_key(&ino)
    }

    /// Reads the tables under `net_dir` (`net`, or `PID/net` for another namespace).
    fn load(root: &ProcRoot, net_dir: &str, tables: Tables) -> Sockets {
        let mut s = Sockets::default();
        // TCP and UDP records are the same from sock_diag as from /proc/net, in the
        // columns lsof prints.
        let source =
            TableSource::for_namespace(root, net_dir == "net", netlink::inet::PROC_TCP_STATES);
        let wanted: Vec<(Proto, bool)> = [Proto::Tcp, Proto::Udp, Proto::UdpLite]
            .into_iter()
            .flat_map(|p| [(p, false), (p, true)])
            .collect();
        for (_, _, table) in read_inet_tables(root, net_dir, &wanted, source) {
            if let Ok(t) = table {
                s.inet.reserve(t.rows.len());
                for sock in t.rows {
                    s.inet.insert(sock.inode, sock);
                }
            }
        }
        if tables == Tables::Inet {
            return s;
        }
        if let Ok(t) = unix::read_table(root, net_dir) {
            for sock in t.rows {
                s.unix.insert(sock.inode, sock);
            }
        }
        for v6 in [false, true] {
            if let Ok(t) = inet::read_table(root, net_dir, Proto::Raw, v6) {
                for sock in t.rows {
                    s.raw.insert(sock.inode, sock);
                }
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/icmp")) {
            // The same columns as the raw table; `proto` only tags the records.
            for sock in inet::parse_table(&d, Proto::Raw, false, "icmp").rows {
                s.icmp.insert(sock.inode, sock);
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/netlink")) {
            for n in files::parse_netlink(&d, "netlink").rows {
                s.netlink.insert(n.inode, n.protocol);
            }
        }
        if let Ok(d) = root.read(&format!("{net_dir}/packet")) {
            for p in files::parse_packet(&d, "packet").rows {
                s.packet.insert(p.inode, p);
            }
        }
        s
    }

    /// The decoded kind of socket `inode`, when one of these tables lists it.
    fn kind(&self, inode: u64) -> Option<Kind> {
        Some(if let Some(r) = self.raw.get(&inode) {
            Kind::Raw(r.clone())
        } else if let Some(r) = self.icmp.get(&inode) {
            Kind::Icmp(r.clone())
        } else if let Some(&p) = self.netlink.get(&inode) {
            Kind::Netlink(p)
        } else if let Some(p) = self.packet.get(&inode) {
            Kind::Packet(*p)
        } else if let Some(u) = self.unix.get(&inode) {
            Kind::Unix(u.clone())
        } else {
            Kind::Inet(self.inet.get(&inode)?.clone())
        })
    }
}

/// Which socket tables a run reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tables {
    /// TCP, UDP and UDP-Lite only: a run that can list no other file (`-i` alone).
    Inet,
    All,
}

/// The network namespaces other than ours that scanned processes live in: names from
/// netns discovery, and each one's tables read once, on the first socket met there.
/// A socket's key is (namespace, inode): a foreign process's socket is looked up in its
/// namespace's tables.
#[derive(Default)]
struct ForeignNetns {
    discovered: OnceLock<Vec<NetNs>>,
    /// Locked while a namespace's tables are read, so each is read once.
    tables: Mutex<HashMap<u64, Option<Arc<Sockets>>>>,
}

impl ForeignNetns {
    fn find(&self, root: &ProcRoot, inode: u64) -> Option<&NetNs> {
        self.discovered
            .get_or_init(|| netns::discover(root).unwrap_or_default())
            .iter()
            .find(|ns| ns.inode == Some(inode))
    }

    fn describe(&self, root: &ProcRoot, inode: u64) -> ProcessNetns {
        ProcessNetns {
            inode,
            name: self.find(root, inode).and_then(|ns| ns.name.clone()),
        }
    }

    /// The tables of namespace `inode`, which process `pid` lives in (read through
    /// it when discovery, which ran earlier, did not see the namespace yet).
    fn tables(&self, root: &ProcRoot, inode: u64, pid: u32) -> Option<Arc<Sockets>> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tables.get(&inode) {
            return t.clone();
        }
        let ns = self.find(root, inode).cloned().unwrap_or(NetNs {
            inode: Some(inode),
            pid: Some(pid),
            name: None,
            own: false,
            file: None,
        });
        let read = ns
            .read(root, |dir| Sockets::load(root, dir, Tables::All))
            .ok()
            .flatten()
            .map(Arc::new);
        tables.insert(inode, read.clone());
        read
    }
}

/// A selected file before its names are resolved.
enum Kind {
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
type ScanTarget = (ProcRoot, u32, Option<(u32, Vec<u8>)>);

/// An fd entry copied out of the walk: fd, link, link mode, stat.
type OwnedFd = (u32, Vec<u8>, Option<u32>, Result<FileStat, i32>);

struct Candidate {
    /// The namespace label of a socket found in another namespace's tables.
    netns: Option<String>,
    fd: FdName,
    access: u8,
    inode: u64,
    dev: u64,
    kind: Kind,
}

struct ProcInfo {
    pid: u32,
    ppid: u32,
    pgid: u32,
    uid: u32,
    comm: Vec<u8>,
    /// A thread's id and command (lsof's TID and TASKCMD).
    task: Option<(u32, Vec<u8>)>,
    /// Its network namespace when it is not ours.
    netns: Option<ProcessNetns>,
    /// Where this process's (or task's) files are: `/proc` or `/proc/PID/task`.
    proc_root: ProcRoot,
    id: u32,
    files: Vec<Candidate>,
}

fn access_from_link_mode(mode: Option<u32>) -> u8 {
    match mode.map(|m| m & (libc::S_IRUSR | libc::S_IWUSR)) {
        Some(m) if m == libc::S_IRUSR => b'r',
        Some(m) if m == libc::S_IWUSR => b'w',
        Some(_) => b'u',
        None => b' ',
    }
}

/// lsof's getlinksrc: a path stays whole, `pipe:[123]` becomes `pipe` + `[123]`.
fn split_link(link: &[u8]) -> (&[u8], &[u8]) {
    if link.first() == Some(&b'/') {
        return (link, b"");
    }
    match link.iter().position(|&b| b == b':') {
        Some(c) => (&link[..c], &link[c + 1..]),
        None => (link, b""),
    }
}

type Endpoint = Option<(IpAddr, u16)>;

fn v4_view(s: &InetSocket) -> (Endpoint, Endpoint) {
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

fn inet_proto(p: Proto) -> InetProto {
    match p {
        Proto::Udp => InetProto::Udp,
        Proto::UdpLite => InetProto::UdpLite,
        _ => InetProto::Tcp,
    }
}

fn inet_facts(s: &InetSocket) -> InetFacts {
    let (local, remote) = v4_view(s);
    InetFacts {
        proto: inet_proto(s.proto),
        v6_table: s.v6,
        local,
        remote,
        state: s.state,
    }
}

fn name_hit(sel: &Selection, dev: u64, ino: u64) -> Option<usize> {
    sel.names.iter().position(|n| n.dev == dev && n.ino == ino)
}

/// A `(readlink: Permission denied)`-style NAME for a link lsof could not read.
fn unreadable(path: &Path, errno: i32, op: &str) -> Vec<u8> {
    let msg = io::Error::from_raw_os_error(errno).to_string();
    let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
    let mut name = path.as_os_str().as_bytes().to_vec();
    name.extend_from_slice(format!(" ({op}: {msg})").as_bytes());
    name
}

/// Looks at one process's (or task's) files and sorts them into selected ones
/// and spare endpoint candidates.
struct Scan<'a> {
    sel: &'a Selection,
    /// Read on the first socket met (or ahead, on a thread of its own): a run that
    /// meets none never reads the tables.
    sockets: &'a OnceLock<Sockets>,
    tables: Tables,
    root: &'a ProcRoot,
    /// The process's network namespace when it is not ours, and those namespaces' tables.
    netns: Option<&'a ProcessNetns>,
    foreign: &'a ForeignNetns,
    pid: u32,
    /// The process-level selection verdict; `None` = excluded (scanned for
    /// endpoints only).
    verdict: Option<u8>,
    endpoints: bool,
    /// lsof lists unreadable links (with the error in NAME) only when warnings
    /// are on; `-w` and `-t` drop them.
    warnings: bool,
}

impl Scan<'_> {
    fn our_sockets(&self) -> &Sockets {
        self.sockets
            .get_or_init(|| Sockets::load(self.root, "net", self.tables))
    }

    fn keep(
        &self,
        c: Candidate,
        info: &mut ProcInfo,
        spare: &mut Vec<Candidate>,
        found: &mut Found,
    ) {
        let endpoint_kind = matches!(c.kind, Kind::Unix(_) | Kind::Inet(_))
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
            Kind::Unix(u) => sel.names.iter().position(|n| {
                u.path
                    .as_deref()
                    .is_some_and(|p| first_token(p) == n.text.as_bytes())
            }),
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
        if sel.file(pflags, file_facts, fd, hit, found) {
            info.files.push(c);
        } else if self.endpoints && endpoint_kind {
            spare.push(c);
        }
    }

    fn files(
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
            for (fd, link) in [
                (FdName::Cwd, "cwd"),
                (FdName::Rtd, "root"),
                (FdName::Txt, "exe"),
            ] {
                let path = root.path().join(format!("{id}/{link}"));
                let c = match std::fs::read_link(&path) {
                    Ok(target) => {
                        let st = files::stat_path(&path).ok();
                        Candidate {
                            netns: None,
                            fd,
                            access: b' ',
                            inode: st.map_or(0, |s| s.ino),
                            dev: st.map_or(0, |s| s.dev),
                            kind: Kind::Path {
                                fd,
                                stat: st,
                                name: target.as_os_str().as_bytes().to_vec(),
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
            let exe = files::stat_path(&root.path().join(format!("{id}/exe"))).ok();
            for m in files::read_maps(root, id) {
                if exe.is_some_and(|e| e.dev == m.dev && e.ino == m.inode) {
                    continue;
                }
                let st = files::stat_path(Path::new(std::ffi::OsStr::from_bytes(&m.path)))
                    .ok()
                    .filter(|s| s.dev == m.dev && s.ino == m.inode);
                let fd = if st.is_none() && m.deleted {
                    FdName::Del
                } else {
                    FdName::Mem
                };
                // Without a matching stat lsof knows the device and inode only.
                let stat = st.unwrap_or(FileStat {
                    mode: libc::S_IFREG,
                    dev: m.dev,
                    ino: m.inode,
                    size: -1,
                    ..FileStat::default()
                });
                let c = Candidate {
                    netns: None,
                    fd,
                    access: b' ',
                    inode: m.inode,
                    dev: m.dev,
                    kind: Kind::Path {
                        fd,
                        stat: Some(stat),
                        name: m.path,
                        is_fd: false,
                    },
                };
                self.keep(c, info, spare, found);
            }
        }
        let mut entries: Vec<OwnedFd> = Vec::new();
        let want_pipes = self.endpoints;
        let walked = process::for_each_fd_entry(
            root,
            id,
            |link| {
                if let Some(ino) = process::socket_inode(link) {
                    // No stat yet: the inode is in the link, and only a socket missing
                    // from the tables needs one (for its DEVICE), which is told once
                    // the tables are read, after the walk.
                    return FdWanted::KnownSocket(ino);
                }
                if all_files
                    || link.starts_with(b"socket:")
                    || (want_pipes && link.starts_with(b"pipe:"))
                {
                    FdWanted::Full
                } else {
                    FdWanted::Skip
                }
            },
            |e| entries.push((e.fd, e.link.to_vec(), e.link_mode, e.stat)),
        );
        if let Err(e) = walked {
            // lsof reports an unreadable fd directory as a NOFD row; a process that
            // vanished is skipped.
            if all_files && self.warnings && e.kind() != io::ErrorKind::NotFound {
                let path = root.path().join(format!("{id}/fd"));
                let c = Candidate {
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
                        netns,
                        fd: fdn,
                        access,
                        inode: ino,
                        dev: st.dev,
                        kind,
                    }
                }
                Ok(st) => Candidate {
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

/// What one process (with its tasks) contributed to a pass.
struct PidScan {
    procs: Vec<ProcInfo>,
    spare: Vec<ProcInfo>,
    found: Found,
}

/// What every process's scan of a pass shares (across the scanning threads).
struct PassContext<'a> {
    config: &'a Config,
    root: &'a ProcRoot,
    sockets: &'a OnceLock<Sockets>,
    tables: Tables,
    own_netns: Option<u64>,
    foreign: &'a ForeignNetns,
    /// This process, in a live /proc: scanned once the scanning threads are gone and
    /// listed without tasks, so it looks as a single-threaded lsof's own entry does.
    own_pid: Option<u32>,
}

impl PassContext<'_> {
    fn process(&self, pid: u32) -> PidScan {
        let (config, root) = (self.config, self.root);
        let sel = &config.selection;
        let mut out = PidScan {
            procs: Vec::new(),
            spare: Vec::new(),
            found: sel.new_found(),
        };
        let found = &mut out.found;
        let Some(stat) = files::read_stat(root, pid) else {
            return out;
        };
        // lsof leaves zombies out.
        if stat.state == b'Z' {
            return out;
        }
        let Some(uid) = process::owner_uid(root, pid) else {
            return out;
        };
        let endpoints = config.endpoints.is_some();
        let verdict = sel.process(pid, uid, &stat.comm, found);
        if verdict.is_none() && !endpoints {
            return out;
        }
        let mut ids: Vec<ScanTarget> = vec![(root.clone(), pid, None)];
        // Threads are listed only when nothing is selected (lsof without -K).
        if sel.flags() == 0 && self.own_pid != Some(pid) {
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
        for (id_root, id, task) in ids {
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
                root,
                verdict,
                endpoints,
                warnings: config.warnings,
            };
            scan.files(&id_root, id, &mut info, &mut spare_files, found);
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
                out.procs.push(info);
            }
        }
        out
    }
}

/// One pass: returns the rows and the exit status.
fn pass(config: &Config, root: &ProcRoot, names: &mut Names) -> io::Result<(Vec<ProcessRows>, u8)> {
    let sel = &config.selection;
    let mut found = sel.new_found();
    let sockets = OnceLock::new();
    let own_netns = netns::own_inode(root);
    let foreign = ForeignNetns::default();
    let locks = root
        .read("locks")
        .map(|d| files::parse_locks(&d))
        .unwrap_or_default();
    // A run that can only list given pids looks at those alone.
    let pid_only = config.endpoints.is_none()
        && sel.flags() & crate::select::lsof::flag::PID != 0
        && (sel.and || sel.flags() == crate::select::lsof::flag::PID);
    let mut pids = if pid_only {
        sel.pids
            .iter()
            .filter(|p| !p.exclude)
            .map(|p| p.value)
            .collect()
    } else {
        process::pids(root)?
    };
    pids.sort_unstable();
    pids.dedup();
    let endpoints = config.endpoints.is_some();
    let tables = if !endpoints && sel.lists_only_inet_files() {
        Tables::Inet
    } else {
        Tables::All
    };
    let context = PassContext {
        config,
        root,
        sockets: &sockets,
        tables,
        own_netns,
        foreign: &foreign,
        own_pid: root.is_live().then(std::process::id),
    };
    let scanned = std::thread::scope(|scope| {
        // A run over every process meets sockets: their tables are read beside
        // the walk, not before it.
        if !pid_only {
            scope.spawn(|| sockets.get_or_init(|| Sockets::load(root, "net", tables)));
        }
        crate::snapshot::scan_in_parallel(&pids, 1, |pid| {
            (context.own_pid != Some(pid)).then(|| context.process(pid))
        })
    });
    let scanned = pids.iter().zip(scanned).map(|(&pid, scan)| {
        if context.own_pid == Some(pid) {
            Some(context.process(pid))
        } else {
            scan.flatten()
        }
    });
    let mut procs: Vec<ProcInfo> = Vec::new();
    // Socket and pipe files not selected, kept for -E/+E: they may be endpoints.
    let mut spare: Vec<ProcInfo> = Vec::new();
    for scan in scanned.flatten() {
        procs.extend(scan.procs);
        spare.extend(scan.spare);
        found.merge(scan.found);
    }
    let status = if sel.all_found(&found) { 0 } else { 1 };
    let links = if endpoints {
        unix_links(sockets.get_or_init(|| Sockets::load(root, "net", Tables::All)))
    } else {
        UnixEndpoints::default()
    };
    let holders = if endpoints {
        unix_holders(config.command_limit, procs.iter().chain(spare.iter()))
    } else {
        Holders::default()
    };
    if config.endpoints == Some(Endpoints::AlsoList) {
        add_endpoint_files(&mut procs, spare.iter(), &links);
    }

    if !config.numeric_hosts && !config.terse {
        let addrs = procs
            .iter()
            .flat_map(|p| &p.files)
            .filter_map(|c| match &c.kind {
                Kind::Inet(s) => Some(s),
                _ => None,
            })
            .flat_map(|s| {
                let (l, r) = v4_view(s);
                [l, r].into_iter().flatten().map(|(ip, _)| ip)
            })
            .filter(|ip| !ip.is_unspecified());
        names.hosts.resolve_all(addrs, HOST_DEADLINE);
    }
    let mut rows = Vec::with_capacity(procs.len());
    for p in &procs {
        let login = names.users.name(p.uid).map(str::to_string);
        let user = match (&login, config.numeric_users) {
            (Some(l), false) => l.clone(),
            _ => format!("{:>8}", p.uid),
        };
        let files = p
            .files
            .iter()
            .map(|c| build_row(c, p, config, names, root, &locks, &links, &holders))
            .collect();
        rows.push(ProcessRows {
            pid: p.pid,
            task: p.task.clone(),
            ppid: p.ppid,
            pgid: p.pgid,
            uid: p.uid,
            command: p.comm.clone(),
            user,
            login,
            other_netns: p.netns.clone(),
            files,
            netns: config
                .json
                .then(|| crate::proc::process::netns_inode(root, p.pid))
                .flatten(),
        });
    }
    let _ = Endpoints::Annotate;
    Ok((rows, status))
}

/// lsof's view of unix socket links: peers filled in both directions (first one
/// wins) and, for listeners, the first waiting client; only sockets of our
/// /proc/net/unix count.
#[derive(Default)]
struct UnixEndpoints {
    peer: InodeMap<u64>,
    incoming: InodeMap<u64>,
    /// A TCP/UDP socket whose other end is a socket of this host: the inode of the
    /// socket with the same addresses the other way round (same table).
    inet_peer: InodeMap<u64>,
}

impl UnixEndpoints {
    /// The inodes whose holders a unix file's NAME lists.
    fn of(&self, inode: u64) -> Vec<u64> {
        if let Some(&p) = self.peer.get(&inode) {
            return vec![p];
        }
        let mut out = Vec::new();
        let mut cur = self.incoming.get(&inode).copied();
        while let Some(c) = cur {
            if c == inode || out.contains(&c) {
                break;
            }
            out.push(c);
            cur = self.incoming.get(&c).copied();
        }
        out
    }
}

fn unix_links(sockets: &Sockets) -> UnixEndpoints {
    let mut e = UnixEndpoints::default();
    type Key = (bool, Proto, IpAddr, u16, IpAddr, u16);
    let by_addr: std::collections::HashMap<Key, u64> = sockets
        .inet
        .values()
        .filter(|s| s.remote_port != 0)
        .map(|s| {
            (
                (
                    s.v6,
                    s.proto,
                    s.local,
                    s.local_port,
                    s.remote,
                    s.remote_port,
                ),
                s.inode,
            )
        })
        .collect();
    for s in sockets.inet.values().filter(|s| s.remote_port != 0) {
        let back = (
            s.v6,
            s.proto,
            s.remote,
            s.remote_port,
            s.local,
            s.local_port,
        );
        if let Some(&peer) = by_addr.get(&back) {
            e.inet_peer.insert(s.inode, peer);
        }
    }
    let known = |i: &u64| sockets.unix.contains_key(i);
    for l in crate::netlink::unix::dump().unwrap_or_default() {
        if !known(&l.inode) {
            continue;
        }
        if let Some(p) = l.peer.filter(|p| known(p)) {
            e.peer.entry(l.inode).or_insert(p);
            e.peer.entry(p).or_insert(l.inode);
        }
        if let Some(&c) = l.incoming.iter().find(|c| known(c)) {
            e.incoming.entry(l.inode).or_insert(c);
        }
    }
    e
}

/// Who holds each unix socket and each pipe: `pid,command,fd+mode` of every
/// scanned holder. Unix holders are kept latest-scanned first (lsof prepends),
/// pipe holders in scan order.
#[derive(Default)]
struct Holders {
    unix: InodeMap<Vec<(u32, u32, String)>>,
    pipes: InodeMap<Vec<(u32, u32, String)>>,
    inet: InodeMap<Vec<(u32, u32, String)>>,
}

fn unix_holders<'a>(command_limit: usize, procs: impl Iterator<Item = &'a ProcInfo>) -> Holders {
    // (pid, fd, inode, 0 unix / 1 pipe / 2 inet, text)
    let mut all: Vec<(u32, u32, u64, u8, String)> = Vec::new();
    let limit = if command_limit == 0 {
        usize::MAX
    } else {
        command_limit
    };
    for p in procs.filter(|p| p.task.is_none()) {
        for c in &p.files {
            let FdName::Num(fd) = c.fd else { continue };
            let is_unix = matches!(c.kind, Kind::Unix(_));
            let is_pipe = matches!(&c.kind, Kind::Path { stat: Some(st), name, .. }
                if st.file_type() == libc::S_IFIFO && name.starts_with(b"pipe:"));
            let is_inet = matches!(c.kind, Kind::Inet(_));
            if !is_unix && !is_pipe && !is_inet {
                continue;
            }
            let comm: Vec<u8> = p.comm.iter().copied().take(limit).collect();
            let text = format!(
                "{},{},{}{}",
                p.pid,
                String::from_utf8_lossy(&comm),
                fd,
                c.access as char
            );
            let kind = if is_unix {
                0
            } else if is_pipe {
                1
            } else {
                2
            };
            all.push((p.pid, fd, c.inode, kind, text));
        }
    }
    all.sort_by_key(|(pid, fd, ..)| (*pid, *fd));
    all.dedup_by_key(|(pid, fd, ..)| (*pid, *fd));
    let mut h = Holders::default();
    for (pid, fd, inode, kind, text) in all.iter().rev() {
        if *kind == 0 {
            h.unix
                .entry(*inode)
                .or_default()
                .push((*pid, *fd, text.clone()));
        }
    }
    for (pid, fd, inode, kind, text) in all {
        match kind {
            1 => h.pipes.entry(inode).or_default().push((pid, fd, text)),
            2 => h.inet.entry(inode).or_default().push((pid, fd, text)),
            _ => {}
        }
    }
    h
}

/// `+E`: the endpoint files of listed unix sockets are listed too.
fn add_endpoint_files<'a>(
    procs: &mut Vec<ProcInfo>,
    spare: impl Iterator<Item = &'a ProcInfo>,
    links: &UnixEndpoints,
) {
    let mut wanted: std::collections::HashSet<u64> = procs
        .iter()
        .flat_map(|p| &p.files)
        .filter(|c| matches!(c.kind, Kind::Unix(_)))
        .flat_map(|c| links.of(c.inode))
        .collect();
    wanted.extend(
        procs
            .iter()
            .flat_map(|p| &p.files)
            .filter(|c| matches!(c.kind, Kind::Inet(_)))
            .filter_map(|c| links.inet_peer.get(&c.inode).copied()),
    );
    // A pipe's endpoints are the other holders of the same pipe inode.
    wanted.extend(
        procs
            .iter()
            .flat_map(|p| &p.files)
            .filter(|c| is_pipe(c))
            .map(|c| c.inode),
    );
    for sp in spare {
        for c in sp.files.iter().filter(|c| wanted.contains(&c.inode)) {
            let copy = Candidate {
                netns: c.netns.clone(),
                fd: c.fd,
                access: c.access,
                inode: c.inode,
                dev: c.dev,
                kind: match &c.kind {
                    Kind::Unix(u) => Kind::Unix(u.clone()),
                    Kind::Inet(i) => Kind::Inet(i.clone()),
                    Kind::Path {
                        fd,
                        stat,
                        name,
                        is_fd,
                    } => Kind::Path {
                        fd: *fd,
                        stat: *stat,
                        name: name.clone(),
                        is_fd: *is_fd,
                    },
                    _ => continue,
                },
            };
            let same = |p: &&mut ProcInfo| p.pid == sp.pid && p.task == sp.task;
            match procs.iter_mut().find(same) {
                Some(p) => {
                    if !p.files.iter().any(|f| f.fd == copy.fd) {
                        p.files.push(copy);
                    }
                }
                None => procs.push(ProcInfo {
                    pid: sp.pid,
                    ppid: sp.ppid,
                    pgid: sp.pgid,
                    uid: sp.uid,
                    comm: sp.comm.clone(),
                    task: sp.task.clone(),
                    netns: sp.netns.clone(),
                    proc_root: sp.proc_root.clone(),
                    id: sp.id,
                    files: vec![copy],
                }),
            }
        }
    }
    procs.sort_by_key(|p| (p.pid, p.task.as_ref().map(|t| t.0)));
    for p in procs.iter_mut() {
        p.files.sort_by_key(|c| match c.fd {
            FdName::Num(n) => n as u64 + 1,
            _ => 0,
        });
    }
}

fn is_pipe(c: &Candidate) -> bool {
    matches!(&c.kind, Kind::Path { stat: Some(st), name, .. }
        if st.file_type() == libc::S_IFIFO && name.starts_with(b"pipe:"))
}

fn first_token(p: &[u8]) -> &[u8] {
    let end = p
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(p.len());
    &p[..end]
}

/// `protocol: TCP` from the socket's xattr, as lsof prints sockets it can't place.
fn sock_protocol(root: &ProcRoot, pid: u32, fd: u32) -> Vec<u8> {
    let path = root.path().join(format!("{pid}/fd/{fd}"));
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    let mut buf = [0u8; 64];
    // SAFETY: c is NUL-terminated; buf is writable for its length.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"system.sockprotoname".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n <= 0 {
        return Vec::new();
    }
    let v = &buf[..n as usize];
    let v = v.strip_suffix(b"\0").unwrap_or(v);
    let mut out = b"protocol: ".to_vec();
    out.extend_from_slice(v);
    out
}

fn dev_text(dev: u64) -> String {
    format!("{},{}", files::dev_major(dev), files::dev_minor(dev))
}

fn type_name(st: &FileStat, link_head: &[u8]) -> Cow<'static, str> {
    match st.file_type() {
        libc::S_IFBLK => "BLK".into(),
        libc::S_IFCHR => "CHR".into(),
        libc::S_IFDIR => "DIR".into(),
        libc::S_IFIFO => "FIFO".into(),
        libc::S_IFREG => "REG".into(),
        libc::S_IFLNK => "LINK".into(),
        0 if link_head == b"anon_inode" => "a_inode".into(),
        t => format!("{:04o}", (t >> 12) & 0xf).into(),
    }
}

/// What `-T` adds to NAME: ` (LISTEN)`, ` (LISTEN QR=0 QS=0)`, a lone space when
/// asked-for parts are missing (UDP has no state), nothing with a bare `-T`.
fn tcp_tpi_suffix(config: &Config, state: Option<&str>, queues: Option<(u64, u64)>) -> String {
    let t = config.tcp_tpi;
    if !t.state && !t.queues {
        return String::new();
    }
    // One allocation: this runs for every socket row.
    let mut out = String::with_capacity(32);
    out.push_str(" (");
    if let (true, Some(st)) = (t.state, state) {
        out.push_str(st);
    }
    if let (true, Some((rq, sq))) = (t.queues, queues) {
        if out.len() > 2 {
            out.push(' ');
        }
        let _ = write!(out, "QR={rq} QS={sq}");
    }
    if out.len() == 2 {
        return " ".into();
    }
    out.push(')');
    out
}

fn unix_type(t: u16) -> &'static str {
    match t {
        1 => "STREAM",
        2 => "DGRAM",
        3 => "RAW",
        4 => "RDM",
        5 => "SEQPACKET",
        _ => "unknown",
    }
}

fn unix_state(u: &unix::UnixSocket) -> &'static str {
    if u.flags == unix::SO_ACCEPTCON {
        return "LISTEN";
    }
    match u.state {
        1 => "UNCONNECTED",
        2 => "CONNECTING",
        3 => "CONNECTED",
        4 => "DISCONNECTING",
        _ => "UNKNOWN",
    }
}

fn tcp_state(n: u8) -> Cow<'static, str> {
    TCP_STATE_NAMES
        .get(n as usize)
        .map(|&s| Cow::Borrowed(s))
        .unwrap_or_else(|| format!("UNKNOWN_TCP_STATE_{n}").into())
}

fn netlink_name(p: u32) -> String {
    let name = match p {
        0 => "ROUTE",
        1 => "UNUSED",
        2 => "USERSOCK",
        3 => "FIREWALL",
        4 => "INET_DIAG",
        5 => "NFLOG",
        6 => "XFRM",
        7 => "SELINUX",
        8 => "ISCSI",
        9 => "AUDIT",
        10 => "FIB_LOOKUP",
        11 => "CONNECTOR",
        12 => "NETFILTER",
        13 => "IP6_FW",
        14 => "DNRTMSG",
        15 => "KOBJECT_UEVENT",
        16 => "GENERIC",
        18 => "SCSITRANSPORT",
        19 => "ECRYPTFS",
        20 => "RDMA",
        21 => "CRYPTO",
        _ => return format!("unknown protocol: {p}"),
    };
    name.into()
}

fn ethertype_name(p: u32) -> String {
    let name = match p {
        0x0003 => "ALL",
        0x0800 => "IP",
        0x0806 => "ARP",
        0x86DD => "IPV6",
        0x8035 => "RARP",
        0x8100 => "8021Q",
        0x0004 => "802.2",
        0x0001 => "802.3",
        _ => return p.to_string(),
    };
    name.into()
}

/// `LOCAL:PORT->REMOTE:PORT` in the tables' own hex, as lsof names raw and icmp sockets.
fn hex_endpoints(s: &InetSocket) -> String {
    format!(
        "{}->{}",
        raw_hex(&s.local, s.local_port),
        raw_hex(&s.remote, s.remote_port)
    )
}

fn raw_hex(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{:08X}:{port:04X}", u32::from_le_bytes(a.octets())),
        IpAddr::V6(a) => {
            let o = a.octets();
            let mut s = String::new();
            for w in o.chunks(4) {
                s.push_str(&format!(
                    "{:08X}",
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]])
                ));
            }
            format!("{s}:{port:04X}")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_row(
    c: &Candidate,
    p: &ProcInfo,
    config: &Config,
    names: &Names,
    root: &ProcRoot,
    locks: &[FileLock],
    links: &UnixEndpoints,
    holders: &Holders,
) -> FileRow {
    let _ = root;
    // A socket's file offset is always 0 (sockets cannot seek and reads do not move
    // it), so its fdinfo matters only for the open flags, which only -F and --json
    // print: skipping it saves three syscalls per row at 50,000 sockets.
    let socket_needs_no_fdinfo =
        matches!(c.kind, Kind::Unix(_) | Kind::Inet(_)) && config.fields.is_none() && !config.json;
    let fdinfo = match c.fd {
        FdName::Num(_) if socket_needs_no_fdinfo => Some(files::FdInfo {
            pos: Some(0),
            ..files::FdInfo::default()
        }),
        FdName::Num(fd) => files::read_fdinfo(&p.proc_root, p.id, fd),
        _ => None,
    };
    // `-F` alone prints the DEVICE field and the TCP/TPI entries kept apart.
    let for_fields = config.fields.is_some();
    let mut row = FileRow {
        fd: c.fd,
        access: c.access,
        lock: b' ',
        file_type: Cow::Borrowed(""),
        device: String::new(),
        device_field: DeviceField::None,
        size_off: SizeOff::None,
        node: Cow::Borrowed(""),
        inode: None,
        protocol: None,
        nlink: None,
        flags: fdinfo.and_then(|i| i.flags),
        name: Vec::new(),
        name_suffix: String::new(),
        tcp_info: Vec::new(),
        socket: None,
        netns: c.netns.clone(),
    };
    let socket_offset = || {
        if config.sizes {
            SizeOff::None
        } else {
            fdinfo
                .and_then(|i| i.pos)
                .map_or(SizeOff::None, SizeOff::Offset)
        }
    };
    match &c.kind {
        Kind::Path {
            stat, name, is_fd, ..
        } => {
            let (head, rest) = split_link(name);
            let Some(st) = stat else {
                // The NOFD row has no type at all.
                if c.fd != FdName::NoFd {
                    row.file_type = "unknown".into();
                }
                row.name = name.clone();
                return row;
            };
            row.file_type = type_name(st, head);
            let ft = st.file_type();
            let is_dev = ft == libc::S_IFCHR || ft == libc::S_IFBLK;
            row.device = dev_text(if is_dev { st.rdev } else { st.dev });
            row.device_field = DeviceField::Number(st.dev);
            row.inode = Some(st.ino);
            row.node = st.ino.to_string().into();
            if *is_fd || st.size >= 0 {
                row.nlink = (st.nlink > 0 || *is_fd || c.fd == FdName::Mem).then_some(st.nlink);
            }
            if !is_fd && c.fd != FdName::Mem && c.fd != FdName::Del {
                row.nlink = Some(st.nlink);
            }
            let pos = fdinfo.and_then(|i| i.pos);
            row.size_off = if is_dev || ft == libc::S_IFIFO {
                match pos {
                    Some(o) if !config.sizes => SizeOff::Offset(o),
                    _ => SizeOff::None,
                }
            } else if config.offsets {
                pos.map_or(SizeOff::None, SizeOff::Offset)
            } else if st.size >= 0 {
                SizeOff::Size(st.size as u64)
            } else {
                SizeOff::None
            };
            if c.fd == FdName::Del {
                row.size_off = SizeOff::None;
                row.nlink = None;
            }
            row.lock = locks
                .iter()
                .find(|l| l.pid == p.pid && l.dev == st.dev && l.inode == st.ino)
                .map_or(b' ', |l| l.kind);
            if config.endpoints.is_some() && is_pipe(c) {
                let mut n = head.to_vec();
                let me = match c.fd {
                    FdName::Num(fd) => Some(fd),
                    _ => None,
                };
                for (pid, fd, w) in holders.pipes.get(&c.inode).into_iter().flatten() {
                    if *pid == p.pid && Some(*fd) == me {
                        continue;
                    }
                    n.push(b' ');
                    n.extend_from_slice(w.as_bytes());
                }
                row.name = n;
                return row;
            }
            row.name = if row.file_type == "a_inode" && !rest.is_empty() {
                match (rest, fdinfo.and_then(|i| i.eventfd_id)) {
                    (b"[eventfd]", Some(id)) => format!("[eventfd:{id}]").into_bytes(),
                    _ => rest.to_vec(),
                }
            } else {
                head.to_vec()
            };
        }
        Kind::Inet(s) => {
            let proto = inet_proto(s.proto);
            row.file_type = if s.v6 { "IPv6" } else { "IPv4" }.into();
            row.device = c.inode.to_string();
            if for_fields {
                row.device_field = DeviceField::Chars(c.inode.to_string());
            }
            row.size_off = socket_offset();
            row.node = proto.name().into();
            row.protocol = Some(proto.name());
            let (local, remote) = v4_view(s);
            let endpoint = |name: &mut String, (ip, port): (IpAddr, u16)| {
                name.push_str(&lsof_host(&ip, config.numeric_hosts, &names.hosts));
                name.push(':');
                let service = match proto {
                    _ if port == 0 || config.numeric_ports => None,
                    InetProto::Tcp => names.services.tcp(port),
                    _ => names.services.udp(port),
                };
                match service {
                    _ if port == 0 => name.push('*'),
                    Some(svc) => name.push_str(svc),
                    None => {
                        let _ = write!(name, "{port}");
                    }
                }
            };
            let mut name = String::with_capacity(48);
            if let Some(l) = local {
                endpoint(&mut name, l);
            }
            if let Some(r) = remote {
                name.push_str("->");
                endpoint(&mut name, r);
            }
            if config.endpoints.is_some() {
                if let Some(peer) = links.inet_peer.get(&c.inode) {
                    for (_, _, w) in holders.inet.get(peer).into_iter().flatten() {
                        name.push(' ');
                        name.push_str(w);
                    }
                }
            }
            row.name = name.into_bytes();
            let state = (proto == InetProto::Tcp).then(|| tcp_state(s.state));
            row.name_suffix =
                tcp_tpi_suffix(config, state.as_deref(), Some((s.rx_queue, s.tx_queue)));
            if for_fields {
                if let Some(st) = &state {
                    row.tcp_info.push(format!("ST={st}"));
                }
                row.tcp_info.push(format!("QR={}", s.rx_queue));
                row.tcp_info.push(format!("QS={}", s.tx_queue));
            }
            if config.json {
                let detail = |(ip, port): (IpAddr, u16)| {
                    let service = match proto {
                        _ if port == 0 || config.numeric_ports => None,
                        InetProto::Tcp => names.services.tcp(port),
                        _ => names.services.udp(port),
                    };
                    crate::render::lsof::EndpointDetail {
                        address: ip,
                        port,
                        host: names
                            .hosts
                            .get(&ip)
                            .filter(|_| !config.numeric_hosts)
                            .map(str::to_string),
                        service: service.map(str::to_string),
                    }
                };
                row.socket = Some(Box::new(crate::render::lsof::SocketDetail {
                    local: local.map(detail),
                    remote: remote.map(detail),
                    state: (proto == InetProto::Tcp).then(|| tcp_state(s.state).into_owned()),
                    recv_queue: s.rx_queue,
                    send_queue: s.tx_queue,
                    inode: c.inode,
                }));
            }
        }
        Kind::Unix(u) => {
            row.file_type = "unix".into();
            let dev = format!("0x{:016x}", u.kernel_addr);
            if for_fields {
                row.device_field = DeviceField::Chars(dev.clone());
            }
            row.device = dev;
            row.size_off = socket_offset();
            row.node = c.inode.to_string().into();
            row.inode = Some(c.inode);
            let mut name = Vec::new();
            if let Some(path) = &u.path {
                name.extend_from_slice(first_token(path));
                name.push(b' ');
            }
            name.extend_from_slice(b"type=");
            name.extend_from_slice(unix_type(u.sock_type).as_bytes());
            if config.endpoints.is_some() {
                for peer in links.of(c.inode) {
                    name.extend_from_slice(format!(" ->INO={peer}").as_bytes());
                    for (_, _, w) in holders.unix.get(&peer).into_iter().flatten() {
                        name.push(b' ');
                        name.extend_from_slice(w.as_bytes());
                    }
                }
            }
            row.name = name;
            let st = unix_state(u);
            row.name_suffix = tcp_tpi_suffix(config, Some(st), None);
            if for_fields {
                row.tcp_info.push(format!("ST={st}"));
            }
        }
        Kind::Raw(s) => {
            row.file_type = if s.v6 { "raw6" } else { "raw" }.into();
            row.size_off = socket_offset();
            row.node = c.inode.to_string().into();
            row.inode = Some(c.inode);
            row.name = format!("{} st={:02X}", hex_endpoints(s), s.state).into_bytes();
        }
        Kind::Icmp(s) => {
            row.file_type = "icmp".into();
            row.size_off = socket_offset();
            row.node = c.inode.to_string().into();
            row.inode = Some(c.inode);
            row.name = hex_endpoints(s).into_bytes();
        }
        Kind::Netlink(proto) => {
            row.file_type = "netlink".into();
            row.size_off = socket_offset();
            row.node = c.inode.to_string().into();
            row.inode = Some(c.inode);
            row.name = netlink_name(*proto).into_bytes();
        }
        Kind::Packet(pk) => {
            row.file_type = "pack".into();
            row.device = c.inode.to_string();
            row.device_field = DeviceField::Chars(c.inode.to_string());
            row.size_off = socket_offset();
            row.node = ethertype_name(pk.protocol).into();
            let ty = match pk.sock_type {
                1 => "SOCK_STREAM".to_string(),
                2 => "SOCK_DGRAM".to_string(),
                3 => "SOCK_RAW".to_string(),
                5 => "SOCK_SEQPACKET".to_string(),
                t => t.to_string(),
            };
            row.name = format!("type={ty}").into_bytes();
        }
        Kind::Sock(proto) => {
            row.file_type = "sock".into();
            row.device = dev_text(c.dev);
            row.device_field = DeviceField::Number(c.dev);
            row.size_off = socket_offset();
            row.node = c.inode.to_string().into();
            row.inode = Some(c.inode);
            row.name = proto.clone();
        }
    }
    row
}
