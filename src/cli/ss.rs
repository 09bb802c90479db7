//! rss's options: iproute2 6.1 ss's, spelled the same, plus our own long options.
//!
//! The clap definition ([`SsArgs`]) is the documented interface: `rss --help`, the man
//! page and the shell completions come from it. The command line itself is read by
//! [`parse`], a getopt_long twin (same option string, permutation, `-finet`,
//! `--fam=inet`, abbreviations, getopt's messages), because ss applies its options in
//! order (`-t -A udp` is not `-A udp -t`) and its errors are part of its interface.

use super::getopt::{self, HasArg};
use crate::color::ColorChoice;
use clap::Parser;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

#[derive(Parser, Debug)]
#[command(
    name = "rss",
    version,
    about = "Print socket statistics, as ss from iproute2 6.1 does (same options, same lines)",
    after_help = "Examples:\n  rss -tulpn               listening TCP/UDP sockets with their processes\n  rss -tan                 every TCP socket, numeric\n  rss -xap                 unix sockets with every process holding them\n  rss -s                   summary of the socket tables\n  rss -tn state established '( dport = :443 or sport = :443 )'\n                           HTTPS connections (ss's filter language)\n  rss -xa src 'unix:/run/*' unix sockets bound under /run\n  rss -N blue -tan         TCP sockets of network namespace 'blue'\n  rss --all-netns -tlpn    listeners of every network namespace\n  rss -tan --json          TCP sockets as JSON (docs/json.md)\n  rss -E -t dport = :443   HTTPS connections as they close\n  PROC_ROOT=DIR rss -tanp  the tables and processes of a copied /proc (ss's\n                           PROC_ROOT, PROC_NET_TCP, ... are honoured)\n\n-h prints ss's own usage text; ss's messages are printed verbatim (with their 'ss:' prefix).",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct SsArgs {
    /// Don't resolve service names
    #[arg(short = 'n', long = "numeric", help_heading = "Output")]
    pub numeric: bool,
    /// Resolve host names (through the project's resolver; /etc/hosts, DNS)
    #[arg(short = 'r', long = "resolve", help_heading = "Output")]
    pub resolve: bool,
    /// Display all sockets
    #[arg(short = 'a', long = "all", help_heading = "Selection")]
    pub all: bool,
    /// Display listening sockets
    #[arg(short = 'l', long = "listening", help_heading = "Selection")]
    pub listening: bool,
    /// Show timer information
    #[arg(short = 'o', long = "options", help_heading = "Details")]
    pub options: bool,
    /// Show detailed socket information
    #[arg(short = 'e', long = "extended", help_heading = "Details")]
    pub extended: bool,
    /// Show socket memory usage
    #[arg(short = 'm', long = "memory", help_heading = "Details")]
    pub memory: bool,
    /// Show the processes using each socket (every holder)
    #[arg(short = 'p', long = "processes", help_heading = "Output")]
    pub processes: bool,
    /// Show the threads using each socket
    #[arg(short = 'T', long = "threads", help_heading = "Output")]
    pub threads: bool,
    /// Show internal TCP information
    #[arg(short = 'i', long = "info", help_heading = "Details")]
    pub info: bool,
    /// Show internal tipc socket information
    #[arg(long = "tipcinfo", help_heading = "Details")]
    pub tipcinfo: bool,
    /// Show socket usage summary
    #[arg(short = 's', long = "summary", help_heading = "Output")]
    pub summary: bool,
    /// Show tos and priority information
    #[arg(long = "tos", help_heading = "Details")]
    pub tos: bool,
    /// Show cgroup information
    #[arg(long = "cgroup", help_heading = "Details")]
    pub cgroup: bool,
    /// Show bpf filter socket information
    #[arg(short = 'b', long = "bpf", help_heading = "Details")]
    pub bpf: bool,
    /// Continually display sockets as they are destroyed (until interrupted)
    #[arg(short = 'E', long = "events", help_heading = "Actions")]
    pub events: bool,
    /// Display task SELinux security contexts (as ss without SELinux: an error)
    #[arg(short = 'Z', long = "context", help_heading = "Output")]
    pub context: bool,
    /// Display task and socket SELinux security contexts (as ss without SELinux)
    #[arg(short = 'z', long = "contexts", help_heading = "Output")]
    pub contexts: bool,
    /// Switch to the network namespace /run/netns/NAME
    #[arg(
        short = 'N',
        long = "net",
        value_name = "NAME",
        help_heading = "Selection"
    )]
    pub net: Option<String>,
    /// Display only IP version 4 sockets
    #[arg(short = '4', long = "ipv4", help_heading = "Selection")]
    pub ipv4: bool,
    /// Display only IP version 6 sockets
    #[arg(short = '6', long = "ipv6", help_heading = "Selection")]
    pub ipv6: bool,
    /// Display PACKET sockets
    #[arg(short = '0', long = "packet", help_heading = "Selection")]
    pub packet: bool,
    /// Display only TCP sockets
    #[arg(short = 't', long = "tcp", help_heading = "Selection")]
    pub tcp: bool,
    /// Display only MPTCP sockets
    #[arg(short = 'M', long = "mptcp", help_heading = "Selection")]
    pub mptcp: bool,
    /// Display only SCTP sockets
    #[arg(short = 'S', long = "sctp", help_heading = "Selection")]
    pub sctp: bool,
    /// Display only UDP sockets
    #[arg(short = 'u', long = "udp", help_heading = "Selection")]
    pub udp: bool,
    /// Display only DCCP sockets
    #[arg(short = 'd', long = "dccp", help_heading = "Selection")]
    pub dccp: bool,
    /// Display only RAW sockets
    #[arg(short = 'w', long = "raw", help_heading = "Selection")]
    pub raw: bool,
    /// Display only Unix domain sockets
    #[arg(short = 'x', long = "unix", help_heading = "Selection")]
    pub unix: bool,
    /// Display only TIPC sockets
    #[arg(long = "tipc", help_heading = "Selection")]
    pub tipc: bool,
    /// Display only vsock sockets
    #[arg(long = "vsock", help_heading = "Selection")]
    pub vsock: bool,
    /// Display only XDP sockets
    #[arg(long = "xdp", help_heading = "Selection")]
    pub xdp: bool,
    /// Display sockets of type FAMILY: inet, inet6, link, unix, netlink, vsock, tipc, xdp, help
    #[arg(
        short = 'f',
        long = "family",
        value_name = "FAMILY",
        help_heading = "Selection"
    )]
    pub family: Vec<String>,
    /// Forcibly close sockets, display what was closed (SOCK_DESTROY; root)
    #[arg(short = 'K', long = "kill", help_heading = "Actions")]
    pub kill: bool,
    /// Suppress header line
    #[arg(short = 'H', long = "no-header", help_heading = "Output")]
    pub no_header: bool,
    /// Socket's data printed on a single line
    #[arg(short = 'O', long = "oneline", help_heading = "Output")]
    pub oneline: bool,
    /// Show various inet socket options
    #[arg(long = "inet-sockopt", help_heading = "Details")]
    pub inet_sockopt: bool,
    /// Socket tables: all, inet, tcp, mptcp, udp, raw, unix, unix_dgram, unix_stream,
    /// unix_seqpacket, packet, packet_raw, packet_dgram, netlink, dccp, sctp,
    /// vsock_stream, vsock_dgram, tipc, xdp (comma-separated, `!` to exclude)
    #[arg(
        short = 'A',
        long = "query",
        visible_alias = "socket",
        value_name = "QUERY",
        help_heading = "Selection"
    )]
    pub query: Vec<String>,
    /// Dump raw information about TCP sockets to FILE (not supported by rss)
    #[arg(
        short = 'D',
        long = "diag",
        value_name = "FILE",
        help_heading = "Not supported"
    )]
    pub diag: Option<String>,
    /// Read filter information from FILE (- for stdin)
    #[arg(
        short = 'F',
        long = "filter",
        value_name = "FILE",
        help_heading = "Selection"
    )]
    pub filter: Option<String>,
    /// Output version information
    #[arg(short = 'V', long = "version", help_heading = "Output")]
    pub version: bool,
    /// This message (ss's usage text; --help prints this page)
    #[arg(short = 'h', long = "help", help_heading = "Output")]
    pub help: bool,

    /// Every network namespace (the own one first), each under a `Netns: NAME` line;
    /// with -E also those made while rss runs (listed again once a second)
    #[arg(long = "all-netns", help_heading = "Beyond ss")]
    pub all_netns: bool,
    /// One JSON document (docs/json.md: the sockets with the ss fields, and -s's summary)
    #[arg(long = "json", help_heading = "Beyond ss")]
    pub json: bool,
    /// Colour states and the header: always (the default of a bare --color), auto
    /// (terminals only, not with NO_COLOR) or never (without --color)
    #[arg(
        long = "color",
        visible_alias = "colour",
        value_name = "WHEN",
        value_enum,
        num_args = 0..=1,
        default_missing_value = "always",
        help_heading = "Beyond ss"
    )]
    pub color: Option<ColorChoice>,
    /// Implies -b; beyond ss's packet sockets, the classic BPF filter of every
    /// socket listed (tcp, udp, raw, unix, packet, netlink), read through a
    /// duplicate of a holder's descriptor, on a continuation line; `disasm` adds
    /// `tcpdump -d`'s disassembly. Needs root for other users' sockets
    #[arg(
        long = "all-filters",
        value_name = "HOW",
        value_enum,
        num_args = 0..=1,
        default_missing_value = "list",
        help_heading = "Beyond ss"
    )]
    pub all_filters: Option<AllFilters>,
    /// Print a man page or shell completion: man, complete-bash, complete-zsh, complete-fish
    #[arg(long = "generate", value_name = "KIND", hide = true)]
    pub generate: Option<String>,

    /// FILTER := [ state STATE-FILTER ] [ EXPRESSION ]
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter_words: Vec<String>,
}

