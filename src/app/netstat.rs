//! rnetstat's socket view: read the selected tables, attribute owners, resolve the
//! names of the rows that will be printed, and render them as netstat does.

use super::output;
use crate::cli::netstat::{Config, Mode, NetstatArgs, RouteFamily, Selection};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::{unix, ProcRoot};
use crate::render::netstat::{self as view, RowContext};
use crate::resolve::{DuplicatePolicy, HostNames, NetworkNames, Services, Users, HOST_DEADLINE};
use crate::snapshot::{OwnerDetail, Owners};
use std::ffi::OsString;
use std::io::{self, Write};

const PROG: &str = "rnetstat";

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    let args = match NetstatArgs::parse_ordered(args) {
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
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            output::warn(PROG, e.message);
            return e.status;
        }
    };
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
    networks: NetworkNames,
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
        networks: NetworkNames::default(),
        users: Users::default(),
    };
    loop {
        let status = match config.mode {
            Mode::Sockets => socket_view(config, root, &mut names, out)?,
            Mode::Capture => capture(config, root)?,
            Mode::Route => route_view(config, root, &mut names, out)?,
            Mode::Arp => arp_view(config, root, &mut names, out)?,
        };
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

fn socket_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    let sel = &config.selection;
    let opts = &config.sockets;
    let owners = if opts.programs {
        let owners = Owners::scan(
            root,
            OwnerDetail {
                argv0: true,
                ..OwnerDetail::default()
            },
        )?;
        program_notice(&owners);
        Some(owners)
    } else {
        None
    };

    // Read every selected table first, so names are resolved in one concurrent batch.
    let mut rows: Vec<InetSocket> = Vec::new();
    let mut status = 0;
    for proto in Proto::ALL.into_iter().filter(|&p| wants(sel, p)) {
        for v6 in [false, true] {
            if !(if v6 { sel.inet6 } else { sel.inet4 }) {
                continue;
            }
            match inet::read_table(root, "net", proto, v6) {
                Ok(table) => {
                    for w in &table.warnings {
                        output::warn(PROG, format_args!("warning: {w}"));
                    }
                    rows.extend(
                        table
                            .rows
                            .into_iter()
                            .filter(|s| view::inet_selected(s, opts.rows)),
                    );
                }
                // netstat reports a missing v4 table of an asked-for protocol and stops
                // there; a missing v6 table is silent.
                Err(e)
                    if !v6
                        && matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                        ) =>
                {
                    if !sel.implied && (sel.explicit || config.verbose) {
                        output::warn(
                            PROG,
                            format_args!("no support for `{}' on this system.", family_name(proto)),
                        );
                    }
                    if !sel.implied && sel.explicit {
                        status = 1;
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                    ) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("/proc/net/{}: {e}", proto.file(v6)),
                    ))
                }
            }
        }
        if status != 0 {
            break;
        }
    }
    if !opts.numeric_hosts {
        names
            .hosts
            .resolve_all(view::addresses_to_resolve(&rows), HOST_DEADLINE);
    }
    let mut ctx = RowContext {
        services: &names.services,
        hosts: &names.hosts,
        users: &mut names.users,
        owners: owners.as_ref(),
    };
    if sel.any_inet() {
        view::write_inet_header(out, opts)?;
        for s in &rows {
            view::write_inet_row(out, s, opts, &mut ctx)?;
        }
    }
    if status != 0 {
        return Ok(status);
    }
    if sel.unix {
        view::write_unix_header(out, opts)?;
        match unix::read_table(root, "net") {
            Ok(table) => {
                for w in &table.warnings {
                    output::warn(PROG, format_args!("warning: {w}"));
                }
                for s in table
                    .rows
                    .iter()
                    .filter(|s| view::unix_selected(s, opts.rows))
                {
                    view::write_unix_row(out, s, opts, &mut ctx)?;
                }
            }
            Err(_) if sel.explicit => {
                output::warn(PROG, "no support for `AF UNIX' on this system.");
                return Ok(1);
            }
            Err(_) => {}
        }
    }
    Ok(status)
}

