//! `rnetstat --audit`: what an incident responder checks by hand with netstat, lsof,
//! ss and unhide-tcp, in one pass. Each check lives in its own module; this one
//! takes the looks (tables of each namespace, descriptors of every process), runs
//! the checks and keeps, for the checks that can race with sockets coming and
//! going, only what holds on a second look.

pub mod arp;
pub mod crossview;
pub mod fdprobe;
pub mod filters;
pub mod finding;
pub mod hidden;
pub mod holders;
pub mod iface;
pub mod netns;
pub mod probe;
pub mod sockets;
pub mod views;

use crate::netlink::DiagSocket;
use crate::proc::ProcRoot;
use finding::{Check, Evidence, Finding, NotDone, Severity};
use holders::Holders;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use views::Views;

/// Where the audit reads from, and what it is asked to do.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    pub proc_root: ProcRoot,
    pub sys_root: PathBuf,
    pub preload_file: PathBuf,
    pub scope: Scope,
    pub probe: bool,
}

/// Which network namespaces to audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// The one rnetstat runs in.
    #[default]
    Own,
    /// Every namespace crate::netns discovers (processes and /run/netns).
    All,
    /// One namespace: a /run/netns name, a pid or a namespace file (crate::netns::select).
    One(String),
}

/// A namespace to audit and how to get into it.
#[derive(Clone, Debug)]
struct Target {
    inode: u64,
    /// The namespace file to setns into; None for the one we run in.
    enter: Option<PathBuf>,
    pid: Option<u32>,
    name: Option<String>,
}

impl Target {
    fn of(ns: &crate::netns::NetNs, root: &ProcRoot, current: u64) -> Option<Target> {
        let inode = ns.inode?;
        let enter = if inode == current {
            None
        } else {
            Some(
                ns.file
                    .clone()
                    .or_else(|| ns.pid.map(|p| root.join(&format!("{p}/ns/net"))))?,
            )
        };
        Some(Target {
            inode,
            enter,
            pid: ns.pid,
            name: ns.name.clone(),
        })
    }

    fn own(current: u64) -> Target {
        Target {
            inode: current,
            enter: None,
            pid: None,
            name: None,
        }
    }
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            proc_root: ProcRoot::default(),
            sys_root: PathBuf::from("/sys"),
            preload_file: PathBuf::from("/etc/ld.so.preload"),
            scope: Scope::Own,
            probe: true,
        }
    }
}

/// An audited namespace (the `namespace` object of docs/json.md).
#[derive(Clone, Debug, Serialize)]
pub struct NamespaceInfo {
    pub inode: u64,
    pub name: Option<String>,
    pub pid: Option<u32>,
    pub own: bool,
}

/// The `audit` document of docs/json.md.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub schema: u32,
    pub view: &'static str,
    pub clean: bool,
    pub root: bool,
    pub namespaces: Vec<NamespaceInfo>,
    pub findings: Vec<Finding>,
    pub not_done: Vec<NotDone>,
    pub warnings: Vec<String>,
}

impl Report {
    /// Whether a check was not done for a reason other than `--no-probe`.
    pub fn partial(&self) -> bool {
        self.not_done
            .iter()
            .any(|n| !(n.check == Some(Check::PortProbe) && n.reason == NO_PROBE))
    }
}

/// The `not_done` reason of a probe switched off by the caller.
const NO_PROBE: &str = "disabled (--no-probe)";

/// Everything one namespace thread brings back.
struct Gathered {
    views: Views,
    ifaces: Result<Vec<iface::InterfaceFlags>, String>,
    arp: Option<crate::proc::Table<crate::proc::arp::ArpEntry>>,
    gateways: HashSet<Ipv4Addr>,
    neigh6: Result<Vec<crate::netlink::neigh::Neighbour6>, String>,
    gateways6: HashSet<std::net::Ipv6Addr>,
    probe: Option<ProbeOutcome>,
    diag_error: Option<String>,
}

