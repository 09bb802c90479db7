//! `--capture DIR`: write the part of /proc (and /sys) that the tools read into DIR, so
//! an incident responder can collect evidence on a suspect host and analyse it
//! anywhere with `--proc-root DIR/proc`. Links are recorded as symlinks with the same
//! target text; nothing is followed into the filesystem.

use crate::proc::{process, ProcRoot};
use std::collections::HashSet;
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
const PROCESS_LINKS: &[&str] = &["exe", "cwd", "root", "ns/net"];
/// Per-interface sysfs attributes beyond those the -i reader needs
/// (`dev::SYSFS_LINK_FILES`): the audit's second source.
const SYS_NET_EXTRA: &[&str] = &["ifindex"];

#[derive(Debug, Default)]
pub struct CaptureSummary {
    pub processes: usize,
    pub namespaces: usize,
    pub fd_links: usize,
}

/// Copies `rel` below `from` to the same place below `to`; absent files are skipped.
fn copy_file(from: &Path, to: &Path, rel: &str) -> io::Result<bool> {
    match std::fs::read(from.join(rel)) {
        Ok(data) => {
            let dest = to.join(rel);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(dest, data)?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

fn copy_link(from: &Path, to: &Path, rel: &str) -> io::Result<bool> {
    match std::fs::read_link(from.join(rel)) {
        Ok(target) => {
            let dest = to.join(rel);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let _ = std::fs::remove_file(&dest);
            std::os::unix::fs::symlink(target, dest)?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// Writes the capture. Processes that vanish while we copy are skipped.
pub fn capture(root: &ProcRoot, dest: &Path) -> io::Result<CaptureSummary> {
    let proc_dir = dest.join("proc");
    std::fs::create_dir_all(&proc_dir)?;
    let mut summary = CaptureSummary::default();
    let mut namespaces = HashSet::new();

    // The capturing process's own namespace doubles as the tree's top-level net/.
    for file in NET_FILES {
        copy_file(root.path(), &proc_dir, &format!("net/{file}"))?;
    }
    copy_file(root.path(), &proc_dir, "locks")?;
    // `self` is the capturing process: readers take its namespace as their own.
    copy_link(root.path(), &proc_dir, "self/ns/net")?;

    for pid in process::pids(root)? {
        let src = root.path();
        let mut copied = false;
        for file in PROCESS_FILES {
            copied |= copy_file(src, &proc_dir, &format!("{pid}/{file}"))?;
        }
        if !copied {
            continue;
        }
        for link in PROCESS_LINKS {
            copy_link(src, &proc_dir, &format!("{pid}/{link}"))?;
        }
        let fd_dir = proc_dir.join(format!("{pid}/fd"));
        std::fs::create_dir_all(&fd_dir)?;
        let mut links = Vec::new();
        let _ = process::for_each_fd_link(root, pid, |fd, target| {
            links.push((fd, target.to_vec()));
        });
        for (fd, target) in links {
            // Offsets and open flags (rlsof's SIZE/OFF and mode) live in fdinfo.
            copy_file(src, &proc_dir, &format!("{pid}/fdinfo/{fd}"))?;
            let link = fd_dir.join(fd.to_string());
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), link)?;
            summary.fd_links += 1;
        }
        // One process per network namespace carries that namespace's tables.
        if let Some(ns) = process::netns_inode(root, pid) {
            if namespaces.insert(ns) {
                for file in NET_FILES {
                    copy_file(src, &proc_dir, &format!("{pid}/net/{file}"))?;
                }
            }
        }
        summary.processes += 1;
    }
    summary.namespaces = namespaces.len();

    capture_sys(root, dest)?;
    capture_netns_names(root, dest)?;
    write_manifest(root, dest, &summary)?;
    Ok(summary)
}

fn capture_sys(root: &ProcRoot, dest: &Path) -> io::Result<()> {
    let sys = root.sys();
    let Ok(entries) = std::fs::read_dir(sys.join("class/net")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        for file in crate::proc::dev::SYSFS_LINK_FILES
            .iter()
            .chain(SYS_NET_EXTRA)
        {
            copy_file(&sys, &dest.join("sys"), &format!("class/net/{name}/{file}"))?;
        }
    }
    Ok(())
}

/// Named namespaces are bind mounts, which cannot be copied: each name is recorded as
/// a symlink to `net:[INODE]`, the form /proc/PID/ns/net links have.
fn capture_netns_names(root: &ProcRoot, dest: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(root.run_netns()) else {
        return Ok(());
    };
    let out = dest.join("run/netns");
    std::fs::create_dir_all(&out)?;
    for entry in entries.flatten() {
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        let link = out.join(entry.file_name());
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("net:[{}]", meta.ino()), link)?;
    }
    Ok(())
}

fn write_manifest(root: &ProcRoot, dest: &Path, summary: &CaptureSummary) -> io::Result<()> {
    let read = |rel: &str| {
        root.read(rel)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let manifest = serde_json::json!({
        "tool": "rnetstat",
        "version": env!("CARGO_PKG_VERSION"),
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
    let mut f = std::fs::File::create(dest.join("manifest.json"))?;
    writeln!(f, "{manifest:#}")
}
