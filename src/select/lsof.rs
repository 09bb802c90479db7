//! lsof's selection: the `-i [46][proto][@host][:svc|port[-port][,...]]` grammar,
//! `-p`/`-u`/`-c` lists with `^` exclusions, `-s PROTO:STATE`, `-U`, file names, and
//! how they combine (ORed, or ANDed with `-a`). Pure: host and service names come in
//! through [`Lookups`], and what was found is recorded for the exit status.

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InetProto {
    Tcp,
    Udp,
    UdpLite,
}

impl InetProto {
    /// The NODE column text.
    pub fn name(self) -> &'static str {
        match self {
            InetProto::Tcp => "TCP",
            InetProto::Udp => "UDP",
            InetProto::UdpLite => "UDPLITE",
        }
    }

    fn parse(s: &str) -> Option<InetProto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(InetProto::Tcp),
            "udp" => Some(InetProto::Udp),
            "udplite" => Some(InetProto::UdpLite),
            _ => None,
        }
    }
}

/// Name services the grammar needs; the app passes the real ones, tests fake them.
pub trait Lookups {
    /// Port of a service name for "tcp" or "udp" (getservbyname).
    fn service_port(&self, name: &str, udp: bool) -> Option<u16>;
    /// Addresses of a host name in one family (gethostbyname2).
    fn host_addrs(&self, name: &str, family: Family) -> Vec<IpAddr>;
}

/// One address/port pattern of an `-i` argument (a host name or a port list
/// expands into several, as in lsof).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InetPattern {
    pub family: Option<Family>,
    pub proto: Option<InetProto>,
    pub addr: Option<IpAddr>,
    pub ports: Option<(u16, u16)>,
}

/// An `-i` argument with an address, port or protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InetArg {
    pub text: String,
    pub patterns: Vec<InetPattern>,
}

/// What an `-i` argument parses into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InetOption {
    /// `-i`, `-i4`, `-i6`: every Internet file (of one family).
    Files(Option<Family>),
    Spec(InetArg),
}

fn err(msg: &str, text: &str) -> String {
    format!("{msg} in: -i {text}")
}

/// Parses one `-i` argument. `inherited` is the family of an earlier `-i4`/`-i6`,
/// which lsof applies to later address arguments.
pub fn parse_inet(
    text: &str,
    inherited: Option<Family>,
    lookups: &dyn Lookups,
) -> Result<InetOption, String> {
    let mut rest = text;
    let mut family = inherited;
    let mut explicit_family = None;
    if let Some(r) = rest.strip_prefix('4') {
        explicit_family = Some(Family::V4);
        rest = r;
    } else if let Some(r) = rest.strip_prefix('6') {
        explicit_family = Some(Family::V6);
        rest = r;
    }
    if explicit_family.is_some() {
        if rest.is_empty() {
            return Ok(InetOption::Files(explicit_family));
        }
        family = explicit_family;
    }
    if text.is_empty() {
        return Ok(InetOption::Files(None));
    }
    // Protocol, up to '@' or ':'.
    let proto_end = rest.find(['@', ':']).unwrap_or(rest.len());
    let proto = if proto_end > 0 {
        let name = &rest[..proto_end];
        Some(
            InetProto::parse(name)
                .ok_or_else(|| format!("unknown protocol name ({name}) in: -i {text}"))?,
        )
    } else {
        None
    };
    rest = &rest[proto_end..];

    // Host part.
    let mut addrs: Vec<(Option<Family>, IpAddr)> = Vec::new();
    if let Some(r) = rest.strip_prefix('@') {
        if r.is_empty() || r.starts_with(':') {
            return Err(err("unacceptable Internet address", text));
        }
        if let Some(r6) = r.strip_prefix('[') {
            if family == Some(Family::V4) {
                return Err(format!("IPv6 addresses are prohibited: -i {text}"));
            }
            let close = r6
                .rfind(']')
                .ok_or_else(|| err("unacceptable Internet address", text))?;
            let ip: std::net::Ipv6Addr = r6[..close]
                .parse()
                .map_err(|_| err("unacceptable Internet address", text))?;
            if ip.is_unspecified() {
                return Err(err("unacceptable Internet address", text));
            }
            match ip.to_ipv4_mapped() {
                Some(v4) if family == Some(Family::V6) => {
                    let _ = v4;
                    return Err(format!("IPv4 addresses are prohibited: -i {text}"));
                }
                Some(v4) => addrs.push((Some(Family::V4), IpAddr::V4(v4))),
                None => addrs.push((Some(Family::V6), IpAddr::V6(ip))),
            }
            rest = &r6[close + 1..];
        } else {
            let end = r.find(':').unwrap_or(r.len());
            let host = &r[..end];
            // lsof's resolver takes no hex or other inet_aton forms (0x7f.1).
            if looks_like_hex_address(host) {
                return Err(format!("unknown host name ({host}) in: -i {text}"));
            }
            if let Some(v4) = parse_dotted(host) {
                if family == Some(Family::V6) {
                    return Err(format!("IPv4 addresses are prohibited: -i {text}"));
                }
                addrs.push((Some(Family::V4), IpAddr::V4(v4)));
            } else {
                // lsof asks for IPv6 addresses first, then IPv4 ones.
                for fam in [Family::V6, Family::V4] {
                    if family.is_some_and(|f| f != fam) {
                        continue;
                    }
                    for a in lookups.host_addrs(host, fam) {
                        addrs.push((Some(fam), a));
                    }
                }
                if addrs.is_empty() {
                    return Err(format!("unknown host name ({host}) in: -i {text}"));
                }
            }
            rest = &r[end..];
        }
    }

    // Port list.
    let mut ports: Vec<Option<(u16, u16)>> = Vec::new();
    if rest.is_empty() {
        ports.push(None);
    } else {
        let list = rest
            .strip_prefix(':')
            .filter(|l| !l.is_empty())
            .ok_or_else(|| err("unacceptable port specification", text))?;
        for item in list.split(',') {
            ports.push(Some(parse_port_item(item, proto, text, lookups)?));
        }
    }
    if proto.is_none() && addrs.is_empty() && ports.iter().all(Option::is_none) {
        return Err(format!(
            "incomplete Internet address specification: -i {text}"
        ));
    }
    let mut patterns = Vec::new();
    let hosts: Vec<(Option<Family>, Option<IpAddr>)> = if addrs.is_empty() {
        vec![(family, None)]
    } else {
        addrs.into_iter().map(|(f, a)| (f, Some(a))).collect()
    };
    for (fam, addr) in hosts {
        for &p in &ports {
            patterns.push(InetPattern {
                family: fam,
                proto,
                addr,
                ports: p,
            });
        }
    }
    Ok(InetOption::Spec(InetArg {
        text: text.to_string(),
        patterns,
    }))
}

