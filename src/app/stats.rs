//! rnetstat -s: read the counter files netstat reads, in its order, and print them
//! through one [`StatsWriter`] so the indent carries from file to file as in netstat.

use super::output;
use crate::cli::netstat::{StatsFamily, StatsOptions};
use crate::proc::snmp::{self, Section};
use crate::proc::{ProcRoot, Table};
use crate::render::stats::{self as view, StatsWriter, Tables};
use std::io::{self, Write};

use crate::cli::strerror as describe;

type Reader = fn(&ProcRoot, &str) -> io::Result<Table<Section>>;

/// Reads a file netstat cannot do without: when it is missing, netstat says so on
/// stderr and prints nothing more, still exiting 0.
fn required(
    prog: &str,
    root: &ProcRoot,
    net_dir: &str,
    file: &str,
    read: Reader,
) -> Option<Table<Section>> {
    match read(root, net_dir) {
        Ok(table) => {
            output::parse_warnings(prog, &table.warnings);
            Some(table)
        }
        Err(e) => {
            output::warn(
                prog,
                format_args!(
                    "cannot open {}: {}",
                    root.join(&format!("{net_dir}/{file}")).display(),
                    describe(&e)
                ),
            );
            None
        }
    }
}

/// Reads a file netstat skips silently when it is absent (netstat, sctp/snmp).
fn optional(prog: &str, root: &ProcRoot, net_dir: &str, read: Reader) -> Option<Table<Section>> {
    let table = read(root, net_dir).ok()?;
    output::parse_warnings(prog, &table.warnings);
    Some(table)
}

pub fn statistics_view(
    prog: &str,
    options: &StatsOptions,
    root: &ProcRoot,
    net_dir: &str,
    out: &mut impl Write,
) -> io::Result<u8> {
    let mut writer = StatsWriter::new(options.sections);
    match &options.family {
        StatsFamily::Unsupported(families) => {
            // netstat prints this one on stdout.
            writeln!(
                out,
                "{prog}: No statistics support for specified address family: {families}"
            )?;
            return Ok(1);
        }
        StatsFamily::Inet => {
            let Some(snmp) = required(prog, root, net_dir, "snmp", snmp::read_snmp) else {
                return Ok(0);
            };
            writer.write_all(out, Tables::Inet, &snmp.rows)?;
            for read in [snmp::read_netstat as Reader, snmp::read_sctp] {
                if let Some(table) = optional(prog, root, net_dir, read) {
                    writer.write_all(out, Tables::Inet, &table.rows)?;
                }
            }
        }
        StatsFamily::Inet6 => {
            let Some(snmp6) = required(prog, root, net_dir, "snmp6", snmp::read_snmp6) else {
                return Ok(0);
            };
            writer.write_all(out, Tables::Inet6, &snmp6.rows)?;
            let Some(snmp) = required(prog, root, net_dir, "snmp", snmp::read_snmp) else {
                return Ok(0);
            };
            for section in snmp.rows.iter().filter(|s| view::in_inet6_tail(s)) {
                writer.write_section(out, Tables::Inet, section)?;
            }
        }
    }
    Ok(0)
}

/// The sections `-s` would print, for `--json`: (file, section) in netstat's order,
/// or `None` when a file netstat needs is missing (reported on stderr as in the text).
pub fn read_statistics(
    prog: &str,
    options: &StatsOptions,
    root: &ProcRoot,
    net_dir: &str,
) -> Option<Vec<(&'static str, Section)>> {
    let tag =
        |file: &'static str, table: Table<Section>| table.rows.into_iter().map(move |s| (file, s));
    let mut found = Vec::new();
    match &options.family {
        StatsFamily::Unsupported(_) => return None,
        StatsFamily::Inet => {
            let snmp = required(prog, root, net_dir, "snmp", snmp::read_snmp)?;
            found.extend(tag("snmp", snmp));
            for (file, read) in [
                ("netstat", snmp::read_netstat as Reader),
                ("sctp/snmp", snmp::read_sctp),
            ] {
                if let Some(table) = optional(prog, root, net_dir, read) {
                    found.extend(tag(file, table));
                }
            }
        }
        StatsFamily::Inet6 => {
            let snmp6 = required(prog, root, net_dir, "snmp6", snmp::read_snmp6)?;
            found.extend(tag("snmp6", snmp6));
            let snmp = required(prog, root, net_dir, "snmp", snmp::read_snmp)?;
            found.extend(tag("snmp", snmp).filter(|(_, s)| view::in_inet6_tail(s)));
        }
    }
    Some(found)
}
