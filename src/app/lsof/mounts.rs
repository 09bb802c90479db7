//! lsof's mount table (its readmnt()): the mount points it keeps and their devices,
//! the `+m` supplement file it writes and reads back for mounts it cannot stat, and
//! `-b`'s avoidance of every readlink and stat of them.

use super::prog;
use crate::app::output;
use crate::cli::strerror;
use crate::proc::{files, ProcRoot};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A mount point lsof keeps (its `struct mounts`).
pub(super) struct LsofMount {
    /// The directory: symbolic links resolved, or as the table gives it under `-b`.
    pub dir: Vec<u8>,
    /// stat(2)'s device, or the supplement's; `None` when neither gave one (lsof
    /// then matches the mount by device 0).
    pub dev: Option<u64>,
    /// What is mounted (the table's first field), as lsof's fsnmres under `-b`.
    pub fsname: Vec<u8>,
    /// An `mqueue` file system: its device makes files PSXMQ (lsof's MqueueDev).
    pub mqueue: bool,
}

/// The mount points lsof's readmnt() keeps, with their devices, in mount order: no
/// automounter, autofs, pipefs or sockfs entries, symbolic links in the directory
/// resolved, a directory seen before left out (a second `/` replaces the first only
/// when it is NFS). One that cannot be stat'ed is warned about (unless -w) and left
/// out, or, with `+m FILE`, kept with the device FILE gives it, as lsof says. The
/// device is stat(2)'s.
///
/// `avoid_blocking` (`-b`): nothing is readlink()ed or stat()ed, each said (unless
/// -w), so every mount point is one that cannot be stat'ed; a directory is then
/// compared as the table gives it, and a kept one's file system name (when a path)
/// is "avoided" too, as lsof's readmnt() goes on to look at it.
pub(super) fn lsof_mounts(
    warnings: bool,
    supplement: Option<&OsStr>,
    avoid_blocking: bool,
) -> Vec<LsofMount> {
    let mut kept: Vec<(LsofMount, bool)> = Vec::new();
    let mut supplement = supplement.map(Supplement::new);
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
        let dir = if avoid_blocking {
            if warnings {
                warn_avoided("readlink", &m.dir);
            }
            m.dir.clone()
        } else {
            let given = Path::new(OsStr::from_bytes(&m.dir));
            let dir = std::fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf());
            dir.as_os_str().as_bytes().to_vec()
        };
        if dir.first() != Some(&b'/') {
            continue;
        }
        let nfs = matches!(fstype.as_str(), "nfs" | "nfs3" | "nfs4");
        let before = kept.iter().position(|(k, _)| k.dir == dir);
        if let Some(i) = before {
            if dir != b"/" || kept[i].1 || !nfs {
                continue;
            }
        }
        let shown = crate::escape::escape_lsof(&dir, false).into_owned();
        let stat = if avoid_blocking {
            if warnings {
                warn_avoided("stat", &dir);
            }
            None
        } else {
            std::fs::metadata(OsStr::from_bytes(&dir)).ok()
        };
        let dev = match stat {
            Some(st) => Some(st.dev()),
            None => {
                if warnings {
                    output::warn(
                        prog(),
                        format_args!(
                            "WARNING: can't stat() {} file system {shown}\n      Output information may be incomplete.",
                            crate::escape::escape_lsof(m.fstype.as_bytes(), false)
                        ),
                    );
                }
                let Some(supplement) = supplement.as_mut() else {
                    continue;
                };
                let dev = supplement.device(&dir, warnings);
                // lsof prints its stat buffer's device: the supplement's when found;
                // else what that buffer last held: 0 after the failed stat (its stat
                // child hands back a zeroed buffer), but under -b (no stat made) the
                // device of the last mount point the supplement gave one.
                let said = dev.unwrap_or(if avoid_blocking {
                    supplement.last_found
                } else {
                    0
                });
                let said = if said == 0 {
                    "0".into()
                } else {
                    format!("{said:#x}")
                };
                // lsof says this even under -w.
                output::warn(
                    prog(),
                    format_args!(
                        "assuming dev={said} for {shown} from {}",
                        crate::escape::escape_lsof(supplement.file.as_bytes(), false)
                    ),
                );
                dev
            }
        };
        if avoid_blocking && warnings && m.source.first() == Some(&b'/') {
            warn_avoided("readlink", &m.source);
            warn_avoided("stat", &m.source);
        }
        let mount = LsofMount {
            dir,
            dev,
            fsname: m.source,
            mqueue: m.fstype == "mqueue",
        };
        match before {
            Some(i) => kept[i] = (mount, nfs),
            None => kept.push((mount, nfs)),
        }
    }
    kept.into_iter().map(|(m, _)| m).collect()
}

/// `avoiding readlink(PATH): -b was specified.` (or stat).
pub(super) fn warn_avoided(call: &str, path: &[u8]) {
    let path = crate::escape::escape_lsof(path, false);
    output::warn(
        prog(),
        format_args!("avoiding {call}({path}): -b was specified."),
    );
}

