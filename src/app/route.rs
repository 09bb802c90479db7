//! `-r` (routing tables) and `--arp` (neighbour table): read, resolve the names the
//! shown rows need (hosts and /etc/networks, concurrently, one deadline), render.

use super::output;
use crate::cli::netstat::{Config, NetnsChoice, RouteFamily};
use crate::cli::strerror;
use crate::netns::{self, NetNs};
use crate::proc::arp::{self, ArpEntry};
use crate::proc::route::{self, Route4, Route6, RouteError};
use crate::proc::{ProcRoot, Table};
use crate::resolve::{HostNames, NetworkNames, HOST_DEADLINE};
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rnetstat")
}

/// The name caches of a run; they survive refreshes with -c.
pub struct Names<'a> {
    pub hosts: &'a mut HostNames,
    pub networks: &'a mut NetworkNames,
}

/// Resolves hosts and then networks within one HOST_DEADLINE (networks, usually
/// /etc/networks, keep a short grace period even after a slow DNS).
fn resolve_route_names(
    names: &mut Names<'_>,
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

/// The files a view needs, read together inside the chosen network namespace.
struct Files {
    /// Their directory relative to the proc root (`net`, `PID/net`, `thread-self/net`).
    dir: String,
    route: Option<Result<Table<Route4>, RouteError>>,
    rt_cache: Option<io::Result<Vec<u8>>>,
    ipv6_route: Option<io::Result<Table<Route6>>>,
    arp: Option<io::Result<Table<ArpEntry>>>,
}

/// The namespaces to read: rnetstat's own, the one --netns names, or all.
fn namespaces(config: &Config, root: &ProcRoot) -> Result<Vec<NetNs>, String> {
    match &config.netns {
        NetnsChoice::Own => Ok(vec![NetNs::own(root)]),
        NetnsChoice::One(spec) => netns::select(root, spec).map(|ns| vec![ns]),
        NetnsChoice::All => netns::discover(root).map_err(|e| e.to_string()),
    }
}

fn read_files(
    config: &Config,
    root: &ProcRoot,
    ns: &NetNs,
    arp_view: bool,
) -> Result<Files, String> {
    let rc = &config.route;
    let has = |f: RouteFamily| !arp_view && rc.families.contains(&f);
    let read = |dir: &str| Files {
        dir: dir.to_string(),
        route: (has(RouteFamily::Inet) && rc.fib).then(|| route::read_route(root, dir)),
        rt_cache: (has(RouteFamily::Inet) && rc.cache)
            .then(|| root.read(&format!("{dir}/rt_cache"))),
        ipv6_route: has(RouteFamily::Inet6).then(|| route::read_ipv6_route(root, dir)),
        arp: arp_view.then(|| arp::read_arp(root, dir)),
    };
    match ns.read(root, read) {
        Ok(Some(files)) => Ok(files),
        Ok(None) => Err(format!("network namespace {} is gone", ns.label())),
        Err(e) => Err(format!("network namespace {}: {e}", ns.label())),
    }
}

impl Files {
    /// The path netstat's perror would name.
    fn path(&self, root: &ProcRoot, file: &str) -> String {
        root.join(&format!("{}/{file}", self.dir))
            .display()
            .to_string()
    }
}

/// Runs `view` for every namespace asked for. With --all-netns each namespace's
/// output follows a `Network namespace NAME:` line (and JSON collects the files of all).
/// The first namespace's status is the run's.
fn each_namespace<W: Write>(
    config: &Config,
    root: &ProcRoot,
    arp_view: bool,
    out: &mut W,
    mut view: impl FnMut(&Files, &mut W) -> io::Result<u8>,
) -> io::Result<(u8, Vec<(NetNs, Files)>)> {
    let namespaces = match namespaces(config, root) {
        Ok(n) => n,
        Err(e) => {
            output::warn(prog(), e);
            return Ok((1, Vec::new()));
        }
    };
    let mut status = 0;
    let mut read = Vec::new();
    for (index, ns) in namespaces.into_iter().enumerate() {
        let files = match read_files(config, root, &ns, arp_view) {
            Ok(files) => files,
            Err(e) => {
                output::warn(prog(), e);
                if index == 0 {
                    return Ok((1, read));
                }
                continue;
            }
        };
        if config.json {
            read.push((ns, files));
            continue;
        }
        if config.sockets.netns_column {
            let label = config
                .sockets
                .palette
                .paint(crate::color::Role::Namespace, &ns.label());
            writeln!(out, "Network namespace {label}:")?;
        }
        let s = view(&files, out)?;
        if index == 0 {
            status = s;
        }
    }
    Ok((status, read))
}

/// `-r`: the routing tables of the asked families, in order, as netstat prints them.
pub fn route_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names<'_>,
    out: &mut impl Write,
) -> io::Result<u8> {
    let (status, read) = each_namespace(config, root, false, out, |files, out| {
        route_tables(config, root, files, names, out)
    })?;
    if config.json {
        let all: Vec<NetNs> = read.iter().map(|(ns, _)| ns.clone()).collect();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (index, (_, files)) in read.iter().enumerate() {
            // The rows the text shows: routes that are up; -C selects IPv6 cache rows.
            if let Some(Ok(t)) = &files.route {
                v4.extend(t.rows.iter().filter(|r| r.is_up()).map(|r| (index, r)));
            }
            if let Some(Ok(t)) = &files.ipv6_route {
                let rc = &config.route;
                let shown = |r: &&Route6| {
                    (rc.fib && crate::render::route::route6_selected(r, false))
                        || (rc.cache && crate::render::route::route6_selected(r, true))
                };
                v6.extend(t.rows.iter().filter(shown).map(|r| (index, r)));
            }
        }
        crate::render::json::write_line(out, &crate::render::json::route_document(&all, &v4, &v6))?;
    }
    Ok(status)
}

