//! rnetstat's socket view: read the selected tables, attribute owners, resolve the
//! names of the rows that will be printed, and render them as netstat does.

use super::output;
use crate::cli::netstat::{Config, Mode, NetnsChoice, NetstatArgs, Selection};
use crate::color::Palette;
use crate::netns::{self, NetNs};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::unix::{self, UnixSocket};
use crate::proc::{ProcRoot, Table};
use crate::render::json;
use crate::render::netstat::{self as view, RowContext, SocketOptions};
use crate::resolve::{DuplicatePolicy, HostNames, Services, Users, HOST_DEADLINE};
use crate::snapshot::{OwnerDetail, Owners};
use clap::Parser;
use std::ffi::OsString;
use std::io::{self, Write};

const PROG: &str = "rnetstat";

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    let args = match NetstatArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let status = if e.use_stderr() { 3 } else { 0 };
            let _ = e.print();
            return status;
        }
    };
    if let Some(kind) = args.generate.as_deref() {
        use clap::CommandFactory;
        return crate::docs::generate(NetstatArgs::command(), &crate::docs::RNETSTAT_MAN, kind);
    }
    let mut config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            output::warn(PROG, e.message);
            return e.status;
        }
    };
    if !config.json {
        config.sockets.palette = Palette::for_stdout(config.color);
    }
    let mut out = output::stdout();
    let status = match run(&config, &mut out) {
        Ok(status) => status,
        Err(e) => {
            output::warn(PROG, e);
            1
        }
    };
    let _ = out.flush();
    status
}

/// Long-lived state of a run: name caches survive refreshes with -c.
struct Names {
    services: Services,
    hosts: HostNames,
    users: Users,
}

fn family_name(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "AF INET (tcp)",
        Proto::Udp => "AF INET (udp)",
        Proto::UdpLite => "AF INET (udplite)",
        Proto::Raw => "AF INET (raw)",
    }
}

fn wants(sel: &Selection, proto: Proto) -> bool {
    match proto {
        Proto::Tcp => sel.tcp,
        Proto::Udp => sel.udp,
        Proto::UdpLite => sel.udplite,
        Proto::Raw => sel.raw,
    }
}

pub fn run(config: &Config, out: &mut impl Write) -> io::Result<u8> {
    let root = &config.root;
    let mut names = Names {
        services: Services::load(DuplicatePolicy::LastWins),
        hosts: HostNames::default(),
        users: Users::default(),
    };
    let mut first = true;
    loop {
        let status = match config.mode {
            Mode::Sockets => socket_view(config, root, &mut names, out)?,
            Mode::Audit { probe } => {
                if !root.is_live() {
                    output::warn(
                        PROG,
                        "--audit examines the live system; it cannot read --proc-root",
                    );
                    return Ok(2);
                }
                let scope = match &config.netns {
                    NetnsChoice::Own => crate::audit::Scope::Own,
                    NetnsChoice::All => crate::audit::Scope::All,
                    NetnsChoice::One(spec) => crate::audit::Scope::One(spec.clone()),
                };
                let opts = crate::audit::AuditOptions {
                    proc_root: root.clone(),
                    sys_root: root.sys(),
                    scope,
                    probe,
                    ..Default::default()
                };
                return Ok(super::audit::run(&opts, config.json, out));
            }
            Mode::Interfaces => super::iface::interface_view(config, root, first, out)?,
            Mode::Capture => capture(config, root)?,
            Mode::Statistics => super::stats::statistics_view(PROG, &config.stats, root, out)?,
        };
        first = false;
        let Some(delay) = config.continuous.filter(|_| status == 0) else {
            return Ok(status);
        };
        out.flush()?;
        std::thread::sleep(delay);
    }
}

fn capture(config: &Config, root: &ProcRoot) -> io::Result<u8> {
    let Some(dir) = config.capture_dir.as_deref() else {
        return Ok(2);
    };
    let summary = crate::capture::capture(root, dir)
        .map_err(|e| io::Error::new(e.kind(), format!("capture to {}: {e}", dir.display())))?;
    output::warn(
        PROG,
        format_args!(
            "captured {} processes, {} network namespaces, {} descriptors to {}",
            summary.processes,
            summary.namespaces,
            summary.fd_links,
            dir.display()
        ),
    );
    Ok(0)
}

fn program_notice(owners: &Owners) {
    if owners.denied == 0 {
        return;
    }
    let mut err = io::stderr().lock();
    if owners.identified_any() {
        let _ = writeln!(
            err,
            "(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)"
        );
    } else {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let _ = writeln!(
            err,
            "(No info could be read for \"-p\": geteuid()={euid} but you should be root.)"
        );
    }
}

/// What one namespace's selected tables gave, kept until their turn to be printed so
/// warnings and errors come out where netstat puts them.
struct NsTables {
    inet: Vec<(Proto, bool, io::Result<Table<InetSocket>>)>,
    unix: Option<io::Result<Table<UnixSocket>>>,
}

fn read_tables(root: &ProcRoot, dir: &str, sel: &Selection) -> NsTables {
    let mut inet = Vec::new();
    for proto in Proto::ALL.into_iter().filter(|&p| wants(sel, p)) {
        for v6 in [false, true] {
            if if v6 { sel.inet6 } else { sel.inet4 } {
                inet.push((proto, v6, inet::read_table(root, dir, proto, v6)));
            }
        }
    }
    let unix = sel.unix.then(|| unix::read_table(root, dir));
    NsTables { inet, unix }
}

