//! ss's /proc fallback: the tables read from /proc/net/* files instead of sock_diag,
//! when the environment asks for it (PROC_ROOT, PROC_NET_TCP, ...: a table's file
//! variable or PROC_ROOT makes ss skip netlink for that table) or when netlink
//! fails. Which file, when, and how much of it is shown follow iproute2 6.1's
//! generic_proc_open(), generic_record_read() and unix_show(); each record is parsed
//! by the project's one reader of that file (src/proc/inet.rs, src/proc/unix.rs).
//!
//! Where ss would print fields sscanf() half-read from a malformed record, rss skips
//! the record and says so (`Collected::warnings`, and the exit status); where ss stops
//! reading a table (a line it cannot split, a piece of a line longer than its
//! 256-byte buffer) rss stops too, silently as ss does.

use super::{inet_subject, netlink_subject, packet_subject, Row};
use crate::cli::ss::{self as cli, Tables};
use crate::netlink::inet::SsInetSocket;
use crate::netlink::nldiag::DiagNetlinkSocket;
use crate::netlink::packet::DiagPacketSocket;
use crate::netlink::unix::DiagUnixSocket;
use crate::proc::inet::Proto;
use crate::render::ss::Table;
use crate::select::ss_filter::{Filter, Subject};
use std::ffi::OsString;
use std::io::{self, BufRead};
use std::path::PathBuf;

/// The environment variables ss reads its sources from, read once.
#[derive(Clone, Debug, Default)]
pub struct ProcEnv {
    root: Option<OsString>,
    files: Vec<(&'static str, OsString)>,
    /// TCPDIAG_FILE: a recorded TCP dump shown instead of the kernel's.
    pub tcpdiag_file: Option<OsString>,
}

/// The file variables of generic_proc_open() and the tables' netlink skips.
const FILE_VARS: [&str; 16] = [
    "PROC_NET_TCP",
    "PROC_NET_TCP6",
    "PROC_NET_UDP",
    "PROC_NET_UDP6",
    "PROC_NET_RAW",
    "PROC_NET_RAW6",
    "PROC_NET_UNIX",
    "PROC_NET_PACKET",
    "PROC_NET_NETLINK",
    "PROC_NET_SOCKSTAT",
    "PROC_NET_SOCKSTAT6",
    "PROC_NET_SNMP",
    "PROC_NET_DCCP",
    "PROC_NET_SCTP",
    "PROC_NET_MPTCP",
    "PROC_IP_LOCAL_PORT_RANGE",
];

impl ProcEnv {
    /// The process environment (what ss's getenv() calls see).
    pub fn from_env() -> ProcEnv {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// The variables as `get` gives them (tests pass their own).
    pub fn from_vars(get: impl Fn(&str) -> Option<OsString>) -> ProcEnv {
        let mut files = Vec::new();
        for var in FILE_VARS {
            if let Some(v) = get(var) {
                files.push((var, v));
            }
        }
        ProcEnv {
            root: get("PROC_ROOT"),
            files,
            tcpdiag_file: get("TCPDIAG_FILE"),
        }
    }

    fn var(&self, name: &str) -> Option<&OsString> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether ss skips netlink for the table whose file variable is `var`:
    /// `!getenv(var) && !getenv("PROC_ROOT") && <netlink works>` in each *_show().
    pub fn forced(&self, var: &str) -> bool {
        self.root.is_some() || self.var(var).is_some()
    }

    /// PROC_ROOT, when set: the /proc ss reads processes from (-p, netlink owners).
    pub fn root(&self) -> Option<&OsString> {
        self.root.as_ref()
    }

    /// generic_proc_open(): $VAR, else $PROC_ROOT/NAME, else /proc/NAME.
    pub fn path(&self, var: &str, name: &str) -> PathBuf {
        if let Some(file) = self.var(var) {
            return PathBuf::from(file);
        }
        let mut p = PathBuf::from(self.root.clone().unwrap_or_else(|| "/proc".into()));
        p.push(name);
        p
    }
}

/// A path for a message, its control bytes escaped.
fn shown(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    crate::escape::escape(path.as_os_str().as_bytes()).into_owned()
}

/// Opens a table file: a missing or unreadable file is ss's quiet -1 (`None`); one
/// the project's reader refuses (a symlink, not a regular file, too long) says so.
fn open(path: &std::path::Path, warnings: &mut Vec<String>) -> Option<impl BufRead> {
    match crate::proc::open_file(path) {
        Ok(f) => Some(io::BufReader::new(f)),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            warnings.push(format!("{}: {e}", shown(path)));
            None
        }
        Err(_) => None,
    }
}

/// fgets(buf, 256, fp): the next line of at most 255 bytes with its newline, or the
/// next 255 bytes of a longer one. `Ok(false)` at the end of the file.
fn fgets(r: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    const MAX: usize = 255;
    line.clear();
    while line.len() < MAX {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let room = MAX - line.len();
        let (take, done) = match buf.iter().take(room).position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len().min(room), false),
        };
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            break;
        }
    }
    Ok(!line.is_empty())
}

