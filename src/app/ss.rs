//! rss: ss's view. Arguments → tables to show → sock_diag dumps (and, with -p/-T, the
//! one /proc/*/fd scan, run meanwhile) → ss's column grid → stdout.

use super::output;
use crate::cli::ss::{self as cli, Options, Parsed, Tables};
use crate::netlink::destroy;
use crate::netlink::inet::{self, SsInetSocket};
use crate::netlink::nldiag::{self, DiagNetlinkSocket};
use crate::netlink::packet::{self, DiagPacketSocket};
use crate::netlink::ss_attrs;
use crate::netlink::unix::{self, DiagUnixSocket};
use crate::netlink::DiagSocket;
use crate::proc::cgroup::CgroupPaths;
use crate::proc::ProcRoot;
use crate::render::ss::{self as view, Grid, RowContext, Table};
use crate::render::ss_detail::DetailOptions;
use crate::render::ss_filters::HeldFilters;
use crate::resolve::{DuplicatePolicy, HostNames, Services, HOST_DEADLINE};
use crate::select::ss_filter::{self, Env, Filter, Scope, SsError, Subject};
use crate::snapshot::{OwnerDetail, Owners};
use crate::sockfilter;
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rss")
}

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    let args: Vec<OsString> = args.into_iter().skip(1).collect();
    // --help is clap's page (with examples); -h stays ss's usage text.
    if args.iter().any(|a| a == "--help") && !args.iter().any(|a| a == "--") {
        use clap::CommandFactory;
        let help = cli::SsArgs::command().render_long_help();
        let mut out = io::stdout().lock();
        let _ = write!(out, "{help}");
        return 0;
    }
    let (options, words) = match cli::apply(&args, enter_netns) {
        Parsed::Run(options, words) => (options, words),
        Parsed::Print(text) => {
            let mut out = io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            return 0;
        }
        Parsed::Fail(text, status) => {
            let _ = io::stderr().lock().write_all(text.as_bytes());
            return status;
        }
        Parsed::Generate(kind) => {
            use clap::CommandFactory;
            return crate::docs::generate(cli::SsArgs::command(), &crate::docs::RSS_MAN, &kind);
        }
    };
    let mut out = output::stdout();
    let mut status = match run(&options, &words, &mut out) {
        Ok(status) => status,
        Err(e) => {
            output::warn(prog(), e);
            1
        }
    };
    let unread = UNREAD_FILTERS.load(std::sync::atomic::Ordering::Relaxed);
    if unread > 0 {
        let _ = out.flush();
        output::warn(
            prog(),
            format_args!("--all-filters: the filters of {unread} socket(s) could not be read"),
        );
        status = status.max(1);
    }
    let _ = out.flush();
    status
}

/// -N NAME as ss's netns_switch does it: /run/netns/NAME, entered by the main thread
/// (every thread started later inherits it; /proc/net follows it).
fn enter_netns(name: &OsStr) -> Result<(), String> {
    let shown = name.to_string_lossy();
    let path = std::path::Path::new("/run/netns").join(name);
    let file = std::fs::File::open(&path).map_err(|e| {
        format!(
            "Cannot open network namespace \"{shown}\": {}\n",
            cli::strerror(&e)
        )
    })?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
        format!(
            "setting the network namespace \"{shown}\" failed: {}\n",
            cli::strerror(&io::Error::from(e))
        )
    })
}

/// The ext bits of inet_diag requests for the detail options, as ss sets them.
fn inet_ext(o: &Options) -> u8 {
    ss_attrs::ext::for_options(o.show_mem, o.show_tcpinfo, o.show_tos)
}

/// Whether a detail view will want each row's raw reply.
fn wants_details(o: &Options) -> bool {
    o.show_options
        || o.show_details > 0
        || o.show_mem
        || o.show_tcpinfo
        || o.show_tos
        || o.show_cgroup
        || o.show_inet_sockopt
        || o.show_bpf
}

