//! rss's sources → snapshot: the sock_diag dumps of the tables a run selects, in
//! ss's order and with ss's fallbacks (the compat request, /proc when netlink gives
//! up, TCPDIAG_FILE), -K's SOCK_DESTROY requests as the rows come, the walk over
//! every network namespace, -E's destroy events and the -s counters. Nothing here
//! prints a row: the runner (app/ss.rs) renders what these return.

pub mod events;
pub mod proc;
pub mod select;
pub mod summary;
pub mod view;

pub use self::proc::ProcEnv;

use crate::cli::ss::{self as cli, Options, Tables};
use crate::netlink::destroy;
use crate::netlink::inet::{self, SsInetSocket};
use crate::netlink::nldiag::{self, DiagNetlinkSocket};
use crate::netlink::packet::{self, DiagPacketSocket};
use crate::netlink::ss_attrs;
use crate::netlink::unix::{self, DiagUnixSocket};
use crate::netlink::DiagSocket;
use crate::netns::NetNs;
use crate::proc::ProcRoot;
use crate::render::ss::Table;
use crate::select::ss_filter::{Filter, Subject};
use std::ffi::OsStr;
use std::io;

/// The ext bits of inet_diag requests for the detail options, as ss sets them.
pub fn inet_ext(o: &Options) -> u8 {
    ss_attrs::ext::for_options(o.show_mem, o.show_tcpinfo, o.show_tos)
}

/// Whether a detail view will want each row's raw reply.
pub fn wants_details(o: &Options) -> bool {
    o.show_options
        || o.show_details > 0
        || o.show_mem
        || o.show_tcpinfo
        || o.show_tos
        || o.show_cgroup
        || o.show_inet_sockopt
        || o.show_bpf
}

/// Every row of a run, in ss's order (netlink, packet, unix, raw, udp, tcp, ...).
pub enum Row {
    Netlink(DiagNetlinkSocket),
    Packet(DiagPacketSocket),
    Unix(DiagUnixSocket),
    Inet(SsInetSocket, Table),
}

/// A netlink socket as ss's filter sees it (port id, protocol as the address).
fn netlink_subject(s: &DiagNetlinkSocket) -> Subject<'static> {
    let mut local = [0u8; 16];
    local[..4].copy_from_slice(&u32::from(s.protocol).to_ne_bytes());
    Subject {
        family: libc::AF_NETLINK,
        local,
        remote: [0; 16],
        unix_name: None,
        lport: s.portid as i32,
        rport: -1,
        iface: 0,
        mark: 0,
        cgroup_id: 0,
    }
}

/// A packet socket as ss's filter sees it (the interface is its "port").
fn packet_subject(s: &DiagPacketSocket) -> Subject<'static> {
    Subject {
        family: libc::AF_PACKET,
        local: [0; 16],
        remote: [0; 16],
        unix_name: None,
        lport: s.iface as i32,
        rport: 0,
        iface: s.iface,
        mark: 0,
        cgroup_id: 0,
    }
}

pub fn inet_subject(s: &SsInetSocket) -> Subject<'_> {
    let mut subject = Subject::inet(
        s.sock.local,
        s.sock.local_port,
        s.sock.remote,
        s.sock.remote_port,
    );
    subject.iface = s.iface;
    subject.mark = s.mark;
    subject.cgroup_id = s.cgroup_id;
    subject
}

/// The sockets of a run's tables, and what could not be read as ss would have.
#[derive(Default)]
pub struct Collected {
    pub rows: Vec<Row>,
    /// Degraded input (a malformed /proc record, a refused file): one message each.
    pub warnings: Vec<String>,
}

/// Whether a dump served the table: ss falls back to /proc when it did not.
fn served(r: &io::Result<crate::netlink::DumpStatus>) -> bool {
    matches!(r, Ok(status) if status.done_error == 0)
}

