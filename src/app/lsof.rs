//! rlsof: arguments → validated config → passes of the lsof engine (crate::lsof) →
//! table, `-F` fields, `-t` pids or JSON. `-r`/`+r` repeat the pass.

mod file_args;
mod mounts;

use super::output;
use crate::cli::lsof::{self as cli, Action, Config};
use crate::lsof::{pass, Names};
use crate::proc::ProcRoot;
use crate::render::lsof::{self as view, TableOptions};
use crate::resolve::{DuplicatePolicy, Services};
use crate::select::lsof::Lookups;
use crate::snapshot::OwnersScanner;
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::IpAddr;

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rlsof")
}

struct AppLookups<'a> {
    services: &'a Services,
}

impl Lookups for AppLookups<'_> {
    fn service_port(&self, name: &str, udp: bool) -> Option<u16> {
        self.services.port_of(name, udp)
    }
    fn host_addrs(&self, name: &str, family: crate::select::lsof::Family) -> Vec<IpAddr> {
        crate::resolve::host_addresses(name, family == crate::select::lsof::Family::V6)
    }
}

/// Parses the arguments and runs; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    output::reset_sigpipe();
    // lsof closes every descriptor above 2 at start: one inherited from the caller
    // is not a file of this process to list.
    close_inherited();
    let args: Vec<OsString> = args.into_iter().skip(1).collect();
    // Hidden, as in rnetstat: man page and completions from the clap description.
    if let [flag, kind] = args.as_slice() {
        if flag == "--generate" {
            let kind = kind.to_string_lossy();
            return crate::docs::generate(cli::command(), &crate::docs::RLSOF_MAN, &kind);
        }
    }
    let services = Services::load(DuplicatePolicy::FirstWins);
    let parsed = cli::parse(
        &args,
        &AppLookups {
            services: &services,
        },
    );
    let mut config = match parsed {
        Ok(Action::Run(c)) => c,
        // lsof writes both to standard error.
        Ok(Action::Help) => {
            let _ = io::stderr().write_all(cli::usage_text(prog(), true).as_bytes());
            return 0;
        }
        Ok(Action::FieldHelp) => {
            let _ = io::stderr().write_all(cli::field_help_text(prog()).as_bytes());
            return 0;
        }
        Ok(Action::Version) => {
            // `revision:` is the lsof release whose output rlsof reproduces (scripts,
            // lsof's own test suite among them, read it from this line).
            let _ = writeln!(
                io::stderr(),
                "rlsof version information:\n    revision: 4.95.0\n    rlsof: {}",
                env!("CARGO_PKG_VERSION")
            );
            return 0;
        }
        Err(e) => {
            // (An empty one is an error lsof does not say: -w.)
            for message in e.message.split('\0').filter(|m| !m.is_empty()) {
                output::warn(prog(), message);
            }
            if e.usage {
                let text = cli::usage_text(prog(), e.help);
                let _ = io::stderr().write_all(text.as_bytes());
            }
            return 1;
        }
    };
    let name_failed = match file_args::resolve(&mut config) {
        file_args::Next::Exit(status) => return status,
        file_args::Next::List { failed } => failed,
    };
    let mut out = output::stdout();
    let root = config
        .proc_root
        .clone()
        .map(ProcRoot::new)
        .unwrap_or_default();
    // A capture cut short is still read, but the answer says it may be partial.
    let incomplete = crate::capture::incomplete_reason(&root);
    if let Some(why) = &incomplete {
        output::warn(prog(), why);
    }
    let status = match run(&config, &root, services, &mut out) {
        Ok(s) => s,
        Err(e) => {
            output::warn(prog(), e);
            1
        }
    };
    let _ = out.flush();
    let status = if incomplete.is_some() || name_failed {
        status.max(1)
    } else {
        status
    };
    output::exhaustion_status(prog(), status)
}

/// Closes descriptors 3 and up (nothing of ours is open yet). close_range(2) needs
/// Linux 5.9; on older kernels inherited descriptors stay and are listed.
fn close_inherited() {
    // SAFETY: close_range only closes descriptors, and none above 2 is in use by us:
    // main calls this first. (nix has no close_range.)
    unsafe { libc::close_range(3, libc::c_uint::MAX, 0) };
}

