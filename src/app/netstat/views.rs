//! rnetstat's -i/-ie and -s views in every namespace asked for.

use super::{prog, target_namespaces, unreachable_namespace, write_tagged};
use crate::app::output;
use crate::cli::netstat::{Config, StatsFamily};
use crate::render::json;
use std::io::{self, Write};

/// `-i` / `-ie` in every namespace asked for. The ioctls run on a thread inside each
/// namespace; with --all-netns table rows get the namespace column, and -ie blocks a
/// line naming their namespace.
pub(super) fn interfaces_mode(
    config: &Config,
    first: bool,
    out: &mut impl Write,
) -> io::Result<u8> {
    let root = &config.root;
    let Some(namespaces) = target_namespaces(config) else {
        return Ok(1);
    };
    let tagged = config.sockets.netns_column;
    let long = config.interfaces.long;
    let palette = config.sockets.palette;
    let with_inet6 = long || config.json;
    let mut found_all = Vec::new();
    let mut status = 0;
    for (index, ns) in namespaces.iter().enumerate() {
        let read = ns.run_inside(root, |dir| {
            crate::app::iface::read_interfaces(config, root, dir, with_inet6)
        });
        let found = match read {
            Ok(Some(Ok(found))) => found,
            Ok(Some(Err(e))) if index == 0 => return Err(e),
            Ok(Some(Err(e))) | Err(e) => {
                unreachable_namespace(ns, &e);
                if index == 0 {
                    return Ok(1);
                }
                continue;
            }
            Ok(None) => continue,
        };
        if config.json {
            status = status.max(found.status);
            found_all.push((index, found));
            continue;
        }
        if index == 0 {
            if first {
                crate::render::iface::write_title(out)?;
            }
            if !long {
                let mut header = Vec::new();
                crate::render::iface::write_table_header(&mut header)?;
                write_tagged(out, tagged.then_some("Netns"), &config.sockets, |l| {
                    l.write_all(&header)
                })?;
            }
        }
        let label = ns.label();
        if tagged && long {
            writeln!(
                out,
                "Network namespace {}:",
                palette.paint(crate::color::Role::Namespace, &label)
            )?;
        }
        let mut rows = Vec::new();
        crate::app::iface::write_interfaces(config, &found, first, false, &mut rows)?;
        if tagged && !long {
            for line in rows.split_inclusive(|&b| b == b'\n') {
                write_tagged(out, Some(&label), &config.sockets, |l| l.write_all(line))?;
            }
        } else {
            out.write_all(&rows)?;
        }
        if found.status != 0 {
            return Ok(found.status);
        }
    }
    if config.json {
        let inputs: Vec<json::InterfaceInput<'_>> = found_all
            .iter()
            .flat_map(|(index, found)| {
                found.rows.iter().map(move |r| json::InterfaceInput {
                    ns: *index,
                    name: &r.name,
                    link: &r.link,
                    counters: r.counters.as_ref(),
                    inet6: &found.inet6,
                })
            })
            .collect();
        json::write_line(out, &json::interface_document(&namespaces, &inputs))?;
    }
    Ok(status)
}

/// `-s` in every namespace asked for; with --all-netns each namespace's counters follow
/// a line naming it.
pub(super) fn statistics_mode(config: &Config, out: &mut impl Write) -> io::Result<u8> {
    let root = &config.root;
    let Some(namespaces) = target_namespaces(config) else {
        return Ok(1);
    };
    if let (true, StatsFamily::Unsupported(families)) = (config.json, &config.stats.family) {
        output::warn(
            prog(),
            format_args!("No statistics support for specified address family: {families}"),
        );
        return Ok(1);
    }
    let tagged = config.sockets.netns_column;
    let mut sections = Vec::new();
    let mut status = 0;
    for (index, ns) in namespaces.iter().enumerate() {
        if config.json {
            let read = ns.read(root, |dir| {
                crate::app::stats::read_statistics(prog(), &config.stats, root, dir)
            });
            match read {
                Ok(Some(Some(found))) => {
                    sections.extend(found.into_iter().map(|(file, s)| (index, file, s)))
                }
                Ok(_) => {}
                Err(e) => {
                    unreachable_namespace(ns, &e);
                    status = if index == 0 { 1 } else { status };
                }
            }
            continue;
        }
        if tagged {
            writeln!(
                out,
                "Network namespace {}:",
                config
                    .sockets
                    .palette
                    .paint(crate::color::Role::Namespace, &ns.label())
            )?;
        }
        let mut text = Vec::new();
        let read = ns.read(root, |dir| {
            crate::app::stats::statistics_view(prog(), &config.stats, root, dir, &mut text)
        });
        out.write_all(&text)?;
        match read {
            Ok(Some(Ok(s))) if index == 0 => status = s,
            Ok(Some(Err(e))) if index == 0 => return Err(e),
            Ok(_) => {}
            Err(e) => {
                unreachable_namespace(ns, &e);
                status = if index == 0 { 1 } else { status };
            }
        }
        if status != 0 {
            break;
        }
    }
    if config.json {
        json::write_line(out, &json::statistics_document(&namespaces, &sections))?;
    }
    Ok(status)
}