#[derive(Default)]
struct ProbeOutcome {
    hidden: Vec<(probe::Space, u16)>,
    notes: Vec<String>,
}

const NET_DIR: &str = "thread-self/net";

/// Reads one namespace from inside it (the calling thread's).
fn gather(
    opts: &AuditOptions,
    entered: netns::Entered,
    current: bool,
    root: bool,
    probe: bool,
) -> io::Result<Gathered> {
    let proc_root = &opts.proc_root;
    let diag = DiagSocket::open();
    let diag_error = diag
        .as_ref()
        .err()
        .map(|e| format!("sock_diag netlink socket: {e}"));
    let views = Views::read(proc_root, NET_DIR, diag.as_ref().ok())?;
    let ifaces = iface::read(proc_root, NET_DIR, &opts.sys_root)
        .map(|mut list| {
            if !(entered.own_sysfs || current) {
                list.iter_mut().for_each(|i| i.sysfs_flags = None);
            }
            list
        })
        .map_err(|e| e.to_string());
    let arp = crate::proc::arp::read_arp(proc_root, NET_DIR).ok();
    let gateways = crate::proc::route::read_route(proc_root, NET_DIR)
        .map(|t| arp::default_gateways(&t.rows))
        .unwrap_or_default();
    let neigh6 = crate::netlink::neigh::read_neighbours6()
        .map_err(|e| format!("IPv6 neighbours (RTM_GETNEIGH): {e}"));
    let gateways6 = crate::proc::route::read_ipv6_route(proc_root, NET_DIR)
        .map(|t| arp::default_gateways6(&t.rows))
        .unwrap_or_default();
    let probe = probe.then(|| run_probe(proc_root, &views, diag.as_ref().ok(), root));
    Ok(Gathered {
        views,
        ifaces,
        arp,
        gateways,
        neigh6,
        gateways6,
        probe,
        diag_error,
    })
}

fn inet_views(v: &Views) -> impl Iterator<Item = &crate::proc::inet::InetSocket> {
    v.proc_inet.iter().chain(v.diag_inet.iter().flatten())
}

fn run_probe(
    proc_root: &ProcRoot,
    views: &Views,
    diag: Option<&DiagSocket>,
    root: bool,
) -> ProbeOutcome {
    let mut out = ProbeOutcome::default();
    let first = if root {
        1
    } else {
        let start = proc_root
            .read("sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|d| String::from_utf8_lossy(&d).trim().parse::<u16>().ok())
            .unwrap_or(1024);
        if start > 1 {
            out.notes.push(format!(
                "ports below {start} not probed (binding them needs root)"
            ));
        }
        start
    };
    let held = probe::held_ports(inet_views(views));
    let mut candidates: Vec<(probe::Space, u16)> = Vec::new();
    for (space, result) in probe::sweep_all(first) {
        match result {
            Ok(sweep) => {
                if let Some(e) = sweep.first_error {
                    if !(space.v6 && e == libc::EAFNOSUPPORT) {
                        out.notes.push(format!(
                            "{}: {} ports could not be probed ({})",
                            space.proto.file(space.v6),
                            sweep.failed,
                            io::Error::from_raw_os_error(e)
                        ));
                    }
                }
                candidates.extend(
                    probe::unexplained(space, &sweep.in_use, &held)
                        .into_iter()
                        .map(|p| (space, p)),
                );
            }
            Err(e) => out
                .notes
                .push(format!("{}: probe failed: {e}", space.proto.file(space.v6))),
        }
    }
    // Confirm twice, each time against fresh views: a socket that was opening during
    // the sweep shows up in them.
    let confirmed = probe::confirm(
        candidates,
        2,
        || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            match Views::read(proc_root, NET_DIR, diag) {
                Ok(v) => Ok(probe::held_ports(inet_views(&v))),
                Err(e) => Err(format!("probe confirmation: {e}")),
            }
        },
        |space, port| probe::rebind(space, port).ok(),
    );
    let candidates = match confirmed {
        Ok(c) => c,
        Err(e) => {
            out.notes.push(e);
            Vec::new()
        }
    };
    out.hidden = candidates;
    out
}