/// `0x7f.1`, `0X7F000001`: a numeric host with a hex part, which getaddrinfo would
/// take (inet_aton) and lsof does not.
fn looks_like_hex_address(s: &str) -> bool {
    s.split('.').any(|part| {
        let lower = part.to_ascii_lowercase();
        lower
            .strip_prefix("0x")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
    }) && s.split('.').all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
    })
}

fn parse_dotted(s: &str) -> Option<std::net::Ipv4Addr> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    s.parse().ok()
}

/// `80`, `8000-8080`, `http`, `8000-http` (a range can't start with a name).
/// Ports above 65535 are refused (lsof wraps them silently; we are stricter).
fn parse_port_item(
    item: &str,
    proto: Option<InetProto>,
    text: &str,
    lookups: &dyn Lookups,
) -> Result<(u16, u16), String> {
    let bad = || err("unacceptable port specification", text);
    let number = |s: &str| -> Result<u16, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u16>().map_err(|_| bad())
    };
    let service = |name: &str| -> Result<u16, String> {
        match proto {
            Some(p) => lookups
                .service_port(name, p != InetProto::Tcp)
                .ok_or_else(|| {
                    format!(
                        "unknown service {name} for {} in: -i {text}",
                        p.name().to_ascii_lowercase()
                    )
                }),
            None => {
                let tcp = lookups.service_port(name, false);
                let udp = lookups.service_port(name, true);
                match (tcp, udp) {
                    (Some(t), Some(u)) if t != u => Err(format!(
                        "TCP={t} and UDP={u} {name} ports conflict;\n      specify \"tcp:{name}\" or \"udp:{name}\": -i {text}"
                    )),
                    (Some(t), _) => Ok(t),
                    (None, Some(u)) => Ok(u),
                    (None, None) => Err(format!("unknown service {name} in: -i {text}")),
                }
            }
        }
    };
    if item.is_empty() {
        return Err(bad());
    }
    let starts_numeric = item.as_bytes()[0].is_ascii_digit();
    if !starts_numeric {
        // A '-' belongs to the service name.
        let p = service(item)?;
        return Ok((p, p));
    }
    let (lo, hi) = match item.split_once('-') {
        None => {
            let p = number(item)?;
            (p, p)
        }
        Some((lo, hi)) => {
            let lo = number(lo)?;
            let hi = if hi.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                number(hi)?
            } else if hi.is_empty() {
                return Err(bad());
            } else {
                service(hi)?
            };
            (lo, hi)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// The facts of an Internet socket that selection looks at. Addresses are as lsof
/// prints them: a v4-mapped pair counts as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InetFacts {
    pub proto: InetProto,
    /// Came from the tcp6/udp6 tables (what `-i6` matches).
    pub v6_table: bool,
    pub local: Option<(IpAddr, u16)>,
    pub remote: Option<(IpAddr, u16)>,
    pub state: u8,
}

impl InetPattern {
    fn matches(&self, proto: InetProto, endpoint: (IpAddr, u16)) -> bool {
        if self.proto.is_some_and(|p| p != proto) {
            return false;
        }
        let fam = if endpoint.0.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        if self.family.is_some_and(|f| f != fam) {
            return false;
        }
        if let Some(a) = self.addr {
            if a != endpoint.0 {
                return false;
            }
        }
        match self.ports {
            None => true,
            Some((lo, hi)) => (lo..=hi).contains(&endpoint.1),
        }
    }
}

pub const TCP_STATE_NAMES: [&str; 12] = [
    "CLOSED",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// `-s TCP:LISTEN,^ESTABLISHED`: kernel state numbers to keep or drop. lsof applies
/// the TCP state numbers to UDP sockets too (a connected UDP socket is state 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateFilter {
    pub include: Vec<u8>,
    pub exclude: Vec<u8>,
}

impl StateFilter {
    /// Adds `PROTO:STATES` to `into` as lsof's enter_state_spec() does: every bad
    /// state name (empty, unknown, given twice, also by an earlier `-s`) is said
    /// before the usage; the messages come back separated by NUL.
    pub fn parse(spec: &str, into: &mut StateFilter) -> Result<(), String> {
        let proto = spec.get(..4).unwrap_or_default();
        let pr = if proto.eq_ignore_ascii_case("tcp:") {
            "TCP"
        } else if proto.eq_ignore_ascii_case("udp:") {
            "UDP"
        } else {
            return Err(format!("unknown -s protocol: \"{spec}\""));
        };
        let states = &spec[4..];
        if states.is_empty() {
            return Err(format!("no {pr} state names in: {spec}"));
        }
        if pr == "UDP" {
            return Err(format!("no UDP state names available: {spec}"));
        }
        let mut errors = Vec::new();
        let mut rest = states;
        // lsof reads names up to the end: a trailing comma ends the list.
        while !rest.is_empty() {
            let (excl, after) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let (name, next) = after.split_once(',').unwrap_or((after, ""));
            rest = next;
            if name.is_empty() {
                errors.push(format!("NULL TCP state name in: {spec}"));
                continue;
            }
            let Some(n) = TCP_STATE_NAMES
                .iter()
                .position(|s| s.eq_ignore_ascii_case(name))
            else {
                errors.push(format!("unknown TCP state name: {name}"));
                continue;
            };
            let list = if excl {
                &mut into.exclude
            } else {
                &mut into.include
            };
            if list.contains(&(n as u8)) {
                let which = if excl { "ex" } else { "in" };
                errors.push(format!("duplicate TCP {which}clusion: {name}"));
            } else {
                list.push(n as u8);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\0"))
        }
    }

    /// Whether a socket in `state` stays listed.
    pub fn keeps(&self, state: u8) -> bool {
        if self.exclude.contains(&state) {
            return false;
        }
        self.include.is_empty() || self.include.contains(&state)
    }
}

/// An item of `-p`/`-u`: a value to include or (`^`) exclude.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<T> {
    pub value: T,
    pub exclude: bool,
}

