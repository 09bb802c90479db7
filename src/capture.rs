//! `--capture DIR`: write the part of /proc (and /sys) that the tools read into DIR, so
//! an incident responder can collect evidence on a suspect host and analyse it
//! anywhere with `--proc-root DIR/proc`. Links are recorded as symlinks with the same
//! target text; nothing is followed into the filesystem.
//!
//! Root runs this on a host an attacker may control, so nothing is written through a
//! path someone else could have prepared: DIR must not exist and is created 0700 by us;
//! every file and directory below it is made relative to its parent's descriptor with
//! O_NOFOLLOW|O_EXCL|O_CREAT (files 0600). What is read is read with the one bounded
//! reader ([`crate::proc::open_file`]), so a hostile source tree cannot hang or
//! exhaust the capture either.
//!
//! Offline readers must not look at the analyst's disk, so the stat results lsof prints
//! (of fd targets, cwd, root, exe and mapped files) are recorded in `PID/stats`, and the
//! owner of each process is in its captured `status`. `manifest.json` says
//! `"complete": false` until the last file is written; readers warn about (and exit
//! non-zero on) a capture that was cut short.

use crate::outdir::OutDir;
use crate::proc::files::{self, FileStat};
use crate::proc::{process, ProcRoot};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The /proc/PID/net files every view reads.
pub const NET_FILES: &[&str] = &[
    "tcp",
    "tcp6",
    "udp",
    "udp6",
    "udplite",
    "udplite6",
    "raw",
    "raw6",
    "unix",
    "packet",
    "netlink",
    "icmp",
    "icmp6",
    "route",
    "rt_cache",
    "ipv6_route",
    "arp",
    "dev",
    "if_inet6",
    "igmp",
    "igmp6",
    "snmp",
    "snmp6",
    "netstat",
    "dev_mcast",
];

/// Per-process files (plain) and links (recorded as symlinks).
const PROCESS_FILES: &[&str] = &["comm", "cmdline", "status", "stat", "maps"];
const PROCESS_LINKS: &[&str] = &["exe", "cwd", "root"];
/// Per-interface sysfs attributes beyond those the -i reader needs
/// (`dev::SYSFS_LINK_FILES`): the audit's second source.
const SYS_NET_EXTRA: &[&str] = &["ifindex"];

/// The per-process file of recorded stat results (see [`read_stats`]).
pub const STATS_FILE: &str = "stats";
/// The per-process file holding the owner of /proc/PID (lsof's USER), in decimal.
pub const OWNER_FILE: &str = "owner";

#[derive(Debug, Default)]
pub struct CaptureSummary {
    pub processes: usize,
    pub namespaces: usize,
    pub fd_links: usize,
}

/// Copies the regular file `from` to a new `name` in `dir`, streaming (bounded by the
/// reader's cap); `Ok(false)` when the source cannot be read (gone, not a regular file).
fn copy_from(dir: &OutDir, from: &Path, name: impl AsRef<OsStr>) -> io::Result<bool> {
    let Ok(mut src) = crate::proc::open_file(from) else {
        return Ok(false);
    };
    let mut out = dir.create_file(name)?;
    match io::copy(&mut src, &mut out) {
        Ok(_) => Ok(true),
        // A source that fails mid-read (a process exiting) is recorded as far as it
        // went; a failed write (a full disk) ends the capture.
        Err(e) if is_write_error(&e) => Err(e),
        Err(_) => Ok(true),
    }
}

fn write(dir: &OutDir, name: &str, data: &[u8]) -> io::Result<()> {
    dir.create_file(name)?.write_all(data)
}

/// Whether an error of io::copy came from the writing side.
fn is_write_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) | Some(libc::EROFS)
    )
}