/// What a record worker tells generic_record_read().
enum Next {
    Go,
    /// The worker returned < 0: the rest of this file is not read (status 0).
    Stop,
}

/// generic_record_read(): the header skipped, then each whole line (a piece of a
/// longer one, or a last line without its newline, ends the read as a failure).
/// `Err(())`: ss's -1, after which tcp_show()/udp_show()/raw_show() skip the v6 file.
fn record_read(r: &mut impl BufRead, mut worker: impl FnMut(&[u8]) -> Next) -> Result<(), ()> {
    let mut line = Vec::with_capacity(256);
    match fgets(r, &mut line) {
        Ok(true) => {}
        Ok(false) => return Ok(()),
        Err(_) => return Err(()),
    }
    loop {
        match fgets(r, &mut line) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(_) => return Err(()),
        }
        let Some(body) = line.strip_suffix(b"\n") else {
            return Err(());
        };
        if let Next::Stop = worker(body) {
            return Ok(());
        }
    }
}

/// proc_inet_split_line(): the line has a slot colon and the two `addr:port` colons.
fn splits(line: &[u8]) -> bool {
    let colon = |from: usize| {
        line.get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b':'))
            .map(|i| from + i)
    };
    let Some(slot) = colon(0) else { return false };
    let Some(loc) = colon(slot + 2) else {
        return false;
    };
    colon(loc + 6).is_some()
}

/// tcp_show()/udp_show()/raw_show() reading /proc: net/{tcp,udp,raw} then the v6
/// file, each row checked against the states and the filter as ss checks them.
pub fn inet(
    env: &ProcEnv,
    t: &Tables,
    table: Table,
    filter: &Filter,
    rows: &mut Vec<Row>,
    warnings: &mut Vec<String>,
) {
    let (proto, protocol, var4, var6) = match table {
        Table::Tcp => (
            Proto::Tcp,
            libc::IPPROTO_TCP as u16,
            "PROC_NET_TCP",
            "PROC_NET_TCP6",
        ),
        Table::Udp => (
            Proto::Udp,
            libc::IPPROTO_UDP as u16,
            "PROC_NET_UDP",
            "PROC_NET_UDP6",
        ),
        // dgram_show_line(): s.type = 0 for raw sockets.
        Table::Raw => (Proto::Raw, 0, "PROC_NET_RAW", "PROC_NET_RAW6"),
        Table::Any => return,
    };
    for (v6, af, var) in [(false, cli::AF_INET, var4), (true, cli::AF_INET6, var6)] {
        if !t.has_af(af) {
            continue;
        }
        let path = env.path(var, &format!("net/{}", proto.file(v6)));
        let Some(mut file) = open(&path, warnings) else {
            // The v4 file's open failing is tcp_show()'s -1: no v6 either.
            if v6 {
                continue;
            }
            return;
        };
        let mut number = 1;
        let read = record_read(&mut file, |line| {
            number += 1;
            if !splits(line) {
                return Next::Stop;
            }
            let sock = match crate::proc::inet::parse_line(line, proto, v6) {
                Ok(sock) => sock,
                Err(why) => {
                    warnings.push(format!("{}:{number}: {why}; not shown", shown(&path)));
                    return Next::Go;
                }
            };
            if sock.state >= 32 || t.states & (1 << sock.state) == 0 {
                return Next::Go;
            }
            // tcp_show_line() reads the columns after the inode; dgram_show_line()
            // prints nothing of them (its own field count clears its `opt`).
            let proc_tail =
                (proto == Proto::Tcp).then(|| Box::new(crate::proc::inet::tcp_tail(line)));
            let s = SsInetSocket {
                sock,
                protocol,
                iface: 0,
                v6only: None,
                cookie: 0,
                expires_ms: 0,
                raw: None,
                mark: 0,
                cgroup_id: 0,
                proc_tail,
            };
            if filter.matches(&inet_subject(&s)) {
                rows.push(Row::Inet(s, table));
            }
            Next::Go
        });
        if read.is_err() && !v6 {
            return;
        }
    }
}