/// `1,2,^3`.
pub fn parse_list<T>(
    text: &str,
    mut one: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<Item<T>>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let (exclude, v) = match part.strip_prefix('^') {
            Some(v) => (true, v),
            None => (false, part),
        };
        out.push(Item {
            value: one(v)?,
            exclude,
        });
    }
    Ok(out)
}

pub fn parse_pid(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("illegal process ID: {s}"));
    }
    s.parse::<u32>()
        .map_err(|_| format!("illegal process ID: {s}"))
}

/// `-c name` (a prefix of the command) or `-c /regex/[bix]`.
#[derive(Debug)]
pub enum CmdPattern {
    Prefix(Vec<u8>),
    Regex(PosixRegex),
}

pub const COMMAND_LIMIT: usize = 15;

/// One `-c` argument as lsof takes it: `/RE/[bix]` (anything starting with `/`)
/// is a regular expression, else a command prefix, excluded by a leading `^`.
/// Gives the item and the text `-V` names it by (the prefix without `^`, the
/// expression without its slashes). Every problem is said (messages separated by
/// NUL), as lsof's enter_cmd_rx() does.
pub fn parse_cmd(arg: &str) -> Result<(Item<CmdPattern>, String), String> {
    let Some(body) = arg.strip_prefix('/') else {
        if arg.starts_with('-') || arg.starts_with('+') {
            return Err("missing -c option value".into());
        }
        let (exclude, text) = match arg.strip_prefix('^') {
            Some(t) => (true, t),
            None => (false, arg),
        };
        if text.len() > COMMAND_LIMIT {
            return Err(format!(
                "\"-c {text}\" length ({}) > what system provides ({COMMAND_LIMIT})",
                text.len()
            ));
        }
        let item = Item {
            value: CmdPattern::Prefix(text.as_bytes().to_vec()),
            exclude,
        };
        return Ok((item, text.to_string()));
    };
    // The expression ends at the next `/`; what follows are modifiers.
    let Some((expr, modifiers)) = body.split_once('/') else {
        return Err(format!("regexp doesn't end with '/': {arg}"));
    };
    let (mut b, mut i, mut x, mut bx) = (0, 0, 0, 0);
    let mut extended = true;
    let mut errors = Vec::new();
    for m in modifiers.chars() {
        match m {
            'b' => {
                b += 1;
                if b > 1 {
                    if b == 2 {
                        errors.push(format!("b regexp modifier already used: {arg}"));
                    }
                } else if x > 0 {
                    bx += 1;
                    if bx == 1 {
                        errors.push(format!("b and x regexp modifiers conflict: {arg}"));
                    }
                } else {
                    extended = false;
                }
            }
            'i' => {
                i += 1;
                if i == 2 {
                    errors.push(format!("i regexp modifier already used: {arg}"));
                }
            }
            'x' => {
                x += 1;
                if x > 1 {
                    if x == 2 {
                        errors.push(format!("x regexp modifier already used: {arg}"));
                    }
                } else if b > 0 {
                    bx += 1;
                    if bx == 1 {
                        errors.push(format!("b and x regexp modifiers conflict: {arg}"));
                    }
                }
            }
            other => errors.push(format!("invalid regexp modifier: {other}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\0"));
    }
    let re =
        PosixRegex::new(expr, extended, i > 0).map_err(|e| format!("regexp error: {arg}: {e}"))?;
    let item = Item {
        value: CmdPattern::Regex(re),
        exclude: false,
    };
    Ok((item, expr.to_string()))
}

impl CmdPattern {
    pub fn matches(&self, comm: &[u8]) -> bool {
        match self {
            CmdPattern::Prefix(p) => comm.starts_with(p),
            CmdPattern::Regex(re) => re.is_match(comm),
        }
    }
}

/// A POSIX regex (regcomp/regexec), as lsof matches `-c /RE/`.
pub struct PosixRegex {
    re: Box<libc::regex_t>,
}

impl std::fmt::Debug for PosixRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PosixRegex")
    }
}

impl PosixRegex {
    pub fn new(pattern: &str, extended: bool, icase: bool) -> Result<PosixRegex, String> {
        let c = std::ffi::CString::new(pattern).map_err(|_| "NUL in pattern".to_string())?;
        // SAFETY: regex_t is plain data that regcomp initialises.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        let mut flags = libc::REG_NOSUB;
        if extended {
            flags |= libc::REG_EXTENDED;
        }
        if icase {
            flags |= libc::REG_ICASE;
        }
        // SAFETY: re points to writable storage, c is NUL-terminated.
        let rc = unsafe { libc::regcomp(&mut *re, c.as_ptr(), flags) };
        if rc != 0 {
            // regerror's reason, as lsof prints it ("Unmatched ( or \\(").
            let mut msg = [0u8; 256];
            // SAFETY: re was passed to regcomp; msg is writable for its length.
            let n = unsafe { libc::regerror(rc, &*re, msg.as_mut_ptr().cast(), msg.len()) };
            let text = msg.get(..n.saturating_sub(1)).unwrap_or_default();
            let reason =
                String::from_utf8_lossy(text.split(|&b| b == 0).next().unwrap_or_default());
            return Err(if reason.is_empty() {
                format!("regcomp error {rc}")
            } else {
                reason.into_owned()
            });
        }
        Ok(PosixRegex { re })
    }