/// Writes the capture into the new directory `dest`. Processes that vanish while we
/// copy are skipped.
pub fn capture(root: &ProcRoot, dest: &Path) -> io::Result<CaptureSummary> {
    let top = OutDir::create_new(dest)?;
    // First, so a capture cut short (a full disk) says so.
    write_manifest(
        root,
        &top,
        &CaptureSummary::default(),
        false,
        "manifest.json",
    )?;
    let proc_out = top.create_subdir("proc")?;
    let mut summary = CaptureSummary::default();
    let mut namespaces = HashSet::new();
    let src = root.path();

    // The capturing process's own namespace doubles as the tree's top-level net/.
    let net_out = proc_out.create_subdir("net")?;
    for file in NET_FILES {
        copy_from(&net_out, &src.join("net").join(file), file)?;
    }
    copy_from(&proc_out, &src.join("locks"), "locks")?;
    // `self` is the capturing process: readers take its namespace as their own.
    if let Ok(target) = std::fs::read_link(src.join("self/ns/net")) {
        proc_out
            .create_subdir("self")?
            .create_subdir("ns")?
            .create_symlink("net", target.as_os_str().as_bytes())?;
    }

    for pid in process::pids(root)? {
        if capture_process(root, &proc_out, pid, &mut summary, &mut namespaces)? {
            summary.processes += 1;
        }
    }
    summary.namespaces = namespaces.len();

    capture_sys(root, &top)?;
    capture_netns_names(root, &top)?;
    // The complete manifest replaces the first one in one step.
    write_manifest(root, &top, &summary, true, "manifest.json.new")?;
    top.rename("manifest.json.new", "manifest.json")?;
    Ok(summary)
}

/// Copies one process; `Ok(false)` when it was gone before anything was read.
fn capture_process(
    root: &ProcRoot,
    proc_out: &OutDir,
    pid: u32,
    summary: &mut CaptureSummary,
    namespaces: &mut HashSet<u64>,
) -> io::Result<bool> {
    let src = root.path().join(pid.to_string());
    let pid_out = proc_out.create_subdir(pid.to_string())?;
    let mut copied = false;
    for file in PROCESS_FILES {
        copied |= copy_from(&pid_out, &src.join(file), file)?;
    }
    if !copied {
        // Gone before we looked: leave no empty pid directory behind.
        drop(pid_out);
        let _ = proc_out.remove_empty_subdir(&pid.to_string());
        return Ok(false);
    }
    // The owner of /proc/PID (the euid, or root for a process that is not dumpable):
    // the copy's own directory belongs to whoever captured it.
    if let Ok(meta) = std::fs::symlink_metadata(&src) {
        use std::os::unix::fs::MetadataExt;
        write(&pid_out, OWNER_FILE, format!("{}\n", meta.uid()).as_bytes())?;
    }
    let mut stats = Vec::new();
    for link in PROCESS_LINKS {
        if let Ok(target) = std::fs::read_link(src.join(link)) {
            pid_out.create_symlink(link, target.as_os_str().as_bytes())?;
            record_stat(&mut stats, link, None, files::stat_path(&src.join(link)));
        }
    }
    if let Ok(target) = std::fs::read_link(src.join("ns/net")) {
        pid_out
            .create_subdir("ns")?
            .create_symlink("net", target.as_os_str().as_bytes())?;
    }
    // Mapped files by their position in maps (a path may hold any byte).
    for (index, m) in files::read_maps(root, pid).iter().enumerate() {
        let st = files::stat_path(Path::new(OsStr::from_bytes(&m.path)));
        record_stat(&mut stats, &format!("map/{index}"), None, st);
    }
    let fd_out = pid_out.create_subdir("fd")?;
    let fdinfo_out = pid_out.create_subdir("fdinfo")?;
    let mut entries = Vec::new();
    let _ = process::for_each_fd_entry(
        root,
        pid,
        |_| process::FdWanted::Full,
        |e| {
            if e.readlink_errno.is_none() {
                entries.push((e.fd, e.link.to_vec(), e.link_mode, e.stat));
            }
        },
    );
    for (fd, target, link_mode, stat) in entries {
        // Offsets and open flags (rlsof's SIZE/OFF and mode) live in fdinfo.
        copy_from(
            &fdinfo_out,
            &src.join(format!("fdinfo/{fd}")),
            fd.to_string(),
        )?;
        fd_out.create_symlink(fd.to_string(), &target)?;
        record_stat(
            &mut stats,
            &format!("fd/{fd}"),
            link_mode,
            stat.map_err(io::Error::from_raw_os_error),
        );
        summary.fd_links += 1;
    }
    write(&pid_out, STATS_FILE, &stats)?;
    // One process per network namespace carries that namespace's tables.
    if let Some(ns) = process::netns_inode(root, pid) {
        if namespaces.insert(ns) {
            let net_out = pid_out.create_subdir("net")?;
            for file in NET_FILES {
                copy_from(&net_out, &src.join("net").join(file), file)?;
            }
        }
    }
    Ok(true)
}

