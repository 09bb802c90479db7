//! rnetstat's options: net-tools netstat 2.10's, spelled the same, plus our own long
//! options. Parsed by clap, then validated into a [`Config`].

use super::getopt::{self, HasArg};
use crate::color::{ColorChoice, Palette};
use crate::proc::ProcRoot;
use crate::render::iface::IfaceOptions;
use crate::render::netstat::{Rows, SocketOptions};
use crate::render::route::RouteOptions;
use crate::render::stats::Sections;
use clap::{ArgAction, Parser};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "rnetstat",
    version,
    about = "Print network connections, routing tables, interface statistics and more, as netstat does",
    after_help = "Examples:\n  rnetstat -tulpn          listening TCP/UDP sockets with their programs\n  rnetstat -anp | grep :22 every socket on port 22\n  rnetstat -xap            unix sockets with their programs",
    disable_help_flag = true
)]
pub struct NetstatArgs {
    /// Display the kernel interface table (with -e: ifconfig-style blocks)
    #[arg(short = 'i', long = "interfaces", action = ArgAction::Count, help_heading = "Views")]
    pub interfaces: u8,
    /// Display IPv4/IPv6 multicast group memberships (after the socket tables)
    #[arg(short = 'g', long = "groups", help_heading = "Views")]
    pub groups: bool,

    /// Display all sockets (default: connected); with -i, interfaces that are down too
    #[arg(short = 'a', long = "all", help_heading = "Socket selection")]
    pub all: bool,
    /// Display listening server sockets
    #[arg(short = 'l', long = "listening", help_heading = "Socket selection")]
    pub listening: bool,
    /// TCP sockets
    #[arg(short = 't', long = "tcp", help_heading = "Socket selection")]
    pub tcp: bool,
    /// UDP sockets
    #[arg(short = 'u', long = "udp", help_heading = "Socket selection")]
    pub udp: bool,
    /// UDP-Lite sockets
    #[arg(short = 'U', long = "udplite", help_heading = "Socket selection")]
    pub udplite: bool,
    /// Raw sockets
    #[arg(short = 'w', long = "raw", help_heading = "Socket selection")]
    pub raw: bool,
    /// Unix domain sockets
    #[arg(
        short = 'x',
        long = "unix",
        action = ArgAction::Append,
        num_args = 0,
        default_missing_value = "unix",
        help_heading = "Socket selection"
    )]
    pub unix: Vec<String>,
    /// IPv4 only (same as -A inet)
    #[arg(
        short = '4',
        long = "inet",
        action = ArgAction::Append,
        num_args = 0,
        default_missing_value = "inet",
        help_heading = "Socket selection"
    )]
    pub inet: Vec<String>,
    /// IPv6 only (same as -A inet6)
    #[arg(
        short = '6',
        long = "inet6",
        action = ArgAction::Append,
        num_args = 0,
        default_missing_value = "inet6",
        help_heading = "Socket selection"
    )]
    pub inet6: Vec<String>,
    /// Address families, comma separated: inet (or ip, tcpip), inet6 (or ip6), unix;
    /// also netstat's ax25, x25, ipx, netrom, rose, bluetooth, ddp (appletalk), econet, ash
    #[arg(
        short = 'A',
        long = "protocol",
        value_name = "FAMILY",
        action = ArgAction::Append,
        help_heading = "Socket selection"
    )]
    pub families: Vec<String>,

    /// Display the kernel routing table (with -6 or -A inet6: the IPv6 one)
    #[arg(short = 'r', long = "route", action = ArgAction::Count, help_heading = "Tables")]
    pub route: u8,
    /// Display the ARP (IPv4 neighbour) table as arp does (-n: as arp -n)
    #[arg(long = "arp", action = ArgAction::Count, help_heading = "Tables")]
    pub arp: u8,
    /// Masqueraded connections: netstat 2.10 on Linux has no support for them here
    #[arg(short = 'M', long = "masquerade", action = ArgAction::Count, help_heading = "Views")]
    pub masquerade: u8,
    /// SELinux security contexts: netstat answers that SELinux is not enabled
    #[arg(short = 'Z', long = "context", help_heading = "Output")]
    pub context: bool,
    /// With -r: display the routing cache instead of the FIB
    #[arg(short = 'C', long = "cache", help_heading = "Tables")]
    pub cache: bool,
    /// With -r: display the Forwarding Information Base (the default)
    #[arg(short = 'F', long = "fib", help_heading = "Tables")]
    pub fib: bool,

    /// Show the PID and name of the program owning each socket
    #[arg(short = 'p', long = "programs", help_heading = "Output")]
    pub programs: bool,
    /// Don't resolve names (hosts, ports, users)
    #[arg(short = 'n', long = "numeric", help_heading = "Output")]
    pub numeric: bool,
    /// Don't resolve host names
    #[arg(long = "numeric-hosts", help_heading = "Output")]
    pub numeric_hosts: bool,
    /// Don't resolve port names
    #[arg(long = "numeric-ports", help_heading = "Output")]
    pub numeric_ports: bool,
    /// Don't resolve user names
    #[arg(long = "numeric-users", help_heading = "Output")]
    pub numeric_users: bool,
    /// Resolve hardware names; with -r it turns host names off, as in netstat
    #[arg(short = 'N', long = "symbolic", help_heading = "Output")]
    pub symbolic: bool,
    /// Display other/more information (User and Inode); twice for more
    #[arg(short = 'e', long = "extend", action = ArgAction::Count, help_heading = "Output")]
    pub extend: u8,
    /// Display timers
    #[arg(short = 'o', long = "timers", help_heading = "Output")]
    pub timers: bool,
    /// Don't truncate IP addresses
    #[arg(
        short = 'W',
        long = "wide",
        visible_alias = "notrim",
        help_heading = "Output"
    )]
    pub wide: bool,
    /// Continuous listing, every DELAY seconds (default 1)
    #[arg(short = 'c', long = "continuous", help_heading = "Output")]
    pub continuous: bool,
    /// Be verbose (report unsupported address families)
    #[arg(short = 'v', long = "verbose", help_heading = "Output")]
    pub verbose: bool,

    /// SCTP sockets (netstat 2.10 reads /proc/net/sctp, missing without the sctp module)
    #[arg(short = 'S', long = "sctp", help_heading = "Socket selection")]
    pub sctp: bool,
    /// Bluetooth L2CAP sockets (netstat 2.10 here is built without Bluetooth support)
    #[arg(short = '2', long = "l2cap", help_heading = "Socket selection")]
    pub l2cap: bool,
    /// Bluetooth RFCOMM sockets (netstat 2.10 here is built without Bluetooth support)
    #[arg(short = 'f', long = "rfcomm", help_heading = "Socket selection")]
    pub rfcomm: bool,

    /// Display protocol statistics (with -t, -u, -w: only those protocols)
    #[arg(short = 's', long = "statistics", action = ArgAction::Count, help_heading = "Views")]
    pub statistics: u8,

    /// Look for hidden and suspicious sockets, sniffers, ARP spoofing (exit 0 clean, 1 findings, 2 failed)
    #[arg(long = "audit", help_heading = "Audit")]
    pub audit: bool,
    /// With --audit: skip the bind() probe of every port
    #[arg(long = "no-probe", requires = "audit", help_heading = "Audit")]
    pub no_probe: bool,

    /// Read DIR instead of /proc (a captured snapshot or recorded files)
    #[arg(
        long = "proc-root",
        value_name = "DIR",
        help_heading = "Beyond netstat"
    )]
    pub proc_root: Option<PathBuf>,

    /// Write the /proc and /sys files the tools read to DIR (read back with
    /// --proc-root DIR/proc)
    #[arg(long = "capture", value_name = "DIR", help_heading = "Beyond netstat")]
    pub capture: Option<PathBuf>,

    /// Peek the unread receive queue of every selected socket (never consuming it)
    /// into queues/receive.PID.FD: with --capture DIR, inside its capture; alone,
    /// into a new directory DIR
    #[arg(
        long = "queues",
        value_name = "DIR",
        num_args = 0..=1,
        help_heading = "Beyond netstat"
    )]
    pub queues: Option<Option<PathBuf>>,
    /// With --queues: bytes kept per socket, suffix K, M or G (default 4M)
    #[arg(
        long = "queue-cap",
        value_name = "SIZE",
        requires = "queues",
        value_parser = parse_size,
        help_heading = "Beyond netstat"
    )]
    pub queue_cap: Option<usize>,

    /// Print a man page or a shell completion script (man, complete-bash, ...)
    #[arg(long = "generate", value_name = "KIND", hide = true)]
    pub generate: Option<String>,

    /// Every network namespace (of every process and /run/netns), each row tagged
    #[arg(
        long = "all-netns",
        help_heading = "Beyond netstat",
        conflicts_with = "netns"
    )]
    pub all_netns: bool,
    /// One network namespace: a name from /run/netns, a PID, or a namespace file path
    #[arg(
        long = "netns",
        value_name = "NAME|PID|PATH",
        help_heading = "Beyond netstat"
    )]
    pub netns: Option<String>,
    /// One JSON document per run (per refresh with -c), schema in docs/json.md
    #[arg(long = "json", help_heading = "Beyond netstat")]
    pub json: bool,
    /// Colour states, listening ports and unknown owners (auto: terminals only, not with NO_COLOR)
    #[arg(
        long = "color",
        visible_alias = "colour",
        value_name = "WHEN",
        value_enum,
        default_value_t = ColorChoice::Auto,
        help_heading = "Beyond netstat"
    )]
    pub color: ColorChoice,

    /// Print help
    #[arg(short = 'h', long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,

    /// The family options (-4, -6, -x, -A) in command-line order, filled by
    /// [`NetstatArgs::parse_ordered`]; -r prints its tables in this order.
    #[arg(skip)]
    pub family_order: Vec<String>,

    /// Seconds between refreshes with -c
    #[arg(value_name = "DELAY")]
    pub delay: Option<f64>,
}

