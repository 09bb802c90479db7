//! ss's filter language, as iproute2 6.1 parses and applies it (misc/ssfilter.y,
//! parse_hostcond and run_ssfilter in misc/ss.c), learnt from its behaviour and source.
//!
//! Three parts:
//! - [`state_words`]: the leading `state`/`exclude` words and ss's state groups (the
//!   tables and families the options choose are `cli::ss::Tables`).
//! - [`parse`]: the expression after them (argv words, then `-F FILE` lines), with
//!   ss's lexer quirks (a word is split at blanks, `\` escapes, the last keyword
//!   decides how a bare word is read), its left-to-right `and`/`or` without
//!   precedence, its error messages and exit statuses, its parser-stack limit, and
//!   the family narrowing an address form (`unix:`, `inet6:`, `-4` ...) causes.
//! - [`Filter::matches`]: run_ssfilter's semantics over a [`Subject`] (one socket),
//!   without allocation or recursion, and [`Filter::inet_bytecode`]: the inet_diag
//!   bytecode ss attaches to its inet dumps. The kernel applies that bytecode with
//!   its own rules (strict address families, 16-bit port bounds, `autobound` read
//!   from the socket's bind lock, which no dump reports), so a runner that wants
//!   ss's rows sends the same bytes and then applies `matches` as ss does.
//!
//! The bytecode also pays for itself: at 50,000 TCP sockets (sockfarm, own
//! namespace, examples/ss_filter_bytecode.rs, medians of 15) a dump with
//! `sport = :1` took 181 ms with it against 310 ms without (the kernel copies out
//! nothing instead of 50,008 sockets), `dport = :1 or sport = :2` 141 against
//! 241 ms; a filter every socket passes costs the same either way (249 / 272 ms).
//! Figures in docs/PERFORMANCE.md.
//!
//! Deliberate differences, all where ss reads memory it should not: a `unix:`
//! pattern never matches a socket of another family (ss reads the address bytes
//! as a string pointer), an address never matches a named unix socket (ss
//! compares the bytes of the name's pointer), a bytecode ss would overflow
//! (over 65,527 bytes) is not sent, and RPC service names (`-r`, portmapper) are
//! not looked up for ports.

pub mod cnum;

use crate::cli::ss::{TCP_DB, UDP_DB};
use crate::resolve::Services;
use std::ffi::CString;
use std::io::BufRead;
use std::net::IpAddr;

/// TCP states as ss numbers them (the kernel's): bit numbers of a state mask.
pub mod state {
    pub const ESTABLISHED: u32 = 1;
    pub const SYN_SENT: u32 = 2;
    pub const SYN_RECV: u32 = 3;
    pub const FIN_WAIT1: u32 = 4;
    pub const FIN_WAIT2: u32 = 5;
    pub const TIME_WAIT: u32 = 6;
    pub const CLOSE: u32 = 7;
    pub const CLOSE_WAIT: u32 = 8;
    pub const LAST_ACK: u32 = 9;
    pub const LISTEN: u32 = 10;
    pub const CLOSING: u32 = 11;
    pub const MAX: u32 = 12;
    pub const ALL: u32 = (1 << MAX) - 1;
    /// ss's default: everything but listening, closed, time-wait and syn-recv.
    pub const CONN: u32 =
        ALL & !((1 << LISTEN) | (1 << CLOSE) | (1 << TIME_WAIT) | (1 << SYN_RECV));

    /// ss's scan_state: a state name or group, case-insensitive; `None` if unknown.
    pub fn scan(name: &[u8]) -> Option<u32> {
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if is("close") || is("closed") {
            return Some(1 << CLOSE);
        }
        if is("syn-rcv") {
            return Some(1 << SYN_RECV);
        }
        if is("established") {
            return Some(1 << ESTABLISHED);
        }
        if is("all") {
            return Some(ALL);
        }
        if is("connected") {
            return Some(ALL & !((1 << CLOSE) | (1 << LISTEN)));
        }
        if is("synchronized") {
            return Some(ALL & !((1 << CLOSE) | (1 << LISTEN) | (1 << SYN_SENT)));
        }
        if is("bucket") {
            return Some((1 << SYN_RECV) | (1 << TIME_WAIT));
        }
        if is("big") {
            return Some(ALL & !((1 << SYN_RECV) | (1 << TIME_WAIT)));
        }
        const NAMES: [&str; 12] = [
            "UNKNOWN",
            "established",
            "syn-sent",
            "syn-recv",
            "fin-wait-1",
            "fin-wait-2",
            "time-wait",
            "unconnected",
            "close-wait",
            "last-ack",
            "listening",
            "closing",
        ];
        NAMES.iter().position(|n| is(n)).map(|i| 1 << i)
    }
}

/// A reason ss stops: what it prints on stderr, its exit status, and whether it
/// prints its usage text after the message (the caller owns that text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsError {
    pub message: Vec<u8>,
    pub status: i32,
    pub usage: bool,
}

impl SsError {
    fn new(message: impl Into<Vec<u8>>, status: i32) -> SsError {
        SsError {
            message: message.into(),
            status,
            usage: false,
        }
    }

    fn with_usage(message: impl Into<Vec<u8>>) -> SsError {
        SsError {
            message: message.into(),
            status: 255,
            usage: true,
        }
    }
}

/// What the parser reads and changes of ss's `struct filter` (the runner's
/// `cli::ss::Tables` after ss's defaults): the tables, which decide where a service
/// name is looked up; the families, which an address form narrows (`unix:...` lists
/// unix sockets only); and the family a bare address is read in (the last of
/// -4/-6/-0/-x/-f, then of the address forms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub dbs: u32,
    pub families: u64,
    pub preferred_family: i32,
}

impl Scope {
    fn has_db(&self, d: u32) -> bool {
        d < 32 && self.dbs & (1 << d) != 0
    }

    /// ss's parse_hostcond: an address in family `fam` lists that family only.
    fn narrow_to(&mut self, fam: i32) {
        self.families = if (0..64).contains(&fam) {
            1u64 << fam
        } else {
            0
        };
        self.preferred_family = fam;
    }
}

/// The leading `state X` / `exclude X` (`excl X`) words, as ss's main loop takes
/// them: the state mask they give (`None` without any) and how many words they are.
pub fn state_words(words: &[&[u8]]) -> Result<(Option<u32>, usize), SsError> {
    let mut i = 0;
    let mut mask: Option<u32> = None;
    while i < words.len() {
        let exclude = match words[i] {
            b"state" => false,
            b"exclude" | b"excl" => true,
            _ => break,
        };
        let Some(&name) = words.get(i + 1) else {
            return Err(SsError::new(
                "Command line is not complete. Try option \"help\"\n",
                255,
            ));
        };
        let Some(bits) = state::scan(name) else {
            let mut m = b"ss: wrong state name: ".to_vec();
            m.extend_from_slice(name);
            m.push(b'\n');
            return Err(SsError::new(m, 255));
        };
        mask = Some(if exclude {
            mask.unwrap_or(state::ALL) & !bits
        } else {
            mask.unwrap_or(0) | bits
        });
        i += 2;
    }
    Ok((mask, i))
}

