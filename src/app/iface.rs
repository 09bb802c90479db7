//! rnetstat's interface view (-i, -ie) and multicast group section (-g).

use super::output;
use crate::cli::netstat::{Config, NetnsChoice, Selection};
use crate::netns::{self, NetNs};
use crate::proc::dev::{self, DevLine, Inet6Addr, LinkReader, LinkSource};
use crate::proc::igmp::{self, Membership};
use crate::proc::ProcRoot;
use crate::render::groups;
use crate::render::iface::{self as view, Interface};
use crate::resolve::HostNames;
use std::collections::HashMap;
use std::io::{self, Write};

const PROG: &str = "rnetstat";

/// An errno's text as perror prints it (Rust's Display appends "(os error N)").
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn warn_all(warnings: &[crate::proc::ParseWarning]) {
    for w in warnings {
        output::warn(PROG, format_args!("warning: {w}"));
    }
}

/// One refresh of `-i`. The title belongs to the first refresh only, as in netstat.
/// With `--netns`, a thread enters the namespace so that /proc/thread-self/net and the
/// ioctls both describe it.
pub fn interface_view(
    config: &Config,
    root: &ProcRoot,
    first: bool,
    out: &mut impl Write,
) -> io::Result<u8> {
    let spec = match &config.netns {
        NetnsChoice::Own => {
            return interface_table(config, root, "net", LinkSource::for_root(root), first, out)
        }
        NetnsChoice::All => {
            output::warn(PROG, "-i shows one network namespace: name it with --netns");
            return Ok(1);
        }
        NetnsChoice::One(spec) => spec,
    };
    let ns = match netns::select(root, spec) {
        Ok(ns) => ns,
        Err(e) => {
            output::warn(PROG, e);
            return Ok(1);
        }
    };
    if ns.own {
        return interface_table(config, root, "net", LinkSource::for_root(root), first, out);
    }
    let Some(file) = ns.enter_file(root).filter(|_| root.is_live()) else {
        output::warn(
            PROG,
            format_args!(
                "{}: -i in another namespace needs the live /proc",
                ns.label()
            ),
        );
        return Ok(1);
    };
    // Rendered on the namespace's thread, written here (stdout's lock stays with us).
    let mut buf = Vec::new();
    let status = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                netns::enter(&file)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", ns.label())))?;
                interface_table(
                    config,
                    root,
                    "thread-self/net",
                    LinkSource::Ioctl,
                    first,
                    &mut buf,
                )
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace reader failed")))
    })?;
    out.write_all(&buf)?;
    Ok(status)
}

fn interface_table(
    config: &Config,
    root: &ProcRoot,
    net_dir: &str,
    source: LinkSource,
    first: bool,
    out: &mut impl Write,
) -> io::Result<u8> {
    let opts = &config.interfaces;
    let reader =
        LinkReader::new(source).map_err(|e| io::Error::new(e.kind(), format!("socket: {e}")))?;
    if first {
        view::write_title(out)?;
    }
    if !opts.long {
        view::write_table_header(out)?;
    }
    let dev_rows: Vec<DevLine> = match dev::read_dev(root, net_dir) {
        Ok(table) => {
            warn_all(&table.warnings);
            table.rows
        }
        Err(e) => {
            let _ = writeln!(
                io::stderr().lock(),
                "Warning: cannot open {} ({}). Limited output.",
                root.join(&format!("{net_dir}/dev")).display(),
                strerror(&e)
            );
            Vec::new()
        }
    };
    let configured = reader.configured_names().unwrap_or_default();
    let names = dev::interface_order(dev_rows.iter().map(|d| d.name.clone()).chain(configured));
    let counters: HashMap<&[u8], &DevLine> = dev_rows
        .iter()
        .rev()
        .map(|d| (d.name.as_slice(), d))
        .collect();
    let inet6: Vec<Inet6Addr> = if opts.long {
        match dev::read_if_inet6(root, net_dir) {
            Ok(table) => {
                warn_all(&table.warnings);
                table.rows
            }
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    for name in &names {
        let link = match reader.link(name) {
            Ok(link) => link,
            Err(e) => {
                let why = if e.raw_os_error() == Some(libc::ENODEV) {
                    "Device not found".to_string()
                } else {
                    strerror(&e)
                };
                let mut err = io::stderr().lock();
                let _ = writeln!(
                    err,
                    "{}: error fetching interface information: {why}",
                    crate::escape::escape(name)
                );
                let _ = writeln!(err, "missing interface information: {}", strerror(&e));
                return Ok(1);
            }
        };
        let iface = Interface {
            name,
            counters: counters.get(name.as_slice()).map(|d| &d.counters),
            link: &link,
        };
        if !iface.shown(opts) {
            continue;
        }
        if opts.long {
            view::write_block(out, &iface, &inet6)?;
        } else {
            view::write_table_row(out, &iface)?;
        }
    }
    Ok(0)
}

/// The memberships `-g` prints and the status netstat would end with.
pub struct GroupRows {
    pub rows: Vec<Membership>,
    pub status: u8,
}

/// Reads igmp and igmp6 of `ns` (the run's first namespace) as far as the selected
/// families ask.
pub fn read_groups(config: &Config, root: &ProcRoot, ns: &NetNs) -> io::Result<GroupRows> {
    let sel: &Selection = &config.selection;
    let mut found = GroupRows {
        rows: Vec::new(),
        status: 0,
    };
    for v6 in [false, true] {
        if !(if v6 { sel.inet6 } else { sel.inet4 }) {
            continue;
        }
        let read = ns
            .read(root, |dir| igmp::read_groups(root, dir, v6))
            .and_then(|r| r.unwrap_or_else(|| Err(io::ErrorKind::NotFound.into())));
        match read {
            Ok(table) => {
                warn_all(&table.warnings);
                found.rows.extend(table.rows);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                // Like the inet tables: only a missing IPv4 file of an explicit request
                // is an error.
                if !v6 && !sel.implied {
                    output::warn(PROG, "no support for `AF INET (igmp)' on this system.");
                    found.status = 1;
                }
            }
            Err(e) => {
                let file = if v6 { "igmp6" } else { "igmp" };
                return Err(io::Error::new(e.kind(), format!("/proc/net/{file}: {e}")));
            }
        }
    }
    Ok(found)
}

/// The group section: header and one line per membership.
pub fn write_groups(
    out: &mut impl Write,
    found: &GroupRows,
    numeric: bool,
    hosts: &HostNames,
) -> io::Result<()> {
    groups::write_header(out)?;
    for m in &found.rows {
        groups::write_row(out, m, numeric, hosts)?;
    }
    Ok(())
}
