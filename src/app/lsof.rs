//! rlsof: arguments → validated config → passes of the lsof engine (crate::lsof) →
//! table, `-F` fields, `-t` pids or JSON. `-r`/`+r` repeat the pass.

use super::output;
use crate::cli::lsof::{self as cli, Action, Config, DirArg};
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
            output::warn(prog(), &e.message);
            if e.usage {
                let _ = io::stderr().write_all(cli::usage_text(prog(), false).as_bytes());
            }
            return 1;
        }
    };
    // lsof reads the mount table at start unless only Internet files are asked for,
    // warning about each mount point it cannot stat (-b warns about them all).
    let inet_only = {
        use crate::select::lsof::flag;
        let f = config.selection.flags();
        config.names.is_empty()
            && config.dirs.is_empty()
            && f != 0
            && f & !(flag::NET | flag::NETADDR) == 0
    };
    if config.avoid_blocking && config.warnings && !inet_only {
        // lsof's Readlink() of the first name comes before its first read of the
        // mount table (see `avoided_name`).
        if let Some(first) = config.names.first() {
            warn_avoided("readlink", first.as_bytes());
        }
        warn_avoided_mounts();
    }
    if (config.warnings || config.mount_supplement.is_some())
        && !config.avoid_blocking
        && !inet_only
        && !config.print_mounts
    {
        lsof_mounts(config.warnings, config.mount_supplement.as_deref());
    }
    // lsof walks +d/+D trees while reading the options: a failed one is a usage error.
    let mut dirs_failed = false;
    let mut dirs_walked = false;
    for dir in std::mem::take(&mut config.dirs) {
        match add_dir_names(&mut config.selection.names, &dir) {
            Ok(()) => dirs_walked = true,
            Err(()) => dirs_failed = true,
        }
    }
    if config.cross_given && !dirs_walked {
        output::warn(prog(), "-x must accompany +d or +D");
    }
    if dirs_failed {
        let _ = io::stderr().write_all(cli::usage_text(prog(), false).as_bytes());
        return 1;
    }
    let mounts = files::read_mounts(&ProcRoot::default());
    // lsof's readmnt() notes an nfs, nfs3 or nfs4 mount (HasNFS); -b then keeps
    // it from every stat of a process's files. Read only when not Internet-only.
    config.avoid_stat = config.avoid_blocking
        && !inet_only
        && mounts.iter().any(|m| {
            ["nfs", "nfs3", "nfs4"]
                .iter()
                .any(|t| m.fstype.eq_ignore_ascii_case(t))
        });
    // As lsof, every name is looked at (and each failure told) before giving up.
    let mut names_failed = false;
    for (i, name) in std::mem::take(&mut config.names).into_iter().enumerate() {
        let looked = if config.avoid_blocking {
            Err(avoided_name(&name, i == 0, config.warnings))
        } else {
            files::stat_path(Path::new(&name))
        };
        match looked {
            Ok(st) => {
                let text = name.to_string_lossy().into_owned();
                let mount_point = st.file_type() == libc::S_IFDIR && is_mount_point(&mounts, &name);
                // +f: names must be file systems; -f: a mount point is just a directory.
                if config.names_are_fs == Some(true) && !mount_point {
                    output::warn(prog(), format_args!("not a file system: {text}"));
                    names_failed = true;
                    continue;
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
                let shown = if config.avoid_blocking {
                    crate::escape::escape_lsof(trim_slashes(name.as_bytes()), false).into_owned()
                } else {
                    name.to_string_lossy().into_owned()
                };
                output::warn(prog(), format_args!("status error on {shown}: {msg}"));
                names_failed = true;
            }
        }
    }
    if names_failed {
        return 1;
    }
    if config.print_mounts {
        let mut out = output::stdout();
        write_mount_supplement(&mut out, config.warnings);
        return match out.flush() {
            Ok(()) => 0,
            Err(_) => 1,
        };
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
/// name arguments, as lsof's enter_dir() makes them: DIR with its symbolic links
/// resolved as lsof's Readlink() does, entries by lstat(2); an entry on another file
/// system is left out unless `-x f`, a symbolic link unless `-x l` (then it counts as
/// what it leads to, and a directory it leads to is entered). Each name not open
/// makes the exit status 1. A directory reached again (a link loop) is not walked
/// twice; lsof walks it until the path grows too long.
fn add_dir_names(names: &mut Vec<NameArg>, dir: &DirArg) -> Result<(), ()> {
    let warn = |msg: std::fmt::Arguments<'_>| {
        if dir.warnings {
            output::warn(prog(), msg);
        }
    };
    let given = dir.path.as_bytes();
    if given.is_empty() || given[0] == b'-' || given[0] == b'+' {
        warn(format_args!("+d not followed by a directory path"));
        return Err(());
    }
    let Some(top) = lsof_readlink(given, dir.warnings) else {
        return Err(());
    };
    let top_path = Path::new(std::ffi::OsStr::from_bytes(&top)).to_path_buf();
    let shown = |p: &Path| crate::escape::escape_lsof(p.as_os_str().as_bytes(), false).into_owned();
    let top_meta = match std::fs::metadata(&top_path) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            warn(format_args!(
                "WARNING: not a directory: {}",
                shown(&top_path)
            ));
            return Err(());
        }
        Err(e) => {
            warn(format_args!(
                "WARNING: can't stat({}): {}",
                shown(&top_path),
                strerror(&e)
            ));
            return Err(());
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
    let first = names.len();
    push(names, &top_path, &top_meta);
    let mut walked = std::collections::HashSet::new();
    walked.insert((top_meta.dev(), top_meta.ino()));
    let mut pending = vec![top];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(std::ffi::OsStr::from_bytes(&d)) else {
            continue;
        };
        // lsof joins with a `/` unless the directory already ends in one.
        let mut prefix = d.clone();
        if prefix.last() != Some(&b'/') {
            prefix.push(b'/');
        }
        for e in entries.flatten() {
            if names.len() >= DIR_NAMES_MAX {
                warn(format_args!(
                    "WARNING: more than {DIR_NAMES_MAX} names under {}; the rest are left out",
                    shown(&top_path)
                ));
                return Ok(());
            }
            let mut path = prefix.clone();
            path.extend_from_slice(e.file_name().as_bytes());
            let p = Path::new(std::ffi::OsStr::from_bytes(&path));
            let mut m = match std::fs::symlink_metadata(p) {
                Ok(m) => m,
                Err(e) => {
                    if e.kind() != io::ErrorKind::NotFound {
                        warn(format_args!(
                            "WARNING: can't lstat({}): {}",
                            shown(p),
                            strerror(&e)
                        ));
                    }
                    continue;
                }
            };
            if !dir.cross.fs && m.dev() != top_meta.dev() {
                continue;
            }
            if m.file_type().is_symlink() {
                if !dir.cross.links {
                    continue;
                }
                m = match std::fs::metadata(p) {
                    Ok(m) => m,
                    Err(e) => {
                        if e.kind() != io::ErrorKind::NotFound {
                            warn(format_args!(
                                "WARNING: can't stat({}) symbolc link: {}",
                                shown(p),
                                strerror(&e)
                            ));
                        }
                        continue;
                    }
                };
            }
            if dir.recursive && m.is_dir() && walked.insert((m.dev(), m.ino())) {
                pending.push(path.clone());
            }
            push(names, p, &m);
        }
    }
    if names.len() == first {
        warn(format_args!(
            "WARNING: no files found in directory: {}",
            shown(&top_path)
        ));
        return Err(());
    }
    Ok(())
}