    pub fn is_match(&self, text: &[u8]) -> bool {
        let Ok(c) = std::ffi::CString::new(text) else {
            return false;
        };
        // SAFETY: re was compiled by regcomp; c is NUL-terminated.
        unsafe { libc::regexec(&*self.re, c.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

// SAFETY: the compiled pattern is only read after regcomp (regexec takes it by const
// pointer and is MT-Safe in glibc, regex(3) ATTRIBUTES), and regfree needs `&mut`; so
// sharing `&PosixRegex` between the scanning threads, or moving it, is sound.
unsafe impl Sync for PosixRegex {}
unsafe impl Send for PosixRegex {}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: re was compiled by regcomp and is freed once.
        unsafe { libc::regfree(&mut *self.re) };
    }
}

/// A file named on the command line: its identity from stat(2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameArg {
    pub text: String,
    pub dev: u64,
    pub ino: u64,
    /// For character and block devices lsof matches the device number too.
    pub rdev: Option<u64>,
    /// A mount point: every file on that file system matches (by device).
    pub whole_fs: bool,
}

/// Selection categories (lsof's SEL* flags).
pub mod flag {
    pub const PID: u16 = 1;
    pub const UID: u16 = 2;
    pub const CMD: u16 = 4;
    pub const NET: u16 = 8;
    pub const NETADDR: u16 = 16;
    pub const UNIX: u16 = 32;
    pub const NAME: u16 = 64;
    pub const FD: u16 = 128;
    pub const PGID: u16 = 256;
    /// `+L N`: files with fewer than N links.
    pub const NLINK: u16 = 512;
    /// `-N`: files on NFS.
    pub const NFS: u16 = 1024;
    /// `-K`: threads (tasks). Earned by a task entry, and under -a by the main entry
    /// of a process that has tasks (lsof lists it with them).
    pub const TASK: u16 = 2048;
    pub const PROCESS: u16 = PID | UID | CMD | PGID | TASK;
}

/// Everything the command line selects.
#[derive(Debug, Default)]
pub struct Selection {
    pub and: bool,
    /// `-i`/`-i4`/`-i6` given: Some(family filter).
    pub inet_files: Option<Option<Family>>,
    pub inet: Vec<InetArg>,
    pub unix: bool,
    pub pids: Vec<Item<u32>>,
    pub uids: Vec<Item<u32>>,
    pub cmds: Vec<Item<CmdPattern>>,
    pub states: Option<StateFilter>,
    pub names: Vec<NameArg>,
    /// `-d`: descriptors to include or (`^`) exclude.
    pub fds: Vec<Item<FdSpec>>,
    /// `-g LIST`: process groups to include or exclude.
    pub pgids: Vec<Item<u32>>,
    /// (device, inode) of each name that is not a whole file system, to its index:
    /// `+D` can give hundreds of thousands of names.
    pub name_index: std::collections::HashMap<(u64, u64), usize>,
    /// The `-c` arguments as given (for `-V`), one per `cmds` item.
    pub cmd_texts: Vec<String>,
    /// `+L N`: files whose link count is below N.
    pub nlink_below: Option<u64>,
    /// `-N`: files on NFS.
    pub nfs: bool,
    /// `-K`: list threads (tasks) and select their files.
    pub tasks: bool,
}

/// What a file offers to the selection besides its kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileMore {
    /// Its link count, when known.
    pub nlink: Option<u64>,
    /// Whether it is on an NFS file system.
    pub nfs: bool,
}

/// An item of `-d`: a descriptor number, a range, or a name like `cwd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdSpec {
    Range(u32, u32),
    Name(String),
}

/// A file's descriptor as `-d` sees it.
#[derive(Clone, Copy, Debug)]
pub enum FdRef<'a> {
    Num(u32),
    Name(&'a str),
}

impl FdSpec {
    pub fn parse(s: &str) -> Result<FdSpec, String> {
        if s.is_empty() {
            return Err("-d not followed by fd list".into());
        }
        // As lsof: an item with a dash is a range, LOW-HIGH, digits only, low < high
        // (so `-1` and `3-3` are refused).
        if let Some(dash) = s.rfind('-') {
            let (lo, hi) = (&s[..dash], &s[dash + 1..]);
            if lo.is_empty() || hi.is_empty() {
                return Err(format!("illegal FD range for -d: {s}"));
            }
            let num = |t: &str| {
                if !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("non-digit in -d FD range: {s}"));
                }
                t.parse::<u32>()
                    .map_err(|_| format!("illegal FD number or range: {s}"))
            };
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo >= hi {
                return Err(format!("-d FD range's low >= its high: {s}"));
            }
            return Ok(FdSpec::Range(lo, hi));
        }
        if s.as_bytes()[0].is_ascii_digit() {
            let num = |t: &str| {
                t.parse::<u32>()
                    .map_err(|_| format!("illegal FD number or range: {s}"))
            };
            let n = num(s)?;
            return Ok(FdSpec::Range(n, n));
        }
        Ok(FdSpec::Name(s.to_string()))
    }

    fn matches(&self, fd: FdRef<'_>) -> bool {
        match (self, fd) {
            (FdSpec::Range(lo, hi), FdRef::Num(n)) => (*lo..=*hi).contains(&n),
            // `fd`: every numbered descriptor (lsof 4.95's keyword).
            (FdSpec::Name(a), FdRef::Num(_)) => a == "fd",
            // strcmp(): `-d CWD` is no `cwd`.
            (FdSpec::Name(a), FdRef::Name(b)) => a == b,
            _ => false,
        }
    }
}

/// Which search items were met (lsof exits 1 if one was not).
#[derive(Debug, Default, Clone)]
pub struct Found {
    pub pids: Vec<bool>,
    pub pgids: Vec<bool>,
    pub cmds: Vec<bool>,
    pub inet: Vec<bool>,
    pub states: Vec<u8>,
    pub names: Vec<bool>,
    pub inet_files: bool,
    /// `-N`: an NFS file was listed.
    pub nfs_files: bool,
    /// `-K`: a task was looked at.
    pub tasks: bool,
}