/// One line of `PID/stats`: `KEY LINKMODE MODE DEV RDEV INO SIZE NLINK` (decimal,
/// `-` for an unknown link mode) or `KEY LINKMODE error ERRNO`.
fn record_stat(out: &mut Vec<u8>, key: &str, link_mode: Option<u32>, st: io::Result<FileStat>) {
    let link_mode = link_mode.map_or_else(|| "-".to_string(), |m| m.to_string());
    let line = match st {
        Ok(s) => format!(
            "{key} {link_mode} {} {} {} {} {} {}\n",
            s.mode, s.dev, s.rdev, s.ino, s.size, s.nlink
        ),
        Err(e) => format!(
            "{key} {link_mode} error {}\n",
            e.raw_os_error().unwrap_or(libc::EIO)
        ),
    };
    out.extend_from_slice(line.as_bytes());
}

/// A recorded stat result: the link's own mode and stat(2) of its target (or errno).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedStat {
    pub link_mode: Option<u32>,
    pub stat: Result<FileStat, i32>,
}

/// Parses `PID/stats` into (key, record) pairs; malformed lines are left out.
pub fn parse_stats(data: &[u8]) -> Vec<(String, RecordedStat)> {
    let mut out = Vec::new();
    for (_, line) in crate::proc::numbered_lines(data) {
        let f: Vec<&[u8]> = crate::proc::fields(line).collect();
        let num = |i: usize| f.get(i).and_then(|v| crate::proc::dec_u64(v));
        let (Some(key), Some(link_mode)) = (f.first(), f.get(1)) else {
            continue;
        };
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        let link_mode = crate::proc::dec_u64(link_mode).and_then(|m| u32::try_from(m).ok());
        let stat = if f.get(2) == Some(&&b"error"[..]) {
            match num(3).and_then(|e| i32::try_from(e).ok()) {
                Some(errno) => Err(errno),
                None => continue,
            }
        } else {
            let (Some(mode), Some(dev), Some(rdev), Some(ino), Some(nlink)) =
                (num(2), num(3), num(4), num(5), num(7))
            else {
                continue;
            };
            let Some(size) = f.get(6).and_then(|v| crate::proc::dec_i64(v)) else {
                continue;
            };
            let Ok(mode) = u32::try_from(mode) else {
                continue;
            };
            Ok(FileStat {
                mode,
                dev,
                rdev,
                ino,
                size,
                nlink,
            })
        };
        out.push((key.to_string(), RecordedStat { link_mode, stat }));
    }
    out
}

fn capture_sys(root: &ProcRoot, top: &OutDir) -> io::Result<()> {
    let sys = root.sys();
    let Ok(entries) = std::fs::read_dir(sys.join("class/net")) else {
        return Ok(());
    };
    let class_out = top
        .create_subdir("sys")?
        .create_subdir("class")?
        .create_subdir("net")?;
    for entry in entries.flatten() {
        // Any bytes but '/' (readdir never gives one): non-UTF-8 names are kept.
        let name = entry.file_name();
        let if_out = class_out.create_subdir(&name)?;
        for file in crate::proc::dev::SYSFS_LINK_FILES
            .iter()
            .chain(SYS_NET_EXTRA)
        {
            copy_from(&if_out, &sys.join("class/net").join(&name).join(file), file)?;
        }
    }
    Ok(())
}