/// unix_show()'s states: /proc/net/unix's St (SS_UNCONNECTED ...) as TCP-style states.
const UNIX_STATE_MAP: [u8; 4] = [cli::SS_CLOSE as u8, 2, 1, 11];
/// __SO_ACCEPTCON in the Flags column: a listener.
const ACCEPTCON: u64 = 1 << 16;
/// MAX_UNIX_REMEMBER: 1 MiB of ss's struct sockstat (624 bytes on 64-bit Linux); ss
/// prints and forgets its sorted list each time it grows past this many sockets.
const UNIX_REMEMBER: usize = 1024 * 1024 / 624;

/// unix_show() reading /proc/net/unix: rows kept sorted by type and inode, printed
/// in batches of ss's list size. Records come whole from the project's reader, so
/// the rest of a name holding a newline is not taken for a record of its own (ss
/// prints such a piece as a fake row).
pub fn unix(
    env: &ProcEnv,
    t: &Tables,
    filter: &Filter,
    rows: &mut Vec<Row>,
    warnings: &mut Vec<String>,
) {
    let path = env.path("PROC_NET_UNIX", "net/unix");
    let data = match crate::proc::read_file(&path) {
        Ok(data) => data,
        Err(e) => {
            if e.kind() == io::ErrorKind::InvalidData {
                warnings.push(format!("{}: {e}", shown(&path)));
            }
            return;
        }
    };
    if data.starts_with(b"Peer") {
        // Linux 2.4's format (peer, queues); no kernel rss runs on writes it.
        warnings.push(format!(
            "{}: the pre-2.6 \"Peer\" format is not read",
            shown(&path)
        ));
        return;
    }
    let table = crate::proc::unix::parse_table(&data, &shown(&path));
    warnings.extend(table.warnings.iter().map(|w| format!("{w}; not shown")));
    let mut list: Vec<DiagUnixSocket> = Vec::new();
    for u in table.rows {
        let mut state = u.state;
        if u.flags & ACCEPTCON != 0 {
            state = 10;
        } else if (1..=4).contains(&state) {
            state = UNIX_STATE_MAP[usize::from(state) - 1];
            // The first column (the socket's hashed address) is read as the peer
            // before the old format's peer is cleared: an unconnected datagram
            // socket with an address shows as ESTAB.
            if i32::from(u.sock_type) == libc::SOCK_DGRAM
                && u32::from(state) == cli::SS_CLOSE
                && u.kernel_addr as u32 != 0
            {
                state = 1;
            }
        }
        let skip = match i32::from(u.sock_type) {
            libc::SOCK_STREAM => !t.has_db(cli::UNIX_ST_DB),
            libc::SOCK_DGRAM => !t.has_db(cli::UNIX_DG_DB),
            libc::SOCK_SEQPACKET => !t.has_db(cli::UNIX_SQ_DB),
            _ => false,
        };
        if skip || state >= 32 || t.states & (1 << state) == 0 {
            continue;
        }
        // sscanf's %s: the name up to the first white space.
        let name = u.path.as_deref().and_then(|p| {
            let end = p
                .iter()
                .position(|b| b.is_ascii_whitespace() || *b == 0x0b)
                .unwrap_or(p.len());
            (end > 0).then(|| p[..end].to_vec())
        });
        if !filter.matches(&Subject::unix(name.as_deref(), 0, 0)) {
            continue;
        }
        let s = DiagUnixSocket {
            sock_type: u.sock_type as u8,
            state,
            inode: u64::from(u.inode as u32),
            name,
            peer: None,
            incoming: Vec::new(),
            rqueue: 0,
            wqueue: 0,
            raw: None,
        };
        // Inserted after every entry of a lower (type, inode) or an equal one.
        let key = (s.sock_type, s.inode as u32);
        let at = list.partition_point(|p| (p.sock_type, p.inode as u32) <= key);
        list.insert(at, s);
        if list.len() > UNIX_REMEMBER {
            rows.extend(list.drain(..).map(Row::Unix));
        }
    }
    rows.extend(list.into_iter().map(Row::Unix));
}

