//! rss: ss's view. Arguments → config (cli::ss) → the tables' sockets (crate::ss,
//! and with -p/-T the one /proc/*/fd scan, run meanwhile) → ss's filter → ss's column
//! grid → stdout.

use super::output;
use crate::cli::ss::{self as cli, Options, Parsed, Tables};
use crate::proc::cgroup::CgroupPaths;
use crate::proc::ProcRoot;
use crate::render::ss::{self as view, Grid, RowContext, Table};
use crate::render::ss_detail::DetailOptions;
use crate::render::ss_filters::HeldFilters;
use crate::resolve::{DuplicatePolicy, HostNames, Services, HOST_DEADLINE};
use crate::select::ss_filter::{self, Env, Filter, Scope, SsError};
use crate::snapshot::{OwnerDetail, Owners};
use crate::sockfilter;
use crate::ss::{self as collect, Row};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rss")
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

pub fn run(o: &Options, words: &[OsString], out: &mut impl Write) -> io::Result<u8> {
    let root = ProcRoot::default();
    let env = collect::ProcEnv::from_env();
    // ss's user_ent_hash_build() walks $PROC_ROOT when it is set.
    let owners_root = ss_proc_root();
    // --all-filters reads each socket's filter through a holder's descriptor.
    let scan = o.show_processes || o.show_threads || o.all_filters.is_some();
    std::thread::scope(|scope| {
        // ss reads every /proc/PID/fd before it dumps; the scan runs meanwhile here.
        // No thread to spare (a fork-bombed host): the scan runs here after the dump.
        let owners = scan.then(|| {
            crate::threads::try_spawn(scope, || {
                Owners::scan(
                    &owners_root,
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
            return all_namespaces(o, words, &root, &env, owners.as_ref(), out);
        }
        let own_ns = || crate::netns::NetNs::own(&root);
        let mut summaries = Vec::new();
        if o.summary {
            if o.json {
                summaries.push(summary_json(&env, &own_ns()));
            } else {
                summary(&env, out)?;
            }
            if o.do_default && words.is_empty() {
                if o.json {
                    write_json(
                        out,
                        vec![namespace_json(&own_ns())],
                        Vec::new(),
                        Some(summaries),
                    )?;
                }
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
            return follow(o, &tables, &filter, out);
        }
        let collected = collect::dump_all(o, &tables, &filter, &env)?;
        let rows = collected.rows;
        let owners = match owners {
            Some(spawned) => Some(
                crate::threads::finish(spawned)
                    .ok_or_else(|| io::Error::other("the process scan failed"))??,
            ),
            None => None,
        };
        if o.json {
            let ns = own_ns();
            let sockets = json_rows(o, &rows, owners.as_ref(), &ns);
            let summaries = o.summary.then_some(summaries);
            write_json(out, vec![namespace_json(&ns)], sockets, summaries)?;
        } else {
            render(o, &tables, &rows, owners.as_ref(), out)?;
        }
        warn_degraded(out, &collected.warnings)
    })
}

/// `-s`: ss's messages about unreadable counters on stderr, the summary on `out`.
fn summary(env: &collect::ProcEnv, out: &mut impl Write) -> io::Result<()> {
    crate::render::ss_summary::write(out, &read_summary(env))
}

/// `-s --json`: the same counters as an `ss_summary` object of namespace `ns`.
fn summary_json(env: &collect::ProcEnv, ns: &crate::netns::NetNs) -> serde_json::Value {
    crate::render::ss_summary::json(&read_summary(env), ns.inode)
}

/// The calling thread's namespace's counters; ss's messages about unreadable ones
/// go to stderr.
fn read_summary(env: &collect::ProcEnv) -> collect::summary::Summary {
    let s = collect::summary::read(&ProcRoot::default(), env);
    for m in &s.messages {
        eprintln!("{m}");
    }
    s
}

/// The /proc ss reads processes from: $PROC_ROOT, else /proc.
fn ss_proc_root() -> ProcRoot {
    std::env::var_os("PROC_ROOT")
        .map(ProcRoot::new)
        .unwrap_or_default()
}

/// What could not be read as ss would have (a malformed /proc record, a refused
/// file), after the rows: one line each on stderr, and status 1.
fn warn_degraded(out: &mut impl Write, warnings: &[String]) -> io::Result<u8> {
    if warnings.is_empty() {
        return Ok(0);
    }
    out.flush()?;
    for w in warnings {
        output::warn(prog(), w);
    }
    Ok(1)
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
    let details = detail_options(o);
    let cgroups = if details.extended || details.cgroup {
        CgroupPaths::new(&ProcRoot::default())
    } else {
        CgroupPaths::default()
    };
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
        // The document carries the details as values (`details`), not as text.
        details: DetailOptions::default(),
        cgroups: &cgroups,
        filters: filters.as_ref(),
    };
    let tag = view::NamespaceTag {
        inode: ns.inode,
        name: ns.name.as_deref(),
    };
    use crate::render::ss_json;
    rows.iter()
        .map(|row| {
            let (mut v, d) = match row {
                Row::Netlink(s) => (view::netlink_json(&ctx, s, &tag), serde_json::Value::Null),
                Row::Packet(s) => (view::packet_json(&ctx, s, &tag), serde_json::Value::Null),
                Row::Unix(s) => (view::unix_json(&ctx, s, &tag), ss_json::unix(s, &details)),
                Row::Inet(s, table) => (
                    view::inet_json(&ctx, s, *table, &tag),
                    ss_json::inet(s, &details, &cgroups),
                ),
            };
            v["details"] = d;
            v
        })
        .collect()
}

/// The `ss` document: one line.
/// The `ss` document; `summaries` (one `ss_summary` per namespace) with -s, else null.
fn write_json(
    out: &mut impl Write,
    namespaces: Vec<serde_json::Value>,
    sockets: Vec<serde_json::Value>,
    summaries: Option<Vec<serde_json::Value>>,
) -> io::Result<()> {
    let doc = serde_json::json!({
        "schema": 1,
        "view": "ss",
        "namespaces": namespaces,
        "sockets": sockets,
        "summary": summaries,
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
    env: &collect::ProcEnv,
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
    let mut json_summaries = Vec::new();
    // Each namespace renders into its own buffer (or JSON values), printed in order.
    let one = |ns: &crate::netns::NetNs| {
        let mut buf = Vec::new();
        let mut json = Vec::new();
        let mut warnings = Vec::new();
        let mut summary_value = None;
        if o.summary && o.json {
            summary_value = Some(summary_json(env, ns));
        } else if o.summary {
            summary(env, &mut buf)?;
        }
        if let Some(tables) = &tables {
            let collected = collect::dump_all(o, tables, filter, env)?;
            if o.json {
                json.extend(json_rows(o, &collected.rows, owners, ns));
            } else {
                render(o, tables, &collected.rows, owners, &mut buf)?;
            }
            warnings = collected.warnings;
        }
        io::Result::Ok((buf, (json, summary_value), warnings))
    };
    let mut status = 0;
    collect::each_namespace(root, one, |ns, done| {
        match done {
            Err(e) => {
                out.flush()?;
                output::warn(prog(), format_args!("{}: {e}", ns.label()));
                status = 1;
            }
            Ok((_, (mut json, summary_value), warnings)) if o.json => {
                json_namespaces.push(namespace_json(ns));
                json_sockets.append(&mut json);
                json_summaries.extend(summary_value);
                status = status.max(warn_degraded(out, &warnings)?);
            }
            Ok((buf, _, warnings)) => {
                let palette = crate::color::Palette::for_stdout(o.color);
                let label = palette.paint(crate::color::Role::Namespace, &ns.label());
                writeln!(out, "Netns: {label}")?;
                out.write_all(&buf)?;
                status = status.max(warn_degraded(out, &warnings)?);
            }
        }
        Ok(())
    })?;
    if o.json {
        let summaries = o.summary.then_some(json_summaries);
        write_json(out, json_namespaces, json_sockets, summaries)?;
    }
    Ok(status)
}

/// The terminal width, when stdout is a terminal that knows it.
fn screen_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    let size = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (size.ws_col > 0).then_some(size.ws_col as usize)
}

/// ss -r (without -n) asks rpcbind once: its registered ports print as `rpc.NAME`.
fn with_rpc_names(mut services: Services, o: &Options) -> Services {
    if o.resolve {
        if let Some(why) = services.add_rpc_names() {
            eprintln!("rss: WARNING: no rpcbind registrations: {why}");
        }
    }
    services
}

/// ip_local_port_range ($PROC_IP_LOCAL_PORT_RANGE or under $PROC_ROOT, as ss
/// opens it), or ss's 1024-4999 when unreadable.
fn ephemeral_range() -> (u16, u16) {
    let path = collect::ProcEnv::from_env().path(
        "PROC_IP_LOCAL_PORT_RANGE",
        "sys/net/ipv4/ip_local_port_range",
    );
    let text = crate::proc::read_file_max(&path, 4096).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
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
    let stat = ss_proc_root().read(&format!("{pid}/stat")).ok()?;
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

/// `-E`: each destroyed socket printed (and flushed) as the kernel reports it, until
/// a signal (SIGINT, SIGPIPE on a closed pipe: the default dispositions, as ss has
/// them) ends rss. 255 when no group applies or the socket cannot be bound (ss's
/// exit(-1)).
fn follow(o: &Options, t: &Tables, filter: &Filter, out: &mut impl Write) -> io::Result<u8> {
    let mut events = match collect::events::open(o, t, filter) {
        Ok(e) => e,
        Err(collect::events::Refused::NoGroup) => return Ok(255),
        Err(collect::events::Refused::Bind(e)) => {
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
    loop {
        events.next(|shown| {
            if let Some(s) = shown {
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
            // generic_show_sock() renders after every message, shown or not.
            grid.render(out)?;
            out.flush()
        })?;
    }
}