/// Sockets whose holders' descriptors could not be read for --all-filters (all
/// namespaces): the run says so on stderr and in its status.
static UNREAD_FILTERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// --all-filters: every row's filter, read through a duplicate of a holder's
/// descriptor (one pidfd per process).
fn held_filters(o: &Options, rows: &[Row], owners: Option<&Owners>) -> Option<HeldFilters> {
    let mode = o.all_filters?;
    let mut reader = sockfilter::Reader::default();
    let mut found = std::collections::HashMap::new();
    let mut unread = 0;
    // Processes whose descriptors the scan could not read (not root): any socket
    // without a visible holder may be theirs.
    let hidden = owners.map_or(0, |ow| ow.denied + ow.exhausted);
    for row in rows {
        let inode = match row {
            // The kernel's netlink sockets (no descriptor, no filter) and ours.
            Row::Netlink(s) if s.portid == 0 || s.portid == std::process::id() => continue,
            Row::Netlink(s) => s.inode,
            Row::Packet(s) => s.inode,
            Row::Unix(s) => s.inode,
            Row::Inet(s, _) => s.sock.inode,
        };
        if inode == 0 || found.contains_key(&inode) {
            continue;
        }
        let holders: Vec<(u32, u32)> = owners
            .map(|ow| ow.holders(inode).map(|(p, fd)| (p.pid, fd)).collect())
            .unwrap_or_default();
        let got = if holders.is_empty() && hidden > 0 {
            sockfilter::Found::NotRead(format!(
                "no visible holder; the descriptors of {hidden} processes could not be read"
            ))
        } else {
            reader.read(inode, holders.iter().copied())
        };
        // A socket no process holds (the kernel's own, one in flight) is shown as
        // not read; one whose holders could not be read (or could not be seen) makes
        // the answer partial.
        if matches!(got, sockfilter::Found::NotRead(_)) && (!holders.is_empty() || hidden > 0) {
            unread += 1;
        }
        found.insert(inode, got);
    }
    UNREAD_FILTERS.fetch_add(unread, std::sync::atomic::Ordering::Relaxed);
    Some(HeldFilters {
        found,
        disasm: mode == cli::AllFilters::Disasm,
    })
}

/// Every row of a run, in ss's order (netlink, packet, unix, raw, udp, tcp, ...).
enum Row {
    Netlink(DiagNetlinkSocket),
    Packet(DiagPacketSocket),
    Unix(DiagUnixSocket),
    Inet(SsInetSocket, Table),
}

pub fn run(o: &Options, words: &[OsString], out: &mut impl Write) -> io::Result<u8> {
    if o.json && o.summary {
        output::warn(
            prog(),
            "--json lists sockets; -s (the summary) is text only",
        );
        return Ok(2);
    }
    let root = ProcRoot::default();
    // --all-filters reads each socket's filter through a holder's descriptor.
    let scan = o.show_processes || o.show_threads || o.all_filters.is_some();
    std::thread::scope(|scope| {
        // ss reads every /proc/PID/fd before it dumps; the scan runs meanwhile here.
        // No thread to spare (a fork-bombed host): the scan runs here after the dump.
        let owners = scan.then(|| {
            crate::threads::try_spawn(scope, || {
                Owners::scan(
                    &root,
                    OwnerDetail {
                        comm: true,
                        all_holders: true,
                        threads: o.show_threads,
                        ..OwnerDetail::default()
                    },
                )
            })
        });
        if o.all_netns {
            let owners = owners.map(|spawned| {
                crate::threads::finish(spawned)
                    .ok_or_else(|| io::Error::other("the process scan failed"))
            });
            let owners = match owners {
                Some(joined) => Some(joined??),
                None => None,
            };
            return all_namespaces(o, words, &root, owners.as_ref(), out);
        }
        if o.summary {
            summary(out)?;
            if o.do_default && words.is_empty() {
                return Ok(0);
            }
        }
        let Selection {
            tables,
            filter,
            options: narrowed,
        } = match select(o, words, out)? {
            Ok(selection) => selection,
            Err(status) => return Ok(status),
        };
        let o = &narrowed;
        if o.events {
            if !filter.is_empty() {
                output::warn(prog(), "-E with a filter expression is not supported yet");
                return Ok(1);
            }
            return follow(o, &tables, out);
        }
        let rows = dump_all(o, &tables, &filter)?;
        let owners = match owners {
            Some(spawned) => Some(
                crate::threads::finish(spawned)
                    .ok_or_else(|| io::Error::other("the process scan failed"))??,
            ),
            None => None,
        };
        if o.json {
            let ns = crate::netns::NetNs::own(&root);
            let sockets = json_rows(o, &rows, owners.as_ref(), &ns);
            write_json(out, vec![namespace_json(&ns)], sockets)?;
        } else {
            render(o, &tables, &rows, owners.as_ref(), out)?;
        }
        Ok(0)
    })
}

/// What the command line selects: the tables after ss's defaults and the state words,
/// the filter expression, and the options with the family its addresses chose last
/// (ss's later dumps follow it).
struct Selection {
    tables: Tables,
    filter: Filter,
    options: Options,
}