fn route_tables(
    config: &Config,
    root: &ProcRoot,
    files: &Files,
    names: &mut Names<'_>,
    out: &mut impl Write,
) -> io::Result<u8> {
    use crate::render::route as view;
    let rc = &config.route;
    let opts = &rc.options;
    for family in &rc.families {
        match family {
            RouteFamily::Inet => {
                match &files.route {
                    None => {}
                    Some(Err(RouteError::Io(e))) => {
                        out.flush()?;
                        output::warn(&files.path(root, "route"), strerror(e));
                        writeln!(out, "INET (IPv4) not configured in this system.")?;
                        return Ok(1);
                    }
                    Some(Err(RouteError::MissingColumn { file, column })) => {
                        view::write_route4_header(out, opts)?;
                        out.flush()?;
                        eprintln!("warning: {file} does not contain required field {column}");
                        return Ok(1);
                    }
                    Some(Ok(table)) => {
                        output::parse_warnings(prog(), &table.warnings);
                        let (hosts, networks) = view::route4_lookups(&table.rows, opts);
                        resolve_route_names(names, hosts, networks);
                        let route_names = view::Names {
                            hosts: names.hosts,
                            networks: names.networks,
                        };
                        view::write_route4_header(out, opts)?;
                        for r in &table.rows {
                            view::write_route4_row(out, r, opts, route_names)?;
                        }
                    }
                }
                // Kernels since 3.6 list no cache entries; only the file's presence matters.
                match &files.rt_cache {
                    None => {}
                    Some(Err(e)) => {
                        out.flush()?;
                        output::warn(&files.path(root, "rt_cache"), strerror(e));
                        writeln!(out, "INET (IPv4) not configured in this system.")?;
                        return Ok(1);
                    }
                    Some(Ok(_)) => view::write_route4_cache_header(out, opts)?,
                }
            }
            RouteFamily::Inet6 => {
                let table = match &files.ipv6_route {
                    None => continue,
                    Some(Ok(table)) => table,
                    Some(Err(e)) => {
                        out.flush()?;
                        output::warn(&files.path(root, "ipv6_route"), strerror(e));
                        writeln!(out, "INET6 (IPv6) not configured in this system.")?;
                        return Ok(1);
                    }
                };
                output::parse_warnings(prog(), &table.warnings);
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
                        view::write_route6_row(out, r, opts, names.hosts)?;
                    }
                }
            }
            RouteFamily::Unix => {
                out.flush()?;
                eprintln!("No routing for address family `unix'.");
                return Ok(3);
            }
            RouteFamily::NoRouting(name) => {
                out.flush()?;
                eprintln!("No routing for address family `{name}'.");
                return Ok(3);
            }
            RouteFamily::Unsupported(name) => {
                out.flush()?;
                eprintln!("Address family `{name}' not supported.");
                return Ok(3);
            }
            RouteFamily::Old(name) => return old_family_routes(root, name, out),
        }
    }
    Ok(0)
}