/// What an option means; `Short(c)` for ss's options (keyed by their getopt letter or
/// its OPT_* value), the rest are ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    Short(char),
    Vsock,
    TipcSock,
    TipcInfo,
    Tos,
    XdpSock,
    Cgroup,
    InetSockopt,
    AllNetns,
    Json,
    Color,
    AllFilters,
    Generate,
}

/// ss's getopt string.
const SHORTS: &str = "dhaletuwxnro460spTbEf:mMiA:D:F:vVzZN:KHSO";

/// ss's long_opts, in its order (getopt reports ambiguity in this order), then ours.
const LONGS: &[(&str, HasArg, Opt)] = &[
    ("numeric", HasArg::No, Opt::Short('n')),
    ("resolve", HasArg::No, Opt::Short('r')),
    ("options", HasArg::No, Opt::Short('o')),
    ("extended", HasArg::No, Opt::Short('e')),
    ("memory", HasArg::No, Opt::Short('m')),
    ("info", HasArg::No, Opt::Short('i')),
    ("processes", HasArg::No, Opt::Short('p')),
    ("threads", HasArg::No, Opt::Short('T')),
    ("bpf", HasArg::No, Opt::Short('b')),
    ("events", HasArg::No, Opt::Short('E')),
    ("dccp", HasArg::No, Opt::Short('d')),
    ("tcp", HasArg::No, Opt::Short('t')),
    ("sctp", HasArg::No, Opt::Short('S')),
    ("udp", HasArg::No, Opt::Short('u')),
    ("raw", HasArg::No, Opt::Short('w')),
    ("unix", HasArg::No, Opt::Short('x')),
    ("tipc", HasArg::No, Opt::TipcSock),
    ("vsock", HasArg::No, Opt::Vsock),
    ("all", HasArg::No, Opt::Short('a')),
    ("listening", HasArg::No, Opt::Short('l')),
    ("ipv4", HasArg::No, Opt::Short('4')),
    ("ipv6", HasArg::No, Opt::Short('6')),
    ("packet", HasArg::No, Opt::Short('0')),
    ("family", HasArg::Required, Opt::Short('f')),
    ("socket", HasArg::Required, Opt::Short('A')),
    ("query", HasArg::Required, Opt::Short('A')),
    ("summary", HasArg::No, Opt::Short('s')),
    ("diag", HasArg::Required, Opt::Short('D')),
    ("filter", HasArg::Required, Opt::Short('F')),
    ("version", HasArg::No, Opt::Short('V')),
    ("help", HasArg::No, Opt::Short('h')),
    ("context", HasArg::No, Opt::Short('Z')),
    ("contexts", HasArg::No, Opt::Short('z')),
    ("net", HasArg::Required, Opt::Short('N')),
    ("tipcinfo", HasArg::No, Opt::TipcInfo),
    ("tos", HasArg::No, Opt::Tos),
    ("cgroup", HasArg::No, Opt::Cgroup),
    ("kill", HasArg::No, Opt::Short('K')),
    ("no-header", HasArg::No, Opt::Short('H')),
    ("xdp", HasArg::No, Opt::XdpSock),
    ("mptcp", HasArg::No, Opt::Short('M')),
    ("oneline", HasArg::No, Opt::Short('O')),
    ("inet-sockopt", HasArg::No, Opt::InetSockopt),
    ("all-netns", HasArg::No, Opt::AllNetns),
    ("json", HasArg::No, Opt::Json),
    ("color", HasArg::Optional, Opt::Color),
    ("colour", HasArg::Optional, Opt::Color),
    ("all-filters", HasArg::Optional, Opt::AllFilters),
    ("generate", HasArg::Required, Opt::Generate),
];