/// `--queue-cap`: a byte count, optionally with a binary K, M or G suffix.
fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("unknown unit in `{text}' (K, M or G)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}' is not a size"))?;
    n.checked_mul(1 << shift)
        .filter(|&n| n > 0 && n <= i32::MAX as usize)
        .ok_or_else(|| format!("`{text}': give 1 byte to 2G"))
}

/// `--queues`: where the dump goes and how much of each queue it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuesConfig {
    /// A new directory of its own (`--queues DIR`); `None`: the capture's directory.
    pub dir: Option<PathBuf>,
    pub cap: usize,
}

/// The socket families and protocols a run shows, after netstat's defaulting rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub tcp: bool,
    pub udp: bool,
    pub udplite: bool,
    pub raw: bool,
    pub unix: bool,
    /// -S: netstat's SCTP tables (after TCP's).
    pub sctp: bool,
    /// The old families netstat tries after the unix sockets (-A ipx, --ax25, ...).
    pub ipx: bool,
    pub ax25: bool,
    pub x25: bool,
    pub netrom: bool,
    pub rose: bool,
    /// --bluetooth, -2 (l2cap), -f (rfcomm): this netstat is built without them.
    pub bluetooth: bool,
    pub inet4: bool,
    pub inet6: bool,
    /// Protocols were implied by a family (-4/-6/-A inet) rather than asked for:
    /// missing tables are then not an error.
    pub implied: bool,
    /// Something was selected at all; otherwise everything is shown.
    pub explicit: bool,
}

impl Selection {
    pub fn any_inet(&self) -> bool {
        self.tcp || self.udp || self.udplite || self.raw || self.sctp
    }

    /// A family netstat knows but rnetstat shows no table for was asked for.
    pub fn old_families(&self) -> bool {
        self.ipx || self.ax25 || self.x25 || self.netrom || self.rose || self.bluetooth
    }
}

