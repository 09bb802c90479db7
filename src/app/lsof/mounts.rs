//! lsof's mount table (its readmnt()): the mount points it keeps and their devices,
//! the `+m` supplement file it writes and reads back for mounts it cannot stat.

use super::prog;
use crate::app::output;
use crate::cli::strerror;
use crate::proc::{files, ProcRoot};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The mount points lsof's readmnt() keeps, with their devices, in mount order: no
/// automounter, autofs, pipefs or sockfs entries, symbolic links in the directory
/// resolved, a directory seen before left out (a second `/` replaces the first only
/// when it is NFS). One that cannot be stat'ed is warned about (unless -w) and left
/// out, or, with `+m FILE`, kept with the device FILE gives it (0 if none), as lsof
/// says. The device is stat(2)'s.
pub(super) fn lsof_mounts(
    warnings: bool,
    supplement: Option<&std::ffi::OsStr>,
) -> Vec<(Vec<u8>, u64)> {
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
pub(super) fn write_mount_supplement(out: &mut impl Write, warnings: bool) {
    for (dir, dev) in lsof_mounts(warnings, None) {
        let _ = writeln!(out, "{} {dev:#x}", crate::escape::escape_lsof(&dir, false));
    }
}