/// Inodes listed by any table of the namespaces other than `netns`, read lazily
/// through a process of each, or by entering it (no netlink needed for this).
struct Elsewhere<'a> {
    opts: &'a AuditOptions,
    others: Vec<Target>,
    listed: Option<HashSet<u64>>,
}

impl Elsewhere<'_> {
    fn contains(&mut self, inode: u64) -> bool {
        let opts = self.opts;
        let others = &self.others;
        self.listed
            .get_or_insert_with(|| {
                let mut set = HashSet::new();
                for ns in others {
                    let views = match (ns.pid, &ns.enter) {
                        (Some(pid), _) => Views::read(&opts.proc_root, &format!("{pid}/net"), None),
                        // Only a /run/netns mount holds it: enter it to read its tables.
                        (None, Some(file)) => netns::run_in(Some(file), false, |_| {
                            Views::read(&opts.proc_root, NET_DIR, None)
                        })
                        .and_then(|r| r),
                        (None, None) => continue,
                    };
                    if let Ok(v) = views {
                        set.extend(v.listed_inodes());
                    }
                }
                set
            })
            .contains(&inode)
    }
}

/// Findings of checks 3 and 4 that hold on both looks (same check and inode).
fn on_both_looks(first: Vec<Finding>, second: Vec<Finding>) -> Vec<Finding> {
    let keys: HashSet<(Check, Option<u64>)> =
        first.iter().map(|f| (f.check, f.evidence.inode)).collect();
    second
        .into_iter()
        .filter(|f| keys.contains(&(f.check, f.evidence.inode)))
        .collect()
}

/// Check 9, about this process: LD_PRELOAD and /etc/ld.so.preload.
pub fn preload(
    env_value: Option<&std::ffi::OsStr>,
    preload_file: &std::path::Path,
) -> Vec<Finding> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        let e = Evidence {
            pid: Some(std::process::id()),
            detail: Some(format!(
                "LD_PRELOAD={}",
                crate::escape::escape(v.as_bytes())
            )),
            ..Evidence::default()
        };
        out.push(Finding::new(
            Severity::High,
            Check::Preload,
            "LD_PRELOAD is set in rnetstat's environment: its libc calls may be hooked",
            e,
        ));
    }
    if let Ok(data) = crate::proc::read_file(preload_file) {
        let e = Evidence {
            exe: Some(preload_file.display().to_string()),
            detail: Some(format!(
                "contents: {}",
                crate::escape::escape(data.trim_ascii())
            )),
            ..Evidence::default()
        };
        out.push(Finding::new(Severity::High, Check::Preload, "/etc/ld.so.preload exists: every dynamically linked program loads the libraries it names", e));
    }
    out
}