/// The filter words in ss's order: leading state/exclude words, ss's defaults, then
/// the expression (argv words, then -F lines), which may narrow the families.
/// `Err(status)`: the run ends here, its message already printed.
fn select(
    o: &Options,
    words: &[OsString],
    out: &mut impl Write,
) -> io::Result<Result<Selection, u8>> {
    let word_refs: Vec<&[u8]> = words.iter().map(|w| w.as_encoded_bytes()).collect();
    let (word_states, used) = match ss_filter::state_words(&word_refs) {
        Ok(x) => x,
        Err(e) => return fail(out, &e).map(Err),
    };
    let mut tables = match cli::finish_tables(o, word_states) {
        Ok(t) => t,
        Err(message) => {
            out.flush()?;
            eprintln!("{message}");
            return Ok(Err(0));
        }
    };
    let mut scope = Scope {
        dbs: tables.dbs,
        families: tables.families,
        preferred_family: o.preferred_family as i32,
    };
    let filter = match parse_filter(o, &word_refs[used..], &mut scope) {
        Ok(f) => f,
        Err(e) => return fail(out, &e).map(Err),
    };
    tables.families = scope.families;
    let options = Options {
        preferred_family: scope.preferred_family as u32,
        ..o.clone()
    };
    Ok(Ok(Selection {
        tables,
        filter,
        options,
    }))
}

/// ss's exit for a bad filter: its message (and usage text) on stderr.
fn fail(out: &mut impl Write, e: &SsError) -> io::Result<u8> {
    out.flush()?;
    let mut err = io::stderr().lock();
    let _ = err.write_all(&e.message);
    if e.usage {
        let _ = err.write_all(cli::USAGE.as_bytes());
    }
    Ok(e.status.clamp(0, 255) as u8)
}