/// One step of the command line, in order (see [`getopt::Event`]).
pub type Event = getopt::Event<Opt>;

/// getopt_long over `args` (without argv[0]) with ss's table: the options in order,
/// then the operands; messages start with `ss:`.
pub fn parse(args: &[OsString]) -> (Vec<Event>, Vec<OsString>) {
    let table = getopt::Table {
        shorts: SHORTS,
        longs: LONGS,
        reference: LONGS.len(),
    };
    getopt::parse("ss", &table, Opt::Short, args)
}

/// ss's usage text (`ss -h` on stdout, after an error on stderr).
pub const USAGE: &str = "Usage: ss [ OPTIONS ]
       ss [ OPTIONS ] [ FILTER ]
   -h, --help          this message
   -V, --version       output version information
   -n, --numeric       don't resolve service names
   -r, --resolve       resolve host names
   -a, --all           display all sockets
   -l, --listening     display listening sockets
   -o, --options       show timer information
   -e, --extended      show detailed socket information
   -m, --memory        show socket memory usage
   -p, --processes     show process using socket
   -T, --threads       show thread using socket
   -i, --info          show internal TCP information
       --tipcinfo      show internal tipc socket information
   -s, --summary       show socket usage summary
       --tos           show tos and priority information
       --cgroup        show cgroup information
   -b, --bpf           show bpf filter socket information
   -E, --events        continually display sockets as they are destroyed
   -Z, --context       display task SELinux security contexts
   -z, --contexts      display task and socket SELinux security contexts
   -N, --net           switch to the specified network namespace name

   -4, --ipv4          display only IP version 4 sockets
   -6, --ipv6          display only IP version 6 sockets
   -0, --packet        display PACKET sockets
   -t, --tcp           display only TCP sockets
   -M, --mptcp         display only MPTCP sockets
   -S, --sctp          display only SCTP sockets
   -u, --udp           display only UDP sockets
   -d, --dccp          display only DCCP sockets
   -w, --raw           display only RAW sockets
   -x, --unix          display only Unix domain sockets
       --tipc          display only TIPC sockets
       --vsock         display only vsock sockets
       --xdp           display only XDP sockets
   -f, --family=FAMILY display sockets of type FAMILY
       FAMILY := {inet|inet6|link|unix|netlink|vsock|tipc|xdp|help}

   -K, --kill          forcibly close sockets, display what was closed
   -H, --no-header     Suppress header line
   -O, --oneline       socket's data printed on a single line
       --inet-sockopt  show various inet socket options

   -A, --query=QUERY, --socket=QUERY
       QUERY := {all|inet|tcp|mptcp|udp|raw|unix|unix_dgram|unix_stream|unix_seqpacket|packet|packet_raw|packet_dgram|netlink|dccp|sctp|vsock_stream|vsock_dgram|tipc|xdp}[,QUERY]

   -D, --diag=FILE     Dump raw information about TCP sockets to FILE
   -F, --filter=FILE   read filter information from FILE
       FILTER := [ state STATE-FILTER ] [ EXPRESSION ]
       STATE-FILTER := {all|connected|synchronized|bucket|big|TCP-STATES}
         TCP-STATES := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|closed|close-wait|last-ack|listening|closing}
          connected := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|close-wait|last-ack|closing}
       synchronized := {established|syn-recv|fin-wait-{1,2}|time-wait|close-wait|last-ack|closing}
             bucket := {syn-recv|time-wait}
                big := {established|syn-sent|fin-wait-{1,2}|closed|close-wait|last-ack|listening|closing}
