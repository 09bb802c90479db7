//! What showing a run's rows needs besides the rows: the names ss gives (services,
//! hosts with -r, interfaces, netlink owners, the ephemeral range), the detail
//! options, the cgroup paths and --all-filters' programs, gathered once per run (per
//! namespace with --all-netns) into a [`Naming`] that lends each row its
//! [`RowContext`]. The text grid and the JSON document are both made from it.

use super::{ProcEnv, Row};
use crate::cli::ss::{AllFilters, Options};
use crate::proc::cgroup::CgroupPaths;
use crate::proc::ProcRoot;
use crate::render::ss::{self as view, RowContext};
use crate::render::ss_detail::DetailOptions;
use crate::render::ss_filters::HeldFilters;
use crate::resolve::{DuplicatePolicy, HostNames, Services, HOST_DEADLINE};
use crate::snapshot::Owners;
use crate::sockfilter;

/// The names and lookups of one run's rows.
pub struct Naming<'a> {
    services: Services,
    hosts: HostNames,
    ephemeral: (u16, u16),
    cgroups: CgroupPaths,
    filters: Option<HeldFilters>,
    /// With -p/-T: every holder of each socket (--all-filters alone scans for holders
    /// without printing them).
    owners: Option<&'a Owners>,
    show_threads: bool,
    numeric: bool,
    resolve: bool,
    details: DetailOptions,
    /// --all-filters: sockets whose holders' descriptors could not be read.
    pub unread_filters: usize,
}

impl<'a> Naming<'a> {
    /// The naming of `rows` (their hosts resolved with -r, their filters read with
    /// --all-filters through `owners`).
    pub fn new(o: &Options, rows: &[Row], owners: Option<&'a Owners>) -> Naming<'a> {
        let services = if o.numeric {
            Services::default()
        } else {
            with_rpc_names(Services::load(DuplicatePolicy::FirstWins), o)
        };
        let mut n = Naming::with_services(o, services);
        n.hosts = resolved_hosts(o, rows);
        if let Some(mode) = o.all_filters {
            let (filters, unread) = held_filters(mode, rows, owners);
            n.filters = Some(filters);
            n.unread_filters = unread;
        }
        n.owners = owners.filter(|_| o.show_processes || o.show_threads);
        n
    }

    /// A naming without rows yet (-E names each event's row as it comes, see
    /// [`Naming::resolve`]; it asks rpcbind for no names).
    pub fn for_events(o: &Options) -> Naming<'a> {
        let services = if o.numeric {
            Services::default()
        } else {
            Services::load(DuplicatePolicy::FirstWins)
        };
        Naming::with_services(o, services)
    }

    fn with_services(o: &Options, services: Services) -> Naming<'a> {
        Naming {
            services,
            hosts: HostNames::default(),
            ephemeral: ephemeral_range(),
            cgroups: CgroupPaths::new(&ProcRoot::default()),
            filters: None,
            owners: None,
            show_threads: o.show_threads,
            numeric: o.numeric,
            resolve: o.resolve,
            details: detail_options(o),
            unread_filters: 0,
        }
    }

    /// With -r, resolves the addresses of one more row.
    pub fn resolve(&mut self, s: &crate::netlink::inet::SsInetSocket) {
        if self.resolve {
            let addrs = [s.sock.local, s.sock.remote].map(|a| view::lookup_key(&a));
            self.hosts.resolve_all(addrs, HOST_DEADLINE);
        }
    }

    /// The detail options of the run.
    pub fn details(&self) -> DetailOptions {
        self.details
    }

    pub fn cgroups(&self) -> &CgroupPaths {
        &self.cgroups
    }

    /// What each row is rendered with. The JSON document carries the details as
    /// values (`details`), not as text: `text_details` false leaves them out.
    pub fn context(&self, text_details: bool) -> RowContext<'_> {
        RowContext {
            numeric: self.numeric,
            resolve: self.resolve,
            services: &self.services,
            hosts: &self.hosts,
            ephemeral: self.ephemeral,
            owners: self.owners,
            show_threads: self.show_threads,
            ifname: &ifname,
            netlink_owner: &netlink_owner,
            details: if text_details {
                self.details
            } else {
                DetailOptions::default()
            },
            cgroups: &self.cgroups,
            filters: self.filters.as_ref(),
        }
    }
}

/// What the detail options (-o -e -m -i --tos --cgroup --inet-sockopt -b) ask rows for.
pub fn detail_options(o: &Options) -> DetailOptions {
    DetailOptions {
        timers: o.show_options,
        extended: o.show_details > 0,
        memory: o.show_mem,
        info: o.show_tcpinfo,
        tos: o.show_tos,
        cgroup: o.show_cgroup,
        inet_sockopt: o.show_inet_sockopt,
        bpf: o.show_bpf,
        oneline: o.oneline,
        numeric: o.numeric,
    }
}