/// Which network namespaces a run reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NetnsChoice {
    /// The one rnetstat runs in, as netstat.
    #[default]
    Own,
    /// Every namespace, rows tagged with theirs.
    All,
    /// The namespace a name, pid or path designates.
    One(String),
}

/// Which table a run prints (netstat's modes are mutually exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Sockets,
    Audit {
        probe: bool,
    },
    Interfaces,
    Capture,
    /// `--queues DIR` alone: a queue dump without the rest of a capture.
    Queues,
    Statistics,
    Route,
    Arp,
    /// `-M`: netstat's answer that masquerading is not supported.
    Masquerade,
}

/// An address family of -r, in the order given (`-A inet6,inet` prints v6 first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteFamily {
    Inet,
    Inet6,
    /// Accepted by -A but without a routing table: netstat stops with a usage error.
    Unix,
    /// Another family netstat knows without a routing table (`ec`, `ash`): the same.
    NoRouting(&'static str),
    /// Bluetooth: this netstat is built without it (a usage error).
    Unsupported(&'static str),
    /// A family netstat has a routing table for but rnetstat no view of: ddp, ax25,
    /// x25, ipx, netrom, rose (their /proc files are missing on current kernels).
    Old(&'static str),
}

/// What -r prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    pub families: Vec<RouteFamily>,
    pub fib: bool,
    pub cache: bool,
    pub options: RouteOptions,
}

/// Which counters `-s` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsFamily {
    /// /proc/net/snmp, /proc/net/netstat, /proc/net/sctp/snmp.
    Inet,
    /// /proc/net/snmp6, then the Tcp section of /proc/net/snmp.
    Inet6,
    /// Any other address-family list (`-4 -6`, `-x`, `-A unix`): netstat names it,
    /// comma separated, and refuses.
    Unsupported(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsOptions {
    pub family: StatsFamily,
    pub sections: Sections,
}

/// A validated run.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub capture_dir: Option<PathBuf>,
    pub queues: Option<QueuesConfig>,
    pub selection: Selection,
    pub sockets: SocketOptions,
    pub route: RouteConfig,
    pub stats: StatsOptions,
    pub interfaces: IfaceOptions,
    /// -g: the multicast group table follows the inet tables.
    pub groups: bool,
    pub continuous: Option<Duration>,
    pub verbose: bool,
    pub root: ProcRoot,
    pub netns: NetnsChoice,
    pub json: bool,
    pub color: ColorChoice,
}

/// A user error: message for stderr and the exit status netstat uses for it.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub status: u8,
    /// Printed as is, without the `rnetstat: ` prefix (netstat's own wording has none).
    pub bare: bool,
}

/// netstat's usage text (after a bad option, on stderr; with the list of address
/// families its Debian build routes, which netstat prints on stderr even for -h).
pub const USAGE: &str =
    "usage: netstat [-vWeenNcCF] [<Af>] -r         netstat {-V|--version|-h|--help}
       netstat [-vWnNcaeol] [<Socket> ...]
       netstat { [-vWeenNac] -i | [-cnNe] -M | -s [-6tuw] }

        -r, --route              display routing table
        -i, --interfaces         display interface table
        -g, --groups             display multicast group memberships
        -s, --statistics         display networking statistics (like SNMP)
        -M, --masquerade         display masqueraded connections

        -v, --verbose            be verbose
        -W, --wide               don't truncate IP addresses
        -n, --numeric            don't resolve names
        --numeric-hosts          don't resolve host names
        --numeric-ports          don't resolve port names
        --numeric-users          don't resolve user names
        -N, --symbolic           resolve hardware names
        -e, --extend             display other/more information
        -p, --programs           display PID/Program name for sockets
        -o, --timers             display timers
        -c, --continuous         continuous listing

        -l, --listening          display listening server sockets
        -a, --all                display all sockets (default: connected)
        -F, --fib                display Forwarding Information Base (default)
        -C, --cache              display routing cache instead of FIB
        -Z, --context            display SELinux security context for sockets

  <Socket>={-t|--tcp} {-u|--udp} {-U|--udplite} {-S|--sctp} {-w|--raw}
           {-x|--unix} --ax25 --ipx --netrom
  <AF>=Use '-6|-4' or '-A <af>' or '--<af>'; default: inet
  List of possible address families (which support routing):
    inet (DARPA Internet) inet6 (IPv6) ax25 (AMPR AX.25) 
    netrom (AMPR NET/ROM) rose (AMPR ROSE) ipx (Novell IPX) 
    ddp (Appletalk DDP) x25 (CCITT X.25) 
";

/// What one of netstat's getopt events means; ours are named by their clap long name.
#[derive(Clone, Copy, Debug)]
enum Opt<'a> {
    Short(char),
    /// A `--<af>` option: netstat gives them all the same getopt value, so they are one
    /// option for the ambiguity check (`--ip` is `--ipx`'s abbreviation too).
    Family(&'static str),
    Ours(&'a str),
}

impl PartialEq for Opt<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Opt::Short(a), Opt::Short(b)) => a == b,
            (Opt::Family(_), Opt::Family(_)) => true,
            (Opt::Ours(a), Opt::Ours(b)) => a == b,
            _ => false,
        }
    }
}

/// netstat's getopt string.
const SHORTS: &str = "A:CFMacdeghilnNoprsStuUvVWw2fx64?Z";