/// The expression after the state words, then -F's lines (stdin for `-F -`).
fn parse_filter(o: &Options, words: &[&[u8]], scope: &mut Scope) -> Result<Filter, SsError> {
    if words.is_empty() && o.filter_file.is_none() {
        return Ok(Filter::empty());
    }
    let services = Services::load(DuplicatePolicy::FirstWins);
    let env = Env {
        services: &services,
        if_index: &ss_filter::system_if_index,
        host: &ss_filter::system_host,
        cgroup: &ss_filter::system_cgroup,
    };
    match &o.filter_file {
        None => ss_filter::parse(words, None, scope, &env),
        Some(cli::FilterFile::Stdin) => {
            let mut stdin = io::stdin().lock();
            ss_filter::parse(words, Some(&mut stdin), scope, &env)
        }
        Some(cli::FilterFile::Path(path)) => {
            // Opened again (the option loop checked it as ss's fopen does); lines are
            // read 1023 bytes at most at a time, as ss's fgets does. The path is the
            // user's own and a symlink is followed as fopen follows it (`-F <(...)`
            // names /dev/fd/N, itself a link).
            let file = std::fs::File::open(path).map_err(|e| SsError {
                message: format!("fopen filter file: {}\n", cli::strerror(&e)).into_bytes(),
                status: 255,
                usage: false,
            })?;
            let mut reader = io::BufReader::new(file);
            ss_filter::parse(words, Some(&mut reader), scope, &env)
        }
    }
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

fn inet_subject(s: &SsInetSocket) -> Subject<'_> {
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

/// The `namespace` object of docs/json.md.
fn namespace_json(ns: &crate::netns::NetNs) -> serde_json::Value {
    serde_json::json!({
        "inode": ns.inode,
        "name": ns.name,
        "pid": ns.pid,
        "own": ns.own,
    })
}

/// The rows as `ss_socket` objects, with the names the text view would print.
fn json_rows(
    o: &Options,
    rows: &[Row],
    owners: Option<&Owners>,
    ns: &crate::netns::NetNs,
) -> Vec<serde_json::Value> {
    let services = if o.numeric {
        Services::default()
    } else {
        with_rpc_names(Services::load(DuplicatePolicy::FirstWins), o)
    };
    let hosts = resolved_hosts(o, rows);
    let filters = held_filters(o, rows, owners);
    let ctx = RowContext {
        numeric: o.numeric,
        resolve: o.resolve,
        services: &services,
        hosts: &hosts,
        ephemeral: ephemeral_range(),
        owners: owners.filter(|_| o.show_processes || o.show_threads),
        show_threads: o.show_threads,
        ifname: &ifname,
        netlink_owner: &netlink_owner,
        // The document carries no detail text.
        details: DetailOptions::default(),
        cgroups: &CgroupPaths::default(),
        filters: filters.as_ref(),
    };
    let tag = view::NamespaceTag {
        inode: ns.inode,
        name: ns.name.as_deref(),
    };
    rows.iter()
        .map(|row| match row {
            Row::Netlink(s) => view::netlink_json(&ctx, s, &tag),
            Row::Packet(s) => view::packet_json(&ctx, s, &tag),
            Row::Unix(s) => view::unix_json(&ctx, s, &tag),
            Row::Inet(s, table) => view::inet_json(&ctx, s, *table, &tag),
        })
        .collect()
}

/// The `ss` document: one line.
fn write_json(
    out: &mut impl Write,
    namespaces: Vec<serde_json::Value>,
    sockets: Vec<serde_json::Value>,
) -> io::Result<()> {
    let doc = serde_json::json!({
        "schema": 1,
        "view": "ss",
        "namespaces": namespaces,
        "sockets": sockets,
    });
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

fn resolved_hosts(o: &Options, rows: &[Row]) -> HostNames {
    let mut hosts = HostNames::default();
    if o.resolve {
        let addrs = rows.iter().flat_map(|r| match r {
            Row::Inet(s, _) => [Some(s.sock.local), Some(s.sock.remote)],
            _ => [None, None],
        });
        hosts.resolve_all(addrs.flatten().map(|a| view::lookup_key(&a)), HOST_DEADLINE);
    }
    hosts
}

/// --all-netns: every network namespace, the own one first, each as a `Netns: NAME`
/// line and then what `ss -N NAME ...` prints there. The dumps of a namespace run on
/// a thread that entered it (sock_diag, interface names and /proc/thread-self/net
/// follow the thread); the one fd scan serves them all, socket inodes being global.
fn all_namespaces(
    o: &Options,
    words: &[OsString],
    root: &ProcRoot,
    owners: Option<&Owners>,
    out: &mut impl Write,
) -> io::Result<u8> {
    // The filter is read once, in the own namespace (a `dev NAME` names an
    // interface there), and applied in every namespace.
    let summary_only = o.summary && o.do_default && words.is_empty();
    let (tables, filter, narrowed) = if summary_only {
        (None, Filter::empty(), o.clone())
    } else {
        match select(o, words, out)? {
            Ok(s) => (Some(s.tables), s.filter, s.options),
            Err(status) => return Ok(status),
        }
    };
    let o = &narrowed;
    let filter = &filter;
    let mut json_namespaces = Vec::new();
    let mut json_sockets = Vec::new();
    let one = |buf: &mut Vec<u8>, json: &mut Vec<serde_json::Value>, ns: &crate::netns::NetNs| {
        if o.summary && !o.json {
            summary(buf)?;
        }
        if let Some(tables) = &tables {
            let rows = dump_all(o, tables, filter)?;
            if o.json {
                json.extend(json_rows(o, &rows, owners, ns));
            } else {
                render(o, tables, &rows, owners, buf)?;
            }
        }
        io::Result::Ok(())
    };
    let mut status = 0;
    for ns in crate::netns::discover(root)? {
        let mut buf = Vec::new();
        let mut json = Vec::new();
        let done = if ns.own {
            one(&mut buf, &mut json, &ns)
        } else {
            match ns.enter_file(root) {
                None => continue,
                Some(file) => std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            crate::netns::enter(&file)?;
                            one(&mut buf, &mut json, &ns)
                        })
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("namespace reader failed")))
                }),
            }
        };
        match done {
            // Its last process exited (or `ip netns del`) since the namespaces were
            // listed: there is nothing left to show.
            Err(e) if !ns.own && e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.flush()?;
                output::warn(prog(), format_args!("{}: {e}", ns.label()));
                status = 1;
            }
            Ok(()) if o.json => {
                json_namespaces.push(namespace_json(&ns));
                json_sockets.append(&mut json);
            }
            Ok(()) => {
                let palette = crate::color::Palette::for_stdout(o.color);
                let label = palette.paint(crate::color::Role::Namespace, &ns.label());
                writeln!(out, "Netns: {label}")?;
                out.write_all(&buf)?;
            }
        }
    }
    if o.json {
        write_json(out, json_namespaces, json_sockets)?;
    }
    Ok(status)
}