/// What a file offers to the selection.
#[derive(Clone, Copy, Debug)]
pub enum FileFacts<'a> {
    Inet(&'a InetFacts),
    Unix { path: Option<&'a [u8]> },
    Other,
}

impl Found {
    /// Adds what another part of the same pass found.
    pub fn merge(&mut self, other: Found) {
        let or = |mine: &mut Vec<bool>, theirs: Vec<bool>| {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m |= t;
            }
        };
        or(&mut self.pids, other.pids);
        or(&mut self.pgids, other.pgids);
        or(&mut self.cmds, other.cmds);
        or(&mut self.inet, other.inet);
        or(&mut self.names, other.names);
        for state in other.states {
            if !self.states.contains(&state) {
                self.states.push(state);
            }
        }
        self.inet_files |= other.inet_files;
        self.nfs_files |= other.nfs_files;
        self.tasks |= other.tasks;
    }
}

impl Selection {
    /// The categories given (lsof's Selflags); 0 means "everything".
    pub fn flags(&self) -> u16 {
        let mut f = 0;
        if self.pids.iter().any(|p| !p.exclude) {
            f |= flag::PID;
        }
        if self.uids.iter().any(|u| !u.exclude) {
            f |= flag::UID;
        }
        if self.cmds.iter().any(|c| !c.exclude) {
            f |= flag::CMD;
        }
        if self.inet_files.is_some() {
            f |= flag::NET;
        }
        if !self.inet.is_empty() {
            f |= flag::NETADDR;
        }
        if self.unix {
            f |= flag::UNIX;
        }
        if !self.names.is_empty() {
            f |= flag::NAME;
        }
        if !self.fds.is_empty() {
            f |= flag::FD;
        }
        if self.pgids.iter().any(|g| !g.exclude) {
            f |= flag::PGID;
        }
        if self.nlink_below.is_some() {
            f |= flag::NLINK;
        }
        if self.nfs {
            f |= flag::NFS;
        }
        if self.tasks {
            f |= flag::TASK;
        }
        f
    }

    pub fn new_found(&self) -> Found {
        Found {
            pids: vec![false; self.pids.len()],
            pgids: vec![false; self.pgids.len()],
            cmds: vec![false; self.cmds.len()],
            inet: vec![false; self.inet.len()],
            states: Vec::new(),
            names: vec![false; self.names.len()],
            inet_files: false,
            nfs_files: false,
            tasks: false,
        }
    }

    /// Whether no file but a TCP or UDP one can ever be listed (`-i` without -U, -d,
    /// names, or a process selection OR-ed to it): then no process wants all its
    /// files and unix sockets add no flag.
    pub fn lists_only_inet_files(&self) -> bool {
        let sel = self.flags();
        let no_process_wants_all = if self.and {
            sel & !flag::PROCESS != 0
        } else {
            sel & flag::PROCESS == 0
        };
        sel != 0
            && sel & (flag::NET | flag::NETADDR) != 0
            && !self.unix
            && self.names.is_empty()
            && self.fds.is_empty()
            && !self.tasks
            && no_process_wants_all
    }

    /// Whether a process counts for the exit status and `-V` without a file listed:
    /// a -p, -g or -c item is found when a process matches it (lsof's process-level
    /// test), so every process must be looked at, sockets or not.
    pub fn finds_processes(&self) -> bool {
        !self.pids.is_empty() || !self.pgids.is_empty() || !self.cmds.is_empty()
    }

    /// The process-level verdict: `None` if excluded, else the flags it earned. As
    /// lsof's is_proc_excl() then is_cmd_excl(): -u/-g/-p exclusions; -g, -p and -u
    /// items met (found even if the process is then left out); a process the
    /// process-level lists leave out meets no `-c` item; a `-c ^name` exclusion;
    /// then the first `-c` item met, names (last given first) before expressions.
    pub fn process(
        &self,
        pid: u32,
        pgid: u32,
        uid: u32,
        comm: &[u8],
        as_task: bool,
        found: &mut Found,
    ) -> Option<u16> {
        if self.uids.iter().any(|u| u.exclude && u.value == uid)
            || self.pgids.iter().any(|g| g.exclude && g.value == pgid)
            || self.pids.iter().any(|p| p.exclude && p.value == pid)
        {
            return None;
        }
        let sel = self.flags();
        let mut got = 0;
        if sel != 0 {
            for (i, g) in self.pgids.iter().enumerate() {
                if !g.exclude && g.value == pgid {
                    if let Some(f) = found.pgids.get_mut(i) {
                        *f = true;
                    }
                    got |= flag::PGID;
                }
            }
            for (i, p) in self.pids.iter().enumerate() {
                if !p.exclude && p.value == pid {
                    if let Some(f) = found.pids.get_mut(i) {
                        *f = true;
                    }
                    got |= flag::PID;
                }
            }
            if self.uids.iter().any(|u| !u.exclude && u.value == uid) {
                got |= flag::UID;
            }
            if self.tasks && as_task {
                got |= flag::TASK;
                found.tasks = true;
            }
            // (lsof keeps one of equal items: each one given counts as met.)
            // is_proc_excl(): a selection by process group, pid or uid alone that
            // this process does not meet, or under -a not all of those given.
            let listed = sel & (flag::PGID | flag::PID | flag::UID | flag::TASK);
            let only = |f: u16| sel == f && got & f == 0;
            if only(flag::PGID) || only(flag::PID) || only(flag::UID) {
                return None;
            }
            if self.and && listed != 0 && got & listed != listed {
                return None;
            }
        }
        if self
            .cmds
            .iter()
            .any(|c| c.exclude && matches!(&c.value, CmdPattern::Prefix(p) if comm.starts_with(p)))
        {
            return None;
        }
        if sel == 0 {
            return Some(0);
        }
        if sel & flag::CMD != 0 {
            let names = (0..self.cmds.len())
                .rev()
                .filter(|&i| matches!(self.cmds[i].value, CmdPattern::Prefix(_)));
            let exprs = (0..self.cmds.len())
                .filter(|&i| matches!(self.cmds[i].value, CmdPattern::Regex(_)));
            let hit = names
                .chain(exprs)
                .find(|&i| !self.cmds[i].exclude && self.cmds[i].value.matches(comm));
            if let Some(i) = hit {
                if let Some(f) = found.cmds.get_mut(i) {
                    *f = true;
                }
                got |= flag::CMD;
            }
        }
        if self.and && (sel & flag::PROCESS) & !got != 0 {
            return None;
        }
        if !self.and && sel & !flag::PROCESS == 0 && got == 0 {
            return None;
        }
        Some(got)
    }