/// Runs the audit. `Err` means it could not run at all (exit status 2).
pub fn run(opts: &AuditOptions) -> Result<Report, String> {
    let root = netns::is_root();
    let mut report = Report {
        schema: 1,
        view: "audit",
        root,
        ..Report::default()
    };
    let me = std::process::id();
    let current = netns::current_inode(&opts.proc_root)
        .map_err(|e| format!("cannot read the network namespace: {e}"))?;

    let all: Vec<Target> = crate::netns::discover(&opts.proc_root)
        .unwrap_or_default()
        .iter()
        .filter_map(|ns| Target::of(ns, &opts.proc_root, current))
        .collect();
    let own = || {
        all.iter()
            .find(|t| t.inode == current)
            .cloned()
            .unwrap_or_else(|| Target::own(current))
    };
    let targets: Vec<Target> = match &opts.scope {
        Scope::Own => vec![own()],
        Scope::All if root => all.clone(),
        Scope::All => {
            report.not_done.push(NotDone {
                check: None,
                namespace: None,
                reason: "--all-netns needs root (setns); only the current namespace was audited"
                    .into(),
            });
            vec![own()]
        }
        Scope::One(spec) => {
            let ns = crate::netns::select(&opts.proc_root, spec)?;
            let target = Target::of(&ns, &opts.proc_root, current)
                .ok_or_else(|| format!("{spec}: cannot enter this network namespace"))?;
            vec![target]
        }
    };

    if !opts.probe {
        report.not_done.push(NotDone {
            check: Some(Check::PortProbe),
            namespace: None,
            reason: NO_PROBE.into(),
        });
    }
    report.findings.extend(preload(
        std::env::var_os("LD_PRELOAD").as_deref(),
        &opts.preload_file,
    ));

    // hidden-process: the kernel's task list right before each listing of /proc.
    let kernel = hidden::KernelTasks::open(&opts.proc_root, root);
    let kernel_1 = kernel.as_ref().ok().map(|k| k.look());
    let mut holders_1 =
        Holders::scan(&opts.proc_root, me).map_err(|e| format!("cannot list processes: {e}"))?;
    if !root || holders_1.denied > 0 {
        let why = format!(
            "not root: the descriptors of {} processes could not be read",
            holders_1.denied
        );
        for check in [
            Check::UnownedSocket,
            Check::GhostSocket,
            Check::SocketFilter,
        ] {
            report.not_done.push(NotDone {
                check: Some(check),
                namespace: None,
                reason: why.clone(),
            });
        }
        report.warnings.push(format!(
            "{why}; sniffer and process checks only cover readable processes"
        ));
    }
    let fd_checks = root && holders_1.denied == 0;

    // First look at every namespace (with the probe), then a second look at each,
    // then the descriptors again: the racing checks keep what both looks show.
    let look = |target: &Target, probe: bool| {
        let is_current = target.enter.is_none();
        let gathered = netns::run_in(target.enter.as_deref(), root, |entered| {
            gather(opts, entered, is_current, root, probe)
        })
        .and_then(|r| r);
        (target.inode, is_current, gathered)
    };
    let mut firsts = Vec::new();
    for target in &targets {
        match look(target, opts.probe) {
            (inode, _, Ok(g)) => firsts.push((target, inode, g)),
            (inode, false, Err(e)) => report.not_done.push(NotDone {
                check: None,
                namespace: Some(inode),
                reason: format!("namespace could not be audited: {e}"),
            }),
            (_, true, Err(e)) => return Err(format!("cannot read the socket tables: {e}")),
        }
    }
    let mut pairs = Vec::new();
    for (target, inode, first) in firsts {
        match look(target, false) {
            (_, _, Ok(second)) => {
                // A socket hidden from one view on two looks gets a third: under heavy
                // churn /proc/net/tcp, read in pieces, can skip a socket twice.
                let suspicious = crossview::compare(&first.views, &second.views, inode)
                    .is_some_and(|f| !f.is_empty());
                let third = suspicious.then(|| look(target, false).2.ok()).flatten();
                pairs.push((inode, first, second, third))
            }
            (_, false, Err(e)) => report.not_done.push(NotDone {
                check: None,
                namespace: Some(inode),
                reason: format!("namespace went away during the audit: {e}"),
            }),
            (_, true, Err(e)) => return Err(format!("cannot read the socket tables: {e}")),
        }
    }
    if pairs.is_empty() {
        let why: Vec<&str> = report
            .not_done
            .iter()
            .filter(|n| n.check.is_none())
            .map(|n| n.reason.as_str())
            .collect();
        return Err(format!(
            "no network namespace could be audited: {}",
            why.join("; ")
        ));
    }
    let kernel_2 = kernel.as_ref().ok().map(|k| k.look());
    let mut holders_2 =
        Holders::scan(&opts.proc_root, me).map_err(|e| format!("cannot list processes: {e}"))?;
    let hidden_found = match (kernel, kernel_1, kernel_2) {
        (Ok(_), Some(Ok(first)), Some(Ok(second))) => {
            let candidates =
                hidden::missing([&first, &second], [&holders_1.listed, &holders_2.listed]);
            Ok(hidden::confirm(&opts.proc_root, candidates))
        }
        (Err(why), ..) | (_, Some(Err(why)), _) | (_, _, Some(Err(why))) => Err(why),
        (Ok(_), ..) => Err("the kernel's task list was not read".to_string()),
    };
    let hidden_sockets = match &hidden_found {
        Ok(found) => hidden::sockets(found).unwrap_or_else(|why| {
            report.not_done.push(NotDone {
                check: Some(Check::HiddenProcess),
                namespace: None,
                reason: why,
            });
            Default::default()
        }),
        Err(why) => {
            report.not_done.push(NotDone {
                check: Some(Check::HiddenProcess),
                namespace: None,
                reason: why.clone(),
            });
            report
                .warnings
                .push(format!("hidden-process check not run: {why}"));
            Default::default()
        }
    };
    if let Ok(found) = &hidden_found {
        for holders in [&mut holders_1, &mut holders_2] {
            for (&pid, held) in &hidden_sockets {
                for &(inode, holder) in held {
                    holders.hidden.entry(inode).or_default().push(holder);
                }
                if let Some(h) = found.iter().find(|h| h.task.pid == pid) {
                    holders.hidden_comm.insert(pid, h.task.comm().to_vec());
                }
            }
        }
    }
    for (inode, first, second, third) in &pairs {
        let info = targets.iter().find(|n| n.inode == *inode);
        report.namespaces.push(NamespaceInfo {
            inode: *inode,
            name: info.and_then(|n| n.name.clone()),
            pid: info.and_then(|n| n.pid),
            own: *inode == current,
        });
        let ns_report = audit_namespace(
            opts,
            *inode,
            [first, second],
            third.as_ref(),
            [&holders_1, &holders_2],
            fd_checks,
            &all,
        );
        report.findings.extend(ns_report.findings);
        report.not_done.extend(ns_report.not_done);
        report.warnings.extend(first.views.warnings.iter().cloned());
        if let Some(t) = &first.arp {
            report
                .warnings
                .extend(t.warnings.iter().map(|w| w.to_string()));
        }
    }
    if let Ok(found) = &hidden_found {
        let views: Vec<(u64, &Views)> = pairs
            .iter()
            .map(|(inode, _, second, _)| (*inode, &second.views))
            .collect();
        report
            .findings
            .extend(hidden::findings(found, &hidden_sockets, &views));
    }
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.check.cmp(&b.check))
            .then(a.evidence.namespace.cmp(&b.evidence.namespace))
            .then(a.evidence.pid.cmp(&b.evidence.pid))
            .then(a.evidence.inode.cmp(&b.evidence.inode))
    });
    report.findings.dedup();
    report.warnings.sort();
    report.warnings.dedup();
    // No findings is not "clean" when checks were left out for a reason the caller
    // did not choose (not root, hidepid, a namespace that could not be entered).
    report.clean = report.findings.is_empty() && !report.partial();
    Ok(report)
}