/// Dumps every table the selection names, in ss's order, keeping what `filter`
/// selects (inet dumps carry its bytecode, as ss's do).
fn dump_all(o: &Options, t: &Tables, filter: &Filter) -> io::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let sock = DiagSocket::open()?;
    // -K needs each reply's socket id for its SOCK_DESTROY request.
    let keep = wants_details(o) || o.kill;
    let states = t.states;
    if t.has_db(cli::NETLINK_DB) && t.has_af(cli::AF_NETLINK) && states & (1 << cli::SS_CLOSE) != 0
    {
        let r = nldiag::dump(&sock, keep, |s| {
            if filter.matches(&netlink_subject(&s)) {
                rows.push(Row::Netlink(s))
            }
        });
        report(r, 0);
    }
    if t.dbs & cli::PACKET_DBM != 0
        && t.has_af(cli::AF_PACKET)
        && states & (1 << cli::SS_CLOSE) != 0
    {
        let r = packet::dump(&sock, keep, |s| {
            if filter.matches(&packet_subject(&s)) {
                rows.push(Row::Packet(s))
            }
        });
        report(r, 0);
    }
    if t.dbs & cli::UNIX_DBM != 0 && t.has_af(cli::AF_UNIX) {
        let mut show = unix::UDIAG_SHOW_NAME_PEER | unix::UDIAG_SHOW_RQLEN;
        if o.show_mem {
            show |= unix::UDIAG_SHOW_MEMINFO;
        }
        if o.show_details > 0 {
            show |= unix::UDIAG_SHOW_VFS | unix::UDIAG_SHOW_ICONS_BIT;
        }
        let r = unix::dump_ss(&sock, states, show, keep, |s| {
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
        report(r, 0);
    }
    let inet_tables = [
        (cli::RAW_DB, libc::IPPROTO_RAW as u32, Table::Raw),
        (cli::UDP_DB, libc::IPPROTO_UDP as u32, Table::Udp),
        (cli::TCP_DB, libc::IPPROTO_TCP as u32, Table::Tcp),
        (cli::DCCP_DB, libc::IPPROTO_DCCP as u32, Table::Tcp),
        (cli::SCTP_DB, libc::IPPROTO_SCTP as u32, Table::Tcp),
    ];
    let code = filter.inet_bytecode();
    let inet = InetDump {
        keep,
        filter,
        bytecode: code.as_deref(),
    };
    for (db, protocol, table) in inet_tables {
        if t.has_db(db) {
            match std::env::var_os("TCPDIAG_FILE") {
                Some(file) if db == cli::TCP_DB => {
                    if t.has_af(cli::AF_INET) || t.has_af(cli::AF_INET6) {
                        tcp_file(&file, keep, filter, &mut rows);
                    }
                }
                _ => inet_table(o, t, &sock, protocol, table, &inet, &mut rows),
            }
        }
    }
    // vsock, tipc and xdp have no diag module on the kernels rss is measured on;
    // like ss there, rss shows none of them.
    if t.has_db(cli::MPTCP_DB) {
        inet_table(o, t, &sock, 262, Table::Tcp, &inet, &mut rows);
    }
    Ok(rows)
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
/// the compat request when a family's dump fails, /proc when netlink gives up.
fn inet_table(
    o: &Options,
    t: &Tables,
    sock: &DiagSocket,
    protocol: u32,
    table: Table,
    inet: &InetDump,
    rows: &mut Vec<Row>,
) {
    if !t.has_af(cli::AF_INET) && !t.has_af(cli::AF_INET6) {
        return;
    }
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
            return;
        }
        // Not served: ss's own way, family by family, from the start.
        rows.retain(|r| !matches!(r, Row::Inet(_, Table::Tcp)));
    }
    // -K: ss kills on a second sock_diag socket as the rows come.
    let killer = if o.kill {
        match DiagSocket::open() {
            Ok(k) => Some(k),
            Err(_) => return,
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
                return;
            }
            if family != unspec {
                family = unspec;
                continue;
            }
            if matches!(table, Table::Tcp | Table::Udp | Table::Raw)
                && matches!(
                    protocol as i32,
                    libc::IPPROTO_TCP | libc::IPPROTO_UDP | libc::IPPROTO_RAW
                )
            {
                proc_fallback(t, protocol, table, inet.filter, rows);
            }
            return;
        }
        if family == inet4 && o.preferred_family != cli::AF_INET {
            family = inet6;
            continue;
        }
        return;
    }
}

