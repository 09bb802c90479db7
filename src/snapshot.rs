//! The join: socket inodes found in /proc/*/fd, mapped to the process that holds them.
//! One pass over the fd directories, one hash insert per socket descriptor, and the
//! per-process files (cmdline, comm, ns/net) read only for processes that hold sockets.
//!
//! On a live system the descriptors come, where it can answer the same, from a BPF
//! task_file iterator (src/ebpf/task_files.rs) instead of the fd directories: one read
//! instead of an open, a getdents and a readlink per descriptor. `RNETSTAT_OWNERS=proc`
//! forces the walk, `=bpf` makes a failure of the iterator an error (see README).

use crate::ebpf::task_argv::{Argv0s, ArgvIterator, ArgvOffsets};
use crate::ebpf::task_files::SocketFd;
use crate::proc::{process, ProcRoot};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Socket inodes are already well spread; a multiplicative hash beats SipHash here.
#[derive(Default)]
pub struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type InodeMap<V> = HashMap<u64, V, BuildHasherDefault<InodeHasher>>;

/// What to read for each socket-holding process besides its fds.
#[derive(Clone, Copy, Debug, Default)]
pub struct OwnerDetail {
    /// argv[0] from cmdline (netstat's program name).
    pub argv0: bool,
    /// comm (lsof's COMMAND, audit).
    pub comm: bool,
    /// The network namespace inode.
    pub netns: bool,
    /// The owner's uid (a stat of /proc/PID): only --json prints it.
    pub uid: bool,
    /// Keep every holder of a socket, not only the first (ss's `users:(...)`).
    pub all_holders: bool,
    /// Also walk each thread's fd directory (/proc/TID/fd) as a holder of its own,
    /// named by the thread's comm (ss -T).
    pub threads: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessRecord {
    pub pid: u32,
    pub uid: Option<u32>,
    pub argv0: Option<Vec<u8>>,
    pub comm: Option<Vec<u8>>,
    pub netns: Option<u64>,
    /// The thread this record is for, when threads are scanned (`None`: the process).
    pub tid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOwner {
    /// Index into [`Owners::processes`].
    pub process: u32,
    pub fd: u32,
}

/// Every socket inode held by a visible process. The first process in /proc readdir
/// order (and its lowest-listed fd) wins, as in netstat.
#[derive(Default)]
pub struct Owners {
    pub processes: Vec<ProcessRecord>,
    by_inode: InodeMap<SocketOwner>,
    /// The holders after the first, in scan order (only with [`OwnerDetail::all_holders`]).
    more: InodeMap<Vec<SocketOwner>>,
    /// Processes whose fd directory we were not allowed to read.
    pub denied: usize,
    /// Processes whose fd directory could not be opened for want of descriptors or
    /// memory (EMFILE, ENFILE, ENOMEM): not gone, just not seen.
    pub exhausted: usize,
}

impl Owners {
    pub fn get(&self, inode: u64) -> Option<(&ProcessRecord, u32)> {
        let owner = self.by_inode.get(&inode)?;
        Some((self.processes.get(owner.process as usize)?, owner.fd))
    }

    /// Where `inode`'s (first) holder is in [`Owners::processes`].
    pub fn process_index(&self, inode: u64) -> Option<usize> {
        let index = self.by_inode.get(&inode)?.process as usize;
        (index < self.processes.len()).then_some(index)
    }

    /// Every holder of `inode` in scan order (pids in readdir order, each one's fds in
    /// directory order, a process's threads after it): all of them with
    /// [`OwnerDetail::all_holders`], else only the first.
    pub fn holders(&self, inode: u64) -> impl Iterator<Item = (&ProcessRecord, u32)> + '_ {
        let first = self.by_inode.get(&inode).into_iter();
        let more = self.more.get(&inode).into_iter().flatten();
        first
            .chain(more)
            .filter_map(|o| Some((self.processes.get(o.process as usize)?, o.fd)))
    }

    /// Whether any socket at all was attributed (netstat's notice depends on it).
    pub fn identified_any(&self) -> bool {
        !self.by_inode.is_empty()
    }

    /// Whether a socket of a process other than `pid` was attributed.
    pub fn identified_any_besides(&self, pid: u32) -> bool {
        self.by_inode.values().any(|owner| {
            self.processes
                .get(owner.process as usize)
                .is_some_and(|p| p.pid != pid)
        })
    }

    pub fn len(&self) -> usize {
        self.by_inode.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_inode.is_empty()
    }

    /// Walks /proc once. Processes that vanish mid-walk are skipped silently.
    ///
    /// The walk is almost all kernel time (a readlinkat per descriptor), so the pids are
    /// shared out to one thread per core, each taking the next unscanned pid; the
    /// results are then merged in readdir order, so the first process still wins.
    pub fn scan(root: &ProcRoot, detail: OwnerDetail) -> io::Result<Owners> {
        OwnersScanner::default().scan(root, detail)
    }

    /// The walk of /proc/*/fd alone (what [`Owners::scan`] falls back to).
    pub fn walk(root: &ProcRoot, detail: OwnerDetail) -> io::Result<Owners> {
        let pids = process::pids(root)?;
        let scanned = scan_in_parallel(&pids, PIDS_PER_THREAD, |pid| {
            let threads = if detail.threads {
                scan_threads(root, pid, detail)
            } else {
                Vec::new()
            };
            (scan_process(root, pid, detail), threads)
        });

        let mut owners = Owners::default();
        let sockets: usize = scanned
            .iter()
            .flatten()
            .map(|(s, _)| match s {
                ProcessScan::Holds { sockets, .. } => sockets.len(),
                _ => 0,
            })
            .sum();
        owners.by_inode.reserve(sockets);
        for (scan, threads) in scanned.into_iter().flatten() {
            for scan in std::iter::once(scan).chain(threads) {
                owners.add(scan, detail.all_holders);
            }
        }
        Ok(owners)
    }
}

/// How `RNETSTAT_OWNERS` asks the owners to be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnersSource {
    /// The iterator where it applies, the walk when it fails (unset or another value).
    Auto,
    /// `proc`: always the walk.
    Proc,
    /// `bpf`: the iterator where it applies, and its failure an error.
    Bpf,
}