    /// Whether this process needs its non-socket files looked at at all.
    pub fn wants_all_files(&self, process_flags: u16) -> bool {
        let sel = self.flags();
        if sel == 0
            || !self.names.is_empty()
            || !self.fds.is_empty()
            || self.nlink_below.is_some()
            || self.nfs
        {
            return true;
        }
        if self.and {
            sel & !flag::PROCESS == 0
        } else {
            process_flags != 0
        }
    }

    /// The file-level verdict for a file of a process that earned `process_flags`.
    pub fn file(
        &self,
        process_flags: u16,
        facts: FileFacts<'_>,
        more: FileMore,
        fd: FdRef<'_>,
        name_hit: Option<usize>,
        found: &mut Found,
    ) -> bool {
        let mut got = process_flags;
        if let (Some(below), Some(n)) = (self.nlink_below, more.nlink) {
            if n < below {
                got |= flag::NLINK;
            }
        }
        if self.nfs && more.nfs {
            got |= flag::NFS;
            found.nfs_files = true;
        }
        if !self.fds.is_empty() {
            if self.fds.iter().any(|i| i.exclude && i.value.matches(fd)) {
                return false;
            }
            let includes = self.fds.iter().any(|i| !i.exclude);
            if !includes || self.fds.iter().any(|i| !i.exclude && i.value.matches(fd)) {
                got |= flag::FD;
            }
        }
        match facts {
            FileFacts::Inet(f) => {
                if let Some(states) = &self.states {
                    if !states.keeps(f.state) {
                        return false;
                    }
                    if states.include.contains(&f.state) && !found.states.contains(&f.state) {
                        found.states.push(f.state);
                    }
                }
                if let Some(fam) = self.inet_files {
                    let ok = match fam {
                        None => true,
                        Some(Family::V4) => !f.v6_table,
                        Some(Family::V6) => f.v6_table,
                    };
                    if ok {
                        got |= flag::NET;
                        found.inet_files = true;
                    }
                }
                for (i, arg) in self.inet.iter().enumerate() {
                    let hit = arg.patterns.iter().any(|p| {
                        f.remote.is_some_and(|e| p.matches(f.proto, e))
                            || f.local.is_some_and(|e| p.matches(f.proto, e))
                    });
                    if hit {
                        got |= flag::NETADDR;
                        if let Some(x) = found.inet.get_mut(i) {
                            *x = true;
                        }
                    }
                }
            }
            FileFacts::Unix { .. } => {
                if self.unix {
                    got |= flag::UNIX;
                }
            }
            FileFacts::Other => {}
        }
        if let Some(i) = name_hit {
            got |= flag::NAME;
            if let Some(x) = found.names.get_mut(i) {
                *x = true;
            }
        }
        let sel = self.flags();
        if sel == 0 {
            return true;
        }
        if self.and {
            got & sel == sel
        } else {
            got != 0
        }
    }

    /// Builds `name_index` once `names` is complete.
    pub fn index_names(&mut self) {
        self.name_index.clear();
        // Two names of one file: lsof matches the one given last.
        for (i, n) in self.names.iter().enumerate() {
            if !n.whole_fs {
                self.name_index.insert((n.dev, n.ino), i);
            }
        }
    }

    /// The name argument a file (by device and inode) matches: itself, or the
    /// mount point of its file system.
    pub fn name_hit(&self, dev: u64, ino: u64) -> Option<usize> {
        if let Some(&i) = self.name_index.get(&(dev, ino)) {
            return Some(i);
        }
        self.names.iter().position(|n| n.whole_fs && n.dev == dev)
    }

    /// `-V`: lsof's message for each inclusion item never met, in lsof's order
    /// (names last given first, as lsof keeps them).
    pub fn not_found_messages(&self, found: &Found) -> Vec<String> {
        let mut out = Vec::new();
        // lsof: the command names, last given first, then the expressions.
        let cmd_text = |i: usize| self.cmd_texts.get(i).map_or("", String::as_str);
        let unmet = |i: &usize| !found.cmds.get(*i).copied().unwrap_or(true);
        for i in (0..self.cmds.len()).rev().filter(unmet) {
            if matches!(self.cmds[i].value, CmdPattern::Prefix(_)) {
                out.push(format!("command not located: {}", cmd_text(i)));
            }
        }
        for i in (0..self.cmds.len()).filter(unmet) {
            if matches!(self.cmds[i].value, CmdPattern::Regex(_)) {
                out.push(format!("no command found for regex: {}", cmd_text(i)));
            }
        }
        for (n, f) in self.names.iter().zip(&found.names).rev() {
            if !f {
                let what = if n.whole_fs { "file system" } else { "file" };
                out.push(format!("no {what} use located: {}", n.text));
            }
        }
        for (arg, f) in self.inet.iter().zip(&found.inet) {
            if !f {
                out.push(format!("Internet address not located: {}", arg.text));
            }
        }
        if self.inet_files.is_some() && !found.inet_files {
            out.push("no Internet files located".to_string());
        }
        if let Some(states) = &self.states {
            for st in states.include.iter().filter(|s| !found.states.contains(s)) {
                let name = TCP_STATE_NAMES.get(*st as usize).copied().unwrap_or("?");
                out.push(format!("TCP state not located: {name}"));
            }
        }
        if self.nfs && !found.nfs_files {
            out.push("no NFS files located".to_string());
        }
        for (p, f) in self.pids.iter().zip(&found.pids) {
            if !p.exclude && !f {
                out.push(format!("process ID not located: {}", p.value));
            }
        }
        if self.tasks && !found.tasks {
            out.push("no tasks located".to_string());
        }
        for (g, f) in self.pgids.iter().zip(&found.pgids) {
            if !g.exclude && !f {
                out.push(format!("process group ID not located: {}", g.value));
            }
        }
        out
    }