/// Runs one pass, or repeats as `-r`/`+r` ask.
pub fn run(
    config: &Config,
    root: &ProcRoot,
    services: Services,
    out: &mut impl Write,
) -> io::Result<u8> {
    let mut names = Names::new(services);
    // The BPF program of an Internet listing, loaded and verified once for all passes.
    let mut owners = OwnersScanner::default();
    let mut first = true;
    let mut best_status = 1;
    let mut passes = 0u64;
    let mut warned = false;
    loop {
        if config.repeat.is_some() {
            names.new_pass();
        }
        let (procs, status, not_found, avoided) = pass(config, root, &mut names, &mut owners)?;
        passes += 1;
        if config.warnings && !avoided.is_empty() {
            let mut text = Vec::new();
            for path in &avoided {
                text.extend_from_slice(prog().as_bytes());
                text.extend_from_slice(b": avoiding stat(");
                text.extend_from_slice(crate::escape::escape_lsof(path, false).as_bytes());
                text.extend_from_slice(b"): -b was specified.\n");
            }
            let _ = io::stderr().lock().write_all(&text);
        }
        warn_missing_users(config, &procs);
        // +M asked a portmapper that answered wrongly: the names may lack programs.
        let status = match names.portmap_failure() {
            Some(why) => {
                if !std::mem::replace(&mut warned, true) {
                    output::warn(
                        prog(),
                        format_args!("WARNING: no portmapper registrations: {why}"),
                    );
                }
                status.max(1)
            }
            None => status,
        };
        let listed = procs.iter().any(|p| !p.files.is_empty());
        if config.json {
            crate::render::json::write_line(
                out,
                &crate::render::json::files_document(&procs, crate::netns::own_inode(root)),
            )?;
        } else if let Some(fields) = &config.fields {
            view::write_fields(out, &procs, fields)?;
        } else if config.terse {
            view::write_terse(out, &procs)?;
        } else {
            let size_title = if config.offsets {
                "OFFSET"
            } else if config.sizes {
                "SIZE"
            } else {
                "SIZE/OFF"
            };
            view::write_table(
                out,
                &procs,
                &TableOptions {
                    command_limit: config.command_limit,
                    size_title,
                    ppid: config.ppid,
                    pgid: config.pgid,
                    nlink: config.nlink,
                    file_flags: config.file_flags,
                    offset_digits: config.offset_digits,
                },
            )?;
        }
        // -V's messages follow the listing on stdout, as lsof's; a JSON Lines reader
        // gets only documents there, so with --json they go to stderr.
        if config.json && !not_found.is_empty() {
            out.flush()?;
            for m in &not_found {
                output::warn(prog(), m);
            }
        } else {
            for m in &not_found {
                writeln!(out, "{}: {m}", prog())?;
            }
        }
        let Some(repeat) = &config.repeat else {
            // The last listing is left to the exit: freeing tens of thousands of rows
            // one by one took a quarter of the time after the scan, with one core.
            std::mem::forget(procs);
            return Ok(status);
        };
        // lsof 4.95 repeats only for a non-zero delay: `-r 0` runs once, and `+r 0`
        // too, ending with status 1 where a plain run would give 0 (+r's "nothing
        // listed" status is only cleared by a pass of the repeat loop).
        if repeat.seconds == 0 {
            return Ok(if repeat.until_empty {
                status.max(1)
            } else {
                status
            });
        }
        // An item found in any pass counts as found.
        best_status = best_status.min(status);
        if repeat.until_empty && !listed {
            return Ok(if first { 1 } else { 0 });
        }
        first = false;
        match (&config.fields, &repeat.marker) {
            // --json: one document per pass is its own separator (JSON Lines).
            _ if config.json => {}
            (Some(f), _) => {
                out.write_all(if f.nul { b"m\0\n" } else { b"m\n" })?;
            }
            (None, Some(fmt)) => writeln!(out, "{}", strftime_now(fmt))?,
            (None, None) => out.write_all(b"=======\n")?,
        }
        out.flush()?;
        if repeat.count.is_some_and(|c| passes >= c) {
            return Ok(best_status);
        }
        std::thread::sleep(std::time::Duration::from_secs(repeat.seconds));
    }
}

/// lsof's `no pwd entry for UID N`, once for each time its printuid() looked the uid
/// up and found no passwd entry: for each row twice in the table (the pass that sizes
/// the columns, then the one that prints), once per process set with `-F L`; never
/// with `-l` (no lookups), `-t`, `-w`, or `--json` (its `user` is null). lsof writes
/// them as it goes, unbuffered; rlsof writes a pass's before its output.
fn warn_missing_users(config: &Config, procs: &[view::ProcessRows]) {
    if !config.warnings || config.numeric_users || config.json || config.terse {
        return;
    }
    let per_row = match &config.fields {
        Some(f) if !f.letters.contains('L') => return,
        Some(_) => false,
        None => true,
    };
    let missing = || {
        procs
            .iter()
            .filter(|p| p.login.is_none() && !p.files.is_empty())
    };
    let mut text = String::new();
    let rounds = if per_row { 2 } else { 1 };
    for _ in 0..rounds {
        for p in missing() {
            let times = if per_row { p.files.len() } else { 1 };
            for _ in 0..times {
                text.push_str(&format!("{}: no pwd entry for UID {}\n", prog(), p.uid));
            }
        }
    }
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// The `-r m<fmt>` marker: strftime(3) of the local time.
fn strftime_now(fmt: &str) -> String {
    let Ok(c) = std::ffi::CString::new(fmt) else {
        return fmt.to_string();
    };
    // SAFETY: time/localtime_r/strftime write only into the buffers given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return fmt.to_string();
        }
        let mut buf = [0u8; 1024];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}