impl OwnersSource {
    pub const ENV: &'static str = "RNETSTAT_OWNERS";

    pub fn from_env() -> OwnersSource {
        match std::env::var_os(OwnersSource::ENV).as_deref() {
            Some(v) if v == "proc" => OwnersSource::Proc,
            Some(v) if v == "bpf" => OwnersSource::Bpf,
            _ => OwnersSource::Auto,
        }
    }

    /// The switch, where the iterator may answer for `root` at all (live, and not
    /// `proc`); `None`: the walk.
    pub fn applies(root: &ProcRoot) -> Option<OwnersSource> {
        let source = OwnersSource::from_env();
        (source != OwnersSource::Proc && root.is_live()).then_some(source)
    }

    /// What a failure of the iterator path gives: the walk (`None`), or with `bpf` the
    /// error.
    pub fn failed<T>(self, e: io::Error) -> io::Result<Option<T>> {
        match self {
            OwnersSource::Bpf => Err(io::Error::new(
                e.kind(),
                format!("{}=bpf: {e}", OwnersSource::ENV),
            )),
            _ => Ok(None),
        }
    }
}

/// Every socket descriptor of every thread-group leader of our pid namespace, from the
/// BPF iterator (pids ascending, each process's fds ascending: /proc's readdir order
/// and each /proc/PID/fd's), grouped by process.
pub struct IteratedSockets {
    records: Vec<SocketFd>,
    /// Where each process's records start in `records`, in pid order.
    starts: Vec<usize>,
}

impl IteratedSockets {
    fn new(records: Vec<SocketFd>) -> IteratedSockets {
        let starts = (0..records.len())
            .filter(|&i| i == 0 || records[i - 1].pid != records[i].pid)
            .collect();
        IteratedSockets { records, starts }
    }