/// strerror(3)'s text, as lsof prints it.
fn strerror(e: &io::Error) -> String {
    let msg = e.to_string();
    msg.split(" (os error").next().unwrap_or(&msg).to_string()
}

/// lsof's Readlink(): each symbolic link among the path's components replaced by
/// its target (an absolute one replaces everything before it, a relative one is
/// joined to what came before), again until nothing changes; nothing else of the
/// path (`.`, `..`, a trailing `/`) is touched. `None` after MAXSYMLINKS (20) rounds.
fn lsof_readlink(path: &[u8], warnings: bool) -> Option<Vec<u8>> {
    let mut current = path.to_vec();
    for _ in 0..=20 {
        let mut assembled: Vec<u8> = Vec::with_capacity(current.len());
        let mut start = 0;
        while start < current.len() {
            let end = current[start + 1..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(current.len(), |p| start + 1 + p);
            let component = &current[start..end];
            let prefix = Path::new(std::ffi::OsStr::from_bytes(&current[..end]));
            let link = std::fs::read_link(prefix).ok();
            let (piece, is_link) = match link {
                Some(t) if t.as_os_str().as_bytes().first() == Some(&b'/') => {
                    assembled = t.as_os_str().as_bytes().to_vec();
                    start = end;
                    continue;
                }
                Some(t) => (t.as_os_str().as_bytes().to_vec(), true),
                None => (component.to_vec(), false),
            };
            let separator = if piece.first() == Some(&b'/') {
                false
            } else if !assembled.is_empty() {
                assembled.last() != Some(&b'/')
            } else {
                is_link && current.first() == Some(&b'/')
            };
            if separator {
                assembled.push(b'/');
            }
            assembled.extend_from_slice(&piece);
            start = end;
        }
        if assembled == current {
            return Some(current);
        }
        current = assembled;
    }
    if warnings {
        output::warn(
            prog(),
            format_args!(
                "too many (> 20) symbolic links in readlink() path: {}",
                crate::escape::escape_lsof(path, false)
            ),
        );
    }
    None
}

/// The mount points lsof's readmnt() keeps, with their devices, in mount order: no
/// automounter, autofs, pipefs or sockfs entries, symbolic links in the directory
/// resolved, a directory seen before left out (a second `/` replaces the first only
/// when it is NFS). One that cannot be stat'ed is warned about (unless -w) and left
/// out, or, with `+m FILE`, kept with the device FILE gives it (0 if none), as lsof
/// says. The device is stat(2)'s.
fn lsof_mounts(warnings: bool, supplement: Option<&std::ffi::OsStr>) -> Vec<(Vec<u8>, u64)> {
    let mut kept: Vec<(Vec<u8>, u64, bool)> = Vec::new();
    let mut table: Option<Vec<(Vec<u8>, u64)>> = None;
    for m in files::read_mounts(&ProcRoot::default()) {
        let automount = m.source.iter().position(|&b| b == b':').is_some_and(|c| {
            m.source[c + 1..]
                .get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"(pid"))
        });
        let fstype = m.fstype.to_ascii_lowercase();
        if automount || matches!(fstype.as_str(), "autofs" | "pipefs" | "sockfs") {
            continue;
        }
        let given = Path::new(std::ffi::OsStr::from_bytes(&m.dir));
        let dir = std::fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf());
        let dir = dir.as_os_str().as_bytes().to_vec();
        if dir.first() != Some(&b'/') {
            continue;
        }
        let nfs = matches!(fstype.as_str(), "nfs" | "nfs3" | "nfs4");
        let before = kept.iter().position(|(d, _, _)| *d == dir);
        if let Some(i) = before {
            if dir != b"/" || kept[i].2 || !nfs {
                continue;
            }
        }
        let shown = crate::escape::escape_lsof(&dir, false).into_owned();
        let dev = match std::fs::metadata(std::ffi::OsStr::from_bytes(&dir)) {
            Ok(st) => st.dev(),
            Err(_) => {
                if warnings {
                    output::warn(
                        prog(),
                        format_args!(
                            "WARNING: can't stat() {} file system {shown}\n      Output information may be incomplete.",
                            crate::escape::escape_lsof(m.fstype.as_bytes(), false)
                        ),
                    );
                }
                let Some(file) = supplement else { continue };
                let table = table.get_or_insert_with(|| read_supplement(file, warnings));
                let dev = table.iter().find(|(d, _)| *d == dir).map_or(0, |(_, v)| *v);
                let dev_text = if dev == 0 {
                    "0".into()
                } else {
                    format!("{dev:#x}")
                };
                // lsof says this even under -w.
                output::warn(
                    prog(),
                    format_args!(
                        "assuming dev={dev_text} for {shown} from {}",
                        crate::escape::escape_lsof(file.as_bytes(), false)
                    ),
                );
                dev
            }
        };
        match before {
            Some(i) => kept[i] = (dir, dev, nfs),
            None => kept.push((dir, dev, nfs)),
        }
    }
    kept.into_iter().map(|(d, dev, _)| (d, dev)).collect()
}