/// The namespaces a run reads; the first is the one whose missing tables are errors
/// (the own namespace, or the one --netns names).
fn target_namespaces(config: &Config) -> Result<Vec<NetNs>, String> {
    let root = &config.root;
    match &config.netns {
        NetnsChoice::Own => Ok(vec![NetNs::own(root)]),
        NetnsChoice::All => {
            netns::discover(root).map_err(|e| format!("{}: {e}", root.path().display()))
        }
        NetnsChoice::One(spec) => netns::select(root, spec).map(|ns| vec![ns]),
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    )
}

fn socket_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    let sel = &config.selection;
    let opts = &config.sockets;
    let namespaces = match target_namespaces(config) {
        Ok(n) => n,
        Err(e) => {
            output::warn(PROG, e);
            return Ok(1);
        }
    };
    let owners = if opts.programs || config.json {
        let owners = Owners::scan(
            root,
            OwnerDetail {
                argv0: true,
                ..OwnerDetail::default()
            },
        )?;
        if opts.programs {
            program_notice(&owners);
        }
        Some(owners)
    } else {
        None
    };

    let mut tables = Vec::with_capacity(namespaces.len());
    for (index, ns) in namespaces.iter().enumerate() {
        match ns.read(root, |dir| read_tables(root, dir, sel)) {
            Ok(Some(t)) => tables.push((index, t)),
            Ok(None) => {}
            // Entering a namespace nobody lives in needs CAP_SYS_ADMIN.
            Err(e) => output::warn(PROG, format_args!("{}: {e}", ns.label())),
        }
    }

    // Rows of every namespace first, so names are resolved in one concurrent batch.
    let mut rows: Vec<(usize, InetSocket)> = Vec::new();
    let mut status = 0;
    'tables: for (index, t) in &mut tables {
        let primary = *index == 0;
        for (proto, v6, result) in t.inet.drain(..) {
            match result {
                Ok(table) => {
                    for w in &table.warnings {
                        output::warn(PROG, format_args!("warning: {w}"));
                    }
                    rows.extend(
                        table
                            .rows
                            .into_iter()
                            .filter(|s| view::inet_selected(s, opts.rows))
                            .map(|s| (*index, s)),
                    );
                }
                Err(_) if !primary => {}
                // netstat reports a missing v4 table of an asked-for protocol and stops
                // there; a missing v6 table is silent.
                Err(e) if !v6 && is_missing(&e) => {
                    if !sel.implied && (sel.explicit || config.verbose) {
                        output::warn(
                            PROG,
                            format_args!("no support for `{}' on this system.", family_name(proto)),
                        );
                    }
                    if !sel.implied && sel.explicit {
                        status = 1;
                        break 'tables;
                    }
                }
                Err(e) if is_missing(&e) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("/proc/net/{}: {e}", proto.file(v6)),
                    ))
                }
            }
        }
    }
    let groups = match config.groups && status == 0 {
        true => match namespaces.first() {
            Some(ns) => Some(super::iface::read_groups(config, root, ns)?),
            None => None,
        },
        false => None,
    };
    if !opts.numeric_hosts {
        let group_addrs = groups
            .iter()
            .flat_map(|g| crate::render::groups::addresses_to_resolve(&g.rows));
        names.hosts.resolve_all(
            view::addresses_to_resolve(rows.iter().map(|(_, s)| s)).chain(group_addrs),
            HOST_DEADLINE,
        );
    }
    let labels: Vec<String> = namespaces.iter().map(NetNs::label).collect();
    let mut ctx = RowContext {
        services: &names.services,
        hosts: &names.hosts,
        users: &mut names.users,
        owners: owners.as_ref(),
        netns: None,
    };

    if config.json {
        let mut unix_rows: Vec<(usize, UnixSocket)> = Vec::new();
        if status == 0 {
            status = collect_unix(&mut tables, sel, opts, &mut unix_rows);
        }
        let doc = json::socket_document(&namespaces, &rows, &unix_rows, opts, &mut ctx);
        json::write_line(out, &doc)?;
        return Ok(status);
    }

    if sel.any_inet() {
        view::write_inet_header(out, opts)?;
        for (index, s) in &rows {
            ctx.netns = labels.get(*index).map(String::as_str);
            view::write_inet_row(out, s, opts, &mut ctx)?;
        }
    }
    if status != 0 {
        return Ok(status);
    }
    if let Some(found) = &groups {
        super::iface::write_groups(out, found, opts.numeric_hosts, ctx.hosts)?;
        if found.status != 0 {
            return Ok(found.status);
        }
    }
    if sel.unix {
        view::write_unix_header(out, opts)?;
        let mut unix_rows: Vec<(usize, UnixSocket)> = Vec::new();
        status = collect_unix(&mut tables, sel, opts, &mut unix_rows);
        for (index, s) in &unix_rows {
            ctx.netns = labels.get(*index).map(String::as_str);
            view::write_unix_row(out, s, opts, &mut ctx)?;
        }
    }
    Ok(status)
}

/// The selected unix rows of every namespace, warnings printed; 1 when the primary
/// namespace has no unix table and unix sockets were asked for.
fn collect_unix(
    tables: &mut [(usize, NsTables)],
    sel: &Selection,
    opts: &SocketOptions,
    rows: &mut Vec<(usize, UnixSocket)>,
) -> u8 {
    for (index, t) in tables.iter_mut() {
        match t.unix.take() {
            Some(Ok(table)) => {
                for w in &table.warnings {
                    output::warn(PROG, format_args!("warning: {w}"));
                }
                rows.extend(
                    table
                        .rows
                        .into_iter()
                        .filter(|s| view::unix_selected(s, opts.rows))
                        .map(|s| (*index, s)),
                );
            }
            Some(Err(_)) if *index == 0 && sel.explicit => {
                output::warn(PROG, "no support for `AF UNIX' on this system.");
                return 1;
            }
            Some(Err(_)) | None => {}
        }
    }
    0
}