    /// Each process's socket descriptors, in pid order (none empty).
    pub fn processes(&self) -> impl ExactSizeIterator<Item = &[SocketFd]> + '_ {
        (0..self.starts.len()).map(|i| self.group(i))
    }

    /// The socket descriptors of `pid` (empty: it held none when the iterator ran).
    pub fn of(&self, pid: u32) -> &[SocketFd] {
        match self
            .starts
            .binary_search_by_key(&pid, |&start| self.records[start].pid)
        {
            Ok(i) => self.group(i),
            Err(_) => &[],
        }
    }

    /// Descriptors in all.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn group(&self, i: usize) -> &[SocketFd] {
        let end = self
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.records.len());
        &self.records[self.starts[i]..end]
    }
}

/// A failure to load a program, kept so that a tool looking again does not retry it.
struct LoadFailure {
    kind: io::ErrorKind,
    message: String,
}

impl LoadFailure {
    fn of(e: &io::Error) -> LoadFailure {
        LoadFailure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    fn error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}

/// Finds the owners, keeping the BPF programs it loaded (each verified once per run)
/// and any failure to load them for the next scan: `rnetstat -c` makes one per
/// interval, `rlsof -r` one [`OwnersScanner::iterated_sockets`] per pass. A later scan
/// neither verifies a program again nor retries one that failed. [`Owners::scan`] is
/// a scanner used once.
#[derive(Default)]
pub struct OwnersScanner {
    /// The task_file program: not tried yet, loaded, or failed to load.
    sockets: Option<Result<crate::ebpf::task_files::SocketIterator, LoadFailure>>,
    /// The argv[0] program, loaded the first time a view needs argv[0].
    argv: Option<Result<ArgvIterator, LoadFailure>>,
}

impl OwnersScanner {
    /// The owners of every socket: from the BPF iterators where they apply, else the
    /// walk of /proc (see [`Owners::walk`]).
    pub fn scan(&mut self, root: &ProcRoot, detail: OwnerDetail) -> io::Result<Owners> {
        if let Some(owners) = self.from_iterator(root, detail)? {
            return Ok(owners);
        }
        Owners::walk(root, detail)
    }

    /// The owners from the BPF iterator, or `None` where it does not apply (a copy of
    /// /proc, the threads view, `RNETSTAT_OWNERS=proc`) or failed (then the walk
    /// answers, unless `RNETSTAT_OWNERS=bpf`).
    pub fn from_iterator(
        &mut self,
        root: &ProcRoot,
        detail: OwnerDetail,
    ) -> io::Result<Option<Owners>> {
        // ss -T walks /proc/TID/fd of every thread: the iterator skips threads that
        // share their leader's table.
        if detail.threads {
            return Ok(None);
        }
        let Some(source) = OwnersSource::applies(root) else {
            return Ok(None);
        };
        match self.iterate(root, detail, source) {
            Ok(owners) => Ok(Some(owners)),
            Err(e) => source.failed(e),
        }
    }

    /// The socket descriptors alone, for a view that reads the rest of each process
    /// itself (rlsof's Internet listings): from the task_file program loaded by an
    /// earlier call or scan where there was one, so `rlsof -r` verifies it once. `None`
    /// where the descriptors may not be what a walk of `root`'s fd directories would
    /// find (a copy of /proc, `RNETSTAT_OWNERS=proc`) or the iterator failed (then the
    /// walk answers, unless `RNETSTAT_OWNERS=bpf`, which makes the failure an error).
    /// The caller decides first whether its view can use them at all (threads' own
    /// tables).
    pub fn iterated_sockets(&mut self, root: &ProcRoot) -> io::Result<Option<IteratedSockets>> {
        let Some(source) = OwnersSource::applies(root) else {
            return Ok(None);
        };
        let records = iterator_sees_what_proc_shows(root).and_then(|()| {
            self.load_sockets(OwnerDetail::default());
            read_socket_fds(&self.sockets)
        });
        match records {
            Ok(records) => Ok(Some(IteratedSockets::new(records))),
            Err(e) => source.failed(e),
        }
    }

