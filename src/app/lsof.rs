//! rlsof: arguments → validated config → passes of the lsof engine (crate::lsof) →
//! table, `-F` fields, `-t` pids or JSON. `-r`/`+r` repeat the pass.

use super::output;
use crate::cli::lsof::{self as cli, Action, Config};
use crate::lsof::{pass, Names};
use crate::proc::{files, ProcRoot};
use crate::render::lsof::{self as view, TableOptions};
use crate::resolve::{DuplicatePolicy, Services};
use crate::select::lsof::{Lookups, NameArg};
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

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
            let _ = writeln!(io::stderr(), "{}", cli::command().render_help());
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
            output::warn(prog(), &e.message);
            if e.usage {
                let _ = writeln!(
                    io::stderr(),
                    " {}\nUse the ``-h'' option to get more help information.",
                    cli::USAGE
                );
            }
            return 1;
        }
    };
    if config.avoid_blocking && config.warnings {
        warn_avoided_mounts();
    }
    let mounts = files::read_mounts(&ProcRoot::default());
    for name in std::mem::take(&mut config.names) {
        match files::stat_path(Path::new(&name)) {
            Ok(st) => {
                let text = name.to_string_lossy().into_owned();
                let mount_point = st.file_type() == libc::S_IFDIR && is_mount_point(&mounts, &name);
                // +f: names must be file systems; -f: a mount point is just a directory.
                if config.names_are_fs == Some(true) && !mount_point {
                    output::warn(prog(), format_args!("not a file system: {text}"));
                    return 1;
                }
                config.selection.names.push(NameArg {
                    text,
                    dev: st.dev,
                    ino: st.ino,
                    rdev: matches!(st.file_type(), libc::S_IFCHR | libc::S_IFBLK)
                        .then_some(st.rdev),
                    whole_fs: mount_point && config.names_are_fs != Some(false),
                });
            }
            // -Q: a name that cannot be found is no failure and not mentioned; it
            // still selects (nothing), as in lsof.
            Err(_) if config.quiet_search => config.selection.names.push(NameArg {
                text: name.to_string_lossy().into_owned(),
                dev: u64::MAX,
                ino: u64::MAX,
                rdev: None,
                whole_fs: false,
            }),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.split(" (os error").next().unwrap_or(&msg);
                output::warn(
                    prog(),
                    format_args!("status error on {}: {msg}", name.to_string_lossy()),
                );
                return 1;
            }
        }
    }
    for (dir, recursive) in std::mem::take(&mut config.dirs) {
        if let Err(status) = add_dir_names(&mut config.selection.names, &dir, recursive) {
            return status;
        }
    }
    config.selection.index_names();
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
    let status = if incomplete.is_some() {
        status.max(1)
    } else {
        status
    };
    output::exhaustion_status(prog(), status)
}

/// Whether `path` (as given, or resolved) is where a file system is mounted.
fn is_mount_point(mounts: &[files::Mount], path: &OsString) -> bool {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
    let want = resolved.as_os_str().as_bytes();
    mounts.iter().any(|m| m.dir == want)
}

/// Most names `+d`/`+D` enter, so a hostile tree cannot exhaust memory.
const DIR_NAMES_MAX: usize = 1_000_000;

/// `+d DIR` / `+D DIR`: DIR and the files in it (in the whole tree with `+D`) become
/// name arguments, as lsof enters them: each one not open makes the exit status 1.
/// Symbolic links are not followed and other file systems are not entered.
fn add_dir_names(names: &mut Vec<NameArg>, dir: &OsString, recursive: bool) -> Result<(), u8> {
    let top = match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            output::warn(
                prog(),
                format_args!("not a directory: {}", dir.to_string_lossy()),
            );
            return Err(1);
        }
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
            output::warn(
                prog(),
                format_args!("WARNING: can't stat({}): {msg}", dir.to_string_lossy()),
            );
            return Err(1);
        }
    };
    let push = |names: &mut Vec<NameArg>, path: &Path, m: &std::fs::Metadata| {
        let ft = m.file_type();
        names.push(NameArg {
            text: path.to_string_lossy().into_owned(),
            dev: m.dev(),
            ino: m.ino(),
            rdev: (ft.is_char_device() || ft.is_block_device()).then(|| m.rdev()),
            whole_fs: false,
        });
    };
    let top_path = Path::new(dir).to_path_buf();
    push(names, &top_path, &top);
    let mut pending = vec![top_path];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if names.len() >= DIR_NAMES_MAX {
                output::warn(
                    prog(),
                    format_args!(
                        "WARNING: more than {DIR_NAMES_MAX} names under {}; the rest are left out",
                        dir.to_string_lossy()
                    ),
                );
                return Ok(());
            }
            let path = e.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            push(names, &path, &m);
            if recursive && m.is_dir() && m.dev() == top.dev() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

/// `-b`: lsof avoids stat(2) and readlink(2) of every mounted file system, which
/// might block, and says so for each (rlsof reads the mount table only).
fn warn_avoided_mounts() {
    for m in files::read_mounts(&ProcRoot::default()) {
        let dir = crate::escape::escape_lsof(&m.dir, false);
        output::warn(
            prog(),
            format_args!("avoiding readlink({dir}): -b was specified."),
        );
        output::warn(
            prog(),
            format_args!("avoiding stat({dir}): -b was specified."),
        );
        output::warn(
            prog(),
            format_args!(
                "WARNING: can't stat() {} file system {dir}\n      Output information may be incomplete.",
                m.fstype
            ),
        );
    }
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
    let mut first = true;
    let mut best_status = 1;
    let mut passes = 0u64;
    loop {
        let (procs, status, not_found) = pass(config, root, &mut names)?;
        passes += 1;
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
        for m in &not_found {
            writeln!(out, "{}: {m}", prog())?;
        }
        let Some(repeat) = &config.repeat else {
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