/// cgroup v2 path → id, or the lines ss prints when it cannot get one.
pub type CgroupLookup = dyn Fn(&[u8]) -> Result<u64, Vec<u8>>;

/// Lookups a filter needs from the system, replaceable in tests.
pub struct Env<'a> {
    pub services: &'a Services,
    /// Interface name → index in the namespace being listed (0: none).
    pub if_index: &'a dyn Fn(&[u8]) -> u32,
    /// Host name → addresses of one family (`v6`), as ss's gethostbyname2.
    pub host: &'a dyn Fn(&[u8], bool) -> Vec<IpAddr>,
    /// cgroup v2 path → id, or the lines ss prints when it cannot get one.
    pub cgroup: &'a CgroupLookup,
}

/// The system's lookups: if_nametoindex, getaddrinfo, name_to_handle_at.
pub fn system_if_index(name: &[u8]) -> u32 {
    sys::if_index(name)
}

pub fn system_host(name: &[u8], v6: bool) -> Vec<IpAddr> {
    match std::str::from_utf8(name) {
        Ok(n) if !n.is_empty() => crate::resolve::host_addresses(n, v6),
        _ => Vec::new(),
    }
}

pub fn system_cgroup(path: &[u8]) -> Result<u64, Vec<u8>> {
    sys::cgroup_id(path)
}

mod sys;