/// perror's text for an I/O error: strerror without Rust's "(os error N)".
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" (os error ") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// Resolves hosts and then networks within one HOST_DEADLINE (networks, usually
/// /etc/networks, keep a short grace period even after a slow DNS).
fn resolve_route_names(
    names: &mut Names,
    hosts: impl IntoIterator<Item = std::net::IpAddr>,
    networks: impl IntoIterator<Item = std::net::Ipv4Addr>,
) {
    let start = std::time::Instant::now();
    names.hosts.resolve_all(hosts, HOST_DEADLINE);
    let left = HOST_DEADLINE
        .saturating_sub(start.elapsed())
        .max(std::time::Duration::from_millis(200));
    names.networks.resolve_all(networks, left);
}

/// `-r`: the routing tables of the asked families, in order, as netstat prints them.
fn route_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    use crate::proc::route::{self, RouteError};
    use crate::render::route as view;
    let rc = &config.route;
    let opts = &rc.options;
    for family in &rc.families {
        match family {
            RouteFamily::Inet => {
                if rc.fib {
                    let table = match route::read_route(root, "net") {
                        Ok(table) => table,
                        Err(RouteError::Io(e)) => {
                            out.flush()?;
                            output::warn(
                                &root.join("net/route").display().to_string(),
                                strerror(&e),
                            );
                            writeln!(out, "INET (IPv4) not configured in this system.")?;
                            return Ok(1);
                        }
                        Err(RouteError::MissingColumn { file, column }) => {
                            view::write_route4_header(out, opts)?;
                            out.flush()?;
                            eprintln!("warning: {file} does not contain required field {column}");
                            return Ok(1);
                        }
                    };
                    for w in &table.warnings {
                        output::warn(PROG, format_args!("warning: {w}"));
                    }
                    let (hosts, networks) = view::route4_lookups(&table.rows, opts);
                    resolve_route_names(names, hosts, networks);
                    let route_names = view::Names {
                        hosts: &names.hosts,
                        networks: &names.networks,
                    };
                    view::write_route4_header(out, opts)?;
                    for r in &table.rows {
                        view::write_route4_row(out, r, opts, route_names)?;
                    }
                }
                if rc.cache {
                    // Kernels since 3.6 list no cache entries; only the file's presence matters.
                    if let Err(e) = root.read("net/rt_cache") {
                        out.flush()?;
                        output::warn(
                            &root.join("net/rt_cache").display().to_string(),
                            strerror(&e),
                        );
                        writeln!(out, "INET (IPv4) not configured in this system.")?;
                        return Ok(1);
                    }
                    view::write_route4_cache_header(out, opts)?;
                }
            }
            RouteFamily::Inet6 => {
                let table = match route::read_ipv6_route(root, "net") {
                    Ok(table) => table,
                    Err(e) => {
                        out.flush()?;
                        output::warn(
                            &root.join("net/ipv6_route").display().to_string(),
                            strerror(&e),
                        );
                        writeln!(out, "INET6 (IPv6) not configured in this system.")?;
                        return Ok(1);
                    }
                };
                for w in &table.warnings {
                    output::warn(PROG, format_args!("warning: {w}"));
                }
                for cache in [false, true] {
                    if !(if cache { rc.cache } else { rc.fib }) {
                        continue;
                    }
                    names.hosts.resolve_all(
                        view::route6_lookups(&table.rows, opts, cache),
                        HOST_DEADLINE,
                    );
                    view::write_route6_header(out, cache)?;
                    for r in table
                        .rows
                        .iter()
                        .filter(|r| view::route6_selected(r, cache))
                    {
                        view::write_route6_row(out, r, opts, &names.hosts)?;
                    }
                }
            }
            RouteFamily::Unix => {
                out.flush()?;
                eprintln!("No routing for address family `unix'.");
                return Ok(3);
            }
        }
    }
    Ok(0)
}

/// `--arp`: /proc/net/arp as `arp` (`arp -n`) prints it.
fn arp_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    use crate::render::arp as view;
    let table = match crate::proc::arp::read_arp(root, "net") {
        Ok(table) => table,
        Err(e) => {
            output::warn(&root.join("net/arp").display().to_string(), strerror(&e));
            // arp returns -1 from main here.
            return Ok(255);
        }
    };
    for w in &table.warnings {
        output::warn(PROG, format_args!("warning: {w}"));
    }
    let numeric = config.sockets.numeric_hosts;
    let (hosts, networks) = view::arp_lookups(&table.rows, numeric);
    resolve_route_names(names, hosts, networks);
    let arp_names = view::Names {
        hosts: &names.hosts,
        networks: &names.networks,
    };
    view::write_arp_table(out, &table.rows, numeric, config.verbose, arp_names)?;
    Ok(0)
}