fn resolved_hosts(o: &Options, rows: &[Row]) -> HostNames {
    let mut hosts = HostNames::default();
    if o.resolve {
        let addrs = rows.iter().flat_map(|r| match r {
            Row::Inet(s, _) => [Some(s.sock.local), Some(s.sock.remote)],
            _ => [None, None],
        });
        hosts.resolve_all(addrs.flatten().map(|a| view::lookup_key(&a)), HOST_DEADLINE);
    }
    hosts
}

/// ss -r (without -n) asks rpcbind once: its registered ports print as `rpc.NAME`.
fn with_rpc_names(mut services: Services, o: &Options) -> Services {
    if o.resolve {
        if let Some(why) = services.add_rpc_names() {
            eprintln!("rss: WARNING: no rpcbind registrations: {why}");
        }
    }
    services
}

/// --all-filters: every row's filter, read through a duplicate of a holder's
/// descriptor (one pidfd per process), and how many sockets' filters could not be
/// read (the run says so on stderr and in its status).
fn held_filters(mode: AllFilters, rows: &[Row], owners: Option<&Owners>) -> (HeldFilters, usize) {
    let mut reader = sockfilter::Reader::default();
    let mut found = std::collections::HashMap::new();
    let mut unread = 0;
    // Processes whose descriptors the scan could not read (not root): any socket
    // without a visible holder may be theirs.
    let hidden = owners.map_or(0, |ow| ow.denied + ow.exhausted);
    for row in rows {
        let inode = match row {
            // The kernel's netlink sockets (no descriptor, no filter) and ours.
            Row::Netlink(s) if s.portid == 0 || s.portid == std::process::id() => continue,
            Row::Netlink(s) => s.inode,
            Row::Packet(s) => s.inode,
            Row::Unix(s) => s.inode,
            Row::Inet(s, _) => s.sock.inode,
        };
        if inode == 0 || found.contains_key(&inode) {
            continue;
        }
        let holders: Vec<(u32, u32)> = owners
            .map(|ow| ow.holders(inode).map(|(p, fd)| (p.pid, fd)).collect())
            .unwrap_or_default();
        let got = if holders.is_empty() && hidden > 0 {
            sockfilter::Found::NotRead(format!(
                "no visible holder; the descriptors of {hidden} processes could not be read"
            ))
        } else {
            reader.read(inode, holders.iter().copied())
        };
        // A socket no process holds (the kernel's own, one in flight) is shown as
        // not read; one whose holders could not be read (or could not be seen) makes
        // the answer partial.
        if matches!(got, sockfilter::Found::NotRead(_)) && (!holders.is_empty() || hidden > 0) {
            unread += 1;
        }
        found.insert(inode, got);
    }
    let filters = HeldFilters {
        found,
        disasm: mode == AllFilters::Disasm,
    };
    (filters, unread)
}

/// The /proc ss reads processes from: $PROC_ROOT, else /proc.
pub fn ss_proc_root() -> ProcRoot {
    std::env::var_os("PROC_ROOT")
        .map(ProcRoot::new)
        .unwrap_or_default()
}

/// ip_local_port_range ($PROC_IP_LOCAL_PORT_RANGE or under $PROC_ROOT, as ss
/// opens it), or ss's 1024-4999 when unreadable.
fn ephemeral_range() -> (u16, u16) {
    let path = ProcEnv::from_env().path(
        "PROC_IP_LOCAL_PORT_RANGE",
        "sys/net/ipv4/ip_local_port_range",
    );
    let text = crate::proc::read_file_max(&path, 4096).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let mut it = text.split_whitespace().map(|f| f.parse::<u16>());
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) => (lo, hi),
        _ => (1024, 4999),
    }
}

fn ifname(index: u32) -> String {
    match nix::net::if_::if_indextoname(index) {
        Ok(name) => crate::escape::escape(name.as_bytes()).into_owned(),
        Err(_) => format!("if{index}"),
    }
}

/// `comm` of a netlink socket's port id when a process of that pid exists.
fn netlink_owner(pid: u32) -> Option<Vec<u8>> {
    let stat = ss_proc_root().read(&format!("{pid}/stat")).ok()?;
    let open = stat.iter().position(|&b| b == b'(')?;
    let rest = &stat[open + 1..];
    let close = rest.iter().position(|&b| b == b')')?;
    (close > 0).then(|| rest[..close].to_vec())
}