/// Named namespaces are bind mounts, which cannot be copied: each name is recorded as
/// a symlink to `net:[INODE]`, the form /proc/PID/ns/net links have.
fn capture_netns_names(root: &ProcRoot, top: &OutDir) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(root.run_netns()) else {
        return Ok(());
    };
    let out = top.create_subdir("run")?.create_subdir("netns")?;
    for entry in entries.flatten() {
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        out.create_symlink(
            entry.file_name(),
            format!("net:[{}]", meta.ino()).as_bytes(),
        )?;
    }
    Ok(())
}

fn write_manifest(
    root: &ProcRoot,
    top: &OutDir,
    summary: &CaptureSummary,
    complete: bool,
    name: &str,
) -> io::Result<()> {
    let read = |rel: &str| {
        crate::proc::read_file_max(&root.join(rel), 4096)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let manifest = serde_json::json!({
        "tool": "rnetstat",
        "version": env!("CARGO_PKG_VERSION"),
        "complete": complete,
        "captured_at_unix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "hostname": read("sys/kernel/hostname"),
        "kernel": read("sys/kernel/osrelease"),
        "kernel_version": read("version"),
        "processes": summary.processes,
        "namespaces": summary.namespaces,
        "fd_links": summary.fd_links,
        "read_with": "--proc-root <this directory>/proc",
    });
    let mut f = top.create_file(name)?;
    writeln!(f, "{manifest:#}")?;
    f.sync_all()
}

/// For a `--proc-root` that is the `proc` directory of a capture: why its answers may
/// be partial (no manifest, or one that says the capture was cut short). `None` for
/// a complete capture and for trees that are not captures (recorded fixtures).
pub fn incomplete_reason(root: &ProcRoot) -> Option<String> {
    if root.is_live() {
        return None;
    }
    let dir = root.path().parent()?;
    let manifest = dir.join("manifest.json");
    match crate::proc::read_file_max(&manifest, 1 << 20) {
        Ok(data) => {
            let complete = serde_json::from_slice::<serde_json::Value>(&data)
                .ok()
                .and_then(|v| v.get("complete").and_then(serde_json::Value::as_bool));
            match complete {
                Some(true) => None,
                // Captures older than the "complete" field have one only when done.
                None if serde_json::from_slice::<serde_json::Value>(&data).is_ok() => None,
                _ => Some(format!(
                    "{}: the capture was cut short (incomplete manifest); answers may miss rows",
                    dir.display()
                )),
            }
        }
        // Every capture writes its manifest first: a tree without one is recorded
        // files (fixtures), not a capture.
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => Some(format!("{}: {e}", manifest.display())),
    }
}

/// Recorded stats of one process, cached for the walk over its descriptors.
pub fn read_stats(root: &ProcRoot, pid: u32) -> Vec<(String, RecordedStat)> {
    root.read(&format!("{pid}/{STATS_FILE}"))
        .map(|d| parse_stats(&d))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_round_trip() {
        let mut out = Vec::new();
        let st = FileStat {
            mode: libc::S_IFREG | 0o644,
            dev: 2049,
            rdev: 0,
            ino: 77,
            size: -1,
            nlink: 1,
        };
        record_stat(&mut out, "fd/3", Some(0o120700), Ok(st));
        record_stat(&mut out, "cwd", None, Err(io::Error::from_raw_os_error(13)));
        out.extend_from_slice(b"garbage\nfd/9 x 1 2\n");
        let parsed = parse_stats(&out);
        assert_eq!(
            parsed,
            vec![
                (
                    "fd/3".to_string(),
                    RecordedStat {
                        link_mode: Some(0o120700),
                        stat: Ok(st)
                    }
                ),
                (
                    "cwd".to_string(),
                    RecordedStat {
                        link_mode: None,
                        stat: Err(13)
                    }
                ),
            ]
        );
    }
}