/// netstat's long options in its order: the address families first.
const NETSTAT_LONGS: &[(&str, HasArg, Opt<'static>)] = &[
    ("ax25", HasArg::No, Opt::Family("ax25")),
    ("x25", HasArg::No, Opt::Family("x25")),
    ("ip", HasArg::No, Opt::Family("ip")),
    ("ipx", HasArg::No, Opt::Family("ipx")),
    ("appletalk", HasArg::No, Opt::Family("appletalk")),
    ("netrom", HasArg::No, Opt::Family("netrom")),
    ("inet", HasArg::No, Opt::Family("inet")),
    ("inet6", HasArg::No, Opt::Family("inet6")),
    ("ddp", HasArg::No, Opt::Family("ddp")),
    ("rose", HasArg::No, Opt::Family("rose")),
    ("unix", HasArg::No, Opt::Family("unix")),
    ("bluetooth", HasArg::No, Opt::Family("bluetooth")),
    ("tcpip", HasArg::No, Opt::Family("tcpip")),
    ("version", HasArg::No, Opt::Short('V')),
    ("interfaces", HasArg::No, Opt::Short('i')),
    ("help", HasArg::No, Opt::Short('h')),
    ("route", HasArg::No, Opt::Short('r')),
    ("masquerade", HasArg::No, Opt::Short('M')),
    ("protocol", HasArg::Required, Opt::Short('A')),
    ("tcp", HasArg::No, Opt::Short('t')),
    ("sctp", HasArg::No, Opt::Short('S')),
    ("udp", HasArg::No, Opt::Short('u')),
    ("udplite", HasArg::No, Opt::Short('U')),
    ("raw", HasArg::No, Opt::Short('w')),
    ("unix", HasArg::No, Opt::Short('x')),
    ("l2cap", HasArg::No, Opt::Short('2')),
    ("rfcomm", HasArg::No, Opt::Short('f')),
    ("listening", HasArg::No, Opt::Short('l')),
    ("all", HasArg::No, Opt::Short('a')),
    ("timers", HasArg::No, Opt::Short('o')),
    ("continuous", HasArg::No, Opt::Short('c')),
    ("extend", HasArg::No, Opt::Short('e')),
    ("programs", HasArg::No, Opt::Short('p')),
    ("verbose", HasArg::No, Opt::Short('v')),
    ("statistics", HasArg::No, Opt::Short('s')),
    ("wide", HasArg::No, Opt::Short('W')),
    ("numeric", HasArg::No, Opt::Short('n')),
    ("numeric-hosts", HasArg::No, Opt::Short('!')),
    ("numeric-ports", HasArg::No, Opt::Short('@')),
    ("numeric-users", HasArg::No, Opt::Short('#')),
    ("symbolic", HasArg::No, Opt::Short('N')),
    ("cache", HasArg::No, Opt::Short('C')),
    ("fib", HasArg::No, Opt::Short('F')),
    ("groups", HasArg::No, Opt::Short('g')),
    ("context", HasArg::No, Opt::Short('Z')),
];

/// netstat's address-family names (lib/af.c's aftrans): what each alias selects.
/// Unknown names are refused while the options are read.
fn family_alias(alias: &[u8]) -> Option<&'static str> {
    Some(match alias {
        b"ax25" => "ax25",
        b"ip" | b"inet" | b"tcpip" => "inet",
        b"ip6" | b"inet6" => "inet6",
        b"ipx" => "ipx",
        b"rose" => "rose",
        b"appletalk" | b"ddp" => "ddp",
        b"netrom" => "netrom",
        b"unix" => "unix",
        b"econet" => "ec",
        b"x25" => "x25",
        b"ash" => "ash",
        b"bluetooth" => "bluetooth",
        _ => return None,
    })
}