/// A mount supplement file (`+m` output: `DIR 0xDEV` lines), read when the first
/// mount point needs it, as lsof's getmntdev() reads it.
struct Supplement<'a> {
    file: &'a OsStr,
    /// `None` until read; then its entries (path, device), empty after any error.
    entries: Option<Vec<(Vec<u8>, u64)>>,
    /// The device of the last mount point found in it (what `-b` leaves in lsof's
    /// stat buffer).
    last_found: u64,
}

/// lsof reads the supplement with fgets() into a buffer of 2 * MAXPATHLEN + 1 bytes
/// (asking for one less): a longer line is taken in pieces of this many bytes.
const SUPPLEMENT_PIECE: usize = 2 * 4096 - 1;

impl<'a> Supplement<'a> {
    fn new(file: &'a OsStr) -> Self {
        Supplement {
            file,
            entries: None,
            last_found: 0,
        }
    }

    /// The device the supplement gives `dir`. The first call reads the file, which
    /// lsof does with `dir` at hand: it takes a line for a duplicate of an earlier
    /// one only when the path is as long as that first `dir` (it compares the
    /// lengths of the wrong paths); otherwise both stay and the later one is found.
    fn device(&mut self, dir: &[u8], warnings: bool) -> Option<u64> {
        let file = self.file;
        let entries = self
            .entries
            .get_or_insert_with(|| read_supplement(file, dir.len(), warnings));
        let dev = entries.iter().rev().find(|(p, _)| p == dir).map(|e| e.1);
        if let Some(dev) = dev {
            self.last_found = dev;
        }
        dev
    }
}

/// Reads the supplement as lsof's getmntdev() does: any bad line (said unless -w,
/// but a duplicate always) makes it count as empty. Bounded like every file read.
fn read_supplement(file: &OsStr, first_len: usize, warnings: bool) -> Vec<(Vec<u8>, u64)> {
    let shown = crate::escape::escape_lsof(file.as_bytes(), false).into_owned();
    let warn = |msg: std::fmt::Arguments<'_>| {
        if warnings {
            output::warn(prog(), msg);
        }
    };
    // lsof: access(R_OK), then fopen() (which follows links and opens a directory,
    // whose read then fails).
    if let Err(e) = nix::unistd::access(Path::new(file), nix::unistd::AccessFlags::R_OK) {
        let e = std::io::Error::from_raw_os_error(e as i32);
        warn(format_args!("WARNING: access {shown}: {}", strerror(&e)));
        return Vec::new();
    }
    let resolved = std::fs::canonicalize(Path::new(file));
    let data = match resolved.and_then(|p| crate::proc::read_file_max(&p, 16 << 20)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            warn(format_args!("error reading {shown}"));
            return Vec::new();
        }
        Err(e) => {
            warn(format_args!("can't open({shown}): {}", strerror(&e)));
            return Vec::new();
        }
    };
    // (path, device, line number)
    let mut out: Vec<(Vec<u8>, u64, usize)> = Vec::new();
    let mut bad = false;
    let mut rest = &data[..];
    let mut ln = 0;
    while !rest.is_empty() {
        // One fgets(): up to a newline or the buffer's size.
        let end = rest
            .iter()
            .take(SUPPLEMENT_PIECE)
            .position(|&b| b == b'\n')
            .map_or(rest.len().min(SUPPLEMENT_PIECE), |p| p + 1);
        let piece = &rest[..end];
        rest = &rest[end..];
        ln += 1;
        // A C string: it ends at a NUL, and its newline is cut off.
        let line = piece
            .iter()
            .position(|&b| b == b'\0' || b == b'\n')
            .map_or(piece, |p| &piece[..p]);
        let text = crate::escape::escape_lsof(line, false);
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
        // Hex digits to the end (none is 0), the top bits shifted out as in C.
        let hex = &line[sp + 3..];
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            warn(format_args!(
                "{shown} line {ln}: illegal device: \"{text}\""
            ));
            bad = true;
            continue;
        }
        let dev = hex.iter().fold(0u64, |dev, &c| {
            let digit = char::from(c).to_digit(16).map_or(0, u64::from);
            (dev << 4) | digit
        });
        let path = line[..sp].to_vec();
        let duplicate = (path.len() == first_len)
            .then(|| out.iter().find(|(p, _, _)| *p == path))
            .flatten();
        if let Some(prev) = duplicate {
            if prev.1 != dev {
                // lsof says this even under -w.
                output::warn(
                    prog(),
                    format_args!("{shown} line {ln} path duplicate of {}: \"{text}\"", prev.2),
                );
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
    for m in lsof_mounts(warnings, None, false) {
        let dev = m.dev.unwrap_or(0);
        let _ = writeln!(
            out,
            "{} {dev:#x}",
            crate::escape::escape_lsof(&m.dir, false)
        );
    }
}