    /// Loads the task_file program if it has not been tried, parsing the kernel's BTF
    /// once for both programs; returns the argv program's offsets when `detail` needs
    /// argv[0] and that program has not been tried (its load is left to the caller).
    fn load_sockets(&mut self, detail: OwnerDetail) -> Option<ArgvOffsets> {
        let want_argv = detail.argv0 && self.argv.is_none();
        if self.sockets.is_some() && !want_argv {
            return None;
        }
        let found = crate::btf::Btf::vmlinux()
            .map_err(io::Error::other)
            .and_then(|btf| {
                let task = crate::ebpf::task_files::Offsets::from_btf(&btf)?;
                Ok((task, want_argv.then(|| ArgvOffsets::from_btf(&btf, task))))
            });
        let (offsets, argv) = match found {
            Ok(found) => found,
            Err(e) => {
                let failed = || LoadFailure {
                    kind: io::ErrorKind::Other,
                    message: e.to_string(),
                };
                self.sockets.get_or_insert_with(|| Err(failed()));
                if want_argv {
                    self.argv = Some(Err(failed()));
                }
                return None;
            }
        };
        self.sockets.get_or_insert_with(|| {
            crate::ebpf::task_files::SocketIterator::with_offsets(&offsets)
                .map_err(|e| LoadFailure::of(&e))
        });
        match argv? {
            Ok(argv) => Some(argv),
            Err(e) => {
                self.argv = Some(Err(LoadFailure::of(&e)));
                None
            }
        }
    }