/// Reads `args` (argv[0] first) with netstat's getopt_long table, then ours (from the
/// clap definition), and returns them for clap; or netstat's answer when it stops while
/// reading them (getopt's message and usage with status 3, an unknown family, -Z).
/// `command` is the one [`NetstatArgs::command_for_getopt`] made; it is built here
/// and used again by [`NetstatArgs::parse_ordered_with`].
pub fn netstat_getopt(
    command: &mut clap::Command,
    args: Vec<OsString>,
) -> (Vec<String>, Result<Vec<OsString>, UsageError>) {
    command.build();
    let mut ours: Vec<(String, HasArg)> = Vec::new();
    for arg in command.get_arguments() {
        let has_arg = match (arg.get_action().takes_values(), arg.get_num_args()) {
            (false, _) => HasArg::No,
            (true, Some(n)) if n.min_values() == 0 && n.max_values() == 0 => HasArg::No,
            // clap reads `--queues DIR` as well as `--queues=DIR`; so do we.
            (true, Some(n)) if n.min_values() == 0 => HasArg::OptionalNext,
            (true, _) => HasArg::Required,
        };
        let names = arg
            .get_long()
            .into_iter()
            .chain(arg.get_all_aliases().into_iter().flatten());
        for name in names {
            if !NETSTAT_LONGS.iter().any(|(n, _, _)| *n == name) {
                ours.push((name.to_string(), has_arg));
            }
        }
    }
    let mut longs: Vec<(&str, HasArg, Opt<'_>)> = NETSTAT_LONGS.to_vec();
    for (name, has_arg) in &ours {
        longs.push((name.as_str(), *has_arg, Opt::Ours(name.as_str())));
    }
    let table = getopt::Table {
        shorts: SHORTS,
        longs: &longs,
        reference: NETSTAT_LONGS.len(),
    };
    let mut args = args.into_iter();
    let argv0 = args.next().unwrap_or_else(|| "rnetstat".into());
    let rest: Vec<OsString> = args.collect();
    let prog = crate::escape::escape(argv0.as_encoded_bytes()).into_owned();
    let (events, operands) = getopt::parse(&prog, &table, Opt::Short, &rest);
    let mut notes = Vec::new();
    let mut out = vec![argv0];
    let mut afname_len = 0usize;
    let mut continuous = false;
    let usage = |message: Option<String>| UsageError {
        message: match message {
            Some(m) => format!("{m}\n{USAGE}"),
            None => USAGE.to_string(),
        }
        .trim_end_matches('\n')
        .to_string(),
        status: 3,
        bare: true,
    };
    for event in events {
        let (opt, value) = match event {
            getopt::Event::Error(m) => return (notes, Err(usage(Some(m)))),
            getopt::Event::Opt(opt, value) => (opt, value),
        };
        let families = match (opt, &value) {
            (Opt::Family("tcpip"), _) => {
                // netstat's table has one family option more than its range check.
                notes.push("netstat.c: Internal Error `longopts 1 range'.".to_string());
                continue;
            }
            (Opt::Family(name), _) => Some(name.as_bytes().to_vec()),
            (Opt::Short('A'), Some(v)) => Some(v.as_encoded_bytes().to_vec()),
            (Opt::Short('4'), _) => Some(b"inet".to_vec()),
            (Opt::Short('6'), _) => Some(b"inet6".to_vec()),
            (Opt::Short('x'), _) => Some(b"unix".to_vec()),
            _ => None,
        };
        if let Some(list) = families {
            match translate_families(&list, &mut afname_len, &mut notes) {
                Ok(names) if names.is_empty() => {}
                Ok(names) => {
                    // -4, -6 and -x keep their flags (their order matters to -r).
                    match opt {
                        Opt::Short(c @ ('4' | '6' | 'x')) => out.push(format!("-{c}").into()),
                        _ => {
                            out.push("-A".into());
                            out.push(names.join(",").into());
                        }
                    }
                }
                Err(e) => return (notes, Err(e)),
            }
            continue;
        }
        match opt {
            Opt::Short('?') => return (notes, Err(usage(None))),
            Opt::Short('h') => return (notes, Ok(vec![out.swap_remove(0), "--help".into()])),
            Opt::Short('V') => return (notes, Ok(vec![out.swap_remove(0), "-V".into()])),
            // netstat stops here (Debian's is built with SELinux support, not enabled).
            Opt::Short('Z') => {
                return (
                    notes,
                    Err(UsageError {
                        message: "SELinux is not enabled on this machine.".to_string(),
                        status: 1,
                        bare: true,
                    }),
                )
            }
            // netstat's debug flag has no effect.
            Opt::Short('d') => {}
            Opt::Short('!') => out.push("--numeric-hosts".into()),
            Opt::Short('@') => out.push("--numeric-ports".into()),
            Opt::Short('#') => out.push("--numeric-users".into()),
            Opt::Short(c) => {
                continuous |= c == 'c';
                out.push(format!("-{c}").into());
            }
            Opt::Ours(name) => {
                let mut spelled = OsString::from(format!("--{name}"));
                if let Some(v) = value {
                    // One word, so a value starting with '-' stays a value for clap.
                    spelled.push("=");
                    spelled.push(v);
                }
                out.push(spelled);
            }
            Opt::Family(_) => {}
        }
    }
    // netstat ignores operands; rnetstat's -c takes the first as its delay.
    if continuous {
        if let Some(delay) = operands.into_iter().next() {
            out.push("--".into());
            out.push(delay);
        }
    }
    (notes, Ok(out))
}

/// netstat's aftrans_opt: each comma-separated alias to its family name, refusing an
/// unknown one; the names together are limited to netstat's 255-byte buffer (past it
/// netstat says so and keeps what it has).
fn translate_families(
    list: &[u8],
    afname_len: &mut usize,
    notes: &mut Vec<String>,
) -> Result<Vec<&'static str>, UsageError> {
    // netstat copies the argument into a 256-byte buffer first.
    let list = &list[..list.len().min(255)];
    let mut names = Vec::new();
    for alias in list.split(|&b| b == b',') {
        let Some(name) = family_alias(alias) else {
            return Err(UsageError {
                message: format!("Unknown address family `{}'.", crate::escape::escape(alias)),
                status: 1,
                bare: true,
            });
        };
        if name.len() + *afname_len + 1 >= 256 {
            notes.push("Too much address family arguments.".to_string());
            return Ok(names);
        }
        *afname_len += name.len() + usize::from(*afname_len > 0);
        names.push(name);
    }
    Ok(names)
}