/// One address (prefix) of a host condition, as iproute2's inet_prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prefix {
    family: i32,
    bitlen: u32,
    data: [u8; 16],
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostAddr {
    /// `unix:` glob (fnmatch, case-insensitive) on the socket's name.
    Unix(CString),
    /// An address or prefix, or several (a host name's addresses, any one matches);
    /// the first's bitlen 0 means "any address".
    Prefixes(Vec<Prefix>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct HostCond {
    addr: HostAddr,
    /// -1: any port.
    port: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Leaf {
    SCond(HostCond),
    DCond(HostCond),
    SGe(i32),
    SLe(i32),
    DGe(i32),
    DLe(i32),
    Auto,
    Dev(u32),
    Mark { mark: u32, mask: u32 },
    Cgroup(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Leaf(Leaf),
    And(u32, u32),
    Or(u32, u32),
    Not(u32),
}

const ACCEPT: u32 = u32::MAX;
const REJECT: u32 = u32::MAX - 1;

/// One step of the evaluation program: test a leaf, go to `yes` or `no`.
#[derive(Clone, Copy, Debug)]
struct Step {
    leaf: u32,
    yes: u32,
    no: u32,
}

/// A parsed filter expression (possibly empty: everything matches).
#[derive(Clone, Debug)]
pub struct Filter {
    nodes: Vec<Node>,
    root: Option<u32>,
    program: Vec<Step>,
    entry: u32,
    ephemeral: (i32, i32),
}

/// One socket as the filter sees it (ss's `struct sockstat` fields it reads).
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK, AF_VSOCK ...
    pub family: i32,
    /// inet: the address as the kernel gives it (IPv4 in the first 4 bytes, the rest
    /// zero). netlink: the protocol number (native-endian u32) in the first 4 bytes.
    /// Zero for unix and packet sockets.
    pub local: [u8; 16],
    pub remote: [u8; 16],
    /// unix: the bound name as the kernel gives it (abstract names start with NUL).
    pub unix_name: Option<&'a [u8]>,
    /// inet: ports; unix: inode and peer inode; packet: interface index; netlink:
    /// port id and -1. ss keeps them in an `int`.
    pub lport: i32,
    pub rport: i32,
    /// Interface the socket is bound to (0: none).
    pub iface: u32,
    pub mark: u32,
    pub cgroup_id: u64,
}

impl<'a> Subject<'a> {
    /// An inet socket's view.
    pub fn inet(local: IpAddr, lport: u16, remote: IpAddr, rport: u16) -> Subject<'a> {
        let bytes = |a: IpAddr| -> ([u8; 16], bool) {
            match a {
                IpAddr::V4(v4) => {
                    let mut b = [0u8; 16];
                    b[..4].copy_from_slice(&v4.octets());
                    (b, false)
                }
                IpAddr::V6(v6) => (v6.octets(), true),
            }
        };
        let (l, v6) = bytes(local);
        let (r, _) = bytes(remote);
        Subject {
            family: if v6 { libc::AF_INET6 } else { libc::AF_INET },
            local: l,
            remote: r,
            unix_name: None,
            lport: i32::from(lport),
            rport: i32::from(rport),
            iface: 0,
            mark: 0,
            cgroup_id: 0,
        }
    }

    /// A unix socket's view: its name, inode and peer inode.
    pub fn unix(name: Option<&'a [u8]>, inode: u32, peer: u32) -> Subject<'a> {
        Subject {
            family: libc::AF_UNIX,
            local: [0; 16],
            remote: [0; 16],
            unix_name: name,
            lport: inode as i32,
            rport: peer as i32,
            iface: 0,
            mark: 0,
            cgroup_id: 0,
        }
    }
}

/// The source of filter words: argv words first, then `-F` file lines, split and
/// classified as ss's yylex does.
struct Lexer<'w, 'f> {
    words: &'w [&'w [u8]],
    next_word: usize,
    file: Option<&'f mut dyn BufRead>,
    buf: Vec<u8>,
    pos: usize,
    /// The last keyword: decides how a non-keyword word is read.
    tok_type: Kw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kw {
    None,
    Dst,
    Src,
    Dport,
    Sport,
    Dev,
    Fwmark,
    Cgroup,
    Autobound,
}

#[derive(Debug)]
enum Tok {
    Eof,
    Not,
    And,
    Or,
    LParen,
    RParen,
    Key(Kw),
    Geq,
    Leq,
    Neq,
    Eq,
    Gt,
    Lt,
    Host(HostCond),
    DevCond(u32),
    MarkMask(u32, u32),
    CgroupCond(u64),
}

/// fgets' buffer in ss: a line of 1023 bytes or more is refused.
const LINE_BUF: usize = 1024;

impl<'w, 'f> Lexer<'w, 'f> {
    /// Next raw word (get_token_from_line), `None` at the end of all input.
    fn next_word(&mut self) -> Result<Option<Vec<u8>>, SsError> {
        loop {
            while self.pos < self.buf.len() && matches!(self.buf[self.pos], b' ' | b'\t') {
                self.pos += 1;
            }
            if self.pos < self.buf.len() {
                let mut tok = Vec::new();
                while self.pos < self.buf.len() && !matches!(self.buf[self.pos], b' ' | b'\t') {
                    if self.buf[self.pos] == b'\\' {
                        self.pos += 1;
                        if self.pos == self.buf.len() {
                            break;
                        }
                    }
                    tok.push(self.buf[self.pos]);
                    self.pos += 1;
                }
                if self.pos < self.buf.len() {
                    self.pos += 1;
                }
                return Ok(Some(tok));
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// Loads the next argv word or filter-file line into `buf`; false at the end.
    fn refill(&mut self) -> Result<bool, SsError> {
        self.buf.clear();
        self.pos = 0;
        if let Some(w) = self.words.get(self.next_word) {
            self.next_word += 1;
            // argv words are C strings.
            let end = w.iter().position(|&b| b == 0).unwrap_or(w.len());
            self.buf.extend_from_slice(&w[..end]);
            return Ok(true);
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        loop {
            let mut line = Vec::new();
            if !fgets(&mut **file, &mut line) {
                return Ok(false);
            }
            let len = line.iter().position(|&b| b == 0).unwrap_or(line.len());
            if len == 0 {
                return Err(SsError::new("Invalid line\n", 255));
            }
            if len >= LINE_BUF - 1 {
                return Err(SsError::new("Too long line in filter\n", 255));
            }
            line.truncate(len);
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            // ss skips comment lines, and (by its test of '0', not '\0') lines that
            // start with the digit zero.
            if matches!(line.first(), Some(b'#') | Some(b'0')) {
                continue;
            }
            self.buf = line;
            return Ok(true);
        }
    }
}

/// fgets(buf, 1024, fp): up to 1023 bytes, through a newline. False at EOF with
/// nothing read (or a read error, which fgets also reports as NULL).
fn fgets(file: &mut dyn BufRead, out: &mut Vec<u8>) -> bool {
    while out.len() < LINE_BUF - 1 {
        let avail = match file.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return !out.is_empty(),
        };
        if avail.is_empty() {
            break;
        }
        let room = LINE_BUF - 1 - out.len();
        let take = avail.len().min(room);
        let (n, done) = match avail[..take].iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (take, false),
        };
        out.extend_from_slice(&avail[..n]);
        file.consume(n);
        if done {
            break;
        }
    }
    !out.is_empty()
}

/// Bison's stack in ss's parser holds 10000 states; one more is "memory exhausted".
const STACK_LIMIT: usize = 9999;

struct Parser<'a, 'w, 'f> {
    lex: Lexer<'w, 'f>,
    sel: &'a mut Scope,
    env: &'a Env<'a>,
    nodes: Vec<Node>,
    depth: usize,
}

fn syntax_error() -> SsError {
    SsError::with_usage(
        &b"ss: bison bellows (while parsing filter): \"syntax error!\" Sorry.\n"[..],
    )
}

fn exhausted() -> SsError {
    SsError::with_usage(
        &b"ss: bison bellows (while parsing filter): \"memory exhausted!\" Sorry.\n"[..],
    )
}

/// One open level of the expression: the top, or a parenthesis.
struct Frame {
    paren: bool,
    list: Option<u32>,
    op: Option<bool>, // Some(true): or, Some(false): and
    nots: usize,
}

impl<'a, 'w, 'f> Parser<'a, 'w, 'f> {
    fn push(&mut self) -> Result<(), SsError> {
        self.depth += 1;
        if self.depth >= STACK_LIMIT {
            return Err(exhausted());
        }
        Ok(())
    }

    fn add(&mut self, n: Node) -> u32 {
        self.nodes.push(n);
        (self.nodes.len() - 1) as u32
    }

    fn next(&mut self) -> Result<Tok, SsError> {
        let Some(w) = self.lex.next_word()? else {
            return Ok(Tok::Eof);
        };
        let kw = |k: Kw, lex: &mut Lexer| {
            lex.tok_type = k;
            Tok::Key(k)
        };
        Ok(match &w[..] {
            b"!" | b"not" => Tok::Not,
            b"&" | b"&&" | b"and" => Tok::And,
            b"|" | b"||" | b"or" => Tok::Or,
            b"(" => Tok::LParen,
            b")" => Tok::RParen,
            b"dst" => kw(Kw::Dst, &mut self.lex),
            b"src" => kw(Kw::Src, &mut self.lex),
            b"dport" => kw(Kw::Dport, &mut self.lex),
            b"sport" => kw(Kw::Sport, &mut self.lex),
            b"dev" => kw(Kw::Dev, &mut self.lex),
            b"fwmark" => kw(Kw::Fwmark, &mut self.lex),
            b"cgroup" => kw(Kw::Cgroup, &mut self.lex),
            b">=" | b"ge" | b"geq" => Tok::Geq,
            b"<=" | b"le" | b"leq" => Tok::Leq,
            b"!=" | b"ne" | b"neq" => Tok::Neq,
            b"=" | b"==" | b"eq" => Tok::Eq,
            b">" | b"gt" => Tok::Gt,
            b"<" | b"lt" => Tok::Lt,
            b"autobound" => kw(Kw::Autobound, &mut self.lex),
            _ => match self.lex.tok_type {
                Kw::Dev => match self.devcond(&w) {
                    Some(i) => Tok::DevCond(i),
                    None => return Err(SsError::new("Cannot parse device.\n", 1)),
                },
                Kw::Fwmark => match markmask(&w) {
                    Some((m, k)) => Tok::MarkMask(m, k),
                    None => {
                        let mut m = b"Cannot parse mark ".to_vec();
                        m.extend_from_slice(&w);
                        m.extend_from_slice(b".\n");
                        return Err(SsError::new(m, 1));
                    }
                },
                Kw::Cgroup => match (self.env.cgroup)(&w) {
                    Ok(id) if id != 0 => Tok::CgroupCond(id),
                    other => {
                        let mut m = other.err().unwrap_or_default();
                        m.extend_from_slice(b"Cannot parse cgroup ");
                        m.extend_from_slice(&w);
                        m.extend_from_slice(b".\n");
                        return Err(SsError::new(m, 1));
                    }
                },
                k => {
                    let is_port = matches!(k, Kw::Sport | Kw::Dport);
                    match self.hostcond(&w, is_port) {
                        Ok(h) => Tok::Host(h),
                        Err(mut m) => {
                            m.extend_from_slice(b"Cannot parse dst/src address.\n");
                            return Err(SsError::new(m, 1));
                        }
                    }
                }
            },
        })
    }

    fn devcond(&self, name: &[u8]) -> Option<u32> {
        let idx = (self.env.if_index)(name);
        if idx != 0 {
            return Some(idx);
        }
        // ll_name_to_index's last resort: "if<N>".
        if let Some(rest) = name.strip_prefix(b"if") {
            if let Some((n, _)) = cnum::scanf_int(rest, 10) {
                if n != 0 {
                    return Some(n);
                }
            }
        }
        let (n, used, erange) = cnum::strtoul(name, 0);
        if used == 0 || used != name.len() || erange || n > u64::from(u32::MAX) {
            return None;
        }
        Some(n as u32)
    }

    /// parse_hostcond: `Err` carries the lines ss prints before "Cannot parse ...".
    fn hostcond(&mut self, word: &[u8], is_port: bool) -> Result<HostCond, Vec<u8>> {
        let mut fam = self.sel.preferred_family;
        let mut addr = word;
        for (p, f) in [
            (&b"unix:"[..], libc::AF_UNIX),
            (b"link:", libc::AF_PACKET),
            (b"netlink:", libc::AF_NETLINK),
            (b"vsock:", libc::AF_VSOCK),
            (b"inet:", libc::AF_INET),
            (b"inet6:", libc::AF_INET6),
        ] {
            if let Some(rest) = addr.strip_prefix(p) {
                fam = f;
                addr = rest;
                break;
            }
        }
        let cond = match fam {
            libc::AF_UNIX => HostCond {
                addr: HostAddr::Unix(CString::new(addr).unwrap_or_default()),
                port: -1,
            },
            libc::AF_PACKET | libc::AF_NETLINK => self.link_cond(fam, addr, is_port)?,
            libc::AF_VSOCK => {
                let (a, port) = find_port(addr, is_port);
                let mut cond_port = -1;
                if let Some(p) = port {
                    if p != b"*" {
                        cond_port = cnum::get_u32(p).ok_or_else(Vec::new)? as i32;
                    }
                }
                if !is_port && !a.is_empty() && a != b"*" {
                    cnum::get_u32(a).ok_or_else(Vec::new)?;
                }
                // ss stores the cid, then resets the prefix length: it never compares.
                HostCond {
                    addr: HostAddr::Prefixes(vec![Prefix {
                        family: libc::AF_VSOCK,
                        bitlen: 0,
                        data: [0; 16],
                    }]),
                    port: cond_port,
                }
            }
            _ => self.inet_cond(fam, addr, is_port)?,
        };
        if fam != libc::AF_UNSPEC {
            self.sel.narrow_to(fam);
        }
        Ok(cond)
    }

    fn link_cond(&self, fam: i32, addr: &[u8], is_port: bool) -> Result<HostCond, Vec<u8>> {
        let (a, port) = find_port(addr, is_port);
        let mut cond_port = -1;
        if let Some(p) = port {
            if !p.is_empty() && p != b"*" {
                cond_port = match cnum::get_integer(p) {
                    Some(n) => n,
                    None if fam == libc::AF_PACKET => {
                        let idx = (self.env.if_index)(p) as i32;
                        if idx <= 0 {
                            return Err(Vec::new());
                        }
                        idx
                    }
                    None if p == b"kernel" => 0,
                    None => return Err(Vec::new()),
                };
            }
        }
        let mut prefix = Prefix {
            family: fam,
            bitlen: 0,
            data: [0; 16],
        };
        if !is_port && !a.is_empty() && a != b"*" {
            prefix.bitlen = 32;
            let v = if fam == libc::AF_PACKET {
                u32::from(ll_proto(a).ok_or_else(Vec::new)?)
            } else {
                nl_proto(a).ok_or_else(Vec::new)?
            };
            prefix.data[..4].copy_from_slice(&v.to_ne_bytes());
        }
        Ok(HostCond {
            addr: HostAddr::Prefixes(vec![prefix]),
            port: cond_port,
        })
    }

    fn inet_cond(&self, fam: i32, w: &[u8], is_port: bool) -> Result<HostCond, Vec<u8>> {
        // Where the address ends and the port starts, as ss finds them.
        let mut addr: &[u8] = w;
        let mut port_start: Option<usize>;
        let bracket = w.first() == Some(&b'[');
        if bracket {
            let Some(close) = w[1..].iter().position(|&b| b == b']') else {
                return Err(Vec::new());
            };
            addr = &w[1..1 + close];
            port_start = Some(close + 2);
        } else if w.first() == Some(&b'*') {
            port_start = Some(1);
        } else {
            let from = w.iter().position(|&b| b == b'/').unwrap_or(0);
            port_start = w[from..].iter().rposition(|&b| b == b':').map(|i| from + i);
        }
        if is_port {
            port_start = Some(0);
        }
        let mut cond_port = -1;
        if let Some(ps) = port_start {
            let mut p = &w[ps.min(w.len())..];
            if p.first() == Some(&b':') {
                if !bracket && !is_port {
                    // The colon ends the address (C writes a NUL over it).
                    addr = &w[..ps];
                }
                p = &p[1..];
            }
            if !p.is_empty() && p[0] != b'*' {
                cond_port = match cnum::get_integer(p) {
                    Some(n) => n,
                    None => self.service_port(p)?,
                };
            }
        }
        let mut prefixes = vec![Prefix {
            family: libc::AF_UNSPEC,
            bitlen: 0,
            data: [0; 16],
        }];
        if !is_port && !addr.is_empty() && addr[0] != b'*' {
            match get_prefix(addr, fam) {
                Some(p) => prefixes[0] = p,
                None => {
                    prefixes = self.dns(addr, fam);
                    if prefixes.is_empty() {
                        let mut m = b"Error: an inet prefix is expected rather than \"".to_vec();
                        m.extend_from_slice(addr);
                        m.extend_from_slice(b"\".\n");
                        return Err(m);
                    }
                }
            }
        }
        Ok(HostCond {
            addr: HostAddr::Prefixes(prefixes),
            port: cond_port,
        })
    }

    /// getservbyname in the tables being listed (udp, then tcp), as ss does.
    fn service_port(&self, name: &[u8]) -> Result<i32, Vec<u8>> {
        let name_s = std::str::from_utf8(name).ok();
        let lookup = |udp: bool| name_s.and_then(|n| self.env.services.port_of(n, udp));
        let udp = if self.sel.has_db(UDP_DB) {
            lookup(true)
        } else {
            None
        };
        let tcp = if self.sel.has_db(TCP_DB) {
            lookup(false)
        } else {
            None
        };
        let quoted = |pre: &[u8], post: &[u8]| {
            let mut m = pre.to_vec();
            m.extend_from_slice(name);
            m.extend_from_slice(post);
            m
        };
        match (udp, tcp) {
            (Some(u), Some(t)) if u != t => Err(quoted(b"Error: ambiguous port \"", b"\".\n")),
            (Some(p), _) | (None, Some(p)) => Ok(i32::from(p)),
            (None, None) => Err(quoted(b"Error: \"", b"\" does not look like a port.\n")),
        }
    }

    /// get_dns_host: the name's IPv4 addresses, then (family unspecified) IPv6 ones.
    fn dns(&self, name: &[u8], fam: i32) -> Vec<Prefix> {
        let mut out = Vec::new();
        let mut add = |v6: bool| {
            for ip in (self.env.host)(name, v6) {
                let mut data = [0u8; 16];
                let (family, bitlen) = match ip {
                    IpAddr::V4(a) => {
                        data[..4].copy_from_slice(&a.octets());
                        (libc::AF_INET, 32)
                    }
                    IpAddr::V6(a) => {
                        data = a.octets();
                        (libc::AF_INET6, 128)
                    }
                };
                out.push(Prefix {
                    family,
                    bitlen,
                    data,
                });
            }
        };
        match fam {
            libc::AF_UNSPEC => {
                add(false);
                add(true);
            }
            libc::AF_INET => add(false),
            libc::AF_INET6 => add(true),
            _ => {}
        }
        out
    }

    /// The grammar of ssfilter.y, driven by an explicit stack whose depth follows
    /// bison's (so the "memory exhausted" point is ss's, and no input recurses).
    fn run(&mut self) -> Result<Option<u32>, SsError> {
        let mut frames = vec![Frame {
            paren: false,
            list: None,
            op: None,
            nots: 0,
        }];
        let mut tok = self.next()?;
        loop {
            // Expecting an expression, or (after a list) an operator, ')' or the end.
            let nframes = frames.len();
            let f = frames.last_mut().expect("top frame");
            let after_list = f.list.is_some() && f.op.is_none() && f.nots == 0;
            if after_list {
                match tok {
                    Tok::Or | Tok::And => {
                        f.op = Some(matches!(tok, Tok::Or));
                        self.push()?;
                        tok = self.next()?;
                        continue;
                    }
                    Tok::RParen if f.paren => {
                        self.push()?;
                        let done = frames.pop().expect("paren frame");
                        // '(' exprlist ')' → expr
                        self.depth -= 2;
                        let e = done.list.expect("list");
                        self.complete(&mut frames, e);
                        tok = self.next()?;
                        continue;
                    }
                    Tok::Eof if nframes == 1 => return Ok(f.list),
                    Tok::Not | Tok::LParen | Tok::Key(_) => {}
                    _ => return Err(syntax_error()),
                }
            } else if matches!(tok, Tok::Eof) && nframes == 1 && f.list.is_none() && f.nots == 0 {
                return Ok(None);
            }
            match tok {
                Tok::LParen => {
                    self.push()?;
                    frames.push(Frame {
                        paren: true,
                        list: None,
                        op: None,
                        nots: 0,
                    });
                }
                Tok::Not => {
                    self.push()?;
                    frames.last_mut().expect("frame").nots += 1;
                }
                Tok::Key(k) => {
                    let e = self.primitive(k)?;
                    self.complete(&mut frames, e);
                }
                _ => return Err(syntax_error()),
            }
            tok = self.next()?;
        }
    }

    /// An expression is done: apply the frame's pending `!`s and join it to the list.
    fn complete(&mut self, frames: &mut [Frame], mut e: u32) {
        let f = frames.last_mut().expect("frame");
        for _ in 0..f.nots {
            e = self.add(Node::Not(e));
            self.depth -= 1;
        }
        f.nots = 0;
        let op = f.op.take();
        f.list = Some(match (f.list, op) {
            (None, _) => e,
            (Some(l), Some(true)) => {
                self.depth -= 2;
                self.add(Node::Or(l, e))
            }
            (Some(l), Some(false)) => {
                self.depth -= 2;
                self.add(Node::And(l, e))
            }
            (Some(l), None) => {
                self.depth -= 1;
                self.add(Node::And(l, e))
            }
        });
    }

    /// KEYWORD [operator] VALUE, after the keyword was read.
    fn primitive(&mut self, k: Kw) -> Result<u32, SsError> {
        self.push()?;
        if k == Kw::Autobound {
            return Ok(self.add(Node::Leaf(Leaf::Auto)));
        }
        let mut tok = self.next()?;
        #[derive(PartialEq)]
        enum Op {
            Eq,
            Neq,
            Ge,
            Le,
            Gt,
            Lt,
        }
        let op = match tok {
            Tok::Eq => Op::Eq,
            Tok::Neq => Op::Neq,
            Tok::Geq => Op::Ge,
            Tok::Leq => Op::Le,
            Tok::Gt => Op::Gt,
            Tok::Lt => Op::Lt,
            Tok::Host(_) | Tok::DevCond(_) | Tok::MarkMask(..) | Tok::CgroupCond(_) => {
                // The empty `eq` rule.
                self.push()?;
                Op::Eq
            }
            _ => return Err(syntax_error()),
        };
        let ports = matches!(k, Kw::Sport | Kw::Dport);
        let allowed = match op {
            Op::Eq => true,
            Op::Neq => k != Kw::Dst && k != Kw::Src,
            _ => ports,
        };
        if !allowed {
            return Err(syntax_error());
        }
        if !matches!(
            tok,
            Tok::Host(_) | Tok::DevCond(_) | Tok::MarkMask(..) | Tok::CgroupCond(_)
        ) {
            self.push()?;
            tok = self.next()?;
        }
        let leaf = match (k, tok) {
            (Kw::Dst | Kw::Src | Kw::Sport | Kw::Dport, Tok::Host(h)) => {
                let src = matches!(k, Kw::Src | Kw::Sport);
                let port = h.port;
                match op {
                    Op::Eq | Op::Neq => {
                        if src {
                            Leaf::SCond(h)
                        } else {
                            Leaf::DCond(h)
                        }
                    }
                    Op::Ge | Op::Lt => {
                        if src {
                            Leaf::SGe(port)
                        } else {
                            Leaf::DGe(port)
                        }
                    }
                    Op::Le | Op::Gt => {
                        if src {
                            Leaf::SLe(port)
                        } else {
                            Leaf::DLe(port)
                        }
                    }
                }
            }
            (Kw::Dev, Tok::DevCond(i)) => Leaf::Dev(i),
            (Kw::Fwmark, Tok::MarkMask(mark, mask)) => Leaf::Mark { mark, mask },
            (Kw::Cgroup, Tok::CgroupCond(id)) => Leaf::Cgroup(id),
            _ => return Err(syntax_error()),
        };
        self.push()?;
        // KEYWORD eq VALUE → expr
        self.depth -= 2;
        let n = self.add(Node::Leaf(leaf));
        Ok(if matches!(op, Op::Neq | Op::Gt | Op::Lt) {
            self.add(Node::Not(n))
        } else {
            n
        })
    }
}

/// find_port for link/netlink/vsock addresses: `(address, port)`.
fn find_port(addr: &[u8], is_port: bool) -> (&[u8], Option<&[u8]>) {
    if is_port {
        return (addr, Some(addr.strip_prefix(b":").unwrap_or(addr)));
    }
    match addr.iter().position(|&b| b == b':') {
        Some(i) => (&addr[..i], Some(&addr[i + 1..])),
        None => (addr, None),
    }
}

/// ll_proto_a2n: an ethertype by iproute2's name (case-insensitive) or number.
fn ll_proto(name: &[u8]) -> Option<u16> {
    const NAMES: &[(&str, u16)] = &[
        ("loop", 0x0060),
        ("pup", 0x0200),
        ("pupat", 0x0201),
        ("ip", 0x0800),
        ("x25", 0x0805),
        ("arp", 0x0806),
        ("bpq", 0x08ff),
        ("ieeepup", 0x0a00),
        ("ieeepupat", 0x0a01),
        ("dec", 0x6000),
        ("dna_dl", 0x6001),
        ("dna_rc", 0x6002),
        ("dna_rt", 0x6003),
        ("lat", 0x6004),
        ("diag", 0x6005),
        ("cust", 0x6006),
        ("sca", 0x6007),
        ("rarp", 0x8035),
        ("atalk", 0x809b),
        ("aarp", 0x80f3),
        ("ipx", 0x8137),
        ("ipv6", 0x86dd),
        ("ppp_disc", 0x8863),
        ("ppp_ses", 0x8864),
        ("atmmpoa", 0x884c),
        ("atmfate", 0x8884),
        ("802_3", 0x0001),
        ("ax25", 0x0002),
        ("all", 0x0003),
        ("802_2", 0x0004),
        ("snap", 0x0005),
        ("ddcmp", 0x0006),
        ("wan_ppp", 0x0007),
        ("ppp_mp", 0x0008),
        ("localtalk", 0x0009),
        ("can", 0x000c),
        ("ppptalk", 0x0010),
        ("tr_802_2", 0x0011),
        ("mobitex", 0x0015),
        ("control", 0x0016),
        ("irda", 0x0017),
        ("econet", 0x0018),
        ("tipc", 0x88ca),
        ("profinet", 0x8892),
        ("aoe", 0x88a2),
        ("ethercat", 0x88a4),
        ("802.1Q", 0x8100),
        ("802.1ad", 0x88a8),
        ("mpls_uc", 0x8847),
        ("mpls_mc", 0x8848),
        ("teb", 0x6558),
        ("LLDP", 0x88cc),
        ("ipv4", 0x0800),
    ];
    if let Some((_, v)) = NAMES
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()))
    {
        return Some(*v);
    }
    let (v, used, erange) = cnum::strtoul(name, 0);
    if used == 0 || used != name.len() || erange || v > 0xffff {
        return None;
    }
    Some(v as u16)
}

/// nl_proto_a2n: a netlink protocol by iproute2's name or number.
fn nl_proto(name: &[u8]) -> Option<u32> {
    const NAMES: &[(&str, u32)] = &[
        ("rtnl", 0),
        ("unused", 1),
        ("usersock", 2),
        ("fw", 3),
        ("tcpdiag", 4),
        ("nflog", 5),
        ("xfrm", 6),
        ("selinux", 7),
        ("iscsi", 8),
        ("audit", 9),
        ("fiblookup", 10),
        ("connector", 11),
        ("nft", 12),
        ("ip6fw", 13),
        ("dec-rt", 14),
        ("uevent", 15),
        ("genl", 16),
        ("scsi-trans", 18),
        ("ecryptfs", 19),
        ("rdma", 20),
        ("crypto", 21),
        ("smc", 22),
    ];
    if let Some((_, v)) = NAMES
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()))
    {
        return Some(*v);
    }
    let (v, used, erange) = cnum::strtoul(name, 0);
    if used == 0 || used != name.len() || erange || v > u64::from(u32::MAX) {
        return None;
    }
    Some(v as u32)
}