/// Reads every table the selection names, in ss's order, keeping what `filter`
/// selects (inet dumps carry its bytecode, as ss's do): from sock_diag, or from the
/// /proc files when `env` says so or netlink fails, as ss 6.1 decides per table.
pub fn dump_all(o: &Options, t: &Tables, filter: &Filter, env: &ProcEnv) -> io::Result<Collected> {
    let mut c = Collected::default();
    let rows = &mut c.rows;
    let warnings = &mut c.warnings;
    // No sock_diag socket (rtnl_open_byproto failing): every table from /proc.
    let sock = DiagSocket::open().ok();
    let sock = sock.as_ref();
    // -K needs each reply's socket id for its SOCK_DESTROY request.
    let keep = wants_details(o) || o.kill;
    let states = t.states;
    if t.has_db(cli::NETLINK_DB) && t.has_af(cli::AF_NETLINK) && states & (1 << cli::SS_CLOSE) != 0
    {
        let dumped = match sock.filter(|_| !env.forced("PROC_NET_NETLINK")) {
            Some(sock) => {
                let r = nldiag::dump(sock, keep, |s| {
                    if filter.matches(&netlink_subject(&s)) {
                        rows.push(Row::Netlink(s))
                    }
                });
                let ok = served(&r);
                report(r, 0);
                ok
            }
            None => false,
        };
        if !dumped {
            proc::netlink(env, filter, rows, warnings);
        }
    }
    if t.dbs & cli::PACKET_DBM != 0
        && t.has_af(cli::AF_PACKET)
        && states & (1 << cli::SS_CLOSE) != 0
    {
        let dumped = match sock.filter(|_| !env.forced("PROC_NET_PACKET")) {
            Some(sock) => {
                let r = packet::dump(sock, keep, |s| {
                    if filter.matches(&packet_subject(&s)) {
                        rows.push(Row::Packet(s))
                    }
                });
                let ok = served(&r);
                report(r, 0);
                ok
            }
            None => false,
        };
        if !dumped {
            proc::packet(env, filter, rows, warnings);
        }
    }
    if t.dbs & cli::UNIX_DBM != 0 && t.has_af(cli::AF_UNIX) {
        let mut show = unix::UDIAG_SHOW_NAME_PEER | unix::UDIAG_SHOW_RQLEN;
        if o.show_mem {
            show |= unix::UDIAG_SHOW_MEMINFO;
        }
        if o.show_details > 0 {
            show |= unix::UDIAG_SHOW_VFS | unix::UDIAG_SHOW_ICONS_BIT;
        }
        let dumped = match sock.filter(|_| !env.forced("PROC_NET_UNIX")) {
            Some(sock) => {
                let r = unix::dump_ss(sock, states, show, keep, |s| {
                    let skip = match s.sock_type as i32 {
                        libc::SOCK_STREAM => !t.has_db(cli::UNIX_ST_DB),
                        libc::SOCK_DGRAM => !t.has_db(cli::UNIX_DG_DB),
                        libc::SOCK_SEQPACKET => !t.has_db(cli::UNIX_SQ_DB),
                        _ => false,
                    };
                    let subject = Subject::unix(
                        s.name.as_deref(),
                        s.inode as u32,
                        s.peer.unwrap_or(0) as u32,
                    );
                    if !skip && filter.matches(&subject) {
                        rows.push(Row::Unix(s));
                    }
                });
                let ok = served(&r);
                report(r, 0);
                ok
            }
            None => false,
        };
        if !dumped {
            proc::unix(env, t, filter, rows, warnings);
        }
    }
    let inet_tables = [
        (
            cli::RAW_DB,
            libc::IPPROTO_RAW as u32,
            Table::Raw,
            "PROC_NET_RAW",
        ),
        (
            cli::UDP_DB,
            libc::IPPROTO_UDP as u32,
            Table::Udp,
            "PROC_NET_UDP",
        ),
        (
            cli::TCP_DB,
            libc::IPPROTO_TCP as u32,
            Table::Tcp,
            "PROC_NET_TCP",
        ),
        (
            cli::DCCP_DB,
            libc::IPPROTO_DCCP as u32,
            Table::Tcp,
            "PROC_NET_DCCP",
        ),
        (
            cli::SCTP_DB,
            libc::IPPROTO_SCTP as u32,
            Table::Tcp,
            "PROC_NET_SCTP",
        ),
        // vsock, tipc and xdp have no diag module on the kernels rss is measured
        // on; like ss there, rss shows none of them.
        (cli::MPTCP_DB, 262, Table::Tcp, "PROC_NET_MPTCP"),
    ];
    let code = filter.inet_bytecode();
    let inet = InetDump {
        keep,
        filter,
        bytecode: code.as_deref(),
    };
    for (db, protocol, table, var) in inet_tables {
        if !t.has_db(db) || (!t.has_af(cli::AF_INET) && !t.has_af(cli::AF_INET6)) {
            continue;
        }
        if let (Some(file), cli::TCP_DB) = (&env.tcpdiag_file, db) {
            tcp_file(file, keep, filter, rows);
            continue;
        }
        let dumped = match sock.filter(|_| !env.forced(var)) {
            Some(sock) => inet_table(o, t, sock, protocol, table, &inet, rows),
            None => false,
        };
        // dccp, sctp and mptcp have no /proc table ss reads.
        if !dumped && matches!(db, cli::TCP_DB | cli::UDP_DB | cli::RAW_DB) {
            proc::inet(env, t, table, filter, rows, warnings);
        }
    }
    Ok(c)
}