    /// lsof's exit status rule: 1 if any inclusion item was never met.
    pub fn all_found(&self, found: &Found) -> bool {
        let pids_ok = self
            .pids
            .iter()
            .zip(&found.pids)
            .all(|(p, f)| p.exclude || *f)
            && self
                .pgids
                .iter()
                .zip(&found.pgids)
                .all(|(g, f)| g.exclude || *f);
        // lsof 4.95 never marks a `-c ^name` exclusion as found, so it always exits 1
        // when one is given; we do the same.
        let cmds_ok = found.cmds.iter().all(|f| *f);
        // Arguments spelled the same count as found together.
        let inet_ok = self.inet.iter().enumerate().all(|(i, arg)| {
            self.inet
                .iter()
                .zip(&found.inet)
                .any(|(other, f)| *f && other.text == arg.text)
                || found.inet.get(i).copied().unwrap_or(false)
        });
        let states_ok = self.states.as_ref().map_or(true, |s| {
            s.include.iter().all(|st| found.states.contains(st))
        });
        let names_ok = found.names.iter().all(|f| *f);
        let net_ok = self.inet_files.is_none() || found.inet_files;
        let nfs_ok = !self.nfs || found.nfs_files;
        let tasks_ok = !self.tasks || found.tasks;
        pids_ok && cmds_ok && inet_ok && states_ok && names_ok && net_ok && nfs_ok && tasks_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Lookups for Fake {
        fn service_port(&self, name: &str, udp: bool) -> Option<u16> {
            match (name, udp) {
                ("ssh", _) => Some(22),
                ("http", false) => Some(80),
                ("x-y", _) => None,
                ("odd", false) => Some(1),
                ("odd", true) => Some(2),
                _ => None,
            }
        }
        fn host_addrs(&self, name: &str, family: Family) -> Vec<IpAddr> {
            match (name, family) {
                ("localhost", Family::V6) => vec!["::1".parse().unwrap()],
                ("localhost", Family::V4) => vec!["127.0.0.1".parse().unwrap()],
                _ => vec![],
            }
        }
    }

    fn spec(text: &str) -> InetArg {
        match parse_inet(text, None, &Fake).unwrap() {
            InetOption::Spec(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn perr(text: &str) -> String {
        parse_inet(text, None, &Fake).unwrap_err()
    }

    #[test]
    fn families() {
        assert_eq!(parse_inet("", None, &Fake), Ok(InetOption::Files(None)));
        assert_eq!(
            parse_inet("4", None, &Fake),
            Ok(InetOption::Files(Some(Family::V4)))
        );
        assert_eq!(
            parse_inet("6", None, &Fake),
            Ok(InetOption::Files(Some(Family::V6)))
        );
    }

    #[test]
    fn grammar() {
        let s = spec("TCP");
        assert_eq!(s.patterns[0].proto, Some(InetProto::Tcp));
        assert_eq!(s.patterns[0].ports, None);
        let s = spec("4udp@127.0.0.1:53");
        assert_eq!(
            s.patterns,
            vec![InetPattern {
                family: Some(Family::V4),
                proto: Some(InetProto::Udp),
                addr: Some("127.0.0.1".parse().unwrap()),
                ports: Some((53, 53)),
            }]
        );
        let s = spec(":ssh,8000-8080,1-http");
        let ports: Vec<_> = s.patterns.iter().map(|p| p.ports).collect();
        assert_eq!(
            ports,
            vec![Some((22, 22)), Some((8000, 8080)), Some((1, 80))]
        );
        let s = spec("@localhost:22");
        assert_eq!(s.patterns.len(), 2);
        assert_eq!(s.patterns[0].addr, Some("::1".parse().unwrap()));
        let s = spec("TCP@[::1]:1");
        assert_eq!(s.patterns[0].family, Some(Family::V6));
        let s = spec("@[::ffff:127.0.0.1]");
        assert_eq!(s.patterns[0].addr, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(s.patterns[0].family, Some(Family::V4));
        let s = spec("6@localhost");
        assert_eq!(s.patterns.len(), 1);
        assert_eq!(
            parse_inet(":80", Some(Family::V4), &Fake),
            Ok(InetOption::Spec(InetArg {
                text: ":80".into(),
                patterns: vec![InetPattern {
                    family: Some(Family::V4),
                    proto: None,
                    addr: None,
                    ports: Some((80, 80)),
                }],
            }))
        );
    }

    #[test]
    fn grammar_errors() {
        assert_eq!(
            perr("bogus:x"),
            "unknown protocol name (bogus) in: -i bogus:x"
        );
        assert_eq!(perr("@h"), "unknown host name (h) in: -i @h");
        assert_eq!(perr("4@[::1]"), "IPv6 addresses are prohibited: -i 4@[::1]");
        assert_eq!(
            perr("6@1.2.3.4"),
            "IPv4 addresses are prohibited: -i 6@1.2.3.4"
        );
        assert_eq!(perr(":x-y"), "unknown service x-y in: -i :x-y");
        assert_eq!(
            perr("tcp:nope"),
            "unknown service nope for tcp in: -i tcp:nope"
        );
        assert_eq!(
            perr(":47001-47000"),
            "unacceptable port specification in: -i :47001-47000"
        );
        assert_eq!(
            perr("TCP@[::1"),
            "unacceptable Internet address in: -i TCP@[::1"
        );
        assert_eq!(perr("@"), "unacceptable Internet address in: -i @");
        assert_eq!(perr("@[::]"), "unacceptable Internet address in: -i @[::]");
        // Stricter than lsof, which wraps these silently.
        assert_eq!(
            perr(":99999"),
            "unacceptable port specification in: -i :99999"
        );
        assert_eq!(perr(":"), "unacceptable port specification in: -i :");
        assert_eq!(perr(":1,"), "unacceptable port specification in: -i :1,");
        assert_eq!(perr(":1x"), "unacceptable port specification in: -i :1x");
        assert!(perr(":odd").contains("ports conflict"));
    }

    fn facts(local: &str, remote: Option<&str>, proto: InetProto, v6: bool) -> InetFacts {
        let ep = |s: &str| {
            let sa: std::net::SocketAddr = s.parse().unwrap();
            (sa.ip(), sa.port())
        };
        InetFacts {
            proto,
            v6_table: v6,
            local: Some(ep(local)),
            remote: remote.map(ep),
            state: if remote.is_some() { 1 } else { 10 },
        }
    }

    #[test]
    fn or_and_and() {
        let listen = facts("0.0.0.0:80", None, InetProto::Tcp, false);
        let conn = facts(
            "127.0.0.1:5000",
            Some("127.0.0.1:80"),
            InetProto::Tcp,
            false,
        );
        let mut sel = Selection {
            inet: vec![spec("@127.0.0.1")],
            ..Selection::default()
        };
        let mut found = sel.new_found();
        let pf = sel.process(10, 0, 0, b"x", false, &mut found).unwrap();
        // The wildcard listener does not match a specific address.
        assert!(!sel.file(
            pf,
            FileFacts::Inet(&listen),
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(sel.file(
            pf,
            FileFacts::Inet(&conn),
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(sel.all_found(&found));

        sel.inet = vec![spec(":80")];
        sel.pids = vec![Item {
            value: 10,
            exclude: false,
        }];
        sel.and = true;
        let mut found = sel.new_found();
        assert_eq!(sel.process(11, 0, 0, b"x", false, &mut found), None);
        let pf = sel.process(10, 0, 0, b"x", false, &mut found).unwrap();
        assert!(sel.file(
            pf,
            FileFacts::Inet(&listen),
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(!sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        sel.and = false;
        assert!(sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(sel.wants_all_files(pf));
    }

    #[test]
    fn only_inet_files_when_nothing_else_can_be_listed() {
        let pid = |value, exclude| Item { value, exclude };
        let inet = Selection {
            inet_files: Some(None),
            ..Selection::default()
        };
        assert!(inet.lists_only_inet_files());
        // Nothing selected: everything is listed.
        assert!(!Selection::default().lists_only_inet_files());
        // `-i -p 1`: process 1's files are all listed (OR); `-a -i -p 1` only its inet ones.
        let mut or_pid = Selection {
            inet_files: Some(None),
            pids: vec![pid(1, false)],
            ..Selection::default()
        };
        assert!(!or_pid.lists_only_inet_files());
        or_pid.and = true;
        assert!(or_pid.lists_only_inet_files());
        // An exclusion selects nothing.
        let excluding = Selection {
            inet_files: Some(None),
            pids: vec![pid(1, true)],
            ..Selection::default()
        };
        assert!(excluding.lists_only_inet_files());
        let with_unix = Selection {
            inet_files: Some(None),
            unix: true,
            ..Selection::default()
        };
        assert!(!with_unix.lists_only_inet_files());
    }

    #[test]
    fn found_merges_as_one_scan_would() {
        let mut a = Found {
            pids: vec![true, false],
            states: vec![10],
            ..Found::default()
        };
        a.merge(Found {
            pids: vec![false, true],
            states: vec![1, 10],
            inet_files: true,
            ..Found::default()
        });
        assert_eq!(a.pids, vec![true, true]);
        assert_eq!(a.states, vec![10, 1]);
        assert!(a.inet_files);
    }

    #[test]
    fn exclusions_and_states() {
        let mut states = StateFilter::default();
        StateFilter::parse("tcp:listen,^CLOSE_WAIT", &mut states).unwrap();
        assert_eq!(states.include, vec![10]);
        assert_eq!(states.exclude, vec![8]);
        assert!(StateFilter::parse("UDP:Idle", &mut states)
            .unwrap_err()
            .contains("no UDP state names"));
        assert!(StateFilter::parse("TCP:BOGUS", &mut states).is_err());
        let sel = Selection {
            pids: parse_list("^5", parse_pid).unwrap(),
            states: Some(states),
            ..Selection::default()
        };
        let mut found = sel.new_found();
        assert_eq!(sel.process(5, 0, 0, b"x", false, &mut found), None);
        let pf = sel.process(6, 0, 0, b"x", false, &mut found).unwrap();
        let conn = facts(
            "127.0.0.1:5000",
            Some("127.0.0.1:80"),
            InetProto::Tcp,
            false,
        );
        assert!(!sel.file(
            pf,
            FileFacts::Inet(&conn),
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(!sel.all_found(&found));
        let listen = facts("0.0.0.0:80", None, InetProto::Tcp, false);
        assert!(sel.file(
            pf,
            FileFacts::Inet(&listen),
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        assert!(sel.all_found(&found));
        assert!(parse_pid("notapid").is_err());
        assert!(parse_pid("99999999999").is_err());
    }

    #[test]
    fn fd_sets() {
        assert_eq!(FdSpec::parse("3-5"), Ok(FdSpec::Range(3, 5)));
        assert!(FdSpec::parse("5-3").is_err());
        // lsof 4.95 refuses these (arg.c ckfd_range).
        assert_eq!(
            FdSpec::parse("-1").unwrap_err(),
            "illegal FD range for -d: -1"
        );
        assert!(FdSpec::parse("3-3").is_err());
        assert!(FdSpec::parse("a-3").is_err());
        let mut sel = Selection {
            fds: parse_list("0-2,cwd", FdSpec::parse).unwrap(),
            ..Selection::default()
        };
        let mut found = sel.new_found();
        let pf = sel.process(1, 0, 0, b"x", false, &mut found).unwrap();
        assert!(sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(1),
            None,
            &mut found
        ));
        assert!(sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Name("cwd"),
            None,
            &mut found
        ));
        assert!(!sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
        sel.fds = parse_list("^1", FdSpec::parse).unwrap();
        assert!(!sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(1),
            None,
            &mut found
        ));
        assert!(sel.file(
            pf,
            FileFacts::Other,
            FileMore::default(),
            FdRef::Num(3),
            None,
            &mut found
        ));
    }

    #[test]
    fn commands() {
        assert!(parse_cmd("python3").unwrap().0.value.matches(b"python3.11"));
        assert!(!parse_cmd("python3").unwrap().0.value.matches(b"pytho"));
        assert!(parse_cmd("/^py.*3$/").unwrap().0.value.matches(b"python3"));
        assert!(parse_cmd("/PY/i").unwrap().0.value.matches(b"python3"));
        assert!(parse_cmd("averyveryverylongname").is_err());
    }
}