/// parse_markmask: `MARK` or `MARK/MASK`, each as sscanf's %i.
fn markmask(w: &[u8]) -> Option<(u32, u32)> {
    if let Some(slash) = w.iter().position(|&b| b == b'/') {
        let (mark, used) = cnum::scanf_int(w, 0)?;
        if used != slash {
            return None;
        }
        let (mask, _) = cnum::scanf_int(&w[slash + 1..], 0)?;
        Some((mark, mask))
    } else {
        let (mark, _) = cnum::scanf_int(w, 0)?;
        Some((mark, u32::MAX))
    }
}

/// get_prefix_1: `ADDR[/LEN]` in family `fam` (AF_UNSPEC: either).
fn get_prefix(arg: &[u8], fam: i32) -> Option<Prefix> {
    let (addr, len) = match arg.iter().position(|&b| b == b'/') {
        Some(i) => (&arg[..i], Some(&arg[i + 1..])),
        None => (arg, None),
    };
    let (family, data, any) = get_addr(addr, fam)?;
    let max = match family {
        libc::AF_INET => 32,
        libc::AF_INET6 => 128,
        _ => 0,
    };
    let bitlen = match len {
        Some(_) if any => return None,
        Some(l) => {
            let plen = netmask(l)?;
            if plen > max {
                return None;
            }
            plen
        }
        None if any => 0,
        None => max,
    };
    Some(Prefix {
        family,
        bitlen,
        data,
    })
}