";

// ss's socket tables (its *_DB enum) and the masks built from them.
pub const TCP_DB: u32 = 0;
pub const MPTCP_DB: u32 = 1;
pub const DCCP_DB: u32 = 2;
pub const UDP_DB: u32 = 3;
pub const RAW_DB: u32 = 4;
pub const UNIX_DG_DB: u32 = 5;
pub const UNIX_ST_DB: u32 = 6;
pub const UNIX_SQ_DB: u32 = 7;
pub const PACKET_DG_DB: u32 = 8;
pub const PACKET_R_DB: u32 = 9;
pub const NETLINK_DB: u32 = 10;
pub const SCTP_DB: u32 = 11;
pub const VSOCK_ST_DB: u32 = 12;
pub const VSOCK_DG_DB: u32 = 13;
pub const TIPC_DB: u32 = 14;
pub const XDP_DB: u32 = 15;
const MAX_DB: u32 = 16;
pub const PACKET_DBM: u32 = (1 << PACKET_DG_DB) | (1 << PACKET_R_DB);
pub const UNIX_DBM: u32 = (1 << UNIX_DG_DB) | (1 << UNIX_ST_DB) | (1 << UNIX_SQ_DB);
const INET_L4_DBM: u32 =
    (1 << TCP_DB) | (1 << MPTCP_DB) | (1 << UDP_DB) | (1 << DCCP_DB) | (1 << SCTP_DB);
const INET_DBM: u32 = INET_L4_DBM | (1 << RAW_DB);
pub const VSOCK_DBM: u32 = (1 << VSOCK_ST_DB) | (1 << VSOCK_DG_DB);

// ss's state numbers (the kernel's TCP states) and its groups.
pub const SS_ESTABLISHED: u32 = 1;
pub const SS_SYN_SENT: u32 = 2;
pub const SS_SYN_RECV: u32 = 3;
pub const SS_TIME_WAIT: u32 = 6;
pub const SS_CLOSE: u32 = 7;
pub const SS_LISTEN: u32 = 10;
pub const SS_MAX: u32 = 12;
pub const SS_ALL: u32 = (1 << SS_MAX) - 1;
pub const SS_CONN: u32 =
    SS_ALL & !((1 << SS_LISTEN) | (1 << SS_CLOSE) | (1 << SS_TIME_WAIT) | (1 << SS_SYN_RECV));
const TIPC_SS_CONN: u32 = (1 << SS_ESTABLISHED) | (1 << SS_LISTEN) | (1 << SS_CLOSE);

