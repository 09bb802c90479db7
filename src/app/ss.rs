//! rss: ss's view. Arguments → config (cli::ss) → the tables' sockets (crate::ss,
//! and with -p/-T the one /proc/*/fd scan, run meanwhile) → ss's filter → ss's column
//! grid → stdout.

mod follow;

use super::output;
use crate::cli::ss::{self as cli, Options, Parsed, Tables};
use crate::proc::ProcRoot;
use crate::render::ss::{self as view, Grid, Table};
use crate::render::ss_json;
use crate::select::ss_filter::{Filter, SsError};
use crate::snapshot::{OwnerDetail, Owners};
use crate::ss::select::{self as selection, Refused, Selection};
use crate::ss::view::{ss_proc_root, Naming};
use crate::ss::{self as collect, Row};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rss")
}

/// How a run went: its status, and --all-filters' sockets whose filters could not
/// be read (said once, after everything).
struct Done {
    status: u8,
    unread_filters: usize,
}

impl Done {
    fn status(status: u8) -> Done {
        Done {
            status,
            unread_filters: 0,
        }
    }
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
    let (mut status, unread) = match run(&options, &words, &mut out) {
        Ok(done) => (done.status, done.unread_filters),
        Err(e) => {
            output::warn(prog(), e);
            (1, 0)
        }
    };
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

fn run(o: &Options, words: &[OsString], out: &mut impl Write) -> io::Result<Done> {
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
        let joined = |owners: Option<_>| -> io::Result<Option<Owners>> {
            match owners {
                Some(spawned) => Ok(Some(
                    crate::threads::finish(spawned)
                        .ok_or_else(|| io::Error::other("the process scan failed"))??,
                )),
                None => Ok(None),
            }
        };
        if o.all_netns && o.events {
            return follow::all(o, words, &root, out).map(Done::status);
        }
        if o.all_netns {
            let owners = joined(owners)?;
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
                    let namespaces = vec![ss_json::namespace(&own_ns())];
                    write_json(out, namespaces, Vec::new(), Some(summaries))?;
                }
                return Ok(Done::status(0));
            }
        }
        let Selection {
            tables,
            filter,
            options: narrowed,
        } = match select(o, words, out)? {
            Ok(selection) => selection,
            Err(status) => return Ok(Done::status(status)),
        };
        let o = &narrowed;
        if o.events {
            return follow(o, &tables, &filter, out).map(Done::status);
        }
        let collected = collect::dump_all(o, &tables, &filter, &env)?;
        let owners = joined(owners)?;
        let naming = Naming::new(o, &collected.rows, owners.as_ref());
        if o.json {
            let ns = own_ns();
            let sockets = ss_json::sockets(&naming, &collected.rows, &ns);
            let summaries = o.summary.then_some(summaries);
            write_json(out, vec![ss_json::namespace(&ns)], sockets, summaries)?;
        } else {
            render(&naming, &tables, &collected.rows, o, out)?;
        }
        Ok(Done {
            status: warn_degraded(out, &collected.warnings)?,
            unread_filters: naming.unread_filters,
        })
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