/// A mount supplement file (`+m` output: `DIR 0xDEV` lines), as lsof reads it: any
/// bad line makes it count as empty. Bounded like every file read.
fn read_supplement(file: &std::ffi::OsStr, warnings: bool) -> Vec<(Vec<u8>, u64)> {
    let shown = crate::escape::escape_lsof(file.as_bytes(), false).into_owned();
    let warn = |msg: std::fmt::Arguments<'_>| {
        if warnings {
            output::warn(prog(), msg);
        }
    };
    let data = match crate::proc::read_file_max(Path::new(file), 16 << 20) {
        Ok(d) => d,
        Err(e) => {
            warn(format_args!("WARNING: access {shown}: {}", strerror(&e)));
            return Vec::new();
        }
    };
    let mut out: Vec<(Vec<u8>, u64, usize)> = Vec::new();
    let mut bad = false;
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (n, line) in lines.into_iter().enumerate() {
        let text = crate::escape::escape_lsof(line, false);
        let ln = n + 1;
        if line.first() != Some(&b'/') {
            warn(format_args!("{shown} line {ln}: no path: \"{text}\""));
            bad = true;
            continue;
        }
        let Some(sp) = line
            .iter()
            .position(|&b| b == b' ')
            .filter(|&p| line[p + 1..].starts_with(b"0x"))
        else {
            warn(format_args!("{shown} line {ln}: no device: \"{text}\""));
            bad = true;
            continue;
        };
        let hex = &line[sp + 3..];
        let dev = std::str::from_utf8(hex).ok().and_then(|h| {
            h.bytes()
                .all(|c| c.is_ascii_hexdigit())
                .then(|| u64::from_str_radix(h, 16).unwrap_or(0))
        });
        let Some(dev) = dev else {
            warn(format_args!(
                "{shown} line {ln}: illegal device: \"{text}\""
            ));
            bad = true;
            continue;
        };
        let path = line[..sp].to_vec();
        if let Some(prev) = out.iter().find(|(p, _, _)| *p == path) {
            if prev.1 != dev {
                warn(format_args!(
                    "{shown} line {ln} path duplicate of {}: \"{text}\"",
                    prev.2
                ));
                bad = true;
            }
            continue;
        }
        out.push((path, dev, ln));
    }
    if bad {
        return Vec::new();
    }
    out.into_iter().map(|(p, d, _)| (p, d)).collect()
}