pub const AF_UNIX: u32 = 1;
pub const AF_INET: u32 = 2;
pub const AF_INET6: u32 = 10;
pub const AF_NETLINK: u32 = 16;
pub const AF_PACKET: u32 = 17;
pub const AF_TIPC: u32 = 30;
pub const AF_VSOCK: u32 = 40;
pub const AF_XDP: u32 = 44;
const AF_MAX: u32 = 46;

pub const fn family_mask(af: u32) -> u64 {
    1u64 << af
}

/// default_dbs[]: the states and families each table brings.
fn default_db(db: u32) -> (u32, u64) {
    let inet = family_mask(AF_INET) | family_mask(AF_INET6);
    match db {
        TCP_DB | MPTCP_DB | DCCP_DB | SCTP_DB => (SS_CONN, inet),
        UDP_DB | RAW_DB => (1 << SS_ESTABLISHED, inet),
        UNIX_DG_DB => (1 << SS_CLOSE, family_mask(AF_UNIX)),
        UNIX_ST_DB | UNIX_SQ_DB => (SS_CONN, family_mask(AF_UNIX)),
        PACKET_DG_DB | PACKET_R_DB => (1 << SS_CLOSE, family_mask(AF_PACKET)),
        NETLINK_DB => (1 << SS_CLOSE, family_mask(AF_NETLINK)),
        VSOCK_ST_DB | VSOCK_DG_DB => (SS_CONN, family_mask(AF_VSOCK)),
        TIPC_DB => (TIPC_SS_CONN, family_mask(AF_TIPC)),
        XDP_DB => (1 << SS_CLOSE, family_mask(AF_XDP)),
        _ => (0, 0),
    }
}

/// default_afs[]: the tables and states each family brings.
fn default_af(af: u32) -> (u32, u32) {
    match af {
        AF_INET | AF_INET6 => (INET_DBM, SS_CONN),
        AF_UNIX => (UNIX_DBM, SS_CONN),
        AF_PACKET => (PACKET_DBM, 1 << SS_CLOSE),
        AF_NETLINK => (1 << NETLINK_DB, 1 << SS_CLOSE),
        AF_VSOCK => (VSOCK_DBM, SS_CONN),
        AF_TIPC => (1 << TIPC_DB, TIPC_SS_CONN),
        AF_XDP => (1 << XDP_DB, 1 << SS_CLOSE),
        _ => (0, 0),
    }
}

/// -A's table names and what each selects.
fn query_tables(name: &str) -> Option<&'static [u32]> {
    Some(match name {
        "all" => &[
            UDP_DB,
            DCCP_DB,
            TCP_DB,
            MPTCP_DB,
            RAW_DB,
            UNIX_ST_DB,
            UNIX_DG_DB,
            UNIX_SQ_DB,
            PACKET_R_DB,
            PACKET_DG_DB,
            NETLINK_DB,
            SCTP_DB,
            VSOCK_ST_DB,
            VSOCK_DG_DB,
            XDP_DB,
        ],
        "inet" => &[UDP_DB, DCCP_DB, TCP_DB, MPTCP_DB, SCTP_DB, RAW_DB],
        "udp" => &[UDP_DB],
        "dccp" => &[DCCP_DB],
        "tcp" => &[TCP_DB],
        "mptcp" => &[MPTCP_DB],
        "sctp" => &[SCTP_DB],
        "raw" => &[RAW_DB],
        "unix" => &[UNIX_ST_DB, UNIX_DG_DB, UNIX_SQ_DB],
        "unix_stream" | "u_str" => &[UNIX_ST_DB],
        "unix_dgram" | "u_dgr" => &[UNIX_DG_DB],
        "unix_seqpacket" | "u_seq" => &[UNIX_SQ_DB],
        "packet" => &[PACKET_R_DB, PACKET_DG_DB],
        "packet_raw" | "p_raw" => &[PACKET_R_DB],
        "packet_dgram" | "p_dgr" => &[PACKET_DG_DB],
        "netlink" => &[NETLINK_DB],
        "tipc" => &[TIPC_DB],
        "vsock" => &[VSOCK_ST_DB, VSOCK_DG_DB],
        "vsock_stream" | "v_str" => &[VSOCK_ST_DB],
        "vsock_dgram" | "v_dgr" => &[VSOCK_DG_DB],
        "xdp" => &[XDP_DB],
        _ => return None,
    })
}

/// ss's `struct filter` (tables, states, families) while options are applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    pub dbs: u32,
    pub states: u32,
    pub families: u64,
}

impl Tables {
    fn db_set(&mut self, db: u32, enable: bool) {
        if enable {
            self.states |= default_db(db).0;
            self.dbs |= 1 << db;
        } else {
            self.dbs &= !(1 << db);
        }
    }

    /// filter_db_parse: a table name, `!name` to remove it.
    fn db_parse(&mut self, name: &str) -> bool {
        let (enable, name) = match name.strip_prefix('!') {
            Some(rest) => (false, rest),
            None => (true, name),
        };
        match query_tables(name) {
            Some(dbs) => {
                for &db in dbs {
                    self.db_set(db, enable);
                }
                true
            }
            None => false,
        }
    }