/// The command line's selection; `Err(status)` after ss's message when it has none.
fn select(
    o: &Options,
    words: &[OsString],
    out: &mut impl Write,
) -> io::Result<Result<Selection, u8>> {
    match selection::select(o, words) {
        Ok(s) => Ok(Ok(s)),
        Err(Refused::Filter(e)) => fail(out, &e).map(Err),
        Err(Refused::Tables(message)) => {
            out.flush()?;
            eprintln!("{message}");
            Ok(Err(0))
        }
    }
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

/// The `ss` document: one line; `summaries` (one `ss_summary` per namespace) with -s.
fn write_json(
    out: &mut impl Write,
    namespaces: Vec<serde_json::Value>,
    sockets: Vec<serde_json::Value>,
    summaries: Option<Vec<serde_json::Value>>,
) -> io::Result<()> {
    let doc = ss_json::document(namespaces, sockets, summaries);
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
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
) -> io::Result<Done> {
    // The filter is read once, in the own namespace (a `dev NAME` names an
    // interface there), and applied in every namespace.
    let summary_only = o.summary && o.do_default && words.is_empty();
    let (tables, filter, narrowed) = if summary_only {
        (None, Filter::empty(), o.clone())
    } else {
        match select(o, words, out)? {
            Ok(s) => (Some(s.tables), s.filter, s.options),
            Err(status) => return Ok(Done::status(status)),
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
        let mut unread = 0;
        let mut summary_value = None;
        if o.summary && o.json {
            summary_value = Some(summary_json(env, ns));
        } else if o.summary {
            summary(env, &mut buf)?;
        }
        if let Some(tables) = &tables {
            let collected = collect::dump_all(o, tables, filter, env)?;
            let naming = Naming::new(o, &collected.rows, owners);
            if o.json {
                json.extend(ss_json::sockets(&naming, &collected.rows, ns));
            } else {
                render(&naming, tables, &collected.rows, o, &mut buf)?;
            }
            warnings = collected.warnings;
            unread = naming.unread_filters;
        }
        io::Result::Ok((buf, (json, summary_value), warnings, unread))
    };
    let mut done = Done::status(0);
    collect::each_namespace(root, one, |ns, result| {
        match result {
            Err(e) => {
                out.flush()?;
                output::warn(prog(), format_args!("{}: {e}", ns.label()));
                done.status = 1;
            }
            Ok((buf, (mut json, summary_value), warnings, unread)) => {
                done.unread_filters += unread;
                if o.json {
                    json_namespaces.push(ss_json::namespace(ns));
                    json_sockets.append(&mut json);
                    json_summaries.extend(summary_value);
                } else {
                    let palette = crate::color::Palette::for_stdout(o.color);
                    let label = palette.paint(crate::color::Role::Namespace, &ns.label());
                    writeln!(out, "Netns: {label}")?;
                    out.write_all(&buf)?;
                }
                done.status = done.status.max(warn_degraded(out, &warnings)?);
            }
        }
        Ok(())
    })?;
    if o.json {
        let summaries = o.summary.then_some(json_summaries);
        write_json(out, json_namespaces, json_sockets, summaries)?;
    }
    Ok(done)
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

/// ss's column grid for the selected tables (Netid and State columns only when
/// several tables or states are shown).
fn grid(o: &Options, t: &Tables) -> Grid {
    let several = |mask: u32| mask & mask.wrapping_sub(1) != 0;
    let mut grid = Grid::new(several(t.dbs), several(t.states), screen_width());
    grid.set_palette(crate::color::Palette::for_stdout(o.color));
    grid
}

fn render(
    naming: &Naming<'_>,
    t: &Tables,
    rows: &[Row],
    o: &Options,
    out: &mut impl Write,
) -> io::Result<()> {
    let ctx = naming.context(true);
    let mut grid = grid(o, t);
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

/// `-E`: each destroyed socket printed (and flushed) as the kernel reports it, until
/// a signal (SIGINT, SIGPIPE on a closed pipe: the default dispositions, as ss has
/// them) ends rss. 255 when no group applies, the socket cannot be bound, or the
/// kernel dropped events (ss's exit(-1)).
fn follow(o: &Options, t: &Tables, filter: &Filter, out: &mut impl Write) -> io::Result<u8> {
    let mut events = match collect::events::open(o, t, filter) {
        Ok(e) => e,
        Err(refused) => return Ok(refused_status(&refused, None)),
    };
    let ns = crate::netns::NetNs::own(&ProcRoot::default());
    let mut shower = EventShower::new(o, t, out)?;
    loop {
        if !shower.next(&mut events, &ns, false, out)? {
            return Ok(255);
        }
    }
}

/// ss's answer when -E has nothing to follow: 255, with its message when the
/// socket could not be bound (`ns`: in which namespace, with --all-netns).
fn refused_status(refused: &collect::events::Refused, ns: Option<&crate::netns::NetNs>) -> u8 {
    if let collect::events::Refused::Bind(e) = refused {
        let at = ns.map(|ns| format!("{}: ", ns.label())).unwrap_or_default();
        eprintln!("{at}Cannot bind netlink socket: {}", cli::strerror(e));
    }
    255
}

/// How -E shows events: ss's rows on one grid (rendered after every message, as
/// generic_show_sock() does), or with --json one `ss_event` line each (JSON Lines),
/// flushed as it is written so a reader sees it while rss runs.
struct EventShower<'n> {
    naming: Naming<'n>,
    grid: Option<Grid>,
    /// --all-netns, text: the namespace of the last row, for the `Netns:` lines.
    last_ns: Option<Option<u64>>,
    palette: crate::color::Palette,
}

impl EventShower<'_> {
    fn new(o: &Options, t: &Tables, out: &mut impl Write) -> io::Result<Self> {
        let grid = if o.json {
            None
        } else {
            let several = |mask: u32| mask & mask.wrapping_sub(1) != 0;
            let mut grid = Grid::new(several(t.dbs), several(t.states), screen_width());
            if o.show_header {
                grid.header(out)?;
            }
            Some(grid)
        };
        Ok(EventShower {
            naming: Naming::for_events(o),
            grid,
            last_ns: None,
            palette: crate::color::Palette::for_stdout(o.color),
        })
    }

    /// Waits for the next datagram of `events` (of namespace `ns`) and shows what
    /// it reports; `label` puts a `Netns:` line before a row of another namespace
    /// than the last row's. False when the kernel dropped events (ENOBUFS): said
    /// on stderr as ss's rtnl_listen() says it (with --all-netns after the
    /// namespace) and in JSON as a `lost` line; ss gives up then, with 255.
    fn next(
        &mut self,
        events: &mut collect::events::Events<'_>,
        ns: &crate::netns::NetNs,
        label: bool,
        out: &mut impl Write,
    ) -> io::Result<bool> {
        let complete = events.next(|shown| {
            let Some(grid) = &mut self.grid else {
                let Some(s) = shown else { return Ok(()) };
                self.naming.resolve(s);
                let line = ss_json::event(&self.naming, s, ns, now());
                serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
                writeln!(out)?;
                return out.flush();
            };
            if let Some(s) = shown {
                if label && self.last_ns != Some(ns.inode) {
                    self.last_ns = Some(ns.inode);
                    let name = self
                        .palette
                        .paint(crate::color::Role::Namespace, &ns.label());
                    writeln!(out, "Netns: {name}")?;
                }
                self.naming.resolve(s);
                view::inet_row(grid, out, &self.naming.context(true), s, Table::Any)?;
            }
            // generic_show_sock() renders after every message, shown or not.
            grid.render(out)?;
            out.flush()
        })?;
        if complete {
            return Ok(true);
        }
        out.flush()?;
        let at = if label {
            format!("{}: ", ns.label())
        } else {
            String::new()
        };
        let e = io::Error::from_raw_os_error(libc::ENOBUFS);
        eprintln!(
            "{at}netlink receive error {} ({})",
            cli::strerror(&e),
            libc::ENOBUFS
        );
        if self.grid.is_none() {
            // The reader of the lines learns of the loss too.
            let line = ss_json::lost(ns, now());
            serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
            writeln!(out)?;
            out.flush()?;
        }
        Ok(false)
    }
}

/// Seconds since the epoch, for `ss_event`'s `time`.
fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