/// What every inet dump of a run shares: whether rows keep their raw reply, and the
/// filter (its bytecode for the kernel, then the expression).
struct InetDump<'a> {
    keep: bool,
    filter: &'a Filter,
    bytecode: Option<&'a [u8]>,
}

/// tcp_show_netlink_file(): with TCPDIAG_FILE set, ss prints the TCP sockets of a
/// recorded dump (`ss -D FILE`) instead of asking the kernel, every reply up to the
/// first NLMSG_DONE, whatever its family or state, with ss's messages on stderr.
fn tcp_file(file: &OsStr, keep: bool, filter: &Filter, rows: &mut Vec<Row>) {
    use ss_attrs::FileEnd;
    let reader = match std::fs::File::open(file) {
        Ok(f) => io::BufReader::new(f),
        Err(e) => {
            eprintln!("fopen($TCPDIAG_FILE): {}", cli::strerror(&e));
            return;
        }
    };
    let end = ss_attrs::tcpdiag_file(reader, |payload| {
        if let Ok(s) = inet::parse_ss_message(payload, libc::IPPROTO_TCP as u16, keep) {
            if filter.matches(&inet_subject(&s)) {
                rows.push(Row::Inet(s, Table::Tcp));
            }
        }
    });
    match end {
        FileEnd::Done => {}
        FileEnd::Eof | FileEnd::TooLong => eprint!("Unexpected EOF reading $TCPDIAG_FILE"),
        FileEnd::Error(None) => eprintln!("ERROR truncated"),
        FileEnd::Error(Some(code)) => eprintln!(
            "TCPDIAG answered: {}",
            cli::strerror(&io::Error::from_raw_os_error(code.wrapping_neg()))
        ),
        FileEnd::Read { error, in_header } => eprintln!(
            "Reading {}$TCPDIAG_FILE: {}",
            if in_header { "header from " } else { "" },
            cli::strerror(&error)
        ),
    }
}

/// inet_show_netlink(): AF_INET then AF_INET6 (only one of them with -4/-6 last),
/// the compat request when a family's dump fails; false when netlink gave up (ss's
/// inet_show_netlink() returning -1: the caller reads /proc).
fn inet_table(
    o: &Options,
    t: &Tables,
    sock: &DiagSocket,
    protocol: u32,
    table: Table,
    inet: &InetDump,
    rows: &mut Vec<Row>,
) -> bool {
    let (inet4, inet6, unspec) = (libc::AF_INET as u8, libc::AF_INET6 as u8, 0u8);
    let mut family = if o.preferred_family == cli::AF_INET6 {
        inet6
    } else {
        inet4
    };
    let ext = inet_ext(o);
    // TCP of both families: one walk of the hash tables instead of ss's two, the rows
    // filed by family so they print in the order of ss's two dumps.
    // -K follows ss's dumps family by family (its errors restart them there).
    if protocol == libc::IPPROTO_TCP as u32
        && !o.kill
        && o.preferred_family != cli::AF_INET
        && o.preferred_family != cli::AF_INET6
    {
        let mut v6_rows = Vec::new();
        let (keep, code) = (inet.keep, inet.bytecode);
        let result = inet::dump_ss_tcp_both(sock, t.states, ext, keep, code, |s| {
            if !inet.filter.matches(&inet_subject(&s)) {
                return;
            }
            if s.sock.v6 {
                if t.has_af(cli::AF_INET6) {
                    v6_rows.push(Row::Inet(s, table));
                }
            } else if t.has_af(cli::AF_INET) {
                rows.push(Row::Inet(s, table));
            }
        });
        if matches!(&result, Ok(status) if status.done_error == 0) {
            rows.append(&mut v6_rows);
            report(result, protocol);
            return true;
        }
        // Not served: ss's own way, family by family, from the start.
        rows.retain(|r| !matches!(r, Row::Inet(_, Table::Tcp)));
    }
    // -K: ss kills on a second sock_diag socket as the rows come.
    let killer = if o.kill {
        match DiagSocket::open() {
            Ok(k) => Some(k),
            Err(_) => return false,
        }
    } else {
        None
    };
    loop {
        let code = inet.bytecode;
        let keep = inet.keep;
        // A refusal other than "no such socket" / "cannot be closed" ends the dump
        // as a failure, after ss's message (show_one_inet_sock returns -1).
        let mut refused = false;
        let result = inet::dump_ss(sock, family, protocol, t.states, ext, keep, code, |s| {
            let af = if s.sock.v6 {
                cli::AF_INET6
            } else {
                cli::AF_INET
            };
            // The filter decides before the kill, as ss runs run_ssfilter() before
            // kill_inet_sock().
            if !t.has_af(af) || refused || !inet.filter.matches(&inet_subject(&s)) {
                return;
            }
            if let Some(killer) = &killer {
                let raw_protocol = if s.protocol == libc::IPPROTO_RAW as u16 {
                    0
                } else {
                    s.protocol as u8
                };
                let Some(req) = s
                    .raw
                    .as_deref()
                    .and_then(|m| destroy::inet_request(m, protocol, raw_protocol))
                else {
                    return;
                };
                if let Err(e) = killer.request_ack(destroy::SOCK_DESTROY, &req) {
                    let code = e.raw_os_error().unwrap_or(0);
                    if code != libc::EOPNOTSUPP && code != libc::ENOENT {
                        eprintln!("SOCK_DESTROY answers: {}", cli::strerror(&e));
                        refused = true;
                    }
                    return;
                }
            }
            rows.push(Row::Inet(s, table));
        });
        let failed = refused || result.as_ref().map_or(true, |s| s.done_error != 0);
        report(result, protocol);
        if failed {
            if refused
                && family != unspec
                && matches!(protocol as i32, libc::IPPROTO_TCP | libc::IPPROTO_DCCP)
            {
                // ss left the aborted dump's NLMSG_DONE unread; its compat request
                // reads that and ends at once, successfully, with no rows.
                return true;
            }
            if family != unspec {
                family = unspec;
                continue;
            }
            return false;
        }
        if family == inet4 && o.preferred_family != cli::AF_INET {
            family = inet6;
            continue;
        }
        return true;
    }
}

