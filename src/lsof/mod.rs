//! The lsof engine: one pass over /proc (socket tables, then each process's
//! cwd/rtd/txt/maps/fds) → selection → names resolved in one batch → rows.
//! `sockets` reads the tables, `scan` walks a process into the file model (`model`),
//! `endpoints` links the ends of sockets and pipes, `name` turns a file into its row.

mod endpoints;
mod model;
mod name;
mod scan;
mod sockets;

use crate::cli::lsof::{Config, Endpoints};
use crate::netns;
use crate::proc::{files, process, ProcRoot};
use crate::render::lsof::ProcessRows;
use crate::resolve::{HostNames, RpcPorts, RpcPrograms, Services, Users, HOST_DEADLINE};
use crate::snapshot::OwnersScanner;
use endpoints::{add_endpoint_files, unix_holders, unix_links, Holders, UnixEndpoints};
use model::{v4_view, Kind, ProcInfo};
use name::build_row;
use scan::{MappedStats, PassContext};
use sockets::{ForeignNetns, Sockets, Tables};
use std::io;
use std::sync::OnceLock;

/// The name tables a run keeps across its passes.
pub struct Names {
    services: Services,
    hosts: HostNames,
    users: Users,
    /// `+M`: the portmapper's registrations, asked once, when a TCP or UDP name
    /// first needs them (as lsof does), and why they may be missing.
    portmap: OnceLock<(RpcPorts, Option<String>)>,
    /// /etc/passwd's (mtime, ctime) when `users` was started (see `new_pass`).
    passwd_stamp: Option<(i64, i64)>,
}

fn passwd_stamp() -> Option<(i64, i64)> {
    let st = nix::sys::stat::stat("/etc/passwd").ok()?;
    Some((st.st_mtime, st.st_ctime))
}

impl Names {
    pub fn new(services: Services) -> Names {
        Names {
            services,
            hosts: HostNames::default(),
            users: Users::default(),
            portmap: OnceLock::new(),
            passwd_stamp: None,
        }
    }

    pub(crate) fn portmap(&self) -> &RpcPorts {
        &self
            .portmap
            .get_or_init(|| match crate::rpc::pmap_dump(crate::rpc::DEADLINE) {
                Ok(list) => (RpcPorts::for_lsof(&list, &RpcPrograms::load()), None),
                // No portmapper: no registrations, and nothing to say (lsof).
                Err(crate::rpc::Error::Unavailable) => (RpcPorts::default(), None),
                Err(crate::rpc::Error::Failed(why)) => (RpcPorts::default(), Some(why)),
            })
            .0
    }

    /// Before a repeated pass (`-r`): lsof caches only the uids it found in the
    /// passwd database, and forgets them too when /etc/passwd changed (mtime or
    /// ctime), so a user added or removed between passes shows in the next one.
    pub fn new_pass(&mut self) {
        let stamp = passwd_stamp();
        if stamp != self.passwd_stamp {
            self.users = Users::default();
            self.passwd_stamp = stamp;
        } else {
            self.users.forget_missing();
        }
    }

    /// Why `+M` found no registrations although something answered on port 111.
    pub fn portmap_failure(&self) -> Option<&str> {
        self.portmap.get().and_then(|(_, why)| why.as_deref())
    }
}

/// What turning a process's selected files into rows needs besides them.
pub(crate) struct RowContext<'a> {
    config: &'a Config,
    names: &'a Names,
    root: &'a ProcRoot,
    locks: &'a [files::FileLock],
    links: &'a UnixEndpoints,
    holders: &'a Holders,
    mqueue_devs: &'a [u64],
}

impl RowContext<'_> {
    /// The rows of one process (or task); USER and login are filled in later, from
    /// the one user cache.
    pub(crate) fn rows(&self, p: &ProcInfo) -> ProcessRows {
        let files = p
            .files
            .iter()
            .map(|c| {
                build_row(
                    c,
                    p,
                    self.config,
                    self.names,
                    self.root,
                    self.locks,
                    self.links,
                    self.holders,
                    self.mqueue_devs,
                )
            })
            .collect();
        ProcessRows {
            pid: p.pid,
            task: p.task.clone(),
            ppid: p.ppid,
            pgid: p.pgid,
            uid: p.uid,
            command: p.comm.clone(),
            user: String::new(),
            login: None,
            other_netns: p.netns.clone(),
            files,
            netns: self
                .config
                .json
                .then(|| crate::proc::process::netns_inode(self.root, p.pid))
                .flatten(),
        }
    }
}