    fn af_set(&mut self, af: u32) {
        self.states |= default_af(af).1;
        self.families |= family_mask(af);
    }

    /// filter_merge_defaults.
    fn merge_defaults(&mut self) {
        for db in 0..MAX_DB {
            if self.dbs & (1 << db) == 0 {
                continue;
            }
            let families = default_db(db).1;
            if families & self.families == 0 {
                self.families |= families;
            }
        }
        for af in 0..AF_MAX {
            if self.families & family_mask(af) == 0 {
                continue;
            }
            let dbs = default_af(af).0;
            if dbs & self.dbs == 0 {
                self.dbs |= dbs;
            }
        }
    }

    pub fn has_db(&self, db: u32) -> bool {
        self.dbs & (1 << db) != 0
    }

    pub fn has_af(&self, af: u32) -> bool {
        self.families & family_mask(af) != 0
    }
}

/// Where `-F` reads the filter from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterFile {
    Stdin,
    Path(OsString),
}

/// Everything the options say, after ss's option loop (before the filter words).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub tables: Tables,
    /// The state filter the options set (-a, -l, -A's SS_CONN); 0 for none.
    pub state_filter: u32,
    pub do_default: bool,
    pub preferred_family: u32,
    pub numeric: bool,
    pub resolve: bool,
    pub show_options: bool,
    pub show_details: u32,
    pub show_mem: bool,
    pub show_tcpinfo: bool,
    pub show_processes: bool,
    pub show_threads: bool,
    pub show_bpf: bool,
    pub show_tos: bool,
    pub show_cgroup: bool,
    pub show_inet_sockopt: bool,
    pub show_tipcinfo: bool,
    pub show_header: bool,
    pub oneline: bool,
    pub summary: bool,
    /// -K: close every socket shown (SOCK_DESTROY) before showing it.
    pub kill: bool,
    /// -E: show sockets as the kernel destroys them.
    pub events: bool,
    pub netns: Option<OsString>,
    pub filter_file: Option<FilterFile>,
    pub all_netns: bool,
    pub json: bool,
    pub color: ColorChoice,
    /// --all-filters: every listed socket's filter (implies -b).
    pub all_filters: Option<AllFilters>,
}

/// How --all-filters shows each socket's filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AllFilters {
    /// The instructions, as ss -b prints a packet socket's filter.
    List,
    /// The instructions, then one line per instruction in `tcpdump -d`'s notation.
    Disasm,
}
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Options>, Vec<OsString>),
    /// Print this on stdout and exit 0 (-h, -V, -f help).
    Print(String),
    /// Print this on stderr and exit with the status.
    Fail(String, u8),
    /// `--generate KIND`.
    Generate(String),
}

fn usage_error(message: &str) -> Parsed {
    let mut text = String::new();
    if !message.is_empty() {
        text.push_str(message);
        text.push('\n');
    }
    text.push_str(USAGE);
    Parsed::Fail(text, 255)
}

