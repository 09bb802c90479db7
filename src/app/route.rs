//! `-r` (routing tables) and `--arp` (neighbour table): read, resolve the names the
//! shown rows need (hosts and /etc/networks, concurrently, one deadline), render.

use super::output;
use crate::cli::netstat::{Config, RouteFamily};
use crate::proc::ProcRoot;
use crate::resolve::{HostNames, NetworkNames, HOST_DEADLINE};
use std::io::{self, Write};

const PROG: &str = "rnetstat";

/// The name caches of a run; they survive refreshes with -c.
pub struct Names<'a> {
    pub hosts: &'a mut HostNames,
    pub networks: &'a mut NetworkNames,
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

/// `-r`: the routing tables of the asked families, in order, as netstat prints them.
pub fn route_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names<'_>,
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
                        hosts: names.hosts,
                        networks: names.networks,
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
                        view::write_route6_row(out, r, opts, names.hosts)?;
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
pub fn arp_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names<'_>,
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
        hosts: names.hosts,
        networks: names.networks,
    };
    view::write_arp_table(out, &table.rows, numeric, config.verbose, arp_names)?;
    Ok(0)
}
