//! rnetstat's socket view: read the selected tables, attribute owners, resolve the
//! names of the rows that will be printed, and render them as netstat does.

use super::output;
use crate::cli::netstat::{Config, Mode, NetstatArgs, Selection};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::unix::{self, UnixSocket};
use crate::proc::ProcRoot;
use crate::render::netstat::{self as view, RowContext};
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
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            output::warn(PROG, e.message);
            return e.status;
        }
    };
    let mut out = output::stdout();
    let status = match run(&config, &ProcRoot::default(), &mut out) {
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

pub fn run(config: &Config, root: &ProcRoot, out: &mut impl Write) -> io::Result<u8> {
    let mut names = Names {
        services: Services::load(DuplicatePolicy::LastWins),
        hosts: HostNames::default(),
        users: Users::default(),
    };
    loop {
        let status = match config.mode {
            Mode::Sockets => socket_view(config, root, &mut names, out)?,
        };
        let Some(delay) = config.continuous.filter(|_| status == 0) else {
            return Ok(status);
        };
        out.flush()?;
        std::thread::sleep(delay);
    }
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

/// A read error of a table, or a write error of the view printing its rows as they come.
enum StreamError {
    Read(io::Error),
    Write(io::Error),
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Read(e)
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    )
}

/// Walks the selected inet tables in netstat's order, handing the rows the view shows
/// to `on_row` and what netstat would say on stderr to `warn`. Returns the status: 1
/// when an explicitly requested protocol has no table (netstat stops there).
fn for_each_inet_row(
    config: &Config,
    root: &ProcRoot,
    mut on_row: impl FnMut(&InetSocket) -> io::Result<()>,
    warn: &mut impl FnMut(String),
) -> io::Result<u8> {
    let sel = &config.selection;
    let rows = config.sockets.rows;
    for proto in Proto::ALL.into_iter().filter(|&p| wants(sel, p)) {
        for v6 in [false, true] {
            if !(if v6 { sel.inet6 } else { sel.inet4 }) {
                continue;
            }
            let read = inet::for_each_socket(
                root,
                "net",
                proto,
                v6,
                |s| {
                    if view::inet_selected(&s, rows) {
                        on_row(&s).map_err(StreamError::Write)?;
                    }
                    Ok(())
                },
                |w| warn(format!("warning: {w}")),
            );
            match read {
                Ok(()) => {}
                Err(StreamError::Write(e)) => return Err(e),
                // netstat reports a missing v4 table of an asked-for protocol and stops
                // there; a missing v6 table is silent.
                Err(StreamError::Read(e)) if !v6 && is_missing(&e) => {
                    if !sel.implied && (sel.explicit || config.verbose) {
                        warn(format!(
                            "no support for `{}' on this system.",
                            family_name(proto)
                        ));
                    }
                    if !sel.implied && sel.explicit {
                        return Ok(1);
                    }
                }
                Err(StreamError::Read(e)) if is_missing(&e) => {}
                Err(StreamError::Read(e)) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("/proc/net/{}: {e}", proto.file(v6)),
                    ))
                }
            }
        }
    }
    Ok(0)
}

/// The unix table's counterpart of [`for_each_inet_row`].
fn for_each_unix_row(
    config: &Config,
    root: &ProcRoot,
    mut on_row: impl FnMut(&UnixSocket) -> io::Result<()>,
    warn: &mut impl FnMut(String),
) -> io::Result<u8> {
    let rows = config.sockets.rows;
    let read = unix::for_each_socket(
        root,
        "net",
        |s| {
            if view::unix_selected(&s, rows) {
                on_row(&s).map_err(StreamError::Write)?;
            }
            Ok(())
        },
        |w| warn(format!("warning: {w}")),
    );
    match read {
        Ok(()) => Ok(0),
        Err(StreamError::Write(e)) => Err(e),
        Err(StreamError::Read(_)) if config.selection.explicit => {
            warn("no support for `AF UNIX' on this system.".to_string());
            Ok(1)
        }
        Err(StreamError::Read(_)) => Ok(0),
    }
}