/// What a pass gives: the rows, the exit status, `-V`'s messages and the paths whose
/// stat -b avoided (see `Config::avoid_stat`), in lsof's order.
pub type PassResult = (Vec<ProcessRows>, u8, Vec<String>, Vec<Vec<u8>>);

/// One pass: returns the rows and the exit status. `owners` keeps the BPF program an
/// Internet listing loads (or its failure) for the run's next pass (`-r`).
pub fn pass(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    owners: &mut OwnersScanner,
) -> io::Result<PassResult> {
    let sel = &config.selection;
    let mut found = sel.new_found();
    let sockets = OnceLock::new();
    // Without --all-netns every process counts as ours, as lsof sees them.
    let own_netns = netns::own_inode(root).filter(|_| config.all_netns);
    let foreign = ForeignNetns::default();
    let locks = root
        .read("locks")
        .map(|d| files::parse_locks(&d))
        .unwrap_or_default();
    // A run that can only list given pids looks at those alone.
    let pid_only = config.endpoints.is_none()
        && sel.flags() & crate::select::lsof::flag::PID != 0
        && (sel.and || sel.flags() == crate::select::lsof::flag::PID);
    let mut pids = if pid_only {
        sel.pids
            .iter()
            .filter(|p| !p.exclude)
            .map(|p| p.value)
            .collect()
    } else {
        process::pids(root)?
    };
    pids.sort_unstable();
    pids.dedup();
    let endpoints = config.endpoints.is_some();
    let tables = if !endpoints && sel.lists_only_inet_files() {
        Tables::Inet
    } else {
        Tables::All
    };
    let nfs_devs: Vec<u64> = if sel.nfs {
        files::read_mounts(root)
            .into_iter()
            .filter(|m| m.fstype.starts_with("nfs"))
            .map(|m| m.dev)
            .collect()
    } else {
        Vec::new()
    };
    // POSIX message queues are files of an mqueue mount: lsof calls them PSXMQ when
    // one is mounted where it looks.
    let mqueue_devs: Vec<u64> = match &config.mqueue_devs {
        Some(devs) => devs.clone(),
        None => files::read_mounts(root)
            .into_iter()
            .filter(|m| m.fstype == "mqueue")
            .map(|m| m.dev)
            .collect(),
    };
    let mapped = MappedStats::default();
    let no_links = UnixEndpoints::default();
    let no_holders = Holders::default();
    // Without -E and names to resolve, a process's rows need nothing from the others.
    let early = RowContext {
        config,
        names,
        root,
        locks: &locks,
        links: &no_links,
        holders: &no_holders,
        mqueue_devs: &mqueue_devs,
    };
    let early_rows = !endpoints && (config.numeric_hosts || config.terse);
    // lsof matches unix sockets to file names through stat()s of their paths: only
    // this machine's files can be stat()ed (a capture's are elsewhere).
    let stat_unix_paths = !sel.names.is_empty() && root.is_live() && !config.avoid_stat;
    let context = PassContext {
        mapped: &mapped,
        stat_unix_paths,
        nfs_devs: &nfs_devs,
        mqueue_devs: &mqueue_devs,
        config,
        root,
        sockets: &sockets,
        tables,
        own_netns,
        foreign: &foreign,
        own_pid: root.is_live().then(std::process::id),
        rows: early_rows.then_some(&early),
        iterated: None,
    };
    // An Internet-only listing needs no descriptor but sockets: every process's come
    // from the BPF iterator where it answers as the walk would (README, "Performance").
    // Not for a few given pids (their walk is cheaper than the iterator's every task),
    // nor under -b with an NFS mount (lsof then cannot tell a socket from a file).
    let use_iterator = tables == Tables::Inet && !pid_only && !config.avoid_stat;
    let (scanned, iterated) = std::thread::scope(|scope| {
        // A run over every process meets sockets: their tables are read beside
        // the walk, not before it.
        // No thread to spare: the first socket met loads them instead.
        if !pid_only {
            let _ = crate::threads::try_spawn(scope, || {
                sockets.get_or_init(|| Sockets::load(root, "net", tables, stat_unix_paths));
            });
        }
        let iterated = if use_iterator {
            owners.iterated_sockets(root)?
        } else {
            None
        };
        // Only the processes holding sockets can have a row, unless a -p, -g or -c
        // item is to be found in any process; this one is walked (see `own_pid`).
        if let Some(it) = iterated.as_ref().filter(|_| !sel.finds_processes()) {
            pids = it.processes().map(|fds| fds[0].pid).collect();
            if let Some(own) = context.own_pid {
                if let Err(at) = pids.binary_search(&own) {
                    pids.insert(at, own);
                }
            }
        }
        let context = PassContext {
            iterated: iterated.as_ref(),
            ..context
        };
        let scanned = crate::snapshot::scan_in_parallel(&pids, 1, |pid| {
            (context.own_pid != Some(pid)).then(|| context.process(pid))
        });
        io::Result::Ok((scanned, iterated))
    })?;
    let context = PassContext {
        iterated: iterated.as_ref(),
        ..context
    };
    let scanned = pids.iter().zip(scanned).map(|(&pid, scan)| {
        if context.own_pid == Some(pid) {
            Some(context.process(pid))
        } else {
            scan.flatten()
        }
    });
    let mut rows: Vec<ProcessRows> = Vec::new();
    let mut procs: Vec<ProcInfo> = Vec::new();
    // Socket and pipe files not selected, kept for -E/+E: they may be endpoints.
    let mut spare: Vec<ProcInfo> = Vec::new();
    let mut avoided = Vec::new();
    for scan in scanned.flatten() {
        avoided.extend(scan.avoided);
        procs.extend(scan.procs);
        rows.extend(scan.rows);
        spare.extend(scan.spare);
        found.merge(scan.found);
    }
    // -V: written to standard output after the listing, as lsof does.
    let not_found = if config.verbose_search {
        sel.not_found_messages(&found)
    } else {
        Vec::new()
    };
    // -Q: a search item not found is no failure.
    let status = if sel.all_found(&found) || config.quiet_search {
        0
    } else {
        1
    };
    let links = if endpoints {
        unix_links(sockets.get_or_init(|| Sockets::load(root, "net", Tables::All, stat_unix_paths)))
    } else {
        UnixEndpoints::default()
    };
    let holders = if endpoints {
        unix_holders(config.command_limit, procs.iter().chain(spare.iter()))
    } else {
        Holders::default()
    };
    if config.endpoints == Some(Endpoints::AlsoList) {
        add_endpoint_files(&mut procs, spare.iter(), &links);
    }

    if !config.numeric_hosts && !config.terse {
        let addrs = procs
            .iter()
            .flat_map(|p| &p.files)
            .filter_map(|c| match &c.kind {
                Kind::Inet(s) => Some(s),
                _ => None,
            })
            .flat_map(|s| {
                let (l, r) = v4_view(s);
                [l, r].into_iter().flatten().map(|(ip, _)| ip)
            })
            .filter(|ip| !ip.is_unspecified());
        names.hosts.resolve_all(addrs, HOST_DEADLINE);
    }
    let late = RowContext {
        config,
        names,
        root,
        locks: &locks,
        links: &links,
        holders: &holders,
        mqueue_devs: &mqueue_devs,
    };
    rows.reserve(procs.len());
    // Each process's files go as its rows are made.
    for p in procs {
        rows.push(late.rows(&p));
    }
    for r in &mut rows {
        // -l: no passwd lookup at all, so no `-F L` field either (lsof's Futol).
        let login = if config.numeric_users {
            None
        } else {
            names.users.name(r.uid).map(str::to_string)
        };
        r.user = match &login {
            Some(l) => l.clone(),
            // printuid()'s buffer holds 8 characters: a longer uid loses its tail
            // digits in the USER column (`-F u` and the warning keep them all).
            None => {
                let mut text = format!("{:>8}", r.uid);
                text.truncate(8);
                text
            }
        };
        r.login = login;
    }
    let _ = Endpoints::Annotate;
    Ok((rows, status, not_found, avoided))
}