/// __get_addr_1 for inet: `(family, bytes, is "default"/"any"/"all")`.
fn get_addr(name: &[u8], fam: i32) -> Option<(i32, [u8; 16], bool)> {
    if name == b"default" || name == b"all" || name == b"any" {
        return Some((fam, [0; 16], true));
    }
    let mut data = [0u8; 16];
    if name.contains(&b':') {
        if fam != libc::AF_UNSPEC && fam != libc::AF_INET6 {
            return None;
        }
        let a: std::net::Ipv6Addr = std::str::from_utf8(name).ok()?.parse().ok()?;
        return Some((libc::AF_INET6, a.octets(), false));
    }
    if fam != libc::AF_UNSPEC && fam != libc::AF_INET {
        return None;
    }
    data[..4].copy_from_slice(&cnum::get_addr_ipv4(name)?);
    Some((libc::AF_INET, data, false))
}

/// get_netmask: a prefix length (C number) or a dotted IPv4 mask.
fn netmask(s: &[u8]) -> Option<u32> {
    if let Some(n) = cnum::get_unsigned(s) {
        return Some(n);
    }
    let (family, data, _) = get_addr(s, libc::AF_INET)?;
    if family != libc::AF_INET {
        return None;
    }
    let mask = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let host = !mask;
    if host & host.wrapping_add(1) != 0 {
        return None;
    }
    Some(mask.count_ones())
}