/// Rows of one family read before anything is printed, with what reading them would
/// have printed on stderr, in order.
struct ReadAhead<T> {
    rows: Vec<T>,
    messages: Vec<String>,
    status: u8,
}

/// Reads the selected tables whole: needed when all rows must be known before the
/// first is printed (owners with -p, host names without -n).
fn read_ahead(
    config: &Config,
    root: &ProcRoot,
) -> io::Result<(ReadAhead<InetSocket>, Option<ReadAhead<UnixSocket>>)> {
    let mut inet = ReadAhead {
        rows: Vec::new(),
        messages: Vec::new(),
        status: 0,
    };
    inet.status = for_each_inet_row(
        config,
        root,
        |s| {
            inet.rows.push(s.clone());
            Ok(())
        },
        &mut |m| inet.messages.push(m),
    )?;
    if inet.status != 0 || !config.selection.unix {
        return Ok((inet, None));
    }
    let mut unix = ReadAhead {
        rows: Vec::new(),
        messages: Vec::new(),
        status: 0,
    };
    unix.status = for_each_unix_row(
        config,
        root,
        |s| {
            unix.rows.push(s.clone());
            Ok(())
        },
        &mut |m| unix.messages.push(m),
    )?;
    Ok((inet, Some(unix)))
}

fn socket_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    let opts = &config.sockets;
    if opts.programs {
        // The fd scan and the table reads are both kernel time: on two cores they
        // overlap.
        let (owners, tables) = std::thread::scope(|scope| {
            let tables = scope.spawn(|| read_ahead(config, root));
            let owners = Owners::scan(
                root,
                OwnerDetail {
                    argv0: true,
                    ..OwnerDetail::default()
                },
            );
            let tables = tables
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (owners, tables)
        });
        let owners = owners?;
        program_notice(&owners);
        print_read_ahead(config, tables?, Some(&owners), names, out)
    } else if !opts.numeric_hosts {
        print_read_ahead(config, read_ahead(config, root)?, None, names, out)
    } else {
        print_streaming(config, root, names, out)
    }
}

fn print_read_ahead(
    config: &Config,
    (inet, unix): (ReadAhead<InetSocket>, Option<ReadAhead<UnixSocket>>),
    owners: Option<&Owners>,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    let sel = &config.selection;
    let opts = &config.sockets;
    for m in &inet.messages {
        output::warn(PROG, m);
    }
    if !opts.numeric_hosts {
        names
            .hosts
            .resolve_all(view::addresses_to_resolve(&inet.rows), HOST_DEADLINE);
    }
    let mut ctx = RowContext {
        services: &names.services,
        hosts: &names.hosts,
        users: &mut names.users,
        owners,
    };
    if sel.any_inet() {
        view::write_inet_header(out, opts)?;
        for s in &inet.rows {
            view::write_inet_row(out, s, opts, &mut ctx)?;
        }
    }
    if inet.status != 0 {
        return Ok(inet.status);
    }
    let Some(unix) = unix else { return Ok(0) };
    view::write_unix_header(out, opts)?;
    for m in &unix.messages {
        output::warn(PROG, m);
    }
    if unix.status != 0 {
        return Ok(unix.status);
    }
    for s in &unix.rows {
        view::write_unix_row(out, s, opts, &mut ctx)?;
    }
    Ok(0)
}

/// Numeric views without -p print each row as it is read: nothing is held.
fn print_streaming(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    out: &mut impl Write,
) -> io::Result<u8> {
    let sel = &config.selection;
    let opts = &config.sockets;
    let mut ctx = RowContext {
        services: &names.services,
        hosts: &names.hosts,
        users: &mut names.users,
        owners: None,
    };
    let mut warn = |m: String| output::warn(PROG, m);
    if sel.any_inet() {
        view::write_inet_header(out, opts)?;
    }
    let status = for_each_inet_row(
        config,
        root,
        |s| view::write_inet_row(out, s, opts, &mut ctx),
        &mut warn,
    )?;
    if status != 0 || !sel.unix {
        return Ok(status);
    }
    view::write_unix_header(out, opts)?;
    for_each_unix_row(
        config,
        root,
        |s| view::write_unix_row(out, s, opts, &mut ctx),
        &mut warn,
    )
}
