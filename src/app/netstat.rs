//! rnetstat: arguments → validated config → the view asked for (sockets, -r, -i, -g,
//! -s, --arp, the audit, captures and queue dumps), repeated with -c.

mod sockets;
mod views;

pub(super) use sockets::read_tables;

use super::output;
use crate::cli::netstat::{Config, Mode, NetnsChoice, NetstatArgs};
use crate::color::Palette;
use crate::netns::{self, NetNs};
use crate::proc::ProcRoot;
use crate::render::netstat::SocketOptions;
use crate::resolve::{DuplicatePolicy, HostNames, NetworkNames, Services, Users};
use crate::snapshot::OwnersScanner;
use std::ffi::OsString;
use std::io::{self, Write};

/// The name messages start with (see [`output::program_name`]).
pub(super) fn prog() -> &'static str {
    output::program_name("rnetstat")
}

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    // netstat's getopt_long reads the line first (its abbreviations, messages and
    // usage); clap then reads the same options spelled one way each.
    // One clap command for both readings: building it is the costly part.
    let mut command = NetstatArgs::command_for_getopt();
    let (notes, canonical) =
        crate::cli::netstat::netstat_getopt(&mut command, args.into_iter().collect());
    for note in notes {
        let _ = writeln!(io::stderr(), "{note}");
    }
    let canonical = match canonical {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io::stderr(), "{}", e.message);
            return e.status;
        }
    };
    let args = match NetstatArgs::parse_ordered_with(&mut command, canonical) {
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
        Err(e) if e.bare => {
            let _ = writeln!(io::stderr(), "{}", e.message);
            return e.status;
        }
        Err(e) => {
            output::warn(prog(), e.message);
            return e.status;
        }
    };
    if !config.json {
        config.sockets.palette = Palette::for_stdout(config.color);
    }
    let mut out = output::stdout();
    // A capture cut short is still read, but the answer says it may be partial.
    let incomplete = crate::capture::incomplete_reason(&config.root);
    if let Some(why) = &incomplete {
        output::warn(prog(), why);
    }
    let status = match run(&config, &mut out) {
        Ok(status) => status,
        Err(e) => {
            output::warn(prog(), e);
            1
        }
    };
    let _ = out.flush();
    if incomplete.is_some() && status == 0 {
        return 1;
    }
    output::exhaustion_status(prog(), status)
}

/// Long-lived state of a run: name caches survive refreshes with -c.
pub(super) struct Names {
    services: Services,
    hosts: HostNames,
    networks: NetworkNames,
    users: Users,
}

pub fn run(config: &Config, out: &mut impl Write) -> io::Result<u8> {
    let root = &config.root;
    let mut names = Names {
        // Only a port printed by name needs /etc/services.
        services: match config.sockets.numeric_ports {
            true => Services::default(),
            false => Services::load(DuplicatePolicy::LastWins),
        },
        hosts: HostNames::default(),
        networks: NetworkNames::default(),
        users: Users::default(),
    };
    let mut first = true;
    // Kept across -c's intervals: the BPF programs are loaded and verified once.
    let mut owners = OwnersScanner::default();
    loop {
        let status = match config.mode {
            Mode::Sockets => sockets::socket_view(config, root, &mut names, &mut owners, out)?,
            Mode::Audit { probe } => {
                if !root.is_live() {
                    output::warn(
                        prog(),
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
            Mode::Interfaces => views::interfaces_mode(config, first, out)?,
            Mode::Capture => {
                let status = capture(config, root, out)?;
                match (&config.queues, config.capture_dir.as_deref()) {
                    (Some(q), Some(dir)) if status == 0 => {
                        return Ok(super::queues::run_in_capture(config, q, dir))
                    }
                    _ => status,
                }
            }
            Mode::Queues => match &config.queues {
                Some(q) => return Ok(super::queues::run_alone(config, q)),
                None => 2,
            },
            Mode::Statistics => views::statistics_mode(config, out)?,
            Mode::Masquerade => {
                output::warn(prog(), "no support for `ip_masquerade' on this system.");
                return Ok(1);
            }
            Mode::Route | Mode::Arp => {
                let mut route_names = super::route::Names {
                    hosts: &mut names.hosts,
                    networks: &mut names.networks,
                };
                if config.mode == Mode::Route {
                    super::route::route_view(config, root, &mut route_names, out)?
                } else {
                    super::route::arp_view(config, root, &mut route_names, out)?
                }
            }
        };
        first = false;
        let Some(delay) = config.continuous.filter(|_| status == 0) else {
            return Ok(status);
        };
        out.flush()?;
        std::thread::sleep(delay);
    }
}

/// Warns about a namespace that could not be read (entering one needs CAP_SYS_ADMIN).
pub(super) fn unreachable_namespace(ns: &NetNs, e: &io::Error) {
    output::warn(
        prog(),
        format_args!("network namespace {}: {e}", ns.label()),
    );
}

fn capture(config: &Config, root: &ProcRoot, out: &mut impl Write) -> io::Result<u8> {
    let Some(dir) = config.capture_dir.as_deref() else {
        return Ok(2);
    };
    let summary = crate::capture::capture(root, dir)
        .map_err(|e| io::Error::new(e.kind(), format!("capture to {}: {e}", dir.display())))?;
    if config.json {
        let doc = serde_json::json!({
            "capture": crate::escape::json_text(dir.as_os_str().as_encoded_bytes()),
            "complete": true,
            "processes": summary.processes,
            "namespaces": summary.namespaces,
            "fd_links": summary.fd_links,
        });
        writeln!(out, "{doc}")?;
        return Ok(0);
    }
    output::warn(
        prog(),
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

/// The namespaces a run reads; the first is the one whose missing tables are errors
/// (the own namespace, or the one --netns names).
pub(super) fn target_namespaces(config: &Config) -> Option<Vec<NetNs>> {
    let root = &config.root;
    let found = match &config.netns {
        NetnsChoice::Own => Ok(vec![NetNs::own(root)]),
        NetnsChoice::All => {
            netns::discover(root).map_err(|e| format!("{}: {e}", root.path().display()))
        }
        NetnsChoice::One(spec) => netns::select(root, spec).map(|ns| vec![ns]),
    };
    found.map_err(|e| output::warn(prog(), e)).ok()
}

/// Writes one line a renderer produced, with the namespace tag (--all-netns) put
/// before its newline.
pub(super) fn write_tagged(
    out: &mut impl Write,
    tag: Option<&str>,
    opts: &SocketOptions,
    render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(128);
    render(&mut line)?;
    if let Some(tag) = tag {
        let had_newline = line.last() == Some(&b'\n');
        if had_newline {
            line.pop();
        }
        line.push(b' ');
        line.extend_from_slice(
            opts.palette
                .paint(crate::color::Role::Namespace, tag)
                .as_bytes(),
        );
        if had_newline {
            line.push(b'\n');
        }
    }
    out.write_all(&line)
}