/// Parses the filter expression of `words` (the words after the `state`/`exclude`
/// ones) and then of `file` (`-F`), as ss does, narrowing `scope` as ss does.
pub fn parse(
    words: &[&[u8]],
    file: Option<&mut dyn BufRead>,
    sel: &mut Scope,
    env: &Env,
) -> Result<Filter, SsError> {
    let mut p = Parser {
        lex: Lexer {
            words,
            next_word: 0,
            file,
            buf: Vec::new(),
            pos: 0,
            tok_type: Kw::None,
        },
        sel,
        env,
        nodes: Vec::new(),
        depth: 0,
    };
    let root = p.run()?;
    let mut f = Filter {
        nodes: p.nodes,
        root,
        program: Vec::new(),
        entry: ACCEPT,
        ephemeral: (1024, 4999),
    };
    f.compile();
    if f.uses_autobound() {
        // ss reads the range of the namespace it lists (it has switched to it by now).
        f.ephemeral = ephemeral_range(std::path::Path::new("/proc"));
    }
    Ok(f)
}

impl Filter {
    /// A filter that selects every socket.
    pub fn empty() -> Filter {
        Filter {
            nodes: Vec::new(),
            root: None,
            program: Vec::new(),
            entry: ACCEPT,
            ephemeral: (1024, 4999),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// Whether the expression uses `autobound` (which reads the port range).
    pub fn uses_autobound(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n, Node::Leaf(Leaf::Auto)))
    }