struct NsReport {
    findings: Vec<Finding>,
    not_done: Vec<NotDone>,
}

#[allow(clippy::too_many_arguments)]
fn audit_namespace(
    opts: &AuditOptions,
    netns: u64,
    [first, second]: [&Gathered; 2],
    third: Option<&Gathered>,
    [holders_1, holders_2]: [&Holders; 2],
    fd_checks: bool,
    all: &[Target],
) -> NsReport {
    let mut findings = Vec::new();
    let mut not_done = Vec::new();
    let mut skip = |check: Check, reason: String| {
        not_done.push(NotDone {
            check: Some(check),
            namespace: Some(netns),
            reason,
        })
    };

    // 1. cross-view
    let mut looks = vec![&first.views, &second.views];
    looks.extend(third.map(|t| &t.views));
    match crossview::compare_looks(&looks, netns) {
        Some(mut f) => {
            for finding in &mut f {
                if let Some(inode) = finding.evidence.inode {
                    sockets::attach_holder(&mut finding.evidence, holders_2, inode);
                }
            }
            findings.extend(f);
        }
        None => skip(
            Check::CrossView,
            first
                .diag_error
                .clone()
                .unwrap_or_else(|| "sock_diag dump failed".into()),
        ),
    }

    // 2. port probe
    match &first.probe {
        Some(p) => {
            for note in &p.notes {
                skip(Check::PortProbe, note.clone());
            }
            for &(space, port) in &p.hidden {
                let mut e = Evidence::in_namespace(netns);
                e.protocol = Some(space.proto.file(space.v6).to_string());
                e.address = Some(if space.v6 { "::" } else { "0.0.0.0" }.to_string());
                e.port = Some(port);
                e.detail = Some(
                    "can be wrong: a process binding and closing this port in a loop, \
                     between the probe and the views, looks the same"
                        .to_string(),
                );
                findings.push(Finding::new(
                    Severity::High,
                    Check::PortProbe,
                    "port in use (bind fails with EADDRINUSE, twice confirmed) but no socket in any view holds it",
                    e,
                ));
            }
        }
        None if opts.probe => skip(Check::PortProbe, "probe did not run".into()),
        None => {}
    }

    // 3 and 4, on both looks.
    if fd_checks {
        let u1 = sockets::unowned(&first.views, holders_1, netns);
        let u2 = sockets::unowned(&second.views, holders_2, netns);
        findings.extend(on_both_looks(u1, u2));

        let mut elsewhere = Elsewhere {
            opts,
            others: all.iter().filter(|n| n.inode != netns).cloned().collect(),
            listed: None,
        };
        let proc_path = opts.proc_root.path().to_path_buf();
        let (g1, unknown) = sockets::ghosts(
            &first.views,
            holders_1,
            netns,
            |i| elsewhere.contains(i),
            |pid, fd| fdprobe::listability(&proc_path, pid, fd),
        );
        let (g2, _) = sockets::ghosts(
            &second.views,
            holders_2,
            netns,
            |i| elsewhere.contains(i),
            |pid, fd| fdprobe::listability(&proc_path, pid, fd),
        );
        findings.extend(on_both_looks(g1, g2));
        if unknown > 0 {
            skip(
                Check::GhostSocket,
                format!("{unknown} unlisted sockets could not be inspected (pidfd_getfd refused)"),
            );
        }
    }

    // 5. sniffers
    let ifaces = second.ifaces.as_ref().ok().or(first.ifaces.as_ref().ok());
    let names: HashMap<i32, String> = ifaces.map(|l| iface::index_names(l)).unwrap_or_default();
    findings.extend(sockets::sniffers(&second.views, holders_2, netns, &names));

    // 5b. filters on packet, raw, TCP, UDP and unix sockets
    let (filtered, unread) =
        filters::socket_filters(&second.views, holders_2, netns, &names, filters::read_live);
    findings.extend(filtered);
    if unread > 0 {
        skip(
            Check::SocketFilter,
            format!("the filters of {unread} sockets could not be read (holder exited, or pidfd_getfd refused)"),
        );
    }

    // 6. promiscuous interfaces
    match &first.ifaces {
        Ok(list) => {
            if list.iter().all(|i| i.sysfs_flags.is_none()) && !list.is_empty() {
                skip(
                    Check::Promiscuous,
                    "sysfs does not show this namespace: ioctl source only".into(),
                );
            }
            findings.extend(iface::promiscuous(list, netns));
        }
        Err(e) => skip(
            Check::Promiscuous,
            format!("interfaces could not be read: {e}"),
        ),
    }

    // 7. ARP
    match &first.arp {
        Some(t) => findings.extend(arp::shared_macs(&t.rows, &first.gateways, netns)),
        None => skip(Check::Arp, "/proc/net/arp could not be read".into()),
    }

    // 7b. IPv6 neighbours
    match &first.neigh6 {
        Ok(list) => findings.extend(arp::shared_macs6(list, &first.gateways6, &names, netns)),
        Err(e) => skip(Check::Ndp, e.clone()),
    }

    // 8. processes
    findings.extend(sockets::processes(holders_2, netns));

    NsReport { findings, not_done }
}