/// The version line: ss's, with our own name (a documented difference).
pub fn version_line() -> String {
    format!(
        "rss utility, iproute2-6.1.0 compatible (rnetstat {})\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// glibc's getopt names the program in its messages as invoked (argv[0], verbatim:
/// `/usr/bin/ss: invalid option -- 'q'`); [`parse`] writes `ss:` for that name.
fn invoked_as(message: &str) -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    match message.strip_prefix("ss:") {
        Some(rest) if !argv0.is_empty() => {
            format!("{}:{rest}", crate::escape::escape(argv0.as_encoded_bytes()))
        }
        _ => message.to_string(),
    }
}

/// ss's option loop. `enter_netns` is called for -N as ss does at that point (an error
/// message means exit 1).
pub fn apply(
    args: &[OsString],
    mut enter_netns: impl FnMut(&OsStr) -> Result<(), String>,
) -> Parsed {
    let (events, operands) = parse(args);
    let mut o = Options {
        do_default: true,
        show_header: true,
        // ss has no colour: only --color (always) or --color=auto brings it.
        color: ColorChoice::Never,
        ..Options::default()
    };
    let mut saw_query = false;
    for event in events {
        let (opt, value) = match event {
            Event::Error(message) => return usage_error(&invoked_as(&message)),
            Event::Opt(opt, value) => (opt, value),
        };
        let text = || {
            value
                .as_deref()
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let t = &mut o.tables;
        match opt {
            Opt::Short('n') => o.numeric = true,
            Opt::Short('r') => o.resolve = true,
            Opt::Short('o') => o.show_options = true,
            Opt::Short('e') => {
                o.show_options = true;
                o.show_details += 1;
            }
            Opt::Short('m') => o.show_mem = true,
            Opt::Short('i') => o.show_tcpinfo = true,
            Opt::Short('p') => o.show_processes = true,
            Opt::Short('T') => o.show_threads = true,
            Opt::Short('b') => {
                o.show_options = true;
                o.show_bpf = true;
            }
            Opt::Short('E') => o.events = true,
            Opt::Short('d') => {
                t.db_set(DCCP_DB, true);
                o.do_default = false;
            }
            Opt::Short('t') => {
                t.db_set(TCP_DB, true);
                o.do_default = false;
            }
            Opt::Short('S') => {
                t.db_set(SCTP_DB, true);
                o.do_default = false;
            }
            Opt::Short('u') => {
                t.db_set(UDP_DB, true);
                o.do_default = false;
            }
            Opt::Short('w') => {
                t.db_set(RAW_DB, true);
                o.do_default = false;
            }
            Opt::Short('M') => {
                t.db_set(MPTCP_DB, true);
                o.do_default = false;
            }
            Opt::Short('x') => af(&mut o, AF_UNIX),
            Opt::Vsock => af(&mut o, AF_VSOCK),
            Opt::TipcSock => af(&mut o, AF_TIPC),
            Opt::XdpSock => af(&mut o, AF_XDP),
            Opt::Short('4') => af(&mut o, AF_INET),
            Opt::Short('6') => af(&mut o, AF_INET6),
            Opt::Short('0') => af(&mut o, AF_PACKET),
            Opt::Short('a') => o.state_filter = SS_ALL,
            Opt::Short('l') => o.state_filter = (1 << SS_LISTEN) | (1 << SS_CLOSE),
            Opt::Short('f') => {
                let family = match text().as_str() {
                    "inet" => AF_INET,
                    "inet6" => AF_INET6,
                    "link" => AF_PACKET,
                    "unix" => AF_UNIX,
                    "netlink" => AF_NETLINK,
                    "tipc" => AF_TIPC,
                    "vsock" => AF_VSOCK,
                    "xdp" => AF_XDP,
                    "help" => return Parsed::Print(USAGE.to_string()),
                    other => {
                        return usage_error(&format!("ss: \"{other}\" is invalid family"));
                    }
                };
                af(&mut o, family);
            }
            Opt::Short('A') => {
                if !saw_query {
                    o.tables.dbs = 0;
                    if o.state_filter == 0 {
                        o.state_filter = SS_CONN;
                    }
                    saw_query = true;
                    o.do_default = false;
                }
                let all = text();
                for name in all.split(',') {
                    if !o.tables.db_parse(name) {
                        return usage_error(&format!("ss: \"{name}\" is illegal socket table id"));
                    }
                    o.do_default = false;
                }
            }
            Opt::Short('s') => o.summary = true,
            Opt::Short('D') => {
                return Parsed::Fail("rss: -D (--diag) is not supported\n".to_string(), 1)
            }
            Opt::Short('F') => {
                if o.filter_file.is_some() {
                    return Parsed::Fail("More than one filter file\n".to_string(), 255);
                }
                let path = value.clone().unwrap_or_default();
                if path.as_bytes().first() == Some(&b'-') {
                    o.filter_file = Some(FilterFile::Stdin);
                } else {
                    if let Err(e) = std::fs::File::open(&path) {
                        return Parsed::Fail(format!("fopen filter file: {}\n", strerror(&e)), 255);
                    }
                    o.filter_file = Some(FilterFile::Path(path));
                }
            }
            Opt::Short('v') | Opt::Short('V') => return Parsed::Print(version_line()),
            Opt::Short('z') | Opt::Short('Z') => {
                // ss without SELinux enabled (as on this system) stops here.
                return Parsed::Fail("ss: SELinux is not enabled.\n".to_string(), 1);
            }
            Opt::Short('N') => {
                let name = value.clone().unwrap_or_default();
                if let Err(message) = enter_netns(&name) {
                    return Parsed::Fail(message, 1);
                }
                o.netns = Some(name);
            }
            Opt::TipcInfo => o.show_tipcinfo = true,
            Opt::Tos => o.show_tos = true,
            Opt::Cgroup => o.show_cgroup = true,
            Opt::Short('K') => o.kill = true,
            Opt::Short('H') => o.show_header = false,
            Opt::Short('O') => o.oneline = true,
            Opt::InetSockopt => o.show_inet_sockopt = true,
            Opt::Short('h') => return Parsed::Print(USAGE.to_string()),
            Opt::AllNetns => o.all_netns = true,
            Opt::Json => o.json = true,
            Opt::Color => {
                o.color = match text().as_str() {
                    "" | "always" => ColorChoice::Always,
                    "auto" => ColorChoice::Auto,
                    "never" => ColorChoice::Never,
                    other => {
                        return Parsed::Fail(
                            format!("rss: --color takes auto, always or never, not '{other}'\n"),
                            255,
                        )
                    }
                }
            }
            Opt::AllFilters => {
                o.show_bpf = true;
                o.all_filters = match text().as_str() {
                    "" | "list" => Some(AllFilters::List),
                    "disasm" => Some(AllFilters::Disasm),
                    other => {
                        return Parsed::Fail(
                            format!("rss: --all-filters takes list or disasm, not '{other}'\n"),
                            255,
                        )
                    }
                }
            }
            Opt::Generate => return Parsed::Generate(text()),
            Opt::Short(_) => return usage_error(""),
        }
    }
    Parsed::Run(Box::new(o), operands)
}

fn af(o: &mut Options, family: u32) {
    o.tables.af_set(family);
    o.do_default = false;
    o.preferred_family = family;
}

pub use super::strerror;

/// After the option loop and the filter's `state`/`exclude` words (`word_states`:
/// the state mask they give, when any): ss's defaults and its three "nothing to show"
/// messages (exit 0).
pub fn finish_tables(o: &Options, word_states: Option<u32>) -> Result<Tables, String> {
    let mut t = o.tables;
    let mut state_filter = word_states.unwrap_or(o.state_filter);
    if o.do_default {
        if state_filter == 0 {
            state_filter = SS_CONN;
        }
        t.db_parse("all");
    }
    if state_filter != 0 {
        t.states = state_filter;
    }
    t.merge_defaults();
    if t.dbs == 0 {
        return Err("ss: no socket tables to show with such filter.".to_string());
    }
    if t.families == 0 {
        return Err("ss: no families to show with such filter.".to_string());
    }
    if t.states == 0 {
        return Err("ss: no socket states to show with such filter.".to_string());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str]) -> Parsed {
        apply(&os(args), |_| Ok(()))
    }

    #[test]
    fn getopt_forms() {
        let (ev, ops) = parse(&os(&[
            "-tanp",
            "-finet",
            "--fam=unix",
            "state",
            "-A",
            "tcp",
        ]));
        assert_eq!(ops, os(&["state"]));
        assert_eq!(ev.len(), 7);
        assert_eq!(ev[4], Event::Opt(Opt::Short('f'), Some("inet".into())));
        assert_eq!(ev[5], Event::Opt(Opt::Short('f'), Some("unix".into())));
        assert_eq!(ev[6], Event::Opt(Opt::Short('A'), Some("tcp".into())));
        let (ev, _) = parse(&os(&["-q"]));
        assert_eq!(ev, vec![Event::Error("ss: invalid option -- 'q'".into())]);
        let (ev, _) = parse(&os(&["--s"]));
        assert!(
            matches!(&ev[0], Event::Error(m) if m.starts_with("ss: option '--s' is ambiguous; possibilities: '--sctp' '--socket' '--summary'"))
        );
        let (ev, _) = parse(&os(&["--tcp=1"]));
        assert_eq!(
            ev,
            vec![Event::Error(
                "ss: option '--tcp' doesn't allow an argument".into()
            )]
        );
        let (ev, _) = parse(&os(&["-f"]));
        assert_eq!(
            ev,
            vec![Event::Error(
                "ss: option requires an argument -- 'f'".into()
            )]
        );
        let (ev, ops) = parse(&os(&["--", "-t"]));
        assert!(ev.is_empty());
        assert_eq!(ops, os(&["-t"]));
    }

    #[test]
    fn defaults_follow_ss() {
        let Parsed::Run(o, _) = run(&[]) else {
            panic!()
        };
        let t = finish_tables(&o, None).unwrap();
        assert_eq!(t.states, SS_CONN);
        assert_eq!(t.dbs, ((1 << MAX_DB) - 1) & !(1 << TIPC_DB));
        let Parsed::Run(o, _) = run(&["-t", "-A", "udp"]) else {
            panic!()
        };
        assert_eq!(finish_tables(&o, None).unwrap().dbs, 1 << UDP_DB);
        let Parsed::Run(o, _) = run(&["-A", "udp", "-t"]) else {
            panic!()
        };
        assert_eq!(
            finish_tables(&o, None).unwrap().dbs,
            (1 << UDP_DB) | (1 << TCP_DB)
        );
        let Parsed::Run(o, _) = run(&["-x", "-l"]) else {
            panic!()
        };
        let t = finish_tables(&o, None).unwrap();
        assert_eq!(
            (t.dbs, t.states),
            (UNIX_DBM, (1 << SS_LISTEN) | (1 << SS_CLOSE))
        );
        let Parsed::Run(o, _) = run(&["-A", "!tcp"]) else {
            panic!()
        };
        assert_eq!(
            finish_tables(&o, None),
            Err("ss: no socket tables to show with such filter.".into())
        );
        assert!(
            matches!(run(&["-A", "bogus"]), Parsed::Fail(m, 255) if m.starts_with("ss: \"bogus\" is illegal socket table id\nUsage: ss"))
        );
        assert!(matches!(run(&["-Z"]), Parsed::Fail(_, 1)));
    }

    /// Every option of the clap definition (help, man page) is one getopt knows.
    #[test]
    fn clap_and_getopt_agree() {
        use clap::CommandFactory;
        for arg in SsArgs::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(LONGS.iter().any(|(n, _, _)| *n == long), "--{long}");
            }
            if let Some(short) = arg.get_short() {
                assert!(SHORTS.contains(short), "-{short}");
            }
        }
    }
}