    /// The local port range `autobound` tests inet ports against. [`parse`] reads
    /// the calling thread's namespace's ip_local_port_range (1024-4999 when it
    /// cannot, as ss); a runner listing another namespace sets that one's.
    pub fn set_ephemeral_range(&mut self, min: i32, max: i32) {
        self.ephemeral = (min, max);
    }

    /// Turns the tree into a jump program (each leaf once, with where to go on
    /// true and on false), without recursion.
    fn compile(&mut self) {
        let Some(root) = self.root else {
            return;
        };
        enum Task {
            Compile(u32, u32, u32),
            AndFirst(u32, u32),
            OrFirst(u32, u32),
        }
        let mut tasks = vec![Task::Compile(root, ACCEPT, REJECT)];
        let mut results: Vec<u32> = Vec::new();
        let mut program = Vec::new();
        while let Some(t) = tasks.pop() {
            match t {
                Task::Compile(n, yes, no) => match self.nodes[n as usize] {
                    Node::Leaf(_) => {
                        program.push(Step { leaf: n, yes, no });
                        results.push((program.len() - 1) as u32);
                    }
                    Node::Not(a) => tasks.push(Task::Compile(a, no, yes)),
                    Node::And(a, b) => {
                        tasks.push(Task::AndFirst(a, no));
                        tasks.push(Task::Compile(b, yes, no));
                    }
                    Node::Or(a, b) => {
                        tasks.push(Task::OrFirst(a, yes));
                        tasks.push(Task::Compile(b, yes, no));
                    }
                },
                Task::AndFirst(a, no) => {
                    let second = results.pop().unwrap_or(REJECT);
                    tasks.push(Task::Compile(a, second, no));
                }
                Task::OrFirst(a, yes) => {
                    let second = results.pop().unwrap_or(REJECT);
                    tasks.push(Task::Compile(a, yes, second));
                }
            }
        }
        self.entry = results.pop().unwrap_or(ACCEPT);
        self.program = program;
    }

    /// run_ssfilter: whether ss's expression selects `s`.
    pub fn matches(&self, s: &Subject) -> bool {
        let mut pc = self.entry;
        // Every jump goes to a step compiled earlier (a lower index) or to an end, so
        // the walk ends; the bound is a guard against a logic error, not a limit.
        let mut budget = self.program.len() + 1;
        loop {
            match pc {
                ACCEPT => return true,
                REJECT => return false,
                _ => {}
            }
            let Some(step) = self.program.get(pc as usize) else {
                return false;
            };
            budget -= 1;
            if budget == 0 {
                return false;
            }
            let Node::Leaf(leaf) = &self.nodes[step.leaf as usize] else {
                return false;
            };
            pc = if self.leaf(leaf, s) {
                step.yes
            } else {
                step.no
            };
        }
    }

    fn leaf(&self, leaf: &Leaf, s: &Subject) -> bool {
        match leaf {
            Leaf::Auto => autobound(s, self.ephemeral),
            Leaf::SCond(h) => host_match(h, s, true),
            Leaf::DCond(h) => host_match(h, s, false),
            Leaf::SGe(p) => s.lport >= *p,
            Leaf::SLe(p) => s.lport <= *p,
            Leaf::DGe(p) => s.rport >= *p,
            Leaf::DLe(p) => s.rport <= *p,
            Leaf::Dev(i) => s.iface == *i,
            Leaf::Mark { mark, mask } => s.mark & mask == *mark,
            Leaf::Cgroup(id) => s.cgroup_id == *id,
        }
    }
}

fn autobound(s: &Subject, (min, max): (i32, i32)) -> bool {
    match s.family {
        libc::AF_UNIX => match s.unix_name {
            None => true,
            Some(raw) => {
                let mut buf = [0u8; 256];
                let name = unix_c_name(raw, &mut buf);
                name.len() == 6
                    && name[0] == b'@'
                    && name[1..].iter().all(|b| b"0123456789abcdef".contains(b))
            }
        },
        libc::AF_PACKET => s.lport == 0 && s.local[..4] == [0; 4],
        libc::AF_NETLINK => s.lport < 0,
        libc::AF_VSOCK => s.lport > 1023,
        _ => s.lport >= min && s.lport <= max,
    }
}

/// The name as ss holds it: an abstract name's NULs become '@', and the C string
/// ends at the first NUL. Written into `buf` (a unix name is at most 108 bytes).
fn unix_c_name<'b>(raw: &[u8], buf: &'b mut [u8; 256]) -> &'b [u8] {
    let n = raw.len().min(buf.len() - 1);
    buf[..n].copy_from_slice(&raw[..n]);
    if n > 0 && buf[0] == 0 {
        for b in buf[..n].iter_mut() {
            if *b == 0 {
                *b = b'@';
            }
        }
    }
    let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
    &buf[..end]
}

fn host_match(h: &HostCond, s: &Subject, local: bool) -> bool {
    if let HostAddr::Unix(pattern) = &h.addr {
        if s.family != libc::AF_UNIX {
            // ss would read the socket's address bytes as a name pointer; no row of
            // another family can sensibly match a unix name pattern.
            return false;
        }
        // ss compares the peer side with an empty name: it never fills it in.
        let raw = if local { s.unix_name } else { None };
        let mut buf = [0u8; 256];
        let name = match raw {
            Some(r) => unix_c_name(r, &mut buf),
            None => &[][..],
        };
        return sys::fnmatch_casefold(pattern, name, &mut [0u8; 257]);
    }
    let port = if local { s.lport } else { s.rport };
    if h.port != -1 && h.port != port {
        return false;
    }
    let HostAddr::Prefixes(prefixes) = &h.addr else {
        return false;
    };
    let Some(first) = prefixes.first() else {
        return true;
    };
    if first.bitlen == 0 {
        return true;
    }
    if s.family == libc::AF_UNIX && local && s.unix_name.is_some() {
        // ss compares against the bytes of a pointer to the name; never an address.
        return false;
    }
    let addr = if local { &s.local } else { &s.remote };
    prefixes.iter().any(|p| addr_match(addr, s.family, p))
}

/// inet2_addr_match: the first `bitlen` bits equal, or a v4-mapped IPv6 address
/// against an IPv4 prefix.
fn addr_match(a: &[u8; 16], family: i32, p: &Prefix) -> bool {
    if bits_equal(a, &p.data, p.bitlen) {
        return true;
    }
    if p.family == libc::AF_INET
        && family == libc::AF_INET6
        && a[..10] == [0; 10]
        && a[10..12] == [0xff, 0xff]
    {
        let mut tmp = *a;
        tmp.copy_within(12..16, 0);
        return bits_equal(&tmp, &p.data, p.bitlen);
    }
    false
}

