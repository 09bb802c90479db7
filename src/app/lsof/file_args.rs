//! lsof's file arguments: names stat'ed into (device, inode) pairs, mount points
//! meaning their whole file system, `+d`/`+D` trees walked into names, and `-b`'s
//! avoidance of every stat and readlink that could block, with lsof's warnings.

use super::mounts::{lsof_mounts, warn_avoided, write_mount_supplement, LsofMount};
use super::prog;
use crate::app::output;
use crate::cli::lsof::{self as cli, Config, DirArg};
use crate::cli::strerror;
use crate::proc::{files, ProcRoot};
use crate::select::lsof::NameArg;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// What the arguments leave to do: list the files (`failed`: some name could not be
/// looked at, which makes the exit status 1 whatever is found), or exit with a
/// status (no name could be, `+m`'s table written).
pub(super) enum Next {
    List { failed: bool },
    Exit(u8),
}

/// Resolves `config.names` and `config.dirs` into the selection's name arguments,
/// reading the mount table first as lsof does.
pub(super) fn resolve(config: &mut Config) -> Next {
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
    // lsof walks +d/+D trees while reading the options, before anything reads the
    // mount table: a failed one is a usage error.
    let mut dirs_failed = false;
    let mut dirs_walked = false;
    // A tree walked before -b read lsof's mount table (to know its mount points)
    // without -b: later reads reuse it, so -b avoids nothing of it.
    let mut mounts_read_before_b = false;
    for dir in std::mem::take(&mut config.dirs) {
        match add_dir_names(&mut config.selection.names, &dir) {
            Ok(()) => {
                dirs_walked = true;
                mounts_read_before_b |= !dir.avoid_blocking;
            }
            Err(()) => dirs_failed = true,
        }
    }
    let avoid_mounts = config.avoid_blocking && !mounts_read_before_b;
    if config.cross_given && !dirs_walked {
        output::warn(prog(), "-x must accompany +d or +D");
    }
    if dirs_failed {
        let _ = io::stderr().write_all(cli::usage_text(prog(), false).as_bytes());
        return Next::Exit(1);
    }
    if config.avoid_blocking && config.warnings && !inet_only {
        // lsof's Readlink() of the first name comes before its first read of the
        // mount table (see `avoided_name`).
        if let Some(first) = config.names.first() {
            warn_avoided("readlink", first.as_bytes());
        }
    }
    // lsof's mount table, read (and warned about) at start unless only Internet
    // files are asked for. Under -b names are matched against it; and it says which
    // device is the mqueue file system's.
    let table = if inet_only || (config.print_mounts && !avoid_mounts) {
        Vec::new()
    } else {
        lsof_mounts(
            config.warnings,
            config.mount_supplement.as_deref(),
            avoid_mounts,
        )
    };
    if !inet_only && config.proc_root.is_none() {
        // lsof's MqueueDev: the device of the last mqueue mount it kept (-b keeps
        // one only with a supplement's device; none kept: no file is PSXMQ).
        config.mqueue_devs = Some(
            table
                .iter()
                .rev()
                .find(|m| m.mqueue)
                .map(|m| m.dev.unwrap_or(0))
                .into_iter()
                .collect(),
        );
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
    let names_before = config.selection.names.len();
    for (i, name) in std::mem::take(&mut config.names).into_iter().enumerate() {
        let looked = if config.avoid_blocking {
            if config.warnings && i > 0 {
                warn_avoided("readlink", name.as_bytes());
            }
            match mount_names(&table, &name, config.names_are_fs) {
                MountMatch::Mounts(found) => {
                    config.selection.names.extend(found);
                    continue;
                }
                MountMatch::NotFs => {
                    output::warn(
                        prog(),
                        format_args!(
                            "not a file system: {}",
                            crate::escape::escape_lsof(name.as_bytes(), false)
                        ),
                    );
                    names_failed = true;
                    continue;
                }
                MountMatch::None => Err(avoided_name(&name, config.warnings)),
            }
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
                let msg = strerror(&e);
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
    // lsof's ck_file_arg() gives up only when no name could be looked at; else the
    // others are listed and the failure is the exit status.
    if names_failed && config.selection.names.len() == names_before {
        return Next::Exit(1);
    }
    if config.print_mounts {
        let mut out = output::stdout();
        // Under -b no mount point can be stat'ed: lsof prints none.
        if !avoid_mounts {
            write_mount_supplement(&mut out, config.warnings);
        }
        return Next::Exit(match out.flush() {
            Ok(()) => 0,
            Err(_) => 1,
        });
    }
    config.selection.index_names();
    Next::List {
        failed: names_failed,
    }
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
    let shown = |p: &Path| crate::escape::escape_lsof(p.as_os_str().as_bytes(), false).into_owned();
    if dir.avoid_blocking {
        // -b before +d: lsof's Readlink() and statsafely() refuse, and the stat's
        // EWOULDBLOCK fails the directory.
        if dir.warnings {
            warn_avoided("readlink", given);
            warn_avoided("stat", given);
        }
        warn(format_args!(
            "WARNING: can't stat({}): {}",
            shown(Path::new(&dir.path)),
            strerror(&io::Error::from_raw_os_error(libc::EWOULDBLOCK))
        ));
        return Err(());
    }
    let Some(top) = lsof_readlink(given, dir.warnings) else {
        return Err(());
    };
    let top_path = Path::new(std::ffi::OsStr::from_bytes(&top)).to_path_buf();
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

/// What a name given under `-b` is in lsof's mount table (its ck_file_arg()).
enum MountMatch {
    /// Mount points, each meaning its whole file system by the table's device.
    Mounts(Vec<NameArg>),
    /// `+f` and not a mount point (or, by `+f`, a mounted file system's name).
    NotFs,
    /// Not a mount point: a file, which `-b` will not stat.
    None,
}

/// lsof compares a name (without its trailing `/`s; -b left it as given) with each
/// mount point of its table, and with `+f` also with what is mounted there; `-f`
/// compares none. Under -b a mount point has a device only from a supplement (`+m
/// FILE`), else the table is empty or its device 0.
fn mount_names(table: &[LsofMount], name: &OsString, fs: Option<bool>) -> MountMatch {
    if fs == Some(false) {
        return MountMatch::None;
    }
    let path = trim_slashes(name.as_bytes());
    let mut found: Vec<NameArg> = Vec::new();
    let mut seen: Vec<(&[u8], u64)> = Vec::new();
    // lsof's table is a list built at its head: last mount first.
    for m in table.iter().rev() {
        if m.dir != path && !(fs == Some(true) && m.fsname == path) {
            continue;
        }
        let dev = m.dev.unwrap_or(0);
        if seen.contains(&(&m.dir[..], dev)) {
            continue;
        }
        seen.push((&m.dir, dev));
        found.push(NameArg {
            text: name.to_string_lossy().into_owned(),
            dev,
            ino: 0,
            rdev: None,
            whole_fs: true,
        });
    }
    match (found.is_empty(), fs) {
        (false, _) => MountMatch::Mounts(found),
        (true, Some(true)) => MountMatch::NotFs,
        (true, _) => MountMatch::None,
    }
}

/// `-b`: lsof's ck_file_arg() neither readlink()s nor stat()s a name that is no
/// mount point, so it fails with EWOULDBLOCK; said (its readlink by the caller).
fn avoided_name(name: &OsString, warnings: bool) -> io::Error {
    if warnings {
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
