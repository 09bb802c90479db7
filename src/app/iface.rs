//! rnetstat's interface view (-i, -ie) and multicast group section (-g).

use super::output;
use crate::cli::netstat::{Config, Selection};
use crate::cli::strerror;
use crate::proc::dev::{self, DevCounters, DevLine, Inet6Addr, Link, LinkReader, LinkSource};
use crate::proc::igmp::{self, Membership};
use crate::proc::ProcRoot;
use crate::render::iface::{self as view, Interface};
use std::collections::HashMap;
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rnetstat")
}

/// What `-i` found in one namespace: the interfaces it shows, in netstat's order, the
/// IPv6 addresses (`-e` only), and the status to end with when a link could not be read
/// (netstat prints the interfaces before it, then stops).
pub struct Interfaces {
    pub rows: Vec<InterfaceData>,
    pub inet6: Vec<Inet6Addr>,
    pub status: u8,
}

pub struct InterfaceData {
    pub name: Vec<u8>,
    pub counters: Option<DevCounters>,
    pub link: Link,
}

/// Reads the interfaces of the namespace whose files are under `net_dir`. The ioctls
/// ask the namespace of the calling thread, so callers for another namespace run this
/// on a thread that entered it ([`crate::netns::NetNs::run_inside`]).
pub fn read_interfaces(
    config: &Config,
    root: &ProcRoot,
    net_dir: &str,
    with_inet6: bool,
) -> io::Result<Interfaces> {
    let opts = &config.interfaces;
    let reader = LinkReader::new(LinkSource::for_root(root))
        .map_err(|e| io::Error::new(e.kind(), format!("socket: {e}")))?;
    let dev_rows: Vec<DevLine> = match dev::read_dev(root, net_dir) {
        Ok(table) => {
            output::parse_warnings(prog(), &table.warnings);
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
    let inet6: Vec<Inet6Addr> = if with_inet6 {
        match dev::read_if_inet6(root, net_dir) {
            Ok(table) => {
                output::parse_warnings(prog(), &table.warnings);
                table.rows
            }
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let mut found = Interfaces {
        rows: Vec::new(),
        inet6,
        status: 0,
    };
    for name in names {
        let link = match reader.link(&name) {
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
                    crate::escape::escape(&name)
                );
                let _ = writeln!(err, "missing interface information: {}", strerror(&e));
                found.status = 1;
                break;
            }
        };
        let row = InterfaceData {
            counters: counters.get(name.as_slice()).map(|d| d.counters.clone()),
            name,
            link,
        };
        if !row.as_view().shown(opts) {
            continue;
        }
        found.rows.push(row);
    }
    Ok(found)
}

impl InterfaceData {
    pub fn as_view(&self) -> Interface<'_> {
        Interface {
            name: &self.name,
            counters: self.counters.as_ref(),
            link: &self.link,
        }
    }
}

/// Prints one namespace's interfaces; the title and header belong to the first
/// refresh and the first namespace (`heading`).
pub fn write_interfaces(
    config: &Config,
    found: &Interfaces,
    first: bool,
    heading: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let opts = &config.interfaces;
    if first && heading {
        view::write_title(out)?;
    }
    if !opts.long && heading {
        view::write_table_header(out)?;
    }
    for row in &found.rows {
        if opts.long {
            view::write_block(out, &row.as_view(), &found.inet6)?;
        } else {
            view::write_table_row(out, &row.as_view())?;
        }
    }
    Ok(())
}

/// The memberships `-g` prints and the status netstat would end with.
pub struct GroupRows {
    pub rows: Vec<Membership>,
    pub status: u8,
}

/// Reads /proc/net/igmp and igmp6 as far as the selected families ask.
pub fn read_groups(config: &Config, root: &ProcRoot, net_dir: &str) -> io::Result<GroupRows> {
    let sel: &Selection = &config.selection;
    let mut found = GroupRows {
        rows: Vec::new(),
        status: 0,
    };
    for v6 in [false, true] {
        if !(if v6 { sel.inet6 } else { sel.inet4 }) {
            continue;
        }
        match igmp::read_groups(root, net_dir, v6) {
            Ok(table) => {
                output::parse_warnings(prog(), &table.warnings);
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
                    output::warn(prog(), "no support for `AF INET (igmp)' on this system.");
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