/// tcp_show()/udp_show()/raw_show() without netlink: /proc/net/{tcp,udp,raw}{,6},
/// the state filter applied here.
fn proc_fallback(t: &Tables, protocol: u32, table: Table, filter: &Filter, rows: &mut Vec<Row>) {
    use crate::proc::inet::{read_table, Proto};
    let proto = match table {
        Table::Tcp => Proto::Tcp,
        Table::Udp => Proto::Udp,
        Table::Raw => Proto::Raw,
        Table::Any => return,
    };
    let root = ProcRoot::default();
    for (v6, af) in [(false, cli::AF_INET), (true, cli::AF_INET6)] {
        if !t.has_af(af) {
            continue;
        }
        let Ok(read) = read_table(&root, "net", proto, v6) else {
            continue;
        };
        for sock in read.rows {
            if t.states & (1 << sock.state.min(31)) == 0 {
                continue;
            }
            let raw_protocol = if table == Table::Raw {
                0
            } else {
                protocol as u16
            };
            let s = SsInetSocket {
                sock,
                protocol: raw_protocol,
                iface: 0,
                v6only: None,
                cookie: 0,
                expires_ms: 0,
                raw: None,
                mark: 0,
                cgroup_id: 0,
            };
            if filter.matches(&inet_subject(&s)) {
                rows.push(Row::Inet(s, table));
            }
        }
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

/// The terminal width, when stdout is a terminal that knows it.
fn screen_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`, which outlives the call.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col as usize)
}

/// ip_local_port_range, or ss's 1024-4999 when unreadable.
/// ss -r (without -n) asks rpcbind once: its registered ports print as `rpc.NAME`.
fn with_rpc_names(mut services: Services, o: &Options) -> Services {
    if o.resolve {
        if let Some(why) = services.add_rpc_names() {
            eprintln!("rss: WARNING: no rpcbind registrations: {why}");
        }
    }
    services
}

fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text.split_whitespace().map(|f| f.parse::<u16>());
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) => (lo, hi),
        _ => (1024, 4999),
    }
}

fn ifname(index: u32) -> String {
    match nix::net::if_::if_indextoname(index) {
        Ok(name) => crate::escape::escape(name.as_bytes()).into_owned(),
        Err(_) => format!("if{index}"),
    }
}

/// `comm` of a netlink socket's port id when a process of that pid exists.
fn netlink_owner(pid: u32) -> Option<Vec<u8>> {
    let stat = crate::proc::ProcRoot::default()
        .read(&format!("{pid}/stat"))
        .ok()?;
    let open = stat.iter().position(|&b| b == b'(')?;
    let rest = &stat[open + 1..];
    let close = rest.iter().position(|&b| b == b')')?;
    (close > 0).then(|| rest[..close].to_vec())
}

fn render(
    o: &Options,
    t: &Tables,
    rows: &[Row],
    owners: Option<&Owners>,
    out: &mut impl Write,
) -> io::Result<()> {
    let services = if o.numeric {
        Services::default()
    } else {
        with_rpc_names(Services::load(DuplicatePolicy::FirstWins), o)
    };
    let hosts = resolved_hosts(o, rows);
    let filters = held_filters(o, rows, owners);
    let ctx = RowContext {
        numeric: o.numeric,
        resolve: o.resolve,
        services: &services,
        hosts: &hosts,
        ephemeral: ephemeral_range(),
        // --all-filters alone scans for holders without printing them.
        owners: owners.filter(|_| o.show_processes || o.show_threads),
        show_threads: o.show_threads,
        ifname: &ifname,
        netlink_owner: &netlink_owner,
        details: detail_options(o),
        cgroups: &CgroupPaths::new(&ProcRoot::default()),
        filters: filters.as_ref(),
    };
    let several = |mask: u32| mask & mask.wrapping_sub(1) != 0;
    let mut grid = Grid::new(several(t.dbs), several(t.states), screen_width());
    grid.set_palette(crate::color::Palette::for_stdout(o.color));
    if o.show_header {
        grid.header(out)?;
    }
    for row in rows {
        match row {
            Row::Netlink(s) => view::netlink_row(&mut grid, out, &ctx, s)?,
            Row::Packet(s) => view::packet_row(&mut grid, out, &ctx, s)?,
            Row::Unix(s) => view::unix_row(&mut grid, out, &ctx, s)?,
            Row::Inet(s, table) => view::inet_row(&mut grid, out, &ctx, s, *table)?,
        }
        // ss complains about a cgroup id it cannot name as it formats the row.
        ctx.cgroups.drain_messages(|m| eprintln!("{m}"));
    }
    grid.render(out)
}

/// What the detail options (-o -e -m -i --tos --cgroup --inet-sockopt -b) ask rows for.
fn detail_options(o: &Options) -> DetailOptions {
    DetailOptions {
        timers: o.show_options,
        extended: o.show_details > 0,
        memory: o.show_mem,
        info: o.show_tcpinfo,
        tos: o.show_tos,
        cgroup: o.show_cgroup,
        inet_sockopt: o.show_inet_sockopt,
        bpf: o.show_bpf,
        oneline: o.oneline,
        numeric: o.numeric,
    }
}

/// `-E`, handle_follow_request(): the sock_diag destroy groups of the tables and
/// families asked for; each socket the kernel reports is printed (and flushed) as it
/// comes, until a signal (SIGINT, SIGPIPE on a closed pipe: the default dispositions,
/// as ss has them) ends rss. Statuses: 255 when no group applies or the socket
/// cannot be bound (ss's exit(-1)).
fn follow(o: &Options, t: &Tables, out: &mut impl Write) -> io::Result<u8> {
    use destroy::groups;
    let tcp = t.has_db(cli::TCP_DB);
    let udp = t.has_db(cli::UDP_DB);
    let (v4, v6) = (t.has_af(cli::AF_INET), t.has_af(cli::AF_INET6));
    let mut mask = 0;
    for (on, bit) in [
        (v4 && tcp, groups::INET_TCP_DESTROY),
        (v4 && udp, groups::INET_UDP_DESTROY),
        (v6 && tcp, groups::INET6_TCP_DESTROY),
        (v6 && udp, groups::INET6_UDP_DESTROY),
    ] {
        if on {
            mask |= bit;
        }
    }
    if mask == 0 {
        return Ok(255);
    }
    let mut events = match destroy::EventSocket::open(mask) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Cannot bind netlink socket: {}", cli::strerror(&e));
            return Ok(255);
        }
    };
    let services = if o.numeric {
        Services::default()
    } else {
        Services::load(DuplicatePolicy::FirstWins)
    };
    let mut hosts = HostNames::default();
    let several = |mask: u32| mask & mask.wrapping_sub(1) != 0;
    let mut grid = Grid::new(several(t.dbs), several(t.states), screen_width());
    if o.show_header {
        grid.header(out)?;
    }
    let cgroups = CgroupPaths::new(&ProcRoot::default());
    let keep = wants_details(o);
    // ss names these rows with IPPROTO_MAX unless the reply carries INET_DIAG_PROTOCOL.
    const IPPROTO_MAX: u16 = 263;
    loop {
        let mut batch = Vec::new();
        events.next(|payload| batch.push(inet::parse_ss_message(payload, IPPROTO_MAX, keep)))?;
        for s in batch {
            if let Ok(s) = &s {
                let af = if s.sock.v6 {
                    cli::AF_INET6
                } else {
                    cli::AF_INET
                };
                if t.has_af(af) {
                    if o.resolve {
                        let addrs = [s.sock.local, s.sock.remote].map(|a| view::lookup_key(&a));
                        hosts.resolve_all(addrs, HOST_DEADLINE);
                    }
                    let ctx = RowContext {
                        numeric: o.numeric,
                        resolve: o.resolve,
                        services: &services,
                        hosts: &hosts,
                        ephemeral: ephemeral_range(),
                        owners: None,
                        filters: None,
                        show_threads: o.show_threads,
                        ifname: &ifname,
                        netlink_owner: &netlink_owner,
                        details: detail_options(o),
                        cgroups: &cgroups,
                    };
                    view::inet_row(&mut grid, out, &ctx, s, Table::Any)?;
                }
            }
            // generic_show_sock() renders after every message, shown or not.
            grid.render(out)?;
            out.flush()?;
        }
    }
}

/// `ss -s`: /proc/net/sockstat{,6} and Tcp CurrEstab of /proc/net/snmp.
fn summary(out: &mut impl Write) -> io::Result<()> {
    let root = ProcRoot::default();
    let mut s = Sockstat::default();
    // thread-self: the namespace of the calling thread (--all-netns enters per thread).
    match root.read("thread-self/net/sockstat") {
        Ok(data) => {
            s.read(&data);
            if let Ok(data6) = root.read("thread-self/net/sockstat6") {
                s.read(&data6);
            }
        }
        Err(e) => eprintln!("ss: get_sockstat: {}", cli::strerror(&e)),
    }
    let estab = match root.read("thread-self/net/snmp") {
        Ok(data) => snmp_value(&data, b"Tcp:", b"CurrEstab"),
        Err(e) => {
            eprintln!("ss: get_snmpstat: {}", cli::strerror(&e));
            Some(0)
        }
    };
    let estab = estab.unwrap_or_else(|| {
        eprintln!("ss: get_snmpstat: No such process");
        0
    });
    writeln!(out, "Total: {}", s.socks)?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        s.tcp_total.wrapping_add(s.tcp_tws),
        estab,
        s.tcp_total.wrapping_sub(
            s.tcp4_hashed
                .wrapping_add(s.tcp6_hashed)
                .wrapping_sub(s.tcp_tws)
        ),
        s.tcp_orphans,
        s.tcp_tws
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    let line = |out: &mut dyn Write, name: &str, a: i32, b: i32| {
        writeln!(out, "{name}\t  {:<9} {:<9} {:<9}", a.wrapping_add(b), a, b)
    };
    line(out, "RAW", s.raw4, s.raw6)?;
    line(out, "UDP", s.udp4, s.udp6)?;
    line(out, "TCP", s.tcp4_hashed, s.tcp6_hashed)?;
    line(
        out,
        "INET",
        s.raw4.wrapping_add(s.udp4).wrapping_add(s.tcp4_hashed),
        s.raw6.wrapping_add(s.udp6).wrapping_add(s.tcp6_hashed),
    )?;
    line(out, "FRAG", s.frag4, s.frag6)?;
    writeln!(out)
}

/// struct ssummary: the numbers ss takes from sockstat.
#[derive(Default)]
struct Sockstat {
    socks: i32,
    tcp_total: i32,
    tcp_orphans: i32,
    tcp_tws: i32,
    tcp4_hashed: i32,
    udp4: i32,
    raw4: i32,
    frag4: i32,
    tcp6_hashed: i32,
    udp6: i32,
    raw6: i32,
    frag6: i32,
}

impl Sockstat {
    /// get_sockstat_line(): `ID: name N name N ...`, the Nth value of a known ID.
    fn read(&mut self, data: &[u8]) {
        for line in data.split(|&b| b == b'\n') {
            let mut f = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let Some(id) = f.next() else { continue };
            let values: Vec<i32> = f
                .skip(1)
                .step_by(2)
                .map(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                })
                .collect();
            let v = |i: usize| values.get(i).copied().unwrap_or(0);
            match id {
                b"sockets:" => self.socks = v(0),
                b"UDP:" => self.udp4 = v(0),
                b"UDP6:" => self.udp6 = v(0),
                b"RAW:" => self.raw4 = v(0),
                b"RAW6:" => self.raw6 = v(0),
                b"TCP6:" => self.tcp6_hashed = v(0),
                b"FRAG:" => self.frag4 = v(0),
                b"FRAG6:" => self.frag6 = v(0),
                b"TCP:" => {
                    self.tcp4_hashed = v(0);
                    self.tcp_orphans = v(1);
                    self.tcp_tws = v(2);
                    self.tcp_total = v(3);
                }
                _ => {}
            }
        }
    }
}

/// get_snmp_int(): the value under `key` in the line pair starting with `proto`.
fn snmp_value(data: &[u8], proto: &[u8], key: &[u8]) -> Option<i32> {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for pair in lines.windows(2) {
        let (names, values) = (pair[0], pair[1]);
        if !names.starts_with(proto) || !values.starts_with(proto) {
            continue;
        }
        let pos = names.split(|&b| b == b' ').position(|n| n == key)?;
        let value = values.split(|&b| b == b' ').nth(pos)?;
        return std::str::from_utf8(value).ok()?.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_and_snmp_as_ss_reads_them() {
        let mut s = Sockstat::default();
        s.read(b"sockets: used 25\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5\nUDP: inuse 6 mem 7\nRAW: inuse 8\nFRAG: inuse 9 memory 10\n");
        s.read(b"TCP6: inuse 11\nUDP6: inuse 12\n");
        assert_eq!(
            (
                s.socks,
                s.tcp4_hashed,
                s.tcp_orphans,
                s.tcp_tws,
                s.tcp_total
            ),
            (25, 1, 2, 3, 4)
        );
        assert_eq!(
            (s.udp4, s.raw4, s.frag4, s.tcp6_hashed, s.udp6),
            (6, 8, 9, 11, 12)
        );
        let snmp = b"Ip: Forwarding X\nIp: 1 2\nTcp: RtoAlgorithm CurrEstab InSegs\nTcp: 1 42 7\n";
        assert_eq!(snmp_value(snmp, b"Tcp:", b"CurrEstab"), Some(42));
        assert_eq!(snmp_value(snmp, b"Udp:", b"CurrEstab"), None);
    }
}