impl NetstatArgs {
    /// Parses like `try_parse_from` and also records the order of the family options,
    /// which clap's derived struct loses (`netstat -r -6 -4` prints IPv6 first).
    pub fn parse_ordered<I, T>(args: I) -> Result<NetstatArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        NetstatArgs::parse_ordered_with(&mut NetstatArgs::command_for_getopt(), args)
    }

    /// The clap command rnetstat reads its arguments with. A run makes it once: the
    /// getopt pass lists its options and `parse_ordered_with` matches with it
    /// (building a clap command is most of the work of reading a short command line).
    pub fn command_for_getopt() -> clap::Command {
        use clap::CommandFactory;
        // netstat (getopt) takes a flag given twice (`-tt`, `-n ... -n`), which clap
        // refuses unless the flag overrides itself. Counted and appended flags (-r, -e,
        // -4, -A, ...) are left alone: their count or every occurrence matters.
        NetstatArgs::command().mut_args(|arg| {
            if matches!(arg.get_action(), ArgAction::SetTrue) {
                let id = arg.get_id().clone();
                arg.overrides_with(id)
            } else {
                arg
            }
        })
    }

    /// [`Self::parse_ordered`] with a command from [`Self::command_for_getopt`].
    pub fn parse_ordered_with<I, T>(
        command: &mut clap::Command,
        args: I,
    ) -> Result<NetstatArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::FromArgMatches;
        let matches = command.try_get_matches_from_mut(args)?;
        let mut parsed = NetstatArgs::from_arg_matches(&matches)?;
        // -4, -6, -x and -A each record every occurrence (a value and its index).
        let mut order: Vec<(usize, String)> = Vec::new();
        for id in ["inet", "inet6", "unix", "families"] {
            if let (Some(values), Some(indices)) =
                (matches.get_many::<String>(id), matches.indices_of(id))
            {
                order.extend(indices.zip(values.cloned()));
            }
        }
        order.sort_by_key(|(i, _)| *i);
        parsed.family_order = order.into_iter().map(|(_, f)| f).collect();
        Ok(parsed)
    }

    /// The families -r prints, in command-line order (see [`Self::parse_ordered`]; when
    /// parsed without it: -A's in order, then -4, -6, -x); IPv4 when none is given.
    fn route_families(&self) -> Vec<RouteFamily> {
        let given: Vec<String> = if self.family_order.is_empty() {
            self.families
                .iter()
                .chain(&self.inet)
                .chain(&self.inet6)
                .chain(&self.unix)
                .cloned()
                .collect()
        } else {
            self.family_order.clone()
        };
        let mut families: Vec<RouteFamily> = given
            .iter()
            .flat_map(|f| f.split(','))
            .filter_map(|f| match f {
                "inet" => Some(RouteFamily::Inet),
                "inet6" => Some(RouteFamily::Inet6),
                "unix" => Some(RouteFamily::Unix),
                "ec" => Some(RouteFamily::NoRouting("ec")),
                "ash" => Some(RouteFamily::NoRouting("ash")),
                "bluetooth" => Some(RouteFamily::Unsupported("bluetooth")),
                "ddp" => Some(RouteFamily::Old("ddp")),
                "ax25" => Some(RouteFamily::Old("ax25")),
                "x25" => Some(RouteFamily::Old("x25")),
                "ipx" => Some(RouteFamily::Old("ipx")),
                "netrom" => Some(RouteFamily::Old("netrom")),
                "rose" => Some(RouteFamily::Old("rose")),
                _ => None,
            })
            .collect();
        if families.is_empty() {
            families.push(RouteFamily::Inet);
        }
        families
    }

    /// `-s`: the families named on the command line decide the files, the protocol
    /// selectors the sections.
    fn stats_options(&self) -> StatsOptions {
        // netstat keeps the names in command-line order ([`Self::parse_ordered`]
        // records it); parsed without it: -4, -6 first, then -A, then -x.
        let mut families: Vec<&str> = Vec::new();
        if self.family_order.is_empty() {
            families.extend(self.inet.iter().chain(&self.inet6).map(String::as_str));
            families.extend(self.families.iter().flat_map(|f| f.split(',')));
            families.extend(self.unix.iter().map(String::as_str));
        } else {
            families.extend(self.family_order.iter().flat_map(|f| f.split(',')));
        }
        let family = match families.as_slice() {
            [] | ["inet"] => StatsFamily::Inet,
            ["inet6"] => StatsFamily::Inet6,
            _ => StatsFamily::Unsupported(families.join(",")),
        };
        let sections = if self.tcp || self.udp || self.udplite || self.raw || self.sctp {
            Sections {
                ip: self.raw,
                tcp: self.tcp,
                udp: self.udp,
                sctp: self.sctp,
            }
        } else {
            Sections::ALL
        };
        StatsOptions { family, sections }
    }

    pub fn into_config(self) -> Result<Config, UsageError> {
        // netstat stops at -Z while reading its options (Debian's is built with
        // SELinux support, and SELinux is not enabled).
        if self.context {
            return Err(UsageError {
                message: "SELinux is not enabled on this machine.".to_string(),
                status: 1,
                bare: true,
            });
        }
        let stats = self.stats_options();
        let mut sel = Selection {
            tcp: self.tcp,
            udp: self.udp,
            udplite: self.udplite,
            raw: self.raw,
            unix: !self.unix.is_empty(),
            sctp: self.sctp,
            bluetooth: self.l2cap || self.rfcomm,
            inet4: !self.inet.is_empty(),
            inet6: !self.inet6.is_empty(),
            ..Selection::default()
        };
        for family in self.families.iter().flat_map(|f| f.split(',')) {
            match family {
                "inet" => sel.inet4 = true,
                "inet6" => sel.inet6 = true,
                "unix" => sel.unix = true,
                "ipx" => sel.ipx = true,
                "ax25" => sel.ax25 = true,
                "x25" => sel.x25 = true,
                "netrom" => sel.netrom = true,
                "rose" => sel.rose = true,
                "bluetooth" => sel.bluetooth = true,
                // Known to netstat, but no table of its own selects them.
                "ddp" | "ec" | "ash" => {}
                other => {
                    return Err(UsageError {
                        message: format!("Unknown address family `{other}'."),
                        status: 1,
                        bare: false,
                    })
                }
            }
        }
        if (sel.inet4 || sel.inet6) && !sel.any_inet() {
            sel.tcp = true;
            sel.udp = true;
            sel.udplite = true;
            sel.raw = true;
            sel.sctp = true;
            sel.implied = true;
        }
        if sel.any_inet() && !(sel.inet4 || sel.inet6) {
            sel.inet4 = true;
            sel.inet6 = true;
        }
        sel.explicit = sel.any_inet() || sel.unix || self.groups || sel.old_families();
        // Groups read igmp and igmp6 unless a family narrows them (after the step above,
        // so -g alone selects no socket table).
        if self.groups && !(sel.inet4 || sel.inet6) {
            sel.inet4 = true;
            sel.inet6 = true;
        }
        if !sel.explicit {
            sel = Selection {
                tcp: true,
                udp: true,
                udplite: true,
                raw: true,
                sctp: true,
                unix: true,
                inet4: true,
                inet6: true,
                ..Selection::default()
            };
        }
        let rows = match (self.all, self.listening) {
            (true, _) => Rows::All,
            (false, true) => Rows::Listening,
            (false, false) => Rows::Connected,
        };
        let continuous = match (self.continuous, self.delay) {
            (false, _) => None,
            (true, None) => Some(Duration::from_secs(1)),
            (true, Some(d)) if d.is_finite() && d > 0.0 && d < 1e9 => {
                Some(Duration::from_secs_f64(d))
            }
            (true, Some(d)) => {
                return Err(UsageError {
                    message: format!("invalid delay `{d}': give a positive number of seconds"),
                    status: 3,
                    bare: false,
                })
            }
        };
        if let Some(dir) = &self.proc_root {
            if !dir.join("net").is_dir() {
                return Err(UsageError {
                    message: format!(
                        "--proc-root {}: not a proc tree (no net/ directory in it)",
                        dir.display()
                    ),
                    status: 1,
                    bare: false,
                });
            }
        }
        // netstat's views are mutually exclusive; combining two is a usage error, and
        // netstat counts each option, so repeating one (-rr) is an error too.
        let views: Vec<Mode> = [
            (self.route > 0, Mode::Route),
            (self.interfaces > 0, Mode::Interfaces),
            (self.statistics > 0, Mode::Statistics),
            (self.arp > 0, Mode::Arp),
            (self.masquerade > 0, Mode::Masquerade),
        ]
        .into_iter()
        .filter_map(|(on, mode)| on.then_some(mode))
        .collect();
        let repeated = [
            self.route,
            self.arp,
            self.interfaces,
            self.statistics,
            self.masquerade,
        ];
        let netstat_views = [
            self.route,
            self.interfaces,
            self.statistics,
            self.masquerade,
        ]
        .iter()
        .map(|&n| u32::from(n))
        .sum::<u32>();
        if netstat_views > 1 && self.arp == 0 {
            // netstat's own views counted together: its usage text, status 3.
            return Err(UsageError {
                message: USAGE.trim_end_matches('\n').to_string(),
                status: 3,
                bare: true,
            });
        }
        if views.len() > 1 || repeated.iter().any(|&n| n > 1) {
            return Err(UsageError {
                message: "only one of -r, -i, -M, -s and --arp can be given".to_string(),
                status: 3,
                bare: false,
            });
        }
        // The audit reads every table itself; a view beside it would be silently dropped.
        if self.audit && !views.is_empty() {
            return Err(UsageError {
                message: "--audit cannot be combined with -r, -i, -s or --arp".to_string(),
                status: 3,
                bare: false,
            });
        }
        let queues = match (&self.queues, &self.capture) {
            (None, _) => None,
            (Some(Some(_)), Some(_)) => {
                return Err(UsageError {
                    message: "--queues takes no directory with --capture DIR (the dump goes \
                              into the capture)"
                        .to_string(),
                    status: 3,
                    bare: false,
                })
            }
            (Some(None), None) => {
                return Err(UsageError {
                    message: "--queues needs a directory: --queues DIR, or --capture DIR --queues"
                        .to_string(),
                    status: 3,
                    bare: false,
                })
            }
            (Some(dir), _) => Some(QueuesConfig {
                dir: dir.clone(),
                cap: self.queue_cap.unwrap_or(crate::queues::DEFAULT_CAP),
            }),
        };
        let other = self.audit || !views.is_empty() || self.proc_root.is_some() || self.continuous;
        if queues.is_some() && other {
            return Err(UsageError {
                message: "--queues reads the live sockets once; it cannot be combined with \
                          --audit, -r, -i, -s, -M, --arp, -c or --proc-root"
                    .to_string(),
                status: 3,
                bare: false,
            });
        }
        let mode = if self.audit {
            Mode::Audit {
                probe: !self.no_probe,
            }
        } else if self.capture.is_some() {
            Mode::Capture
        } else if queues.is_some() {
            Mode::Queues
        } else {
            views.first().copied().unwrap_or(Mode::Sockets)
        };
        let route = RouteConfig {
            families: self.route_families(),
            fib: self.fib || !self.cache,
            cache: self.cache,
            options: RouteOptions::new(
                self.numeric || self.numeric_hosts || self.symbolic,
                self.extend,
            ),
        };
        Ok(Config {
            mode,
            capture_dir: self.capture,
            queues,
            selection: sel,
            sockets: SocketOptions {
                rows,
                numeric_hosts: self.numeric || self.numeric_hosts,
                numeric_ports: self.numeric || self.numeric_ports,
                numeric_users: self.numeric || self.numeric_users,
                extend: self.extend > 0,
                programs: self.programs,
                timers: self.timers,
                wide: self.wide,
                netns_column: self.all_netns && !self.json,
                palette: Palette::PLAIN,
            },
            route,
            stats,
            interfaces: IfaceOptions {
                all: self.all,
                long: self.extend > 0,
            },
            groups: self.groups,
            continuous,
            verbose: self.verbose,
            root: self.proc_root.map(ProcRoot::new).unwrap_or_default(),
            netns: match (self.all_netns, self.netns) {
                (true, _) => NetnsChoice::All,
                (false, Some(spec)) => NetnsChoice::One(spec),
                (false, None) => NetnsChoice::Own,
            },
            json: self.json,
            color: self.color,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        let mut v = vec!["rnetstat"];
        v.extend_from_slice(args);
        NetstatArgs::try_parse_from(v)
            .unwrap()
            .into_config()
            .unwrap()
    }

    #[test]
    fn interfaces_and_groups() {
        let i = cfg(&["-iae"]);
        assert_eq!(i.mode, Mode::Interfaces);
        assert!(i.interfaces.all && i.interfaces.long);
        assert!(!cfg(&["-i"]).interfaces.long);
        let err = NetstatArgs::try_parse_from(["rnetstat", "-i", "-s"])
            .unwrap()
            .into_config()
            .unwrap_err();
        assert_eq!(err.status, 3);
        // -g alone: no socket table, both group files.
        let g = cfg(&["-g"]);
        assert!(g.groups && g.selection.explicit && !g.selection.any_inet());
        assert!(!g.selection.unix && g.selection.inet4 && g.selection.inet6);
        // -g -6: every inet protocol (v6 only) and only igmp6.
        let g6 = cfg(&["-g", "-6"]).selection;
        assert!(g6.tcp && g6.implied && g6.inet6 && !g6.inet4);
        let gx = cfg(&["-gx"]).selection;
        assert!(gx.unix && !gx.any_inet() && gx.inet4 && gx.inet6);
    }

    #[test]
    fn statistics_families_and_sections() {
        let s = cfg(&["-s"]);
        assert_eq!(s.mode, Mode::Statistics);
        assert_eq!(s.stats.family, StatsFamily::Inet);
        assert_eq!(s.stats.sections, Sections::ALL);
        assert_eq!(cfg(&["-s", "-4"]).stats.family, StatsFamily::Inet);
        assert_eq!(cfg(&["-s", "-A", "inet6"]).stats.family, StatsFamily::Inet6);
        assert_eq!(
            cfg(&["-s", "-4", "-6"]).stats.family,
            StatsFamily::Unsupported("inet,inet6".into())
        );
        assert_eq!(
            cfg(&["-sx"]).stats.family,
            StatsFamily::Unsupported("unix".into())
        );
        let tu = cfg(&["-stu"]).stats.sections;
        assert!(tu.tcp && tu.udp && !tu.ip && !tu.sctp);
        let w = cfg(&["--statistics", "--raw", "-6"]).stats;
        assert!(w.sections.ip && !w.sections.tcp);
        assert_eq!(w.family, StatsFamily::Inet6);
        let lite = cfg(&["-sU"]).stats.sections;
        assert!(!lite.ip && !lite.tcp && !lite.udp && !lite.sctp);
    }

    #[test]
    fn defaulting_follows_netstat() {
        let all = cfg(&[]).selection;
        assert!(all.tcp && all.unix && all.inet4 && all.inet6 && !all.explicit);
        let t = cfg(&["-tulpn"]);
        assert!(t.selection.tcp && t.selection.udp && !t.selection.unix && !t.selection.raw);
        assert!(t.selection.inet4 && t.selection.inet6);
        assert_eq!(t.sockets.rows, Rows::Listening);
        assert!(t.sockets.numeric_ports && t.sockets.programs);
        let four = cfg(&["-4"]).selection;
        assert!(four.tcp && four.raw && four.inet4 && !four.inet6 && !four.unix && four.implied);
        let au = cfg(&["-A", "inet6,unix"]).selection;
        assert!(au.unix && au.inet6 && !au.inet4 && au.tcp);
        assert!(NetstatArgs::try_parse_from(["rnetstat", "-A", "bogus"])
            .unwrap()
            .into_config()
            .is_err());
    }

    #[test]
    fn queues_options() {
        let q = cfg(&["--queues", "out", "-tan"]);
        assert_eq!(q.mode, Mode::Queues);
        assert_eq!(
            q.queues,
            Some(QueuesConfig {
                dir: Some("out".into()),
                cap: crate::queues::DEFAULT_CAP
            })
        );
        let c = cfg(&["--capture", "cap", "--queues", "--queue-cap", "64K"]);
        assert_eq!(c.mode, Mode::Capture);
        assert_eq!(c.queues.unwrap().cap, 64 << 10);
        assert_eq!(
            cfg(&["--queues", "o", "--queue-cap", "100"])
                .queues
                .unwrap()
                .cap,
            100
        );
        for bad in [
            &["--queues"][..],
            &["--capture", "c", "--queues", "d"],
            &["--queues", "d", "-r"],
            &["--queues", "d", "--audit"],
        ] {
            let mut v = vec!["rnetstat"];
            v.extend_from_slice(bad);
            let e = NetstatArgs::try_parse_from(v)
                .unwrap()
                .into_config()
                .unwrap_err();
            assert_eq!(e.status, 3, "{bad:?}");
        }
        for bad in ["0", "3X", "9G", "K"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(NetstatArgs::try_parse_from(["rnetstat", "--queue-cap", "1"]).is_err());
    }

    #[test]
    fn route_and_arp_modes() {
        let r = cfg(&["-rn"]);
        assert_eq!(r.mode, Mode::Route);
        assert_eq!(r.route.families, vec![RouteFamily::Inet]);
        assert!(r.route.fib && !r.route.cache && r.route.options.numeric);
        assert_eq!(r.route.options.columns, 2);
        assert_eq!(cfg(&["-re"]).route.options.columns, 1);
        assert_eq!(cfg(&["-ree"]).route.options.columns, 3);
        assert!(!cfg(&["-r"]).route.options.numeric);
        assert!(cfg(&["-rN"]).route.options.numeric);
        let c = cfg(&["-rC"]).route;
        assert!(c.cache && !c.fib);
        let cf = cfg(&["-rCF"]).route;
        assert!(c.cache && cf.fib);
        assert_eq!(
            cfg(&["-r", "-A", "inet6,inet"]).route.families,
            vec![RouteFamily::Inet6, RouteFamily::Inet]
        );
        assert_eq!(cfg(&["-r6"]).route.families, vec![RouteFamily::Inet6]);
        let ordered = |args: &[&str]| {
            NetstatArgs::parse_ordered(std::iter::once("rnetstat").chain(args.iter().copied()))
                .unwrap()
                .into_config()
                .unwrap()
                .route
                .families
        };
        use RouteFamily::{Inet, Inet6, Unix};
        assert_eq!(ordered(&["-r", "-6", "-4"]), vec![Inet6, Inet]);
        assert_eq!(ordered(&["-r64"]), vec![Inet6, Inet]);
        assert_eq!(
            ordered(&["-r", "-4", "-A", "inet6,inet", "-x"]),
            vec![Inet, Inet6, Inet, Unix]
        );
        assert_eq!(ordered(&["-rn"]), vec![Inet]);
        // Repeated, a family's table is printed again (getopt sees each one).
        assert_eq!(ordered(&["-r", "-4", "-6", "-4"]), vec![Inet, Inet6, Inet]);
        assert_eq!(ordered(&["-r44"]), vec![Inet, Inet]);
        let twice = NetstatArgs::parse_ordered(["rnetstat", "-tt", "-n", "--tcp", "-n"]).unwrap();
        assert!(twice.tcp && twice.numeric);
        assert_eq!(cfg(&["--arp", "-n"]).mode, Mode::Arp);
        for bad in [&["-rr"][..], &["-r", "--arp"]] {
            let mut v = vec!["rnetstat"];
            v.extend_from_slice(bad);
            let e = NetstatArgs::try_parse_from(v)
                .unwrap()
                .into_config()
                .unwrap_err();
            assert_eq!(e.status, 3);
        }
    }
}