    fn iterate(
        &mut self,
        root: &ProcRoot,
        detail: OwnerDetail,
        source: OwnersSource,
    ) -> io::Result<Owners> {
        iterator_sees_what_proc_shows(root)?;
        let argv_to_load = self.load_sockets(detail);
        let sockets = &self.sockets;
        let socket_fds = || read_socket_fds(sockets);
        // argv[0] of every process comes from the argv program on a helper thread
        // (loading it, a sleepable program with a callback, is the longer
        // verification) while this one reads the task_file iterator. Either order is
        // a snapshot the walk could give: it reads a process's fd directory, then its
        // cmdline, racing with exec and exit all the same. Without it (or for a
        // process it could not copy) cmdline is read from /proc; with
        // RNETSTAT_OWNERS=bpf its failure is an error, so the tests see which path
        // answered.
        let (argv0s, records) = if detail.argv0 {
            let kept = self.argv.as_ref();
            let ((loaded, argv0s), records) =
                crate::threads::join(move || read_argv0s(kept, argv_to_load), socket_fds);
            if let Some(loaded) = loaded {
                self.argv = Some(loaded);
            }
            let argv0s = match argv0s {
                Ok(a) => Some(a),
                Err(e) if source == OwnersSource::Bpf => {
                    return Err(io::Error::new(e.kind(), format!("argv[0]: {e}")))
                }
                Err(_) => None,
            };
            (argv0s, records?)
        } else {
            (None, socket_fds()?)
        };
        let sockets = IteratedSockets::new(records);
        let groups: Vec<&[SocketFd]> = sockets.processes().collect();
        let argv0 = |pid: u32| argv0s.as_ref().and_then(|a| a.get(pid));
        // The owner's uid, the netns and any argv[0] the iterator did not give still
        // come from /proc: one small read per socket-holding process, shared out like
        // the walk.
        let needs_proc = detail.uid
            || detail.netns
            || (detail.argv0 && groups.iter().any(|g| argv0(g[0].pid).is_none()));
        let record = |group: &[SocketFd]| {
            let pid = group[0].pid;
            ProcessScan::Holds {
                record: process_record(
                    root,
                    pid,
                    detail,
                    || Some(group[0].comm().to_vec()),
                    || match argv0(pid) {
                        Some(bytes) => Some(bytes.to_vec()),
                        None => process::argv0(root, pid, 511),
                    },
                ),
                sockets: group.iter().map(|r| (r.inode, r.fd)).collect(),
            }
        };
        let scans: Vec<Option<ProcessScan>> = if needs_proc {
            let indexes: Vec<usize> = (0..groups.len()).collect();
            scan_in_parallel(&indexes, PIDS_PER_THREAD, |i| record(groups[i]))
        } else {
            groups.iter().map(|g| Some(record(g))).collect()
        };
        let mut owners = Owners::default();
        owners.by_inode.reserve(sockets.len());
        for scan in scans {
            // A helper thread that panicked lost its share: the walk answers instead.
            let scan = scan.ok_or_else(|| io::Error::other("a process scan thread failed"))?;
            owners.add(scan, detail.all_holders);
        }
        Ok(owners)
    }
}

/// The records of the task_file program, if it loaded.
fn read_socket_fds(
    sockets: &Option<Result<crate::ebpf::task_files::SocketIterator, LoadFailure>>,
) -> io::Result<Vec<SocketFd>> {
    match sockets {
        Some(Ok(iterator)) => iterator.socket_fds(),
        Some(Err(failed)) => Err(failed.error()),
        None => Err(io::Error::other("the task_file program was not loaded")),
    }
}

/// argv[0] of every process from the argv program: the one kept from an earlier scan,
/// or, with `to_load`, one loaded now and returned to be kept.
fn read_argv0s(
    kept: Option<&Result<ArgvIterator, LoadFailure>>,
    to_load: Option<ArgvOffsets>,
) -> (
    Option<Result<ArgvIterator, LoadFailure>>,
    io::Result<Argv0s>,
) {
    let loaded = to_load.map(|o| ArgvIterator::load(&o).map_err(|e| LoadFailure::of(&e)));
    let argv0s = match loaded.as_ref().or(kept) {
        Some(Ok(iterator)) => iterator.argv0s(),
        Some(Err(failed)) => Err(failed.error()),
        None => Err(io::Error::other("the argv program was not loaded")),
    };
    (loaded, argv0s)
}

/// The iterator numbers processes as our pid namespace does and sees every process;
/// the walk gives the same only when /proc is that namespace's (not after `unshare
/// --pid --fork` without a new /proc mount) and nothing in it is hidden from us (the
/// capabilities that let root read every /proc/PID/fd: CAP_DAC_OVERRIDE,
/// CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE). Both answers are in /proc/self/status.
pub(crate) fn iterator_sees_what_proc_shows(root: &ProcRoot) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    let path = std::ffi::CString::new(
        root.join("self/status")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .map_err(io::Error::other)?;
    let status = crate::proc::read_small(&path, &mut buf)?;
    let line = |key: &[u8]| {
        crate::proc::numbered_lines(status)
            .map(|(_, l)| l)
            .find_map(|l| l.strip_prefix(key))
    };
    // NSpid lists our pid from /proc's namespace down to ours: one number, our own,
    // when they are the same namespace.
    let nspid: Vec<&[u8]> = line(b"NSpid:")
        .map(|l| crate::proc::fields(l).collect())
        .unwrap_or_default();
    let ours = std::process::id().to_string();
    if nspid != [ours.as_bytes()] {
        return Err(io::Error::other("/proc is not our pid namespace's"));
    }
    let caps = line(b"CapEff:")
        .and_then(|l| crate::proc::hex_u64(l.trim_ascii()))
        .unwrap_or(0);
    const NEEDED: u64 = 1 << 1 | 1 << 2 | 1 << 19;
    if caps & NEEDED != NEEDED {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE the walk may not see every process",
        ));
    }
    Ok(())
}

impl Owners {
    fn add(&mut self, scan: ProcessScan, all_holders: bool) {
        use std::collections::hash_map::Entry;
        match scan {
            ProcessScan::Denied => self.denied += 1,
            ProcessScan::Exhausted => self.exhausted += 1,
            ProcessScan::Gone | ProcessScan::NoSockets => {}
            ProcessScan::Holds { record, sockets } => {
                let process = self.processes.len() as u32;
                self.processes.push(record);
                for (inode, fd) in sockets {
                    let owner = SocketOwner { process, fd };
                    match self.by_inode.entry(inode) {
                        Entry::Vacant(v) => {
                            v.insert(owner);
                        }
                        Entry::Occupied(_) if all_holders => {
                            self.more.entry(inode).or_default().push(owner)
                        }
                        Entry::Occupied(_) => {}
                    }
                }
            }
        }
    }
}

/// Two cores are what this is measured on; more threads only contend in the kernel.
const MAX_SCAN_THREADS: usize = 4;
/// Below this many processes per thread, starting a thread costs more than it saves.
/// Kept small: the cost is per descriptor, and a server's sockets are often held by a
/// handful of processes with thousands of descriptors each.
const PIDS_PER_THREAD: usize = 4;