/// rtnl_dump_error(): ENOENT and EOPNOTSUPP are quiet (no such diag module), as is
/// every error for protocols above 255; the rest say "RTNETLINK answers: ...".
fn report(result: io::Result<crate::netlink::DumpStatus>, protocol: u32) {
    // libnetlink takes an error in NLMSG_DONE like one in NLMSG_ERROR.
    let result = result.and_then(|status| match status.done_error {
        0 => Ok(status),
        code => Err(io::Error::from_raw_os_error(-code)),
    });
    match result {
        Ok(status) if status.interrupted => {
            eprintln!("Dump was interrupted and may be inconsistent.");
        }
        Ok(_) => {}
        Err(e) => {
            let Some(code) = e.raw_os_error() else { return };
            if code == libc::ENOENT || code == libc::EOPNOTSUPP || protocol > 255 {
                return;
            }
            eprintln!("RTNETLINK answers: {}", cli::strerror(&e));
        }
    }
}

/// --all-netns: every network namespace, the own one first. `one` collects in each
/// (see [`in_namespace`]); `done` takes each namespace's result in order. A namespace
/// gone since the listing (its last process exited, or `ip netns del`) is skipped:
/// there is nothing left to show.
pub fn each_namespace<T: Send>(
    root: &ProcRoot,
    one: impl Fn(&NetNs) -> io::Result<T> + Sync,
    mut done: impl FnMut(&NetNs, io::Result<T>) -> io::Result<()>,
) -> io::Result<()> {
    for ns in crate::netns::discover(root)? {
        if let Some(result) = in_namespace(root, &ns, &one) {
            done(&ns, result)?;
        }
    }
    Ok(())
}

/// Runs `one` in namespace `ns`: on the calling thread for the own one, else on a
/// thread that entered it (sock_diag, interface names and /proc/thread-self/net
/// follow the thread), checked to be `ns` (the pid it was found through may be
/// another namespace's process by now). None when it can no longer be entered.
pub fn in_namespace<T: Send>(
    root: &ProcRoot,
    ns: &NetNs,
    one: impl FnOnce(&NetNs) -> io::Result<T> + Send,
) -> Option<io::Result<T>> {
    if ns.own {
        return Some(one(ns));
    }
    let file = ns.enter_file(root)?;
    let result = crate::threads::on_own_thread(|| {
        crate::netns::enter(&file)?;
        if root.is_live() && ns.inode.is_some() && thread_netns(root) != ns.inode {
            return Err(io::ErrorKind::NotFound.into());
        }
        one(ns)
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        result => Some(result),
    }
}

/// The namespace inode of the calling thread.
fn thread_netns(root: &ProcRoot) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let link = std::fs::read_link(root.join("thread-self/ns/net")).ok()?;
    crate::proc::process::ns_link_inode(link.as_os_str().as_bytes())
}
