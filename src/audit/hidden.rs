//! Check hidden-process: thread-group leaders of our pid namespace that the kernel's
//! task list has (a BPF task iterator, crate::ebpf::tasks) and /proc's directory
//! listing, as this process reads it (getdents64, crate::proc::process::pids), does
//! not. Hiders filter that listing: an LD_PRELOAD library in libc's readdir (which
//! rnetstat, making the system call itself, does not go through), a kernel rootkit
//! in proc's getdents or lookup, a BPF program rewriting getdents64's buffer.
//!
//! Two looks: the kernel's list, then the listing, then both again. A process counts
//! when the same process (pid and start time) is in both kernel lists, so it lived
//! from before the first listing to after it, and missing from both listings, and
//! still alive at the end (pidfd_open). Processes that start or exit between the
//! looks are in one kernel list only, or in a listing.

use super::finding::{Check, Evidence, Finding, Severity};
use super::holders::Holder;
use super::views::Views;
use crate::ebpf::tasks::{Task, TaskIterator, NO_UID};
use crate::escape::escape;
use crate::proc::ProcRoot;
use std::collections::{BTreeMap, HashSet};

/// The kernel's side, when it can be compared with /proc.
pub struct KernelTasks {
    iter: TaskIterator,
}

impl KernelTasks {
    /// The loaded iterator, or why the check cannot run here.
    pub fn open(root: &ProcRoot, is_root: bool) -> Result<KernelTasks, String> {
        if !root.is_live() {
            return Err("not the live /proc".into());
        }
        if !is_root {
            return Err("not root: the kernel's task iterator (BPF) needs CAP_BPF and CAP_PERFMON, and every /proc/PID must be readable".into());
        }
        crate::snapshot::iterator_sees_what_proc_shows(root).map_err(|e| e.to_string())?;
        let iter = TaskIterator::load()
            .map_err(|e| format!("the kernel's task iterator could not be loaded: {e}"))?;
        Ok(KernelTasks { iter })
    }

    pub fn look(&self) -> Result<Vec<Task>, String> {
        self.iter
            .tasks()
            .map_err(|e| format!("the kernel's task iterator failed: {e}"))
    }
}

/// A process hidden from the listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hidden {
    pub task: Task,
    /// /proc/PID opens although the listing leaves it out: only readdir is filtered.
    pub opens: bool,
}

/// Processes in both kernel lists (same pid and start time) and in neither listing.
pub fn missing(kernel: [&[Task]; 2], listed: [&[u32]; 2]) -> Vec<Task> {
    let second: HashSet<(u32, u64)> = kernel[1].iter().map(|t| (t.pid, t.start_time)).collect();
    let listed: HashSet<u32> = listed.iter().flat_map(|l| l.iter().copied()).collect();
    kernel[0]
        .iter()
        .filter(|t| second.contains(&(t.pid, t.start_time)) && !listed.contains(&t.pid))
        .copied()
        .collect()
}