fn bits_equal(a: &[u8; 16], b: &[u8; 16], bits: u32) -> bool {
    let bits = bits.min(128) as usize;
    let bytes = bits / 8;
    if a[..bytes] != b[..bytes] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[bytes] ^ b[bytes]) & mask == 0
}

/// inet_diag bytecode op codes.
mod bc {
    pub const JMP: u8 = 1;
    pub const S_GE: u8 = 2;
    pub const S_LE: u8 = 3;
    pub const D_GE: u8 = 4;
    pub const D_LE: u8 = 5;
    pub const AUTO: u8 = 6;
    pub const S_COND: u8 = 7;
    pub const D_COND: u8 = 8;
    pub const MARK_COND: u8 = 10;
    pub const CGROUP_COND: u8 = 13;
}

fn op(code: u8, yes: u8, no: u16) -> [u8; 4] {
    let n = no.to_ne_bytes();
    [code, yes, n[0], n[1]]
}

/// ssfilter_patch: a first operand's "reject" jumps move past `reloc` more bytes.
fn patch(a: &mut [u8], reloc: usize) {
    let mut off = 0;
    let mut len = a.len();
    while len > 0 && off + 4 <= a.len() {
        let yes = a[off + 1] as usize;
        let no = u16::from_ne_bytes([a[off + 2], a[off + 3]]) as usize;
        if no == len + 4 {
            let n = ((no + reloc) as u16).to_ne_bytes();
            a[off + 2] = n[0];
            a[off + 3] = n[1];
        }
        if yes == 0 || yes > len {
            break;
        }
        len -= yes;
        off += yes;
    }
}

impl Filter {
    /// The INET_DIAG_REQ_BYTECODE ss attaches to its inet dumps, byte for byte, or
    /// `None` where ss attaches none (no expression, or a `dev` anywhere in it).
    pub fn inet_bytecode(&self) -> Option<Vec<u8>> {
        let root = self.root?;
        // Post-order without recursion: each node's code once its operands have it.
        let mut code: Vec<Option<Vec<u8>>> = vec![None; self.nodes.len()];
        let mut stack = vec![(root, false)];
        while let Some((n, ready)) = stack.pop() {
            let node = &self.nodes[n as usize];
            if !ready {
                stack.push((n, true));
                match *node {
                    Node::And(a, b) | Node::Or(a, b) => {
                        stack.push((b, false));
                        stack.push((a, false));
                    }
                    Node::Not(a) => stack.push((a, false)),
                    Node::Leaf(_) => {}
                }
                continue;
            }
            let out = match node {
                Node::Leaf(l) => leaf_bytecode(l)?,
                Node::And(a, b) => {
                    let mut x = code[*a as usize].take()?;
                    let y = code[*b as usize].take()?;
                    patch(&mut x, y.len());
                    x.extend_from_slice(&y);
                    x
                }
                Node::Or(a, b) => {
                    let mut x = code[*a as usize].take()?;
                    let y = code[*b as usize].take()?;
                    x.extend_from_slice(&op(bc::JMP, 4, (y.len() + 4) as u16));
                    x.extend_from_slice(&y);
                    x
                }
                Node::Not(a) => {
                    let mut x = code[*a as usize].take()?;
                    x.extend_from_slice(&op(bc::JMP, 4, 8));
                    x
                }
            };
            if out.len() > 0xffff - 8 {
                // ss would wrap its 16-bit lengths; send nothing rather than garbage.
                return None;
            }
            code[n as usize] = Some(out);
        }
        code[root as usize].take()
    }
}

fn leaf_bytecode(l: &Leaf) -> Option<Vec<u8>> {
    let two = |c: u8, port: i32| {
        let mut v = op(c, 8, 12).to_vec();
        v.extend_from_slice(&op(0, 0, port as u16));
        v
    };
    Some(match l {
        Leaf::Auto => op(bc::AUTO, 4, 8).to_vec(),
        Leaf::SGe(p) => two(bc::S_GE, *p),
        Leaf::SLe(p) => two(bc::S_LE, *p),
        Leaf::DGe(p) => two(bc::D_GE, *p),
        Leaf::DLe(p) => two(bc::D_LE, *p),
        Leaf::Dev(_) => return None,
        Leaf::Mark { mark, mask } => {
            let mut v = op(bc::MARK_COND, 12, 16).to_vec();
            v.extend_from_slice(&mark.to_ne_bytes());
            v.extend_from_slice(&mask.to_ne_bytes());
            v
        }
        Leaf::Cgroup(id) => {
            let mut v = op(bc::CGROUP_COND, 12, 16).to_vec();
            v.extend_from_slice(&id.to_ne_bytes());
            v
        }
        Leaf::SCond(h) | Leaf::DCond(h) => {
            let code = if matches!(l, Leaf::SCond(_)) {
                bc::S_COND
            } else {
                bc::D_COND
            };
            // ss writes the first address into every entry, in the first's family
            // (a unix pattern's "address" is its pointer; zeros here: the kernel
            // refuses the family either way).
            let (family, bitlen, data, count) = match &h.addr {
                HostAddr::Unix(_) => (libc::AF_UNIX, 0u32, [0u8; 16], 1),
                HostAddr::Prefixes(p) => match p.first() {
                    Some(f) => (f.family, f.bitlen, f.data, p.len()),
                    None => (0, 0, [0; 16], 1),
                },
            };
            let alen = if family == libc::AF_INET6 { 16 } else { 4 };
            let oplen = alen + 4 + 8;
            let total = count * oplen + (count - 1) * 4;
            let mut v = Vec::with_capacity(total);
            for i in 0..count {
                v.extend_from_slice(&op(code, oplen as u8, (oplen + 4) as u16));
                v.push(family as u8);
                v.push(bitlen as u8);
                v.extend_from_slice(&[0, 0]);
                v.extend_from_slice(&h.port.to_ne_bytes());
                v.extend_from_slice(&data[..alen]);
                if i + 1 < count {
                    let here = v.len();
                    v.extend_from_slice(&op(bc::JMP, 4, (total - here) as u16));
                }
            }
            v
        }
    })
}

/// ss's ephemeral range for `autobound`: ip_local_port_range under `proc_root`.
pub fn ephemeral_range(proc_root: &std::path::Path) -> (i32, i32) {
    let data = crate::proc::ProcRoot::new(proc_root)
        .read("sys/net/ipv4/ip_local_port_range")
        .unwrap_or_default();
    let mut it = data
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| cnum::scanf_int(w, 10).map(|(v, _)| v as i32));
    match (it.next().flatten(), it.next().flatten()) {
        (Some(min), Some(max)) if min != 0 => (min, max),
        _ => (1024, 4999),
    }
}

#[cfg(test)]
mod tests;