/// `+m`: lsof's mount supplement, `DIR 0xDEV` for each mount point it keeps. Control
/// bytes in DIR are escaped (lsof prints them raw).
fn write_mount_supplement(out: &mut impl Write, warnings: bool) {
    for (dir, dev) in lsof_mounts(warnings, None) {
        let _ = writeln!(out, "{} {dev:#x}", crate::escape::escape_lsof(&dir, false));
    }
}

/// `-b`: lsof avoids stat(2) and readlink(2) of every mounted file system, which
/// might block, and says so for each (rlsof reads the mount table only).
/// `-b`: lsof's ck_file_arg() neither readlink()s nor stat()s a name (it cannot
/// match a mount point either: -b left the mount table without devices), so every
/// name fails with EWOULDBLOCK; said for each (the first one's readlink before the
/// mount table's warnings, by the caller).
fn avoided_name(name: &OsString, first: bool, warnings: bool) -> io::Error {
    if warnings {
        if !first {
            warn_avoided("readlink", name.as_bytes());
        }
        warn_avoided("stat", trim_slashes(name.as_bytes()));
    }
    io::Error::from_raw_os_error(libc::EWOULDBLOCK)
}

/// A path without the `/`s it ends in (but `/` itself), as lsof takes a name.
fn trim_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// `avoiding readlink(PATH): -b was specified.` (or stat).
fn warn_avoided(call: &str, path: &[u8]) {
    let path = crate::escape::escape_lsof(path, false);
    output::warn(
        prog(),
        format_args!("avoiding {call}({path}): -b was specified."),
    );
}

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
    let mut warned = false;
    loop {
        if config.repeat.is_some() {
            names.new_pass();
        }
        let (procs, status, not_found, avoided) = pass(config, root, &mut names)?;
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