/// Runs `scan` on every item, shared out to one thread per core (the calling thread
/// being one of them), each taking the next unscanned item; at least `min_per_thread`
/// items per thread. Walking /proc is almost all kernel time, which parallelises.
///
/// The results come back in item order (`None` for the items of a helper thread that
/// panicked: a bug in `scan` then loses those items, not the whole view).
pub fn scan_in_parallel<T, R>(
    items: &[T],
    min_per_thread: usize,
    scan: impl Fn(T) -> R + Sync,
) -> Vec<Option<R>>
where
    T: Copy + Sync,
    R: Send,
{
    let threads = crate::proc::cores()
        .min(MAX_SCAN_THREADS)
        .min(items.len().div_ceil(min_per_thread.max(1)))
        .max(1);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&item) = items.get(index) else {
                return done;
            };
            done.push((index, scan(item)));
        }
    };
    let scanned: Vec<(usize, R)> = std::thread::scope(|scope| {
        // A helper that cannot be started (no threads left on a fork-bombed host)
        // leaves its share to the others and this thread.
        let helpers: Vec<_> = (1..threads)
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut all = work();
        for helper in helpers {
            all.extend(helper.join().unwrap_or_default());
        }
        all
    });
    let mut ordered: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (index, result) in scanned {
        if let Some(slot) = ordered.get_mut(index) {
            *slot = Some(result);
        }
    }
    ordered
}

/// What one process contributed to the scan.
enum ProcessScan {
    /// Its fd directory could not be read (EACCES): counted for netstat's notice.
    Denied,
    /// It exited (or its fds could not be read for another reason).
    Gone,
    /// Its fd directory could not be opened: we are out of descriptors or memory.
    Exhausted,
    NoSockets,
    /// Socket inodes and their fds, in fd-directory order.
    Holds {
        record: ProcessRecord,
        sockets: Vec<(u64, u32)>,
    },
}

/// What `detail` asks of a socket-holding process, from /proc (comm from `comm` and
/// argv[0] from `argv0`: the iterators may already have them).
fn process_record(
    root: &ProcRoot,
    pid: u32,
    detail: OwnerDetail,
    comm: impl FnOnce() -> Option<Vec<u8>>,
    argv0: impl FnOnce() -> Option<Vec<u8>>,
) -> ProcessRecord {
    ProcessRecord {
        pid,
        uid: detail.uid.then(|| process::owner_uid(root, pid)).flatten(),
        argv0: detail.argv0.then(argv0).flatten(),
        comm: detail.comm.then(comm).flatten(),
        netns: detail
            .netns
            .then(|| process::netns_inode(root, pid))
            .flatten(),
        tid: None,
    }
}

fn scan_process(root: &ProcRoot, pid: u32, detail: OwnerDetail) -> ProcessScan {
    let mut sockets = Vec::new();
    let walked = process::for_each_fd_link(root, pid, |fd, link| {
        if let Some(inode) = process::socket_inode(link) {
            sockets.push((inode, fd));
        }
    });
    match walked {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => ProcessScan::Denied,
        Err(e) if process::is_exhaustion(&e) => ProcessScan::Exhausted,
        Err(_) => ProcessScan::Gone,
        Ok(()) if sockets.is_empty() => ProcessScan::NoSockets,
        Ok(()) => ProcessScan::Holds {
            record: ProcessRecord {
                tid: detail.threads.then_some(pid),
                ..process_record(
                    root,
                    pid,
                    detail,
                    || process::comm(root, pid),
                    || process::argv0(root, pid, 511),
                )
            },
            sockets,
        },
    }
}