/// Keeps the processes still alive, and whether /proc/PID opens for each.
pub fn confirm(root: &ProcRoot, candidates: Vec<Task>) -> Vec<Hidden> {
    candidates
        .into_iter()
        .filter(|t| alive(t.pid))
        .map(|task| Hidden {
            opens: opens(root, task.pid),
            task,
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).is_ok()
}

/// openat(/proc, "PID", O_DIRECTORY|O_NOFOLLOW): a lookup, not the listing.
fn opens(root: &ProcRoot, pid: u32) -> bool {
    use rustix::fs::{open, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    open(root.join(&pid.to_string()), flags, Mode::empty()).is_ok()
}

/// The sockets of the hidden processes (pid -> holders), from the task_file
/// iterator: /proc/PID/fd may be hidden as well.
pub fn sockets(hidden: &[Hidden]) -> Result<BTreeMap<u32, Vec<(u64, Holder)>>, String> {
    let mut out: BTreeMap<u32, Vec<(u64, Holder)>> = BTreeMap::new();
    if hidden.is_empty() {
        return Ok(out);
    }
    let pids: HashSet<u32> = hidden.iter().map(|h| h.task.pid).collect();
    let records = crate::ebpf::task_files::socket_fds()
        .map_err(|e| format!("the sockets of hidden processes could not be listed: {e}"))?;
    for r in records.into_iter().filter(|r| pids.contains(&r.pid)) {
        out.entry(r.pid).or_default().push((
            r.inode,
            Holder {
                pid: r.pid,
                fd: r.fd,
            },
        ));
    }
    Ok(out)
}

/// What the audited namespaces' tables say about a socket inode: its namespace and
/// a line for the finding.
fn describe(inode: u64, views: &[(u64, &Views)]) -> (Option<u64>, String) {
    for &(netns, v) in views {
        let inet = v.proc_inet.iter().chain(v.diag_inet.iter().flatten());
        if let Some(s) = inet.clone().find(|s| s.inode == inode) {
            let e = Evidence::socket(netns, s);
            let mut text = format!(
                "{} {}:{}",
                e.protocol.unwrap_or_default(),
                e.address.unwrap_or_default(),
                e.port.unwrap_or(0)
            );
            if let Some(r) = e.remote {
                text.push_str(&format!(" -> {r}"));
            }
            text.push(' ');
            text.push_str(&e.state.unwrap_or_default());
            return (Some(netns), text);
        }
        if let Some(s) = v.proc_unix.iter().find(|s| s.inode == inode) {
            let name = s.path.as_deref().map(|p| escape(p).into_owned());
            return (Some(netns), format!("unix {}", name.unwrap_or_default()));
        }
        if v.proc_packet.iter().any(|s| s.inode == inode) {
            return (Some(netns), "packet".into());
        }
        if v.listed_inodes().contains(&inode) {
            return (Some(netns), "listed".into());
        }
    }
    (None, "in no table of the audited namespaces".into())
}

/// One finding per hidden process. `views` are the audited namespaces' last looks.
pub fn findings(
    hidden: &[Hidden],
    sockets: &BTreeMap<u32, Vec<(u64, Holder)>>,
    views: &[(u64, &Views)],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for h in hidden {
        let pid = h.task.pid;
        let mut e = Evidence::default();
        e.set_process(pid, None, Some(h.task.comm()), None);
        e.uid = (h.task.uid != NO_UID).then_some(h.task.uid);
        let held = sockets.get(&pid).map(Vec::as_slice).unwrap_or(&[]);
        for (i, &(inode, holder)) in held.iter().enumerate() {
            let (netns, text) = describe(inode, views);
            if i == 0 {
                e.fd = Some(holder.fd);
                e.inode = Some(inode);
                e.namespace = netns;
            }
            e.sockets
                .push(format!("fd={} inode={inode} {text}", holder.fd));
        }
        e.detail = Some(if h.opens {
            format!(
                "/proc/{pid} opens: only the directory listing leaves it out (getdents filtered)"
            )
        } else {
            format!("/proc/{pid} does not open either: lookup is filtered too")
        });
        out.push(Finding::new(
            Severity::High,
            Check::HiddenProcess,
            "process in the kernel's task list but missing from /proc's listing on two looks",
            e,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: u32, start: u64) -> Task {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"evil");
        Task {
            pid,
            uid: 0,
            start_time: start,
            comm,
        }
    }

    #[test]
    fn only_what_both_looks_agree_on() {
        let first = [task(1, 1), task(7, 70), task(8, 80), task(9, 90)];
        // 8 exited and its pid was reused; 10 started after the first look.
        let second = [
            task(1, 1),
            task(7, 70),
            task(8, 81),
            task(9, 90),
            task(10, 100),
        ];
        // 9 was listed the first time (it is not hidden: the listing raced with it).
        let got = missing([&first, &second], [&[1], &[1, 9]]);
        assert_eq!(got, vec![task(7, 70)]);
        assert!(missing([&first, &second], [&[1, 7, 9], &[1]]).is_empty());
    }

    #[test]
    fn a_finding_names_the_process_and_its_sockets() {
        let hidden = [Hidden {
            task: task(7, 70),
            opens: true,
        }];
        let mut socks = BTreeMap::new();
        socks.insert(7, vec![(555, Holder { pid: 7, fd: 3 })]);
        let f = findings(&hidden, &socks, &[]);
        assert_eq!(f.len(), 1);
        let e = &f[0].evidence;
        assert_eq!(
            (e.pid, e.fd, e.inode, e.uid),
            (Some(7), Some(3), Some(555), Some(0))
        );
        assert_eq!(e.program.as_deref(), Some("evil"));
        assert_eq!(
            e.sockets,
            vec!["fd=3 inode=555 in no table of the audited namespaces".to_string()]
        );
        assert!(e.detail.as_deref().unwrap().contains("opens"));
    }
}