/// -r for a family netstat 2.10 has a routing table for and rnetstat no view of: its
/// /proc files are missing on current kernels, and netstat's answer (its messages,
/// each on its stream, status 1) is printed; when they exist rnetstat says it cannot
/// list them.
fn old_family_routes(root: &ProcRoot, name: &str, out: &mut impl Write) -> io::Result<u8> {
    let open = |file: &str| {
        let path = root.join(&format!("net/{file}"));
        let e = std::fs::metadata(&path).err();
        (path, e)
    };
    out.flush()?;
    let mut err = io::stderr().lock();
    let missing = match name {
        "ddp" => match open("atalk_route") {
            (path, Some(e)) => {
                let _ = writeln!(err, "Error opening {}: {}", path.display(), strerror(&e));
                let _ = writeln!(err, "DDP (AppleTalk) not configured on this system.");
                true
            }
            _ => false,
        },
        "ax25" => match open("ax25_route") {
            (path, Some(e)) => {
                let _ = writeln!(err, "{}: {}", path.display(), strerror(&e));
                writeln!(out, "AX.25 not configured in this system.")?;
                true
            }
            _ => false,
        },
        "x25" => match (open("x25/route"), open("x25_routes")) {
            ((_, Some(_)), (_, Some(_))) => {
                writeln!(out, "X.25 not configured in this system.")?;
                true
            }
            _ => false,
        },
        "ipx" => match (open("ipx/route"), open("ipx_route")) {
            ((_, Some(_)), (_, Some(e))) => {
                let _ = writeln!(err, "{}", strerror(&e));
                writeln!(
                    out,
                    "IPX routing not in file /proc/net/ipx/route or /proc/net/ipx_route found."
                )?;
                true
            }
            _ => false,
        },
        "netrom" => match (open("nr_nodes"), open("nr_neigh")) {
            ((_, None), (_, None)) => false,
            (nodes, neigh) => {
                for (path, e) in [nodes, neigh] {
                    if let Some(e) = e {
                        let _ = writeln!(err, "{}: {}", path.display(), strerror(&e));
                    }
                }
                writeln!(out, "NET/ROM not configured in this system.")?;
                true
            }
        },
        _ => match open("rose_nodes") {
            (path, Some(e)) => {
                let _ = writeln!(err, "{}: {}", path.display(), strerror(&e));
                let _ = writeln!(err, "ROSE not configured in this system.");
                true
            }
            _ => false,
        },
    };
    if !missing {
        output::warn(
            prog(),
            format_args!("{name} routes are not listed: rnetstat has no view for them"),
        );
    }
    Ok(1)
}

/// `--arp`: /proc/net/arp as `arp` (`arp -n`) prints it.
pub fn arp_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names<'_>,
    out: &mut impl Write,
) -> io::Result<u8> {
    let (status, read) = each_namespace(config, root, true, out, |files, out| {
        arp_table(config, root, files, names, out)
    })?;
    if config.json {
        let all: Vec<NetNs> = read.iter().map(|(ns, _)| ns.clone()).collect();
        let mut entries = Vec::new();
        for (index, (_, files)) in read.iter().enumerate() {
            if let Some(Ok(t)) = &files.arp {
                entries.extend(t.rows.iter().map(|e| (index, e)));
            }
        }
        crate::render::json::write_line(out, &crate::render::json::arp_document(&all, &entries))?;
    }
    Ok(status)
}

fn arp_table(
    config: &Config,
    root: &ProcRoot,
    files: &Files,
    names: &mut Names<'_>,
    out: &mut impl Write,
) -> io::Result<u8> {
    use crate::render::arp as view;
    let table = match &files.arp {
        Some(Ok(table)) => table,
        Some(Err(e)) => {
            output::warn(&files.path(root, "arp"), strerror(e));
            // arp returns -1 from main here.
            return Ok(255);
        }
        None => return Ok(0),
    };
    output::parse_warnings(prog(), &table.warnings);
    let numeric = config.sockets.numeric_hosts;
    let (hosts, networks) = view::arp_lookups(&table.rows, numeric);
    resolve_route_names(names, hosts, networks);
    let arp_names = view::Names {
        hosts: names.hosts,
        networks: names.networks,
    };
    view::write_arp_table(out, &table.rows, numeric, config.verbose, arp_names)?;
    Ok(0)
}