/// The threads of `pid` other than itself, each scanned through /proc/TID (its own fd
/// directory and comm), as ss -T does.
fn scan_threads(root: &ProcRoot, pid: u32, detail: OwnerDetail) -> Vec<ProcessScan> {
    let Ok(dir) = std::fs::read_dir(root.join(&format!("{pid}/task"))) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        use std::os::unix::ffi::OsStrExt;
        let Some(tid) = crate::proc::dec_u64(entry.file_name().as_bytes())
            .and_then(|t| u32::try_from(t).ok())
            .filter(|&t| t != pid)
        else {
            continue;
        };
        let thread_detail = OwnerDetail {
            threads: false,
            ..detail
        };
        if let ProcessScan::Holds {
            mut record,
            sockets,
        } = scan_process(root, tid, thread_detail)
        {
            record.pid = pid;
            record.tid = Some(tid);
            out.push(ProcessScan::Holds { record, sockets });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up proc tree: fd links are plain symlinks whose targets read like the
    /// kernel's, so the scan sees what it would see in /proc.
    struct FakeProc(std::path::PathBuf);

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn parallel_scan_keeps_first_process_wins() {
        let dir = std::env::temp_dir().join(format!("rnt-scan-{}", std::process::id()));
        let fake = FakeProc(dir.clone());
        // 300 processes, so the pids are shared out among threads; every socket inode
        // is held by three processes and one of them twice.
        for pid in 1..=300u32 {
            let fd_dir = dir.join(format!("{pid}/fd"));
            std::fs::create_dir_all(&fd_dir).unwrap();
            std::fs::write(dir.join(format!("{pid}/cmdline")), format!("prog{pid}\0")).unwrap();
            for (fd, inode) in [(3, pid % 100), (4, (pid * 7) % 100), (5, pid % 100)] {
                let link = format!("socket:[{}]", 1000 + inode);
                std::os::unix::fs::symlink(link, fd_dir.join(fd.to_string())).unwrap();
            }
            std::os::unix::fs::symlink("/dev/null", fd_dir.join("0")).unwrap();
        }
        let root = ProcRoot::new(&dir);

        // The sequential rule: pids in readdir order, fds in directory order, first wins.
        let mut expected: HashMap<u64, (u32, u32)> = HashMap::new();
        for pid in process::pids(&root).unwrap() {
            process::for_each_fd_link(&root, pid, |fd, link| {
                if let Some(inode) = process::socket_inode(link) {
                    expected.entry(inode).or_insert((pid, fd));
                }
            })
            .unwrap();
        }
        let owners = Owners::scan(
            &root,
            OwnerDetail {
                argv0: true,
                ..OwnerDetail::default()
            },
        )
        .unwrap();
        assert_eq!(owners.len(), expected.len());
        assert_eq!(owners.processes.len(), 300);
        for (inode, (pid, fd)) in expected {
            let (record, got_fd) = owners.get(inode).unwrap();
            assert_eq!((record.pid, got_fd), (pid, fd), "inode {inode}");
            assert_eq!(
                record.argv0.as_deref(),
                Some(format!("prog{pid}").as_bytes())
            );
        }
        drop(fake);
    }

    #[test]
    fn the_own_process_can_be_left_out_of_identified() {
        let mut owners = Owners::default();
        owners.processes.push(ProcessRecord {
            pid: 42,
            uid: None,
            argv0: None,
            comm: None,
            netns: None,
            tid: None,
        });
        owners.by_inode.insert(7, SocketOwner { process: 0, fd: 3 });
        assert!(owners.identified_any());
        assert!(!owners.identified_any_besides(42));
        assert!(owners.identified_any_besides(43));
    }

    #[test]
    fn finds_our_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let root = ProcRoot::default();
        // The listener's own inode: other tests of this process open and close sockets
        // concurrently, so "any socket of ours" may be gone by the time of the scan.
        let inode = {
            use std::os::fd::AsRawFd;
            use std::os::unix::fs::MetadataExt;
            let fd = listener.as_raw_fd();
            Some(
                std::fs::metadata(format!("/proc/self/fd/{fd}"))
                    .unwrap()
                    .ino(),
            )
        };
        let owners = Owners::scan(
            &root,
            OwnerDetail {
                argv0: true,
                comm: true,
                netns: true,
                ..OwnerDetail::default()
            },
        )
        .unwrap();
        let (proc_rec, _) = owners.get(inode.unwrap()).expect("our socket is owned");
        assert_eq!(proc_rec.pid, std::process::id());
        assert!(proc_rec.netns.is_some());
        drop(listener);
    }
}