/// packet_show() reading /proc/net/packet. ss's packet_show_line() tests the type
/// before reading it, so -0's packet_raw/packet_dgram split selects nothing here.
pub fn packet(env: &ProcEnv, filter: &Filter, rows: &mut Vec<Row>, warnings: &mut Vec<String>) {
    let path = env.path("PROC_NET_PACKET", "net/packet");
    let Some(mut file) = open(&path, warnings) else {
        return;
    };
    let mut number = 1;
    let _ = record_read(&mut file, |line| {
        number += 1;
        let p = match crate::proc::packet::parse_line(line) {
            Ok(p) => p,
            Err(why) => {
                warnings.push(format!("{}:{number}: {why}; not shown", shown(&path)));
                return Next::Go;
            }
        };
        let s = DiagPacketSocket {
            sock_type: p.sock_type as u8,
            protocol: p.ethertype,
            inode: u64::from(p.inode as u32),
            cookie: 0,
            iface: p.ifindex as u32,
            uid: p.uid,
            rmem_alloc: Some(p.rmem as u32),
            raw: None,
            from_proc: true,
        };
        if filter.matches(&packet_subject(&s)) {
            rows.push(Row::Packet(s));
        }
        Next::Go
    });
}

/// netlink_show() reading /proc/net/netlink: every line after the header, as
/// unconnected sockets (the file has no peer).
pub fn netlink(env: &ProcEnv, filter: &Filter, rows: &mut Vec<Row>, warnings: &mut Vec<String>) {
    let path = env.path("PROC_NET_NETLINK", "net/netlink");
    let Some(mut file) = open(&path, warnings) else {
        return;
    };
    let mut line = Vec::with_capacity(256);
    if !matches!(fgets(&mut file, &mut line), Ok(true)) {
        return;
    }
    let mut number = 1;
    while let Ok(true) = fgets(&mut file, &mut line) {
        number += 1;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let Some(n) = crate::proc::files::parse_netlink_line(body) else {
            warnings.push(format!(
                "{}:{number}: bad netlink line; not shown",
                shown(&path)
            ));
            continue;
        };
        let s = DiagNetlinkSocket {
            protocol: n.protocol as u8,
            state: 0,
            portid: n.pid as u32,
            dst_portid: 0,
            dst_group: 0,
            inode: n.inode,
            rmem_alloc: n.rmem as u32,
            wmem_alloc: n.wmem as u32,
            raw: None,
            file_ids: Some(crate::netlink::nldiag::NetlinkFileIds {
                sk: n.sk,
                cb: n.dump,
                groups: n.groups,
            }),
        };
        if filter.matches(&netlink_subject(&s)) {
            rows.push(Row::Netlink(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fgets_cuts_at_255_bytes_and_keeps_newlines() {
        let data = [b"short\n".as_slice(), &[b'x'; 300], b"\nend"].concat();
        let mut r = io::BufReader::with_capacity(7, data.as_slice());
        let mut line = Vec::new();
        let mut got = Vec::new();
        while fgets(&mut r, &mut line).unwrap() {
            got.push(line.clone());
        }
        assert_eq!(got[0], b"short\n");
        assert_eq!(got[1].len(), 255);
        assert_eq!(got[2].len(), 46);
        assert_eq!(got[3], b"end");
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn env_paths_as_generic_proc_open() {
        let env = ProcEnv::from_vars(|v| match v {
            "PROC_ROOT" => Some("/x".into()),
            "PROC_NET_UDP" => Some("/y/udp".into()),
            _ => None,
        });
        assert_eq!(
            env.path("PROC_NET_TCP", "net/tcp"),
            PathBuf::from("/x/net/tcp")
        );
        assert_eq!(env.path("PROC_NET_UDP", "net/udp"), PathBuf::from("/y/udp"));
        assert!(env.forced("PROC_NET_TCP"));
        let none = ProcEnv::from_vars(|_| None);
        assert_eq!(
            none.path("PROC_NET_TCP", "net/tcp"),
            PathBuf::from("/proc/net/tcp")
        );
        assert!(!none.forced("PROC_NET_TCP"));
    }

    #[test]
    fn split_needs_three_colons() {
        assert!(splits(b"   0: 0100007F:0CEA 00000000:0000 0A"));
        assert!(!splits(b"   0: 0100007F:0CEA 00000000"));
        assert!(!splits(b"no colon"));
        assert!(!splits(b"0:"));
    }
}
